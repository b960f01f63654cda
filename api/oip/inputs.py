"""Turn an OIP infer request (JSON or binary) into checked arrays, or say exactly what is wrong.

Every datatype a model card names works the same way: the request's datatype must be one the
model input accepts (``datatypes.accepted``), the shape must be the model's, and every value
must be finite and inside the card's range, whether it came as JSON or as raw bytes.

Usage::

    decoded = decode_request(body, header_length, card, max_bytes=4 << 20)
    decoded.tensors["input"]        # float32 array of the card's shape
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import ValidationError

from api.errors import BadRequestError
from api.oip.binary import binary_size, split_body, take_binary
from api.oip.datatypes import accepted, numpy_dtype, oip_datatype
from api.schemas import InferInput, InferRequest
from models.card import ModelCard, TensorSpec
from verinfer.safejson import JsonLimitError, loads

__all__ = ["Decoded", "decode_request", "parse_request", "validation_message"]

FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class Decoded:
    """A checked request: the parsed header and each model input as an array of its dtype."""

    request: InferRequest
    tensors: dict[str, NDArray[Any]]


def parse_request(body: bytes, max_bytes: int) -> InferRequest:
    """The infer JSON, decoded with bounded size and depth; 422 naming what is wrong."""
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
    for err in list(errors)[:10]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{where or 'body'}: {err.get('msg', 'invalid')}")
    return "invalid request body: " + "; ".join(parts)


def decode_request(
    body: bytes, header_length: str | None, card: ModelCard, max_bytes: int
) -> Decoded:
    """The request's inputs, each checked against the card (names, shape, datatype, values)."""
    header, tail = split_body(body, header_length)
    request = parse_request(header, max_bytes)
    if header_length is None and any(binary_size(t) is not None for t in request.inputs):
        raise BadRequestError(
            "an input has binary_data_size but the request has no "
            "Inference-Header-Content-Length header giving the JSON header's length"
        )
    blobs = take_binary(request.inputs, tail)
    given = _by_name(request, card)
    tensors = {s.name: _decode(given[s.name], s, blobs.get(s.name)) for s in card.inputs}
    return Decoded(request, tensors)


def _by_name(request: InferRequest, card: ModelCard) -> dict[str, InferInput]:
    takes = ", ".join(repr(s.name) for s in card.inputs)
    given: dict[str, InferInput] = {}
    for tensor in request.inputs:
        if tensor.name not in {s.name for s in card.inputs}:
            raise BadRequestError(f"unknown input {tensor.name!r}; this model takes {takes}")
        if tensor.name in given:
            raise BadRequestError(f"input {tensor.name!r} is given twice")
        given[tensor.name] = tensor
    missing = [s.name for s in card.inputs if s.name not in given]
    if missing:
        raise BadRequestError(f"missing input {missing[0]!r}; this model takes {takes}")
    return given


def _decode(given: InferInput, spec: TensorSpec, blob: bytes | None) -> NDArray[Any]:
    if given.shape != spec.shape:
        raise BadRequestError(
            f"input {spec.name!r}: shape {given.shape} does not match the model's {spec.shape}"
        )
    want = oip_datatype(spec.dtype)
    sent = given.datatype.upper()
    if sent not in accepted(want):
        raise BadRequestError(
            f"input {spec.name!r}: datatype {given.datatype!r} not accepted; send {want}"
        )
    if blob is not None and given.data is not None:
        raise BadRequestError(f"input {spec.name!r}: send data or binary_data_size, not both")
    count = math.prod(spec.shape)
    if blob is not None:
        values = _from_binary(spec.name, blob, sent, count)
    elif given.data is not None:
        values = _from_json(spec.name, _flat(spec.name, given.data, spec.shape), sent, count)
    else:
        raise BadRequestError(f"input {spec.name!r} has no data: send data or binary_data_size")
    _check_range(spec, values)
    return values.astype(numpy_dtype(want)).reshape(spec.shape)


def _from_binary(name: str, blob: bytes, datatype: str, count: int) -> NDArray[Any]:
    dtype = numpy_dtype(datatype)
    if len(blob) != count * dtype.itemsize:
        raise BadRequestError(
            f"input {name!r}: {len(blob)} bytes of {datatype}, but the shape needs {count} "
            f"values of {dtype.itemsize} bytes ({count * dtype.itemsize})"
        )
    values = np.frombuffer(blob, dtype=dtype)
    if values.dtype.kind == "f":
        _check_finite(name, values)
    return values


def _from_json(name: str, data: list[Any], datatype: str, count: int) -> NDArray[Any]:
    if len(data) != count:
        raise BadRequestError(f"input {name!r}: {len(data)} values for a shape which needs {count}")
    kind = numpy_dtype(datatype).kind
    if kind == "f":
        return np.asarray(_floats(name, data), dtype=np.float64)
    if kind in "iu":
        return _ints(name, data, numpy_dtype(datatype))
    return np.asarray(_bools(name, data), dtype=bool)


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


def _floats(name: str, values: list[Any]) -> list[float]:
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise BadRequestError(f"input {name!r}: element {i} is {v!r}, not a number")
        if isinstance(v, int) and abs(v) > FLOAT32_MAX:  # float(10**400) would overflow
            raise BadRequestError(
                f"input {name!r}: element {i} is an integer too large for FP32; "
                "send values within the model's range"
            )
        out.append(float(v))
    _check_finite(name, np.asarray(out, dtype=np.float64))
    return out


def _ints(name: str, values: list[Any], dtype: np.dtype[Any]) -> NDArray[Any]:
    info = np.iinfo(dtype)
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int):
            raise BadRequestError(f"input {name!r}: element {i} is {v!r}, not an integer")
        if not info.min <= v <= info.max:
            raise BadRequestError(
                f"input {name!r}: element {i} is {v}, outside {dtype.name}'s range"
            )
    return np.asarray(values, dtype=dtype)


def _bools(name: str, values: list[Any]) -> list[bool]:
    for i, v in enumerate(values):
        if not isinstance(v, bool):
            raise BadRequestError(f"input {name!r}: element {i} is {v!r}, not true or false")
    return values


def _check_finite(name: str, values: NDArray[Any]) -> None:
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        i = int(bad[0])
        raise BadRequestError(
            f"input {name!r}: element {i} is {values[i]}; NaN and infinity "
            "are not accepted, send finite numbers"
        )


def _check_range(spec: TensorSpec, values: NDArray[Any]) -> None:
    lo = -math.inf if spec.min is None else spec.min
    hi = math.inf if spec.max is None else spec.max
    wide = values.astype(np.float64) if values.dtype.kind in "iub" else values
    bad = np.flatnonzero((wide < lo) | (wide > hi))
    if bad.size:
        i = int(bad[0])
        raise BadRequestError(
            f"input {spec.name!r}: element {i} is {values[i]}, outside the "
            f"model's accepted range [{spec.min}, {spec.max}]"
        )
    if values.dtype.kind == "f" and np.dtype(spec.dtype) == np.float32:
        big = np.flatnonzero(np.abs(values) > FLOAT32_MAX)
        if big.size:
            raise BadRequestError(
                f"input {spec.name!r}: element {int(big[0])} is too large for FP32; "
                "send values within the model's range"
            )
