"""`verinfer serve` and `verinfer chain up` as real processes, stopped with Ctrl-C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from contracts.chain import free_port, rpc_call
from contracts.errors import AnvilError

pytestmark = pytest.mark.slow
EXE = str(Path(sys.executable).with_name("verinfer"))


def _wait(predicate: object, what: str, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():  # type: ignore[operator]
                return
        except (httpx.HTTPError, OSError, ValueError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout}s")


def _interrupt(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGINT)
    return proc.wait(timeout=30)


@pytest.fixture
def gateway(registry: object) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [EXE, "serve", "--port", str(port), "--model", "digits-mlp"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: httpx.get(f"{url}/v2/health/ready").json()["ready"], "gateway ready")
        yield url
    finally:
        assert _interrupt(proc) == 0


def test_serve_answers_infer_and_proof_and_rejects_bad_input(gateway: str) -> None:
    bad = httpx.post(
        f"{gateway}/v2/models/digits-mlp/infer",
        json={
            "inputs": [{"name": "input", "shape": [1, 64], "datatype": "FP32", "data": [0.5] * 10}]
        },
    )
    assert bad.status_code == 422
    assert "10 values" in bad.json()["error"]
    good = httpx.post(
        f"{gateway}/v2/models/digits-mlp/infer",
        json={
            "inputs": [{"name": "input", "shape": [1, 64], "datatype": "FP32", "data": [0.25] * 64}]
        },
    )
    assert good.status_code == 200
    url = f"{gateway}{good.json()['parameters']['proof_url']}"
    _wait(lambda: httpx.get(url).status_code == 200, "proof done", timeout=120)
    proof = httpx.get(url).json()
    assert proof["status"] == "done"
    assert proof["n_inputs"] == 64
    assert len(proof["instances"]) == 74


def test_chain_up_deploys_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    out = tmp_path / "deployment.json"
    proc = subprocess.Popen(
        [EXE, "chain", "up", "--port", str(port), "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait(out.exists, "deployment file", timeout=60)
        dep = json.loads(out.read_text())
        url = f"http://127.0.0.1:{port}"
        assert int(rpc_call(url, "eth_chainId"), 16) == dep["chain_id"]
        for name in ("registry", "escrow"):
            assert len(rpc_call(url, "eth_getCode", [dep[name], "latest"])) > 2
    finally:
        code = _interrupt(proc)
    assert code == 0
    with pytest.raises(AnvilError, match="Connection refused"):
        rpc_call(f"http://127.0.0.1:{port}", "eth_chainId", timeout=1.0)


def test_serve_refuses_an_unpinned_srs_in_production(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "VERINFER_PRODUCTION": "1", "VERINFER_SRS_DIR": str(tmp_path)}
    run = subprocess.run(
        [EXE, "serve", "--model", "digits-mlp"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert run.returncode == 1
    assert "not pinned" in run.stderr and "VERINFER_SRS_SHA256" in run.stderr
