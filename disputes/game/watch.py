"""The watcher: follow new claims, re-execute each, challenge the wrong ones, defend our own.

One pass (``poll``) reads the ``Claimed``, ``ClaimedBatch`` and ``GameOpened`` events since the
stored block cursor, checks every new claim (each leaf of a batch is one) against this
machine's own re-execution (is the claimed ``P_n`` the honest one?), opens a game with the
model's minimum bond on each wrong claim, takes up the defence of every game opened on a claim
we made, makes one step in every game we play, and finalizes our own claims whose window passed
with no game open. A wrong batch leaf is opened (``openLeaf``) before its game; after winning
one, the watcher also credits the rest of that voided batch to its clients (``refundBatched``).
Everything it decides is in the store before it acts, so a watcher restarted after a crash
carries on where it stopped.

Usage::

    watcher = Watcher.connect(w3, deployment, signer, GameStore.from_settings(), Programs.built())
    watcher.run(stop=threading.Event())          # or watcher.poll() once
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from web3 import Web3

from contracts.bindings import Deployment, call
from contracts.clients import BatchClaim, EscrowClient, RegistryClient, batch_claim_of
from contracts.errors import ContractRevert
from contracts.game_client import GameClient, game_error_table
from contracts.records import ZERO_ADDRESS, RequestStatus
from contracts.signer import Signer
from disputes.errors import AgentError
from disputes.game.agent import Agent
from disputes.game.batch import Batch, Response
from disputes.game.encoding import BE32
from disputes.game.outbox import Call
from disputes.game.store import ClaimRecord, GameRecord, GameStore, Role, Verdict
from disputes.game.traces import Programs, RequestTraces
from disputes.game.view import TraceView
from verinfer.errors import VerinferError

Log = Callable[[str], None]
DEFAULT_INTERVAL_S = 1.0
MAX_DIFFERENCES = 8
MAX_BLOCKS = 2000  # blocks of events read per poll


@dataclass(frozen=True)
class ClaimCheck:
    """A claim next to this machine's re-execution of its request."""

    request_id: int
    model: str
    model_id: int
    provider: str
    status: RequestStatus
    window_end: int
    open_games: int
    claimed: bytes
    honest: bytes
    claimed_output: list[int]
    honest_output: list[int]

    @property
    def right(self) -> bool:
        """The claimed P_n is the honest one (the output is bound to it on-chain)."""
        return self.claimed == self.honest

    def differences(self, limit: int = MAX_DIFFERENCES) -> list[tuple[int, int, int]]:
        """(flat index, claimed, honest) of the first output values that differ."""
        pairs = zip(self.claimed_output, self.honest_output, strict=False)
        return [(i, c, h) for i, (c, h) in enumerate(pairs) if c != h][:limit]

    def record(self, watcher: str, block: int = 0) -> ClaimRecord:
        """`watcher`'s store row for this claim (seen at `block`, 0 when not from an event)."""
        verdict: Verdict = "right" if self.right else "wrong"
        ours = "ours" if self.provider.lower() == watcher.lower() else ""
        return ClaimRecord(self.request_id, watcher, self.model_id, self.provider,
                           "0x" + self.claimed.hex(), "0x" + self.honest.hex(), verdict,
                           self.window_end, block, ours)  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready facts: verdict, both checkpoints, and what differs."""
        return {
            "request_id": self.request_id,
            "model": self.model,
            "model_id": self.model_id,
            "provider": self.provider,
            "status": self.status.name.lower(),
            "window_end": self.window_end,
            "open_games": self.open_games,
            "verdict": "right" if self.right else "wrong",
            "claimed_checkpoint": "0x" + self.claimed.hex(),
            "honest_checkpoint": "0x" + self.honest.hex(),
            "output_length": [len(self.claimed_output), len(self.honest_output)],
            "differences": [
                {"index": i, "claimed": c, "honest": h} for i, c, h in self.differences()
            ],
        }


def check_claim(escrow: EscrowClient, traces: RequestTraces, request_id: int) -> ClaimCheck:
    """Re-execute request `request_id` and compare with its claim; sends nothing.

    Usage: ``check_claim(escrow, traces, 7).right``
    """
    claim = escrow.get_claim(request_id)
    if claim.status == RequestStatus.NONE:
        raise AgentError(f"request {request_id} does not exist on escrow {escrow.address}")
    output = escrow.claimed_output(request_id)
    if claim.provider == ZERO_ADDRESS or output is None:
        raise AgentError(
            f"request {request_id} has no optimistic claim (status {claim.status.name.lower()})"
        )
    tr = traces.trace(request_id)
    name, _ = traces.programs.find(tr.program.program_root)
    honest_out = [int(v) for v in np.asarray(tr.output.q).reshape(-1)]
    claimed_out = [int(v) for v in np.frombuffer(output, dtype=BE32)]
    return ClaimCheck(
        request_id, name, claim.model_id, claim.provider, claim.status, claim.window_end,
        claim.open_games, claim.final_checkpoint, tr.checkpoints[-1], claimed_out, honest_out,
    )  # fmt: skip


def open_game(
    agent: Agent, registry: RegistryClient, check: ClaimCheck, now: int, bond: int | None = None
) -> int:
    """Challenge a claim `check` found wrong, with `bond` (default: the model's minimum).

    AgentError for a right claim, a settled one or a closed window; a bond below the minimum
    reverts with the contract's BondTooLow.
    """
    rid = check.request_id
    if check.right:
        raise AgentError(f"claim {rid} is right (its P_n is this machine's): nothing to challenge")
    if check.status != RequestStatus.CLAIMED:
        raise AgentError(f"the claim on request {rid} is {check.status.name.lower()}, not open")
    if now > check.window_end:
        raise AgentError(
            f"the challenge window of claim {rid} closed at {check.window_end} (chain time "
            f"{now}); a game can no longer be opened (WindowClosed)"
        )
    return agent.open(rid, registry.min_bond_of(check.model_id) if bond is None else bond)


@dataclass
class PollReport:
    """What one pass saw and did (also what the log lines say)."""

    claims: list[int] = field(default_factory=list)
    opened: list[int] = field(default_factory=list)
    defending: list[int] = field(default_factory=list)
    moves: list[str] = field(default_factory=list)
    finalized: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Watcher:
    """Follows one deployment's claims and games for one signer (see the module doc)."""

    def __init__(
        self,
        agent: Agent,
        chain: tuple[EscrowClient, GameClient, RegistryClient],
        traces: RequestTraces,
        store: GameStore,
        *,
        challenge: bool = True,
        defend: bool = True,
        finalize: bool = True,
        withdraw: bool = True,
        from_block: int = 0,
        log: Log | None = None,
        responses: Callable[[int], Response | None] | None = None,
    ) -> None:
        self.agent, self.traces, self.store = agent, traces, store
        # Our own answers, as their owner stored them (the gateway's claim rows): finalizing a
        # batched leaf then needs no second run of the model in this process.
        self.responses = responses or (lambda _rid: None)
        self.escrow, self.game, self.registry = chain
        self.challenge, self.defend, self.finalize = challenge, defend, finalize
        self.withdraw, self.from_block = withdraw, from_block
        self.log: Log = log or (lambda _msg: None)
        self.cursor_name = f"watch:{self.escrow.address}:{agent.address}"
        self._errors = game_error_table()

    @classmethod
    def connect(
        cls,
        w3: Web3,
        dep: Deployment,
        signer: Signer,
        store: GameStore,
        programs: Programs,
        **options: Any,
    ) -> Watcher:
        """A watcher on the deployment, signing with `signer` (agent options via `agent=`)."""
        agent = Agent.connect(w3, dep, signer, store, programs, **options.pop("agent", {}))
        escrow = EscrowClient(w3, dep.escrow, signer)
        chain = (escrow, GameClient(w3, dep.game, signer), RegistryClient(w3, dep.registry))
        traces = agent.traces
        assert isinstance(traces, RequestTraces)
        return cls(agent, chain, traces, store, **options)

    @property
    def me(self) -> str:
        return self.agent.address

    def run(self, stop: threading.Event, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        """Poll until `stop` is set; a failing pass is logged and retried, never fatal."""
        while not stop.is_set():
            try:
                self.poll()
            except VerinferError as exc:  # the node went away for a moment, say
                self.log(f"poll failed: {exc}")
            stop.wait(interval_s)

    def poll(self) -> PollReport:
        """One pass: new events, then one step in every game, then our own claims."""
        report = PollReport()
        start = self._start_block()
        # Bounded log queries (public nodes cap their range); a long history takes a few polls.
        end = min(int(self.escrow.w3.eth.block_number), start + MAX_BLOCKS - 1)
        if start <= end:
            self._new_claims(start, end, report)
            self._new_batches(start, end, report)
            self._new_games(start, end, report)
            self.store.set_cursor(self.cursor_name, end)
        self._step_games(report)
        if self.finalize:
            self._finalize_own(report)
        return report

    def _start_block(self) -> int:
        cursor = self.store.cursor(self.cursor_name)
        return self.from_block if cursor is None else cursor + 1

    def _logs(self, contract: Any, event: str, start: int, end: int) -> list[Any]:
        ev = contract.events[event]()
        return list(
            call(
                lambda: ev.get_logs(from_block=start, to_block=end),
                self._errors,
                f"{event} log query",
            )
        )

    # ---- claims ----

    def _new_claims(self, start: int, end: int, report: PollReport) -> None:
        for log in self._logs(self.escrow.contract, "Claimed", start, end):
            rid = int(log["args"]["requestId"])
            report.claims.append(rid)
            self._on_claim(rid, log, report)

    def _on_claim(self, rid: int, log: Any, report: PollReport) -> None:
        args = log["args"]
        if self.store.claim(rid, self.me) is None:
            self.store.save_claim(self._judge(rid, args, int(log["blockNumber"])))
        rec = self.store.claim(rid, self.me)
        assert rec is not None
        self.log(
            f"claim {rid} by {rec.provider}: {rec.verdict}{' ' + rec.note if rec.note else ''}"
        )
        theirs = rec.provider.lower() != self.me.lower()
        if rec.verdict == "wrong" and not theirs:
            self.log(f"WARNING: our own claim {rid} does not match our re-execution")
        if rec.verdict == "wrong" and theirs and self.challenge and not rec.settled:
            self._challenge(rid, report)

    def _judge(self, rid: int, args: Any, block: int) -> ClaimRecord:
        provider, claimed = str(args["provider"]), "0x" + bytes(args["finalCheckpoint"]).hex()
        window_end = int(args["windowEnd"])
        model_id = self.escrow.get_claim(rid).model_id
        try:  # our own claims too: a provider is told when its own claim does not re-execute
            return check_claim(self.escrow, self.traces, rid).record(self.me, block)
        except AgentError as exc:  # e.g. a model not built here: we cannot judge it
            return ClaimRecord(rid, self.me, model_id, provider, claimed, None, "unknown",
                               window_end, block, str(exc))  # fmt: skip

    def _challenge(self, rid: int, report: PollReport) -> None:
        try:
            check = check_claim(self.escrow, self.traces, rid)
            gid = open_game(self.agent, self.registry, check, self.agent.clock.now())
        except (AgentError, ContractRevert) as exc:
            report.errors.append(f"claim {rid}: {exc}")
            self.log(f"cannot challenge claim {rid}: {exc}")
            self.store.mark_settled(rid, self.me)  # nothing more we can do on it
            return
        report.opened.append(gid)
        self.log(f"claim {rid} is wrong: opened game {gid}")

    # ---- batched claims: every leaf is judged like a claim ----

    def _new_batches(self, start: int, end: int, report: PollReport) -> None:
        for log in self._logs(self.escrow.contract, "ClaimedBatch", start, end):
            claim = batch_claim_of(log)
            for rid, final in zip(claim.request_ids, claim.final_checkpoints, strict=True):
                report.claims.append(rid)
                self._on_leaf(claim, rid, final, report)

    def _on_leaf(self, claim: BatchClaim, rid: int, final: bytes, report: PollReport) -> None:
        if self.store.claim(rid, self.me) is None:
            self.store.save_claim(self._judge_leaf(claim, rid, final))
        rec = self.store.claim(rid, self.me)
        assert rec is not None
        self.log(f"claim {rid} (batch {claim.batch_id}) by {rec.provider}: {rec.verdict}")
        theirs = rec.provider.lower() != self.me.lower()
        if rec.verdict == "wrong" and theirs and self.challenge and not rec.settled:
            self._challenge_leaf(claim, rid, report)

    def _judge_leaf(self, claim: BatchClaim, rid: int, final: bytes) -> ClaimRecord:
        honest, note = None, f"batch {claim.batch_id}"
        try:
            honest = self.traces.trace(rid).checkpoints[-1]
        except AgentError as exc:  # a model not built here, an input the executor refuses
            note = f"{note}: {exc}"
        verdict: Verdict = "unknown" if honest is None else "right" if honest == final else "wrong"
        return ClaimRecord(rid, self.me, claim.model_id, claim.provider, "0x" + final.hex(),
                           None if honest is None else "0x" + honest.hex(), verdict,
                           claim.window_end, claim.block, note)  # fmt: skip

    def _challenge_leaf(self, claim: BatchClaim, rid: int, report: PollReport) -> None:
        try:
            if self.agent.clock.now() > claim.window_end:
                raise AgentError(f"the window of batch {claim.batch_id} closed (WindowClosed)")
            if self.escrow.get_claim(rid).status == RequestStatus.BATCHED:
                self._open_leaf(claim, rid)
            gid = self.agent.open(rid, self.registry.min_bond_of(claim.model_id))
        except (AgentError, ContractRevert) as exc:
            report.errors.append(f"claim {rid}: {exc}")
            self.log(f"cannot challenge claim {rid}: {exc}")
            self.store.mark_settled(rid, self.me)
            return
        report.opened.append(gid)
        self.log(f"claim {rid} (batch {claim.batch_id}) is wrong: opened game {gid}")

    def _open_leaf(self, claim: BatchClaim, rid: int) -> None:
        leaf = Batch.of_claim(claim).leaf(rid)
        try:
            self.agent.sender.send(f"open-leaf:{rid}", Call("escrow", "openLeaf", leaf.args()))
        except ContractRevert as exc:
            if exc.name != "AlreadyOpen":  # another watcher opened it first: just play
                raise

    def _refund_batch(self, rid: int) -> None:
        """After a won game on a batch leaf: every client of the voided batch gets its money.

        A public service, not our money: a failure is logged, never stops the poll (anyone,
        the clients included, can send the same call).
        """
        bid = self.escrow.batch_id_of(rid)
        claim = self.escrow.batch_claim(bid) if bid else None
        if claim is None:
            return
        try:
            call = Call("escrow", "refundBatched", (claim.request_ids,))
            self.agent.sender.send(f"refund-batch:{bid}", call)
        except VerinferError as exc:
            self.log(f"batch {bid}: refunding its clients failed ({exc}); anyone may retry")
            return
        self.log(f"batch {bid} voided: its {len(claim.request_ids)} clients credited")

    # ---- games ----

    def _new_games(self, start: int, end: int, report: PollReport) -> None:
        for log in self._logs(self.game.contract, "GameOpened", start, end):
            args = log["args"]
            gid, rid = int(args["gameId"]), int(args["requestId"])
            ours = str(args["asserter"]).lower() == self.me.lower()
            mine = str(args["challenger"]).lower() == self.me.lower()  # e.g. opened by the CLI
            if (ours and not self.defend) or not (ours or mine):
                continue
            if self.store.game(gid, self.me) is None:
                role: Role = "asserter" if ours else "challenger"
                self.store.save_game(GameRecord(gid, self.me, role, rid))
            if ours:
                report.defending.append(gid)
                self.log(f"game {gid} opened on our claim {rid} by {args['challenger']}: defending")

    def _step_games(self, report: PollReport) -> None:
        for rec in self.store.games(player=self.me, status="playing"):
            try:
                result = self.agent.advance(rec.game_id)
            except VerinferError as exc:
                report.errors.append(f"game {rec.game_id}: {exc}")
                self.log(f"game {rec.game_id}: {exc}")
                continue
            if result.moved:
                report.moves.append(f"{rec.game_id}:{result.action}")
                self.log(f"game {rec.game_id}: sent {result.action}")
            if result.info.phase.over:
                self._ended(rec.game_id)

    def _ended(self, gid: int) -> None:
        rec = self.store.game(gid, self.me)
        assert rec is not None
        self.log(f"game {gid} is over: {rec.status}")
        if self.withdraw and not rec.withdrawn:
            got = self.agent.withdraw(gid)
            self.log(f"withdrew {got} wei after game {gid}")
        if rec.status == "won" and rec.role == "challenger":
            self._refund_batch(rec.request_id)

    # ---- our own claims ----

    def _finalize_own(self, report: PollReport) -> None:
        for rec in self.store.claims(watcher=self.me, settled=False):
            if rec.provider.lower() != self.me.lower():
                continue
            info = self.escrow.get_claim(rec.request_id)
            if info.status not in (RequestStatus.CLAIMED, RequestStatus.BATCHED):
                self.store.mark_settled(rec.request_id, self.me)
            elif self.agent.clock.now() > info.window_end and info.open_games == 0:
                self._finalize(rec.request_id, report)

    def _finalize(self, rid: int, report: PollReport) -> None:
        self.agent.sender.send(f"finalize:{rid}", self._finalize_call(rid))
        self.store.mark_settled(rid, self.me)
        report.finalized.append(rid)
        self.log(f"claim {rid} finalized: fee and bond credited")
        if self.withdraw and self.escrow.credits(self.me) > 0:
            self.agent.sender.send(f"withdraw:escrow:claim:{rid}", Call("escrow", "withdraw"))

    def _finalize_call(self, rid: int) -> Call:
        bid = self.escrow.batch_id_of(rid)
        claim = self.escrow.batch_claim(bid) if bid else None
        if claim is None:
            return Call("escrow", "finalize", (rid, self.escrow.claimed_output(rid) or b""))
        # A batched leaf carries no output: finalizeLeaf takes it with its proof against P_n,
        # from the stored answer if we have it, else rebuilt from our trace.
        r = self.responses(rid) or Response.of_view(rid, TraceView(self.traces.trace(rid)))
        args = (*Batch.of_claim(claim).leaf(rid).args(), r.output, r.output_proof)
        return Call("escrow", "finalizeLeaf", args)
