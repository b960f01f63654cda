"""Batched claims against the real DisputeGame, registry and escrow (the session deployment):
a batch of digits-MLP requests with one corrupted leaf is caught through the real game and
voided whole; an honest batch survives a lying challenger and finalizes leaf by leaf; the
in-process watcher judges every leaf, challenges only the wrong one and refunds the batch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from contracts.clients import RequestStatus
from contracts.game_client import GameClient, Phase, Reason
from disputes.game.batch import Batch, BatchBuilder, Response
from disputes.game.local import honest
from disputes.game.solver import Role
from disputes.game.store import GameStore
from disputes.game.traces import Programs
from disputes.game.view import CorruptOutput, TraceView, View
from disputes.game.watch import Watcher
from tests.contracts.conftest import Env
from tests.contracts.game.bed import open_game, play_session
from tests.contracts.game.liars import liar
from tests.contracts.optimistic_fixture import (
    FEE,
    MIN_BOND,
    Case,
    digits_case,
    register_program,
    reverts,
)

N = 4
BAD = 2  # the corrupted leaf
GAME_BOND = 10**17


@pytest.fixture(scope="module")
def cases(registry: Any) -> list[Case]:
    return [digits_case(registry, "digits-mlp", sample=k) for k in range(N)]


def _views(cases: list[Case], bad: int | None) -> list[View]:
    return [CorruptOutput(c.trace, 0, 4, 2) if k == bad else TraceView(c.trace)
            for k, c in enumerate(cases)]  # fmt: skip


def _batched(env: Env, cases: list[Case], views: list[View]) -> tuple[Batch, BatchBuilder]:
    """N requests by the client, claimed in one batch from `views` with the least bond."""
    model_id = register_program(env.registry(env.provider), cases[0].program)
    esc = env.escrow(env.client)
    builder = BatchBuilder(N)
    for c, v in zip(cases, views, strict=True):
        rid = esc.request_optimistic(model_id, c.input, FEE)
        builder.add(Response.of_view(rid, v))
    batch = builder.build()
    env.escrow(env.provider).claim_batch(batch.request_ids, batch.checkpoints, N * MIN_BOND)
    return batch, builder


def _open(env: Env, case: Case, batch: Batch, rid: int, final: bytes) -> int:
    """The watcher (env.other) opens the leaf, then a game on it with its own P_n."""
    env.escrow(env.other).open_leaf(batch.leaf(rid))
    game = GameClient(env.w3, env.dep.game, env.other)
    return open_game(game, rid, case.trace, final, GAME_BOND)


def test_a_corrupted_leaf_loses_the_game_and_voids_the_batch(env: Env, cases: list[Case]) -> None:
    views = _views(cases, BAD)
    batch, builder = _batched(env, cases, views)
    rids, n = list(batch.request_ids), len(cases[0].program.steps)
    mine = TraceView(cases[BAD].trace)
    assert batch.checkpoints[BAD] != mine.point(n)  # the leaf a watcher disputes
    gid = _open(env, cases[BAD], batch, rids[BAD], mine.point(n))
    reason = play_session(
        env, gid, honest(Role.ASSERTER, views[BAD]), honest(Role.CHALLENGER, mine)
    )
    assert reason == Reason.ONE_STEP
    esc, game = env.escrow(env.other), GameClient(env.w3, env.dep.game)
    bond = N * MIN_BOND
    assert game.credits(env.other.address) == GAME_BOND  # the challenger's own bond back
    assert esc.credits(env.other.address) == bond // 2 and esc.burned() == bond // 2
    assert esc.get_batch(esc.batch_id_of(rids[0])).lost
    assert [esc.get_claim(r).status for r in rids] == [RequestStatus.REFUNDED] * N
    env.node.increase_time(env.dep.challenge_window + 1)
    first = builder.response(rids[0])
    with reverts("BatchVoided"):  # even the honest leaves are void
        esc.finalize_leaf(batch.leaf(rids[0]), first.output, first.output_proof)
    esc.refund_batched(rids)
    assert esc.credits(env.client.address) == N * FEE
    assert [esc.get_request(r).status for r in rids] == [RequestStatus.REFUNDED] * N


def test_a_second_game_on_a_voided_batch_is_cancelled(env: Env, cases: list[Case]) -> None:
    views = _views(cases, BAD)
    batch, _ = _batched(env, cases, views)
    rids, n = list(batch.request_ids), len(cases[0].program.steps)
    mine = [TraceView(c.trace) for c in cases]
    other_gid = _open(env, cases[0], batch, rids[0], b"\x07" * 32)  # a game on an honest leaf
    gid = _open(env, cases[BAD], batch, rids[BAD], mine[BAD].point(n))
    assert env.escrow().get_batch(env.escrow().batch_id_of(rids[0])).open_games == 2
    play_session(env, gid, honest(Role.ASSERTER, views[BAD]), honest(Role.CHALLENGER, mine[BAD]))
    game = GameClient(env.w3, env.dep.game, env.client)
    game.cancel(other_gid)  # anyone; its claim is void with the batch
    assert game.get_game(other_gid).phase == Phase.CANCELLED
    assert game.credits(env.other.address) == 2 * GAME_BOND
    assert env.escrow().get_batch(env.escrow().batch_id_of(rids[0])).open_games == 0


def test_an_honest_batch_beats_a_liar_and_finalizes_every_leaf(env: Env, cases: list[Case]) -> None:
    batch, builder = _batched(env, cases, _views(cases, None))
    rids = list(batch.request_ids)
    gid = _open(env, cases[1], batch, rids[1], b"\x07" * 32)
    reason = play_session(
        env, gid, honest(Role.ASSERTER, TraceView(cases[1].trace)), liar(cases[1].trace)
    )
    assert reason == Reason.ONE_STEP
    game = GameClient(env.w3, env.dep.game)
    assert game.credits(env.provider.address) == GAME_BOND // 2
    env.node.increase_time(env.dep.challenge_window + 1)
    esc = env.escrow(env.other)
    for r in rids:
        resp = builder.response(r)
        esc.finalize_leaf(batch.leaf(r), resp.output, resp.output_proof)
        assert esc.get_request(r).status is RequestStatus.FULFILLED
    assert esc.credits(env.provider.address) == N * FEE + N * MIN_BOND


def test_the_watcher_judges_every_leaf_and_refunds_a_lost_batch(
    env: Env, cases: list[Case], tmp_path: Path
) -> None:
    views = _views(cases, BAD)
    batch, _ = _batched(env, cases, views)
    rids = list(batch.request_ids)
    store = GameStore(f"sqlite:///{tmp_path / 'd.db'}")
    programs = Programs.of(**{"digits-mlp": cases[0].program})
    start = int(env.w3.eth.block_number) - 2 * N  # the requests and the batch, nothing older
    watcher = Watcher.connect(env.w3, env.dep, env.other, store, programs, from_block=start)
    report = watcher.poll()
    assert report.claims == rids and report.errors == []
    verdicts = [store.claim(r, env.other.address) for r in rids]
    assert [v.verdict for v in verdicts if v] == ["right", "right", "wrong", "right"]
    game = GameClient(env.w3, env.dep.game)
    (gid,) = report.opened
    assert [game.games_of(r) for r in rids] == [[], [], [gid], []]
    provider = Watcher.connect(env.w3, env.dep, env.provider, store, programs, from_block=start)
    provider.agent.views = lambda role, tr: views[BAD]  # the cheater defends its forged run
    for _ in range(40):
        provider.poll()
        watcher.poll()
        if game.get_game(gid).phase.over:
            break
        env.node.increase_time(1)
    assert game.resolution_of(gid) is not None
    watcher.poll()  # sees the end: withdraws and credits the voided batch's clients
    esc = env.escrow()
    assert [esc.get_request(r).status for r in rids] == [RequestStatus.REFUNDED] * N
    assert esc.credits(env.client.address) == N * FEE


def test_the_provider_finalizes_its_own_batch(env: Env, cases: list[Case], tmp_path: Path) -> None:
    batch, _ = _batched(env, cases, _views(cases, None))
    store = GameStore(f"sqlite:///{tmp_path / 'd.db'}")
    programs = Programs.of(**{"digits-mlp": cases[0].program})
    start = int(env.w3.eth.block_number) - 2 * N
    provider = Watcher.connect(env.w3, env.dep, env.provider, store, programs, from_block=start)
    assert provider.poll().finalized == []  # the window is open
    env.node.increase_time(env.dep.challenge_window + 1)
    assert sorted(provider.poll().finalized) == sorted(batch.request_ids)
    esc = env.escrow()
    assert all(esc.is_finalized(r) for r in batch.request_ids)
    assert esc.credits(env.provider.address) == 0  # fees and bond withdrawn
