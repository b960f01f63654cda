"""`kill -9` of the real gateway right after it answered: every acknowledged answer survives.

The gateway's stores commit with SQLite's ``synchronous=NORMAL`` in WAL by default (one fsync
fewer per answer): a commit is in the WAL before the answer is sent, so a process that dies
the instant after keeps it. The test answers a burst of requests, kills the server with
SIGKILL (no shutdown code runs; its proof worker goes with it), restarts on the same database
and finds every acknowledged proof job, then proven.
"""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from models.digits import load_digits_split
from tests.e2e.served import MODEL, serve, wait_for

pytestmark = pytest.mark.slow
BURST = 6


def _answer(url: str, i: int) -> str:
    x = load_digits_split().x_test[i].tolist()
    body = {"inputs": [{"name": "input", "shape": [1, 64], "datatype": "FP32", "data": x}]}
    r = httpx.post(f"{url}/v2/models/{MODEL}/infer", json=body, timeout=120)
    assert r.status_code == 200, r.text
    return str(r.json()["parameters"]["proof_id"])


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def _kill9(pid: int) -> None:
    for child in _children(pid):  # the worker process: a real crash takes the machine's all
        os.kill(child, signal.SIGKILL)
    os.kill(pid, signal.SIGKILL)


def test_kill_9_after_answering_loses_no_acknowledged_proof(tmp_path: Path) -> None:
    with serve(tmp_path, stop=False) as first:
        with ThreadPoolExecutor(BURST) as pool:
            ids = list(pool.map(lambda i: _answer(first.url, i), range(BURST)))
        _kill9(first.proc.pid)
        assert first.proc.wait(30) == -signal.SIGKILL
    assert len(set(ids)) == BURST
    with serve(tmp_path) as again:

        def states() -> list[str]:
            urls = [f"{again.url}/v2/models/{MODEL}/proofs/{i}" for i in ids]
            answers = [httpx.get(u) for u in urls]
            assert [r.status_code for r in answers if r.status_code == 404] == []
            return [str(r.json()["status"]) for r in answers]

        assert set(states()) <= {"pending", "proving", "done"}
        wait_for(lambda: states() == ["done"] * BURST, "every acknowledged proof", again, 600)
