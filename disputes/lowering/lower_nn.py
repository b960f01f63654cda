"""Lowering of matrix products, convolution, softmax, layer norm and reductions."""

from __future__ import annotations

import numpy as np
import onnx

from disputes.lowering.lower import (
    Builder,
    Const,
    Dyn,
    Val,
    as_dyn,
    attr,
    const_of,
    handles,
    iattr,
    ints_of,
    unsupported,
)
from disputes.lowering.lower_arith import aligned_op, div, mul, sqrt, table
from disputes.program.quantize import act_magnitude_bits, quantize_rows


def _swap_last(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (*shape[:-2], shape[-1], shape[-2])


def transposed_operand(b: Builder, x: Dyn) -> Dyn:
    """x with its last two axes swapped (the source itself when x is such a transpose)."""
    return emit_transpose(b, x, (*range(len(x.shape) - 2), len(x.shape) - 1, len(x.shape) - 2))


def emit_transpose(b: Builder, x: Dyn, perm: tuple[int, ...]) -> Dyn:
    """x with its axes permuted; a transpose of a transpose is one step from the source (the
    intermediate, if nothing else reads it, is dropped: no compute and nothing to commit), and
    a permutation already made is reused."""
    src, total = b.permuted_from.get(x.ref, (x, tuple(range(len(perm)))))
    total = tuple(total[p] for p in perm)
    if total == tuple(range(len(total))):
        return src
    made = b.permutations.get((src.ref, total))
    if made is not None:
        return made
    shape = tuple(src.shape[p] for p in total)
    out = b.emit("transpose", [src], shape, src.scale, src.is_int, perm=total)
    b.permuted_from[out.ref] = (src, total)
    b.permutations[(src.ref, total)] = out
    return out


def matmul(b: Builder, a: Val, rhs: Val, bias: Const | None = None) -> Dyn:
    """a @ rhs as a ``matmul`` step over (a, rhs^T): weights are stored transposed."""
    da = as_dyn(b, a)
    if isinstance(rhs, Dyn):
        bt = transposed_operand(b, rhs)
    else:
        q = qmatmul(b, da, rhs, bias) if b.cfg.mm_wbits and rhs.ndim == 2 else None
        if q is not None:
            return q
        bt = b.weight(np.ascontiguousarray(np.swapaxes(rhs, -1, -2)))
    acc = da.scale + bt.scale
    ins = [da, bt]
    if bias is not None:
        ins.append(b.weight(bias.reshape(-1), acc))
    batch = np.broadcast_shapes(da.shape[:-2], bt.shape[:-2])
    shape = (*batch, da.shape[-2], bt.shape[-2])
    return b.emit("matmul", ins, shape, b.cfg.act, shift=acc - b.cfg.act)


def qmatmul(b: Builder, da: Dyn, w: Const, bias: Const | None) -> Dyn | None:
    """a @ w with per-row weights and per-row activations in float32-exact BLAS (SPEC §3).

    None when the weights are too wide for useful activation precision (then ``matmul``).
    """
    q, t = quantize_rows(np.ascontiguousarray(w.T), b.cfg)
    amag = act_magnitude_bits(q, b.cfg)
    if amag < b.cfg.mm_min_abits:
        return None
    ins = [da, b.weight(q), b.weight(t)]
    if bias is not None:
        ins.append(b.weight(bias.reshape(-1), b.cfg.act))
    shape = (*da.shape[:-1], q.shape[0])
    return b.emit("qmatmul", ins, shape, b.cfg.act, amag=amag, shift=da.scale - b.cfg.act)


@handles("MatMul")
def _matmul(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    a, w = ins
    assert a is not None and w is not None
    if len(a.shape) < 2 or len(w.shape) < 2:
        raise unsupported(node, "1-D operands")
    return [matmul(b, a, w)]


@handles("Gemm")
def _gemm(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    if attr(node, "alpha", 1.0) != 1.0 or attr(node, "beta", 1.0) != 1.0:
        raise unsupported(node, "alpha/beta other than 1")
    if iattr(node, "transA", 0):
        raise unsupported(node, "transA=1")
    a, w = ins[0], const_of(node, ins[1], "B")
    assert a is not None
    w = w if not iattr(node, "transB", 0) else np.swapaxes(w, -1, -2)
    c = ins[2] if len(ins) > 2 else None
    bias = None if c is None else np.broadcast_to(const_of(node, c, "C"), (w.shape[-1],))
    return [matmul(b, a, w, bias)]


def ints_or(node: onnx.NodeProto, name: str, default: list[int]) -> list[int]:
    v = attr(node, name, None)
    return list(default) if v is None else [int(x) for x in v]  # type: ignore[attr-defined]


def reduce_last(b: Builder, kind: str, x: Dyn, scale: int | None = None) -> Dyn:
    s = x.scale if scale is None else scale
    return b.emit(kind, [x], (*x.shape[:-1], 1), s, x.is_int)


@handles("Softmax")
def _softmax(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    x = as_dyn(b, ins[0])
    if iattr(node, "axis", -1) not in (-1, len(x.shape) - 1):
        raise unsupported(node, "softmax over an axis other than the last")
    return [softmax(b, x)]


def softmax(b: Builder, x: Dyn) -> Dyn:
    """max, subtract, exp table, sum, divide: five steps, each over one row."""
    m = reduce_last(b, "reduce_max", x)
    d = aligned_op(b, "sub", [x, m])
    e = table(b, "exp", d, b.cfg.exp)
    s = reduce_last(b, "reduce_sum", e)
    return div(b, e, s, b.cfg.prob)


@handles("LayerNormalization")
def _layernorm(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    x = as_dyn(b, ins[0])
    if iattr(node, "axis", -1) not in (-1, len(x.shape) - 1):
        raise unsupported(node, "normalizing over more than the last axis")
    eps = float(attr(node, "epsilon", 1e-5))  # type: ignore[arg-type]
    gamma = const_of(node, ins[1], "scale")
    beta = ins[2] if len(ins) > 2 else None
    return [layernorm(b, x, eps, gamma, beta)]


def layernorm(b: Builder, x: Dyn, eps: float, gamma: Const, beta: Val | None) -> Dyn:
    """mean, centre, exact square, variance, +eps, sqrt, divide, scale, shift (SPEC §6.2)."""
    x = b.to_scale(x, min(max(x.scale, b.cfg.act), b.cfg.norm))
    d = aligned_op(b, "sub", [x, reduce_last(b, "reduce_mean", x)])
    var = reduce_last(b, "reduce_mean", mul(b, d, d))
    eps_q = max(1, int(np.floor(eps * 2.0**var.scale + 0.5)))
    eps_real = np.array(eps_q / 2.0**var.scale, dtype=np.float64)  # exactly eps_q at var's scale
    std = sqrt(b, aligned_op(b, "add", [var, eps_real]), x.scale)
    y = mul(b, div(b, d, std, b.cfg.norm), gamma)
    return y if beta is None else aligned_op(b, "add", [y, beta])


@handles("ReduceMean", "ReduceSum", "ReduceMax", "ReduceL2")
def _reduce(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    x = as_dyn(b, ins[0])
    axes = _axes(node, ins, len(x.shape))
    keep = iattr(node, "keepdims", 1)
    out_shape = tuple(1 if i in axes else n for i, n in enumerate(x.shape) if keep or i not in axes)
    y = _move_last(b, x, axes)
    op = node.op_type
    if op == "ReduceL2":
        r = sqrt(b, reduce_last(b, "reduce_sum", mul(b, y, y)), y.scale)
    else:
        r = reduce_last(
            b,
            {"ReduceMean": "reduce_mean", "ReduceSum": "reduce_sum", "ReduceMax": "reduce_max"}[op],
            y,
        )
    return [r if r.shape == out_shape else b.emit("reshape", [r], out_shape, r.scale, r.is_int)]


def _axes(node: onnx.NodeProto, ins: list[Val | None], rank: int) -> tuple[int, ...]:
    if len(ins) > 1 and ins[1] is not None:
        raw = ints_of(const_of(node, ins[1], "axes"))
    else:
        raw = tuple(ints_or(node, "axes", list(range(rank))))
    return tuple(sorted(a % rank for a in raw))


def _move_last(b: Builder, x: Dyn, axes: tuple[int, ...]) -> Dyn:
    """Transpose the reduced axes to the end and merge them, so reductions run over rows."""
    rest = tuple(i for i in range(len(x.shape)) if i not in axes)
    perm = (*rest, *axes)
    y = x if perm == tuple(range(len(x.shape))) else emit_transpose(b, x, perm)
    if len(axes) == 1:
        return y
    merged = (*y.shape[: len(rest)], int(np.prod(y.shape[len(rest) :])))
    return b.emit("reshape", [y], merged, y.scale, y.is_int)
