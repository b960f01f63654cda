"""Matrix products and convolution: exact integer sums, then one rounding shift (SPEC §3).

A fast path multiplies in float32/float64 BLAS when the proven bound keeps every partial sum
an exact integer; it is bit-identical to the int64 reference by construction.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from disputes.errors import BoundsError
from disputes.execution.ops.base import I64, Ctx, kernel
from disputes.program.fixedpoint import FLOAT64_EXACT, VALUE_BOUND, check_bound, rshift_round
from disputes.program.ir import Step

FLOAT32_EXACT = 2**24
INT64_LIMIT = 2**63


def _weight_max(ctx: Ctx, slot: int, b: I64) -> int:
    m = ctx.maxabs.get(slot)
    return ctx.bound(slot, b) if m is None else m


Src = tuple[int, I64]  # (slot, tensor): the operand whose values bound a matrix side


def sum_bound(a: Src, b: Src, k: int, extra: int, ctx: Ctx) -> int:
    """max|a| * max|b| * K + extra, from proven bounds; measured again when those are too loose
    for the float64 path (a loose bound must never cost exactness checks or the fast path)."""
    bound = ctx.bound(*a) * _weight_max(ctx, *b) * k + extra
    if bound >= FLOAT64_EXACT:
        bound = ctx.measure(*a) * ctx.measure(*b) * k + extra
    return bound


def exact_matmul_nt(
    a: I64,
    bt: I64,
    ctx: Ctx,
    b_slot: int,
    extra: int = 0,
    shift: int = 0,
    a_src: Src | None = None,
) -> I64 | tuple[NDArray[np.float64], int]:
    """Exact ``a @ bt^T`` (last-axis contraction), choosing the cheapest exact path.

    With ``shift > 0`` and a float64 product whose rounded result provably stays below
    VALUE_BOUND, returns the float sums and the proven bound (sums plus ``extra``) so the
    caller can round in place (``epilogue``) instead of converting and checking again.
    """
    k = a.shape[-1]
    bound = sum_bound((-1, a) if a_src is None else a_src, (b_slot, bt), k, extra, ctx)
    # The rounding constant 2**(shift-1) is added before the shift: sums plus it must fit
    # int64 too, or the int64 path would wrap where the exact on-chain twin does not.
    half = 1 << (shift - 1) if shift > 0 else 0
    if bound + half >= INT64_LIMIT:
        raise BoundsError(f"matmul sum bound {bound:.3e} + 2**{shift - 1} >= 2**63 (K={k})")
    if ctx.fast and bound < FLOAT32_EXACT:
        bf = bt.astype(np.float32)  # small products only: not worth a cached copy
        return _to_int(np.matmul(a.astype(np.float32), np.swapaxes(bf, -1, -2)))
    if not (ctx.fast and bound < FLOAT64_EXACT):
        exact: I64 = np.matmul(a, np.swapaxes(bt, -1, -2))
        return exact
    b64 = ctx.f64.get(b_slot)
    bf64 = bt.astype(np.float64) if b64 is None else b64
    acc = _matmul_f64(a.astype(np.float64), bf64)
    if shift > 0 and (bound >> shift) + 1 < VALUE_BOUND:
        return acc, bound
    return _to_int(acc)


def _matmul_f64(a: NDArray[np.float64], bt: NDArray[np.float64]) -> NDArray[np.float64]:
    """a @ bt^T; a 2-D right side takes one GEMM over all rows (NumPy's stacked loop over a
    3-D left side with a transposed view is ~20% slower)."""
    out: NDArray[np.float64]
    if bt.ndim == 2:
        out = np.matmul(a.reshape(-1, a.shape[-1]), bt.T).reshape(*a.shape[:-1], bt.shape[0])
    else:  # per-head products: two BLAS threads measured faster than one (2 cores)
        out = np.matmul(a, np.swapaxes(bt, -1, -2))
    return out


def _to_int(x: NDArray[np.float64] | NDArray[np.float32]) -> I64:
    return x.astype(np.int64)


@kernel("matmul")
def matmul(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    """out = rshift_round(sum_k a[..r,k] * bt[..c,k] (+ bias[c]), shift)."""
    a, bt = ops[0], ops[1]
    bias = ops[2] if len(ops) > 2 else None
    extra = _bias_max(ctx, step, bias)
    a_src = (step.inputs[0], a)
    acc = exact_matmul_nt(a, bt, ctx, step.inputs[1], extra, step.ip("shift"), a_src)
    if isinstance(acc, tuple):
        ctx.proven((acc[1] >> step.ip("shift")) + 1)
        return epilogue(acc[0], bias, step.ip("shift"), acc[1])
    if bias is not None:
        acc = acc + bias
    return check_bound(rshift_round(acc, step.ip("shift")), VALUE_BOUND, f"matmul {step.node}")


def _bias_max(ctx: Ctx, step: Step, bias: I64 | None) -> int:
    return 0 if bias is None else _weight_max(ctx, step.inputs[2], bias)


def epilogue(acc: NDArray[np.float64], bias: I64 | None, shift: int, bound: int) -> I64:
    """rshift_round(acc + bias, shift) in place on one int64 copy of the exact float sums.

    ``bound`` (sums plus bias) proves the result below VALUE_BOUND, so no bound pass follows.
    """
    out: I64 = acc.astype(np.int64)
    half = np.int64(1 << (shift - 1))
    if bias is None:
        out += half
    else:
        out += bias + half
    out >>= np.int64(shift)
    return out


def im2col(x: I64, kh: int, kw: int, pads: tuple[int, ...], strides: tuple[int, ...]) -> I64:
    """(N,C,H,W) → (N, OH*OW, C*kh*kw) patches, zero padding (pads: top, left, bottom, right)."""
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    win = sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, :: strides[0], :: strides[1]]
    n, c, oh, ow = win.shape[:4]
    return np.ascontiguousarray(win.transpose(0, 2, 3, 1, 4, 5)).reshape(n, oh * ow, c * kh * kw)


@kernel("conv")
def conv(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    """2-D convolution as im2col + matmul_nt with weights stored (O, C*kh*kw)."""
    x, w = ops[0], ops[1]
    kh, kw = step.tp("kernel")
    cols = im2col(x, kh, kw, step.tp("pads"), step.tp("strides"))
    bias = ops[2] if len(ops) > 2 else None
    shift = step.ip("shift")
    x_src = (step.inputs[0], x)  # patches hold x's values and zeros
    acc = exact_matmul_nt(cols, w, ctx, step.inputs[1], _bias_max(ctx, step, bias), shift, x_src)
    n, o, oh, ow = step.shape
    if isinstance(acc, tuple):
        out = epilogue(acc[0], bias, shift, acc[1]).transpose(0, 2, 1).reshape(n, o, oh, ow)
        return np.ascontiguousarray(out)
    if bias is not None:
        acc = acc + bias
    out = rshift_round(acc, shift).transpose(0, 2, 1).reshape(n, o, oh, ow)
    return check_bound(np.ascontiguousarray(out), VALUE_BOUND, f"conv {step.node}")
