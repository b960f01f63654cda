"""Shared pieces of the optimistic / on-demand gateway tests: the real MiniLM executor backend,
gateways with a claim service (with or without a chain link), MiniLM bodies and a poll helper.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
import pytest
from fastapi.testclient import TestClient
from web3 import Web3

from api.app import create_app
from api.backends import Backend
from api.chain.link import ChainLink, resolve_models, served_cards
from api.deps import Gateway
from api.jobs import JobStore
from api.modes import ClaimService, ExecutorBackend
from contracts.bindings import Deployment
from contracts.clients import RegistryClient
from contracts.signer import Signer
from disputes.game.encoding import input_bytes
from disputes.game.register import register_program
from disputes.game.store import GameStore
from models.card import ModelCard
from models.minilm import tokenize
from models.registry import Registry
from tests.contracts.conftest import Env

T = TypeVar("T")
SENTENCE = "Verifiable inference lets anyone check a model's answer."
FEE = 10**15
BOND = 10**16


@dataclass(frozen=True)
class MiniLM:
    card: ModelCard
    backend: ExecutorBackend
    ids: np.ndarray
    mask: np.ndarray

    @property
    def inputs(self) -> dict[str, np.ndarray]:
        return {"input_ids": self.ids, "attention_mask": self.mask}

    @property
    def data(self) -> bytes:
        """The be32 input bytes an optimistic request on `inputs` carries."""
        return input_bytes(self.backend.program, self.inputs)


class GatedBackend(ExecutorBackend):
    """Traces only once ``gate`` is set, so a test sees a claim that is still tracing."""

    def __init__(self, m: MiniLM) -> None:
        super().__init__(m.card, m.backend.program)
        self.gate = threading.Event()

    def trace(self, payload: Any) -> dict[str, Any]:
        self.gate.wait(60)
        return super().trace(payload)


@pytest.fixture(scope="session")
def minilm() -> MiniLM:
    """MiniLM's card and its executor program, lowered once for the session."""
    card = Registry.default().build("minilm-l6")
    ids, mask = tokenize([SENTENCE])
    return MiniLM(card, ExecutorBackend.load(card), ids, mask)


def minilm_body(
    ids: Any, mask: Any, request_id: Any = None, datatype: str = "INT64", **extra: Any
) -> dict[str, Any]:
    """An OIP body with MiniLM's two INT64 inputs (and ``parameters.request_id`` if given)."""
    inputs = [
        {"name": "input_ids", "shape": [1, 128], "datatype": datatype,
         "data": np.asarray(ids).ravel().tolist()},
        {"name": "attention_mask", "shape": [1, 128], "datatype": "INT64",
         "data": np.asarray(mask).ravel().tolist()},
    ]  # fmt: skip
    body: dict[str, Any] = {"id": "client-42", "inputs": inputs, **extra}
    if request_id is not None:
        body["parameters"] = {"request_id": request_id}
    return body


def make_gateway(
    tmp: Path,
    backends: dict[str, Backend],
    cards: dict[str, ModelCard],
    link: ChainLink | None = None,
    *,
    max_queue: int = 256,
    **options: Any,
) -> Gateway:
    """A gateway over a SQLite file in ``tmp`` whose claim service has ``link`` (or no chain)."""
    store = JobStore(f"sqlite:///{tmp / 'jobs.db'}")
    gw = Gateway(store, backends, served_cards(cards, link), max_queue=max_queue)
    svc = ClaimService.attach(gw, link, **options)
    if svc.fulfiller is not None:
        svc.fulfiller.interval_s = 0.1
    return gw


class OnChain(Protocol):
    """A node and a deployment (the contracts tests' ``Env``, the e2e ``Chain``)."""

    w3: Web3
    dep: Deployment


def link_for(env: OnChain, signer: Signer, tmp: Path, cards: dict[str, ModelCard]) -> ChainLink:
    """The chain link a gateway signing with ``signer`` gets (its ids of ``cards`` resolved)."""
    link = ChainLink(env.w3, env.dep, signer, GameStore(f"sqlite:///{tmp / 'disputes.db'}"))
    link.models = resolve_models(link.registry(), signer.address, cards)
    return link


def register_minilm(env: Env, owner: Signer, m: MiniLM, bond: int = BOND) -> int:
    """Register MiniLM as an optimistic model of ``owner`` under its card's commitment."""
    reg = RegistryClient(env.w3, env.dep.registry, owner)
    commitment = bytes.fromhex(m.card.commitment.removeprefix("0x"))
    return register_program(reg, m.backend.program, commitment, FEE, bond)


def minilm_on_chain(env: Env, m: MiniLM, tmp: Path, **options: Any) -> tuple[int, Gateway]:
    """MiniLM registered by the provider and a gateway claiming it on chain; (model id, gateway).

    Example: ``mid, gw = minilm_on_chain(env, minilm, tmp_path, batch_size=4)``
    """
    mid = register_minilm(env, env.provider, m)
    cards = {"minilm-l6": m.card}
    link = link_for(env, env.provider, tmp, cards)
    return mid, make_gateway(tmp, {"minilm-l6": m.backend}, cards, link, **options)


def paid_request(env: Env, model_id: int, m: MiniLM) -> int:
    """The client's paid optimistic request on MiniLM's input; its request id."""
    return env.escrow(env.client).request_optimistic(model_id, m.data, FEE)


def wait_until(fn: Callable[[], T | None], what: str, timeout: float = 120.0) -> T:
    """Poll ``fn`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout:.0f}s")


def claim_in(client: TestClient, model: str, claim_id: str, *states: str) -> Callable[[], Any]:
    """A poll: the claim's body once its status is one of ``states``."""

    def look() -> Any:
        r = client.get(f"/v2/models/{model}/claims/{claim_id}")
        if r.status_code == 404:  # a paid request the fulfiller has not picked up yet
            return None
        body = r.json()
        return body if body["status"] in states else None

    return look


@pytest.fixture
def served(tmp_path: Path, minilm: MiniLM) -> Iterator[tuple[Gateway, TestClient]]:
    """MiniLM served with no chain: answers now, claims traced and kept locally."""
    gw = make_gateway(tmp_path, {"minilm-l6": minilm.backend}, {"minilm-l6": minilm.card})
    with TestClient(create_app(gw)) as client:
        yield gw, client
