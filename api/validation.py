"""Turn an OIP request into a checked float array, or say exactly what is wrong with it."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import ValidationError

from api.errors import BadRequestError
from api.schemas import InferInput, InferRequest
from models.card import TensorSpec
from verinfer.safejson import JsonLimitError, loads

FLOAT_TYPES = {"FP32", "FP64"}
FLOAT32_MAX = float(np.finfo(np.float32).max)


def parse_request(body: bytes, max_bytes: int) -> InferRequest:
    """The infer body, decoded with bounded size and depth; 422 naming what is wrong."""
    try:
        doc = loads(body, max_bytes=max_bytes)
        return InferRequest.model_validate(doc)
    except JsonLimitError as exc:
        raise BadRequestError(str(exc)) from None
    except ValidationError as exc:
        raise BadRequestError(validation_message(exc.errors())) from None


def validation_message(errors: Any) -> str:
    """One line naming each invalid field: ``inputs.0.shape: Field required; …``."""
    parts = []
    for err in errors:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
    return "invalid request body: " + "; ".join(parts)


def _flat(name: str, data: list[Any], shape: list[int]) -> list[Any]:
    """The elements of ``data``: flat (row-major), or nested exactly as ``shape``."""
    if not any(isinstance(v, list) for v in data):
        return data  # flat: the caller checks the count
    flat = _nested(data, shape)
    if flat is None:
        raise BadRequestError(
            f"input {name!r}: nested data does not match shape {shape}; "
            "send it flat (row-major) or nested exactly as the shape"
        )
    return flat


def _nested(data: Any, shape: list[int]) -> list[Any] | None:
    if not shape or not isinstance(data, list) or len(data) != shape[0]:
        return None
    if len(shape) == 1:
        return None if any(isinstance(v, list) for v in data) else data
    out: list[Any] = []
    for item in data:
        inner = _nested(item, shape[1:])
        if inner is None:
            return None
        out.extend(inner)
    return out


def _check_numbers(name: str, values: list[Any]) -> list[float]:
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise BadRequestError(f"input {name!r}: element {i} is {v!r}, not a number")
        if isinstance(v, int) and abs(v) > FLOAT32_MAX:  # float(10**400) would overflow
            raise BadRequestError(
                f"input {name!r}: element {i} is an integer too large for FP32; "
                "send values within the model's range"
            )
        if not math.isfinite(v):
            raise BadRequestError(
                f"input {name!r}: element {i} is {v}; NaN and infinity "
                "are not accepted, send finite numbers"
            )
        out.append(float(v))
    return out


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
    values = _check_numbers(spec.name, _flat(spec.name, given.data, spec.shape))
    expected = math.prod(spec.shape)
    if len(values) != expected:
        raise BadRequestError(
            f"input {spec.name!r}: {len(values)} values for shape "
            f"{spec.shape}, which needs {expected}"
        )
    _check_range(spec, values)
    return np.asarray(values, dtype=np.float32).reshape(spec.shape)
