"""Where jobs run: the ``WorkerPool`` seam, local worker processes, and an in-process pool.

Proving holds the GIL for as long as a proof takes (EZKL's Rust code does not release it), so
it runs in worker processes: the server's event loop keeps answering while proofs run. The
``JobWorker`` only submits a task and follows its future, so a Ray actor pool can take the
``ProcessPool``'s place by implementing the same four members.

Usage::

    pool = ProcessPool(load_worker_backend, ["digits-mlp"], workers=1)
    pool.start()
    outcome = pool.submit("prove", "digits-mlp", [0.0] * 64).result()  # or WorkerLost
    pool.stop()
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Sequence
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from api.jobs import tasks
from api.jobs.tasks import Loader, Outcome
from verinfer.errors import VerinferError

__all__ = ["POLL_S", "InlinePool", "ProcessPool", "WorkerLost", "WorkerPool", "follow"]

log = logging.getLogger(__name__)
POLL_S = 0.25  # how often a follower checks for stop and timeout


class WorkerLost(VerinferError):
    """The worker running a task died (killed, out of memory, crashed): the task may be retried."""


class WorkerPool(Protocol):
    """Runs named tasks (``api.jobs.tasks.TASKS``) for served models, somewhere else."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def submit(self, kind: str, model: str, payload: Any) -> Future[Outcome]:
        """The task's Outcome, or WorkerLost when its worker died before it finished."""
        ...

    def status(self) -> str | None:
        """None when ready to run tasks, else why not (readiness says it)."""
        ...

    def restart(self) -> None:
        """Abandon every running task (their futures raise WorkerLost) and start afresh."""
        ...


def follow(
    pool: WorkerPool, future: Future[Outcome], stopping: threading.Event, timeout_s: float
) -> Outcome | None:
    """The task's Outcome; None once ``stopping`` is set; WorkerLost past ``timeout_s``.

    A task past its time is taken as hung (a deadlock, a proof that will never end): the pool
    is restarted, which frees its worker for the jobs behind it, and its owner retries it.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return future.result(timeout=POLL_S)
        except FutureTimeout:
            if stopping.is_set():
                return None
            if time.monotonic() > deadline:
                pool.restart()
                raise WorkerLost(
                    f"the task ran past VERINFER_TASK_TIMEOUT_S ({timeout_s:g} s); "
                    "its worker was restarted"
                ) from None


def _chain(inner: Future[Outcome], on_lost: Any) -> Future[Outcome]:
    """A future that turns a dead pool's errors into WorkerLost (and tells ``on_lost``)."""
    outer: Future[Outcome] = Future()

    def done(f: Future[Outcome]) -> None:
        try:
            outer.set_result(f.result())
        except (BrokenProcessPool, CancelledError) as exc:
            on_lost()
            outer.set_exception(WorkerLost(f"the worker process died: {exc or type(exc).__name__}"))
        except BaseException as exc:  # e.g. a result that could not be unpickled
            outer.set_exception(WorkerLost(f"the worker's answer was lost: {exc!r}"))

    inner.add_done_callback(done)
    return outer


class ProcessPool:
    """Worker processes ('spawn' by default), each loading every served model once.

    A dead worker breaks a ``ProcessPoolExecutor`` for good, so the pool replaces the executor
    (once per breakage, however many futures report it) and the lost tasks are resubmitted by
    their owner: nothing that was accepted depends on a process staying alive.
    """

    def __init__(
        self,
        loader: Loader,
        models: Sequence[str],
        workers: int = 1,
        context: str = "spawn",
        nice: int = 0,
    ) -> None:
        self.loader = loader
        self.models = list(models)
        self.workers, self.nice = workers, nice
        self.context = multiprocessing.get_context(context)
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._warm: list[Future[Any]] = []
        self.generation = 0  # how many executors were started (restarts + 1)

    def _new_executor(self) -> None:
        self._executor = ProcessPoolExecutor(
            self.workers,
            mp_context=self.context,
            initializer=tasks.init_worker,
            initargs=(self.loader, self.models, self.nice),
        )
        self.generation += 1
        # One ping per worker spawns them all now (the executor spawns on demand otherwise),
        # so the first job does not pay for process start and model loading.
        self._warm = [self._executor.submit(tasks.ping) for _ in range(self.workers)]

    def start(self) -> None:
        with self._lock:
            if self._executor is None:
                self._new_executor()

    def stop(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            _terminate(executor)

    def _lost(self, generation: int, why: str = "a worker process died") -> None:
        with self._lock:
            if self._executor is None or generation != self.generation:
                return  # already replaced (or stopped) for this breakage
            log.warning("%s; starting a new pool (generation %d)", why, generation)
            old = self._executor
            self._new_executor()
        # Called from the broken executor's own management thread: reap it from another one.
        threading.Thread(target=_terminate, args=(old,), name="pool-reaper", daemon=True).start()

    def submit(self, kind: str, model: str, payload: Any) -> Future[Outcome]:
        with self._lock:
            if self._executor is None:
                raise WorkerLost("the worker pool is not running")
            executor, generation = self._executor, self.generation
        try:
            inner = executor.submit(tasks.run, kind, model, payload)
        except (BrokenProcessPool, RuntimeError) as exc:
            self._lost(generation)
            raise WorkerLost(f"the worker pool was broken: {exc}") from exc
        return _chain(inner, lambda: self._lost(generation))

    def status(self) -> str | None:
        with self._lock:
            executor, warm, generation = self._executor, list(self._warm), self.generation
        if executor is None:
            return "the worker pool is not running"
        if not all(f.done() for f in warm):
            return "the worker processes are starting (loading the models)"
        if any(f.cancelled() or f.exception() is not None for f in warm):
            self._lost(generation)  # a worker died while loading: start a fresh pool
            return "a worker process died while loading the models; restarting the workers"
        errors = [e for f in warm for e in f.result()["load_errors"].values()]
        return "; ".join(sorted(set(errors))) or None

    def restart(self) -> None:
        with self._lock:
            generation = self.generation
        self._lost(generation, "a task ran past its time")

    def pids(self) -> list[int]:
        """The live worker processes' ids (tests kill one; metrics count them)."""
        with self._lock:
            executor = self._executor
        procs = getattr(executor, "_processes", None) or {}
        return [p.pid for p in procs.values() if p.is_alive() and p.pid is not None]


def _terminate(executor: ProcessPoolExecutor) -> None:
    """Stop an executor now: a running proof is abandoned, its job stays queued in the store."""
    procs = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    for p in procs:
        p.join(10)


class InlinePool:
    """Tasks on one thread of this process, on backends given directly (tests, embedding)."""

    def __init__(self, backends: dict[str, Any]) -> None:
        self.backends = backends
        self._executor: ThreadPoolExecutor | None = None

    def start(self) -> None:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="inline-worker")

    def stop(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def submit(self, kind: str, model: str, payload: Any) -> Future[Outcome]:
        if self._executor is None:
            raise WorkerLost("the worker pool is not running")
        backend = self.backends.get(model)
        if backend is None:
            done: Future[Outcome] = Future()
            done.set_result(Outcome(ok=False, error=f"model {model!r} is not loaded"))
            return done
        return self._executor.submit(tasks.execute, backend, kind, payload)

    def status(self) -> str | None:
        return None if self._executor is not None else "the worker pool is not running"

    def restart(self) -> None:
        # A thread cannot be killed: the hung one is left behind, the tasks after it get a new one.
        if self._executor is not None:
            self.stop()
            self.start()
