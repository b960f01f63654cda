"""The proof worker never strands a job: store locks, unserved models, loop crashes, readiness."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.errors import StoreBusyError
from api.jobs import JobStore
from models.registry import Registry
from tests.api.fakes import FakeBackend, body, gateway

URL = "/v2/models/digits-mlp/infer"


def _wait_status(client: TestClient, pid: str, model: str = "digits-mlp") -> Any:
    for _ in range(500):
        r = client.get(f"/v2/models/{model}/proofs/{pid}")
        if r.status_code != 202:
            return r
        time.sleep(0.02)
    raise AssertionError(f"proof {pid} never left 202")


def _hold_lock(db: Path, seconds: float) -> threading.Thread:
    """Another connection takes SQLite's write lock and keeps it for ``seconds``."""
    held = threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(db, timeout=5, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        held.set()
        time.sleep(seconds)
        conn.execute("COMMIT")
        conn.close()

    t = threading.Thread(target=hold, daemon=True)
    t.start()
    assert held.wait(5), "could not take the SQLite lock"
    return t


def test_a_held_store_lock_delays_a_proof_but_never_loses_it(
    registry: Registry, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "jobs.db"
    gw, backend = gateway(registry.card("digits-mlp"), db, busy_timeout_s=0.05, retry_s=0.2)
    with TestClient(create_app(gw)) as client:
        pid = client.post(URL, json=body([0.5] * 64)).json()["parameters"]["proof_id"]
        while pid not in gw.worker.running:
            time.sleep(0.01)
        time.sleep(0.1)  # past its "proving" write: it now waits in the (blocked) prover
        holder = _hold_lock(db, 1.5)  # longer than the store's own retries: the worker's loop
        backend.release.set()  # proves now, then meets the lock when it writes the result
        holder.join()
        done = _wait_status(client, pid)
        assert done.status_code == 200 and done.json()["proof_hex"] == "0xabcd"
        assert gw.worker.alive and gw.worker.restarts == 0
        assert client.get("/v2/health/ready").json() == {"ready": True}
    assert "job store unavailable" in caplog.text  # the lock was really met, and outlasted


def test_a_request_meeting_a_held_lock_is_503_with_retry_after(
    registry: Registry, tmp_path: Path
) -> None:
    db = tmp_path / "jobs.db"
    gw, _ = gateway(
        registry.card("digits-mlp"),
        db,
        FakeBackend(registry.card("digits-mlp"), released=True),
        busy_timeout_s=0.05,
        retry_s=0.2,
    )
    with TestClient(create_app(gw)) as client:
        holder = _hold_lock(db, 1.0)
        r = client.post(URL, json=body([0.5] * 64))
        assert r.status_code == 503 and r.headers["Retry-After"] == "2"
        assert "store is busy" in r.json()["error"]
        holder.join()
        assert client.post(URL, json=body([0.5] * 64)).status_code == 200
    assert gw.worker.queue.reserved == 0  # the refused request gave its queue slot back


def test_store_retries_then_raises_store_busy(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = JobStore(f"sqlite:///{db}", busy_timeout_s=0.02, retry_s=0.1)
    holder = _hold_lock(db, 0.6)
    with pytest.raises(StoreBusyError, match="retry shortly"):
        store.create("m", "0x00", [0.0], [1.0])
    holder.join()
    assert store.create("m", "0x00", [0.0], [1.0]).status == "pending"


def test_jobs_of_a_model_no_longer_served_fail_with_the_reason(
    registry: Registry, tmp_path: Path
) -> None:
    db = tmp_path / "jobs.db"
    old = JobStore(f"sqlite:///{db}")
    cnn = registry.card("digits-cnn")
    orphan = old.create(cnn.name, cnn.commitment, [0.0] * 64, [0.0] * 10)
    gw, backend = gateway(registry.card("digits-mlp"), db)
    backend.release.set()
    with TestClient(create_app(gw)) as client:
        r = _wait_status(client, orphan.id, model="digits-cnn")
        assert r.status_code == 500
        assert "'digits-cnn' is not served by this gateway" in r.json()["error"]
        pid = client.post(URL, json=body([0.5] * 64)).json()["parameters"]["proof_id"]
        assert _wait_status(client, pid).status_code == 200  # the worker is still going
    assert gw.worker.restarts == 0


def test_a_crash_of_the_loop_is_survived_and_the_job_still_proven(
    registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gw, backend = gateway(registry.card("digits-mlp"), tmp_path / "jobs.db")
    backend.release.set()
    real_get = gw.store.get
    crashes = iter([True])

    def flaky_get(job_id: str) -> Any:
        if next(crashes, False):
            raise RuntimeError("a bug outside the per-job error handling")
        return real_get(job_id)

    monkeypatch.setattr(gw.store, "get", flaky_get)
    monkeypatch.setattr("api.jobs.worker.RETRY_PAUSE_S", 0.01)
    with TestClient(create_app(gw)) as client:
        pid = client.post(URL, json=body([0.25] * 64)).json()["parameters"]["proof_id"]
        assert _wait_status(client, pid).status_code == 200
        assert gw.worker.restarts == 1 and gw.worker.alive
    assert backend.proved == [[0.25] * 64]


def test_readiness_says_false_when_the_worker_is_not_running(
    registry: Registry, tmp_path: Path
) -> None:
    gw, backend = gateway(registry.card("digits-mlp"), tmp_path / "jobs.db")
    backend.release.set()
    with TestClient(create_app(gw)) as client:
        assert client.get("/v2/health/ready").status_code == 200
        gw.worker.stop()
        r = client.get("/v2/health/ready")
        assert r.status_code == 503 and r.json()["ready"] is False
        assert "job worker is not running" in r.json()["error"]
        assert client.get("/v2/models/digits-mlp/ready").status_code == 503
        gw.worker.start()
        assert client.get("/v2/health/ready").json() == {"ready": True}
