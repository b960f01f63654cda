"""Server endpoints: health, readiness, server metadata (``GET /v2``), the repository index."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import VERSION, Gateway, GatewayDep
from api.openapi import error_responses
from api.schemas import Live, Readiness, RepositoryEntry, ServerMetadata

__all__ = ["EXTENSIONS", "readiness", "router"]

router = APIRouter(tags=["server"])
EXTENSIONS = [
    "binary_tensor_data",
    "model_configuration",
    "model_repository",
    "parameters",
    "statistics",
    "verification",
]


def readiness(gw: Gateway) -> JSONResponse:
    """200 ready, or 503 with the reason (no models, worker down, workers still loading)."""
    reason = "no models are served" if not gw.backends else gw.worker.not_ready()
    if reason:
        return JSONResponse(status_code=503, content={"ready": False, "error": reason})
    return JSONResponse(content={"ready": True})


@router.get("/v2/health/live")
def live() -> Live:
    return Live(live=True)


@router.get(
    "/v2/health/ready",
    response_model=Readiness,
    response_model_exclude_none=True,
    responses=error_responses(503),
)
def ready(gw: GatewayDep) -> JSONResponse:
    return readiness(gw)


@router.get("/v2")
def server_metadata(gw: GatewayDep) -> ServerMetadata:
    return ServerMetadata(
        name="verinfer", version=VERSION, extensions=EXTENSIONS, models=sorted(gw.backends)
    )


@router.post("/v2/repository/index", responses=error_responses(413))
def repository_index(gw: GatewayDep) -> list[RepositoryEntry]:
    """Every served model; a gateway loads its models at start, so each is READY."""
    return [RepositoryEntry(name=n, version="1", state="READY") for n in sorted(gw.backends)]
