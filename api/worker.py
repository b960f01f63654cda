"""The proof worker: one supervised background thread that proves accepted jobs in order.

Proving already uses every core, so one job at a time is the fastest order. Nothing accepted is
ever stranded: jobs left unfinished by a crash are re-queued at start-up from the store; a store
error is retried until the store answers; a job for a model this gateway no longer serves is
failed with the reason; and a crash of the loop itself is caught by the supervisor, which puts
the job back at the head of the queue and starts the loop again. The queue is bounded at
admission (``reserve``): a request that cannot be queued is refused before it is persisted.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from api.errors import NotFoundError, OverloadedError, StoreError
from api.store import JobStore
from verinfer.errors import VerinferError

log = logging.getLogger(__name__)
RETRY_PAUSE_S = 0.5


class ZkBackend(Protocol):
    """What the gateway needs from a zk model (the EZKL prover, or a fake in unit tests)."""

    name: str
    commitment: str
    input_shape: list[int]

    def predict(self, x: NDArray[np.float32]) -> list[float]: ...

    def prove(self, x: NDArray[np.float32]) -> dict[str, Any]: ...


class _Stopping(Exception):
    """Raised inside the loop when stop() was called while waiting on the store."""


class ProofWorker:
    """Proves queued jobs on a supervised daemon thread; ``submit`` only enqueues an id."""

    def __init__(
        self, store: JobStore, backends: dict[str, ZkBackend], max_queue: int = 256
    ) -> None:
        self.store = store
        self.backends = backends
        self.max_queue = max_queue
        self._jobs: deque[str] = deque()
        self._cv = threading.Condition()
        self._reserved = 0
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.current: str | None = None
        self.started_at: float | None = None
        self.restarts = 0

    def start(self) -> None:
        for job in self.store.unfinished():
            self._jobs.append(job.id)
        self._stopping.clear()
        self._thread = threading.Thread(target=self._supervise, name="proof-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        if self._thread is not None:
            # Jobs still queued stay "pending" in the store and are re-queued at next start.
            self._stopping.set()
            with self._cv:
                self._cv.notify_all()
            self._thread.join(timeout)
            self._thread = None

    @property
    def alive(self) -> bool:
        """True while the worker thread runs (readiness reflects it)."""
        return self._thread is not None and self._thread.is_alive() and not self._stopping.is_set()

    def reserve(self) -> None:
        """Hold a queue slot for a request about to be persisted; OverloadedError when full."""
        with self._cv:
            if len(self._jobs) + self._reserved >= self.max_queue:
                raise OverloadedError(
                    f"the proving queue is full ({self.max_queue} jobs); retry shortly"
                )
            self._reserved += 1

    def release(self) -> None:
        """Give back a slot whose request was not persisted."""
        with self._cv:
            self._reserved -= 1

    def submit(self, job_id: str) -> None:
        """Queue a persisted job, consuming the slot ``reserve`` held for it."""
        with self._cv:
            self._reserved = max(0, self._reserved - 1)
            self._jobs.append(job_id)
            self._cv.notify()

    def queue_position(self, job_id: str) -> int:
        """0 while proving, n when n jobs are ahead, -1 when not queued."""
        if job_id == self.current:
            return 0
        with self._cv:
            items = list(self._jobs)
        return items.index(job_id) + 1 if job_id in items else -1

    def _next(self) -> str | None:
        with self._cv:
            while not self._jobs and not self._stopping.is_set():
                self._cv.wait(1.0)
            return None if self._stopping.is_set() else self._jobs.popleft()

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            try:
                self._loop()
            except _Stopping:
                return
            except BaseException:  # the loop must outlive any bug: log it, requeue, go on
                log.exception("proof worker loop crashed; restarting it")
                self.restarts += 1
                with self._cv:
                    if self.current is not None:
                        self._jobs.appendleft(self.current)
                time.sleep(RETRY_PAUSE_S)
            finally:
                self.current, self.started_at = None, None

    def _loop(self) -> None:
        while (job_id := self._next()) is not None:
            self.current, self.started_at = job_id, time.monotonic()
            self._handle(job_id)
            self.current, self.started_at = None, None

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
            job = self._store(self.store.get, job_id)
        except NotFoundError:
            log.warning("proof job %s vanished from the store; skipped", job_id)
            return
        if job.status in ("done", "failed"):  # requeued after a crash that came after its end
            return
        backend = self.backends.get(job.model)
        if backend is None:
            served = ", ".join(sorted(self.backends)) or "none"
            reason = (
                f"model {job.model!r} is not served by this gateway (it serves: {served}); "
                "send the request again to a gateway that serves it"
            )
            self._store(self.store.set_status, job_id, "failed", error=reason)
            return
        self._store(self.store.set_status, job_id, "proving")
        status, result = self._prove(backend, job.inputs, job_id)
        if status == "done":
            self._store(self.store.set_status, job_id, "done", proof=result)
        else:
            self._store(self.store.set_status, job_id, "failed", error=result)

    def _prove(self, backend: ZkBackend, inputs: list[float], job_id: str) -> tuple[str, Any]:
        try:
            x = np.asarray(inputs, dtype=np.float32).reshape(backend.input_shape)
            return "done", backend.prove(x)
        except VerinferError as exc:
            log.warning("proof job %s failed: %s", job_id, exc)
            return "failed", str(exc)
        except Exception as exc:  # a prover bug must fail the job, not kill the worker
            log.exception("proof job %s crashed", job_id)
            return "failed", f"internal prover error: {exc}"
