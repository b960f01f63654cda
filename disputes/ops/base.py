"""Kernel registry and the execution context kernels receive."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from disputes.ir import Step

I64 = NDArray[np.int64]


@dataclass
class Ctx:
    """How to execute: ``fast`` allows exact float BLAS; ``f64`` holds weights pre-converted."""

    fast: bool = True
    f64: dict[int, NDArray[np.float64]] = field(default_factory=dict)
    f32: dict[int, NDArray[np.float32]] = field(default_factory=dict)
    maxabs: dict[int, int] = field(default_factory=dict)


Kernel = Callable[[Step, list[I64], Ctx], I64]
KERNELS: dict[str, Kernel] = {}


def kernel(kind: str) -> Callable[[Kernel], Kernel]:
    """Register ``fn`` as the kernel of steps of ``kind``."""

    def deco(fn: Kernel) -> Kernel:
        KERNELS[kind] = fn
        return fn

    return deco


def in_scales(step: Step) -> tuple[int, ...]:
    return step.tp("in_scales")
