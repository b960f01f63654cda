"""The optimistic half of `verinfer demo`: MiniLM with a bonded claim, a cheat caught, a claim paid.

On the demo's chain: MiniLM is registered as an optimistic model; a client asks for an
embedding; a provider whose run has one wrong number deep inside the network claims it with a
bond; a watcher (the real ``verinfer watch`` loop, in-process) re-executes the request, sees the
wrong final checkpoint, opens a game and plays it to the one-step verifier while the cheater
answers as well as it can; the client is refunded and the bond moves to the watcher. Then an
honest claim on a second request survives the watcher's check and is paid after the window.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web3 import Web3

from contracts.clients import EscrowClient, RegistryClient
from contracts.errors import ContractRevert
from contracts.game_client import GameClient
from contracts.signer import Signer
from disputes.game.claims import claim_of, request_input
from disputes.game.local import read_state
from disputes.game.register import register_program
from disputes.game.solver import Role, next_move, role_to_move
from disputes.game.store import GameStore
from disputes.game.traces import Programs
from disputes.game.view import CorruptStep, TraceView
from disputes.game.watch import Watcher
from disputes.program.ir import Program
from disputes.tracing.trace import Trace, trace
from verinfer.db import sqlite_url

FEE_WEI = Web3.to_wei(0.01, "ether")
BOND_WEI = Web3.to_wei(0.1, "ether")
SENTENCE = "Verifiable inference lets anyone check a model's answer."
MAX_ROUNDS = 200


@dataclass
class Optimistic:
    """The demo chain as the optimistic story needs it."""

    w3: Web3
    dep: Any
    node: Any
    provider: Signer
    client: Signer
    watcher: Signer

    def escrow(self, who: Signer | None = None) -> EscrowClient:
        return EscrowClient(self.w3, self.dep.escrow, who)

    def game(self, who: Signer | None = None) -> GameClient:
        return GameClient(self.w3, self.dep.game, who)


def _minilm() -> tuple[Program, Trace]:
    from disputes.execution.executor import load_program
    from models.minilm import tokenize
    from models.registry import Registry

    reg = Registry.default()
    reg.build("minilm-l6")
    program = load_program(reg.onnx_path("minilm-l6"))
    ids, mask = tokenize([SENTENCE])
    return program, trace(program, {"input_ids": ids, "attention_mask": mask})


def _claim(o: Optimistic, view: TraceView, model_id: int) -> int:
    """The client's request and the provider's bonded claim of ``view``'s run."""
    rid = o.escrow(o.client).request_optimistic(model_id, request_input(view), FEE_WEI)
    c = claim_of(view)
    o.escrow(o.provider).claim(rid, c.output, c.final_checkpoint, c.output_proof, BOND_WEI)
    return rid


def _cheater_moves(o: Optimistic, gid: int, cheat: TraceView) -> bool:
    """The cheating provider's move when it is its turn (False once it has none to make)."""
    state = read_state(o.game(), gid)
    if state.info.phase.over or role_to_move(state.info.phase) != Role.ASSERTER:
        return True
    move = next_move(Role.ASSERTER, state, cheat)
    if move is None:
        return False
    try:
        o.game(o.provider).move(move.fn, move.args)
    except ContractRevert:  # a cheat that cannot answer consistently must wait out its clock
        return False
    return True


def _play_out(o: Optimistic, watcher: Watcher, rid: int, cheat: TraceView) -> int:
    """Poll the watcher and let the cheater answer until the watcher's game is over."""
    for _ in range(MAX_ROUNDS):
        watcher.poll()
        games = o.game().games_of(rid)
        if not games:
            continue
        gid = games[0]
        if o.game().get_game(gid).phase.over:
            return gid
        if not _cheater_moves(o, gid, cheat):
            o.node.increase_time(o.dep.move_timeout + 1)  # the cheater's clock runs out
    raise AssertionError(f"the game on request {rid} did not end in {MAX_ROUNDS} rounds")


def run_optimistic(o: Optimistic, n: Any) -> None:
    """Tell the optimistic story on the demo's chain (see the module doc)."""
    program, tr = _minilm()
    reg = RegistryClient(o.w3, o.dep.registry, o.provider)
    model_id = register_program(reg, program, program.program_root, FEE_WEI, BOND_WEI)
    n.step(
        "minilm-l6: registered as an optimistic model",
        model_id=model_id,
        steps=len(program.steps),
        program_root="0x" + program.program_root.hex(),
        min_bond_wei=BOND_WEI,
        dispute_game=o.dep.game,
    )
    with tempfile.TemporaryDirectory() as tmp:
        store = GameStore(sqlite_url(Path(tmp) / "watcher.db"))
        watcher = Watcher.connect(o.w3, o.dep, o.watcher, store, Programs.of(minilm=program))
        _caught(o, watcher, tr, model_id, n)
        _honest(o, watcher, tr, model_id, n)


def _caught(o: Optimistic, watcher: Watcher, tr: Trace, model_id: int, n: Any) -> None:
    step = len(tr.program.steps) // 2
    cheat = CorruptStep(tr, step, 0, 0, delta=1000)
    esc, game = o.escrow(), o.game()
    # The zk half of the demo may already have credited these accounts: report what this
    # game moved, not the running totals.
    before = {
        "client": esc.credits(o.client.address),
        "watcher": esc.credits(o.watcher.address),
        "bond": game.credits(o.watcher.address),
        "burned": esc.burned(),
    }
    rid = _claim(o, cheat, model_id)
    n.step(
        "minilm-l6: a cheating provider claims a wrong embedding with a bond",
        request_id=rid,
        wrong_step=f"{step} ({tr.program.steps[step].kind}), one number off by 1000",
        bond_wei=BOND_WEI,
    )
    gid = _play_out(o, watcher, rid, cheat)
    res = game.resolution_of(gid)
    assert res is not None
    n.step(
        "minilm-l6: the watcher caught it; the client is refunded and the bond moved",
        game_id=gid,
        winner="watcher" if res.winner == o.watcher.address else res.winner,
        decided_by=res.reason.name.lower(),
        request_status=esc.get_request(rid).status.name.lower(),
        client_refund_wei=esc.credits(o.client.address) - before["client"],
        watcher_reward_wei=esc.credits(o.watcher.address) - before["watcher"],
        watcher_bond_back_wei=game.credits(o.watcher.address) - before["bond"],
        burned_wei=esc.burned() - before["burned"],
    )
    if res.winner != o.watcher.address:
        raise AssertionError("the cheating provider won its game")


def _honest(o: Optimistic, watcher: Watcher, tr: Trace, model_id: int, n: Any) -> None:
    view = TraceView(tr)
    rid = _claim(o, view, model_id)
    report = watcher.poll()
    opened = o.game().games_of(rid)
    o.node.increase_time(o.dep.challenge_window + 1)
    before = o.escrow().credits(o.provider.address)
    o.escrow(o.client).finalize(rid, claim_of(view).output)
    n.step(
        "minilm-l6: an honest claim passes the watcher's check and is paid after the window",
        request_id=rid,
        watcher_checked=rid in report.claims,
        games_opened=len(opened),
        finalized=o.escrow().is_finalized(rid),
        provider_credited_wei=o.escrow().credits(o.provider.address) - before,
    )
