"""Benchmark the integer executor against onnxruntime float32, same inputs, 2 threads each.

Usage::

    python -m bench executor        # writes bench/results/executor.json and executor.md

Each model runs in its own child process (so peak RSS is per model): onnxruntime float32,
our ``run`` (output + its root only) and our full ``trace`` (every tensor root, every
checkpoint). Both sides use 2 threads: ORT intra-op threads = 2, BLAS threads = 2.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench._machine import machine

RESULTS = Path(__file__).parent / "results"
# "name@exact" runs the exact profile (every product a float64-exact v1 ``matmul``, SPEC §2).
MODELS = ["digits-cnn", "minilm-l6", "minilm-l6@exact", "gpt2-synth"]
COSINE_SENTENCES = 20  # accuracy beside speed: MiniLM cosine to onnxruntime float32
THREADS = 2
REPEATS = {"onnxruntime": 4, "run": 4, "trace": 2}  # calls per block; a block keeps its best
ROUNDS = 8


def _inputs(name: str) -> dict[str, np.ndarray]:
    if name.startswith("digits"):
        from models.digits import load_digits_split

        x = load_digits_split().x_test[0]
        return {"input": x.reshape(1, 64) if name == "digits-mlp" else x.reshape(1, 1, 8, 8)}
    if name == "minilm-l6":
        from models.minilm import tokenize

        ids, mask = tokenize(["Verifiable inference lets anyone check a model's answer."])
        return {"input_ids": ids, "attention_mask": mask}
    from models.gpt2 import GPT2Shape, sample_ids

    return {"input_ids": sample_ids(GPT2Shape())}


def _rounds(fns: dict[str, Callable[[], object]]) -> dict[str, list[float]]:
    """Per round, each function's best ms over a block of calls; the blocks alternate.

    Blocks (not single calls) alternate because onnxruntime's threads spin for a while after
    a call and would slow whatever runs right after it. Each block keeps its best call, so a
    burst of load from other jobs on this shared machine hits a block, not the figure.
    """
    times: dict[str, list[float]] = {k: [] for k in fns}
    for fn in fns.values():
        fn()  # warm-up
    for _ in range(ROUNDS):
        for k, fn in fns.items():
            time.sleep(0.05)
            best = float("inf")
            for _ in range(REPEATS[k]):
                t = time.perf_counter()
                fn()
                best = min(best, (time.perf_counter() - t) * 1000)
            times[k].append(best)
    return times


def _ratio(ours: list[float], base: list[float]) -> float:
    """Median over rounds of ours / onnxruntime, both measured in the same round."""
    return statistics.median(o / b for o, b in zip(ours, base, strict=True))


def measure(spec: str) -> dict[str, Any]:
    """Times (median ms) for one model (``name`` or ``name@exact``), in this process."""
    import onnxruntime as ort
    from threadpoolctl import threadpool_limits

    from disputes.execution.accuracy import minilm_cosines
    from disputes.execution.executor import load_program, run
    from disputes.program.quantize import QuantConfig
    from disputes.tracing.trace import trace
    from models.registry import Registry

    name, _, profile = spec.partition("@")
    reg = Registry.default()
    reg.build(name)
    path = reg.onnx_path(name)
    feeds = _inputs(name)
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = THREADS, 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    t = time.perf_counter()
    program = load_program(path, QuantConfig(mm_wbits=0) if profile == "exact" else None)
    load_s = time.perf_counter() - t
    with threadpool_limits(THREADS):
        rounds = _rounds(
            {
                "onnxruntime": lambda: sess.run(None, feeds),
                "run": lambda: run(program, feeds),
                "trace": lambda: trace(program, feeds, keep_tensors=False),
            }
        )
    ms = {k: statistics.median(v) for k, v in rounds.items()}
    ort_ms, run_ms, trace_ms = ms["onnxruntime"], ms["run"], ms["trace"]
    extra = {}
    if name == "minilm-l6":  # accuracy beside speed, same measure as the tests
        extra["cosine_min"] = round(min(minilm_cosines(program, path, COSINE_SENTENCES)), 6)
    return {
        "profile": profile or "default",
        "onnxruntime_ms": round(ort_ms, 2),
        "run_ms": round(run_ms, 2),
        "trace_ms": round(trace_ms, 2),
        "run_ratio": round(_ratio(rounds["run"], rounds["onnxruntime"]), 2),
        "trace_ratio": round(_ratio(rounds["trace"], rounds["onnxruntime"]), 2),
        "steps": len(program.steps),
        "load_s": round(load_s, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        **extra,
    }


def _child(name: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(THREADS),
        "OPENBLAS_NUM_THREADS": str(THREADS),
        "MKL_NUM_THREADS": str(THREADS),
    }
    res = subprocess.run(
        [sys.executable, "-m", "bench.executor", "--child", name],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        return {"error": res.stderr.strip().splitlines()[-1] if res.stderr.strip() else "failed"}
    return dict(json.loads(res.stdout.strip().splitlines()[-1]))


NOTES = f"""
Profiles (disputes/SPEC.md §2): **default** multiplies activations by 8-bit per-row weights in
float32 BLAS, still exactly (each activation row is rounded to the width that keeps every
partial sum an integer below 2**24); **exact** is SPEC v1, every product exact in float64 BLAS
(about 2x float32). Min cosine: MiniLM embedding vs onnxruntime float32 over
{COSINE_SENTENCES} varied sentences (the test suite checks 200).

