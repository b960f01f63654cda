"""Hostile and oversized requests: each gets a 4xx naming the problem, and nothing is persisted."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import Gateway, create_app
from models.registry import Registry
from tests.api.fakes import FakeBackend, body, gateway

URL = "/v2/models/digits-mlp/infer"


@pytest.fixture
def gw(registry: Registry, tmp_path: Path) -> tuple[Gateway, FakeBackend]:
    backend = FakeBackend(registry.card("digits-mlp"), released=True)
    return gateway(registry.card("digits-mlp"), tmp_path / "j.db", backend, max_body_bytes=64 << 10)


def _post_raw(client: TestClient, raw: bytes | str, **headers: str) -> tuple[int, dict[str, str]]:
    r = client.post(URL, content=raw, headers=headers)
    return r.status_code, r.json()


def test_body_over_the_limit_is_413_before_parsing(gw: tuple[Gateway, FakeBackend]) -> None:
    g, _ = gw
    with TestClient(create_app(g)) as client:
        status, doc = _post_raw(client, b" " * (65 << 10))
        assert status == 413 and "VERINFER_MAX_BODY_BYTES" in doc["error"]
        chunks = iter([b"{" + b" " * (40 << 10), b" " * (40 << 10) + b"}"])
        r = client.post(URL, content=chunks)  # chunked: no Content-Length to go by
        assert r.status_code == 413
    assert g.store.unfinished() == []


def test_deep_nesting_is_refused_not_a_crash(gw: tuple[Gateway, FakeBackend]) -> None:
    g, _ = gw
    with TestClient(create_app(g)) as client:
        status, doc = _post_raw(client, "[" * 30000 + "]" * 30000)
        assert status == 422 and "nested 30000 levels deep" in doc["error"]
        hidden = json.dumps(body([0.5] * 64, parameters={"s": "[" * 5000}))
        assert _post_raw(client, hidden)[0] == 200  # brackets inside strings do not count


@pytest.mark.parametrize(
    ("data", "shape", "fragment"),
    [
        ([10**400] + [0] * 63, [1, 64], "too large for FP32"),
        ([[0.5] * 32, [0.5] * 32], [1, 64], "does not match shape [1, 64]"),
        ([[0.5] * 63], [1, 64], "does not match shape [1, 64]"),
        ([[[0.5] * 64]], [1, 64], "does not match shape [1, 64]"),
        ([[0.5] * 32, 0.5], [1, 64], "does not match shape [1, 64]"),
    ],
)
def test_values_and_nesting_must_fit_the_shape(
    gw: tuple[Gateway, FakeBackend], data: list[object], shape: list[int], fragment: str
) -> None:
    g, _ = gw
    with TestClient(create_app(g)) as client:
        r = client.post(URL, json=body(data, shape=shape))
        assert r.status_code == 422, r.text
        assert fragment in r.json()["error"]
        assert g.store.unfinished() == []
        assert client.post(URL, json=body([[0.5] * 64])).status_code == 200  # exact nesting ok


def test_json_without_content_type_and_garbage(gw: tuple[Gateway, FakeBackend]) -> None:
    g, _ = gw
    with TestClient(create_app(g)) as client:
        assert _post_raw(client, json.dumps(body([0.5] * 64)))[0] == 200
        status, doc = _post_raw(client, b"\xff\xfe not json")
        assert status == 422 and "not valid JSON" in doc["error"]
        status, doc = _post_raw(client, "[1, 2]")
        assert status == 422 and "invalid request body" in doc["error"]


def test_full_queue_is_503_with_retry_after_and_nothing_persisted(
    registry: Registry, tmp_path: Path
) -> None:
    g, backend = gateway(registry.card("digits-mlp"), tmp_path / "q.db", max_queue=2)
    with TestClient(create_app(g)) as client:
        assert client.post(URL, json=body([0.5] * 64)).status_code == 200
        deadline = time.monotonic() + 10
        while not g.worker.running and time.monotonic() < deadline:
            time.sleep(0.01)  # the first job is being proven (blocked): two more may wait
        codes = [client.post(URL, json=body([0.5] * 64)).status_code for _ in range(2)]
        assert codes == [200, 200]
        r = client.post(URL, json=body([0.25] * 64))
        assert r.status_code == 503 and r.headers["Retry-After"] == "2"
        assert "queue is full" in r.json()["error"]
        assert len(g.store.unfinished()) == 3
        backend.release.set()


def test_openapi_lists_every_status_code(gw: tuple[Gateway, FakeBackend]) -> None:
    g, _ = gw
    with TestClient(create_app(g)) as client:
        doc = client.get("/openapi.json").json()
    infer = doc["paths"]["/v2/models/{name}/infer"]["post"]
    assert {"200", "404", "413", "422", "503"} <= set(infer["responses"])
    assert "InferRequest" in doc["components"]["schemas"]
    assert "InferInput" in doc["components"]["schemas"]
    proofs = doc["paths"]["/v2/models/{name}/proofs/{proof_id}"]["get"]["responses"]
    assert {"200", "202", "404", "500", "503"} <= set(proofs)
