"""Assemble the gateway from the registry, the provers and the store; run it with uvicorn.

Usage::

    gw = build_gateway(["digits-mlp"])
    with ServerThread(create_app(gw)) as url:
        ...  # the gateway answers at url
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType

import uvicorn
from fastapi import FastAPI

from api.backends import ProverBackend, load_worker_backend
from api.deps import Gateway
from api.jobs import JobStore, ProcessPool
from contracts.chain import free_port
from models.registry import Registry
from prover.srs import check_srs_policy, is_dev_srs
from verinfer.errors import VerinferError
from verinfer.settings import get_settings

Progress = Callable[[str, float], None]


def build_gateway(names: list[str], progress: Progress | None = None) -> Gateway:
    """A gateway serving the named zk models (built, tuned and keyed on first use, then cached).

    Proofs run in ``VERINFER_WORKERS`` worker processes, which load the prepared circuits.
    """
    s = get_settings()
    check_srs_policy(s)
    registry = Registry.default()
    cards = {n: registry.build(n) for n in names}
    backends = {n: ProverBackend.load(cards[n], progress) for n in names}
    store = JobStore(
        s.effective_database_url, busy_timeout_s=s.store_busy_timeout_s, retry_s=s.store_retry_s
    )
    pool = ProcessPool(load_worker_backend, names, s.workers, s.worker_start_method)
    return Gateway(
        store,
        dict(backends),
        cards,
        pool=pool,
        dev_srs=is_dev_srs(s),
        max_queue=s.max_queue,
        max_body_bytes=s.max_body_bytes,
        retry_after_s=s.retry_after_s,
        max_inflight=s.max_inflight,
        workers=s.workers,
        job_attempts=s.job_attempts,
    )


def prover_backend(gw: Gateway, name: str) -> ProverBackend:
    """The real EZKL backend serving ``name`` (the demo and e2e tests need its prover)."""
    backend = gw.backends[name]
    if not isinstance(backend, ProverBackend):
        raise VerinferError(f"{name!r} is not served by the EZKL prover")
    return backend


class ServerThread:
    """Runs a uvicorn server on a daemon thread (demo, tests); yields the base URL."""

    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(app, host=host, port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="gateway", daemon=True)
        self.url = f"http://{host}:{self.port}"

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise VerinferError(
                    f"the gateway did not start on port {self.port}; "
                    "is the port taken? pass another with --port"
                )
            time.sleep(0.05)
        return self.url

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.server.should_exit = True
        self.thread.join(30)
