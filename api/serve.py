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

from api.backends import ProverBackend
from api.chain.link import ChainOptions, connect_chain, served_cards
from api.deps import Gateway
from api.jobs import JobStore, ProcessPool
from api.modes import ClaimService, load_backend, load_worker
from contracts.chain import free_port
from models.registry import Registry
from prover.srs import check_srs_policy, is_dev_srs
from verinfer.errors import VerinferError
from verinfer.settings import get_settings

Progress = Callable[[str, float], None]


def build_gateway(
    names: list[str],
    progress: Progress | None = None,
    chain: ChainOptions | None = None,
    *,
    self_request: bool | None = None,
) -> Gateway:
    """A gateway serving the named models, each in its mode (the chain's registered one if any).

    zk models are built, tuned and keyed on first use, then cached; optimistic ones are lowered
    to the executor's program. Proofs and traces run in ``VERINFER_WORKERS`` worker processes.
    With ``chain``, the fulfiller posts the claims and fulfils the paid requests (api.chain);
    ``self_request`` (default VERINFER_SELF_REQUEST) says whether it also requests unpaid answers.
    """
    s = get_settings()
    registry = Registry.default()
    cards = {n: registry.build(n) for n in names}
    link = connect_chain(chain, cards) if chain is not None else None
    cards = served_cards(cards, link)
    if any(c.mode != "optimistic" for c in cards.values()):
        check_srs_policy(s)  # only a zk model's proofs depend on the SRS
    backends = {n: load_backend(cards[n], progress) for n in names}
    store = JobStore(
        s.effective_database_url,
        busy_timeout_s=s.store_busy_timeout_s,
        retry_s=s.store_retry_s,
        synchronous=s.store_synchronous,
    )
    pool = ProcessPool(load_worker, names, s.workers, s.worker_start_method, s.worker_nice)
    gw = Gateway(
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
        task_timeout_s=s.task_timeout_s,
    )
    ClaimService.attach(
        gw,
        link,
        batch_size=s.claim_batch_size,
        batch_wait_s=s.claim_batch_wait_s,
        self_request=s.self_request if self_request is None else self_request,
    )
    return gw


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
