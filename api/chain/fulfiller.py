"""The chain fulfiller: post every claim the gateway owes, and see each through to settlement.

One thread, one signer, so one nonce sequence: each pass first settles any transaction a
previous run signed but never saw mined (``Outbox.settle_in_flight``), then moves every open
claim row on (request it on the gateway's own account when no client paid for it; claim with
the model's minimum bond, or with ``batch_size`` > 1 leave optimistic claims to the ``Batcher``
of ``api.chain.batching``, which posts them in one ``claimBatch``; fulfil a zk request once its
proof is made; prove a challenged on-demand claim; finalize an unchallenged one), then reads
new request events, then lets the dispute ``Watcher`` defend our games and finalize our
optimistic claims (a batch leaf with ``finalizeLeaf``). Every transaction goes through the
watcher's ``Outbox`` under a key naming its purpose (``claim:<request id>``), so a crash at any
point, then a restart, sends it at most once; an RPC error ends the pass and the next one comes
after an exponential backoff.

Usage::

    f = Fulfiller.for_gateway(svc, gw, link)
    f.poll()                                # one pass (tests); f.run(stop) loops
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from web3.logs import DISCARD

from api.chain.batching import Batcher
from api.chain.follow import follow
from api.chain.link import ChainLink, ChainModel, state_of
from api.errors import OverloadedError
from api.metrics import Metrics
from api.modes.executor import ExecutorBackend
from api.modes.store import ClaimRecord, ClaimStore
from contracts.bindings import TxResult
from contracts.errors import ContractRevert, RpcError
from contracts.records import ZERO_ADDRESS, RequestStatus
from disputes.game.batch import Response
from disputes.game.outbox import Call, ChainSender
from disputes.game.session import explain
from disputes.game.store import ClaimRecord as GameClaim
from disputes.game.traces import Programs
from disputes.game.watch import Watcher
from prover.bundle import ProofBundle
from verinfer.errors import VerinferError

if TYPE_CHECKING:
    from api.deps import Gateway
    from api.modes.service import ClaimService

__all__ = ["Fulfiller", "PassReport"]

log = logging.getLogger(__name__)
INTERVAL_S = 1.0
MAX_BACKOFF_S = 30.0


class MeteredSender(ChainSender):
    """The watcher's sender, counting the gas of every transaction (ours and its moves)."""

    def __init__(self, inner: ChainSender, metrics: Metrics) -> None:
        super().__init__(inner.outbox, inner.contracts)
        self.metrics = metrics
        self._seen: set[str] = set()  # a key already mined returns its old receipt again

    def send(
        self, key: str, call: Call, *, game_id: int | None = None, request_id: int | None = None
    ) -> TxResult:
        tx = super().send(key, call, game_id=game_id, request_id=request_id)
        if tx.tx_hash not in self._seen:
            self._seen.add(tx.tx_hash)
            self.metrics.gas_used(call.fn, tx.gas_used, tx.fee_wei)
        return tx


@dataclass
class PassReport:
    """What one pass did: claims posted, rows settled or failed, requests picked up."""

    posted: list[int] = field(default_factory=list)
    settled: list[int] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    followed: list[int] = field(default_factory=list)


