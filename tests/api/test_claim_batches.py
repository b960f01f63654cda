"""Batched claims from the gateway: with a batch size of 4, four paid MiniLM requests end in one
``ClaimedBatch`` of 4 leaves, each claim route shows its batch and leaf (checked against the
event's tree), a restart after the batch was mined but before the rows knew it re-posts nothing,
and every leaf is finalized (``finalizeLeaf``) by the gateway's watcher after the window.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from api.chain.batching import Batcher
from api.modes.store import ClaimRecord, ClaimStore
from contracts.clients import batch_claim_of
from contracts.records import RequestStatus
from disputes.game.batch import Batch
from disputes.tracing.trace import Trace
from tests.api.modes_fixtures import (
    BOND,
    MiniLM,
    claim_in,
    minilm,
    minilm_on_chain,
    paid_request,
    wait_until,
)
from tests.contracts.conftest import Env, anvil, chain_env, env
from verinfer.errors import VerinferError

__all__ = ["anvil", "chain_env", "env", "minilm"]  # fixtures used by name

pytestmark = pytest.mark.slow
N = 4


def test_four_answers_are_one_batch_shown_per_leaf_and_all_finalized(
    env: Env, minilm: MiniLM, tmp_path: Path
) -> None:
    mid, gw = minilm_on_chain(env, minilm, tmp_path, batch_size=N, batch_wait_s=3600.0)
    rids = [paid_request(env, mid, minilm) for _ in range(N)]
    esc = env.escrow()
    with TestClient(create_app(gw)) as client:
        bodies = [
            wait_until(claim_in(client, "minilm-l6", str(r), "claimed"), f"claim {r}", 300)
            for r in rids
        ]
    logs = esc.contract.events.ClaimedBatch().get_logs(from_block=0)
    assert len(logs) == 1 and esc.contract.events.Claimed().get_logs(from_block=0) == []
    claim = batch_claim_of(logs[0])
    assert sorted(claim.request_ids) == sorted(rids) and claim.bond == N * BOND
    batch = Batch.of_claim(claim)
    for rid, body in zip(rids, bodies, strict=True):
        leaf = batch.leaf(rid)
        assert body["batch_id"] == claim.batch_id and body["claim_tx"].startswith("0x")
        assert body["leaf"] == {"index": leaf.index, "proof": ["0x" + p.hex() for p in leaf.proof]}
        assert body["final_checkpoint"] == "0x" + leaf.final_checkpoint.hex()
        assert body["challenge_deadline"] == claim.window_end
        assert esc.get_claim(rid).status == RequestStatus.BATCHED

    svc = gw.claims
    assert svc is not None and svc.fulfiller is not None
    store, f = svc.store, svc.fulfiller
    # A crash after the batch was mined, before the rows were updated: the next pass re-sends
    # under the same key, the Outbox hands back the mined transaction, nothing is posted twice.
    for body in bodies:
        store.update(body["claim_id"], None, stage="ready", state="pending", batch_id=None)
    f.poll()
    assert len(esc.contract.events.ClaimedBatch().get_logs(from_block=0)) == 1
    again = [store.get(b["claim_id"]) for b in bodies]
    assert all(r is not None and r.batch_id == claim.batch_id for r in again)

    env.node.increase_time(env.dep.challenge_window + 1)
    reran: list[int] = []
    traces = f.watcher.traces

    def traced(request_id: int) -> Trace:
        reran.append(request_id)
        return type(traces).trace(traces, request_id)

    traces.trace = traced  # type: ignore[method-assign]
    f.poll()  # the watcher finalizes each of our leaves with finalizeLeaf
    f.poll()  # and the fulfiller sees them final
    for rid in rids:
        assert esc.is_finalized(rid)
        rec = store.by_request(rid)
        assert rec is not None and (rec.stage, rec.state) == ("settled", "final")
    assert len(esc.contract.events.Finalized().get_logs(from_block=0)) == N
    assert reran == []  # each leaf's output came from its stored row, not a second run


def test_a_batch_that_is_not_full_waits_then_goes_alone(
    env: Env, minilm: MiniLM, tmp_path: Path
) -> None:
    mid, gw = minilm_on_chain(env, minilm, tmp_path, batch_size=N, batch_wait_s=0.2)
    rid = paid_request(env, mid, minilm)
    with TestClient(create_app(gw)) as client:
        body = wait_until(claim_in(client, "minilm-l6", str(rid), "claimed"), "the claim", 300)
    logs = env.escrow().contract.events.ClaimedBatch().get_logs(from_block=0)
    assert [batch_claim_of(x).request_ids for x in logs] == [[rid]]
    assert body["leaf"] == {"index": 0, "proof": []} and body["batch_id"] == 1


def test_a_batch_that_reverts_fails_only_the_request_it_can_no_longer_take(
    env: Env, minilm: MiniLM, tmp_path: Path
) -> None:
    mid, gw = minilm_on_chain(env, minilm, tmp_path, batch_size=3, batch_wait_s=3600.0)
    assert gw.claims is not None and gw.claims.fulfiller is not None
    store, f = gw.claims.store, gw.claims.fulfiller
    a, b = (paid_request(env, mid, minilm) for _ in range(2))

    def ready(rid: int) -> ClaimRecord | None:
        rec = store.by_request(rid)
        return rec if rec is not None and rec.stage == "ready" and rec.final_checkpoint else None

    with TestClient(create_app(gw)) as client:
        ra = wait_until(lambda: ready(a), "request a traced", 300)
        wait_until(lambda: ready(b), "request b traced", 300)
        # Request a is claimed behind the batcher's back: the batch of both must revert.
        proof = [bytes.fromhex(p[2:]) for p in json.loads(ra.output_proof or "[]")]
        final = bytes.fromhex((ra.final_checkpoint or "")[2:])
        env.escrow(env.provider).claim(a, ra.output or b"", final, proof, BOND)
        assert f.batcher is not None
        f.batcher.wait_s = 0.0  # the batch of two is due now
        body = wait_until(claim_in(client, "minilm-l6", str(b), "claimed"), "b's batch", 300)
        failed = wait_until(claim_in(client, "minilm-l6", ra.id, "failed"), "a failed")
    logs = env.escrow().contract.events.ClaimedBatch().get_logs(from_block=0)
    assert [batch_claim_of(x).request_ids for x in logs] == [[b]]
    assert body["leaf"] == {"index": 0, "proof": []}
    assert "AlreadySettled" in failed["error"]


def test_a_request_is_never_marked_into_two_batches(tmp_path: Path) -> None:
    store = ClaimStore(f"sqlite:///{tmp_path / 'c.db'}")
    rec = store.create(ClaimRecord.new("m", "optimistic", "http", stage="ready", request_id=7))
    assert [r.id for r in store.assign_batch([rec.id], "claim-batch:7")] == [rec.id]
    assert store.assign_batch([rec.id], "claim-batch:9") == []
    got = store.get(rec.id)
    assert got is not None and got.batch_key == "claim-batch:7"


def test_a_claim_table_of_an_older_version_gets_the_batch_columns(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = ClaimStore(url)
    rec = old.create(ClaimRecord.new("m", "optimistic", "http", stage="ready", request_id=3))
    with old.engine.begin() as conn:  # the table as the version before batching made it
        conn.execute(text("ALTER TABLE gateway_claims DROP COLUMN batch_proof"))
        conn.execute(text("ALTER TABLE gateway_claims DROP COLUMN batch_index"))
    new = ClaimStore(url)
    assert new.update(rec.id, None, batch_index=2, batch_proof="[]") is not None
    got = new.get(rec.id)
    assert got is not None and (got.request_id, got.batch_index) == (3, 2)


def test_a_batch_size_outside_the_escrows_bounds_is_refused() -> None:
    with pytest.raises(VerinferError, match=r"2\.\.256"):
        Batcher(None, 257, 1.0)  # type: ignore[arg-type]
