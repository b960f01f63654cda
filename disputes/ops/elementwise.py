"""Elementwise integer steps with NumPy broadcasting (SPEC §4).

Operands arrive with their own scales (``in_scales``); each step states its output scale.
"""

from __future__ import annotations

import numpy as np

from disputes.errors import BoundsError
from disputes.fixedpoint import (
    INT64_SAFE,
    VALUE_BOUND,
    check_bound,
    div_scaled,
    lshift,
    max_abs,
    rescale,
    round_div,
    rshift_round,
)
from disputes.ir import Step
from disputes.ops.base import I64, Ctx, in_scales, kernel, split_apply


def _aligned(step: Step, ops: list[I64]) -> list[I64]:
    """Every operand rescaled to the step's output scale."""
    return [rescale(q, s, step.scale) for q, s in zip(ops, in_scales(step), strict=True)]


def _out(step: Step, q: I64) -> I64:
    return check_bound(q, VALUE_BOUND, f"{step.kind} {step.node}")


@kernel("add")
def add(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    def part(xs: list[I64]) -> I64:
        a, b = _aligned(step, xs)
        return _out(step, a + b)

    return split_apply(part, ops, step.shape)


@kernel("sub")
def sub(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    def part(xs: list[I64]) -> I64:
        a, b = _aligned(step, xs)
        return _out(step, a - b)

    return split_apply(part, ops, step.shape)


@kernel("mul")
def mul(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    return split_apply(lambda xs: _mul(step, xs), ops, step.shape)


def _mul(step: Step, ops: list[I64]) -> I64:
    """out = rshift_round(a * b, s_a + s_b - s_out); the exact product must stay below 2**62."""
    a, b = ops
    bound = max_abs(a) * max_abs(b)
    if bound >= INT64_SAFE:
        raise BoundsError(f"mul {step.node}: product bound >= 2**62")
    sa, sb = in_scales(step)
    k = sa + sb - step.scale
    out = rshift_round(a * b, k)
    # the proven product bound already keeps the result in range when k >= 0
    return out if k >= 0 and (bound >> k) + 1 < VALUE_BOUND else _out(step, out)


@kernel("div")
def div(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    fn = _div_float if ctx.fast else _div
    return split_apply(lambda xs: fn(step, xs), ops, step.shape)


def _div_float(step: Step, ops: list[I64]) -> I64:
    """``_div`` through one exact float64 division when the operands allow (same integers)."""
    a, b = ops
    sa, sb = in_scales(step)
    got = div_scaled(a, b, step.scale - sa + sb)
    if got is None:
        return _div(step, ops)
    q, bound = got
    return q if bound < VALUE_BOUND else _out(step, q)


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
