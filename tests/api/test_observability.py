"""Prometheus metrics, JSON logs with the request id, and the 429 bound on requests in flight."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from numpy.typing import NDArray

from api.app import create_app
from api.logs import JsonFormatter
from api.serve import ServerThread
from models.registry import Registry
from tests.api.fakes import FakeBackend, body, gateway

URL = "/v2/models/digits-mlp/infer"


def _metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (AssertionError if absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        sample, _, got = key.partition("{")
        got_labels = ",".join(sorted(got.rstrip("}").split(","))) if got else ""
        if sample == name and got_labels == want:
            return float(value)
    raise AssertionError(f"no sample {name}{{{want}}} in:\n{text[:3000]}")


def _wait(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + 30
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.01)


def test_metrics_count_requests_by_route_template_jobs_and_queue(
    registry: Registry, tmp_path: Path
) -> None:
    gw, backend = gateway(registry.card("digits-mlp"), tmp_path / "j.db")
    with TestClient(create_app(gw)) as client:
        ids = [
            client.post(URL, json=body([0.5] * 64)).json()["parameters"]["proof_id"]
            for _ in range(3)
        ]
        _wait(lambda: gw.worker.running, "a job running")
        assert client.post(URL, json=body([0.5] * 63)).status_code == 422
        assert client.get("/no/such/path/at/all").status_code == 404
        text = client.get("/metrics").text
        assert _metric(text, "verinfer_queue_depth") == 2.0  # one proving, two waiting
        assert _metric(text, "verinfer_jobs_running") == 1.0
        route = {"route": "/v2/models/{name}/infer", "method": "POST"}
        assert _metric(text, "verinfer_http_request_seconds_count", **route, status="200") == 3
        assert _metric(text, "verinfer_http_request_seconds_count", **route, status="422") == 1
        unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
        assert _metric(text, "verinfer_http_request_seconds_count", **unmatched) == 1
        assert "/no/such/path" not in text  # a client cannot mint label values
        assert _metric(text, "verinfer_inferences_total", model="digits-mlp", outcome="ok") == 3
        backend.release.set()
        _wait(lambda: gw.store.get(ids[-1]).status == "done", "proofs done")
        text = client.get("/metrics").text
        assert _metric(text, "verinfer_proof_seconds_count", model="digits-mlp", status="done") == 3
        assert _metric(text, "verinfer_queue_depth") == 0.0
        assert _metric(text, "verinfer_build_info", version="0.1.0") == 1.0


def test_metric_hooks_for_traces_claims_and_gas(registry: Registry, tmp_path: Path) -> None:
    gw, _ = gateway(registry.card("digits-mlp"), tmp_path / "j.db")
    gw.metrics.trace_seconds("digits-mlp", "done", 0.3)
    gw.metrics.set_claims("digits-mlp", {"claimed": 2, "final": 5})
    gw.metrics.set_claims("made-up-model", {"lost": 1})
    gw.metrics.gas_used("claim", 120_000, wei=120_000 * 10**9)
    gw.metrics.gas_used("claim", 80_000)
    text, _ = gw.metrics.exposition()
    out = text.decode()
    assert _metric(out, "verinfer_trace_seconds_count", model="digits-mlp", status="done") == 1
    assert _metric(out, "verinfer_claims", model="digits-mlp", state="claimed") == 2
    assert _metric(out, "verinfer_claims", model="digits-mlp", state="challenged") == 0
    assert _metric(out, "verinfer_claims", model="other", state="lost") == 1
    assert _metric(out, "verinfer_gas_used_total", action="claim") == 200_000
    assert _metric(out, "verinfer_gas_spent_wei_total", action="claim") == 120_000 * 10**9


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """The root logger's output as JSON lines, as `verinfer serve` writes it."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield out
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_every_log_line_is_json_with_the_request_or_job_id(
    registry: Registry, tmp_path: Path, log_lines: io.StringIO
) -> None:
    card = registry.card("digits-mlp")
    gw, _ = gateway(card, tmp_path / "j.db", FakeBackend(card, fail=True, released=True))
    with TestClient(create_app(gw)) as client:
        r = client.post(URL, json=body([0.5] * 64), headers={"X-Request-ID": "client-42"})
        assert r.headers["x-request-id"] == "client-42"
        pid = r.json()["parameters"]["proof_id"]
        _wait(lambda: gw.store.get(pid).status == "failed", "the proof failed")
        hostile = client.get("/v2/health/live", headers={"X-Request-ID": "a b<script>" * 9})
        minted = hostile.headers["x-request-id"]
        assert minted != "a b<script>" * 9 and len(minted) == 32
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    access = [d for d in lines if d["logger"] == "api.access"]
    infer = next(d for d in access if d["route"] == "/v2/models/{name}/infer")
    assert infer["request_id"] == "client-42" and infer["status"] == 200 and infer["ms"] > 0
    assert any(d["request_id"] == minted for d in access)
    failed = [d for d in lines if d.get("job_id") == pid]
    assert failed and all(d["level"] in ("WARNING", "ERROR") for d in failed)
    assert any("boom" in d["message"] or "boom" in d.get("exc", "") for d in failed)


