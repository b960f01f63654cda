"""Request and response bodies: OIP inference (``oip``) and the server endpoints (``server``)."""

from api.schemas.oip import (
    InferInput,
    InferOutput,
    InferRequest,
    InferResponse,
    Parameters,
    RequestedOutput,
)
from api.schemas.server import (
    Duration,
    ErrorBody,
    InferenceStatistics,
    InferenceStats,
    Live,
    ModelConfig,
    ModelMetadata,
    ModelStatistics,
    ProofStats,
    Readiness,
    RepositoryEntry,
    ServerMetadata,
    TensorConfig,
    TensorMetadata,
)

__all__ = [
    "Duration",
    "ErrorBody",
    "InferInput",
    "InferOutput",
    "InferRequest",
    "InferResponse",
    "InferenceStatistics",
    "InferenceStats",
    "Live",
    "ModelConfig",
    "ModelMetadata",
    "ModelStatistics",
    "Parameters",
    "ProofStats",
    "Readiness",
    "RepositoryEntry",
    "RequestedOutput",
    "ServerMetadata",
    "TensorConfig",
    "TensorMetadata",
]