Where the time goes. `run`: the products (MiniLM default: float32 BLAS is about half of `run`,
close to all of onnxruntime's time), then int64 elementwise steps in C kernels (NumPy is the
reference and the fallback). `trace`: every step output is committed (keccak Merkle tree over
rows; rows that fit int32 are hashed as int32, so MiniLM's 141 MB of int64 tensors become about
73 MB hashed, some 755k keccak permutations with the tree nodes) in batched C calls on a
background thread while later steps compute with one BLAS thread fewer. Hashing a MiniLM trace
alone takes about 120 ms on one core (66 ms on two) and competes with the compute for the cores
and the cache, so `trace` sits within about 15% of its 6x target: across this session's runs
the MiniLM ratio moved between 5.2x and 6.0x (and `run` between 2.1x and 2.55x). Timings on this
shared 2-core machine vary when other jobs run; ratios come from one process, measured in
alternating blocks.
"""


def markdown(results: dict[str, dict[str, Any]]) -> str:
    head = (
        "| model | profile | steps | onnxruntime ms | run ms | trace ms | run / ort | trace / ort "
        "| peak RSS MB | min cosine |\n|---|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for spec, r in results.items():
        name = spec.partition("@")[0]
        if "error" in r:
            rows.append(f"| {name} | error: {r['error']} | | | | | | | | |")
            continue
        rows.append(
            f"| {name} | {r['profile']} | {r['steps']} | {r['onnxruntime_ms']} | "
            f"{r['run_ms']} | {r['trace_ms']} | {r['run_ratio']}x | {r['trace_ratio']}x | "
            f"{r['peak_rss_mb']} | {r.get('cosine_min', '')} |"
        )
    return (
        f"# Integer executor vs onnxruntime float32\n\nMachine: {machine()}. Both sides use "
        f"{THREADS} threads (ORT intra-op threads; BLAS threads). {ROUNDS} rounds of "
        "alternating blocks; a block keeps the best of its calls "
        f"({REPEATS['run']}; {REPEATS['trace']} for trace); ms are medians over rounds and a "
        "ratio is the median over rounds of ours / onnxruntime's in the same round. trace = "
        "every tensor root and every checkpoint.\n\n" + head + "\n".join(rows) + "\n" + NOTES
    )


def main() -> None:
    results = {name: _child(name) for name in MODELS}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "executor.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS / "executor.md").write_text(markdown(results))
    print(markdown(results))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(measure(sys.argv[2])))
    else:
        main()
