"""Open Inference Protocol (KServe v2) request and response bodies."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class InferInput(BaseModel):
    """One named input tensor: shape, datatype and flat (or nested) data."""

    name: str
    shape: list[int]
    datatype: str
    data: list[Any]
    parameters: dict[str, Any] | None = None


class InferRequest(BaseModel):
    """Body of ``POST /v2/models/{name}/infer``."""

    id: str | None = None
    inputs: list[InferInput] = Field(min_length=1)
    parameters: dict[str, Any] | None = None


class InferOutput(BaseModel):
    """One named output tensor."""

    name: str
    shape: list[int]
    datatype: str
    data: list[float]


class InferResponse(BaseModel):
    """Outputs at once; the evidence travels in the flat ``parameters``."""

    model_name: str
    model_version: str | None = None
    id: str
    outputs: list[InferOutput]
    parameters: dict[str, Any]


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer: what was wrong and what to do."""

    error: str


class TensorMetadata(BaseModel):
    name: str
    datatype: str
    shape: list[int]


class ModelMetadata(BaseModel):
    """Body of ``GET /v2/models/{name}``; ``parameters`` adds verinfer's facts."""

    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]
    parameters: dict[str, Any]
