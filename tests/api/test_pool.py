"""Proofs run in worker processes: a killed worker's job is retried, a poisonous job fails with
the reason, a model the workers cannot load shows in readiness, and the event loop keeps
answering while a real EZKL proof runs."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.backends import ProverBackend, load_worker_backend
from api.deps import Gateway
from api.jobs import JobStore, ProcessPool
from api.serve import ServerThread
from models.registry import Registry
from tests.api.fakes import POISON, FakeBackend, GatedLoader, body, started_pids

URL = "/v2/models/digits-mlp/infer"


def _until(predicate: Callable[[], Any], what: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.02)
    raise AssertionError(f"{what} did not happen within {timeout}s")


@contextmanager
def _served(
    registry: Registry, tmp: Path, loader: GatedLoader, **kw: Any
) -> Iterator[tuple[Gateway, ProcessPool, TestClient]]:
    card = registry.card("digits-mlp")
    pool = ProcessPool(loader, [card.name], workers=1)
    store = JobStore(f"sqlite:///{tmp / 'jobs.db'}")
    gw = Gateway(store, {card.name: FakeBackend(card)}, {card.name: card}, pool=pool, **kw)
    with TestClient(create_app(gw)) as client:
        yield gw, pool, client


def _ready(client: TestClient) -> dict[str, Any]:
    def answered() -> dict[str, Any] | None:
        r = client.get("/v2/health/ready")
        starting = r.status_code == 503 and "starting" in r.json()["error"]
        return None if starting else {"status": r.status_code, **r.json()}

    result: dict[str, Any] = _until(answered, "workers loaded")
    return result


def _proof(client: TestClient, pid: str) -> Any:
    def finished() -> Any:
        r = client.get(f"/v2/models/digits-mlp/proofs/{pid}")
        return r if r.status_code != 202 else None

    return _until(finished, f"proof {pid} finished")


def _infer(client: TestClient, first: float) -> str:
    r = client.post(URL, json=body([first] + [0.5] * 63))
    assert r.status_code == 200, r.text
    proof_id: str = r.json()["parameters"]["proof_id"]
    return proof_id


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_proofs_run_in_a_worker_process_not_the_server(registry: Registry, tmp_path: Path) -> None:
    (tmp_path / "release").touch()
    with _served(registry, tmp_path, GatedLoader(tmp_path)) as (_, pool, client):
        assert _ready(client) == {"status": 200, "ready": True}
        workers = pool.pids()
        done = _proof(client, _infer(client, 0.25))
        assert done.status_code == 200 and done.json()["proof_hex"] == "0xabcd"
        assert done.json()["pid"] != os.getpid()
        assert workers == [done.json()["pid"]]  # the worker started at warm-up did it
    assert not _alive(workers[0])  # stopping the gateway stops its workers


def test_workers_run_at_a_lower_priority_than_the_server(
    registry: Registry, tmp_path: Path
) -> None:
    card = registry.card("digits-mlp")
    pool = ProcessPool(GatedLoader(tmp_path), [card.name], workers=1, nice=7)
    pool.start()
    try:
        _until(lambda: pool.status() is None and pool.pids(), "workers loaded")
        (pid,) = pool.pids()
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        assert os.getpriority(os.PRIO_PROCESS, pid) == min(mine + 7, 19)
    finally:
        pool.stop()


def test_a_worker_killed_mid_proof_has_its_job_retried_on_a_fresh_one(
    registry: Registry, tmp_path: Path
) -> None:
    with _served(registry, tmp_path, GatedLoader(tmp_path)) as (gw, pool, client):
        _ready(client)
        job = _infer(client, 0.25)
        first = _until(lambda: started_pids(tmp_path), "proof started")[0]
        os.kill(first, signal.SIGKILL)  # mid-proof: it waits for the release file
        second = _until(lambda: started_pids(tmp_path)[1:], "proof restarted")[0]
        (tmp_path / "release").touch()
        done = _proof(client, job)
        assert done.status_code == 200, done.text
        assert second != first and done.json()["pid"] == second
        assert (tmp_path / "proved").read_text().split("\n")[:-1] == [f"{second} 0.25"]
        assert gw.worker.lost == 1 and pool.generation == 2
        assert "verinfer_worker_lost_total 1.0" in client.get("/metrics").text


def test_a_job_that_kills_every_worker_fails_with_the_reason_and_others_go_on(
    registry: Registry, tmp_path: Path
) -> None:
    (tmp_path / "release").touch()
    with _served(registry, tmp_path, GatedLoader(tmp_path), job_attempts=2) as (gw, _, client):
        _ready(client)
        poisoned = _proof(client, _infer(client, POISON))
        assert poisoned.status_code == 500
        assert "worker process was lost 2 times running this job" in poisoned.json()["error"]
        assert len(started_pids(tmp_path)) == 2
        fine = _proof(client, _infer(client, 0.25))
        assert fine.status_code == 200 and fine.json()["proof_hex"] == "0xabcd"
        assert gw.worker.lost == 2 and gw.worker.alive


def test_a_hung_proof_is_cut_at_the_task_timeout_and_the_jobs_behind_it_go_on(
    registry: Registry, tmp_path: Path
) -> None:
    kw = {"job_attempts": 2, "task_timeout_s": 4.0}  # counted from submission: spawn fits
    with _served(registry, tmp_path, GatedLoader(tmp_path), **kw) as (gw, pool, client):
        _ready(client)
        hung = _infer(client, 0.25)  # never released: it would hold the worker for a minute
        behind = _infer(client, 0.5)
        retried = lambda: started_pids(tmp_path)[1:] and started_pids(tmp_path)  # noqa: E731
        first, second = _until(retried, "the retry on a fresh worker")
        assert first != second  # each attempt's worker was restarted, not waited for
        _until(lambda: gw.worker.lost == 2, "the second attempt cut")
        (tmp_path / "release").touch()  # the job behind it may now finish
        failed = _proof(client, hung)
        assert failed.status_code == 500
        error = failed.json()["error"]
        assert "was lost 2 times" in error and "VERINFER_TASK_TIMEOUT_S (4 s)" in error
        done = _proof(client, behind)
        assert done.status_code == 200 and done.json()["pid"] not in (first, second)
        assert gw.worker.lost == 2 and pool.generation == 3 and gw.worker.alive


def test_a_model_the_workers_cannot_load_shows_in_readiness_and_fails_its_jobs(
    registry: Registry, tmp_path: Path
) -> None:
    loader = GatedLoader(tmp_path, fail_models=("digits-mlp",))
    with _served(registry, tmp_path, loader) as (_, _, client):
        ready = _ready(client)
        assert ready["status"] == 503 and ready["ready"] is False
        assert "could not load model 'digits-mlp': no circuit for digits-mlp" in ready["error"]
        failed = _proof(client, _infer(client, 0.25))
        assert failed.status_code == 500
        assert "could not load model 'digits-mlp'" in failed.json()["error"]


def test_a_worker_that_dies_while_loading_is_replaced_before_readiness_says_ready(
    registry: Registry, tmp_path: Path
) -> None:
    (tmp_path / "release").touch()
    loader = GatedLoader(tmp_path, die_first_load=True)
    with _served(registry, tmp_path, loader) as (_, pool, client):
        assert _ready(client) == {"status": 200, "ready": True}
        assert (tmp_path / "died-loading").exists() and pool.generation == 2
        done = _proof(client, _infer(client, 0.25))
        assert done.status_code == 200 and done.json()["pid"] in pool.pids()


@pytest.mark.slow
def test_the_event_loop_answers_while_real_proofs_run(registry: Registry, tmp_path: Path) -> None:
    card = registry.build("digits-mlp")
    backend = ProverBackend.load(card)
    pool = ProcessPool(load_worker_backend, [card.name])
    gw = Gateway(
        JobStore(f"sqlite:///{tmp_path / 'jobs.db'}"),
        {card.name: backend},
        {card.name: card},
        pool=pool,
    )
    with ServerThread(create_app(gw)) as url, httpx.Client(base_url=url, timeout=120) as http:
        _until(lambda: http.get("/v2/health/ready").status_code == 200, "workers loaded")
        ids = [
            http.post(URL, json=body([v] + [0.5] * 63)).json()["parameters"]["proof_id"]
            for v in (0.1, 0.2, 0.3, 0.4)
        ]
        proof = f"/v2/models/{card.name}/proofs"
        _until(lambda: http.get(f"{proof}/{ids[0]}").json()["status"] == "proving", "proving")
        # With the proof in this process, each of these would wait for the GIL until a proof
        # ended, and 20 of them would outlast all four proofs.
        answers = [http.get("/v2/health/live").status_code for _ in range(20)]
        last = http.get(f"{proof}/{ids[-1]}")
        assert answers == [200] * 20
        assert last.status_code == 202, "all four proofs finished before 20 health checks"
        assert gw.worker.running  # a proof was still running after the last health answer

        def all_done() -> bool:
            return all(http.get(f"{proof}/{p}").status_code == 200 for p in ids)

        _until(all_done, "all four proofs done")
