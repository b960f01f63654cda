"""Checks on a user's ONNX file before it is added: readable, valid, static shapes, one output.

Both serving paths need every shape fixed: a circuit is built for one shape, and the executor's
program (and so its commitment) fixes every tensor's size. A dynamic axis is refused with its
name and the two ways to fix it (re-export with fixed shapes, or ``--input-shape``).

Usage::

    checked = validate_onnx(Path("model.onnx"), {"x": [1, 3, 32, 32]})
    checked.inputs[0].shape, checked.n_params
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import onnx

from models.card import TensorSpec
from models.errors import InvalidModelError

FLOAT_TYPES = {onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16}


@dataclass(frozen=True)
class CheckedModel:
    """A valid ONNX model with every input and output shape fixed."""

    model: onnx.ModelProto
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    n_params: int
    ops: dict[str, int]


def validate_onnx(path: Path, input_shapes: Mapping[str, list[int]] | None = None) -> CheckedModel:
    """Load, check and fix the shapes of ``path``; InvalidModelError says what is wrong."""
    model = _load(path)
    _check(model, path, "onnx.checker")
    fix_input_shapes(model, dict(input_shapes or {}))
    graph_inputs = runtime_inputs(model)
    _refuse_dynamic(graph_inputs, "input", path)
    inferred = _infer(model, path)
    _set_outputs(model, inferred)
    if len(model.graph.output) != 1:
        names = [o.name for o in model.graph.output]
        raise InvalidModelError(
            f"{path} has {len(names)} outputs {names}; verinfer serves one output tensor: "
            "re-export the model returning only the tensor you serve"
        )
    _refuse_dynamic(list(model.graph.output), "output", path)
    return CheckedModel(
        model,
        [spec_of(vi) for vi in graph_inputs],
        [spec_of(vi) for vi in model.graph.output],
        sum(math.prod(t.dims) for t in model.graph.initializer),
        dict(Counter(n.op_type for n in model.graph.node)),
    )


def runtime_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """Graph inputs a caller feeds (older exporters also list initializers as inputs)."""
    init = {t.name for t in model.graph.initializer}
    return [vi for vi in model.graph.input if vi.name not in init]


def fix_input_shapes(model: onnx.ModelProto, shapes: dict[str, list[int]]) -> None:
    """Overwrite each named input's shape (``--input-shape NAME=1,3,32,32``), rank kept."""
    by_name = {vi.name: vi for vi in runtime_inputs(model)}
    unknown = sorted(set(shapes) - set(by_name))
    if unknown:
        raise InvalidModelError(
            f"--input-shape names unknown input(s) {unknown}; the inputs are {sorted(by_name)}"
        )
    for name, shape in shapes.items():
        dims = by_name[name].type.tensor_type.shape.dim
        if len(dims) != len(shape) or any(d <= 0 for d in shape):
            raise InvalidModelError(
                f"--input-shape {name}={','.join(map(str, shape))}: input {name!r} has rank "
                f"{len(dims)}; give {len(dims)} positive sizes"
            )
        for dim, size in zip(dims, shape, strict=True):
            if dim.HasField("dim_value") and dim.dim_value != size:
                raise InvalidModelError(
                    f"--input-shape {name}: axis size {size} contradicts the model's fixed "
                    f"{dim.dim_value}"
                )
            dim.Clear()
            dim.dim_value = size


def spec_of(vi: onnx.ValueInfoProto) -> TensorSpec:
    """Name, static shape and numpy dtype name of a value."""
    tt = vi.type.tensor_type
    dtype = onnx.helper.tensor_dtype_to_np_dtype(tt.elem_type).name
    return TensorSpec(name=vi.name, shape=[d.dim_value for d in tt.shape.dim], dtype=dtype)


def parse_shape(text: str) -> tuple[str, list[int]]:
    """``NAME=1,3,32,32`` → (name, [1, 3, 32, 32])."""
    name, _, dims = text.partition("=")
    try:
        shape = [int(d) for d in dims.split(",")]
    except ValueError:
        shape = []
    if not name or not shape:
        raise InvalidModelError(f"--input-shape {text!r}: expected NAME=D1,D2,… (e.g. x=1,3,32,32)")
    return name, shape


def _load(path: Path) -> onnx.ModelProto:
    if not path.is_file():
        raise InvalidModelError(f"{path}: no such file")
    try:
        return onnx.load(str(path), load_external_data=True)
    except Exception as exc:  # protobuf DecodeError, OSError on external data, …
        raise InvalidModelError(f"{path} is not a readable ONNX model: {exc}") from None


def _check(model: onnx.ModelProto, path: Path, what: str) -> None:
    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, ValueError) as exc:
        raise InvalidModelError(f"{path} fails {what}: {exc}") from None


def _infer(model: onnx.ModelProto, path: Path) -> onnx.ModelProto:
    try:
        return onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
    except (onnx.shape_inference.InferenceError, ValueError) as exc:
        raise InvalidModelError(f"{path} fails ONNX shape inference: {exc}") from None


def _set_outputs(model: onnx.ModelProto, inferred: onnx.ModelProto) -> None:
    """The graph's outputs with their inferred shapes (fixed once the inputs are)."""
    for out, inf in zip(model.graph.output, inferred.graph.output, strict=True):
        out.CopyFrom(inf)


def _refuse_dynamic(values: list[onnx.ValueInfoProto], kind: str, path: Path) -> None:
    for vi in values:
        if not vi.type.HasField("tensor_type"):
            raise InvalidModelError(f"{path}: {kind} {vi.name!r} is not a tensor")
        dims = vi.type.tensor_type.shape.dim
        if not vi.type.tensor_type.HasField("shape"):
            raise InvalidModelError(f"{path}: {kind} {vi.name!r} has no shape; {_fix(vi)}")
        for axis, d in enumerate(dims):
            if not d.HasField("dim_value") or d.dim_value <= 0:
                label = f" ({d.dim_param!r})" if d.dim_param else ""
                raise InvalidModelError(
                    f"{path}: {kind} {vi.name!r} axis {axis}{label} is dynamic; {_fix(vi)}"
                )


def _fix(vi: onnx.ValueInfoProto) -> str:
    dims = vi.type.tensor_type.shape.dim
    example = ",".join(str(d.dim_value) if d.HasField("dim_value") else "1" for d in dims)
    return (
        "verinfer needs static shapes: re-export with fixed shapes (torch.onnx.export without "
        f"dynamic_axes) or pass --input-shape {vi.name}={example or '1'} for each dynamic input"
    )
