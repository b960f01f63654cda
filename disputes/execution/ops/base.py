"""Kernel registry and the execution context kernels receive."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from disputes.execution.ops.native import enabled as native_enabled
from disputes.program.fixedpoint import max_abs
from disputes.program.ir import Step

I64 = NDArray[np.int64]


@dataclass
class Ctx:
    """How to execute: ``fast`` allows exact float BLAS and C kernels; ``f64``: weights as f64."""

    fast: bool = True
    f64: dict[int, NDArray[np.float64]] = field(default_factory=dict)
    f32: dict[int, NDArray[np.float32]] = field(default_factory=dict)
    maxabs: dict[int, int] = field(default_factory=dict)
    # Proven bounds on max|value| per slot, for one execution only (``for_run``): kernels skip
    # bound passes that these already decide. ``out`` is the slot the current step fills.
    bounds: dict[int, int] | None = None
    out: int = -1
    # The switch is read when a context is made and again for every execution (``for_run``).
    use_native: bool = field(default_factory=native_enabled)

    @property
    def native(self) -> bool:
        """Whether kernels may call the C kernels (``ops.native``): fast mode and the switch on."""
        return self.fast and self.use_native

    def for_run(self) -> Ctx:
        """A copy for one execution: its own bounds, seeded with the weights' maxima."""
        return replace(self, bounds=dict(self.maxabs), use_native=native_enabled())

    def known(self, slot: int) -> int | None:
        return None if self.bounds is None else self.bounds.get(slot)

    def bound(self, slot: int, q: I64) -> int:
        """max|q| of operand ``slot``: from a proven bound when one is known, else measured."""
        b = self.known(slot)
        return self.measure(slot, q) if b is None else b

    def measure(self, slot: int, q: I64) -> int:
        """max|q| measured (weights: precomputed), remembered for later readers of the slot."""
        b = self.maxabs.get(slot) if slot >= 0 else None
        if b is None:
            b = max_abs(q)
        if self.bounds is not None and slot >= 0:
            self.bounds[slot] = b
        return b

    def proven(self, bound: int) -> None:
        """Record a bound on the current step's output (ignored outside an execution)."""
        if self.bounds is not None and self.out >= 0:
            self.bounds[self.out] = bound


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


def rescaled_bound(b: int, s_from: int, s_to: int) -> int:
    """A bound on |rescale(q, s_from, s_to)| given |q| <= b."""
    k = s_from - s_to
    return (b >> k) + 1 if k > 0 else b << -k
