"""The evidence of the modes that settle by claim, for ``api.inference.EVIDENCE``.

- ``optimistic``: the executor's outputs now; the claim row persisted before the answer, the
  trace and the bonded on-chain claim after it (``ClaimService``).
- ``zk-on-demand``: the circuit witness's outputs now; the claim posted after it, the proof
  made only if someone challenges.
- ``paid_zk(zk_evidence)``: a zk answer whose ``parameters.request_id`` names a paid request;
  its proof job is also the request's fulfilment.

Usage::

    EVIDENCE = {"zk": paid_zk(zk_evidence), **CLAIM_EVIDENCE}
"""

from __future__ import annotations

from collections.abc import Callable

from api.backends import ProverBackend, Tensors
from api.deps import Gateway
from api.errors import BackendError
from api.modes.accept import (
    accept_on_demand,
    accept_optimistic,
    check_paid_zk,
    join_zk,
    request_id_of,
)
from api.modes.executor import ExecutorBackend
from api.modes.service import ClaimService
from api.modes.status import claim_url, parameters, public_state
from api.oip.inputs import Decoded
from api.schemas import Parameters
from models.card import ModelCard

__all__ = ["CLAIM_EVIDENCE", "Evidence", "paid_zk"]

Evidence = Callable[[Gateway, ModelCard, Decoded, Tensors], Parameters]


def _service(gw: Gateway, card: ModelCard) -> ClaimService:
    svc = gw.claims
    if svc is None:
        raise BackendError(
            f"{card.name} is served {card.mode}, but this gateway has no claim service "
            "(build it with api.serve.build_gateway or api.modes.ClaimService.attach)"
        )
    return svc


def _backend(gw: Gateway, card: ModelCard, kind: type[object]) -> object:
    backend = gw.backends[card.name]
    if not isinstance(backend, kind):
        raise BackendError(f"{card.name} is served {card.mode} but not by a {kind.__name__}")
    return backend


def optimistic_evidence(
    gw: Gateway, card: ModelCard, decoded: Decoded, outputs: Tensors
) -> Parameters:
    """Persist the claim row of an optimistic answer; its id and commitments go back."""
    svc = _service(gw, card)
    backend = _backend(gw, card, ExecutorBackend)
    assert isinstance(backend, ExecutorBackend)
    rid = request_id_of(decoded.request.parameters)
    rec = accept_optimistic(svc, card, backend, decoded.tensors, outputs, rid)
    return parameters(rec, card)


def on_demand_evidence(
    gw: Gateway, card: ModelCard, decoded: Decoded, outputs: Tensors
) -> Parameters:
    """Persist the claim row of a zk-on-demand answer (claimed now, proven if challenged)."""
    svc = _service(gw, card)
    backend = _backend(gw, card, ProverBackend)
    assert isinstance(backend, ProverBackend)
    rid = request_id_of(decoded.request.parameters)
    rec = accept_on_demand(svc, card, backend, decoded.tensors, outputs, rid)
    return parameters(rec, card)


def paid_zk(inner: Evidence) -> Evidence:
    """``inner`` (the zk proof job), joined to the paid request ``parameters.request_id`` names."""

    def evidence(gw: Gateway, card: ModelCard, decoded: Decoded, outputs: Tensors) -> Parameters:
        rid = request_id_of(decoded.request.parameters)
        if rid is None:
            return inner(gw, card, decoded, outputs)
        svc = _service(gw, card)
        backend = _backend(gw, card, ProverBackend)
        assert isinstance(backend, ProverBackend)
        prior = check_paid_zk(svc, card, backend, decoded.tensors, rid)
        rec = prior[0]
        if rec is not None and rec.job_id is not None:  # answered before: the same proof job
            params: Parameters = {
                "verification": "zk",
                "model_commitment": card.commitment,
                "proof_id": rec.job_id,
                "proof_url": f"/v2/models/{card.name}/proofs/{rec.job_id}",
            }
        else:
            params = inner(gw, card, decoded, outputs)
            rec = join_zk(svc, card, rid, str(params["proof_id"]), prior)
        extra: Parameters = {"request_id": rid, "claim_id": rec.id, "claim_url": claim_url(rec)}
        return {**params, **extra, "claim_status": public_state(rec)}

    return evidence


CLAIM_EVIDENCE: dict[str, Evidence] = {
    "optimistic": optimistic_evidence,
    "zk-on-demand": on_demand_evidence,
}
