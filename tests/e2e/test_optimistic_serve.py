"""MiniLM served optimistically on a real chain, end to end.

1. The real `verinfer serve --model minilm-l6 --rpc-url ...` process: a client's paid request
   is fulfilled by the gateway's own fulfiller (from the escrow's event, nobody calls HTTP);
   the claim is readable at /claims/{id} with the numbers an honest watcher re-executes; the
   watcher (disputes.game.watch.Watcher, in the test) finds it right and opens no game; a
   second paid request named over HTTP is answered and settled as the same job; after the
   window the gateway finalizes both and is paid.
2. A provider whose claim is corrupt (a cheating view injected into an in-process gateway)
   is challenged by the same watcher and loses: the claim is voided, the client refunded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.modes import ExecutorBackend
from contracts.game_client import GameClient
from contracts.records import RequestStatus
from disputes.game.encoding import input_bytes, output_bytes
from disputes.game.store import GameStore
from disputes.game.traces import Programs
from disputes.game.view import CorruptStep
from disputes.game.watch import Watcher
from disputes.tracing.trace import Trace, trace
from tests.api.modes_fixtures import (
    MiniLM,
    claim_in,
    link_for,
    make_gateway,
    minilm,
    minilm_body,
    wait_until,
)
from tests.e2e.optimistic_stack import FEE, MODEL, MOVE_TIMEOUT, WINDOW, Chain, chain, serving
from tests.e2e.optimistic_stack import claim_state as state
from tests.e2e.served import Served, wait_for
from verinfer.db import sqlite_url

__all__ = ["minilm"]  # a fixture used by name

pytestmark = pytest.mark.slow
SECOND = "Two paid requests, one answered over HTTP."


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Chain, Path]]:
    tmp = tmp_path_factory.mktemp("optimistic-serve")
    with chain(tmp) as c:
        yield c, tmp


def _watcher(c: Chain, m: MiniLM, tmp: Path) -> Watcher:
    store = GameStore(sqlite_url(tmp / "watcher.db"))
    return Watcher.connect(c.w3, c.dep, c.watcher, store, Programs.of(minilm=m.backend.program))


def _honest(m: MiniLM, ids: Any = None, mask: Any = None) -> Trace:
    inputs = m.inputs if ids is None else {"input_ids": ids, "attention_mask": mask}
    return trace(m.backend.program, inputs)


def _claimed(served: Served, rid: int) -> Any:
    return wait_for_value(lambda: state(served, rid, "claimed"), f"claim of {rid}", served)


def wait_for_value(fn: Any, what: str, served: Served, timeout: float = 300) -> Any:
    box: list[Any] = []

    def look() -> bool:
        value = fn()
        if value:
            box.append(value)
        return bool(value)

    wait_for(look, what, served, timeout)
    return box[-1]


def test_the_served_gateway_fulfils_a_paid_request_and_is_paid(
    stack: tuple[Chain, Path], minilm: MiniLM
) -> None:
    from models.minilm import tokenize

    c, tmp = stack
    mid = c.register(c.provider, minilm.backend.program, minilm.card)
    program = minilm.backend.program
    with serving(tmp, c) as served:
        rid = c.escrow(c.client).request_optimistic(mid, input_bytes(program, minilm.inputs), FEE)
        body = _claimed(served, rid)
        honest = _honest(minilm)
        assert body["final_checkpoint"] == "0x" + honest.checkpoints[-1].hex()
        assert body["output"] == output_bytes(honest.output.q).hex()
        assert (body["source"], body["model_id"]) == ("chain", mid)
        watcher = _watcher(c, minilm, tmp)
        report = watcher.poll()
        assert rid in report.claims and report.opened == []
        seen = watcher.store.claim(rid, c.watcher.address)
        assert seen is not None and seen.verdict == "right"

        ids, mask = tokenize([SECOND])
        data = input_bytes(program, {"input_ids": ids, "attention_mask": mask})
        paid = c.escrow(c.client).request_optimistic(mid, data, FEE)
        r = httpx.post(
            f"{served.url}/v2/models/{MODEL}/infer", json=minilm_body(ids, mask, request_id=paid)
        )
        assert r.status_code == 200, r.text
        params = r.json()["parameters"]
        assert (params["request_id"], params["verification"]) == (paid, "optimistic")
        second = _claimed(served, paid)
        assert second["claim_id"] == params["claim_id"]
        assert second["final_checkpoint"] == "0x" + _honest(minilm, ids, mask).checkpoints[-1].hex()
        assert watcher.poll().opened == []

        c.node.increase_time(WINDOW + 1)
        for r_id in (rid, paid):
            wait_for_value(lambda r_id=r_id: state(served, r_id, "final"), "final", served)
    esc = c.escrow()
    assert esc.is_finalized(rid) and esc.is_finalized(paid)
    for r_id in (rid, paid):
        assert len(c.events("Claimed", r_id)) == 1
        assert len(c.events("Finalized", r_id)) == 1
    assert esc.credits(c.provider.address) == 0  # fees and bonds withdrawn


def _play_out(c: Chain, watcher: Watcher, rid: int, seen: Callable[[], None]) -> int:
    """Poll the honest watcher until its game on ``rid`` is over; a stuck liar's clock runs out."""
    game = GameClient(c.w3, c.dep.game)
    stuck = 0
    for _ in range(400):
        watcher.poll()
        seen()
        games = game.games_of(rid)
        if games and game.get_game(games[0]).phase.over:
            return games[0]
        before = game.get_game(games[0]) if games else None
        time.sleep(0.25)  # the provider's gateway answers in its own thread
        after = game.get_game(games[0]) if games else None
        stuck = stuck + 1 if before == after else 0
        if games and stuck > 20:  # the liar cannot answer: its move deadline passes
            c.node.increase_time(MOVE_TIMEOUT + 1)
            stuck = 0
    raise AssertionError(f"the game on request {rid} never ended")


