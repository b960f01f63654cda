"""Prometheus metrics of one gateway, in its own registry (served at ``GET /metrics``).

Label values are bounded on purpose: a route is its template (``/v2/models/{name}/infer``) or
``unmatched``, a model is one the gateway serves or ``other``; a client choosing label values
(random paths, made-up model names) could otherwise grow the registry without bound.

Hooks for the modes that settle on chain: ``trace_seconds`` (optimistic traces),
``set_claims`` (claims by state) and ``gas_used`` (gas spent per action).

Usage::

    m = Metrics(version="0.1.0")
    m.request("/v2/health/live", "GET", 200, 0.001)
    m.proof("digits-mlp", "done", 1.2)
    body, content_type = m.exposition()
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)
from prometheus_client import ProcessCollector as _ProcessCollector

__all__ = ["CLAIM_STATES", "Metrics"]

CLAIM_STATES = ("pending", "claimed", "challenged", "final", "lost")
_JOB_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800)


class Metrics:
    """Every metric the gateway exports; one instance (and registry) per gateway."""

    def __init__(self, version: str = "unknown", models: Iterable[str] = ()) -> None:
        self.registry = CollectorRegistry()
        self.models = set(models)
        r = self.registry
        _ProcessCollector(registry=r)
        Info("verinfer_build", "The gateway's version.", registry=r).info({"version": version})
        self._latency = Histogram(
            "verinfer_http_request_seconds",
            "HTTP request latency by route template, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        self._inferences = Counter(
            "verinfer_inferences",
            "Infer requests by model and outcome.",
            ["model", "outcome"],
            registry=r,
        )
        self._queue = Gauge(
            "verinfer_queue_depth", "Accepted jobs waiting for a worker.", registry=r
        )
        self._running = Gauge("verinfer_jobs_running", "Jobs being worked on now.", registry=r)
        self._proof = _job_histogram("verinfer_proof_seconds", "Proof time per job.", r)
        self._trace = _job_histogram("verinfer_trace_seconds", "Trace time per job.", r)
        self._jobs = Counter(
            "verinfer_jobs", "Finished jobs by model and status.", ["model", "status"], registry=r
        )
        self._lost = Counter(
            "verinfer_worker_lost", "Worker processes that died under a job.", registry=r
        )
        self._claims = Gauge(
            "verinfer_claims", "On-chain claims by model and state.", ["model", "state"], registry=r
        )
        self._gas = Counter(
            "verinfer_gas_used", "Gas spent on chain, by action.", ["action"], registry=r
        )
        self._gas_wei = Counter(
            "verinfer_gas_spent_wei", "Wei spent on gas, by action.", ["action"], registry=r
        )

    def model(self, name: str) -> str:
        """The label for a model: its name if served, else ``other`` (bounded cardinality)."""
        return name if name in self.models else "other"

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        self._latency.labels(route, method, str(status)).observe(seconds)

    def inference(self, model: str, outcome: str) -> None:
        self._inferences.labels(self.model(model), outcome).inc()

    def watch_queue(self, waiting: Callable[[], float], running: Callable[[], float]) -> None:
        """Read queue depth and running jobs from the worker at each scrape."""
        self._queue.set_function(waiting)
        self._running.set_function(running)

    def proof(self, model: str, status: str, seconds: float) -> None:
        self._proof.labels(self.model(model), status).observe(seconds)
        self._jobs.labels(self.model(model), status).inc()

    def trace_seconds(self, model: str, status: str, seconds: float) -> None:
        """Hook: an optimistic trace finished (``status`` "done" or "failed")."""
        self._trace.labels(self.model(model), status).observe(seconds)

    def worker_lost(self) -> None:
        self._lost.inc()

    def set_claims(self, model: str, counts: dict[str, int]) -> None:
        """Hook: the number of claims in each state (``CLAIM_STATES``) for ``model``."""
        for state in CLAIM_STATES:
            self._claims.labels(self.model(model), state).set(counts.get(state, 0))

    def gas_used(self, action: str, gas: int, wei: int | None = None) -> None:
        """Hook: a transaction of ``action`` (e.g. "claim", "fulfill") used ``gas``."""
        self._gas.labels(action).inc(gas)
        if wei is not None:
            self._gas_wei.labels(action).inc(wei)

    def exposition(self) -> tuple[bytes, str]:
        """The text format body and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def _job_histogram(name: str, doc: str, registry: CollectorRegistry) -> Histogram:
    return Histogram(name, doc, ["model", "status"], buckets=_JOB_BUCKETS, registry=registry)
