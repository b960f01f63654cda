"""The server process predicts on one BLAS thread: its worker process traces beside it."""

from __future__ import annotations

from threadpoolctl import threadpool_info

from api.modes import ExecutorBackend, load_backend
from models.registry import Registry


def test_an_optimistic_server_backend_leaves_blas_one_thread() -> None:
    # Two BLAS threads in the server wait on each other for a core while the worker traces
    # (MiniLM's predict measured ~1.5 s against ~0.15 s on 2 cores), so serving pins one.
    backend = load_backend(Registry.default().card("minilm-l6"))
    assert isinstance(backend, ExecutorBackend)
    blas = [int(i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]
    assert blas and set(blas) == {1}
