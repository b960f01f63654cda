"""`verinfer demo`: the whole zk path on a real local chain, told step by step.

anvil starts, the contracts are deployed, both digits models are registered with their EZKL
verifiers, the gateway serves a real digit, the proof is checked off-chain and on-chain, the
escrow pays the provider, and a tampered proof is shown to lose. Then the optimistic path on
MiniLM (``api.demo_optimistic``): a cheating provider's bonded claim is caught by a watcher and
loses its bond, and an honest claim is paid after the challenge window.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from web3 import Web3

from api.app import Gateway, create_app
from api.demo_optimistic import Optimistic, run_optimistic
from api.serve import ServerThread, build_gateway, prover_backend
from api.verify_cmd import trusted_model
from contracts.bindings import Deployment, connect, deploy, deploy_core, verify_proof_call
from contracts.chain import Anvil
from contracts.clients import EscrowClient, RegistryClient
from contracts.compiler import compile_file
from contracts.errors import ContractRevert
from contracts.signer import Signer
from models.digits import load_digits_split
from prover.srs import DEV_SRS_WARNING, is_dev_srs
from verifier import (
    Client,
    TrustedModel,
    calldata,
    check_response,
    check_verifier_code,
    input_commitment,
    quantize,
)
from verinfer.settings import get_settings

MODELS = ["digits-mlp", "digits-cnn"]
FEE_WEI = Web3.to_wei(0.01, "ether")
FULFIL_TIMEOUT_S = 600


@dataclass
class Narrator:
    """Prints human-readable steps (or collects them for --json)."""

    say: Any
    steps: list[dict[str, Any]] = field(default_factory=list)

    def step(self, title: str, **facts: Any) -> None:
        self.steps.append({"step": title, **facts})
        self.say(title, facts)


@dataclass
class Chain:
    """The demo's chain state: node, accounts, core contracts, per-model verifier and id."""

    node: Anvil
    w3: Web3
    provider: Signer
    client: Signer
    deployment: Deployment
    verifiers: dict[str, str] = field(default_factory=dict)
    model_ids: dict[str, int] = field(default_factory=dict)

    def escrow(self, who: Signer) -> EscrowClient:
        return EscrowClient(self.w3, self.deployment.escrow, who)


def _start_chain(node: Anvil, n: Narrator) -> Chain:
    w3 = connect(node.rpc_url)
    provider = Signer.from_private_key(node.accounts[0].private_key)
    client = Signer.from_private_key(node.accounts[1].private_key)
    dep = deploy_core(w3, provider, fulfil_timeout=FULFIL_TIMEOUT_S)
    n.step(
        "deployed ModelRegistry, InferenceEscrow, DisputeGame and OneStepVerifier",
        rpc_url=node.rpc_url,
        registry=dep.registry,
        escrow=dep.escrow,
        dispute_game=dep.game,
        one_step_verifier=dep.osv,
    )
    return Chain(node, w3, provider, client, dep)


def _register(chain: Chain, gw: Gateway, n: Narrator) -> None:
    reg = RegistryClient(chain.w3, chain.deployment.registry, chain.provider)
    for name in MODELS:
        backend = prover_backend(gw, name)
        art = compile_file(backend.prover.solidity_verifier_path(), "Halo2Verifier")
        chain.verifiers[name] = deploy(chain.w3, chain.provider, art)
        # A client must not trust a verifier address just because the provider registered it.
        check_verifier_code(
            rpc_url=chain.node.rpc_url,
            verifier_address=chain.verifiers[name],
            expected_runtime=art.deployed_bytecode,
        )
        commitment = bytes.fromhex(gw.cards[name].commitment.removeprefix("0x"))
        n_outputs = math.prod(gw.cards[name].outputs[0].shape)
        chain.model_ids[name] = reg.register(
            commitment, chain.verifiers[name], FEE_WEI, backend.n_inputs, n_outputs
        )
        n.step(
            f"registered {name}",
            model_id=chain.model_ids[name],
            verifier=chain.verifiers[name],
            verifier_code="identical to our own build from the model's vk",
            commitment=gw.cards[name].commitment,
            logrows=backend.prover.logrows,
        )


def _trusted(chain: Chain, name: str) -> TrustedModel:
    return trusted_model(name, chain.node.rpc_url, chain.verifiers[name])


def _digit(index: int) -> tuple[list[float], int]:
    data = load_digits_split()
    return data.x_test[index].tolist(), int(data.y_test[index])