class GatedPredict(FakeBackend):
    """Predicts only once ``go`` is set, so a test can hold a request in flight."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.go = threading.Event()

    def predict(self, inputs: dict[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
        assert self.go.wait(30)
        return super().predict(inputs)


def test_requests_in_flight_beyond_the_bound_get_429_with_retry_after(
    registry: Registry, tmp_path: Path
) -> None:
    card = registry.card("digits-mlp")
    backend = GatedPredict(card, released=True)
    gw, _ = gateway(card, tmp_path / "j.db", backend, max_inflight=1, retry_after_s=3)
    with ServerThread(create_app(gw)) as url, httpx.Client(base_url=url, timeout=60) as http:
        held: list[int] = []
        first = threading.Thread(
            target=lambda: held.append(http.post(URL, json=body([0.5] * 64)).status_code)
        )
        first.start()
        _wait(lambda: gw.inflight == 1, "the first request in flight")
        refused = http.post(URL, json=body([0.5] * 64))
        assert refused.status_code == 429 and refused.headers["retry-after"] == "3"
        assert "VERINFER_MAX_INFLIGHT" in refused.json()["error"]
        assert http.get("/v2/health/live").status_code == 200  # only infer is bounded
        backend.go.set()
        first.join(30)
        assert held == [200] and gw.inflight == 0
        assert http.post(URL, json=body([0.5] * 64)).status_code == 200
    assert gw.stats.body(["digits-mlp"]).model_stats[0].inference_count == 2  # not the 429


class BrokenPredict(FakeBackend):
    def predict(self, inputs: dict[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
        raise RuntimeError("kernel exploded")


def test_a_bug_is_a_500_naming_the_request_id_and_logged_with_it(
    registry: Registry, tmp_path: Path, log_lines: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    card = registry.card("digits-mlp")
    gw, _ = gateway(card, tmp_path / "j.db", BrokenPredict(card))

    def broken(names: Any) -> Any:
        raise RuntimeError("stats bug")

    monkeypatch.setattr(gw.stats, "body", broken)
    with TestClient(create_app(gw), raise_server_exceptions=False) as client:
        r = client.post(URL, json=body([0.5] * 64), headers={"X-Request-ID": "p-1"})
        assert r.status_code == 500 and "failed on this input: kernel exploded" in r.json()["error"]
        r = client.get("/v2/models/stats", headers={"X-Request-ID": "bug-1"})
        assert r.status_code == 500
        assert r.json() == {"error": "internal error (RuntimeError); request id bug-1"}
    assert gw.store.unfinished() == []  # the failed prediction persisted nothing
    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    bug = next(d for d in lines if d["message"] == "unhandled error")
    assert bug["request_id"] == "bug-1" and "stats bug" in bug["exc"]
    predict = next(d for d in lines if d["message"].startswith("predict failed"))
    assert predict["request_id"] == "p-1" and "kernel exploded" in predict["exc"]
