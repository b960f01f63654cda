"""The ``Gateway`` (everything the routes need) and the dependency that hands it to them.

Usage::

    gw = Gateway(store, {"digits-mlp": backend}, cards, pool=ProcessPool(loader, names))
    app = create_app(gw)                       # routes get it as ``gw: GatewayDep``
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from api.backends import Backend
from api.errors import NotFoundError, TooManyRequests
from api.jobs import InlinePool, JobStore, JobWorker, WorkerPool
from api.metrics import Metrics
from api.oip.datatypes import oip_datatype
from api.stats import Stats
from models.card import ModelCard

if TYPE_CHECKING:
    from api.modes.service import ClaimService

__all__ = ["VERSION", "Gateway", "GatewayDep", "get_gateway"]


def _version() -> str:
    try:
        return version("verinfer")
    except PackageNotFoundError:  # run from a checkout that was never pip-installed
        return "0+unknown"


VERSION = _version()


@dataclass
class Gateway:
    """Store, backends, model cards, the job worker and its pool, limits, metrics and stats.

    ``pool`` defaults to an in-process ``InlinePool`` over ``backends`` (tests, embedding);
    ``api.serve.build_gateway`` gives worker processes.
    """

    store: JobStore
    backends: dict[str, Backend]
    cards: dict[str, ModelCard]
    pool: WorkerPool | None = None
    dev_srs: bool = True
    max_queue: int = 256
    max_body_bytes: int = 4 << 20
    retry_after_s: int = 2
    max_inflight: int = 64
    workers: int = 1
    job_attempts: int = 3
    task_timeout_s: float = 1800.0
    claims: ClaimService | None = None  # optimistic / on-demand claims (api.modes), if served
    metrics: Metrics = field(init=False)
    stats: Stats = field(init=False)
    worker: JobWorker = field(init=False)
    inflight: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self.metrics = Metrics(VERSION, self.backends)
        self.stats = Stats(self.backends)
        pool = self.pool or InlinePool(dict(self.backends))
        self.worker = JobWorker(
            self.store,
            pool,
            served=set(self.backends),
            max_queue=self.max_queue,
            runners=self.workers,
            max_attempts=self.job_attempts,
            task_timeout_s=self.task_timeout_s,
            metrics=self.metrics,
        )
        self.worker.on_finish.append(
            lambda m, s, sec: self.stats.proof(m, s == "done", int(sec * 1e9))
        )

    def card(self, name: str) -> ModelCard:
        """The card of a served model; NotFoundError naming the served ones."""
        if name not in self.cards or name not in self.backends:
            known = ", ".join(sorted(self.backends)) or "none"
            raise NotFoundError(f"unknown model {name!r}; served models: {known}")
        return self.cards[name]

    def output_datatypes(self, card: ModelCard) -> dict[str, str]:
        """Each output's OIP datatype: the card's, unless the backend's values need a wider one.

        EZKL's outputs are fixed-point at scale 2^30: FP32's 24-bit mantissa would round them
        off the proven values, so the prover backend says FP64 (exact for them).
        """
        own: dict[str, str] = getattr(self.backends[card.name], "output_datatypes", {})
        return {o.name: own.get(o.name, oip_datatype(o.dtype)) for o in card.outputs}

    def check_version(self, name: str, version: str | None) -> ModelCard:
        """The card, when ``version`` is absent or the one version served ("1")."""
        card = self.card(name)
        if version not in (None, "1"):
            raise NotFoundError(f"model {name!r} has no version {version!r}; it serves version 1")
        return card

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Admit one infer request, or 429: bodies and predictions in flight stay bounded."""
        # Only the event loop's thread enters here, so a plain counter is race-free.
        if self.inflight >= self.max_inflight:
            raise TooManyRequests(
                f"{self.max_inflight} infer requests are already in flight "
                "(VERINFER_MAX_INFLIGHT); retry shortly"
            )
        self.inflight += 1
        try:
            yield
        finally:
            self.inflight -= 1


def get_gateway(request: Request) -> Gateway:
    """The app's gateway (set by ``create_app``)."""
    gw: Gateway = request.app.state.gateway
    return gw


GatewayDep = Annotated[Gateway, Depends(get_gateway)]
