"""``GET /metrics``: the gateway's Prometheus metrics (text exposition format)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import GatewayDep

__all__ = ["router"]

router = APIRouter(tags=["server"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
def metrics(gw: GatewayDep) -> Response:
    if gw.claims is not None:  # gauges read from the store when scraped, not on every answer
        gw.claims.refresh_metrics()
    body, content_type = gw.metrics.exposition()
    return Response(body, media_type=content_type)
