"""The zk path end to end on real parts: EZKL proofs, anvil, compiled contracts, the gateway."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from web3 import Web3

from api.demo import FEE_WEI, FULFIL_TIMEOUT_S
from api.serve import prover_backend
from contracts.bindings import connect, verify_proof_call
from contracts.clients import RequestStatus
from contracts.errors import ContractRevert
from models.digits import load_digits_split
from tests.e2e.conftest import MODEL, Stack
from verifier import (
    InputMismatch,
    LayoutMismatch,
    OutputMismatch,
    ProofInvalid,
    VerifierMismatch,
    calldata,
    check_model_entry,
    check_response,
    check_verifier_code,
    find_models,
    input_commitment,
    quantize,
    verify_proof,
)

pytestmark = pytest.mark.slow


def _digit(i: int) -> list[float]:
    x: list[float] = load_digits_split().x_test[i].tolist()
    return x


def _serve(s: Stack, x: list[float]) -> tuple[dict[str, Any], dict[str, Any]]:
    resp = s.client_http.infer(MODEL, x, shape=[1, 64])
    return resp, s.client_http.proof(MODEL, resp["parameters"]["proof_id"], wait_s=300)


def _request(s: Stack, x: list[float]) -> int:
    h = input_commitment(quantize(x, s.trusted.input_scale))
    return s.escrow(s.payer).request(s.model_id, h, FEE_WEI)


def _balance(s: Stack, who: str) -> int:
    return int(connect(s.node.rpc_url).eth.get_balance(Web3.to_checksum_address(who)))


def test_valid_proof_is_accepted_on_chain_and_the_provider_is_paid(stack: Stack) -> None:
    x = _digit(0)
    req = _request(stack, x)
    resp, proof = _serve(stack, x)
    checked = check_response(x, resp, proof, stack.trusted)
    assert checked.checked_off_chain and checked.checked_on_chain
    assert checked.prediction == int(load_digits_split().y_test[0])
    escrow = stack.escrow(stack.provider)
    credit_before = escrow.credits(stack.provider.address)
    result = escrow.fulfill(req, *calldata(proof))
    assert escrow.is_finalized(req)
    assert escrow.credits(stack.provider.address) == credit_before + FEE_WEI
    assert result.outputs == calldata(proof)[1][prover_backend(stack.gw, MODEL).n_inputs :]
    before = _balance(stack, stack.provider.address)
    w = escrow.withdraw()
    assert _balance(stack, stack.provider.address) == before + credit_before + FEE_WEI - w.fee_wei


def test_tampered_proof_is_rejected_everywhere_and_the_client_refunded(stack: Stack) -> None:
    x = _digit(1)
    req = _request(stack, x)
    _resp, proof = _serve(stack, x)
    proof_bytes, instances = calldata(proof)
    bad = bytearray(proof_bytes)
    bad[200] ^= 0x01
    assert not verify_proof_call(connect(stack.node.rpc_url), stack.verifier, bytes(bad), instances)
    with pytest.raises(ContractRevert) as err:
        stack.escrow(stack.provider).fulfill(req, bytes(bad), instances)
    assert err.value.name == "InvalidProof"
    tampered = dict(proof, proof_hex="0x" + bad.hex())
    tampered["ezkl_proof"] = dict(proof["ezkl_proof"], proof=list(bad))
    assert stack.trusted.vk_path and stack.trusted.settings_path and stack.trusted.srs_path
    with pytest.raises(ProofInvalid):
        verify_proof(
            tampered,
            vk_path=stack.trusted.vk_path,
            settings_path=stack.trusted.settings_path,
            srs_path=stack.trusted.srs_path,
        )
    escrow = stack.escrow(stack.payer)
    assert escrow.get_request(req).status == RequestStatus.OPEN
    with pytest.raises(ContractRevert) as early:
        escrow.refund(req)
    assert early.value.name == "DeadlineNotPassed"
    stack.node.increase_time(FULFIL_TIMEOUT_S + 1)
    credit = escrow.credits(stack.payer.address)
    escrow.refund(req)
    assert escrow.credits(stack.payer.address) == credit + FEE_WEI
    assert escrow.get_request(req).status == RequestStatus.REFUNDED


def test_tampered_output_is_rejected(stack: Stack) -> None:
    x = _digit(2)
    req = _request(stack, x)
    resp, proof = _serve(stack, x)
    proof_bytes, instances = calldata(proof)
    n_in = prover_backend(stack.gw, MODEL).n_inputs
    forged = list(instances)
    forged[n_in] = (forged[n_in] + 1000) % (2**254)
    with pytest.raises(ContractRevert) as err:
        stack.escrow(stack.provider).fulfill(req, proof_bytes, forged)
    assert err.value.name == "InvalidProof"
    resp["outputs"][0]["data"][0] += 5.0
    with pytest.raises(OutputMismatch):
        check_response(x, resp, proof, stack.trusted)


def test_proof_for_another_input_and_replays_are_rejected(stack: Stack) -> None:
    x_a, x_b = _digit(3), _digit(4)
    req_a = _request(stack, x_a)
    resp_b, proof_b = _serve(stack, x_b)
    escrow = stack.escrow(stack.provider)
    with pytest.raises(ContractRevert) as err:
        escrow.fulfill(req_a, *calldata(proof_b))
    assert err.value.name == "InputMismatch"
    with pytest.raises(InputMismatch):
        check_response(x_a, resp_b, proof_b, stack.trusted)
    req_b = _request(stack, x_b)
    escrow.fulfill(req_b, *calldata(proof_b))
    with pytest.raises(ContractRevert) as again:
        escrow.fulfill(req_b, *calldata(proof_b))
    assert again.value.name == "AlreadySettled"


def test_a_genuine_proof_for_another_input_cannot_carry_forged_outputs(stack: Stack) -> None:
    # The attack of the security review: a gateway holding one genuine proof (input A) serves a
    # client who sent input B with that proof, instances = quantize(B) + forged logits, and the
    # same forged logits as outputs. EZKL's own proof JSON still holds A's instances.
    x_a, x_b = _digit(6), _digit(8)
    resp, proof = _serve(stack, x_a)
    n_in = prover_backend(stack.gw, MODEL).n_inputs
    forged_logits = [0.0] * 10
    forged_logits[3] = 9.0
    felts = quantize(x_b, stack.trusted.input_scale) + quantize(
        forged_logits, stack.trusted.output_scale
    )
    forged = dict(proof, instances=[f"0x{f:064x}" for f in felts])
    forged_resp = {**resp, "outputs": [{**resp["outputs"][0], "data": forged_logits}]}
    off_chain_only = replace(stack.trusted, rpc_url=None, verifier_address=None)
    with pytest.raises(ProofInvalid, match="rejected by EZKL"):
        check_response(x_b, forged_resp, forged, off_chain_only)
    with pytest.raises(ProofInvalid):
        check_response(x_b, forged_resp, forged, stack.trusted)
    assert len(felts) == n_in + 10
    assert check_response(x_a, resp, proof, off_chain_only).checked_off_chain


def test_a_client_finds_the_honest_entry_among_squatters(stack: Stack) -> None:
    from contracts.bindings import deploy
    from contracts.build import load_artifact
    from contracts.clients import RegistryClient
    from contracts.compiler import compile_file
    from contracts.signer import Signer

    w3 = connect(stack.node.rpc_url)
    squatter = Signer.from_private_key(stack.node.accounts[3].private_key)
    yes_man = deploy(w3, squatter, load_artifact("MockVerifier"))
    commitment = bytes.fromhex(stack.trusted.commitment.removeprefix("0x"))
    reg = RegistryClient(w3, stack.registry_addr, squatter)
    n_in, n_out = stack.trusted.n_inputs, stack.trusted.n_outputs
    squat = reg.register(commitment, yes_man, 1, n_in, n_out)
    other = Signer.from_private_key(stack.node.accounts[4].private_key)
    misplit = RegistryClient(w3, stack.registry_addr, other).register(
        commitment, stack.verifier, 1, n_in - 1, n_out + 1
    )
    sol = prover_backend(stack.gw, MODEL).prover.solidity_verifier_path()
    ours = compile_file(sol, "Halo2Verifier").deployed_bytecode
    found = find_models(stack.trusted, registry=stack.registry_addr, expected_runtime=ours)
    assert found == [stack.model_id]
    with pytest.raises(VerifierMismatch):
        check_model_entry(stack.trusted, squat, registry=stack.registry_addr, expected_runtime=ours)
    with pytest.raises(LayoutMismatch):
        check_model_entry(
            stack.trusted, misplit, registry=stack.registry_addr, expected_runtime=ours
        )


def test_only_the_registered_provider_can_fulfil(stack: Stack) -> None:
    x = _digit(5)
    req = _request(stack, x)
    _, proof = _serve(stack, x)
    with pytest.raises(ContractRevert) as err:
        stack.escrow(stack.payer).fulfill(req, *calldata(proof))
    assert err.value.name == "NotProvider"


def test_registered_verifier_code_is_checked_against_our_own_build(stack: Stack) -> None:
    from contracts.bindings import deploy
    from contracts.build import load_artifact
    from contracts.compiler import compile_file
    from contracts.signer import Signer

    sol = prover_backend(stack.gw, MODEL).prover.solidity_verifier_path()
    ours = compile_file(sol, "Halo2Verifier").deployed_bytecode
    assert check_verifier_code(
        rpc_url=stack.node.rpc_url, verifier_address=stack.verifier, expected_runtime=ours
    )
    w3 = connect(stack.node.rpc_url)
    yes_man = deploy(
        w3,
        Signer.from_private_key(stack.node.accounts[2].private_key),
        load_artifact("MockVerifier"),
    )
    with pytest.raises(VerifierMismatch, match="not the verifier built"):
        check_verifier_code(
            rpc_url=stack.node.rpc_url, verifier_address=yes_man, expected_runtime=ours
        )


def test_the_served_gateway_stores_use_the_configured_fsync_policy(stack: Stack) -> None:
    from sqlalchemy import text

    from verinfer.settings import get_settings

    want = get_settings().store_synchronous
    assert want == "normal"  # the default: every answer survives kill -9 (tests/api/test_worker)
    with stack.gw.store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
    assert stack.gw.claims is not None and stack.gw.claims.store.synchronous == want
