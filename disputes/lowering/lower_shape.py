"""Lowering of data-movement ops (each output element copies one operand element)."""

from __future__ import annotations

import numpy as np
import onnx

from disputes.lowering.lower import (
    Builder,
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
from disputes.lowering.lower_nn import emit_transpose, ints_or
from disputes.program.quantize import integral

_FLOAT_TYPES = (
    onnx.TensorProto.FLOAT,
    onnx.TensorProto.DOUBLE,
    onnx.TensorProto.FLOAT16,
    onnx.TensorProto.BFLOAT16,
)


def _probe(x: Dyn, fn: object) -> tuple[int, ...]:
    """Shape the NumPy twin of an op gives on a zero array of x's shape."""
    assert callable(fn)
    return tuple(fn(np.zeros(x.shape, dtype=np.int8)).shape)


def reshape(b: Builder, x: Dyn, shape: tuple[int, ...]) -> Dyn:
    if shape == x.shape:
        return x
    return b.emit("reshape", [x], shape, x.scale, x.is_int)


@handles("Reshape")
def _reshape(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    x = as_dyn(b, ins[0])
    target = list(ints_of(const_of(node, ins[1], "shape")))
    if not iattr(node, "allowzero", 0):
        target = [x.shape[i] if t == 0 else t for i, t in enumerate(target)]
    return [reshape(b, x, _probe(x, lambda a: a.reshape(target)))]


@handles("Flatten")
def _flatten(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    x = as_dyn(b, ins[0])
    ax = iattr(node, "axis", 1) % (len(x.shape) + 1)
    return [reshape(b, x, (int(np.prod(x.shape[:ax])), int(np.prod(x.shape[ax:]))))]


def _axes_arg(node: onnx.NodeProto, ins: list[Val | None]) -> tuple[int, ...] | None:
    if len(ins) > 1 and ins[1] is not None:
        return ints_of(const_of(node, ins[1], "axes"))
    v = attr(node, "axes", None)
    return None if v is None else tuple(int(a) for a in v)  # type: ignore[attr-defined]


@handles("Squeeze")
def _squeeze(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    x, axes = as_dyn(b, ins[0]), _axes_arg(node, ins)
    return [reshape(b, x, _probe(x, lambda a: np.squeeze(a, axis=axes)))]


@handles("Unsqueeze")
def _unsqueeze(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    x, axes = as_dyn(b, ins[0]), _axes_arg(node, ins)
    assert axes is not None
    return [reshape(b, x, _probe(x, lambda a: np.expand_dims(a, axes)))]


@handles("Transpose")
def _transpose(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    x = as_dyn(b, ins[0])
    perm = tuple(ints_or(node, "perm", list(range(len(x.shape)))[::-1]))
    return [emit_transpose(b, x, perm)]


@handles("Slice")
def _slice(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    x = as_dyn(b, ins[0])
    starts, ends = (ints_of(const_of(node, ins[i], "starts/ends")) for i in (1, 2))
    rank = len(x.shape)
    axes = (
        ints_of(const_of(node, ins[3], "axes"))
        if len(ins) > 3 and ins[3] is not None
        else tuple(range(len(starts)))
    )
    steps = (
        ints_of(const_of(node, ins[4], "steps"))
        if len(ins) > 4 and ins[4] is not None
        else (1,) * len(starts)
    )
    sl: list[slice] = [slice(None)] * rank
    for s, e, a, st in zip(starts, ends, axes, steps, strict=True):
        sl[a % rank] = slice(s, e, st)
    flat: list[int] = []
    for i, piece in enumerate(sl):
        flat += list(piece.indices(x.shape[i]))
    shape = _probe(x, lambda a: a[tuple(sl)])
    return [b.emit("slice", [x], shape, x.scale, x.is_int, slices=tuple(flat))]


@handles("Split")
def _split(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    x = as_dyn(b, ins[0])
    ax = iattr(node, "axis", 0) % len(x.shape)
    if len(ins) > 1 and ins[1] is not None:
        sizes = ints_of(const_of(node, ins[1], "split"))
    else:
        n = len(node.output)
        sizes = (x.shape[ax] // n,) * n
    outs: list[Val] = []
    start = 0
    for size in sizes:
        outs.append(slice_axis(b, x, ax, start, start + size))
        start += size
    return outs


def slice_axis(b: Builder, x: Dyn, axis: int, start: int, stop: int) -> Dyn:
    """x[..., start:stop, ...] along one axis (0 <= start <= stop <= its size)."""
    ax = axis % len(x.shape)
    flat: list[int] = []
    for i, d in enumerate(x.shape):
        flat += [start, stop, 1] if i == ax else [0, d, 1]
    shape = tuple(stop - start if i == ax else d for i, d in enumerate(x.shape))
    return b.emit("slice", [x], shape, x.scale, x.is_int, slices=tuple(flat))


@handles("Gather")
def _gather(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    data, idx = ins
    assert data is not None and idx is not None
    ax = iattr(node, "axis", 0) % len(data.shape)
    if isinstance(data, Dyn) and not isinstance(idx, Dyn):
        ii = np.asarray(idx).astype(np.int64)
        ii = np.where(ii < 0, ii + data.shape[ax], ii)
        shape = (*data.shape[:ax], *ii.shape, *data.shape[ax + 1 :])
        return [
            b.emit(
                "gather",
                [data],
                shape,
                data.scale,
                data.is_int,
                axis=ax,
                indices=ints_of(ii),
                indices_shape=tuple(ii.shape),
            )
        ]
    if isinstance(idx, Dyn) and not isinstance(data, Dyn) and ax == 0:
        table = b.weight(np.ascontiguousarray(data), b.table_scale(data))
        shape = (*idx.shape, *data.shape[1:])
        return [b.emit("embed", [table, idx], shape, table.scale, table.is_int)]
    raise unsupported(node, "gather needs constant indices or a constant table on axis 0")


@handles("Concat")
def _concat(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    vals = [v for v in ins if v is not None]
    scale = max(v.scale if isinstance(v, Dyn) else (0 if integral(v) else b.cfg.act) for v in vals)
    ds = [b.to_scale(as_dyn(b, v, scale), scale) for v in vals]
    ax = iattr(node, "axis", 0) % len(ds[0].shape)
    shape = list(ds[0].shape)
    shape[ax] = sum(d.shape[ax] for d in ds)
    return [b.emit("concat", ds, tuple(shape), scale, all(d.is_int for d in ds), axis=ax)]


@handles("Expand")
def _expand(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    x = as_dyn(b, ins[0])
    shape = tuple(np.broadcast_shapes(x.shape, ints_of(const_of(node, ins[1], "shape"))))
    return [x if shape == x.shape else b.emit("expand", [x], shape, x.scale, x.is_int)]


@handles("Cast")
def _cast(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    x = as_dyn(b, ins[0])
    to = iattr(node, "to", onnx.TensorProto.FLOAT)
    if to in _FLOAT_TYPES:
        return [Dyn(x.ref, x.shape, x.scale, False)]  # same integers, now read as reals
    if to == onnx.TensorProto.BOOL:
        zero = b.weight(np.zeros((), dtype=np.int64))
        return [b.emit("compare", [x, zero], x.shape, 0, True, op="ne")]
    return [x if x.is_int else b.emit("rescale", [x], x.shape, 0, True)]


@handles("Identity", "Dropout")
def _identity(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    x = ins[0]
    assert x is not None
    return [x]
