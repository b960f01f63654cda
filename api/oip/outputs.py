"""The infer response: requested outputs, each as JSON data or binary (Triton's extension).

An output is binary when its request entry says ``parameters.binary_data: true``, or when the
request's ``parameters.binary_data_output`` is true and its own entry does not say otherwise
(Triton's client asks for binary by default). A binary output carries
``parameters.binary_data_size``; its bytes follow the JSON header in output order.

Usage::

    check_outputs(request, card)                 # 422 before any work for a bad request
    body, header_length = encode_response(card, request, outputs, params, "req-1")
"""

from __future__ import annotations

from typing import Any

import numpy as np

from api.backends import Tensors
from api.errors import BadRequestError
from api.oip.binary import join_body
from api.oip.datatypes import numpy_dtype, oip_datatype
from api.schemas import InferRequest, Parameters, RequestedOutput
from models.card import ModelCard, TensorSpec

__all__ = ["check_outputs", "encode_response"]

_UNSUPPORTED = ("classification", "shared_memory_region")


def _flag(params: Parameters | None, key: str) -> bool | None:
    value = (params or {}).get(key)
    if value is not None and not isinstance(value, bool):
        raise BadRequestError(f"parameter {key!r} must be true or false, not {value!r}")
    return value


def check_outputs(request: InferRequest, card: ModelCard) -> None:
    """422 for a requested output the model has not, or an option it does not support."""
    _flag(request.parameters, "binary_data_output")
    names = {o.name for o in card.outputs}
    gives = ", ".join(repr(n) for n in sorted(names))
    for wanted in request.outputs or []:
        if wanted.name not in names:
            raise BadRequestError(f"unknown output {wanted.name!r}; this model gives {gives}")
        _flag(wanted.parameters, "binary_data")
        for key in _UNSUPPORTED:
            if key in (wanted.parameters or {}):
                raise BadRequestError(f"output {wanted.name!r}: {key} is not supported")


def _wanted(request: InferRequest, card: ModelCard) -> list[tuple[TensorSpec, bool]]:
    default = bool(_flag(request.parameters, "binary_data_output"))
    if not request.outputs:
        return [(spec, default) for spec in card.outputs]
    specs = {o.name: o for o in card.outputs}
    return [(specs[o.name], _binary(o, default)) for o in request.outputs]


def _binary(wanted: RequestedOutput, default: bool) -> bool:
    flag = _flag(wanted.parameters, "binary_data")
    return default if flag is None else flag


def encode_response(
    card: ModelCard,
    request: InferRequest,
    outputs: Tensors,
    params: Parameters,
    rid: str,
    datatypes: dict[str, str] | None = None,
) -> tuple[bytes, int | None]:
    """The response body, and the JSON header's length when some output is binary.

    ``datatypes`` names each output's OIP datatype (default: the card's dtype).
    """
    blobs: list[bytes] = []
    tensors: list[dict[str, Any]] = []
    for spec, binary in _wanted(request, card):
        datatype = (datatypes or {}).get(spec.name) or oip_datatype(spec.dtype)
        values = np.asarray(outputs[spec.name])
        tensor: dict[str, Any] = {"name": spec.name, "datatype": datatype, "shape": spec.shape}
        if binary:
            raw = values.astype(numpy_dtype(datatype)).tobytes(order="C")
            tensor["parameters"] = {"binary_data_size": len(raw)}
            blobs.append(raw)
        else:
            tensor["data"] = values.ravel().tolist()
        tensors.append(tensor)
    doc = {
        "model_name": card.name,
        "model_version": "1",
        "id": rid,
        "parameters": params,
        "outputs": tensors,
    }
    return join_body(doc, blobs)
