"""Open Inference Protocol (KServe v2) request and response bodies.

``parameters`` are flat everywhere (OIP's ``$parameters``: string, number or boolean values,
no nested objects), so any OIP client can read and write them.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "InferInput",
    "InferOutput",
    "InferRequest",
    "InferResponse",
    "Parameters",
    "RequestedOutput",
]

Parameters = dict[str, str | int | float | bool]


class InferInput(BaseModel):
    """One named input tensor: JSON ``data`` (flat or nested), or binary (binary_data_size)."""

    name: str
    shape: list[int]
    datatype: str
    data: list[Any] | None = None
    parameters: Parameters | None = None


class RequestedOutput(BaseModel):
    """An output the client wants, and how (``parameters.binary_data``)."""

    name: str
    parameters: Parameters | None = None


class InferRequest(BaseModel):
    """Body (or JSON header) of ``POST /v2/models/{name}/infer``."""

    id: str | None = None
    inputs: list[InferInput] = Field(min_length=1)
    outputs: list[RequestedOutput] | None = None
    parameters: Parameters | None = None


class InferOutput(BaseModel):
    """One named output tensor: JSON ``data``, or ``parameters.binary_data_size`` bytes."""

    name: str
    shape: list[int]
    datatype: str
    data: list[Any] | None = None
    parameters: Parameters | None = None


class InferResponse(BaseModel):
    """Outputs at once; the evidence travels in the flat ``parameters``; ``id`` echoed."""

    model_name: str
    model_version: str | None = None
    id: str
    outputs: list[InferOutput]
    parameters: Parameters
