"""MiniLM on the real registry, escrow and game: a cheating provider loses at every kind of step.

A sample of corruptions (every step kind at least once, 36 in all, fixed seed): each one is a
real claim by a provider whose run has one wrong element, caught by an honest watcher who opens
a game and plays it to the one-step verifier. Balances are checked after every game.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from contracts.clients import RequestStatus
from contracts.game_client import GameClient, Reason
from disputes.commitments import merkle
from disputes.execution.executor import load_program
from disputes.game.claims import claim_of, request_input
from disputes.game.encoding import input_roots
from disputes.game.local import PlayRecord, honest, play_local
from disputes.game.solver import Role
from disputes.game.view import CorruptOutput, CorruptStep, TraceView
from disputes.osp.osp import start_data
from disputes.tracing.trace import Trace, trace
from tests.contracts.conftest import Env
from tests.contracts.optimistic_fixture import FEE, MIN_BOND, register_program

BOND = 10**17
SAMPLE = 36
SEED = 9


@pytest.fixture(scope="module")
def minilm() -> Trace:
    from models.minilm import tokenize
    from models.registry import Registry

    reg = Registry.default()
    reg.build("minilm-l6")
    program = load_program(reg.onnx_path("minilm-l6"))
    ids, mask = tokenize(["a cheating provider loses its bond"])
    return trace(program, {"input_ids": ids, "attention_mask": mask})


def corruptions(tr: Trace) -> list[tuple[int, int, int]]:
    """(step, row, col): every kind once (its first step), the rest random steps."""
    rng = random.Random(SEED)
    p = tr.program
    first: dict[str, int] = {}
    for i, step in enumerate(p.steps):
        first.setdefault(step.kind, i)
    steps = sorted(first.values())
    others = [i for i in range(len(p.steps)) if i not in steps]
    steps += rng.sample(others, SAMPLE - len(steps))
    out = []
    for i in steps:
        rows = merkle.as_rows(tr.tensor(i))
        out.append((i, rng.randrange(rows.shape[0]), rng.randrange(rows.shape[1])))
    return out


def _claim(env: Env, view: TraceView, model_id: int) -> int:
    rid = env.escrow(env.client).request_optimistic(model_id, request_input(view), FEE)
    c = claim_of(view)
    env.escrow(env.provider).claim(rid, c.output, c.final_checkpoint, c.output_proof, MIN_BOND)
    return rid


def _game(env: Env, tr: Trace, rid: int, cheat: TraceView) -> PlayRecord:
    honest_view = TraceView(tr)
    data = start_data(tr.program)
    roots = input_roots(tr.program, tr.inputs)
    final = honest_view.point(len(tr.program.steps))
    gid = GameClient(env.w3, env.dep.game, env.other).open(
        rid, final, roots, data.fill, data.siblings, BOND
    )
    rec = play_local(
        GameClient(env.w3, env.dep.game, env.provider),
        GameClient(env.w3, env.dep.game, env.other),
        gid,
        honest(Role.ASSERTER, cheat),
        honest(Role.CHALLENGER, honest_view, tr),
        env.node.increase_time,
    )
    assert rec.game_id == gid
    return rec


def test_the_sample_covers_every_step_kind(minilm: Trace) -> None:
    picked = {minilm.program.steps[s].kind for s, _, _ in corruptions(minilm)}
    assert picked == {s.kind for s in minilm.program.steps}
    assert len(corruptions(minilm)) >= 30


def test_every_sampled_corruption_loses_and_the_client_is_refunded(env: Env, minilm: Trace) -> None:
    p = minilm.program
    model_id = register_program(env.registry(env.provider), p, b"\x0b" * 32)
    game = GameClient(env.w3, env.dep.game)
    escrow = env.escrow()
    lost: list[tuple[int, str, Any]] = []
    for k, (step, row, col) in enumerate(corruptions(minilm)):
        cheat = CorruptStep(minilm, step, row, col, delta=1 + k)
        rid = _claim(env, cheat, model_id)
        before_game = game.credits(env.other.address)
        before_escrow = escrow.credits(env.other.address)
        client_before = escrow.credits(env.client.address)
        rec = _game(env, minilm, rid, cheat)
        assert rec.resolution is not None, (step, rec.moves)
        res = rec.resolution
        lost.append((step, p.steps[step].kind, res.reason))
        assert res.winner == env.other.address, (step, p.steps[step].kind, rec.moves)
        assert res.reason == Reason.ONE_STEP, (step, rec.moves)
        assert not rec.errors(), rec.errors()  # the honest challenger never had a move refused
        assert escrow.get_request(rid).status == RequestStatus.REFUNDED
        assert escrow.credits(env.client.address) - client_before == FEE
        assert game.credits(env.other.address) - before_game == BOND
        assert escrow.credits(env.other.address) - before_escrow == MIN_BOND // 2
        moves = [len(rec.gas_of(r)) for r in (Role.ASSERTER, Role.CHALLENGER)]
        assert max(moves) <= 12, (step, moves)
    assert len(lost) == len(corruptions(minilm))


def test_a_wrong_embedding_loses_and_an_honest_claim_is_paid(env: Env, minilm: Trace) -> None:
    p = minilm.program
    model_id = register_program(env.registry(env.provider), p, b"\x0c" * 32)
    cheat = CorruptOutput(minilm, 0, 17, -3)
    rid = _claim(env, cheat, model_id)
    rec = _game(env, minilm, rid, cheat)
    assert rec.resolution is not None and rec.resolution.winner == env.other.address
    honest_view = TraceView(minilm)
    honest_rid = _claim(env, honest_view, model_id)
    env.node.increase_time(env.dep.challenge_window + 1)
    before = env.escrow().credits(env.provider.address)
    env.escrow(env.other).finalize(honest_rid, claim_of(honest_view).output)
    assert env.escrow().get_request(honest_rid).status == RequestStatus.FULFILLED
    assert env.escrow().credits(env.provider.address) - before == FEE + MIN_BOND