class Fulfiller:
    """Moves the claim rows of one gateway on the chain (see the module doc)."""

    def __init__(
        self,
        svc: ClaimService,
        link: ChainLink,
        watcher: Watcher,
        *,
        self_request: bool = True,
        interval_s: float = INTERVAL_S,
        from_block: int = 0,
        batch_size: int = 1,
        batch_wait_s: float = 30.0,
    ) -> None:
        self.svc, self.link, self.watcher = svc, link, watcher
        self.self_request, self.interval_s, self.from_block = self_request, interval_s, from_block
        # Size 1: one claim per response; above it optimistic claims go out in claimBatch.
        self.batcher = Batcher(self, batch_size, batch_wait_s) if batch_size > 1 else None
        self.cursor = f"fulfil:{link.dep.escrow}:{link.address}"
        self.escrow = link.escrow()
        self._steps: dict[str, Callable[[ClaimRecord, PassReport], None]] = {
            "awaiting_input": self._waiting,
            "ready": self._post,
            "proving": self._proven,
            "claimed": self._watch,
        }

    @classmethod
    def for_gateway(
        cls, svc: ClaimService, gw: Gateway, link: ChainLink, *, challenge: bool = False, **kw: Any
    ) -> Fulfiller:
        """A fulfiller whose watcher re-executes with the gateway's own loaded programs."""
        programs = Programs.of(
            **{n: b.program for n, b in gw.backends.items() if isinstance(b, ExecutorBackend)}
        )
        watcher = Watcher.connect(
            link.w3,
            link.dep,
            link.signer,
            link.store,
            programs,
            challenge=challenge,
            log=log.info,
            responses=lambda rid: _stored_response(svc.store, rid),
        )
        sender = watcher.agent.sender
        assert isinstance(sender, ChainSender)
        watcher.agent.sender = MeteredSender(sender, svc.metrics)  # one sender: one nonce line
        return cls(svc, link, watcher, **kw)

    @property
    def store(self) -> ClaimStore:
        return self.svc.store

    @property
    def sender(self) -> ChainSender:
        sender = self.watcher.agent.sender
        assert isinstance(sender, ChainSender)
        return sender

    # ---- the loop ----

    def run(self, stop: threading.Event) -> None:
        """Pass after pass until ``stop``; RPC or store errors back off, never end the loop."""
        pause = self.interval_s
        while not stop.is_set():
            try:
                self.poll()
                pause = self.interval_s
            except VerinferError as exc:  # the node or the store went away for a while
                log.warning("fulfiller pass failed (%s); retrying in %.1fs", exc, pause)
                pause = min(pause * 2, MAX_BACKOFF_S)
            except Exception:  # a bug must not stop the gateway from settling its claims
                log.exception("fulfiller pass crashed")
                pause = min(pause * 2, MAX_BACKOFF_S)
            stop.wait(pause)

    def poll(self) -> PassReport:
        """One pass: in-flight transactions, every open row, new requests, our games."""
        report = PassReport()
        self.sender.outbox.settle_in_flight()
        for rec in self.store.in_stage("awaiting_input", "ready", "proving", "claimed"):
            self._advance(rec, report)
        if self.batcher is not None:
            self.batcher.post_due(report)
        for rec in follow(self.link, self.store, self.cursor, self.from_block):
            report.followed.append(rec.request_id or 0)
            if rec.stage == "tracing":
                self.svc.enqueue(rec.id)
        self.watcher.poll()
        return report

    def _advance(self, rec: ClaimRecord, report: PassReport) -> None:
        try:
            self._steps[rec.stage](rec, report)
        except ContractRevert as exc:  # deterministic: retrying cannot make it succeed
            self._failed(rec, explain(exc), report)
        except OverloadedError as exc:  # the proving queue is full: try again next pass
            log.info("claim %s waits: %s", rec.id, exc)
        except RpcError:
            raise  # the pass ends; the next one retries this row after the backoff
        except VerinferError as exc:
            self._failed(rec, str(exc), report)

    def _failed(self, rec: ClaimRecord, error: str, report: PassReport) -> None:
        log.warning("claim %s (request %s) failed: %s", rec.id, rec.request_id, error)
        self.store.update(rec.id, None, stage="failed", state="failed", error=error)
        report.failed.append(rec.id)

    def _send(self, key: str, call: Call, rid: int | None) -> TxResult:
        return self.sender.send(key, call, request_id=rid)  # metered by MeteredSender

    def _event(self, name: str, tx: TxResult) -> Any:
        events = self.escrow.contract.events[name]()
        logs = events.process_receipt({"logs": tx.logs}, errors=DISCARD)
        if not logs:
            raise VerinferError(f"transaction {tx.tx_hash} emitted no {name} event")
        return logs[0]["args"]

    def _model(self, rec: ClaimRecord) -> ChainModel:
        model = self.link.model_of(rec.model_id or 0)
        if model is None:
            raise VerinferError(f"model id {rec.model_id} is not one of this gateway's")
        return model

    # ---- awaiting_input: a paid zk request whose input never came ----

    def _waiting(self, rec: ClaimRecord, report: PassReport) -> None:
        info = self.escrow.get_request(rec.request_id or 0)
        if info.status != RequestStatus.OPEN:  # refunded after its deadline, say
            state = state_of(info.status, 0, ZERO_ADDRESS)
            self.store.update(rec.id, {"awaiting_input"}, stage="settled", state=state)
            report.settled.append(rec.request_id or 0)

    # ---- ready: request (if nobody paid) and claim ----

    def _post(self, rec: ClaimRecord, report: PassReport) -> None:
        rid = rec.request_id if rec.request_id is not None else self._request(rec)
        if rid is None:
            return
        if rec.mode == "zk" or (rec.mode == "optimistic" and self.batcher is not None):
            return  # a zk request waits for its proof job; a batched claim for its batch
        bond = self._model(rec).min_bond
        if rec.mode == "optimistic":
            proof = [
                bytes.fromhex(p.removeprefix("0x")) for p in json.loads(rec.output_proof or "[]")
            ]
            final = bytes.fromhex((rec.final_checkpoint or "").removeprefix("0x"))
            call = Call("escrow", "claim", (rid, rec.output, final, proof), bond)
            tx = self._send(f"claim:{rid}", call, rid)
            window_end = int(self._event("Claimed", tx)["windowEnd"])
            self._judged(rec, rid, window_end, tx.block_number)
        else:
            outputs = [int(v) for v in json.loads(rec.outputs or "[]")]
            call = Call("escrow", "claimOnDemand", (rid, outputs), bond)
            tx = self._send(f"claim:{rid}", call, rid)
            window_end = int(self._event("OnDemandClaimed", tx)["windowEnd"])
        self.store.update(
            rec.id,
            {"ready"},
            stage="claimed",
            state="claimed",
            challenge_deadline=window_end,
            bond=str(bond),
            claim_tx=tx.tx_hash,
        )
        report.posted.append(rid)

    def _judged(self, rec: ClaimRecord, rid: int, window_end: int, block: int) -> None:
        """Tell the watcher our claim is right: P_n is our own worker's trace.

        Without this it would re-execute the claim in this process (seconds of CPU next to
        the event loop) only to find what the worker already computed.
        """
        me, final = self.link.address, rec.final_checkpoint or ""
        seen = GameClaim(rid, me, rec.model_id or 0, me, final, final, "right", window_end, block)
        if self.link.store.claim(rid, me) is None:
            self.link.store.save_claim(replace(seen, note="ours"))

    def _request(self, rec: ClaimRecord) -> int | None:
        """Pay for an HTTP answer's request on our own account, so its claim is public."""
        if not self.self_request:
            self.store.update(rec.id, {"ready"}, stage="local")
            return None
        model = self._model(rec)
        if rec.mode == "optimistic":
            args = (model.model_id, rec.input_data, model.fee, ZERO_ADDRESS, 0)
            call, event = (
                Call("escrow", "requestOptimistic", args, model.fee),
                "OptimisticRequested",
            )
        else:
            h = bytes.fromhex((rec.input_hash or "").removeprefix("0x"))
            call, event = (
                Call("escrow", "request", (model.model_id, h, model.fee), model.fee),
                "Requested",
            )
        tx = self._send(f"request:{rec.id}", call, None)
        rid = int(self._event(event, tx)["requestId"])
        self.store.update(rec.id, {"ready"}, request_id=rid)
        return rid

    # ---- proving: a zk fulfil, or the proof a challenged on-demand claim owes ----

    def _proven(self, rec: ClaimRecord, report: PassReport) -> None:
        rid = rec.request_id
        assert rid is not None
        if rec.mode == "zk-on-demand":
            info = self.escrow.get_claim(rid)
            state = state_of(info.status, info.open_games, info.challenger)
            if state in ("final", "lost"):  # e.g. timed out while the proof ran
                self._settle(rec, state, report)
                return
        jobs, _ = self._jobs()
        job = jobs.get(rec.job_id or "")
        if job.status in ("pending", "proving"):
            return
        if job.status == "failed":
            raise VerinferError(f"the proof failed: {job.error}")
        proof, instances = ProofBundle.model_validate(job.proof).calldata()
        fn = "fulfill" if rec.mode == "zk" else "proveOnDemand"
        self._send(f"{fn}:{rid}", Call("escrow", fn, (rid, proof, instances)), rid)
        self._settle(rec, "final", report)

    def _jobs(self) -> Any:
        if self.svc.jobs is None:
            raise VerinferError("this gateway has no proof worker")
        return self.svc.jobs

    def _prove(self, rec: ClaimRecord) -> None:
        """Start the proof a challenged on-demand claim needs (persisted before it runs)."""
        jobs, worker = self._jobs()
        inputs = json.loads(rec.inputs or "[]")
        worker.reserve()
        try:
            # The claimed outputs are the row's field elements; the proof carries its own.
            job = jobs.create(rec.model, self.svc.commitment(rec.model), inputs, [])
        except BaseException:
            worker.release()
            raise
        worker.submit(job.id)
        self.store.update(rec.id, {"claimed"}, stage="proving", state="challenged", job_id=job.id)

    # ---- claimed: follow the claim until it is final or lost ----

    def _watch(self, rec: ClaimRecord, report: PassReport) -> None:
        rid = rec.request_id
        assert rid is not None
        info = self.escrow.get_claim(rid)
        state = state_of(info.status, info.open_games, info.challenger)
        if state in ("final", "lost"):
            self._settle(rec, state, report)
        elif rec.mode == "zk-on-demand" and state == "challenged":
            self._prove(rec)
        elif rec.mode == "zk-on-demand" and self.link.now() > info.window_end:
            outputs = [int(v) for v in json.loads(rec.outputs or "[]")]
            packed = b"".join(v.to_bytes(32, "big") for v in outputs)
            self._send(f"finalize:{rid}", Call("escrow", "finalize", (rid, packed)), rid)
            self._settle(rec, "final", report)
        elif state != rec.state:
            self.store.update(rec.id, {"claimed"}, state=state)

    def _settle(self, rec: ClaimRecord, state: str, report: PassReport) -> None:
        self.store.update(rec.id, None, stage="settled", state=state)
        report.settled.append(rec.request_id or 0)
        # The optimistic watcher withdraws after its own finalize; on-demand fees are ours.
        if rec.mode != "optimistic" and self.escrow.credits(self.link.address) > 0:
            self._send(f"withdraw:escrow:{rec.request_id}", Call("escrow", "withdraw"), None)


def _stored_response(store: ClaimStore, request_id: int) -> Response | None:
    rec = store.by_request(request_id)
    return rec.response() if rec is not None else None
