"""Activation × weight products with per-row scales, exact in float32 BLAS (SPEC §3).

Each activation row is rounded to ``amag`` magnitude bits by its own power of two ``e_r``;
each weight row carries its own scale ``t_c``. The lowering chose ``amag`` so that every
partial sum stays an integer of magnitude <= 2**24, which float32 holds exactly in any
summation order: the result does not depend on BLAS, threads or hardware.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from disputes.errors import BoundsError
from disputes.execution.ops import native
from disputes.execution.ops.base import I64, Ctx, kernel
from disputes.program.fixedpoint import INT64_SAFE, VALUE_BOUND, check_bound, max_abs
from disputes.program.ir import Step
from disputes.program.quantize import exact_width

F32_EXACT_LOG2 = 24


def row_exponents(a2: I64, amag: int) -> I64:
    """e_r = max(0, bitlen(max_k |a[r, k]|) - amag): the smallest shift leaving |a'| <= 2**amag."""
    m = np.maximum(a2.max(axis=1, initial=0), -a2.min(axis=1, initial=0))
    bits = np.frexp(m.astype(np.float64))[1].astype(np.int64)  # exact: |a| < 2**47
    e: I64 = np.maximum(bits - amag, 0)
    return e


def shift_rows(a2: I64, e: I64) -> I64:
    """rshift_round of row r by e_r (e_r = 0 leaves the row as it is)."""
    half = (np.int64(1) << e) >> 1
    out: I64 = (a2 + half[:, None]) >> e[:, None]
    return out


def rounded_rows_f32(a2: I64, e: I64) -> NDArray[np.float32]:
    """a'[r] * 2**e_r as float32: row r rounded to a multiple of 2**e_r (exact, <= 2**24 ulps)."""
    one = np.int64(1) << e
    t = a2 + (one >> 1)[:, None]
    t &= -one[:, None]  # two's complement: clears the low e_r bits, i.e. (t >> e) << e
    out: NDArray[np.float32] = t.astype(np.float32)
    return out


def scaled_weights_f32(wt: I64, t: I64) -> NDArray[np.float32]:
    """w[c] * 2**-t[c] as float32 (exact: a power-of-two scaling of 8-bit integers)."""
    out: NDArray[np.float32] = (wt * np.exp2(-t.astype(np.float64))[:, None]).astype(np.float32)
    return out


def _fast(
    a2: I64,
    e: I64,
    wt: I64,
    t: I64,
    shift: int,
    bias: I64 | None,
    ctx: Ctx,
    slot: int,
    rows: NDArray[np.float32] | None,
) -> I64:
    """The float32 path: scale both sides by powers of two so BLAS yields P * 2**-sh directly.

    Every product and partial sum is the integer one times 2**(e_r - t_c): still exact in
    float32 (24 significant bits, exponents far from the range limits). floor(y + 1/2) then
    needs float64: exact while -27 <= sh <= 52 (the caller checked).
    """
    wf = ctx.f32.get(slot)
    if wf is None:
        wf = ctx.f32[slot] = scaled_weights_f32(wt, t)
    y32 = (rounded_rows_f32(a2, e) if rows is None else rows) @ wf.T
    got = native.qmm_epilogue(y32, 2.0**-shift, bias) if ctx.native else None
    if got is not None:
        return got
    if shift:
        y = np.multiply(y32, 2.0**-shift, dtype=np.float64)
        y += 0.5
    else:
        y = np.add(y32, 0.5, dtype=np.float64)
    np.floor(y, out=y)
    if bias is not None:
        y += bias
    out: I64 = y.astype(np.int64)
    return out


def round_shift(p: I64, sh: I64) -> I64:
    """rshift_round(p, sh) elementwise with a per-element shift (sh < 0: exact left shift)."""
    if int(sh.max(initial=0)) > 62:
        raise BoundsError(f"qmatmul rounding shift {int(sh.max())} > 62")
    left: I64 = np.maximum(-sh, np.int64(0))
    if int(left.max(initial=0)) > 0:
        check_bound(p, INT64_SAFE >> int(left.max()), "qmatmul left shift")
    right: I64 = np.maximum(sh, np.int64(0))
    half = (np.ones_like(right) << right) >> 1
    out: I64 = ((p << left) + half) >> right
    return out


def _reference(a2: I64, e: I64, wt: I64, t: I64, shift: int, bias: I64 | None) -> I64:
    """The definition in int64: P = a' @ w^T, then the per-element rounding shift and bias."""
    p: I64 = shift_rows(a2, e) @ wt.T
    q = round_shift(p, shift - e[:, None] + t[None, :])
    return q if bias is None else q + bias


@kernel("qmatmul")
def qmatmul(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    """out[r, c] = rshift_round(sum_k a'[r, k] w[c, k], shift - e_r + t[c]) + bias[c]."""
    a, wt, t = ops[0], ops[1], ops[2]
    bias = ops[3] if len(ops) > 3 else None
    a2 = np.ascontiguousarray(a.reshape(-1, a.shape[-1]))
    got = native.qmm_rows(a2, step.ip("amag")) if ctx.native else None
    rows, e = got if got is not None else (None, row_exponents(a2, step.ip("amag")))
    shift = step.ip("shift")
    sh_min = shift - int(e.max(initial=0)) + int(t.min(initial=0))
    sh_max = shift - int(e.min(initial=0)) + int(t.max(initial=0))
    bound = _bound(sh_min, 0 if bias is None else max_abs(bias))
    if ctx.fast and sh_min >= -27 and sh_max <= 52 and bound < VALUE_BOUND:
        out = _fast(a2, e, wt, t, shift, bias, ctx, step.inputs[1], rows)
    else:
        out = _reference(a2, e, wt, t, shift, bias)
    if bound >= VALUE_BOUND:
        check_bound(out, VALUE_BOUND, f"qmatmul {step.node}")
    else:
        ctx.proven(bound)
    return out.reshape(step.shape)


def _bound(sh_min: int, bias_max: int) -> int:
    """A bound on |out| from |p| <= 2**24 and the smallest shift."""
    top = 1 << F32_EXACT_LOG2
    return (top >> sh_min if sh_min >= 0 else top << -sh_min) + 1 + bias_max


def check_exact(step: Step, wt: I64) -> None:
    """Refuse a program whose ``amag`` would let a float32 partial sum pass 2**24."""
    widest = exact_width(wt, F32_EXACT_LOG2)
    if step.ip("amag") > widest:
        raise BoundsError(
            f"qmatmul {step.node}: amag {step.ip('amag')} > {widest}, the widest its weights "
            "keep under 2**24; rebuild the program with the current lowering"
        )
