"""A provider's own challengers cannot rescue a wrong claim, and a caught cheater always pays.

On the real registry, escrow and game with the digits CNN: a sock puppet that loses on purpose
leaves the honest watcher's game standing (the claim cannot be finalized while it is open, and
the watcher's win voids it); a puppet that wins on purpose recovers only half the cheater's
bond (the rest is burned) and ends the watcher's game with its bond returned; no game can be
opened on a decided claim.
"""

from __future__ import annotations

from typing import Any

import pytest

from contracts.clients import RequestStatus
from contracts.game_client import GameClient, Phase
from contracts.signer import Signer
from disputes.game.claims import claim_of
from disputes.game.encoding import input_roots
from disputes.game.local import honest, play_local, read_state
from disputes.game.solver import Role, next_move
from disputes.game.view import CorruptOutput, TraceView
from disputes.osp.osp import start_data
from tests.contracts.conftest import Env
from tests.contracts.optimistic_fixture import (
    FEE,
    MIN_BOND,
    Case,
    digits_case,
    register_program,
    reverts,
)

BOND = 10**17


@pytest.fixture(scope="module")
def cnn(registry: Any) -> Case:
    return digits_case(registry, "digits-cnn")


def _wrong_claim(env: Env, case: Case) -> tuple[int, CorruptOutput]:
    p = case.program
    cheat = CorruptOutput(case.trace, 0, 3, 5)
    model_id = register_program(env.registry(env.provider), p)
    rid = env.escrow(env.client).request_optimistic(model_id, case.input, FEE)
    c = claim_of(cheat)
    env.escrow(env.provider).claim(rid, c.output, c.final_checkpoint, c.output_proof, MIN_BOND)
    return rid, cheat


def _open(env: Env, case: Case, rid: int, who: Signer, final: bytes) -> int:
    data = start_data(case.program)
    roots = input_roots(case.program, case.trace.inputs)
    return GameClient(env.w3, env.dep.game, who).open(
        rid, final, roots, data.fill, data.siblings, BOND
    )


def _game(env: Env, who: Signer | None = None) -> GameClient:
    return GameClient(env.w3, env.dep.game, who)


def _run_out(env: Env, gid: int, caller: Signer) -> None:
    """The party to move in game `gid` stays silent past its deadline; `caller` claims it."""
    now = int(env.w3.eth.get_block("latest")["timestamp"])
    env.node.increase_time(max(0, _game(env).get_game(gid).deadline - now) + 1)
    _game(env, caller).timeout(gid)


def test_a_puppet_that_loses_on_purpose_cannot_make_a_wrong_claim_final(
    env: Env, cnn: Case
) -> None:
    puppet, watcher = env.deployer, env.other
    rid, cheat = _wrong_claim(env, cnn)
    n = len(cnn.program.steps)
    puppet_game = _open(env, cnn, rid, puppet, b"\x01" * 32)
    honest_game = _open(env, cnn, rid, watcher, TraceView(cnn.trace).point(n))
    # The provider plays its first move in the puppet's game; the puppet never answers.
    move = next_move(Role.ASSERTER, read_state(_game(env), puppet_game), cheat)
    assert move is not None
    _game(env, env.provider).move(move.fn, move.args)
    _run_out(env, puppet_game, env.provider)
    assert _game(env).resolution_of(puppet_game).winner == env.provider.address  # type: ignore[union-attr]
    # The window is over, but the watcher's game is still open: the claim is not final.
    env.node.increase_time(env.dep.challenge_window + 1)
    with reverts("GamesOpen"):
        env.escrow(env.provider).finalize(rid)
    rec = play_local(
        _game(env, env.provider), _game(env, watcher), honest_game,
        honest(Role.ASSERTER, cheat), honest(Role.CHALLENGER, TraceView(cnn.trace), cnn.trace),
        env.node.increase_time,
    )  # fmt: skip
    assert rec.resolution is not None and rec.resolution.winner == watcher.address
    assert env.escrow().get_request(rid).status == RequestStatus.REFUNDED
    assert env.escrow().credits(env.client.address) == FEE
    assert env.escrow().credits(watcher.address) == MIN_BOND // 2
    with reverts("ClaimNotOpen", rid):
        _open(env, cnn, rid, env.client, b"\x02" * 32)  # a decided claim takes no new game


def test_a_puppet_that_wins_on_purpose_still_costs_the_cheater_half_its_bond(
    env: Env, cnn: Case
) -> None:
    puppet, watcher = env.deployer, env.other
    rid, _ = _wrong_claim(env, cnn)
    n = len(cnn.program.steps)
    honest_game = _open(env, cnn, rid, watcher, TraceView(cnn.trace).point(n))
    puppet_game = _open(env, cnn, rid, puppet, TraceView(cnn.trace).point(n))
    # The provider lets its own puppet win at once, racing the honest watcher.
    _run_out(env, puppet_game, puppet)
    assert env.escrow().get_request(rid).status == RequestStatus.REFUNDED
    assert env.escrow().credits(puppet.address) == MIN_BOND // 2
    assert env.escrow().burned() == MIN_BOND - MIN_BOND // 2  # what the cheat cost, at least
    assert env.escrow().credits(env.client.address) == FEE
    # The watcher's game can only be cancelled now, and its bond comes back whole.
    with reverts("ClaimVoided"):
        _game(env, watcher).timeout(honest_game)
    _game(env, env.client).cancel(honest_game)
    assert _game(env).get_game(honest_game).phase == Phase.CANCELLED
    assert _game(env).credits(watcher.address) == BOND
