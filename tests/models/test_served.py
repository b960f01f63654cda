"""User models end to end: added from PyTorch, registered with `models register`, served by the
real gateway (``api.serve.build_gateway`` with a chain link, as `verinfer serve --rpc-url`),
paid requests settled on a real anvil: the CNN's by its zk proof, the transformer's by a claim
the in-process watcher judges right and the gateway finalizes after the window.

(A forged claim on a user model losing its game is in test_register.py: an honest gateway
never makes one.)"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from fastapi.testclient import TestClient
from web3 import Web3

from api.app import create_app
from api.serve import build_gateway
from contracts.bindings import CoreParams, Deployment, connect, deploy_core
from contracts.chain import Anvil, increase_time
from contracts.clients import EscrowClient
from contracts.records import RequestStatus
from contracts.signer import Signer
from disputes.game.encoding import input_bytes
from disputes.game.session import ChainOptions
from disputes.game.store import GameStore
from disputes.game.traces import Programs
from disputes.game.watch import Watcher
from models.calibration import CALIBRATION_FILE, load_samples
from models.card import ModelCard
from models.onchain import register_model
from models.registry import Registry
from tests.api.modes_fixtures import claim_in, wait_until
from verinfer.field import dequantize, input_hash
from verinfer.settings import Settings, get_settings

pytestmark = pytest.mark.slow
FEE = 10**15
MIN_BOND = 10**16
WINDOW = 3600
CNN, TRANSFORMER = "user-cnn", "user-transformer"


@dataclass
class Served:
    node: Anvil
    w3: Web3
    dep: Deployment
    provider: Signer
    client: Signer
    watcher: Signer
    http: TestClient
    gw: Any
    ids: dict[str, int]

    def escrow(self, who: Signer | None = None) -> EscrowClient:
        return EscrowClient(self.w3, self.dep.escrow, who)


@pytest.fixture(scope="module")
def served(
    user_settings: Settings,
    cnn_card: ModelCard,
    transformer_card: ModelCard,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("served")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VERINFER_DATA_DIR", str(user_settings.data_dir))
        mp.setenv("VERINFER_DATABASE_URL", f"sqlite:///{tmp / 'jobs.db'}")
        mp.setenv("VERINFER_DISPUTES_DATABASE_URL", f"sqlite:///{tmp / 'gateway-disputes.db'}")
        get_settings.cache_clear()
        try:
            yield from _stack(tmp)
        finally:
            get_settings.cache_clear()


def _stack(tmp: Path) -> Iterator[Served]:
    with Anvil() as node:
        w3 = connect(node.rpc_url)
        deployer, provider, client, watcher = (
            Signer.from_private_key(a.private_key) for a in node.accounts[:4]
        )
        dep = deploy_core(w3, deployer, 600, CoreParams(challenge_window=WINDOW))
        dep.save(tmp / "deployment.json")
        ids = {
            n: register_model(n, w3, dep, provider, FEE, MIN_BOND).model_id
            for n in (CNN, TRANSFORMER)
        }
        key = node.accounts[1].private_key
        chain = ChainOptions(node.rpc_url, key, None, None, tmp / "deployment.json", None)
        gw = build_gateway([CNN, TRANSFORMER], chain=chain)
        with TestClient(create_app(gw)) as http:
            yield Served(node, w3, dep, provider, client, watcher, http, gw, ids)


def _sample(name: str, i: int) -> np.ndarray:
    reg = Registry.default()
    x: np.ndarray = load_samples(reg.model_dir(name) / CALIBRATION_FILE)["x"][i]
    return x


def _body(x: np.ndarray, request_id: int) -> dict[str, Any]:
    tensor = {"name": "x", "shape": list(x.shape), "datatype": "FP32", "data": x.ravel().tolist()}
    return {"inputs": [tensor], "parameters": {"request_id": request_id}}


def test_a_paid_request_on_the_users_zk_model_is_fulfilled_by_its_proof(served: Served) -> None:
    x = _sample(CNN, 2)
    prover = served.gw.backends[CNN].prover
    felts = prover.quantize_input(x)
    rid = served.escrow(served.client).request(served.ids[CNN], input_hash(felts), FEE)
    r = served.http.post(f"/v2/models/{CNN}/infer", json=_body(x, rid))
    assert r.status_code == 200, r.text
    params = r.json()["parameters"]
    assert params["verification"] == "zk" and params["model_commitment"] == prover.card.commitment
    wait_until(claim_in(served.http, CNN, params["claim_id"], "final"), "the zk fulfilment")
    esc = served.escrow()
    assert esc.is_finalized(rid) and esc.get_request(rid).status == RequestStatus.FULFILLED
    answer = np.asarray(r.json()["outputs"][0]["data"])
    ref = ort.InferenceSession(str(Registry.default().onnx_path(CNN))).run(None, {"x": x})[0]
    assert int(np.argmax(answer)) == int(np.argmax(ref))
    on_chain = esc.fulfilled_outputs(rid)
    assert on_chain is not None  # the answer served is the one the proof made public
    settled = dequantize(on_chain, prover.output_scale)
    assert np.allclose(answer, settled, rtol=1e-6, atol=2.0**-prover.output_scale)


def test_a_paid_request_on_the_users_optimistic_model_is_claimed_judged_and_final(
    served: Served, tmp_path: Path
) -> None:
    x = _sample(TRANSFORMER, 3)
    program = served.gw.backends[TRANSFORMER].program
    data = input_bytes(program, {"x": x})
    rid = served.escrow(served.client).request_optimistic(served.ids[TRANSFORMER], data, FEE)
    r = served.http.post(f"/v2/models/{TRANSFORMER}/infer", json=_body(x, rid))
    assert r.status_code == 200, r.text
    params = r.json()["parameters"]
    assert params["verification"] == "optimistic"
    cid = params["claim_id"]
    wait_until(claim_in(served.http, TRANSFORMER, cid, "claimed"), "the claim on chain")
    assert served.escrow().get_claim(rid).status == RequestStatus.CLAIMED
    store = GameStore(f"sqlite:///{tmp_path / 'watcher.db'}")
    watcher = Watcher.connect(served.w3, served.dep, served.watcher, store, Programs.built())
    report = watcher.poll()
    assert report.claims == [rid] and report.opened == [] and report.errors == []
    judged = store.claim(rid, served.watcher.address)
    assert judged is not None and judged.verdict == "right"
    increase_time(served.node.rpc_url, WINDOW + 1)
    wait_until(claim_in(served.http, TRANSFORMER, cid, "final"), "the gateway's finalize")
    assert served.escrow().get_request(rid).status == RequestStatus.FULFILLED
