"""Whole games against the real ModelRegistry and InferenceEscrow (the session deployment):
the game reads the registered program and the escrow's claim, and its verdict settles the
claim there (void and refund, or final after the window)."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.clients import RequestStatus
from contracts.game_client import GameClient, Reason
from disputes.commitments import merkle
from disputes.game.encoding import output_bytes
from disputes.game.local import honest
from disputes.game.solver import Role
from disputes.game.view import CorruptOutput, TraceView
from tests.contracts.conftest import Env
from tests.contracts.game.bed import open_game, play_session
from tests.contracts.game.liars import liar
from tests.contracts.optimistic_fixture import FEE, MIN_BOND, Case, digits_case, register_program

BOND = 10**17


@pytest.fixture(scope="module")
def cnn(registry: Any) -> Case:
    return digits_case(registry, "digits-cnn")


def _claim(env: Env, case: Case, view: TraceView) -> int:
    p, n = case.program, len(case.program.steps)
    model_id = register_program(env.registry(env.provider), p)
    rid = env.escrow(env.client).request_optimistic(model_id, case.input, FEE)
    out_step = p.output_slot - p.first_step_slot
    output = output_bytes(view.rows(out_step).reshape(p.steps[out_step].shape))
    proof = merkle.checkpoint_proof(view.slot_roots(), p.n_slots, p.output_slot)
    env.escrow(env.provider).claim(rid, output, view.point(n), proof, MIN_BOND)
    return rid


def _open(env: Env, case: Case, rid: int, final: bytes) -> int:
    game = GameClient(env.w3, env.dep.game, env.other)  # a watcher, not the paying client
    return open_game(game, rid, case.trace, final, BOND)


def test_a_wrong_output_is_voided_on_the_escrow(env: Env, cnn: Case) -> None:
    cheat, mine = CorruptOutput(cnn.trace, 0, 4, 2), TraceView(cnn.trace)
    rid = _claim(env, cnn, cheat)
    n = len(cnn.program.steps)
    gid = _open(env, cnn, rid, mine.point(n))
    esc, game = env.escrow(), GameClient(env.w3, env.dep.game)
    assert esc.get_claim(rid).open_games == 1
    reason = play_session(env, gid, honest(Role.ASSERTER, cheat), honest(Role.CHALLENGER, mine))
    assert reason == Reason.ONE_STEP
    claim = esc.get_claim(rid)
    assert claim.status == RequestStatus.REFUNDED and claim.open_games == 0
    assert esc.credits(env.client.address) == FEE  # the client's payment back
    assert esc.credits(env.other.address) == MIN_BOND // 2  # half the provider's bond
    assert game.credits(env.other.address) == BOND  # the challenger's own bond back


def test_a_true_claim_survives_a_lying_challenger_and_finalizes(env: Env, cnn: Case) -> None:
    mine = TraceView(cnn.trace)
    rid = _claim(env, cnn, mine)
    gid = _open(env, cnn, rid, b"\x07" * 32)
    reason = play_session(env, gid, honest(Role.ASSERTER, mine), liar(cnn.trace))
    assert reason == Reason.ONE_STEP
    game = GameClient(env.w3, env.dep.game)
    assert game.credits(env.provider.address) == BOND // 2 and game.burned() == BOND // 2
    esc = env.escrow()
    assert esc.get_claim(rid).status == RequestStatus.CLAIMED
    env.node.increase_time(env.dep.challenge_window + 1)
    env.escrow(env.other).finalize(rid)
    assert esc.get_request(rid).status == RequestStatus.FULFILLED
