"""Which backend serves a model, by the mode it is served in: the executor or the EZKL prover.

Usage::

    backend = load_backend(card)                       # in the server process
    pool = ProcessPool(load_worker, ["minilm-l6"])     # each worker loads its own
"""

from __future__ import annotations

from typing import Any

from api.backends import Backend, ProverBackend, load_worker_backend
from api.modes.executor import ExecutorBackend, serve_on_one_blas_thread
from models.card import ModelCard
from models.registry import Registry

__all__ = ["load_backend", "load_worker"]


def load_backend(card: ModelCard, progress: Any = None) -> Backend:
    """The server-side backend: the executor for an optimistic model, else the zk prover."""
    if card.mode == "optimistic":
        serve_on_one_blas_thread()  # its worker process traces beside it: see there why
        return ExecutorBackend.load(card)
    return ProverBackend.load(card, progress)  # zk and zk-on-demand: the witness answers


def load_worker(name: str) -> Any:
    """A worker process's backend for ``name`` (module-level: 'spawn' pickles it by name)."""
    card = Registry.default().card(name)
    if card.mode == "optimistic":
        return ExecutorBackend.load(card)
    return load_worker_backend(name)
