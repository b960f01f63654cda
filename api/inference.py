"""One infer request, start to finish: decode, predict, persist the job, encode the answer.

The evidence a response carries depends on the model's registered mode: ``EVIDENCE`` maps a
mode to the function that makes it durable (a proof job for "zk") and returns the flat
``parameters``. A new mode (optimistic claims, zk on demand) adds an entry here.

Usage::

    answer = run_inference(gw, "digits-mlp", RawInfer(body, header_length=None))
    answer.body, answer.content_type, answer.header_length
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from api.backends import Tensors
from api.deps import Gateway
from api.errors import ApiError, BackendError, BadRequestError
from api.modes.evidence import CLAIM_EVIDENCE, paid_zk
from api.oip.binary import decompress
from api.oip.inputs import Decoded, decode_request
from api.oip.outputs import check_outputs, encode_response
from api.schemas import Parameters
from models.card import ModelCard

__all__ = ["EVIDENCE", "Answer", "RawInfer", "run_inference"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RawInfer:
    """The infer request as received: body and the headers that say how to read it."""

    body: bytes
    header_length: str | None = None
    content_encoding: str | None = None


@dataclass(frozen=True)
class Answer:
    """The encoded response: JSON, or a JSON header plus binary outputs."""

    body: bytes
    content_type: str
    header_length: int | None


Evidence = Callable[[Gateway, ModelCard, Decoded, Tensors], Parameters]


def zk_evidence(gw: Gateway, card: ModelCard, decoded: Decoded, outputs: Tensors) -> Parameters:
    """Persist a proof job for this inference; its id and URL go in the parameters."""
    x = decoded.tensors[card.inputs[0].name]
    y = outputs[card.outputs[0].name]
    gw.worker.reserve()  # refused (503) before anything is persisted when the queue is full
    try:
        # Persisted before the response is sent: an acknowledged request survives a crash.
        job = gw.store.create(card.name, card.commitment, x.ravel().tolist(), y.ravel().tolist())
    except BaseException:
        gw.worker.release()
        raise
    gw.worker.submit(job.id)
    return {
        "verification": "zk",
        "model_commitment": card.commitment,
        "proof_id": job.id,
        "proof_url": f"/v2/models/{card.name}/proofs/{job.id}",
    }


# api.modes imports nothing of this module, so importing it here makes no cycle.
EVIDENCE: dict[str, Evidence] = {"zk": paid_zk(zk_evidence), **CLAIM_EVIDENCE}


def _predict(gw: Gateway, card: ModelCard, decoded: Decoded) -> Tensors:
    try:
        outputs = gw.backends[card.name].predict(decoded.tensors)
    except ApiError:
        raise
    except Exception as exc:  # logged with the request id; the client gets the reason
        log.exception("predict failed for %s", card.name)
        raise BackendError(f"the model {card.name!r} failed on this input: {exc}") from exc
    missing = [o.name for o in card.outputs if o.name not in outputs]
    if missing:
        raise BackendError(f"the backend of {card.name!r} gave no output {missing[0]!r}")
    return {o.name: np.asarray(outputs[o.name]) for o in card.outputs}


def _answer(gw: Gateway, card: ModelCard, raw: RawInfer, times: list[int]) -> Answer:
    body = decompress(raw.body, raw.content_encoding, gw.max_body_bytes)
    decoded = decode_request(body, raw.header_length, card, gw.max_body_bytes)
    check_outputs(decoded.request, card)
    times.append(time.perf_counter_ns())
    outputs = _predict(gw, card, decoded)
    times.append(time.perf_counter_ns())
    evidence = EVIDENCE.get(card.mode)
    if evidence is None:
        raise BadRequestError(
            f"model {card.name!r} is {card.mode}, which this gateway cannot serve"
        )
    params = evidence(gw, card, decoded, outputs)
    rid = decoded.request.id or str(params.get("proof_id") or params.get("claim_id") or "")
    types = gw.output_datatypes(card)
    body, header_length = encode_response(card, decoded.request, outputs, params, rid, types)
    times.append(time.perf_counter_ns())
    kind = "application/octet-stream" if header_length is not None else "application/json"
    return Answer(body, kind, header_length)


def run_inference(gw: Gateway, name: str, raw: RawInfer) -> Answer:
    """Answer one infer request (blocking: run it in a thread); ApiError says what failed."""
    card = gw.card(name)
    times = [time.perf_counter_ns()]
    try:
        answer = _answer(gw, card, raw, times)
    except ApiError as exc:
        gw.stats.fail(name, time.perf_counter_ns() - times[0])
        gw.metrics.inference(name, _outcome(exc))
        raise
    t0, t_in, t_pred, t_out = times
    gw.stats.success(
        name,
        total_ns=t_out - t0,
        input_ns=t_in - t0,
        infer_ns=t_pred - t_in,
        output_ns=t_out - t_pred,
    )
    gw.metrics.inference(name, "ok")
    return answer


def _outcome(exc: Any) -> str:
    return "refused" if getattr(exc, "status_code", 500) in (429, 503) else "rejected"
