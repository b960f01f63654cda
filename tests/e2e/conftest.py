"""One real stack for the e2e tests: anvil, core contracts, EZKL verifier, gateway, client."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from api.app import Gateway, create_app
from api.demo import FEE_WEI, FULFIL_TIMEOUT_S
from api.serve import ServerThread, build_gateway, prover_backend
from api.verify_cmd import trusted_model
from contracts.bindings import connect, deploy, deploy_core
from contracts.chain import Anvil
from contracts.clients import EscrowClient, RegistryClient
from contracts.compiler import compile_file
from contracts.signer import Signer
from verifier import Client, TrustedModel

MODEL = "digits-mlp"


@dataclass
class Stack:
    node: Anvil
    gw: Gateway
    client_http: Client
    provider: Signer
    payer: Signer
    escrow_addr: str
    verifier: str
    model_id: int
    trusted: TrustedModel
    registry_addr: str

    def escrow(self, who: Signer) -> EscrowClient:
        return EscrowClient(connect(self.node.rpc_url), self.escrow_addr, who)


@pytest.fixture(scope="session")
def stack(registry: object) -> Iterator[Stack]:
    gw = build_gateway([MODEL])
    with Anvil() as node, ServerThread(create_app(gw)) as url, Client(url) as http:
        w3 = connect(node.rpc_url)
        provider = Signer.from_private_key(node.accounts[0].private_key)
        payer = Signer.from_private_key(node.accounts[1].private_key)
        dep = deploy_core(w3, provider, fulfil_timeout=FULFIL_TIMEOUT_S)
        backend = prover_backend(gw, MODEL)
        art = compile_file(backend.prover.solidity_verifier_path(), "Halo2Verifier")
        verifier = deploy(w3, provider, art)
        commitment = bytes.fromhex(gw.cards[MODEL].commitment.removeprefix("0x"))
        n_outputs = math.prod(gw.cards[MODEL].outputs[0].shape)
        model_id = RegistryClient(w3, dep.registry, provider).register(
            commitment, verifier, FEE_WEI, backend.n_inputs, n_outputs
        )
        trusted = trusted_model(MODEL, node.rpc_url, verifier)
        yield Stack(
            node, gw, http, provider, payer, dep.escrow, verifier, model_id, trusted, dep.registry
        )
