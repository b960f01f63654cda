"""Nonlinear steps: table interpolation, integer sqrt and last-axis reductions (SPEC §5, §6).

A table step's committed constants come from :func:`disputes.program.tables.lut_params`.
"""

from __future__ import annotations

import functools

import numpy as np
from numpy.typing import NDArray

from disputes.execution.ops import native
from disputes.execution.ops.base import I64, Ctx, in_scales, kernel, rescaled_bound, split_apply
from disputes.program.fixedpoint import (
    INT64_SAFE,
    VALUE_BOUND,
    check_bound,
    isqrt,
    lshift,
    rescale,
    round_div,
    rshift_round,
)
from disputes.program.ir import Step
from disputes.program.tables import LUT_IN_SCALE, LUT_SEG_BITS


@kernel("lut")
def lut(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    got = _native_lut(step, ops[0]) if ctx.native else None
    if got is not None:  # like the NumPy kernels, lut checks no 2**47 bound
        ctx.proven(got[1])
        return got[0]
    fn = _lut_dense if ctx.fast else _lut
    _lut_bound(step, ctx)
    return split_apply(lambda xs: fn(step, xs[0]), ops, step.shape)


def _lut_bound(step: Step, ctx: Ctx) -> None:
    """Interpolated values lie between table points; the identity tail adds the rescaled input."""
    top = _table_max(step.tp("table"))
    if step.param("tail") == "identity":
        b = ctx.known(step.inputs[0])
        if b is None:
            return
        top = max(top, rescaled_bound(rescaled_bound(b, in_scales(step)[0], 12), 12, step.scale))
    ctx.proven(top)


@functools.lru_cache(maxsize=64)
def _table_max(raw: tuple[int, ...]) -> int:
    return max(abs(v) for v in raw)


def _lut_dense(step: Step, a: I64) -> I64:
    """The same function as ``_lut``, read from every point of the scale-12 domain at once.

    ``_dense`` tabulates ``_lut``'s formula for each ``t``, so one gather replaces the eight
    interpolation passes; the rounding shift also absorbs ``- lo`` (a multiple of 2**k).
    """
    k = in_scales(step)[0] - LUT_IN_SCALE
    lo, hi = step.ip("lo") << LUT_IN_SCALE, step.ip("hi") << LUT_IN_SCALE
    if k <= 0 or abs(lo) << k >= 1 << 60:
        return _lut(step, a)
    t = a + np.int64((1 << (k - 1)) - (lo << k))
    t >>= k  # t = rescale(a, s_a, 12) - lo
    span = hi - lo
    tail = _identity_tail(step, t, span, lo)
    np.clip(t, 0, span, out=t)
    out: I64 = np.take(_dense(step.tp("table"), span), t, mode="clip")
    if tail is not None:
        out[tail[0]] = tail[1]
    return out


def _native_lut(step: Step, a: I64) -> native.Result | None:
    """``_lut_dense`` in C (same conditions: a right shift to scale 12, |lo| << k < 2**60)."""
    # The bound returned is the table's largest entry or the largest identity-tail value.
    k = in_scales(step)[0] - LUT_IN_SCALE
    lo, hi = step.ip("lo") << LUT_IN_SCALE, step.ip("hi") << LUT_IN_SCALE
    packed = _packed(step.tp("table"))
    if k <= 0 or abs(lo) << k >= 1 << 60 or packed is None or hi - lo >= 1 << 31:
        return None
    identity = step.param("tail") == "identity"
    fb = LUT_IN_SCALE - LUT_SEG_BITS
    got = native.lut(a, k, lo, hi - lo, fb, packed[0], identity, LUT_IN_SCALE - step.scale)
    return None if got is None else (got[0], max(got[1], packed[1]))


# id(raw table) → (the table, its packed form for kernels.c or None, max|entry|). Keyed by
# identity because hashing a 1025-entry tuple per step costs more than the lookup saves; the
# entry keeps the table alive, so its id cannot be reused while cached.
_PACKED: dict[int, tuple[tuple[int, ...], I64 | None, int]] = {}


def _packed(raw: tuple[int, ...]) -> tuple[I64, int] | None:
    """kernels.c's table, (T[i] + 2**31) << 32 | (u32)slope[i], and max|T|; None past 32 bits."""
    hit = _PACKED.get(id(raw))
    if hit is None or hit[0] is not raw:
        if len(_PACKED) >= 64:
            _PACKED.clear()
        hit = (raw, _pack(raw), _table_max(raw))
        _PACKED[id(raw)] = hit
    return None if hit[1] is None else (hit[1], hit[2])


def _pack(raw: tuple[int, ...]) -> I64 | None:
    base, slope = _tables(raw)
    base = base[: len(slope)]  # the repeated last point has slope 0
    if max(_table_max(raw), int(np.abs(slope).max())) >= 1 << 31:
        return None
    hi = (base + (1 << 31)).astype(np.uint64) << np.uint64(32)
    packed: I64 = (hi | (slope.astype(np.uint64) & np.uint64(0xFFFFFFFF))).view(np.int64)
    return packed


def _identity_tail(step: Step, t: I64, span: int, lo: int) -> tuple[NDArray[np.bool_], I64] | None:
    """Where x > hi for an identity-tailed function: the mask and rescale(x, 12, s_out)."""
    if step.param("tail") != "identity":
        return None
    big = t > span
    if not big.any():
        return None
    return big, rescale(t[big] + lo, LUT_IN_SCALE, step.scale)


@functools.lru_cache(maxsize=16)
def _dense(raw: tuple[int, ...], span: int) -> I64:
    """_lut's value at every t in [0, span] (scale 12, domain shifted to start at 0)."""
    t = np.arange(span + 1, dtype=np.int64)
    sh = LUT_IN_SCALE - LUT_SEG_BITS
    base, slope = _tables(raw)
    idx = t >> sh
    frac = t & ((1 << sh) - 1)
    dense: I64 = base[idx] + ((slope[idx] * frac + (1 << (sh - 1))) >> sh)
    return dense


def _lut(step: Step, a: I64) -> I64:
    """Piecewise-linear interpolation in a committed table (SPEC §5.1).

    y = T[i] + rshift_round((T[i+1] - T[i]) * f, 6 fractional bits of the segment), where
    t = clamp(x, lo, hi) - lo at scale 12, i = t >> 6 and f = t & 63.
    """
    x = rescale(a, in_scales(step)[0], LUT_IN_SCALE).reshape(-1)
    lo, hi = step.ip("lo") << LUT_IN_SCALE, step.ip("hi") << LUT_IN_SCALE
    t = np.clip(x, lo, hi)
    t -= lo
    sh = LUT_IN_SCALE - LUT_SEG_BITS
    idx = t >> sh
    t &= (1 << sh) - 1
    base, slope = _tables(step.tp("table"))
    t *= np.take(slope, idx, mode="clip")
    t += 1 << (sh - 1)
    t >>= sh
    t += np.take(base, idx, mode="clip")
    if step.param("tail") == "identity":
        big = x > hi
        if big.any():
            t[big] = rescale(x[big], LUT_IN_SCALE, step.scale)
    return t.reshape(a.shape)


@functools.lru_cache(maxsize=64)
def _tables(raw: tuple[int, ...]) -> tuple[I64, I64]:
    """Table values and per-segment slopes (the last point repeats, so its slope is 0)."""
    base = np.array((*raw, raw[-1]), dtype=np.int64)
    return base, np.diff(base).astype(np.int64)


@kernel("sqrt")
def sqrt(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    """floor(sqrt(max(q, 0) * 2**(2*s_out - s_in))): exact, the spec fixes the integer."""
    sh = 2 * step.scale - in_scales(step)[0]
    got = native.sqrt(ops[0], sh) if ctx.native else None
    if got is not None:
        ctx.proven(got[1])
        return got[0]
    q = np.maximum(ops[0], 0)
    n = lshift(q, sh) if sh >= 0 else rshift_round(q, -sh)
    return isqrt(n)


def _row_sum_bound(step: Step, x: I64, ctx: Ctx) -> int:
    """A bound on the sums along the last axis; raises when they could reach 2**62."""
    k = max(1, int(x.shape[-1]))
    b = ctx.known(step.inputs[0])
    if b is None or b >= INT64_SAFE // k:
        check_bound(x, INT64_SAFE // k, f"{step.kind} {step.node}")
        b = ctx.bound(step.inputs[0], x)
    return b * k


def _native_rows(step: Step, x: I64, op: int, ctx: Ctx) -> native.Result | None:
    if not ctx.native or x.size < native.MIN_ELEMENTS:
        return None
    return native.reduce_rows(x, op, in_scales(step)[0] - step.scale)


@kernel("reduce_sum")
def reduce_sum(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    """Sum along the last axis (keepdims), rescaled to the output scale."""
    b = _row_sum_bound(step, ops[0], ctx)
    got = _native_rows(step, ops[0], native.SUM, ctx)
    if got is not None:
        if got[1] >= VALUE_BOUND:
            check_bound(got[0], VALUE_BOUND, step.kind)
        ctx.proven(got[1])
        return got[0]
    bound = rescaled_bound(b, in_scales(step)[0], step.scale)
    out = rescale(ops[0].sum(axis=-1, keepdims=True), in_scales(step)[0], step.scale)
    if bound < VALUE_BOUND:
        ctx.proven(bound)
        return out
    return check_bound(out, VALUE_BOUND, step.kind)


@kernel("reduce_mean")
def reduce_mean(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    """round_div(sum along the last axis, n) at the input scale, then rescaled."""
    b = _row_sum_bound(step, ops[0], ctx)
    got = _native_rows(step, ops[0], native.MEAN, ctx)
    if got is not None:
        ctx.proven(got[1])
        return got[0]
    s = ops[0].sum(axis=-1, keepdims=True)
    m = round_div(s, np.full_like(s, ops[0].shape[-1]))
    ctx.proven(rescaled_bound(b // max(1, ops[0].shape[-1]) + 1, in_scales(step)[0], step.scale))
    return rescale(m, in_scales(step)[0], step.scale)


@kernel("reduce_max")
def reduce_max(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    got = _native_rows(step, ops[0], native.MAX, ctx)
    if got is not None:
        ctx.proven(got[1])
        return got[0]
    b = ctx.known(step.inputs[0])
    if b is not None:
        ctx.proven(rescaled_bound(b, in_scales(step)[0], step.scale))
    return rescale(ops[0].max(axis=-1, keepdims=True), in_scales(step)[0], step.scale)
