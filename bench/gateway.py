"""Gateway benchmark: loopback infer load, overhead over the bare backend, batched claim gas.

For each model (digits-mlp served zk, minilm-l6 served optimistic) a real gateway runs in its
own process (``verinfer serve``: uvicorn on 127.0.0.1, proofs and traces in its worker
process, a fresh SQLite store) and gets ``REQUESTS`` OIP JSON infer requests from 1, 8 and 32
concurrent keep-alive clients: latency p50 / p99 and throughput per level. Between levels the
bench waits until the gateway's background queue (the proofs or traces the answers started)
is empty, so each level starts alike. Overhead: for ``PAIRS`` requests at one client, the
client's mean latency against the gateway's own mean time in the backend's ``predict`` (the
prover's witness, the executor's run) over the same requests, from its Triton statistics
endpoint: the bare backend in the same process, on the same inputs, under the same background
work. (Timing a second copy of the backend in this process instead measured the two processes'
fight for 2 cores, not the gateway.) overhead = mean(latency) / mean(predict) - 1.

Then, on a fresh anvil, the claim gas of MiniLM responses: one single claim (output bytes
bound to P_n at claim time) against ``claimBatch`` of 1, 8 and 64 leaves per response, with
``openLeaf`` and ``finalizeLeaf`` (which carries the output the batch left out). Writes
``bench/results/gateway.json`` and ``gateway.md``.

Usage::

    python -m bench gateway
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench._machine import machine

RESULTS = Path(__file__).parent / "results"
MODELS = ("digits-mlp", "minilm-l6")
LEVELS = (1, 8, 32)
REQUESTS = 64  # per level: bounded, so the background work they start stays bounded too
PAIRS = 32  # bare / gateway pairs for the overhead
BATCHES = (1, 8, 64)
TARGET_OVERHEAD = 0.10
SENTENCE = "who checks the answer of a large model, and how much does it cost?"
START_S, DRAIN_S, CLIENT_TIMEOUT_S = 900.0, 1800.0, 1800.0


class Unavailable(RuntimeError):
    """The gateway cannot serve this model here (the reason goes in the table)."""


# ---- the gateway under test, in its own process ----


@contextmanager
def served(name: str) -> Iterator[str]:
    """`verinfer serve --model name` on a free port with a fresh store; yields its URL."""
    from contracts.chain import free_port

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-gw-") as tmp:
        env = {**os.environ, "VERINFER_DATABASE_URL": f"sqlite:///{tmp}/jobs.db"}
        log = Path(tmp) / "serve.log"
        cmd = [sys.executable, "-c", "from api.cli import main; main()", "serve",
               "--model", name, "--port", str(port)]  # fmt: skip
        with log.open("w") as out:
            proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_ready(proc, url, log)
            yield url
        finally:
            proc.terminate()
            proc.wait(60)


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    import httpx

    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text().strip().splitlines()[-3:]
            raise Unavailable(f"`verinfer serve` exited {proc.returncode}: {' / '.join(tail)}")
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise Unavailable(f"the gateway was not ready within {START_S:.0f} s")


def drain(url: str) -> float:
    """Wait until no job is queued or running (from /metrics); the seconds it took."""
    import httpx

    t0 = time.monotonic()
    while time.monotonic() - t0 < DRAIN_S:
        text = httpx.get(f"{url}/metrics", timeout=30).text
        if _gauge(text, "verinfer_queue_depth") == 0 and _gauge(text, "verinfer_jobs_running") == 0:
            return time.monotonic() - t0
        time.sleep(0.5)
    raise RuntimeError(f"the gateway's queue did not drain in {DRAIN_S:.0f} s")


def _gauge(metrics: str, name: str) -> float:
    for line in metrics.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return -1.0


# ---- what the clients send, and the bare backend beside it ----


@dataclass(frozen=True)
class Workload:
    """One model's infer body, encoded once."""

    name: str
    body: bytes

    @property
    def path(self) -> str:
        return f"/v2/models/{self.name}/infer"


