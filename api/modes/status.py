"""What a claim looks like from outside: the infer response's flat parameters, and its status.

The status is live: for a claim on chain the escrow is read at each request (claimed,
challenged, final, lost), and the body carries what a watcher needs to re-execute the request
and check the claim itself (request id, input bytes and roots, program root, output, output
root, ``P_n``, the output proof, the challenge deadline and the game ids; for a batched claim
the batch id and its leaf's index and proof).

Usage::

    params = parameters(rec, card)                 # {"verification": "optimistic", ...}
    code, body = describe(svc, rec, program)       # 202 while pending, else 200
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from api.chain.link import state_of
from api.modes.service import ClaimService
from api.modes.store import ClaimRecord
from api.schemas import Parameters
from contracts.errors import ChainError
from disputes.game.encoding import BE32, input_roots, inputs_from_bytes
from disputes.program.ir import Program
from models.card import ModelCard

__all__ = ["claim_url", "describe", "parameters", "public_state"]

LIVE_STAGES = ("claimed", "proving")


def claim_url(rec: ClaimRecord) -> str:
    return f"/v2/models/{rec.model}/claims/{rec.id}"


def parameters(rec: ClaimRecord, card: ModelCard) -> Parameters:
    """The flat ``parameters`` of an optimistic or on-demand answer."""
    p: Parameters = {
        "verification": rec.mode,
        "model_commitment": card.commitment,
        "claim_id": rec.id,
        "claim_url": claim_url(rec),
        "claim_status": public_state(rec),
    }
    if rec.mode == "optimistic":
        p["output_root"] = rec.output_root or ""
        p["final_checkpoint"] = rec.final_checkpoint or ""  # "" until the trace is done
    else:
        p["output_hash"] = rec.output_hash or ""
    p["challenge_deadline"] = rec.challenge_deadline or 0  # 0 until the claim is on chain
    if rec.request_id is not None:
        p["request_id"] = rec.request_id
    return p


def public_state(rec: ClaimRecord) -> str:
    """pending, claimed, challenged, final, lost (or failed) as last stored."""
    return "failed" if rec.stage == "failed" else rec.state


def _live(svc: ClaimService, rec: ClaimRecord, body: dict[str, Any]) -> None:
    link, rid = svc.link, rec.request_id
    if link is None or rid is None or rec.stage not in (*LIVE_STAGES, "settled"):
        return
    try:
        if rec.stage in LIVE_STAGES:
            info = link.escrow().get_claim(rid)
            body["status"] = state_of(info.status, info.open_games, info.challenger)
            body["challenge_deadline"] = info.window_end or body["challenge_deadline"]
            body["open_games"] = info.open_games
            body["challenger"] = info.challenger
        if rec.mode == "optimistic":
            body["game_ids"] = link.game().games_of(rid)
    except ChainError as exc:  # the stored state stands; say why it may be stale
        body["chain_error"] = str(exc)


def _input(rec: ClaimRecord, program: Program | None) -> dict[str, Any]:
    if rec.input_data is None:
        return {"input_hash": rec.input_hash}
    out: dict[str, Any] = {"input": rec.input_data.hex()}
    if program is not None:
        roots = input_roots(program, inputs_from_bytes(program, rec.input_data))
        out["input_roots"] = ["0x" + r.hex() for r in roots]
        out["program_root"] = "0x" + program.program_root.hex()
    return out


def _output(rec: ClaimRecord) -> dict[str, Any]:
    if rec.mode != "optimistic":
        felts = json.loads(rec.outputs) if rec.outputs else None
        return {"outputs": felts, "output_hash": rec.output_hash}
    values = np.frombuffer(rec.output, dtype=BE32).tolist() if rec.output else None
    return {
        "output": rec.output.hex() if rec.output else None,
        "output_values": values,
        "output_root": rec.output_root,
        "final_checkpoint": rec.final_checkpoint,
        "output_proof": json.loads(rec.output_proof) if rec.output_proof else None,
        "batch_id": rec.batch_id,
        "leaf": _leaf(rec),
    }


def _leaf(rec: ClaimRecord) -> dict[str, Any] | None:
    """A batched claim's leaf: what ``openLeaf`` / ``finalizeLeaf`` take with ``P_n``."""
    if rec.batch_id is None or rec.batch_index is None:
        return None
    return {"index": rec.batch_index, "proof": json.loads(rec.batch_proof or "[]")}


def describe(
    svc: ClaimService, rec: ClaimRecord, program: Program | None = None
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of ``GET .../claims/{id}``: 202 while it is not yet on chain."""
    body: dict[str, Any] = {
        "claim_id": rec.id,
        "model": rec.model,
        "model_commitment": svc.commitment(rec.model),
        "verification": rec.mode,
        "status": public_state(rec),
        "stage": rec.stage,
        "source": rec.source,
        "request_id": rec.request_id,
        "model_id": rec.model_id,
        "escrow": svc.link.dep.escrow if svc.link is not None else None,
        **_input(rec, program),
        **_output(rec),
        "challenge_deadline": rec.challenge_deadline,
        "bond": int(rec.bond) if rec.bond else None,
        "claim_tx": rec.claim_tx,
        "proof_id": rec.job_id,
        "error": rec.error,
    }
    _live(svc, rec, body)
    if rec.stage == "local":
        body["note"] = _local_note(svc)
    if rec.stage == "tracing":
        body["queue_position"] = svc.queue_position(rec.id)
    pending = body["status"] == "pending" and rec.stage not in ("local", "failed")
    return (202 if pending else 200), body


def _local_note(svc: ClaimService) -> str:
    if svc.fulfiller is not None and not svc.fulfiller.self_request:
        return (
            "not posted: this gateway claims only paid requests (VERINFER_SELF_REQUEST=false); "
            "pay a request and name it in parameters.request_id to have an answer claimed"
        )
    return "this gateway has no chain (or the model is not registered): not posted"
