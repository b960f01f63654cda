"""Bodies of the server, model, repository and statistics endpoints (Triton-compatible)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas.oip import Parameters

__all__ = [
    "Duration",
    "ErrorBody",
    "InferenceStatistics",
    "InferenceStats",
    "Live",
    "ModelConfig",
    "ModelMetadata",
    "ModelStatistics",
    "ProofStats",
    "Readiness",
    "RepositoryEntry",
    "ServerMetadata",
    "TensorConfig",
    "TensorMetadata",
]


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer: what was wrong and what to do."""

    error: str


class Live(BaseModel):
    live: bool


class Readiness(BaseModel):
    """Ready, or why not (``error``)."""

    ready: bool
    error: str | None = None


class ServerMetadata(BaseModel):
    """Body of ``GET /v2``: ``extensions`` lists the protocol extensions served."""

    name: str
    version: str
    extensions: list[str]
    models: list[str]


class TensorMetadata(BaseModel):
    name: str
    datatype: str
    shape: list[int]


class ModelMetadata(BaseModel):
    """Body of ``GET /v2/models/{name}``; flat ``parameters`` add verinfer's facts."""

    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]
    parameters: Parameters


class RepositoryEntry(BaseModel):
    """One row of ``POST /v2/repository/index``."""

    name: str
    version: str
    state: str
    reason: str = ""


class TensorConfig(BaseModel):
    name: str
    data_type: str = Field(description="Triton's TYPE_* name, e.g. TYPE_FP32")
    dims: list[int]


class ModelConfig(BaseModel):
    """Body of ``GET /v2/models/{name}/config`` (Triton's model configuration, in JSON)."""

    name: str
    platform: str
    backend: str
    max_batch_size: int
    input: list[TensorConfig]
    output: list[TensorConfig]


class Duration(BaseModel):
    """How many, and their total time in nanoseconds."""

    count: int = 0
    ns: int = 0


class InferenceStats(BaseModel):
    success: Duration
    fail: Duration
    queue: Duration
    compute_input: Duration
    compute_infer: Duration
    compute_output: Duration


class ProofStats(BaseModel):
    """verinfer's addition: proof jobs finished in this process, by outcome."""

    success: Duration
    fail: Duration


class ModelStatistics(BaseModel):
    name: str
    version: str
    last_inference: int = Field(description="milliseconds since the epoch; 0 before the first")
    inference_count: int
    execution_count: int
    inference_stats: InferenceStats
    batch_stats: list[dict[str, int]] = Field(default_factory=list)
    proof_stats: ProofStats


class InferenceStatistics(BaseModel):
    """Body of ``GET /v2/models/{name}/stats`` and ``GET /v2/models/stats``."""

    model_stats: list[ModelStatistics]
