"""The HTTP side of a claim: check what a request names, then persist the row before answering.

An infer request may name an on-chain request the client already paid for
(``parameters.request_id``). It is checked against the chain before anything is stored: the
request must be for this model (one of the signer's ids), still open, and for exactly this
input (the be32 bytes of an optimistic request; the input hash of a zk one), so an answer
can never settle someone else's request. The row is then the request's one row: the
fulfiller may have made it from the event already, and the answer joins it.

Usage::

    rec = accept_optimistic(svc, card, backend, decoded.tensors, outputs, request_id=None)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from eth_hash.auto import keccak

from api.backends import ProverBackend, Tensors
from api.chain.link import ChainLink, ChainModel
from api.errors import ApiError, BadRequestError
from api.modes.executor import ExecutorBackend
from api.modes.service import ClaimService
from api.modes.store import ClaimRecord, DuplicateRequest
from api.schemas import Parameters
from contracts.errors import ChainError, ContractRevert
from contracts.records import RequestStatus
from disputes.commitments import merkle
from disputes.game.encoding import output_bytes
from models.card import ModelCard
from verinfer.field import input_hash, to_felt, words

__all__ = [
    "ChainUnavailable",
    "accept_on_demand",
    "accept_optimistic",
    "check_paid_zk",
    "join_zk",
    "request_id_of",
]

T = TypeVar("T")
MAX_REQUEST_ID = 2**63 - 1  # what the store's column holds; the escrow's counter is far below


class ChainUnavailable(ApiError):
    """The chain could not be read to check a paid request: HTTP 503, retry."""

    status_code = 503
    retry_after = True


def request_id_of(params: Parameters | None) -> int | None:
    """``parameters.request_id`` as an int (a number or decimal string); 422 for anything else."""
    value = (params or {}).get("request_id")
    if value is None:
        return None
    if isinstance(value, str) and value.isdecimal() and len(value) <= 19:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_REQUEST_ID:
        raise BadRequestError(
            f"parameters.request_id must be the positive integer id of a request paid on the "
            f"escrow, not {value!r}"
        )
    return value


def _read(what: str, fn: Callable[[], T]) -> T:
    try:
        return fn()
    except ContractRevert as exc:  # the escrow refused the read: the id is the client's error
        if exc.name == "UnknownRequest":
            raise BadRequestError(f"{what} does not exist on this escrow") from None
        raise BadRequestError(f"{what}: the escrow refused the read ({exc.name})") from None
    except ChainError as exc:
        raise ChainUnavailable(f"cannot read {what} from the chain: {exc}") from None


def _paid(svc: ClaimService, card: ModelCard, rid: int) -> tuple[ChainLink, ChainModel]:
    link = svc.link
    if link is None:
        raise BadRequestError(
            "parameters.request_id names an on-chain request, but this gateway is not connected "
            "to a chain (start it with --rpc-url and a signing key)"
        )
    model = link.models.get(card.name)
    if model is None:
        raise BadRequestError(f"{card.name} is not registered on chain by {link.address}")
    return link, model


def _check_request(link: ChainLink, model: ChainModel, rid: int) -> None:
    info = _read(f"request {rid}", lambda: link.escrow().get_request(rid))
    if info.status == RequestStatus.NONE:
        raise BadRequestError(f"request {rid} does not exist on escrow {link.dep.escrow}")
    if info.model_id not in model.ids:
        raise BadRequestError(
            f"request {rid} is for model id {info.model_id}, not {model.name} "
            f"(ids {list(model.ids)})"
        )
    if info.status != RequestStatus.OPEN:
        raise BadRequestError(f"request {rid} is already {info.status.name.lower()}")


def _existing(svc: ClaimService, card: ModelCard, rid: int) -> ClaimRecord | None:
    rec = svc.store.by_request(rid)
    if rec is not None and rec.model != card.name:
        raise BadRequestError(f"request {rid} belongs to model {rec.model}, not {card.name}")
    return rec


def _admit(svc: ClaimService, rec: ClaimRecord) -> ClaimRecord:
    try:
        return svc.admit(rec)
    except DuplicateRequest:  # the fulfiller made its row from the event a moment ago
        again = svc.store.by_request(rec.request_id or 0)
        if again is None:
            raise
        return again


def accept_optimistic(
    svc: ClaimService, card: ModelCard, backend: ExecutorBackend, tensors: Tensors,
    outputs: Tensors, request_id: int | None,
) -> ClaimRecord:  # fmt: skip
    """The row of an optimistic answer (new, or the paid request's own)."""
    data = backend.input_bytes(tensors)
    q = backend.quantized(outputs[card.outputs[0].name])
    model = svc.link.models.get(card.name) if svc.link is not None else None
    model_id = model.model_id if model is not None else None
    if request_id is not None:
        link, model = _paid(svc, card, request_id)
        req = _read(f"request {request_id}", lambda: link.escrow().optimistic_request(request_id))
        if req is None:
            raise BadRequestError(f"request {request_id} is not an optimistic request")
        if req.input != data:
            raise BadRequestError(f"this input is not the one request {request_id} paid for")
        if (rec := _existing(svc, card, request_id)) is not None:
            return rec
        _check_request(link, model, request_id)
        model_id = req.model_id
    root = "0x" + merkle.tensor_root(q).hex()
    rec = ClaimRecord.new(
        card.name, "optimistic", "http", stage="tracing", request_id=request_id,
        model_id=model_id, input_data=data, output=output_bytes(q), output_root=root,
    )  # fmt: skip
    return _admit(svc, rec)


def _felts(values: Any, scale: int) -> list[int]:
    # Exact: the witness's outputs were dequantized to q / 2**scale in float64.
    flat = np.asarray(values, dtype=np.float64).reshape(-1)
    return [to_felt(int(np.rint(v * 2.0**scale))) for v in flat]


def _input_hash(card: ModelCard, backend: ProverBackend, tensors: Tensors) -> str:
    return "0x" + input_hash(backend.prover.quantize_input(tensors[card.inputs[0].name])).hex()


def check_paid_zk(
    svc: ClaimService, card: ModelCard, backend: ProverBackend, tensors: Tensors, rid: int
) -> tuple[ClaimRecord | None, int]:
    """Check a paid zk or on-demand request against this input: (its row if any, model id)."""
    link, model = _paid(svc, card, rid)
    info = _read(f"request {rid}", lambda: link.escrow().get_request(rid))
    if "0x" + info.input_hash.hex() != _input_hash(card, backend, tensors):
        raise BadRequestError(f"this input is not the one request {rid} paid for (input hash)")
    rec = _existing(svc, card, rid)
    if rec is None:
        _check_request(link, model, rid)
    return rec, info.model_id


def accept_on_demand(
    svc: ClaimService, card: ModelCard, backend: ProverBackend, tensors: Tensors,
    outputs: Tensors, request_id: int | None,
) -> ClaimRecord:  # fmt: skip
    """The row of a zk-on-demand answer: the witness's outputs, claimed now, proven if asked."""
    x = tensors[card.inputs[0].name]
    felts = _felts(outputs[card.outputs[0].name], backend.prover.output_scale)
    values = {
        "inputs": json.dumps(np.asarray(x, dtype=np.float64).reshape(-1).tolist()),
        "input_hash": _input_hash(card, backend, tensors),
        "outputs": json.dumps([str(f) for f in felts]),
        "output_hash": "0x" + bytes(keccak(words(felts))).hex(),
    }
    model = svc.link.models.get(card.name) if svc.link is not None else None
    model_id = model.model_id if model is not None else None
    if request_id is not None:
        prior, model_id = check_paid_zk(svc, card, backend, tensors, request_id)
        if prior is not None and prior.stage == "awaiting_input":
            joined = svc.store.update(prior.id, {"awaiting_input"}, stage="ready", **values)
            return joined or svc.store.get(prior.id) or prior
        if prior is not None:
            return prior
    stage = "ready" if model_id is not None else "local"
    rec = ClaimRecord.new(
        card.name, "zk-on-demand", "http", stage=stage, request_id=request_id, model_id=model_id,
        **values,
    )  # fmt: skip
    return _admit(svc, rec)


def join_zk(
    svc: ClaimService, card: ModelCard, rid: int, job_id: str, prior: tuple[ClaimRecord | None, int]
) -> ClaimRecord:
    """The paid zk request's row, now following proof job ``job_id`` (fulfilled once done)."""
    rec, model_id = prior
    if rec is not None:
        joined = svc.store.update(rec.id, {"awaiting_input"}, stage="proving", job_id=job_id)
        return joined or svc.store.get(rec.id) or rec
    new = ClaimRecord.new(
        card.name, "zk", "http", stage="proving", request_id=rid, model_id=model_id, job_id=job_id
    )
    return _admit(svc, new)
