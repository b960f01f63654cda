"""Turn an OIP request into a checked float array, or say exactly what is wrong with it."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from api.errors import BadRequestError
from api.schemas import InferInput, InferRequest
from models.card import TensorSpec

FLOAT_TYPES = {"FP32", "FP64"}


def _flatten(data: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in data:
        out.extend(_flatten(item) if isinstance(item, list) else [item])
    return out


def _check_numbers(name: str, values: list[Any]) -> list[float]:
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise BadRequestError(f"input {name!r}: element {i} is {v!r}, not a number")
        if not math.isfinite(v):
            raise BadRequestError(
                f"input {name!r}: element {i} is {v}; NaN and infinity "
                "are not accepted, send finite numbers"
            )
    return [float(v) for v in values]


def _check_range(spec: TensorSpec, values: list[float]) -> None:
    lo = -math.inf if spec.min is None else spec.min
    hi = math.inf if spec.max is None else spec.max
    for i, v in enumerate(values):
        if not lo <= v <= hi:
            raise BadRequestError(
                f"input {spec.name!r}: element {i} is {v}, outside the "
                f"model's accepted range [{spec.min}, {spec.max}]"
            )


def _pick_input(request: InferRequest, spec: TensorSpec) -> InferInput:
    if len(request.inputs) != 1:
        raise BadRequestError(
            f"expected exactly one input named {spec.name!r}, got {len(request.inputs)}"
        )
    given = request.inputs[0]
    if given.name != spec.name:
        raise BadRequestError(f"unknown input {given.name!r}; this model takes {spec.name!r}")
    return given


def parse_input(request: InferRequest, spec: TensorSpec) -> NDArray[np.float32]:
    """The single input tensor of ``request``, checked against ``spec`` (shape, dtype, values)."""
    given = _pick_input(request, spec)
    if given.shape != spec.shape:
        raise BadRequestError(
            f"input {spec.name!r}: shape {given.shape} does not match the model's {spec.shape}"
        )
    if given.datatype.upper() not in FLOAT_TYPES:
        raise BadRequestError(
            f"input {spec.name!r}: datatype {given.datatype!r} not accepted; send FP32"
        )
    values = _check_numbers(spec.name, _flatten(given.data))
    expected = int(np.prod(spec.shape))
    if len(values) != expected:
        raise BadRequestError(
            f"input {spec.name!r}: {len(values)} values for shape "
            f"{spec.shape}, which needs {expected}"
        )
    _check_range(spec, values)
    return np.asarray(values, dtype=np.float32).reshape(spec.shape)
