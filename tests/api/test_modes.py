"""Every mode through the gateway, routed by the model's registered mode.

- optimistic (real MiniLM on the dispute executor): the embedding at once with flat evidence,
  then the trace's P_n; binary INT64 in and FP32 out; hostile input refused before anything
  is stored; a trace that disagrees with the answer is never claimed.
- zk on demand (real digits-mlp EZKL circuit, real verifier on anvil): the witness's outputs,
  claimed on chain by the gateway, proven only when challenged, finalized when not.
- a paid zk request named over HTTP: the answer's proof job is the request's fulfilment.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from eth_hash.auto import keccak
from fastapi.testclient import TestClient

from api.app import create_app
from api.backends import ProverBackend
from api.deps import Gateway
from api.modes import ExecutorBackend
from api.modes.store import STAGES
from contracts.bindings import deploy
from contracts.compiler import compile_file
from contracts.records import RequestStatus
from disputes.execution.executor import run
from disputes.game.encoding import input_bytes, input_roots, output_bytes
from disputes.game.view import CorruptOutput
from disputes.tracing.trace import trace
from models.digits import load_digits_split
from models.registry import Registry
from tests.api.fakes import body as digits_body
from tests.api.modes_fixtures import (
    BOND,
    FEE,
    GatedBackend,
    MiniLM,
    claim_in,
    link_for,
    make_gateway,
    minilm,
    minilm_body,
    served,
    wait_until,
)
from tests.contracts.conftest import Env, anvil, chain_env, env
from verinfer.field import input_hash, to_felt, words

__all__ = ["anvil", "chain_env", "env", "minilm", "served"]  # fixtures used by name

pytestmark = pytest.mark.slow
MINILM = "/v2/models/minilm-l6"
DIGITS = "/v2/models/digits-mlp"


# ---- optimistic, no chain ----


def test_minilm_answers_at_once_with_flat_evidence(
    served: tuple[Gateway, TestClient], minilm: MiniLM
) -> None:
    _, client = served
    r = client.post(f"{MINILM}/infer", json=minilm_body(minilm.ids, minilm.mask))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == "client-42"
    expected = run(minilm.backend.program, minilm.inputs)
    out = body["outputs"][0]
    assert (out["name"], out["shape"], out["datatype"]) == ("embedding", [1, 384], "FP32")
    assert out["data"] == expected.values.astype(np.float32).ravel().tolist()
    params = body["parameters"]
    assert all(isinstance(v, str | int | float | bool) for v in params.values())
    assert params["verification"] == "optimistic"
    assert params["model_commitment"] == minilm.card.commitment
    assert params["output_root"] == "0x" + expected.root.hex()
    assert params["claim_status"] == "pending" and params["challenge_deadline"] == 0
    assert "request_id" not in params  # nobody paid on chain for this one
    assert params["claim_url"] == f"{MINILM}/claims/{params['claim_id']}"

    done = wait_until(lambda: _stage(client, params["claim_id"], "local"), "the trace")
    tr = trace(minilm.backend.program, minilm.inputs)
    program = minilm.backend.program
    assert done["final_checkpoint"] == "0x" + tr.checkpoints[-1].hex()
    assert done["output"] == output_bytes(tr.output.q).hex()
    assert done["output_root"] == params["output_root"]
    assert done["input"] == input_bytes(program, minilm.inputs).hex()
    assert done["input_roots"] == ["0x" + r.hex() for r in input_roots(program, minilm.inputs)]
    assert done["program_root"] == "0x" + program.program_root.hex()
    assert done["status"] == "pending" and "no chain" in done["note"]
    metrics = client.get("/metrics").text
    assert 'verinfer_trace_seconds_count{model="minilm-l6",status="done"} 1.0' in metrics
    assert 'verinfer_claims{model="minilm-l6",state="pending"} 1.0' in metrics


def _stage(client: TestClient, claim_id: str, stage: str) -> Any:
    body = client.get(f"{MINILM}/claims/{claim_id}").json()
    return body if body["stage"] == stage else None


def test_binary_int64_in_and_fp32_out(served: tuple[Gateway, TestClient], minilm: MiniLM) -> None:
    _, client = served
    header = {
        "inputs": [
            {"name": n, "shape": [1, 128], "datatype": "INT64",
             "parameters": {"binary_data_size": 128 * 8}}
            for n in ("input_ids", "attention_mask")
        ],
        "parameters": {"binary_data_output": True},
    }  # fmt: skip
    head = json.dumps(header).encode()
    raw = minilm.ids.astype("<i8").tobytes() + minilm.mask.astype("<i8").tobytes()
    r = client.post(
        f"{MINILM}/infer",
        content=head + raw,
        headers={"Inference-Header-Content-Length": str(len(head))},
    )
    assert r.status_code == 200, r.text
    n = int(r.headers["Inference-Header-Content-Length"])
    doc = json.loads(r.content[:n])
    assert doc["outputs"][0]["parameters"]["binary_data_size"] == 384 * 4
    got = np.frombuffer(r.content[n:], dtype="<f4")
    want = run(minilm.backend.program, minilm.inputs).values.astype(np.float32).ravel()
    assert np.array_equal(got, want)
    assert doc["parameters"]["verification"] == "optimistic"


def _with(ids: np.ndarray, at: int, value: int) -> np.ndarray:
    out = ids.copy()
    out[0, at] = value
    return out


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"ids": ("token", 40000)}, "out of range"),  # past the vocabulary
        ({"ids": ("token", -1)}, "out of range"),
        ({"ids": ("token", 2**40)}, "out of range"),
        ({"datatype": "FP32"}, "input_ids"),
        ({"request_id": "seven"}, "request_id"),
        ({"request_id": -3}, "request_id"),
        ({"request_id": True}, "request_id"),
        ({"request_id": 2**70}, "request_id"),
        ({"request_id": 5}, "not connected to a chain"),
    ],
)
def test_hostile_input_is_refused_before_anything_is_stored(
    served: tuple[Gateway, TestClient], minilm: MiniLM, change: dict[str, Any], fragment: str
) -> None:
    gw, client = served
    ids = minilm.ids
    if "ids" in change:
        ids = _with(ids, 1, change["ids"][1])
    kw = {k: v for k, v in change.items() if k in ("datatype", "request_id")}
    r = client.post(f"{MINILM}/infer", json=minilm_body(ids, minilm.mask, **kw))
    assert r.status_code == 422, r.text
    assert fragment in r.json()["error"]
    assert gw.claims is not None and gw.claims.store.in_stage(*STAGES) == []


def test_a_full_claim_queue_is_503_before_anything_is_stored(
    tmp_path: Path, minilm: MiniLM
) -> None:
    backend = GatedBackend(minilm)
    gw = make_gateway(tmp_path, {"minilm-l6": backend}, {"minilm-l6": minilm.card}, max_queue=1)
    body = minilm_body(minilm.ids, minilm.mask)
    with TestClient(create_app(gw)) as client:
        first = client.post(f"{MINILM}/infer", json=body)
        assert first.status_code == 200
        full = client.post(f"{MINILM}/infer", json=body)
        assert full.status_code == 503 and full.headers["Retry-After"]
        assert "waiting to be traced or posted" in full.json()["error"]
        assert gw.claims is not None and gw.claims.store.count(*STAGES) == 1
        backend.gate.set()
        cid = first.json()["parameters"]["claim_id"]
        wait_until(lambda: _stage(client, cid, "local"), "the first trace")
        again = client.post(f"{MINILM}/infer", json=body)  # room again once it is traced
        assert again.status_code == 200


def test_a_trace_that_disagrees_with_the_answer_is_never_claimed(
    tmp_path: Path, minilm: MiniLM
) -> None:
    lying = ExecutorBackend(minilm.card, minilm.backend.program, view=CorruptOutput)
    gw = make_gateway(tmp_path, {"minilm-l6": lying}, {"minilm-l6": minilm.card})
    with TestClient(create_app(gw)) as client:
        r = client.post(f"{MINILM}/infer", json=minilm_body(minilm.ids, minilm.mask))
        cid = r.json()["parameters"]["claim_id"]
        failed = wait_until(claim_in(client, "minilm-l6", cid, "failed"), "the failed claim")
    assert "differs from the answer" in failed["error"]
    assert failed["final_checkpoint"] is None  # nothing of the forged run was kept


# ---- zk on demand and paid zk requests, on a real chain ----


@dataclass(frozen=True)
class Digits:
    backend: ProverBackend
    verifier: str

    @property
    def card(self) -> Any:
        return self.backend.prover.card


@pytest.fixture(scope="module")
def digits(chain_env: Env) -> Digits:
    Registry.default().build("digits-mlp")
    backend = ProverBackend.load(Registry.default().card("digits-mlp"))
    art = compile_file(backend.prover.solidity_verifier_path(), "Halo2Verifier")
    return Digits(backend, deploy(chain_env.w3, chain_env.deployer, art))


def _x(i: int = 3) -> list[float]:
    return [float(v) for v in load_digits_split().x_test[i]]


@pytest.fixture
def on_demand(env: Env, digits: Digits, tmp_path: Path) -> Iterator[tuple[Gateway, TestClient]]:
    commitment = bytes.fromhex(digits.card.commitment.removeprefix("0x"))
    layout = (64, math.prod(digits.card.outputs[0].shape))
    env.registry(env.provider).register_on_demand(commitment, digits.verifier, FEE, layout, BOND)
    cards = {"digits-mlp": digits.card}
    link = link_for(env, env.provider, tmp_path, cards)
    gw = make_gateway(tmp_path, {"digits-mlp": digits.backend}, cards, link)
    with TestClient(create_app(gw)) as client:
        yield gw, client


def _felts(values: list[float], scale: int) -> list[int]:
    return [to_felt(round(v * 2**scale)) for v in values]


def _claimed(env: Env, client: TestClient, digits: Digits) -> tuple[int, dict[str, Any]]:
    r = client.post(f"{DIGITS}/infer", json=digits_body(_x()))
    assert r.status_code == 200, r.text
    params, values = r.json()["parameters"], r.json()["outputs"][0]["data"]
    felts = _felts(values, digits.backend.prover.output_scale)
    assert params["verification"] == "zk-on-demand"
    assert params["output_hash"] == "0x" + bytes(keccak(words(felts))).hex()
    body = wait_until(claim_in(client, "digits-mlp", params["claim_id"], "claimed"), "the claim")
    rid = body["request_id"]
    ev = (
        env.escrow()
        .contract.events.OnDemandClaimed()
        .get_logs(from_block=0, argument_filters={"requestId": rid})
    )
    assert len(ev) == 1 and [int(v) for v in ev[0]["args"]["outputs"]] == felts
    assert body["challenge_deadline"] == int(ev[0]["args"]["windowEnd"])
    assert env.escrow().get_request(rid).input_hash == input_hash(
        digits.backend.prover.quantize_input(_x())
    )
    return rid, body


def test_zk_on_demand_is_proven_only_when_challenged(
    env: Env, digits: Digits, on_demand: tuple[Gateway, TestClient]
) -> None:
    gw, client = on_demand
    assert gw.cards["digits-mlp"].mode == "zk-on-demand"  # from the registry, not the card
    rid, body = _claimed(env, client, digits)
    assert body["proof_id"] is None  # no proof made while nobody challenges
    env.escrow(env.other).challenge_on_demand(rid, BOND)
    final = wait_until(claim_in(client, "digits-mlp", body["claim_id"], "final"), "the proof")
    assert final["proof_id"] is not None
    esc = env.escrow()
    assert esc.get_request(rid).status is RequestStatus.FULFILLED
    proven = esc.contract.events.OnDemandProven().get_logs(from_block=0)
    assert [(int(e["args"]["requestId"]), e["args"]["prover"]) for e in proven] == [
        (rid, env.provider.address)
    ]
    assert esc.fulfilled_outputs(rid) == [int(v) for v in final["outputs"]]
    wait_until(lambda: esc.credits(env.provider.address) == 0, "the provider's withdrawal")


def test_zk_on_demand_unchallenged_is_finalized_after_the_window(
    env: Env, digits: Digits, on_demand: tuple[Gateway, TestClient]
) -> None:
    _, client = on_demand
    rid, body = _claimed(env, client, digits)
    env.node.increase_time(env.dep.challenge_window + 1)
    final = wait_until(claim_in(client, "digits-mlp", body["claim_id"], "final"), "finalize")
    assert final["proof_id"] is None  # finalized without ever proving
    esc = env.escrow()
    assert esc.is_finalized(rid)
    done = esc.contract.events.Finalized().get_logs(from_block=0)
    assert [int(e["args"]["requestId"]) for e in done] == [rid]


def test_a_paid_on_demand_request_waits_for_its_input_then_is_claimed_once(
    env: Env, digits: Digits, on_demand: tuple[Gateway, TestClient]
) -> None:
    _, client = on_demand
    mid = env.registry().model_id_of(env.provider.address, _commitment(digits))
    felts = digits.backend.prover.quantize_input(_x())
    rid = env.escrow(env.client).request(mid, input_hash(felts), FEE)
    # The event only carries the input's hash: the row waits for the client's HTTP request.
    waiting = wait_until(lambda: _waiting(client, rid), "the request picked up from its event")
    assert (waiting["source"], waiting["input_hash"]) == ("chain", "0x" + input_hash(felts).hex())
    paid = {**digits_body(_x()), "parameters": {"request_id": rid}}
    params = client.post(f"{DIGITS}/infer", json=paid).json()["parameters"]
    assert (params["claim_id"], params["request_id"]) == (waiting["claim_id"], rid)
    body = wait_until(claim_in(client, "digits-mlp", str(rid), "claimed"), "the claim")
    assert body["claim_id"] == waiting["claim_id"]
    claims = env.escrow().contract.events.OnDemandClaimed().get_logs(from_block=0)
    assert [int(e["args"]["requestId"]) for e in claims] == [rid]  # no self-request, one claim


def _commitment(digits: Digits) -> bytes:
    return bytes.fromhex(digits.card.commitment.removeprefix("0x"))


def _waiting(client: TestClient, rid: int) -> Any:
    r = client.get(f"{DIGITS}/claims/{rid}")
    return r.json() if r.status_code == 202 and r.json()["stage"] == "awaiting_input" else None


def test_a_paid_zk_request_is_fulfilled_by_its_answer_once(
    env: Env, digits: Digits, tmp_path: Path
) -> None:
    commitment = bytes.fromhex(digits.card.commitment.removeprefix("0x"))
    n_out = math.prod(digits.card.outputs[0].shape)
    mid = env.registry(env.provider).register(commitment, digits.verifier, FEE, 64, n_out)
    cards = {"digits-mlp": digits.card}
    gw = make_gateway(
        tmp_path,
        {"digits-mlp": digits.backend},
        cards,
        link_for(env, env.provider, tmp_path, cards),
    )
    felts = digits.backend.prover.quantize_input(_x())
    rid = env.escrow(env.client).request(mid, input_hash(felts), FEE)
    with TestClient(create_app(gw)) as client:
        wrong = client.post(
            f"{DIGITS}/infer", json={**digits_body(_x(4)), "parameters": {"request_id": rid}}
        )
        assert wrong.status_code == 422 and "not the one request" in wrong.json()["error"]
        unknown = client.post(
            f"{DIGITS}/infer", json={**digits_body(_x()), "parameters": {"request_id": rid + 9}}
        )
        assert unknown.status_code == 422 and "does not exist" in unknown.json()["error"]
        paid = {**digits_body(_x()), "parameters": {"request_id": rid}}
        params = client.post(f"{DIGITS}/infer", json=paid).json()["parameters"]
        assert (params["verification"], params["request_id"]) == ("zk", rid)
        final = wait_until(claim_in(client, "digits-mlp", params["claim_id"], "final"), "fulfil")
        again = client.post(f"{DIGITS}/infer", json=paid).json()["parameters"]
    assert (again["proof_id"], again["claim_id"]) == (params["proof_id"], params["claim_id"])
    assert final["proof_id"] == params["proof_id"]
    fulfilled = env.escrow().contract.events.Fulfilled().get_logs(from_block=0)
    assert [int(e["args"]["requestId"]) for e in fulfilled] == [rid]
    assert env.escrow().is_finalized(rid)