def workload(name: str) -> Workload:
    """A digits test image for digits-mlp, one tokenized sentence for MiniLM."""
    if name == "minilm-l6":
        from models.minilm import tokenize

        ids, mask = tokenize([SENTENCE])
        tensors = {"input_ids": ids, "attention_mask": mask}
    else:
        from models.digits import load_digits_split

        tensors = {"input": load_digits_split().x_test[0].reshape(1, 64).astype(np.float32)}
    body = {"inputs": [_oip(k, v) for k, v in tensors.items()]}
    return Workload(name, json.dumps(body).encode())


def _oip(name: str, value: Any) -> dict[str, Any]:
    arr = np.asarray(value)
    kind = "INT64" if arr.dtype.kind == "i" else "FP32"
    return {"name": name, "shape": list(arr.shape), "datatype": kind, "data": arr.ravel().tolist()}


# ---- the client: one keep-alive connection, as little work of its own as Python allows ----


class Conn:
    """A keep-alive HTTP/1.1 connection (http.client): the bench's instrument, not its subject.

    httpx costs about 0.4 ms more per request than this on loopback (measured), which would
    count as gateway overhead.
    """

    def __init__(self, url: str) -> None:
        import http.client
        from urllib.parse import urlsplit

        u = urlsplit(url)
        self.http = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, CLIENT_TIMEOUT_S)

    def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        return self._send("POST", path, body, {"Content-Type": "application/json"})

    def get(self, path: str) -> tuple[int, bytes]:
        return self._send("GET", path, None, {})

    def _send(
        self, method: str, path: str, body: bytes | None, hdr: dict[str, str]
    ) -> tuple[int, bytes]:
        self.http.request(method, path, body, hdr)
        r = self.http.getresponse()
        return int(r.status), bytes(r.read())

    def __enter__(self) -> Conn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()


# ---- load ----


def load(url: str, w: Workload, clients: int, total: int | None = None) -> dict[str, Any]:
    """`total` requests from `clients` keep-alive clients; latency percentiles, throughput."""

    latencies: list[float] = []
    failures: list[int] = []
    left = [REQUESTS if total is None else total]
    lock = threading.Lock()

    def client() -> None:
        with Conn(url) as http:
            while True:
                with lock:
                    if left[0] == 0:
                        return
                    left[0] -= 1
                t0 = time.perf_counter()
                status, _ = http.post(w.path, w.body)
                dt = time.perf_counter() - t0
                with lock:
                    if status == 200:
                        latencies.append(dt)
                    else:
                        failures.append(status)

    wall = _run_threads(client, clients)
    return _summary(latencies, failures, wall, clients)


