"""zk on demand with a real EZKL proof: a bonded claim is final after the window unless
challenged; a challenge is answered by a proof of exactly the claimed output or refunded."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from web3 import Web3

from contracts.bindings import deploy
from contracts.build import load_artifact
from contracts.clients import ZERO_ADDRESS, RequestStatus
from contracts.compiler import compile_file
from contracts.encoding import FIELD_MODULUS, input_hash
from tests.contracts.conftest import FEE, Env
from tests.contracts.ezkl_fixture import EzklProof, build
from tests.contracts.optimistic_fixture import MIN_BOND, reverts

pytestmark = pytest.mark.slow

BOND = MIN_BOND + 3
CHALLENGE = 2 * MIN_BOND + 1  # odd: the burned half rounds down
CALLBACK_GAS = 300_000


def _burn(amount: int) -> int:
    return amount * 5000 // 10_000


@pytest.fixture(scope="module")
def ezkl_proof(tmp_path_factory: pytest.TempPathFactory) -> EzklProof:
    return build(tmp_path_factory.mktemp("ezkl-on-demand"))


@pytest.fixture(scope="module")
def verifier(chain_env: Env, ezkl_proof: EzklProof) -> str:
    art = compile_file(ezkl_proof.sol_path, contract_name="Halo2Verifier")
    return deploy(chain_env.w3, chain_env.deployer, art)


@dataclass
class OnDemand:
    env: Env
    proof: EzklProof
    model_id: int

    @property
    def inputs(self) -> list[int]:
        return self.proof.instances[: self.proof.n_inputs]

    @property
    def outputs(self) -> list[int]:
        return self.proof.instances[self.proof.n_inputs :]

    def request(self, inputs: list[int] | None = None) -> int:
        h = input_hash(self.inputs if inputs is None else inputs)
        return self.env.escrow(self.env.client).request(self.model_id, h, FEE)

    def claimed(self, outputs: list[int] | None = None, inputs: list[int] | None = None) -> int:
        rid = self.request(inputs)
        out = self.outputs if outputs is None else outputs
        self.env.escrow(self.env.provider).claim_on_demand(rid, out, BOND)
        return rid

    def challenged(self, **kw: list[int]) -> int:
        rid = self.claimed(**kw)
        self.env.escrow(self.env.other).challenge_on_demand(rid, CHALLENGE)
        return rid

    def escrow_balance(self) -> int:
        return int(self.env.w3.eth.get_balance(Web3.to_checksum_address(self.env.dep.escrow)))


@pytest.fixture
def od(env: Env, ezkl_proof: EzklProof, verifier: str) -> Iterator[OnDemand]:
    n_out = len(ezkl_proof.instances) - ezkl_proof.n_inputs
    layout = (ezkl_proof.n_inputs, n_out)
    mid = env.registry(env.provider).register_on_demand(
        b"\x44" * 32, verifier, FEE, layout, MIN_BOND
    )
    yield OnDemand(env, ezkl_proof, mid)


def _window(env: Env) -> int:
    return int(env.escrow().contract.functions.challengeWindow().call())


def _proving(env: Env) -> int:
    return int(env.escrow().contract.functions.provingWindow().call())


def test_an_unchallenged_claim_finalizes(od: OnDemand) -> None:
    env = od.env
    rid = od.claimed()
    c = env.escrow().get_claim(rid)
    assert (c.status, c.bond, c.challenger) == (RequestStatus.CLAIMED, BOND, ZERO_ADDRESS)
    with reverts("WindowOpen"):
        env.escrow(env.other).finalize(rid)
    env.node.increase_time(_window(env) + 1)
    env.escrow(env.other).finalize(rid)
    assert env.escrow().is_finalized(rid)
    assert env.escrow().credits(env.provider.address) == FEE + BOND
    before = env.balance(env.provider)
    tx = env.escrow(env.provider).withdraw()
    assert env.balance(env.provider) == before + FEE + BOND - tx.fee_wei


def test_a_proof_in_the_window_settles_at_once(od: OnDemand) -> None:
    env = od.env
    rid = od.claimed()
    env.escrow(env.client).prove_on_demand(rid, od.proof.proof, od.proof.instances)
    assert env.escrow().is_finalized(rid)
    assert env.escrow().credits(env.provider.address) == FEE + BOND
    assert env.escrow().fulfilled_outputs(rid) == od.outputs


def test_a_challenge_answered_by_a_valid_proof(od: OnDemand) -> None:
    env = od.env
    rid = od.challenged()
    c = env.escrow().get_claim(rid)
    assert (c.challenger, c.challenger_bond) == (env.other.address, CHALLENGE)
    # Anyone may send the proof (here the client): it is the truth and pays only the provider.
    env.escrow(env.client).prove_on_demand(rid, od.proof.proof, od.proof.instances)
    esc = env.escrow()
    assert esc.get_request(rid).status is RequestStatus.FULFILLED
    won = FEE + BOND + CHALLENGE - _burn(CHALLENGE)
    assert esc.credits(env.provider.address) == won
    assert esc.credits(env.other.address) == 0 and esc.credits(env.client.address) == 0
    assert esc.burned() == _burn(CHALLENGE)
    assert od.escrow_balance() == won + _burn(CHALLENGE)
    with reverts("ClaimNotOpen", rid):
        env.escrow(env.other).timeout_on_demand(rid)


def test_no_proof_by_the_deadline_refunds_the_client(od: OnDemand) -> None:
    env = od.env
    rid = od.challenged()
    with reverts("DeadlineNotPassed"):
        env.escrow(env.other).timeout_on_demand(rid)
    env.node.increase_time(_proving(env) + 1)
    with reverts("DeadlinePassed"):  # a late proof no longer counts
        env.escrow(env.provider).prove_on_demand(rid, od.proof.proof, od.proof.instances)
    env.escrow(env.other).timeout_on_demand(rid)
    esc = env.escrow()
    assert esc.get_request(rid).status is RequestStatus.REFUNDED and not esc.is_finalized(rid)
    assert esc.credits(env.client.address) == FEE
    assert esc.credits(env.other.address) == CHALLENGE + BOND - _burn(BOND)
    assert esc.credits(env.provider.address) == 0
    assert esc.burned() == _burn(BOND)


def test_a_proof_of_another_input_output_or_a_tampered_one(od: OnDemand) -> None:
    env, p = od.env, od.proof
    other_input = od.challenged(inputs=[*od.inputs[:-1], (od.inputs[-1] + 1) % FIELD_MODULUS])
    with reverts("InputMismatch"):
        env.escrow(env.provider).prove_on_demand(other_input, p.proof, p.instances)
    wrong = [*od.outputs[:-1], (od.outputs[-1] + 1) % FIELD_MODULUS]
    other_output = od.challenged(outputs=wrong)
    with reverts("OutputMismatch"):
        env.escrow(env.provider).prove_on_demand(other_output, p.proof, p.instances)
    rid = od.challenged()
    bad = bytearray(p.proof)
    bad[100] ^= 0x01
    with reverts("InvalidProof"):
        env.escrow(env.provider).prove_on_demand(rid, bytes(bad), p.instances)
    with reverts("WrongInstanceCount"):
        env.escrow(env.provider).prove_on_demand(rid, p.proof, p.instances[:-1])
    assert env.escrow().get_claim(rid).status is RequestStatus.CLAIMED


def test_challenge_rules(od: OnDemand) -> None:
    env = od.env
    rid = od.claimed()
    with reverts("SelfChallenge"):
        env.escrow(env.provider).challenge_on_demand(rid, CHALLENGE)
    with reverts("BondTooLow", MIN_BOND - 1, MIN_BOND):
        env.escrow(env.other).challenge_on_demand(rid, MIN_BOND - 1)
    env.escrow(env.other).challenge_on_demand(rid, CHALLENGE)
    with reverts("AlreadyChallenged", rid):
        env.escrow(env.deployer).challenge_on_demand(rid, CHALLENGE)
    late = od.claimed()
    env.node.increase_time(_window(env) + 1)
    with reverts("WindowClosed"):
        env.escrow(env.other).challenge_on_demand(late, CHALLENGE)
    with reverts("Challenged", rid):  # the window is over, but a proof is still owed
        env.escrow(env.other).finalize(rid)
    with reverts("WindowClosed"):  # unchallenged: a proof after the window is not needed
        env.escrow(env.provider).prove_on_demand(late, od.proof.proof, od.proof.instances)
    with reverts("NotChallenged", late):
        env.escrow(env.other).timeout_on_demand(late)


def test_claim_rules(od: OnDemand) -> None:
    env = od.env
    rid = od.request()
    with reverts("WrongInstanceCount", len(od.outputs) - 1, len(od.outputs)):
        env.escrow(env.provider).claim_on_demand(rid, od.outputs[:-1], BOND)
    with reverts("BondTooLow", MIN_BOND - 1, MIN_BOND):
        env.escrow(env.provider).claim_on_demand(rid, od.outputs, MIN_BOND - 1)
    with reverts("NotProvider"):
        env.escrow(env.other).claim_on_demand(rid, od.outputs, BOND)
    with reverts("WrongMode"):  # an on-demand request is claimed, never fulfilled directly
        env.escrow(env.provider).fulfill(rid, od.proof.proof, od.proof.instances)


def _consumer(env: Env) -> tuple[str, object]:
    art = load_artifact("ExampleConsumer")
    address = deploy(env.w3, env.deployer, art, env.dep.escrow)
    return address, env.w3.eth.contract(address=Web3.to_checksum_address(address), abi=art.abi)


def test_the_callback_fires_on_the_proof_and_not_on_a_timeout(od: OnDemand) -> None:
    env = od.env
    address, consumer = _consumer(env)
    esc = env.escrow(env.client)
    proven = esc.request_with_callback(
        od.model_id, input_hash(od.inputs), FEE, (address, CALLBACK_GAS)
    )
    timed_out = esc.request_with_callback(
        od.model_id, input_hash(od.inputs), FEE, (address, CALLBACK_GAS)
    )
    for rid in (proven, timed_out):
        env.escrow(env.provider).claim_on_demand(rid, od.outputs, BOND)
        env.escrow(env.other).challenge_on_demand(rid, CHALLENGE)
    env.escrow(env.provider).prove_on_demand(proven, od.proof.proof, od.proof.instances)
    fns = consumer.functions  # type: ignore[attr-defined]
    packed = b"".join(x.to_bytes(32, "big") for x in od.outputs)
    assert (fns.lastRequestId().call(), fns.lastOutput().call(), fns.received().call()) == (
        proven,
        packed,
        1,
    )
    env.node.increase_time(_proving(env) + 1)
    env.escrow(env.other).timeout_on_demand(timed_out)
    assert fns.received().call() == 1 and fns.lastRequestId().call() == proven


def test_an_unchallenged_finalize_delivers_the_packed_outputs(od: OnDemand) -> None:
    env = od.env
    address, consumer = _consumer(env)
    h = input_hash(od.inputs)
    rid = env.escrow(env.client).request_with_callback(od.model_id, h, FEE, (address, CALLBACK_GAS))
    env.escrow(env.provider).claim_on_demand(rid, od.outputs, BOND)
    env.node.increase_time(_window(env) + 1)
    packed = b"".join(x.to_bytes(32, "big") for x in od.outputs)
    with reverts("OutputMismatch"):
        env.escrow(env.other).finalize(rid, packed[:-1] + bytes([packed[-1] ^ 1]))
    env.escrow(env.other).finalize(rid, packed)
    fns = consumer.functions  # type: ignore[attr-defined]
    assert (fns.lastRequestId().call(), fns.lastOutput().call(), fns.lastWasFinal().call()) == (
        rid,
        packed,
        True,
    )
