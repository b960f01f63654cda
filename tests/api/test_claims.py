"""``GET /v2/models/{m}/claims/{id}``: 404 for anything that is not one of the model's claims,
202 while a claim is not yet on chain, and on chain the live status with everything a watcher
needs, each field checked against the escrow's own events; claims survive a restart mid-trace.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.chain.link import state_of
from api.deps import Gateway
from contracts.errors import RpcError
from contracts.records import ZERO_ADDRESS, RequestStatus
from tests.api.modes_fixtures import (
    BOND,
    GatedBackend,
    MiniLM,
    claim_in,
    make_gateway,
    minilm,
    minilm_body,
    minilm_on_chain,
    paid_request,
    served,
    wait_until,
)
from tests.contracts.conftest import Env, anvil, chain_env, env

__all__ = ["anvil", "chain_env", "env", "minilm", "served"]  # fixtures used by name

pytestmark = pytest.mark.slow
MINILM = "/v2/models/minilm-l6"


def _infer(client: TestClient, m: MiniLM, **kw: Any) -> dict[str, Any]:
    r = client.post(f"{MINILM}/infer", json=minilm_body(m.ids, m.mask, **kw))
    assert r.status_code == 200, r.text
    params: dict[str, Any] = r.json()["parameters"]
    return params


@pytest.mark.parametrize(
    "claim_id",
    ["nope", str(uuid.uuid4()), "0", "99999", "9" * 40, "x" * 300, "-1", "1e3", "%00"],
)
def test_anything_but_a_claim_of_the_model_is_404(
    served: tuple[Gateway, TestClient], claim_id: str
) -> None:
    _, client = served
    r = client.get(f"{MINILM}/claims/{claim_id}")
    assert r.status_code == 404, r.text
    assert "has no claim" in r.json()["error"]


def test_a_path_out_of_the_claims_route_is_404(served: tuple[Gateway, TestClient]) -> None:
    _, client = served
    r = client.get(f"{MINILM}/claims/..%2F..%2Fetc")  # decoded to more path: no route at all
    assert r.status_code == 404 and r.json()["error"]


def test_a_claim_is_only_the_models_and_versions_are_checked(
    served: tuple[Gateway, TestClient], minilm: MiniLM
) -> None:
    _, client = served
    cid = _infer(client, minilm)["claim_id"]
    assert client.get(f"/v2/models/digits-mlp/claims/{cid}").status_code == 404
    assert client.get(f"{MINILM}/versions/2/claims/{cid}").status_code == 404
    assert client.get(f"{MINILM}/versions/1/claims/{cid}").status_code in (200, 202)


def test_202_while_tracing_then_200(tmp_path: Path, minilm: MiniLM) -> None:
    backend = GatedBackend(minilm)
    gw = make_gateway(tmp_path, {"minilm-l6": backend}, {"minilm-l6": minilm.card})
    with TestClient(create_app(gw)) as client:
        cid = _infer(client, minilm)["claim_id"]
        wait_until(lambda: gw.claims is not None and cid in gw.claims.running, "the trace start")
        r = client.get(f"{MINILM}/claims/{cid}")
        assert r.status_code == 202
        body = r.json()
        assert (body["status"], body["stage"], body["queue_position"]) == ("pending", "tracing", 0)
        assert body["final_checkpoint"] is None and body["output_root"] is not None
        backend.gate.set()
        done = wait_until(lambda: _stage(client, cid, "local"), "the trace")
    assert done["final_checkpoint"] is not None


def _stage(client: TestClient, cid: str, stage: str) -> Any:
    r = client.get(f"{MINILM}/claims/{cid}")
    return r.json() if r.json()["stage"] == stage else None


def test_a_claim_left_tracing_by_a_stop_is_traced_after_the_restart(
    tmp_path: Path, minilm: MiniLM
) -> None:
    gated = GatedBackend(minilm)
    first = make_gateway(tmp_path, {"minilm-l6": gated}, {"minilm-l6": minilm.card})
    with TestClient(create_app(first)) as client:
        cid = _infer(client, minilm)["claim_id"]
        wait_until(lambda: first.claims is not None and cid in first.claims.running, "tracing")
    gated.gate.set()  # frees the abandoned thread; its result is never written
    again = make_gateway(tmp_path, {"minilm-l6": minilm.backend}, {"minilm-l6": minilm.card})
    assert again.claims is not None and again.claims.store.get(cid) is not None
    assert again.claims.store.get(cid).stage == "tracing"  # type: ignore[union-attr]
    with TestClient(create_app(again)) as client:
        done = wait_until(lambda: _stage(client, cid, "local"), "the trace after the restart")
    assert done["final_checkpoint"] is not None and done["error"] is None


def test_state_of_reads_the_escrow() -> None:
    me = "0x" + "11" * 20
    assert state_of(RequestStatus.OPEN, 0, ZERO_ADDRESS) == "pending"
    assert state_of(RequestStatus.CLAIMED, 0, ZERO_ADDRESS) == "claimed"
    assert state_of(RequestStatus.CLAIMED, 1, ZERO_ADDRESS) == "challenged"  # a game is open
    assert state_of(RequestStatus.CLAIMED, 0, me) == "challenged"  # on demand
    assert state_of(RequestStatus.FULFILLED, 0, me) == "final"
    assert state_of(RequestStatus.REFUNDED, 0, me) == "lost"


def test_a_paid_request_is_claimed_and_its_status_has_what_a_watcher_checks(
    env: Env, minilm: MiniLM, tmp_path: Path
) -> None:
    mid, gw = minilm_on_chain(env, minilm, tmp_path)
    data = minilm.data
    rid = paid_request(env, mid, minilm)
    with TestClient(create_app(gw)) as client:
        # Nobody sent it over HTTP: the fulfiller found it in the escrow's events.
        body = wait_until(claim_in(client, "minilm-l6", str(rid), "claimed"), "the claim")
        assert client.get(f"{MINILM}/claims/{body['claim_id']}").json()["request_id"] == rid
        esc = env.escrow()
        req = esc.contract.events.OptimisticRequested().get_logs(from_block=0)[0]["args"]
        claimed = esc.contract.events.Claimed().get_logs(from_block=0)
        assert [int(c["args"]["requestId"]) for c in claimed] == [rid]
        ev = claimed[0]["args"]
        assert (body["source"], body["model_id"], body["escrow"]) == ("chain", mid, env.dep.escrow)
        assert body["input"] == bytes(req["input"]).hex() == data.hex()
        assert body["input_roots"] == ["0x" + bytes(r).hex() for r in req["inputRoots"]]
        assert body["output"] == bytes(ev["output"]).hex()
        assert body["final_checkpoint"] == "0x" + bytes(ev["finalCheckpoint"]).hex()
        assert body["challenge_deadline"] == int(ev["windowEnd"])
        assert body["bond"] == int(ev["bond"]) == BOND
        assert body["game_ids"] == [] and body["claim_tx"].startswith("0x")
        # The same request named over HTTP is the same claim, answered with its numbers.
        params = _infer(client, minilm, request_id=rid)
        assert (params["claim_id"], params["request_id"]) == (body["claim_id"], rid)
        assert params["final_checkpoint"] == body["final_checkpoint"]
        assert params["challenge_deadline"] == body["challenge_deadline"]
        metrics = client.get("/metrics").text
        assert 'verinfer_claims{model="minilm-l6",state="claimed"} 1.0' in metrics
        assert 'verinfer_gas_used_total{action="claim"}' in metrics
        env.node.increase_time(env.dep.challenge_window + 1)
        final = wait_until(claim_in(client, "minilm-l6", str(rid), "final"), "finalization")
        metered = 'verinfer_gas_used_total{action="finalize"}'  # the watcher's tx is too
        wait_until(lambda: metered in client.get("/metrics").text, "the finalize's gas")
    assert final["claim_id"] == body["claim_id"]
    assert esc.is_finalized(rid)
    assert len(esc.contract.events.Claimed().get_logs(from_block=0)) == 1
    assert esc.credits(env.provider.address) == 0  # fee and bond withdrawn


def test_rpc_errors_back_off_and_the_claim_is_still_posted(
    env: Env, minilm: MiniLM, tmp_path: Path
) -> None:
    mid, gw = minilm_on_chain(env, minilm, tmp_path)
    assert gw.claims is not None and gw.claims.fulfiller is not None
    outbox = gw.claims.fulfiller.sender.outbox
    real, calls = outbox.settle_in_flight, []

    def node_away_twice() -> Any:
        calls.append(1)
        if len(calls) <= 2:
            raise RpcError("the node at the RPC URL went away")
        return real()

    outbox.settle_in_flight = node_away_twice  # type: ignore[method-assign]
    rid = paid_request(env, mid, minilm)
    with TestClient(create_app(gw)) as client:
        body = wait_until(claim_in(client, "minilm-l6", str(rid), "claimed"), "the claim")
    assert len(calls) > 2 and body["error"] is None  # two failed passes, then it carried on
    assert len(env.escrow().contract.events.Claimed().get_logs(from_block=0)) == 1


def test_without_self_requests_an_unpaid_answer_stays_local_and_a_paid_one_is_claimed(
    env: Env, minilm: MiniLM, tmp_path: Path
) -> None:
    mid, gw = minilm_on_chain(env, minilm, tmp_path, self_request=False)
    provider = env.w3.to_checksum_address(env.provider.address)
    sent_before = env.w3.eth.get_transaction_count(provider)
    with TestClient(create_app(gw)) as client:
        unpaid = _infer(client, minilm)["claim_id"]
        local = wait_until(lambda: _stage(client, unpaid, "local"), "the unpaid answer traced")
        assert local["request_id"] is None and local["claim_tx"] is None
        assert "VERINFER_SELF_REQUEST=false" in local["note"]
        rid = paid_request(env, mid, minilm)
        wait_until(claim_in(client, "minilm-l6", str(rid), "claimed"), "the paid claim")
    events = env.escrow().contract.events
    assert [int(e["args"]["requestId"]) for e in events.Claimed().get_logs(from_block=0)] == [rid]
    requesters = [e["args"]["client"] for e in events.OptimisticRequested().get_logs(from_block=0)]
    assert requesters == [env.w3.to_checksum_address(env.client.address)]
    # One transaction, the paid claim: nothing was requested on the provider's own account.
    assert env.w3.eth.get_transaction_count(provider) == sent_before + 1
