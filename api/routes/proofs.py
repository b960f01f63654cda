"""``GET /v2/models/{name}/proofs/{proof_id}``: an answered request's proof (202 while pending)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import Gateway, GatewayDep
from api.errors import NotFoundError
from api.jobs import Job
from api.openapi import error_responses

__all__ = ["router"]

router = APIRouter(tags=["proofs"])


def _proof_body(gw: Gateway, job: Job) -> tuple[int, dict[str, Any]]:
    base: dict[str, Any] = {
        "proof_id": job.id,
        "model": job.model,
        "model_commitment": job.commitment,
        "status": job.status,
    }
    if job.status == "done":
        return 200, {**base, **(job.proof or {})}
    if job.status == "failed":
        return 500, {"error": f"proving failed: {job.error}", **base}
    position = gw.worker.queue_position(job.id)
    started = gw.worker.started_at(job.id)
    elapsed = round(time.monotonic() - started, 2) if started else None
    return 202, {**base, "queue_position": position, "proving_for_s": elapsed, "retry_after_s": 1}


@router.get(
    "/v2/models/{name}/proofs/{proof_id}",
    responses={202: {"description": "still proving"}, **error_responses(404, 500, 503)},
)
def proof(name: str, proof_id: str, gw: GatewayDep) -> JSONResponse:
    # A proof stays readable after a restart that stopped serving its model.
    job = gw.store.get(proof_id)
    if job.model != name:
        raise NotFoundError(f"proof {proof_id!r} belongs to model {job.model!r}, not {name!r}")
    status, body = _proof_body(gw, job)
    return JSONResponse(status_code=status, content=body)
