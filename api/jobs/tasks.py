"""What runs inside a worker: backends loaded once per process, and the tasks they run.

A task's result crosses the process boundary as plain data (``Outcome``), never as a raised
exception: an exception whose constructor takes extra arguments may fail to unpickle, and a
result that cannot be unpickled would look like a dead worker and be retried for ever.

Tasks are looked up by name in ``TASKS``. A worker process is started with 'spawn', so it
imports this module afresh: a new kind of task (tracing, for the optimistic mode) is added to
``TASKS`` here, in the module, not registered at run time by the server process.

Usage::

    init_worker(load_worker_backend, ["digits-mlp"])    # once per process (the initializer)
    run("prove", "digits-mlp", [0.0] * 64)              # Outcome(ok=True, value={...proof})
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from verinfer.errors import VerinferError

__all__ = ["TASKS", "Loader", "Outcome", "ProveBackend", "execute", "init_worker", "ping", "run"]

log = logging.getLogger(__name__)


class ProveBackend(Protocol):
    """What a worker needs to prove a zk model's job (the EZKL prover, or a test fake)."""

    input_shape: list[int]

    def prove(self, x: NDArray[np.float32]) -> dict[str, Any]: ...


Loader = Callable[[str], Any]  # model name -> its worker backend; picklable (module-level)


@dataclass(frozen=True)
class Outcome:
    """A task's result: ``value`` when ``ok``; else ``error``, and whether it was expected."""

    ok: bool
    value: Any = None
    error: str | None = None
    expected: bool = False  # a VerinferError (the input's or model's fault), not a bug


_loaded: dict[str, Any] = {}
_load_errors: dict[str, str] = {}


def init_worker(loader: Loader, models: Sequence[str], nice: int = 0) -> None:
    """Load every served model's backend once; a failure is kept and reported per job."""
    # Ctrl-C reaches the whole process group: the server decides when its workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if nice > 0:
        # A client waits on the answer, nobody on the proof behind it: when both want the
        # CPU, the server's answers go first and the proofs take what is left.
        os.nice(nice)
    for name in models:
        try:
            _loaded[name] = loader(name)
        except Exception as exc:  # an initializer that raises would break the whole pool
            log.exception("worker %s could not load %s", os.getpid(), name)
            _load_errors[name] = f"the worker could not load model {name!r}: {exc}"


def ping() -> dict[str, Any]:
    """The worker's pid and load errors (the pool's warm-up and readiness probe)."""
    return {"pid": os.getpid(), "load_errors": dict(_load_errors)}


def prove(backend: ProveBackend, inputs: list[float]) -> dict[str, Any]:
    """Prove a zk job: its flat inputs in the model's input shape."""
    x = np.asarray(inputs, dtype=np.float32).reshape(backend.input_shape)
    return backend.prove(x)


def trace(backend: Any, payload: Any) -> Any:
    """Trace an optimistic claim (``api.modes.executor.ExecutorBackend.trace``)."""
    return backend.trace(payload)


TASKS: dict[str, Callable[[Any, Any], Any]] = {"prove": prove, "trace": trace}
_ROLE = {"prove": "prover", "trace": "tracer"}


def execute(backend: Any, kind: str, payload: Any) -> Outcome:
    """Run one task on ``backend``; every exception becomes a failed Outcome."""
    try:
        return Outcome(ok=True, value=TASKS[kind](backend, payload))
    except VerinferError as exc:
        return Outcome(ok=False, error=str(exc), expected=True)
    except Exception as exc:  # a backend bug must fail the job, not kill the worker
        log.exception("%s task crashed", kind)
        return Outcome(ok=False, error=f"internal {_ROLE.get(kind, kind)} error: {exc}")


def run(kind: str, model: str, payload: Any) -> Outcome:
    """The pool's entry point in the worker process: the task on this process's backend."""
    if model in _load_errors:
        return Outcome(ok=False, error=_load_errors[model], expected=True)
    if model not in _loaded:
        return Outcome(ok=False, error=f"model {model!r} is not loaded in this worker")
    return execute(_loaded[model], kind, payload)
