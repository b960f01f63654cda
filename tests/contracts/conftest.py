"""Fixtures: one real anvil per session, core contracts deployed once, state reset per test."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from web3 import Web3

from contracts.bindings import Deployment, connect, deploy, deploy_core
from contracts.build import load_artifact
from contracts.chain import Anvil, revert_to, snapshot
from contracts.clients import EscrowClient, RegistryClient
from contracts.signer import Signer

FEE = 10**15
TIMEOUT = 600
N_INPUTS = 4
N_OUTPUTS = 3


@dataclass
class Env:
    node: Anvil
    w3: Web3
    dep: Deployment
    deployer: Signer
    provider: Signer
    client: Signer
    other: Signer
    mock: str

    def registry(self, signer: Signer | None = None) -> RegistryClient:
        return RegistryClient(self.w3, self.dep.registry, signer)

    def escrow(self, signer: Signer | None = None) -> EscrowClient:
        return EscrowClient(self.w3, self.dep.escrow, signer)

    def balance(self, signer: Signer) -> int:
        return int(self.w3.eth.get_balance(signer.address))  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def anvil() -> Iterator[Anvil]:
    with Anvil() as node:
        yield node


@pytest.fixture(scope="session")
def chain_env(anvil: Anvil) -> Env:
    w3 = connect(anvil.rpc_url)
    signers = [Signer.from_private_key(a.private_key) for a in anvil.accounts[:4]]
    dep = deploy_core(w3, signers[0], fulfil_timeout=TIMEOUT)
    mock = deploy(w3, signers[0], load_artifact("MockVerifier"))
    deployer, provider, client, other = signers
    return Env(anvil, w3, dep, deployer, provider, client, other, mock)


@pytest.fixture
def env(chain_env: Env) -> Iterator[Env]:
    """The session chain, rolled back after each test (evm_snapshot / evm_revert)."""
    snap = snapshot(chain_env.node.rpc_url)
    yield chain_env
    revert_to(chain_env.node.rpc_url, snap)
