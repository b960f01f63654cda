"""Concurrent load on the real `verinfer serve` process: nothing lost, nothing but 200 or 503.

With a queue large enough every request is accepted and gets its own readable proof; with a
small queue the overflow is refused with 503 + Retry-After (never a 500), and every request it
did accept is still proven. Proving runs in the background; the first run only checks that
every proof is readable (200 done or 202 still queued), not that all 200 are finished.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests.e2e.served import MODEL, Served, serve, wait_for

pytestmark = pytest.mark.slow

RETRY_AFTER_S = 3
TIMEOUT = httpx.Timeout(60.0, connect=10.0)


@dataclass
class Answer:
    status: int
    retry_after: str | None
    body: dict[str, Any]


def _gateway(tmp: Path, max_queue: int) -> AbstractContextManager[Served]:
    return serve(tmp, max_queue=str(max_queue), retry_after_s=str(RETRY_AFTER_S))


def _inputs(n: int, seed: int) -> list[list[float]]:
    rows: list[list[float]] = np.random.default_rng(seed).random((n, 64)).tolist()
    assert len({tuple(r) for r in rows}) == n  # each request a different digit
    return rows


def _fire(served: Served, inputs: list[list[float]], concurrency: int) -> list[Answer]:
    url = f"{served.url}/v2/models/{MODEL}/infer"
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(timeout=TIMEOUT, limits=limits) as http:

        def one(x: list[float]) -> Answer:
            tensor = {"name": "input", "shape": [1, 64], "datatype": "FP32", "data": x}
            try:
                resp = http.post(url, json={"inputs": [tensor]})
            except httpx.HTTPError as exc:  # no answer at all: status 0, reported below
                return Answer(0, None, {"error": repr(exc)})
            try:
                body = resp.json()
            except ValueError:
                body = {"error": resp.text[:300]}
            return Answer(resp.status_code, resp.headers.get("retry-after"), body)

        with ThreadPoolExecutor(concurrency) as pool:
            return list(pool.map(one, inputs))


def _proof_statuses(served: Served, answers: list[Answer], concurrency: int = 50) -> list[int]:
    """The status of GET proof_url for each answer, fetched concurrently: a GET can wait up to
    a whole proof (about a second here) while the worker proves, so one after another is slow."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    with httpx.Client(base_url=served.url, timeout=TIMEOUT, limits=limits) as http:

        def one(a: Answer) -> int:
            return http.get(a.body["parameters"]["proof_url"]).status_code

        with ThreadPoolExecutor(concurrency) as pool:
            return list(pool.map(one, answers))


def _assert_accepted(answers: list[Answer]) -> None:
    for a in answers:
        assert a.status == 200
        assert len(a.body["outputs"][0]["data"]) == 10
    ids = [a.body["parameters"]["proof_id"] for a in answers]
    assert len(set(ids)) == len(ids), "two requests were given the same proof_id"


def test_200_concurrent_requests_are_all_accepted_with_readable_proofs(tmp_path: Path) -> None:
    with _gateway(tmp_path, max_queue=512) as served:
        t0 = time.monotonic()
        answers = _fire(served, _inputs(200, seed=20261202), concurrency=50)
        took = time.monotonic() - t0
        bad = [a for a in answers if a.status >= 500 and not (a.status == 503 and a.retry_after)]
        assert not bad, f"5xx without Retry-After: {[(a.status, a.body) for a in bad[:3]]}"
        others = [a for a in answers if a.status != 200]
        assert not others, f"{len(others)} not 200: {[(a.status, a.body) for a in others[:3]]}"
        _assert_accepted(answers)
        statuses = _proof_statuses(served, answers)
        assert set(statuses) <= {200, 202}, f"proof GETs answered {sorted(set(statuses))}"
        assert served.proc.poll() is None, served.tail()
        print(f"200 infers in {took:.1f}s; proofs done so far: {statuses.count(200)}")


def test_a_full_queue_answers_503_with_retry_after_and_loses_nothing(tmp_path: Path) -> None:
    with _gateway(tmp_path, max_queue=5) as served:
        answers = _fire(served, _inputs(60, seed=7), concurrency=30)
        for a in answers:
            assert a.status in (200, 503), (a.status, a.body)
            if a.status == 503:
                assert a.retry_after == str(RETRY_AFTER_S), a
                assert "queue is full" in a.body["error"]
        accepted = [a for a in answers if a.status == 200]
        refused = len(answers) - len(accepted)
        assert refused >= 1, "a queue of 5 took 60 concurrent requests without refusing one"
        assert accepted, "nothing was accepted"
        _assert_accepted(accepted)
        assert set(_proof_statuses(served, accepted)) <= {200, 202}

        def all_done() -> bool:
            return set(_proof_statuses(served, accepted)) == {200}

        wait_for(all_done, f"all {len(accepted)} accepted proofs done", served, timeout=120)
        print(f"accepted {len(accepted)}, refused {refused} with Retry-After")
