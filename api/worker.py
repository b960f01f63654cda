"""The proof worker: one background thread that proves accepted jobs in order.

Proving already uses every core, so one job at a time is the fastest order; jobs left unfinished
by a crash are re-queued at start-up from the store, so an accepted request is never lost.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from api.store import JobStore
from verinfer.errors import VerinferError

log = logging.getLogger(__name__)


class ZkBackend(Protocol):
    """What the gateway needs from a zk model (the EZKL prover, or a fake in unit tests)."""

    name: str
    commitment: str
    input_shape: list[int]

    def predict(self, x: NDArray[np.float32]) -> list[float]: ...

    def prove(self, x: NDArray[np.float32]) -> dict[str, Any]: ...


class ProofWorker:
    """Proves queued jobs on a daemon thread; ``submit`` only enqueues an id."""

    def __init__(self, store: JobStore, backends: dict[str, ZkBackend]) -> None:
        self.store = store
        self.backends = backends
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.current: str | None = None
        self.started_at: float | None = None

    def start(self) -> None:
        for job in self.store.unfinished():
            self._queue.put(job.id)
        self._thread = threading.Thread(target=self._loop, name="proof-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        if self._thread is not None:
            # Jobs still queued stay "pending" in the store and are re-queued at next start.
            self._stopping.set()
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None
            self._stopping.clear()

    def submit(self, job_id: str) -> None:
        self._queue.put(job_id)

    def queue_position(self, job_id: str) -> int:
        """0 while proving, n when n jobs are ahead, -1 when not queued."""
        if job_id == self.current:
            return 0
        with self._queue.mutex:
            items = list(self._queue.queue)
        return items.index(job_id) + 1 if job_id in items else -1

    def _loop(self) -> None:
        while (job_id := self._queue.get()) is not None and not self._stopping.is_set():
            self.current, self.started_at = job_id, time.monotonic()
            try:
                self._prove(job_id)
            finally:
                self.current, self.started_at = None, None

    def _prove(self, job_id: str) -> None:
        job = self.store.get(job_id)
        backend = self.backends[job.model]
        self.store.set_status(job_id, "proving")
        try:
            x = np.asarray(job.inputs, dtype=np.float32).reshape(backend.input_shape)
            proof = backend.prove(x)
        except VerinferError as exc:
            log.warning("proof job %s failed: %s", job_id, exc)
            self.store.set_status(job_id, "failed", error=str(exc))
            return
        except Exception as exc:  # a prover bug must fail the job, not kill the worker
            log.exception("proof job %s crashed", job_id)
            self.store.set_status(job_id, "failed", error=f"internal prover error: {exc}")
            return
        self.store.set_status(job_id, "done", proof=proof)
