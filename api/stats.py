"""Per-model inference statistics in Triton's shape (``GET /v2/models/{name}/stats``).

Counts and total nanoseconds since the process started: successful and failed requests, the
time spent decoding inputs, predicting and encoding outputs, and the proof jobs finished.

Usage::

    stats = Stats(["digits-mlp"])
    stats.success("digits-mlp", total_ns=2_000_000, input_ns=100_000, infer_ns=1_500_000)
    stats.body(["digits-mlp"]).model_stats[0].inference_count  # 1
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from api.schemas import (
    Duration,
    InferenceStatistics,
    InferenceStats,
    ModelStatistics,
    ProofStats,
)

__all__ = ["Stats"]

_FIELDS = (
    "success",
    "fail",
    "queue",
    "compute_input",
    "compute_infer",
    "compute_output",
    "proof_success",
    "proof_fail",
)


@dataclass
class _Model:
    counts: dict[str, list[int]] = field(default_factory=lambda: {k: [0, 0] for k in _FIELDS})
    last_ms: int = 0

    def add(self, key: str, ns: int) -> None:
        self.counts[key][0] += 1
        self.counts[key][1] += max(0, ns)

    def duration(self, key: str) -> Duration:
        count, ns = self.counts[key]
        return Duration(count=count, ns=ns)


class Stats:
    """Thread-safe counters for the served models."""

    def __init__(self, models: Iterable[str]) -> None:
        self._lock = threading.Lock()
        self._models = {name: _Model() for name in models}

    def success(
        self, model: str, *, total_ns: int, input_ns: int, infer_ns: int, output_ns: int = 0
    ) -> None:
        """One request answered 200, with the time each stage took."""
        with self._lock:
            m = self._models[model]
            m.add("success", total_ns)
            m.add("compute_input", input_ns)
            m.add("compute_infer", infer_ns)
            m.add("compute_output", output_ns)
            m.last_ms = int(time.time() * 1000)

    def fail(self, model: str, total_ns: int) -> None:
        """One request for a served model refused or failed."""
        with self._lock:
            self._models[model].add("fail", total_ns)

    def proof(self, model: str, ok: bool, ns: int) -> None:
        """One proof job finished in this process."""
        with self._lock:
            if model in self._models:
                self._models[model].add("proof_success" if ok else "proof_fail", ns)

    def body(self, names: Iterable[str]) -> InferenceStatistics:
        """Triton's statistics body for ``names``."""
        with self._lock:
            return InferenceStatistics(model_stats=[self._one(n) for n in names])

    def _one(self, name: str) -> ModelStatistics:
        m = self._models[name]
        d = m.duration
        n = m.counts["success"][0]
        return ModelStatistics(
            name=name,
            version="1",
            last_inference=m.last_ms,
            inference_count=n,
            execution_count=n,
            inference_stats=InferenceStats(
                success=d("success"),
                fail=d("fail"),
                queue=d("queue"),
                compute_input=d("compute_input"),
                compute_infer=d("compute_infer"),
                compute_output=d("compute_output"),
            ),
            proof_stats=ProofStats(success=d("proof_success"), fail=d("proof_fail")),
        )
