"""``GET /v2/models/{name}/claims/{claim_id}``: a claim's live status and what a watcher checks.

``claim_id`` is the id an infer answer gave (``parameters.claim_id``) or the on-chain request
id a client paid (decimal), so a request the gateway fulfilled from its event is readable
too. 202 while the claim is not yet on chain; 200 once claimed, challenged, final or lost.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import Gateway, GatewayDep
from api.errors import NotFoundError
from api.modes.executor import ExecutorBackend
from api.modes.status import describe
from api.modes.store import ClaimRecord
from api.openapi import error_responses
from api.routes.versions import add_model_route

__all__ = ["router"]

router = APIRouter(tags=["claims"])
MAX_ID_LENGTH = 64


def _find(gw: Gateway, name: str, claim_id: str) -> ClaimRecord:
    svc = gw.claims
    rec = None
    if svc is not None and len(claim_id) <= MAX_ID_LENGTH:
        by_request = claim_id.isdecimal() and len(claim_id) <= 18
        rec = svc.store.by_request(int(claim_id)) if by_request else svc.store.get(claim_id)
    if rec is None or rec.model != name:
        raise NotFoundError(
            f"model {name!r} has no claim {claim_id[:MAX_ID_LENGTH]!r}; use the claim_id from the "
            "infer response's parameters, or the on-chain request id"
        )
    return rec


def claim(name: str, claim_id: str, gw: GatewayDep) -> JSONResponse:
    # A claim stays readable after a restart that stopped serving its model (like proofs).
    rec = _find(gw, name, claim_id)
    backend = gw.backends.get(name)
    program = backend.program if isinstance(backend, ExecutorBackend) else None
    assert gw.claims is not None
    status, body = describe(gw.claims, rec, program)
    return JSONResponse(status_code=status, content=body)


add_model_route(
    router,
    "GET",
    "/claims/{claim_id}",
    claim,
    responses={202: {"description": "not yet on chain"}, **error_responses(404, 503)},
)
