"""Elementwise integer steps with NumPy broadcasting (SPEC §4).

Operands arrive with their own scales (``in_scales``); each step states its output scale.
"""

from __future__ import annotations

import numpy as np

from disputes.errors import BoundsError
from disputes.execution.ops import native
from disputes.execution.ops.base import I64, Ctx, in_scales, kernel, rescaled_bound, split_apply
from disputes.program.fixedpoint import (
    INT64_SAFE,
    VALUE_BOUND,
    check_bound,
    div_scaled,
    lshift,
    rescale,
    round_div,
    rshift_round,
)
from disputes.program.ir import Step


def _aligned(step: Step, ops: list[I64]) -> list[I64]:
    """Every operand rescaled to the step's output scale."""
    return [rescale(q, s, step.scale) for q, s in zip(ops, in_scales(step), strict=True)]


def _out(step: Step, q: I64) -> I64:
    return check_bound(q, VALUE_BOUND, f"{step.kind} {step.node}")


def _sum_bound(step: Step, ctx: Ctx) -> int | None:
    """Bound on |A ± B| from the operands' proven bounds (None when one is unknown)."""
    total = 0
    for slot, s in zip(step.inputs, in_scales(step), strict=True):
        b = ctx.known(slot)
        if b is None:
            return None
        total += rescaled_bound(b, s, step.scale)
    return total


def _use_native(ctx: Ctx, ops: list[I64], one_pass: bool) -> bool:
    """Whether add or mul goes to C: where NumPy needs more than one pass, on big operands."""
    # Measured: for one pass over same-shape operands NumPy's loop is as fast and its call
    # cheaper; bound checks, rescales and broadcasting are where the fused C loop wins.
    a, b = ops
    if not ctx.native or max(a.size, b.size) < native.MIN_ELEMENTS:
        return False
    return not (one_pass and a.shape == b.shape)


def _native_done(step: Step, ctx: Ctx, got: native.Result, bound: int | None) -> I64:
    """Record ``bound`` (proven beforehand) or the checked measured max|out|; return the output."""
    out, top = got
    if bound is None and top >= VALUE_BOUND:
        raise BoundsError(f"{step.kind} {step.node}: |value| {top} >= bound 2**47")
    ctx.proven(top if bound is None else bound)
    return out


def _oriented(step: Step, ops: list[I64]) -> tuple[native.Layout, bool] | None:
    """The C layout with the full-shape operand first; True when that is the second operand."""
    a, b = ops
    lay = native.layout(step.shape, a, b)
    if lay is not None:
        return lay, False
    lay = native.layout(step.shape, b, a)
    return None if lay is None else (lay, True)


def _native_add(step: Step, ops: list[I64], sign: int, track: bool) -> native.Result | None:
    """A ± B in C when one operand has the output's shape (the other read as ``layout`` says)."""
    (a, b), (ka, kb) = ops, (s - step.scale for s in in_scales(step))
    got = _oriented(step, ops)
    if got is None:
        return None
    lay, swapped = got
    if not swapped:
        return native.add_sub(a, b, lay, ka, kb, False, sign < 0, track)
    return native.add_sub(b, a, lay, kb, ka, sign < 0, False, track)  # -B + A, same integers


def _add_like(step: Step, ops: list[I64], ctx: Ctx, sign: int) -> I64:
    bound = _sum_bound(step, ctx)
    safe = bound is not None and bound < VALUE_BOUND
    if _use_native(ctx, ops, safe and in_scales(step) == (step.scale, step.scale)):
        got = _native_add(step, ops, sign, not safe)
        if got is not None:
            return _native_done(step, ctx, got, bound if safe else None)

    def part(xs: list[I64]) -> I64:
        a, b = _aligned(step, xs)
        out = a + b if sign > 0 else a - b
        return out if safe else _out(step, out)

    if safe and bound is not None:
        ctx.proven(bound)
    return split_apply(part, ops, step.shape)