def _serve_one(chain: Chain, gw: Gateway, c: Client, name: str, n: Narrator) -> dict[str, Any]:
    x, label = _digit(7)
    shape = gw.cards[name].inputs[0].shape
    trusted = _trusted(chain, name)
    req_id = chain.escrow(chain.client).request(
        chain.model_ids[name],
        input_commitment(quantize(x, trusted.input_scale)),
        FEE_WEI,
        max_fee=FEE_WEI,
    )
    resp = c.infer(name, x, shape=shape)
    n.step(
        f"{name}: client paid {Web3.from_wei(FEE_WEI, 'ether')} ETH into escrow and sent a "
        f"digit (true label {label})",
        request_id=req_id,
        proof_id=resp["parameters"]["proof_id"],
    )
    proof = c.proof(name, resp["parameters"]["proof_id"], wait_s=600)
    checked = check_response(x, resp, proof, trusted)
    n.step(
        f"{name}: predicted {checked.prediction}; proof valid off-chain and on-chain",
        prove_seconds=proof.get("prove_seconds"),
        checked_off_chain=checked.checked_off_chain,
        checked_on_chain=checked.checked_on_chain,
    )
    saved = get_settings().data_dir / "demo" / f"{name}-response.json"
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps({"input": x, "response": resp, "proof": proof}))
    n.step(
        f"{name}: saved input, response and proof",
        path=str(saved),
        try_it=f"verinfer verify {saved} --model {name}",
    )
    return {"request_id": req_id, "proof": proof, "x": x, "prediction": checked.prediction}


def _settle(chain: Chain, name: str, served: dict[str, Any], n: Narrator) -> None:
    escrow = chain.escrow(chain.provider)
    before = chain.w3.eth.get_balance(Web3.to_checksum_address(chain.provider.address))
    result = escrow.fulfill(served["request_id"], *calldata(served["proof"]))
    credited = escrow.credits(chain.provider.address)
    withdraw = escrow.withdraw()
    after = chain.w3.eth.get_balance(Web3.to_checksum_address(chain.provider.address))
    net = after - before + result.tx.fee_wei + withdraw.fee_wei
    n.step(
        f"{name}: escrow verified the proof on-chain and paid the provider",
        fulfil_gas=result.tx.gas_used,
        credited_wei=credited,
        provider_balance_change_wei=after - before,
        gross_payment_wei=net,
        finalized=escrow.is_finalized(served["request_id"]),
    )


def _tampered(chain: Chain, name: str, served: dict[str, Any], n: Narrator) -> None:
    proof_bytes, instances = calldata(served["proof"])
    bad = bytearray(proof_bytes)
    bad[100] ^= 0x01
    accepted = verify_proof_call(chain.w3, chain.verifiers[name], bytes(bad), instances)
    scale = _trusted(chain, name).input_scale
    req_id = chain.escrow(chain.client).request(
        chain.model_ids[name],
        input_commitment(quantize(served["x"], scale)),
        FEE_WEI,
        max_fee=FEE_WEI,
    )
    try:
        chain.escrow(chain.provider).fulfill(req_id, bytes(bad), instances)
        outcome = "ACCEPTED (this is a bug)"
    except ContractRevert as exc:
        outcome = f"reverted with {exc.name}"
    chain.node.increase_time(FULFIL_TIMEOUT_S + 1)
    chain.escrow(chain.client).refund(req_id)
    refund = chain.escrow(chain.client).credits(chain.client.address)
    n.step(
        f"{name}: a tampered proof (one bit flipped) loses",
        verifier_accepts=accepted,
        escrow=outcome,
        client_refund_after_timeout_wei=refund,
    )
    if accepted or not outcome.startswith("reverted"):
        raise AssertionError("a tampered proof was accepted")


def run_demo(n: Narrator, progress: Any = None) -> list[dict[str, Any]]:
    """Run the whole demo; returns the steps (also narrated as they happen)."""
    if is_dev_srs():
        n.step("WARNING: development SRS", detail=DEV_SRS_WARNING)
    gw = build_gateway(MODELS, progress)
    with Anvil() as node, ServerThread(create_app(gw)) as url, Client(url) as c:
        chain = _start_chain(node, n)
        _register(chain, gw, n)
        n.step("gateway up", url=url)
        served = {name: _serve_one(chain, gw, c, name, n) for name in MODELS}
        for name in MODELS:
            _settle(chain, name, served[name], n)
        _tampered(chain, MODELS[0], served[MODELS[0]], n)
        watcher = Signer.from_private_key(node.accounts[2].private_key)
        run_optimistic(
            Optimistic(chain.w3, chain.deployment, node, chain.provider, chain.client, watcher), n
        )
    return n.steps