def _run_threads(target: Any, n: int) -> float:
    threads = [threading.Thread(target=target) for _ in range(n)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0


def _summary(lat: list[float], failures: list[int], wall: float, clients: int) -> dict[str, Any]:
    ms = np.asarray(lat) * 1000 if lat else np.asarray([np.nan])
    return {
        "clients": clients,
        "requests": len(lat) + len(failures),
        "failed": sorted(set(failures)),
        "p50_ms": round(float(np.percentile(ms, 50)), 2),
        "p99_ms": round(float(np.percentile(ms, 99)), 2),
        "throughput_rps": round(len(lat) / wall, 2),
    }


def overhead(url: str, w: Workload) -> dict[str, Any]:
    """Sequential requests: the client's mean latency against the gateway's mean predict time."""
    times = []
    with Conn(url) as http:
        before = _infer_stats(http, w.name)
        for _ in range(PAIRS):
            t0 = time.perf_counter()
            status, answer = http.post(w.path, w.body)
            times.append(time.perf_counter() - t0)
            if status != 200:
                raise RuntimeError(f"infer answered {status}: {answer[:300]!r}")
        after = _infer_stats(http, w.name)
        floor = _floor(http)
    (n_p, ns_p), (n_s, ns_s) = (
        (after[k][0] - before[k][0], after[k][1] - before[k][1])
        for k in ("compute_infer", "success")
    )
    bare, server = ns_p / n_p / 1e6, ns_s / n_s / 1e6
    latency = statistics.mean(times) * 1000
    return {"bare_ms": round(bare, 2), "server_ms": round(server, 2),
            "gateway_ms": round(latency, 2), "overhead": round(latency / bare - 1, 3),
            "floor_ms": round(floor, 2)}  # fmt: skip


def _floor(http: Conn) -> float:
    """Mean latency of the liveness route: one HTTP round trip through the stack, no work."""
    times = []
    for _ in range(PAIRS):
        t0 = time.perf_counter()
        http.get("/v2/health/live")
        times.append(time.perf_counter() - t0)
    return statistics.mean(times) * 1000


def _infer_stats(http: Conn, name: str) -> dict[str, tuple[int, int]]:
    body = json.loads(http.get(f"/v2/models/{name}/stats")[1])
    stats = body["model_stats"][0]["inference_stats"]
    return {k: (int(v["count"]), int(v["ns"])) for k, v in stats.items()}


def measure(name: str) -> dict[str, Any]:
    """Every figure of one model, or why the gateway cannot serve it."""
    try:
        w = workload(name)
        with served(name) as url:
            load(url, w, 1, 4)  # warm-up: first requests pay for lazy imports and caches
            drain(url)
            out: dict[str, Any] = {"mode": _mode(name), "levels": [], "drain_s": []}
            for clients in LEVELS:
                print(f"  {name}: {clients} clients …", flush=True)
                out["levels"].append(load(url, w, clients))
                out["drain_s"].append(round(drain(url), 1))
            out["overhead"] = overhead(url, w)
            drain(url)
            return out
    except Unavailable as exc:
        return {"mode": _mode(name), "unavailable": str(exc)}


def _mode(name: str) -> str:
    from models.registry import Registry

    return str(Registry.default().build(name).mode)


# ---- claim gas, single against batched ----


def claim_gas() -> dict[str, Any]:
    """MiniLM claim gas on a fresh anvil: a single claim and claimBatch of each size."""
    from contracts.chain import Anvil

    tr = _minilm_trace()
    with Anvil() as node:
        c = _BatchChain.on(node, tr)
        single = c.single()
        batched = {str(n): c.batch(n) for n in BATCHES}
    return {"single": single, "batched": batched}


def _minilm_trace() -> Any:
    from disputes.execution.executor import load_program
    from disputes.tracing.trace import trace
    from models.minilm import tokenize
    from models.registry import Registry

    reg = Registry.default()
    program = load_program(reg.onnx_path("minilm-l6"))
    ids, mask = tokenize([SENTENCE])
    return trace(program, {"input_ids": ids, "attention_mask": mask})


@dataclass
class _BatchChain:
    """A fresh deployment with MiniLM registered, and the honest response of one trace."""

    node: Any
    chain: Any
    model_id: int
    data: bytes
    response: Any

    @classmethod
    def on(cls, node: Any, tr: Any) -> _BatchChain:
        from bench.disputes import _chain, _register
        from disputes.game.batch import Response
        from disputes.game.encoding import input_bytes
        from disputes.game.view import TraceView

        c = _chain(node)
        model_id = _register(c, tr.program, 1)
        return cls(node, c, model_id, input_bytes(tr.program, tr.inputs),
                   Response.of_view(0, TraceView(tr)))  # fmt: skip

    def escrow(self, who: str) -> Any:
        from contracts.clients import EscrowClient

        return EscrowClient(self.chain.w3, self.chain.dep.escrow, getattr(self.chain, who))

    def requests(self, n: int) -> list[int]:
        from bench.disputes import FEE

        client = self.escrow("client")
        return [client.request_optimistic(self.model_id, self.data, FEE) for _ in range(n)]

    def single(self) -> dict[str, int]:
        from bench.disputes import BOND

        (rid,) = self.requests(1)
        r = self.response
        claim = self.escrow("provider").claim(rid, r.output, r.final_checkpoint, r.output_proof,
                                              BOND).gas_used  # fmt: skip
        self.node.increase_time(self.chain.dep.challenge_window + 1)
        return {"claim": claim, "finalize": self.escrow("watcher").finalize(rid).gas_used}

    def batch(self, n: int) -> dict[str, Any]:
        from bench.disputes import BOND
        from disputes.game.batch import Batch

        rids = self.requests(n)
        batch = Batch.of([(rid, self.response.final_checkpoint) for rid in rids])
        self.escrow("provider").claim_batch(rids, batch.checkpoints, n * BOND)
        claim = self.chain.last_gas()
        out: dict[str, Any] = {"claim": claim, "per_response": round(claim / n)}
        watcher = self.escrow("watcher")
        if n > 1:
            out["open_leaf"] = watcher.open_leaf(batch.leaf(rids[-1])).gas_used
        self.node.increase_time(self.chain.dep.challenge_window + 1)
        fin = [self._finalize(batch, rid) for rid in rids[:2]]
        out["finalize_first"], out["finalize_leaf"] = fin[0], fin[-1]
        return out

    def _finalize(self, batch: Any, rid: int) -> int:
        r = self.response
        return int(self.escrow("watcher").finalize_leaf(batch.leaf(rid), r.output,
                                                        r.output_proof).gas_used)  # fmt: skip


# ---- report ----


def table(r: dict[str, Any]) -> str:
    """The README table."""
    rows = [
        "# Gateway under loopback load, and claim gas per response",
        "",
        f"Machine: {r['machine']} (1-minute load average {r['load_average'][0]} at the start, "
        f"{r['load_average'][1]} at the end: other work on the machine shows in every latency). "
        f"{REQUESTS} JSON infer requests per level from keep-alive clients on 127.0.0.1; the "
        "gateway in its own process with one worker process.",
        "",
        "| model | mode | clients | p50 ms | p99 ms | throughput req/s | failed |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, m in r["models"].items():
        if "unavailable" in m:
            rows.append(f"| {name} | {m['mode']} | — | not served: {m['unavailable']} | | | |")
            continue
        for lv in m["levels"]:
            rows.append(
                f"| {name} | {m['mode']} | {lv['clients']} | {lv['p50_ms']} | {lv['p99_ms']} "
                f"| {lv['throughput_rps']} | {', '.join(map(str, lv['failed'])) or '0'} |"
            )
    rows += ["", *_overhead_rows(r), "", *_gas_rows(r["claim_gas"])]
    return "\n".join(rows) + "\n"


def _overhead_rows(r: dict[str, Any]) -> list[str]:
    rows = [
        f"Gateway overhead at one client over the bare backend in the same run (target ≤ "
        f"{TARGET_OVERHEAD:.0%}; means over {PAIRS} sequential requests; predict and in-server "
        "times from the gateway's statistics endpoint, latency at the client):",
        "",
        "| model | predict ms | in server ms | latency ms | overhead | HTTP round trip ms |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, m in r["models"].items():
        o = m.get("overhead")
        if o is not None:
            rows.append(
                f"| {name} | {o['bare_ms']} | {o['server_ms']} | {o['gateway_ms']} "
                f"| {o['overhead']:.1%} | {o.get('floor_ms', '-')} |"
            )
    rows += ["", "HTTP round trip: the liveness route, the same client and gateway, no work."]
    return rows


def _gas_rows(g: dict[str, Any]) -> list[str]:
    s = g["single"]
    rows = [
        "MiniLM claim gas per response, single claims against one batched claim (docs/"
        "optimistic.md, Batched claims); a batched leaf's output is sent at finalize instead:",
        "",
        "| claims | claim gas | claim per response | finalize per response | both |",
        "| --- | --- | --- | --- | --- |",
        f"| single | {s['claim']:,} | {s['claim']:,} | {s['finalize']:,} "
        f"| {s['claim'] + s['finalize']:,} |",
    ]
    for n, b in g["batched"].items():
        rows.append(
            f"| batch of {n} | {b['claim']:,} | {b['per_response']:,} | {b['finalize_leaf']:,} "
            f"(the first, with the bond: {b['finalize_first']:,}) "
            f"| {b['per_response'] + b['finalize_leaf']:,} |"
        )
    open_gas = next((b["open_leaf"] for b in g["batched"].values() if "open_leaf" in b), None)
    if open_gas is not None:
        rows += ["", f"Opening one leaf for a game (`openLeaf`): {open_gas:,} gas."]
    return rows


def main() -> None:
    """Run every part and write bench/results/gateway.{json,md}."""
    load_before = os.getloadavg()[0]
    result: dict[str, Any] = {"machine": machine(), "models": {n: measure(n) for n in MODELS}}
    result["claim_gas"] = claim_gas()
    result["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "gateway.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "gateway.md").write_text(table(result))
    print(table(result))


if __name__ == "__main__":
    main()
