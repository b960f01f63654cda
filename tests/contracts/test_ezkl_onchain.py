"""One real EZKL proof end to end: its generated verifier, compiled by us, behind the escrow."""

from __future__ import annotations

import pytest

from contracts.bindings import deploy, estimate_verify_gas, verify_proof_call
from contracts.compiler import Artifact, compile_file
from contracts.encoding import FIELD_MODULUS, input_hash
from contracts.errors import ContractRevert
from tests.contracts.conftest import FEE, Env
from tests.contracts.ezkl_fixture import EzklProof, build

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ezkl_proof(tmp_path_factory: pytest.TempPathFactory) -> EzklProof:
    return build(tmp_path_factory.mktemp("ezkl"))


@pytest.fixture(scope="module")
def verifier_artifact(ezkl_proof: EzklProof) -> Artifact:
    return compile_file(ezkl_proof.sol_path, contract_name="Halo2Verifier")


@pytest.fixture
def setup(env: Env, ezkl_proof: EzklProof, verifier_artifact: Artifact) -> tuple[int, str]:
    verifier = deploy(env.w3, env.deployer, verifier_artifact)
    n_in = ezkl_proof.n_inputs
    n_out = len(ezkl_proof.instances) - n_in
    model_id = env.registry(env.provider).register(b"\x33" * 32, verifier, FEE, n_in, n_out)
    inputs = ezkl_proof.instances[: ezkl_proof.n_inputs]
    rid = env.escrow(env.client).request(model_id, input_hash(inputs), FEE)
    return rid, verifier


def test_verifier_fits_and_instances_are_felts(
    ezkl_proof: EzklProof, verifier_artifact: Artifact
) -> None:
    assert len(bytes.fromhex(verifier_artifact.deployed_bytecode[2:])) < 24_576
    assert len(ezkl_proof.instances) == 7
    assert all(0 <= x < FIELD_MODULUS for x in ezkl_proof.instances)


def test_valid_proof_through_escrow(
    env: Env, ezkl_proof: EzklProof, setup: tuple[int, str]
) -> None:
    rid, verifier = setup
    p = ezkl_proof
    assert verify_proof_call(env.w3, verifier, p.proof, p.instances)
    verify_gas = estimate_verify_gas(env.w3, verifier, p.proof, p.instances)
    res = env.escrow(env.provider).fulfill(rid, p.proof, p.instances)
    print(f"\nverifyProof gas (estimate): {verify_gas}; fulfill gas used: {res.tx.gas_used}")
    assert res.outputs == p.instances[p.n_inputs :]
    assert env.escrow().is_finalized(rid)
    assert env.escrow().credits(env.provider.address) == FEE
    before = env.balance(env.provider)
    tx = env.escrow(env.provider).withdraw()
    assert env.balance(env.provider) == before + FEE - tx.fee_wei


def test_tampered_proof_byte(env: Env, ezkl_proof: EzklProof, setup: tuple[int, str]) -> None:
    rid, verifier = setup
    bad = bytearray(ezkl_proof.proof)
    bad[100] ^= 0x01
    assert not verify_proof_call(env.w3, verifier, bytes(bad), ezkl_proof.instances)
    with pytest.raises(ContractRevert) as exc:
        env.escrow(env.provider).fulfill(rid, bytes(bad), ezkl_proof.instances)
    assert exc.value.name == "InvalidProof"


def test_tampered_output_instance(env: Env, ezkl_proof: EzklProof, setup: tuple[int, str]) -> None:
    rid, _ = setup
    inst = list(ezkl_proof.instances)
    inst[-1] = (inst[-1] + 1) % FIELD_MODULUS
    with pytest.raises(ContractRevert) as exc:
        env.escrow(env.provider).fulfill(rid, ezkl_proof.proof, inst)
    assert exc.value.name == "InvalidProof"
    assert env.escrow().credits(env.provider.address) == 0
