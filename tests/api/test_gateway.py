"""Gateway behaviour with a fake zk backend (the real prover is exercised in tests/e2e)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import Gateway, create_app
from api.jobs import JobStore
from models.registry import Registry
from tests.api.fakes import FakeBackend
from tests.api.fakes import body as _body


@pytest.fixture
def setup(registry: Registry, tmp_path: Path) -> tuple[Gateway, FakeBackend]:
    card = registry.card("digits-mlp")
    backend = FakeBackend(card)
    gw = Gateway(
        JobStore(f"sqlite:///{tmp_path / 'jobs.db'}"), {card.name: backend}, {card.name: card}
    )
    return gw, backend


def _wait_done(client: TestClient, url: str) -> Any:
    for _ in range(200):
        r = client.get(url)
        if r.status_code != 202:
            return r
        time.sleep(0.02)
    raise AssertionError("proof never finished")


def test_infer_returns_outputs_and_proof_202_then_200(setup: tuple[Gateway, FakeBackend]) -> None:
    gw, backend = setup
    with TestClient(create_app(gw)) as client:
        r = client.post("/v2/models/digits-mlp/infer", json=_body([0.5] * 64))
        assert r.status_code == 200
        body = r.json()
        assert body["outputs"][0]["data"][0] == 64.0
        params = body["parameters"]
        assert params["verification"] == "zk"
        assert params["model_commitment"] == gw.cards["digits-mlp"].commitment
        url = f"/v2/models/digits-mlp/proofs/{params['proof_id']}"
        pending = client.get(url)
        assert pending.status_code == 202
        assert pending.json()["status"] in {"pending", "proving"}
        backend.release.set()
        done = _wait_done(client, url)
        assert done.status_code == 200
        assert done.json()["proof_hex"] == "0xabcd"
        assert backend.proved == [[0.5] * 64]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (_body([0.5] * 63), "63 values"),
        (_body([0.5] * 64, shape=[1, 8, 8]), "shape [1, 8, 8]"),
        (_body([0.5] * 64, datatype="INT8"), "datatype 'INT8'"),
        (_body(["x"] * 64), "not a number"),
        (_body([2.0] * 64), "outside the model's accepted range"),
        (_body([0.5] * 64, name="pixels"), "unknown input 'pixels'"),
        ({"inputs": []}, "inputs"),
        ({"nope": 1}, "inputs"),
    ],
)
def test_bad_input_is_a_4xx_that_names_the_problem(
    setup: tuple[Gateway, FakeBackend], body: dict[str, Any], fragment: str
) -> None:
    gw, _ = setup
    with TestClient(create_app(gw)) as client:
        r = client.post("/v2/models/digits-mlp/infer", json=body)
        assert 400 <= r.status_code < 500
        assert fragment in r.json()["error"]
        assert gw.store.unfinished() == []


def test_nan_and_infinity_are_rejected(setup: tuple[Gateway, FakeBackend]) -> None:
    gw, _ = setup
    for literal in ("NaN", "Infinity", "-Infinity"):
        raw = (
            '{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":['
            + ",".join([literal] + ["0.5"] * 63)
            + "]}]}"
        )
        with TestClient(create_app(gw)) as client:
            r = client.post(
                "/v2/models/digits-mlp/infer",
                content=raw,
                headers={"content-type": "application/json"},
            )
            assert r.status_code == 422
            assert "NaN and infinity" in r.json()["error"]


def test_unknown_model_and_proof_are_404(setup: tuple[Gateway, FakeBackend]) -> None:
    gw, _ = setup
    with TestClient(create_app(gw)) as client:
        r = client.post("/v2/models/nope/infer", json=_body([0.5] * 64))
        assert r.status_code == 404
        assert "unknown model 'nope'" in r.json()["error"]
        r = client.get("/v2/models/digits-mlp/proofs/not-a-job")
        assert r.status_code == 404
        assert "error" in r.json()


def test_failed_proof_reports_error(registry: Registry, tmp_path: Path) -> None:
    card = registry.card("digits-mlp")
    backend = FakeBackend(card, fail=True)
    backend.release.set()
    gw = Gateway(
        JobStore(f"sqlite:///{tmp_path / 'j.db'}"), {card.name: backend}, {card.name: card}
    )
    with TestClient(create_app(gw)) as client:
        pid = client.post("/v2/models/digits-mlp/infer", json=_body([0.1] * 64)).json()[
            "parameters"
        ]["proof_id"]
        r = _wait_done(client, f"/v2/models/digits-mlp/proofs/{pid}")
        assert r.status_code == 500
        assert "internal prover error: boom" in r.json()["error"]


def test_accepted_jobs_survive_a_restart(registry: Registry, tmp_path: Path) -> None:
    card = registry.card("digits-mlp")
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    first = FakeBackend(card)
    gw = Gateway(JobStore(url), {card.name: first}, {card.name: card})
    # No lifespan: the worker never starts, as if the process died right after acknowledging.
    client = TestClient(create_app(gw))
    ids = [
        client.post("/v2/models/digits-mlp/infer", json=_body([v] * 64)).json()["parameters"][
            "proof_id"
        ]
        for v in (0.25, 0.5)
    ]
    assert [j.id for j in JobStore(url).unfinished()] == ids
    second = FakeBackend(card)
    second.release.set()
    gw2 = Gateway(JobStore(url), {card.name: second}, {card.name: card})
    with TestClient(create_app(gw2)) as client2:
        for pid in ids:
            assert _wait_done(client2, f"/v2/models/digits-mlp/proofs/{pid}").status_code == 200
    assert first.proved == []
    assert second.proved == [[0.25] * 64, [0.5] * 64]


def test_metadata_health_and_ready(setup: tuple[Gateway, FakeBackend]) -> None:
    gw, _ = setup
    with TestClient(create_app(gw)) as client:
        assert client.get("/v2/health/live").json() == {"live": True}
        assert client.get("/v2/health/ready").json() == {"ready": True}
        meta = client.get("/v2/models/digits-mlp").json()
        assert meta["inputs"][0]["shape"] == [1, 64]
        assert meta["parameters"]["model_commitment"] == gw.cards["digits-mlp"].commitment
        assert client.get("/v2/models/nope/ready").status_code == 404
