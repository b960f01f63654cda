"""A real chain and a real `verinfer serve --model minilm-l6 --rpc-url ...` for the e2e tests.

The gateway runs as its own process (the console command's code, from this checkout) with
its own database and the provider's key in ETH_PRIVATE_KEY; the test drives the chain (a
client's payment, time, automining) and reads the escrow's events itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from web3 import Web3

from contracts.bindings import CoreParams, Deployment, connect, deploy_core
from contracts.chain import Anvil, free_port, rpc_call
from contracts.clients import EscrowClient, RegistryClient
from contracts.signer import Signer
from disputes.game.register import register_program
from disputes.program.ir import Program
from models.card import ModelCard
from tests.e2e.served import SERVE, Served, wait_for

FEE = 10**15
BOND = 10**16
WINDOW = 3600
MOVE_TIMEOUT = 600
MODEL = "minilm-l6"


@dataclass
class Chain:
    """anvil, the core contracts, and the accounts the tests play."""

    node: Anvil
    w3: Web3
    dep: Deployment
    deployment: Path
    provider: Signer
    client: Signer
    watcher: Signer
    cheater: Signer

    def escrow(self, who: Signer | None = None) -> EscrowClient:
        return EscrowClient(self.w3, self.dep.escrow, who)

    def register(self, owner: Signer, program: Program, card: ModelCard) -> int:
        reg = RegistryClient(self.w3, self.dep.registry, owner)
        commitment = bytes.fromhex(card.commitment.removeprefix("0x"))
        return register_program(reg, program, commitment, FEE, BOND)

    def events(self, name: str, request_id: int | None = None) -> list[Any]:
        ev = self.escrow().contract.events[name]()
        filters = {} if request_id is None else {"requestId": request_id}
        return list(ev.get_logs(from_block=0, argument_filters=filters))

    def automine(self, on: bool) -> None:
        rpc_call(self.node.rpc_url, "evm_setAutomine", [on])

    def mine(self) -> None:
        rpc_call(self.node.rpc_url, "evm_mine")

    def pending_of(self, who: Signer) -> int:
        """Transactions of ``who`` in the mempool, not yet mined."""
        addr = Web3.to_checksum_address(who.address)
        pending = self.w3.eth.get_transaction_count(addr, "pending")
        return int(pending) - int(self.w3.eth.get_transaction_count(addr, "latest"))


@contextmanager
def chain(tmp: Path) -> Iterator[Chain]:
    """A fresh anvil with the core contracts (a one-hour window) and a saved deployment."""
    with Anvil() as node:
        w3 = connect(node.rpc_url)
        deployer, provider, client, watcher, cheater = (
            Signer.from_private_key(a.private_key) for a in node.accounts[:5]
        )
        params = CoreParams(challenge_window=WINDOW, move_timeout=MOVE_TIMEOUT)
        dep = deploy_core(w3, deployer, fulfil_timeout=2 * WINDOW, params=params)
        path = tmp / "deployment.json"
        dep.save(path)
        yield Chain(node, w3, dep, path, provider, client, watcher, cheater)


def _key(node: Anvil, signer: Signer) -> str:
    return next(a.private_key for a in node.accounts if a.address == signer.address)


@contextmanager
def serving(tmp: Path, c: Chain, *, stop: bool = True) -> Iterator[Served]:
    """`verinfer serve --model minilm-l6` on ``c`` as its provider, until SIGINT (exit 0).

    With ``stop=False`` the caller ends the process itself (a test's kill -9).
    """
    port = free_port()
    env = {
        **os.environ,
        "VERINFER_DATABASE_URL": f"sqlite:///{tmp / 'gateway.db'}",
        "ETH_PRIVATE_KEY": _key(c.node, c.provider),  # never on the command line
    }
    env.pop("ETH_RPC_URL", None)
    args = ["--port", str(port), "--model", MODEL, "--rpc-url", c.node.rpc_url]
    log = tmp / f"gateway-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*SERVE, *args, "--deployment", str(c.deployment)], stdout=out, stderr=out, env=env
        )
    served = Served(f"http://127.0.0.1:{port}", proc, log)
    try:
        ready = f"{served.url}/v2/health/ready"
        wait_for(lambda: bool(httpx.get(ready).json()["ready"]), "gateway ready", served, 300)
        yield served
    except BaseException:
        proc.kill()
        proc.wait(30)
        raise
    if not stop:
        return
    proc.send_signal(signal.SIGINT)
    code = proc.wait(timeout=60)
    assert code == 0, served.tail()


def kill9(served: Served) -> None:
    """``kill -9`` the gateway: no shutdown code of ours runs."""
    served.proc.send_signal(signal.SIGKILL)
    served.proc.wait(30)


def claim_state(served: Served, request_id: int, *states: str) -> Any:
    """The claim body of ``request_id`` once its status is one of ``states`` (else None)."""
    r = httpx.get(f"{served.url}/v2/models/{MODEL}/claims/{request_id}")
    if r.status_code == 404:
        return None
    body = r.json()
    return body if body["status"] in states else None
