"""The job worker: admission, the queue, and supervised runner threads that follow each job.

Runner threads hand each job to the ``WorkerPool`` (worker processes) and write its result;
they never prove themselves, so the server process stays responsive. Nothing accepted is ever
stranded: jobs left unfinished by a crash are re-queued at start-up from the store; a store
error is retried until the store answers; a job for a model this gateway no longer serves is
failed with the reason; a worker process that dies under a job gets the job retried on a fresh
one (``max_attempts`` in all, so one poisonous input cannot kill workers for ever), and so does
one that runs past ``task_timeout_s`` (its worker is restarted: a hung proof frees it); a crash
of a runner's loop is caught by its supervisor, which puts the job back at the head of the
queue. The queue is bounded at admission (``reserve``): a request that cannot be queued is
refused before it is persisted.

Usage::

    worker = JobWorker(store, pool, served={"digits-mlp"}, max_queue=256)
    worker.start()
    worker.reserve(); job = store.create(...); worker.submit(job.id)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from concurrent.futures import Future
from typing import Any

from api.deferred import defer
from api.errors import NotFoundError, StoreError
from api.jobs.pool import WorkerLost, WorkerPool, follow
from api.jobs.queue import WorkQueue
from api.jobs.store import Job, JobStore
from api.jobs.tasks import Outcome
from api.logs import job_context
from api.metrics import Metrics

__all__ = ["RETRY_PAUSE_S", "JobWorker"]

log = logging.getLogger(__name__)
RETRY_PAUSE_S = 0.5


class _Stopping(Exception):
    """Raised inside a runner when stop() was called while it waited."""


class JobWorker:
    """Queues persisted job ids and runs each on the pool from ``runners`` daemon threads."""

    def __init__(
        self,
        store: JobStore,
        pool: WorkerPool,
        served: Collection[str],
        max_queue: int = 256,
        *,
        runners: int = 1,
        max_attempts: int = 3,
        task_timeout_s: float = 1800.0,
        metrics: Metrics | None = None,
    ) -> None:
        self.store, self.pool, self.served = store, pool, set(served)
        self.max_queue, self.runners, self.max_attempts = max_queue, runners, max_attempts
        self.task_timeout_s = task_timeout_s
        self.metrics = metrics or Metrics(models=served)
        self.queue = WorkQueue(max_queue, "the proving queue", "jobs")
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self.running: dict[str, float] = {}  # job id -> time.monotonic() it started
        self.restarts = 0  # runner loops restarted after a crash
        self.lost = 0  # worker processes that died under a job
        self.on_finish: list[Callable[[str, str, float], None]] = []  # (model, status, seconds)
        self.metrics.watch_queue(lambda: len(self.queue), lambda: len(self.running))

    def start(self) -> None:
        self.queue.extend(j.id for j in self.store.unfinished())
        self._stopping.clear()
        self.pool.start()
        self._threads = [
            threading.Thread(target=self._supervise, name=f"job-runner-{i}", daemon=True)
            for i in range(self.runners)
        ]
        for t in self._threads:
            t.start()

    def stop(self, timeout: float = 30.0) -> None:
        # Jobs still queued or running stay "pending"/"proving" in the store: re-queued at start.
        self._stopping.set()
        self.queue.wake_all()
        for t in self._threads:
            t.join(timeout)
        self._threads = []
        self.pool.stop()

    @property
    def alive(self) -> bool:
        """True while every runner thread runs (readiness reflects it)."""
        live = bool(self._threads) and all(t.is_alive() for t in self._threads)
        return live and not self._stopping.is_set()

    def not_ready(self) -> str | None:
        """None when jobs can run now, else why not."""
        if not self.alive:
            return "the job worker is not running; accepted jobs wait until it is"
        return self.pool.status()

    def reserve(self) -> None:
        """Hold a queue slot for a request about to be persisted; OverloadedError when full."""
        self.queue.reserve()

    def release(self) -> None:
        """Give back a slot whose request was not persisted."""
        self.queue.release()

    def submit(self, job_id: str) -> None:
        """Queue a persisted job, consuming the slot ``reserve`` held for it.

        In an infer request it is queued once the answer has left (``api.deferred``).
        """
        defer(lambda: self.queue.put(job_id, reserved=True))

    def queue_position(self, job_id: str) -> int:
        """0 while running, n when it is n-th in line, -1 when not queued."""
        return 0 if job_id in self.running else self.queue.position(job_id)

    def started_at(self, job_id: str) -> float | None:
        """When the job started running (time.monotonic()), if it is running."""
        return self.running.get(job_id)

    def _next(self) -> str | None:
        job_id = self.queue.take(self._stopping)
        if job_id is not None:
            self.running[job_id] = time.monotonic()
        return job_id

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            current: list[str] = []
            try:
                self._loop(current)
            except _Stopping:
                return
            except BaseException:  # the loop must outlive any bug: log it, requeue, go on
                log.exception("job runner loop crashed; restarting it")
                self.restarts += 1
                self.queue.put_front(current)
                time.sleep(RETRY_PAUSE_S)
            finally:
                for job_id in current:
                    self.running.pop(job_id, None)

    def _loop(self, current: list[str]) -> None:
        while (job_id := self._next()) is not None:
            current[:] = [job_id]
            with job_context(job_id):
                self._handle(job_id)
            self.running.pop(job_id, None)
            current.clear()

    def _store(self, fn: Any, *args: Any, **kw: Any) -> Any:
        """A store call retried until it succeeds: a locked or restarting store loses nothing."""
        while True:
            try:
                return fn(*args, **kw)
            except NotFoundError:
                raise
            except StoreError as exc:
                log.warning("job store unavailable (%s); retrying", exc)
                if self._stopping.wait(RETRY_PAUSE_S):
                    raise _Stopping from exc

    def _handle(self, job_id: str) -> None:
        try:
            job: Job = self._store(self.store.get, job_id)
        except NotFoundError:
            log.warning("job %s vanished from the store; skipped", job_id)
            return
        if job.status in ("done", "failed"):  # requeued after a crash that came after its end
            return
        if job.model not in self.served:
            served = ", ".join(sorted(self.served)) or "none"
            reason = (
                f"model {job.model!r} is not served by this gateway (it serves: {served}); "
                "send the request again to a gateway that serves it"
            )
            self._store(self.store.set_status, job_id, "failed", error=reason)
            return
        self._store(self.store.set_status, job_id, "proving")
        t0 = time.monotonic()
        status, result = self._prove(job)
        seconds = time.monotonic() - t0
        self.metrics.proof(job.model, status, seconds)
        for hook in self.on_finish:
            hook(job.model, status, seconds)
        if status == "done":
            self._store(self.store.set_status, job_id, "done", proof=result)
        else:
            self._store(self.store.set_status, job_id, "failed", error=result)

    def _prove(self, job: Job) -> tuple[str, Any]:
        last = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                outcome = self._wait(self.pool.submit("prove", job.model, job.inputs))
            except WorkerLost as exc:
                self.lost += 1
                self.metrics.worker_lost()
                last = str(exc)
                log.warning(
                    "job %s: attempt %d of %d lost: %s", job.id, attempt, self.max_attempts, exc
                )
                continue
            if not outcome.ok:
                log.warning("job %s failed: %s", job.id, outcome.error)
                return "failed", outcome.error
            return "done", outcome.value
        return "failed", (
            f"the worker process was lost {self.max_attempts} times running this job (last: "
            f"{last}); a worker dies when an input needs more memory than this gateway has, and "
            "is restarted when a task runs past VERINFER_TASK_TIMEOUT_S"
        )

    def _wait(self, future: Future[Outcome]) -> Outcome:
        outcome = follow(self.pool, future, self._stopping, self.task_timeout_s)
        if outcome is None:
            raise _Stopping
        return outcome