@kernel("add")
def add(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    return _add_like(step, ops, ctx, 1)


@kernel("sub")
def sub(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    return _add_like(step, ops, ctx, -1)


@kernel("mul")
def mul(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    a, b = ops
    ba, bb = ctx.bound(step.inputs[0], a), ctx.bound(step.inputs[1], b)
    if ba * bb >= INT64_SAFE:  # proven bounds may be loose: measure before failing
        ba, bb = ctx.measure(step.inputs[0], a), ctx.measure(step.inputs[1], b)
    bound = ba * bb
    if bound >= INT64_SAFE:
        raise BoundsError(f"mul {step.node}: product bound >= 2**62")
    sa, sb = in_scales(step)
    k = sa + sb - step.scale
    safe = k >= 0 and (bound >> k) + 1 < VALUE_BOUND
    if _use_native(ctx, ops, safe and k == 0):
        got = _native_mul(step, ops, k, not safe)
        if got is not None:
            return _native_done(step, ctx, got, (bound >> k) + 1 if safe else None)
    if safe:
        ctx.proven((bound >> k) + 1)
    return split_apply(lambda xs: _mul(step, xs, k, safe), ops, step.shape)


def _native_mul(step: Step, ops: list[I64], k: int, track: bool) -> native.Result | None:
    got = _oriented(step, ops)
    if got is None:
        return None
    lay, swapped = got
    a, b = reversed(ops) if swapped else ops
    return native.mul(a, b, lay, k, track)


def _mul(step: Step, ops: list[I64], k: int, safe: bool) -> I64:
    """out = rshift_round(a * b, s_a + s_b - s_out); the product bound is checked by ``mul``."""
    a, b = ops
    out = a * b
    if k > 0:  # rshift_round on the fresh product, in place (no temporaries)
        out += np.int64(1 << (k - 1))
        out >>= np.int64(k)
    else:
        out = rshift_round(out, k)
    # the proven product bound already keeps the result in range when ``safe``
    return out if safe else _out(step, out)


@kernel("div")
def div(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    if not ctx.fast:
        return split_apply(lambda xs: _div(step, xs), ops, step.shape)
    got = _native_div(step, ops) if ctx.native else None
    if got is not None:
        return _native_done(step, ctx, got, None)
    bounds: list[int] = []
    out = split_apply(lambda xs: _div_float(step, xs, bounds), ops, step.shape)
    if bounds and max(bounds) < VALUE_BOUND:
        ctx.proven(max(bounds))
    return out


def _native_div(step: Step, ops: list[I64]) -> native.Result | None:
    a, b = ops
    sa, sb = in_scales(step)
    lay = native.layout(step.shape, a, b)
    return None if lay is None else native.div(a, b, lay, step.scale - sa + sb)


def _div_float(step: Step, ops: list[I64], bounds: list[int]) -> I64:
    """``_div`` through one exact float64 division when the operands allow (same integers).

    Appends the proven bound of this part to ``bounds`` (nothing when none was proven).
    """
    a, b = ops
    sa, sb = in_scales(step)
    got = div_scaled(a, b, step.scale - sa + sb)
    if got is None:
        bounds.append(VALUE_BOUND)  # unproven: keeps ``div`` from recording a bound
        return _div(step, ops)
    q, bound = got
    if bound < VALUE_BOUND:
        bounds.append(bound)
        return q
    bounds.append(VALUE_BOUND)
    return _out(step, q)


def _div(step: Step, ops: list[I64]) -> I64:
    """out = round_div(a * 2**(s_out - s_a + s_b), b) (the shift moves to b when negative)."""
    a, b = ops
    sa, sb = in_scales(step)
    sh = step.scale - sa + sb
    num, den = (lshift(a, sh), b) if sh >= 0 else (a, lshift(b, -sh))
    return _out(step, round_div(num, den))


@kernel("relu")
def relu(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    return np.maximum(_aligned(step, ops)[0], 0)


@kernel("neg")
def neg(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    return -_aligned(step, ops)[0]


@kernel("abs")
def abs_(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    return np.abs(_aligned(step, ops)[0])


@kernel("max")
def max_(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    a, b = _aligned(step, ops)
    return np.maximum(a, b)


@kernel("min")
def min_(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    a, b = _aligned(step, ops)
    return np.minimum(a, b)


@kernel("rescale")
def rescale_(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    return _aligned(step, ops)[0]


@kernel("clip")
def clip(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    """Clamp to [lo, hi], both given at the output scale."""
    return np.clip(_aligned(step, ops)[0], step.ip("lo"), step.ip("hi"))


@kernel("where")
def where(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    """cond != 0 ? x : y; x and y rescaled to the output scale, cond is an integer tensor."""
    c, x, y = ops
    _, sx, sy = in_scales(step)
    return np.where(c != 0, rescale(x, sx, step.scale), rescale(y, sy, step.scale))


_COMPARE = {
    "eq": np.equal,
    "ne": np.not_equal,
    "lt": np.less,
    "le": np.less_equal,
    "gt": np.greater,
    "ge": np.greater_equal,
}


@kernel("compare")
def compare(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    """0/1 result of comparing both operands at the larger of their scales."""
    s = max(in_scales(step))
    a, b = (rescale(q, sq, s) for q, sq in zip(ops, in_scales(step), strict=True))
    op = step.param("op")
    assert isinstance(op, str)
    return _COMPARE[op](a, b).astype(np.int64)
