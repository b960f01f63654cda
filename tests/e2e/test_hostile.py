"""Hostile input against the real `verinfer serve` process and the real client, over HTTP.

tests/api/ shows the same limits with a fake backend in-process; here they are shown on the
process a user runs: a deep-nesting body must not crash it (py_ecc raises the recursion limit,
and CPython's C JSON decoder then overflows the C stack), a huge body must not cost it memory,
and a hostile gateway must not crash or exhaust the dApp client.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.served import MODEL, Served, serve, wait_for

pytestmark = pytest.mark.slow

MAX_BODY = 1 << 20
DEEP = b"[" * 100_000 + b"]" * 100_000  # 200 KB: under the body limit, 100000 levels deep
HUGE = 50 * 1000 * 1000
MIB = 1 << 20


@pytest.fixture(scope="module")
def gateway(registry: object, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(tmp_path_factory.mktemp("hostile"), max_body_bytes=str(MAX_BODY)) as served:
        yield served


def _infer_url(served: Served) -> str:
    return f"{served.url}/v2/models/{MODEL}/infer"


def _body(data: Any, shape: list[int] | None = None) -> dict[str, Any]:
    tensor = {"name": "input", "shape": shape or [1, 64], "datatype": "FP32", "data": data}
    return {"inputs": [tensor]}


def _post_json(served: Served, doc: Any) -> httpx.Response:
    return httpx.post(
        _infer_url(served),
        content=json.dumps(doc).encode(),  # json.dumps writes 10**400 out as JSON allows
        headers={"content-type": "application/json"},
        timeout=60,
    )


def _assert_answers_and_proves(served: Served, data: list[Any]) -> None:
    resp = _post_json(served, _body(data))
    assert resp.status_code == 200, resp.text
    doc = resp.json()
    assert len(doc["outputs"][0]["data"]) == 10
    url = f"{served.url}{doc['parameters']['proof_url']}"
    wait_for(lambda: httpx.get(url).status_code == 200, "proof done", served, timeout=120)
    assert httpx.get(url).json()["status"] == "done"


def _status(pid: int, field: str) -> int:
    """A /proc/<pid>/status memory figure (VmRSS, VmHWM) in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} for pid {pid}")


def test_deep_nesting_is_refused_and_the_gateway_lives_on(gateway: Served) -> None:
    try:
        resp = httpx.post(
            _infer_url(gateway),
            content=DEEP,
            headers={"content-type": "application/json"},
            timeout=60,
        )
    except httpx.TransportError as exc:
        try:
            code: int | None = gateway.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = None
        pytest.fail(f"no answer ({exc!r}); gateway exit code {code} (-11: SIGSEGV)")
    assert 400 <= resp.status_code < 500, resp.text
    assert "nested" in resp.json()["error"]
    assert gateway.proc.poll() is None, gateway.tail()
    _assert_answers_and_proves(gateway, [0.25] * 64)


def test_a_50mb_body_gets_413_without_costing_memory(gateway: Served) -> None:
    pid = gateway.proc.pid
    before = _status(pid, "VmRSS")
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS: measure this test's peak
    declared = httpx.post(
        _infer_url(gateway),
        content=b"[" + b"0," * (HUGE // 2) + b"0]",
        headers={"content-type": "application/json"},
        timeout=60,
    )
    assert declared.status_code == 413, declared.text
    assert "VERINFER_MAX_BODY_BYTES" in declared.json()["error"]

    def chunks() -> Iterator[bytes]:
        piece = b"0," * (MIB // 2)
        yield b"["
        for _ in range(HUGE // MIB):
            yield piece
        yield b"0]"

    streamed = httpx.post(
        _infer_url(gateway),
        content=chunks(),
        headers={"content-type": "application/json"},
        timeout=60,
    )
    assert streamed.request.headers.get("transfer-encoding") == "chunked"
    assert streamed.status_code == 413, streamed.text
    assert "VERINFER_MAX_BODY_BYTES" in streamed.json()["error"]
    assert gateway.proc.poll() is None, gateway.tail()
    peak = _status(pid, "VmHWM")
    assert peak - before < 100 * MIB, f"RSS {before / MIB:.0f} MiB, peak {peak / MIB:.0f} MiB"


def test_huge_integer_is_422_naming_it(gateway: Served) -> None:
    data: list[Any] = [0.5] * 64
    data[3] = 10**400
    resp = _post_json(gateway, _body(data))
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert "element 3" in error
    assert "too large" in error


def test_nesting_must_match_the_shape(gateway: Served) -> None:
    halves = [[0.5] * 32, [0.5] * 32]  # 64 values, but nested [2, 32] for shape [1, 64]
    resp = _post_json(gateway, _body(halves))
    assert resp.status_code == 422, resp.text
    assert "does not match shape [1, 64]" in resp.json()["error"]
    deeper = [[[0.5] * 64]]  # [1, 1, 64]
    resp = _post_json(gateway, _body(deeper))
    assert resp.status_code == 422, resp.text
    assert "does not match shape" in resp.json()["error"]


def test_data_nested_exactly_as_the_shape_is_accepted(gateway: Served) -> None:
    resp = _post_json(gateway, _body([[i / 64 for i in range(64)]]))
    assert resp.status_code == 200, resp.text
    assert resp.json()["parameters"]["proof_url"].startswith(f"/v2/models/{MODEL}/proofs/")


# The dApp side: a hostile "gateway" answering every request with a 200 KB body nested 100000
# deep, or with a 64 MB JSON document. The client runs in its own interpreter, after
# `import web3` (py_ecc raises the recursion limit to 100000 on import), so that a C-stack
# overflow shows as a signal exit code instead of killing the test run.
CLIENT_SCRIPT = textwrap.dedent(
    """
    import sys
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import web3  # noqa: F401  - py_ecc: sys.setrecursionlimit(100000)

    print("recursion limit after web3:", sys.getrecursionlimit(), flush=True)

    from verifier import Client, GatewayError

    if sys.argv[1] == "deep":
        BODY = b"[" * 100_000 + b"]" * 100_000
    else:
        BODY = b'{"outputs": "' + b"x" * (64 << 20) + b'"}'

    class Hostile(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(BODY)))
            self.end_headers()
            try:
                self.wfile.write(BODY)
            except OSError:  # the client stopped reading: that is the point
                pass

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with Client(url) as client:
            answer = client.infer("digits-mlp", [0.5] * 64, shape=[1, 64])
        print("ACCEPTED", type(answer).__name__, flush=True)
    except GatewayError as exc:
        print("GatewayError:", str(exc)[:300], flush=True)
    server.shutdown()
    """
)


@pytest.mark.parametrize(("answer", "reason"), [("deep", "nested"), ("huge", "over")])
def test_client_survives_a_hostile_gateway(answer: str, reason: str) -> None:
    run = subprocess.run(
        [sys.executable, "-c", CLIENT_SCRIPT, answer], capture_output=True, text=True, timeout=120
    )
    detail = f"rc={run.returncode}\nstdout:\n{run.stdout}\nstderr:\n{run.stderr[-3000:]}"
    assert run.returncode == 0, detail  # a C-stack overflow is -11 (SIGSEGV)
    assert "recursion limit after web3: 100000" in run.stdout, detail  # the hostile setting
    assert "ACCEPTED" not in run.stdout, detail
    errors = [line for line in run.stdout.splitlines() if line.startswith("GatewayError:")]
    assert len(errors) == 1, detail
    assert reason in errors[0], detail
