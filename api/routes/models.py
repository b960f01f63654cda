"""Model endpoints: metadata, readiness, Triton's model configuration and statistics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import Gateway, GatewayDep
from api.oip.datatypes import oip_datatype
from api.openapi import error_responses
from api.routes.server import readiness
from api.routes.versions import add_model_route
from api.schemas import (
    InferenceStatistics,
    ModelConfig,
    ModelMetadata,
    Parameters,
    Readiness,
    TensorConfig,
    TensorMetadata,
)
from models.card import ModelCard, TensorSpec

__all__ = ["router"]

router = APIRouter(tags=["models"])


def _tensors(specs: list[TensorSpec], types: dict[str, str] | None = None) -> list[TensorMetadata]:
    def datatype(s: TensorSpec) -> str:
        return (types or {}).get(s.name) or oip_datatype(s.dtype)

    return [TensorMetadata(name=s.name, datatype=datatype(s), shape=s.shape) for s in specs]


def _parameters(gw: Gateway, card: ModelCard) -> Parameters:
    params: Parameters = {
        "verification": card.mode,
        "model_commitment": card.commitment,
        "dev_srs": gw.dev_srs,
    }
    # Flat: OIP parameters hold no nested objects, so each metric is a key of its own.
    params.update({f"metric_{k}": float(v) for k, v in sorted(card.metrics.items())})
    return params


def metadata(name: str, gw: GatewayDep) -> ModelMetadata:
    card = gw.card(name)
    return ModelMetadata(
        name=card.name,
        versions=["1"],
        platform="onnx",
        inputs=_tensors(card.inputs),
        outputs=_tensors(card.outputs, gw.output_datatypes(card)),
        parameters=_parameters(gw, card),
    )


def model_ready(name: str, gw: GatewayDep) -> JSONResponse:
    gw.card(name)
    return readiness(gw)


def _config_tensors(
    specs: list[TensorSpec], types: dict[str, str] | None = None
) -> list[TensorConfig]:
    return [
        TensorConfig(name=t.name, data_type=f"TYPE_{t.datatype}", dims=t.shape)
        for t in _tensors(specs, types)
    ]


def config(name: str, gw: GatewayDep) -> ModelConfig:
    card = gw.card(name)
    return ModelConfig(
        name=card.name,
        platform="onnxruntime_onnx",
        backend="onnxruntime",
        max_batch_size=0,  # the shapes above include the batch dimension
        input=_config_tensors(card.inputs),
        output=_config_tensors(card.outputs, gw.output_datatypes(card)),
    )


def stats(name: str, gw: GatewayDep) -> InferenceStatistics:
    gw.card(name)
    return gw.stats.body([name])


@router.get("/v2/models/stats")
def all_stats(gw: GatewayDep) -> InferenceStatistics:
    """Statistics of every served model."""
    return gw.stats.body(sorted(gw.backends))


add_model_route(router, "GET", "", metadata, responses=error_responses(404))
add_model_route(
    router,
    "GET",
    "/ready",
    model_ready,
    response_model=Readiness,
    response_model_exclude_none=True,
    responses=error_responses(404, 503),
)
add_model_route(router, "GET", "/config", config, responses=error_responses(404))
add_model_route(router, "GET", "/stats", stats, responses=error_responses(404))
