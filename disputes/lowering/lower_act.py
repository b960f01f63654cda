"""Lowering of the common activations to existing kinds (SPEC §6 table "ONNX activations").

Piecewise-linear ones are exact compositions (``mul`` by a constant, ``add``, ``clip``, ``max``,
``min``, ``where``); smooth ones are ``lut`` tables (softplus, mish, ELU's expm1 branch).

Example::

    y = leaky_relu(b, x, 0.01)   # max(x, 0.01·x): two steps
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx

from disputes.lowering.lower import Builder, Dyn, Val, as_dyn, attr, handles, unsupported
from disputes.lowering.lower_arith import aligned_op, mul, scalar, table


def fattr(node: onnx.NodeProto, name: str, default: float) -> float:
    v = attr(node, name, default)
    assert isinstance(v, float | int)
    return float(v)


def _positive(b: Builder, x: Dyn) -> Dyn:
    """1 where x > 0, else 0 (scale 0)."""
    return aligned_op(b, "compare", [x, np.zeros((), np.int64)], op="gt")


def select_positive(b: Builder, x: Dyn, neg: Dyn) -> Dyn:
    """x where x > 0, else ``neg`` (both brought to the finer of their scales)."""
    s = max(x.scale, neg.scale)
    xs, ns = b.to_scale(x, s), b.to_scale(neg, s)
    return b.emit("where", [_positive(b, x), xs, ns], x.shape, s)


def slope_select(b: Builder, x: Dyn, slope: Val) -> Dyn:
    """x for x > 0, slope·x otherwise: max for slopes in [0, 1], min for >= 1, else where."""
    sx = mul(b, x, slope)
    if isinstance(slope, Dyn):
        return select_positive(b, x, sx)
    s = np.asarray(slope, dtype=np.float64)
    if np.all((s >= 0) & (s <= 1)):  # slope·x <= x exactly where x > 0
        return aligned_op(b, "max", [x, sx])
    if np.all(s >= 1):
        return aligned_op(b, "min", [x, sx])
    return select_positive(b, x, sx)


def leaky_relu(b: Builder, x: Dyn, alpha: float) -> Dyn:
    if alpha == 0.0:
        return b.emit("relu", [x], x.shape, x.scale, x.is_int)
    if alpha == 1.0:
        return x
    return slope_select(b, x, scalar(alpha))


@handles("LeakyRelu")
def _leaky_relu(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    return [leaky_relu(b, as_dyn(b, ins[0]), fattr(node, "alpha", 0.01))]


@handles("PRelu")
def _prelu(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    slope = ins[1]
    assert slope is not None
    return [slope_select(b, as_dyn(b, ins[0]), slope)]


def hard_sigmoid(b: Builder, x: Dyn, alpha: float, beta: float) -> Dyn:
    """clip(α·x + β, 0, 1): mul by a constant, add, clip (exact up to the constants' rounding)."""
    y = aligned_op(b, "add", [mul(b, x, scalar(alpha)), scalar(beta)])
    return b.emit("clip", [y], y.shape, y.scale, lo=0, hi=1 << y.scale)


@handles("HardSigmoid")
def _hard_sigmoid(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    alpha, beta = fattr(node, "alpha", 0.2), fattr(node, "beta", 0.5)
    return [hard_sigmoid(b, as_dyn(b, ins[0]), alpha, beta)]


@handles("HardSwish")
def _hard_swish(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    x = as_dyn(b, ins[0])
    return [mul(b, x, hard_sigmoid(b, x, 1.0 / 6.0, 0.5))]


@handles("Softplus", "Mish")
def _smooth(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    return [table(b, node.op_type.lower(), as_dyn(b, ins[0]), b.cfg.act)]


def _times(b: Builder, x: Dyn, c: float) -> Dyn:
    return x if c == 1.0 else mul(b, x, scalar(c))


def elu(b: Builder, x: Dyn, alpha: float, gamma: float = 1.0) -> Dyn:
    """γ·(x > 0 ? x : α·expm1(x)). With g = expm1(min(x, 0)) (0 for x > 0) and 0 < α <= 1,
    α·g >= x wherever x <= 0 (e^x - 1 >= x), so the result is max(x, α·g): x stays exact."""
    g = table(b, "expm1", x, b.cfg.act)
    if gamma == 1.0 and 0.0 < alpha <= 1.0:
        return aligned_op(b, "max", [x, _times(b, g, alpha)])
    return select_positive(b, _times(b, x, gamma), _times(b, g, alpha * gamma))


@handles("Elu")
def _elu(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    return [elu(b, as_dyn(b, ins[0]), fattr(node, "alpha", 1.0))]


@handles("Selu")
def _selu(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    alpha = fattr(node, "alpha", 1.67326319217681884765625)
    gamma = fattr(node, "gamma", 1.05070102214813232421875)
    if gamma <= 0.0:
        raise unsupported(node, f"gamma={gamma} (only gamma > 0)")
    return [elu(b, as_dyn(b, ins[0]), alpha, gamma)]


@handles("Celu")
def _celu(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    """max(x, α·expm1(x/α)): α·(e^u - 1) >= α·u = x for u = x/α <= 0, and 0 for x > 0."""
    x = as_dyn(b, ins[0])
    alpha = fattr(node, "alpha", 1.0)
    if alpha <= 0.0:
        raise unsupported(node, f"alpha={alpha} (only alpha > 0)")
    g = table(b, "expm1", _times(b, x, 1.0 / alpha), b.cfg.act)
    return [aligned_op(b, "max", [x, _times(b, g, alpha)])]


def mish_chains(
    nodes: Sequence[onnx.NodeProto], single: dict[str, int], producer: dict[str, int]
) -> list[tuple[int, int, int, str]]:
    """Each ``Mul(x, Tanh(Softplus(x)))`` (PyTorch's opset-17 Mish): (softplus, tanh, mul, x)
    node indices and x, when the Softplus and Tanh feed nothing else (one ``lut mish`` step)."""
    found = []
    for m, node in enumerate(nodes):
        if node.op_type != "Mul":
            continue
        for t, x in ((node.input[0], node.input[1]), (node.input[1], node.input[0])):
            th = producer.get(t)
            if th is None or nodes[th].op_type != "Tanh" or single.get(t) != m:
                continue
            sp_out = nodes[th].input[0]
            sp = producer.get(sp_out)
            if sp is None or nodes[sp].op_type != "Softplus" or single.get(sp_out) != th:
                continue
            if nodes[sp].input[0] == x:
                found.append((sp, th, m, str(x)))
                break
    return found