def test_a_corrupt_claim_is_lost_by_its_provider(stack: tuple[Chain, Path], minilm: MiniLM) -> None:
    c, tmp = stack
    mid = c.register(c.cheater, minilm.backend.program, minilm.card)
    step = len(minilm.backend.program.steps) // 2
    lying = ExecutorBackend(
        minilm.card, minilm.backend.program, view=lambda tr: CorruptStep(tr, step, delta=1000)
    )
    cards = {MODEL: minilm.card}
    gtmp = tmp / "cheater"
    gtmp.mkdir()
    gw = make_gateway(gtmp, {MODEL: lying}, cards, link_for(c, c.cheater, gtmp, cards))
    rid = c.escrow(c.client).request_optimistic(
        mid, input_bytes(minilm.backend.program, minilm.inputs), FEE
    )
    with TestClient(create_app(gw)) as client:
        body = wait_until(claim_in(client, MODEL, str(rid), "claimed"), "the corrupt claim", 300)
        assert body["final_checkpoint"] != "0x" + _honest(minilm).checkpoints[-1].hex()
        watcher = _watcher(c, minilm, tmp)
        states: set[str] = set()
        look = lambda: states.add(client.get(f"/v2/models/{MODEL}/claims/{rid}").json()["status"])  # noqa: E731
        gid = _play_out(c, watcher, rid, look)
        lost = wait_until(claim_in(client, MODEL, str(rid), "lost"), "the lost claim")
    assert "challenged" in states  # while the game was open
    res = GameClient(c.w3, c.dep.game).resolution_of(gid)
    assert res is not None and res.winner == c.watcher.address
    assert lost["game_ids"] == [gid]
    esc = c.escrow()
    assert esc.get_request(rid).status is RequestStatus.REFUNDED
    assert esc.credits(c.client.address) == FEE
