"""The claim service: the trace runners and the chain fulfiller behind optimistic answers.

An optimistic answer is sent as soon as the executor has it; its claim row is persisted
first (``ClaimStore``), then a runner thread hands the trace to the same ``WorkerPool`` the
proofs use (a worker process: tracing MiniLM holds the CPU for seconds) and stores ``P_n`` and
the output proof. With a chain, the ``Fulfiller`` thread then posts the claim, follows the
escrow for paid requests, and defends and finalizes through the dispute watcher. Rows left in
``tracing`` by a crash are re-queued at start; a worker that dies under a trace gets it retried.

Usage::

    svc = ClaimService.attach(gw, link=None)       # gw.claims; started by the app's lifespan
    rec = svc.admit(ClaimRecord.new("minilm-l6", "optimistic", "http", input_data=data))
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from api.deferred import defer
from api.errors import StoreError
from api.jobs import JobStore, JobWorker, Outcome, WorkerLost, WorkerPool
from api.jobs.pool import follow
from api.jobs.queue import WorkQueue
from api.metrics import Metrics
from api.modes.executor import TracedClaim
from api.modes.store import ClaimRecord, ClaimStore
from models.card import ModelCard

if TYPE_CHECKING:
    from api.chain.fulfiller import Fulfiller
    from api.chain.link import ChainLink
    from api.deps import Gateway

__all__ = ["ClaimService"]

log = logging.getLogger(__name__)
RETRY_PAUSE_S = 0.5


class ClaimService:
    """Claims of one gateway: admission, tracing in the pool, and the chain fulfiller."""

    def __init__(
        self,
        store: ClaimStore,
        pool: WorkerPool,
        metrics: Metrics,
        *,
        cards: dict[str, ModelCard] | None = None,
        jobs: tuple[JobStore, JobWorker] | None = None,
        link: ChainLink | None = None,
        max_queue: int = 256,
        runners: int = 1,
        attempts: int = 3,
        task_timeout_s: float = 1800.0,
    ) -> None:
        self.task_timeout_s = task_timeout_s
        self.store, self.pool, self.metrics, self.jobs = store, pool, metrics, jobs
        self.cards = dict(cards or {})
        self.link, self.max_queue, self.runners, self.attempts = link, max_queue, runners, attempts
        self.fulfiller: Fulfiller | None = None
        self.queue = WorkQueue(max_queue, "the tracing queue", "claims")
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self.running: set[str] = set()  # claim ids being traced now
        self.on_traced: list[Callable[[ClaimRecord], None]] = []

    @classmethod
    def attach(cls, gw: Gateway, link: ChainLink | None = None, **options: Any) -> ClaimService:
        """A service over the gateway's database, pool and metrics, set as ``gw.claims``.

        ``options`` go to the Fulfiller (e.g. ``self_request=False``, ``challenge=True``).
        """
        url = str(gw.store.engine.url.render_as_string(hide_password=False))
        store = ClaimStore(url, retry_s=gw.store.retry_s, synchronous=gw.store.synchronous)
        svc = cls(
            store,
            gw.worker.pool,
            gw.metrics,
            cards=gw.cards,
            jobs=(gw.store, gw.worker),
            link=link,
            max_queue=gw.max_queue,
            runners=gw.workers,
            attempts=gw.job_attempts,
            task_timeout_s=gw.worker.task_timeout_s,
        )
        if link is not None:
            from api.chain.fulfiller import Fulfiller

            svc.fulfiller = Fulfiller.for_gateway(svc, gw, link, **options)
        gw.claims = svc
        return svc

    # ---- lifecycle ----

    def start(self) -> None:
        """Re-queue unfinished traces, start the runners and (with a chain) the fulfiller."""
        self._stopping.clear()
        self.queue.extend(r.id for r in self.store.in_stage("tracing"))
        self._threads = [
            threading.Thread(target=self._supervise, name=f"trace-runner-{i}", daemon=True)
            for i in range(self.runners)
        ]
        if self.fulfiller is not None:
            fulfiller = self.fulfiller
            target = lambda: fulfiller.run(self._stopping)  # noqa: E731
            self._threads.append(threading.Thread(target=target, name="fulfiller", daemon=True))
        for t in self._threads:
            t.start()

    def stop(self, timeout: float = 30.0) -> None:
        # Rows stay in their stage: the next start carries on from them.
        self._stopping.set()
        self.queue.wake_all()
        for t in self._threads:
            # The fulfiller may be waiting on a receipt: its transaction is written ahead, so
            # leaving it (a daemon thread) loses nothing; the next start settles it.
            t.join(timeout if t.name != "fulfiller" else min(timeout, 5.0))
        self._threads = []

    def commitment(self, model: str) -> str:
        """The served model's commitment ("" for one this gateway no longer serves)."""
        card = self.cards.get(model)
        return card.commitment if card is not None else ""

    # ---- admission ----

    def admit(self, rec: ClaimRecord) -> ClaimRecord:
        """Persist a new row (and queue its trace); 503 before persisting when the queue is full.

        Raises DuplicateRequest when its request id already has a row.
        """
        tracing = rec.stage == "tracing"
        if tracing:
            self.queue.reserve()
        try:
            # A flood of answers must wait, not queue unbounded work and spending.
            saved = self.store.create(rec, unposted_limit=self.max_queue)
        except BaseException:
            if tracing:
                self.queue.release()
            raise
        if tracing:  # once the answer has left (api.deferred): the runner then wakes
            defer(lambda: self.enqueue(saved.id, reserved=True))
        return saved

    def enqueue(self, claim_id: str, reserved: bool = False) -> None:
        """Queue a persisted row in ``tracing`` (the fulfiller's rows, and admitted ones)."""
        self.queue.put(claim_id, reserved)

    # ---- tracing ----

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            try:
                self._loop()
            except Exception:  # a runner must outlive any bug or store outage
                log.exception("trace runner crashed; restarting it")
                self._stopping.wait(RETRY_PAUSE_S)

    def _next(self) -> str | None:
        claim_id = self.queue.take(self._stopping)
        if claim_id is not None:
            self.running.add(claim_id)
        return claim_id

    def _loop(self) -> None:
        while (claim_id := self._next()) is not None:
            try:
                self._trace(claim_id)
            except StoreError as exc:  # put it back: the store will answer again
                log.warning("claim store unavailable (%s); retrying", exc)
                self.queue.put_front([claim_id])
                self._stopping.wait(RETRY_PAUSE_S)
            finally:
                self.running.discard(claim_id)

    def _trace(self, claim_id: str) -> None:
        rec = self.store.get(claim_id)
        if rec is None or rec.stage != "tracing":
            return
        t0 = time.monotonic()
        outcome = self._run(rec)
        if outcome is None:
            return  # stopping: left in "tracing" for the next start
        ok = outcome.ok
        self.metrics.trace_seconds(rec.model, "done" if ok else "failed", time.monotonic() - t0)
        if ok:
            self._traced(rec, TracedClaim.from_json(outcome.value))
        else:
            self._fail(rec, f"tracing failed: {outcome.error}")

    def _run(self, rec: ClaimRecord) -> Outcome | None:
        payload = {"input": (rec.input_data or b"").hex()}
        last = ""
        for _ in range(self.attempts):
            try:
                future = self.pool.submit("trace", rec.model, payload)
                return follow(self.pool, future, self._stopping, self.task_timeout_s)
            except WorkerLost as exc:
                self.metrics.worker_lost()
                last = str(exc)
                log.warning("claim %s: trace lost: %s", rec.id, exc)
        return Outcome(ok=False, error=f"the worker was lost {self.attempts} times (last: {last})")

    def _traced(self, rec: ClaimRecord, claim: TracedClaim) -> None:
        if rec.output is not None and rec.output != claim.output:
            # The claim must be what the client was answered: never post a different output.
            self._fail(rec, "the trace's output differs from the answer sent; not claimed")
            return
        stage = "ready" if self.link is not None and rec.model_id is not None else "local"
        done = self.store.update(
            rec.id,
            {"tracing"},
            stage=stage,
            output=claim.output,
            output_root="0x" + claim.output_root.hex(),
            final_checkpoint="0x" + claim.final_checkpoint.hex(),
            output_proof=json.dumps(["0x" + p.hex() for p in claim.output_proof]),
        )
        if done is not None:
            for hook in self.on_traced:
                hook(done)

    def _fail(self, rec: ClaimRecord, error: str) -> None:
        log.warning("claim %s failed: %s", rec.id, error)
        self.store.update(rec.id, None, stage="failed", state="failed", error=error)

    def refresh_metrics(self) -> None:
        """Set the claims-by-state gauges from the store (at each scrape of /metrics)."""
        try:
            counts = self.store.counts()
        except StoreError:
            return
        for model in set(counts) | self.metrics.models:
            self.metrics.set_claims(model, counts.get(model, {}))

    def queue_position(self, claim_id: str) -> int:
        """0 while tracing, n when n - 1 traces are ahead of it, -1 when not queued."""
        return 0 if claim_id in self.running else self.queue.position(claim_id)
