"""Kernel registry and the execution context kernels receive."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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


PARALLEL_MIN = 1 << 16  # elements below which splitting costs more than it saves


@functools.lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor | None:
    # Off by default: measured on 2 cores, OpenBLAS's spinning threads eat the gain.
    n = int(os.environ.get("VERINFER_EXEC_THREADS", "1"))
    return ThreadPoolExecutor(max_workers=n - 1) if n > 1 else None


def split_apply(fn: Callable[[list[I64]], I64], ops: list[I64], shape: tuple[int, ...]) -> I64:
    """fn on two halves of the output in two threads (NumPy releases the GIL), same bits.

    Only for elementwise steps: each output element depends on its own operand elements, so
    halves along one axis (broadcast operands split alike) give exactly the whole result.
    """
    pool = _pool()
    ax = next((i for i, n in enumerate(shape) if n >= 2), None)
    if pool is None or ax is None or int(np.prod(shape)) < PARALLEL_MIN:
        return fn(ops)
    mid = shape[ax] // 2
    first = pool.submit(fn, [_half(q, shape, ax, 0, mid) for q in ops])
    second = fn([_half(q, shape, ax, mid, shape[ax]) for q in ops])
    return np.concatenate([first.result(), second], axis=ax)


def _half(q: I64, shape: tuple[int, ...], ax: int, lo: int, hi: int) -> I64:
    """Rows lo:hi of the output's axis ``ax`` in operand q (right-aligned broadcasting)."""
    k = ax - (len(shape) - q.ndim)
    if k < 0 or q.shape[k] == 1:
        return q
    idx = [slice(None)] * q.ndim
    idx[k] = slice(lo, hi)
    return q[tuple(idx)]
