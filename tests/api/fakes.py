"""A fake zk backend for gateway tests (the real EZKL prover is exercised in tests/e2e)."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from api.deps import Gateway
from api.jobs import JobStore
from models.card import ModelCard


class FakeBackend:
    """Doubles the input's sum as the output; proving waits on an event so tests see 202."""

    def __init__(
        self, card: ModelCard, fail: bool = False, released: bool = False, predict_s: float = 0.0
    ) -> None:
        self.predict_s = predict_s
        self.name = card.name
        self.commitment = card.commitment
        self.input_shape = card.inputs[0].shape
        self.release = threading.Event()
        if released:
            self.release.set()
        self.fail = fail
        self.proved: list[list[float]] = []

    def predict(self, inputs: dict[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
        time.sleep(self.predict_s)  # like EZKL's witness: the GIL is free, requests overlap
        x = inputs["input"]
        return {"logits": np.asarray([[float(x.sum()) * 2] + [0.0] * 9])}

    def prove(self, x: NDArray[np.float32]) -> dict[str, Any]:
        assert list(x.shape) == self.input_shape
        self.release.wait(10)
        if self.fail:
            raise RuntimeError("boom")
        self.proved.append(x.ravel().tolist())
        return {"proof_hex": "0xabcd", "instances": [], "n_inputs": 64}


def body(data: list[Any], shape: list[int] | None = None, **kw: Any) -> dict[str, Any]:
    """An OIP infer body for the digits models' single input."""
    item = {"name": "input", "shape": shape or [1, 64], "datatype": "FP32", "data": data}
    item.update(kw)
    return {"inputs": [item]}


def gateway(
    card: ModelCard, db: Path, backend: FakeBackend | None = None, **kw: Any
) -> tuple[Gateway, FakeBackend]:
    """A gateway over a fresh SQLite store serving ``card`` with a fake backend."""
    backend = backend or FakeBackend(card)
    store_kw = {k: kw.pop(k) for k in ("busy_timeout_s", "retry_s") if k in kw}
    store = JobStore(f"sqlite:///{db}", **store_kw)
    return Gateway(store, {card.name: backend}, {card.name: card}, **kw), backend


POISON = 0.75  # a first pixel of this value kills the worker process proving it


@dataclass(frozen=True)
class GatedLoader:
    """Loads a ``GatedProver`` in a worker process (picklable: spawn sends it by value)."""

    folder: Path
    fail_models: tuple[str, ...] = ()
    die_first_load: bool = False  # the first worker dies while loading (then a fresh one loads)

    def __call__(self, name: str) -> GatedProver:
        if name in self.fail_models:
            raise RuntimeError(f"no circuit for {name}")
        died = self.folder / "died-loading"
        if self.die_first_load and not died.exists():
            died.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return GatedProver(self.folder)


class GatedProver:
    """A worker-process prover coordinated through files: it records its pid, then waits
    for ``release`` to exist; a poisoned input kills its own process (like the OOM killer)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.input_shape = [1, 64]

    def prove(self, x: NDArray[np.float32]) -> dict[str, Any]:
        pid = os.getpid()
        with (self.folder / "started").open("a") as f:
            f.write(f"{pid}\n")
        if float(x.ravel()[0]) == POISON:
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while not (self.folder / "release").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        with (self.folder / "proved").open("a") as f:
            f.write(f"{pid} {float(x.ravel()[0])}\n")
        return {"proof_hex": "0xabcd", "instances": [], "n_inputs": 64, "pid": pid}


def started_pids(folder: Path) -> list[int]:
    """The pids that began a proof, in order (one line per attempt)."""
    path = folder / "started"
    return [int(line) for line in path.read_text().split()] if path.exists() else []
