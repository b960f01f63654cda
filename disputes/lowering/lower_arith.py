"""Lowering of elementwise arithmetic, comparisons and table functions."""

from __future__ import annotations

import numpy as np
import onnx

from disputes.lowering.lower import (
    Builder,
    Const,
    Dyn,
    Val,
    as_dyn,
    const_of,
    handles,
    unsupported,
)
from disputes.program.quantize import integral
from disputes.program.tables import lut_params


def bshape(*vals: Val) -> tuple[int, ...]:
    return tuple(np.broadcast_shapes(*(v.shape for v in vals)))


def _need(b: Builder, v: Val) -> int:
    """Scale an operand needs to be represented exactly (consts: 0 when integral)."""
    if isinstance(v, Dyn):
        return v.scale
    return 0 if integral(v) else b.cfg.act


def _all_int(vals: list[Val]) -> bool:
    return all((v.is_int if isinstance(v, Dyn) else integral(v)) for v in vals)


def aligned_op(b: Builder, kind: str, vals: list[Val], **params: str) -> Dyn:
    """Steps whose operands are aligned to one output scale: add, sub, max, min, compare."""
    scale = max(_need(b, v) for v in vals)
    ins = [as_dyn(b, v, scale) for v in vals]
    is_int = all(d.is_int for d in ins)
    out_scale = 0 if kind == "compare" else scale
    return b.emit(kind, ins, bshape(*vals), out_scale, is_int or kind == "compare", **params)


@handles("Add", "Sub", "Max", "Min")
def _add_like(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    vals = [v for v in ins if v is not None]
    kind = node.op_type.lower()
    out = vals[0]
    for v in vals[1:]:  # Max/Min are variadic
        out = aligned_op(b, kind, [out, v])
    return [out]


def mul(b: Builder, x: Val, y: Val) -> Dyn:
    """Product: x*x keeps both scales (exact square), else rounds to the activation scale."""
    if isinstance(x, Dyn) and isinstance(y, Dyn) and x == y:
        return b.emit("mul", [x, x], x.shape, 2 * x.scale, x.is_int)
    all_int = _all_int([x, y])
    dx, dy = as_dyn(b, x), as_dyn(b, y)
    return b.emit("mul", [dx, dy], bshape(x, y), 0 if all_int else b.cfg.act, all_int)


@handles("Mul")
def _mul(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    x, y = ins
    assert x is not None and y is not None
    return [mul(b, x, y)]


@handles("Div")
def _div(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    x, y = ins
    assert x is not None and y is not None
    if _all_int([x, y]):
        raise unsupported(node, "integer division")
    if not isinstance(y, Dyn):  # dividing by a constant is multiplying by its reciprocal
        if np.any(y == 0):
            raise unsupported(node, "division by a zero constant")
        return [mul(b, x, (1.0 / y.astype(np.float64)))]
    return [div(b, as_dyn(b, x), y)]


def div(b: Builder, x: Dyn, y: Dyn, scale: int | None = None) -> Dyn:
    s = b.cfg.act if scale is None else scale
    return b.emit("div", [x, y], bshape(x, y), s)


@handles("Relu", "Neg", "Abs")
def _unary(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    x = as_dyn(b, ins[0])
    return [b.emit(node.op_type.lower(), [x], x.shape, x.scale, x.is_int)]


@handles("Clip")
def _clip(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    x = as_dyn(b, ins[0])
    lim = 2**62
    lo, hi = -lim, lim
    if len(ins) > 1 and ins[1] is not None:
        lo = int(np.floor(float(const_of(node, ins[1], "min")) * 2.0**x.scale + 0.5))
    if len(ins) > 2 and ins[2] is not None:
        hi = int(np.floor(float(const_of(node, ins[2], "max")) * 2.0**x.scale + 0.5))
    return [b.emit("clip", [x], x.shape, x.scale, x.is_int, lo=max(lo, -lim), hi=min(hi, lim))]


_CMP = {"Equal": "eq", "Less": "lt", "LessOrEqual": "le", "Greater": "gt", "GreaterOrEqual": "ge"}


@handles(*_CMP)
def _compare(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    x, y = ins
    assert x is not None and y is not None
    return [aligned_op(b, "compare", [x, y], op=_CMP[node.op_type])]


@handles("Not")
def _not(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    x = ins[0]
    assert x is not None
    return [aligned_op(b, "compare", [x, np.zeros((), np.int64)], op="eq")]


@handles("Where")
def _where(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    c, x, y = ins
    assert c is not None and x is not None and y is not None
    scale = max(_need(b, x), _need(b, y))
    dc = as_dyn(b, c if isinstance(c, Dyn) else np.asarray(c).astype(np.int64))
    dx, dy = as_dyn(b, x, scale), as_dyn(b, y, scale)
    out = b.emit("where", [dc, dx, dy], bshape(c, x, y), scale, dx.is_int and dy.is_int)
    return [out]


def table(b: Builder, fn: str, x: Dyn, scale: int) -> Dyn:
    return b.emit("lut", [x], x.shape, scale, False, **dict(lut_params(fn, scale)))


@handles("Erf", "Tanh", "Sigmoid")
def _bounded_fn(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    return [table(b, node.op_type.lower(), as_dyn(b, ins[0]), b.cfg.lut_out)]


@handles("Gelu")
def _gelu(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    if node.attribute and any(a.s == b"tanh" for a in node.attribute):
        raise unsupported(node, "approximate='tanh'")
    return [table(b, "gelu", as_dyn(b, ins[0]), b.cfg.act)]


def sqrt(b: Builder, x: Dyn, scale: int | None = None) -> Dyn:
    s = (x.scale + 1) // 2 if scale is None else scale
    return b.emit("sqrt", [x], x.shape, max(s, 0))


@handles("Sqrt")
def _sqrt(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    x = as_dyn(b, ins[0])
    return [sqrt(b, x, b.cfg.act)]


@handles("Pow")
def _pow(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    x = as_dyn(b, ins[0])
    p = float(np.asarray(const_of(node, ins[1], "exponent")).reshape(-1)[0])
    if p == 2.0:
        return [mul(b, x, x)]
    if p == 3.0:
        return [mul(b, b.to_scale(mul(b, x, x), b.cfg.act), x)]
    if p == 0.5:
        return [sqrt(b, x, b.cfg.act)]
    if p == 1.0:
        return [x]
    raise unsupported(node, f"exponent {p}")


def scalar(v: float) -> Const:
    return np.array(v, dtype=np.float32)
