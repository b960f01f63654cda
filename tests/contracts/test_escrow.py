"""InferenceEscrow with MockVerifier: payments, every failure mode by custom error name."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from web3 import Web3

from contracts.bindings import core_error_table, send
from contracts.build import load_artifact
from contracts.clients import RequestStatus
from contracts.encoding import input_hash, output_hash
from contracts.errors import ContractRevert
from tests.contracts.conftest import FEE, N_INPUTS, N_OUTPUTS, TIMEOUT, Env

INPUTS = [1, 2, 3, 2**200]
OUTPUTS = [7, 8, 9]
PROOF = b"\xab" * 64
COMMIT = b"\x22" * 32


def _model(env: Env, active: bool = True) -> int:
    reg = env.registry(env.provider)
    model_id = reg.register(COMMIT, env.mock, FEE, N_INPUTS, N_OUTPUTS)
    if not active:
        reg.set_active(model_id, False)
    return model_id


def _request(
    env: Env, inputs: Sequence[int] = INPUTS, value: int = FEE, max_fee: int | None = None
) -> int:
    return env.escrow(env.client).request(_model(env), input_hash(inputs), value, max_fee)


def _set_mode(env: Env, mode: int) -> None:
    mock = env.w3.eth.contract(
        address=Web3.to_checksum_address(env.mock), abi=load_artifact("MockVerifier").abi
    )
    send(env.w3, env.deployer, mock.functions.setMode(mode), core_error_table())


def _reverts(name: str) -> pytest.RaisesExc[ContractRevert]:
    return pytest.raises(ContractRevert, match=rf"\b{name}\(")


def test_request_records_and_escrows(env: Env) -> None:
    before = env.w3.eth.get_balance(env.dep.escrow)  # type: ignore[arg-type]
    rid = _request(env)
    r = env.escrow().get_request(rid)
    assert (r.client, r.provider, r.payment) == (env.client.address, env.provider.address, FEE)
    assert r.status is RequestStatus.OPEN and r.input_hash == input_hash(INPUTS)
    assert env.w3.eth.get_balance(env.dep.escrow) == before + FEE  # type: ignore[arg-type]
    assert not env.escrow().is_finalized(rid)


def test_overpayment_credited_to_client(env: Env) -> None:
    rid = env.escrow(env.client).request(_model(env), input_hash(INPUTS), FEE + 123, max_fee=FEE)
    assert env.escrow().credits(env.client.address) == 123
    assert env.escrow().get_request(rid).payment == FEE


def test_fee_raised_between_quote_and_request(env: Env) -> None:
    # The client quotes FEE and sends a margin; the provider's setFee is mined first.
    model_id = _model(env)
    quote = env.registry().get_model(model_id).fee
    env.registry(env.provider).set_fee(model_id, quote * 2)
    before = env.w3.eth.get_balance(env.dep.escrow)  # type: ignore[arg-type]
    with pytest.raises(ContractRevert) as exc:
        env.escrow(env.client).request(model_id, input_hash(INPUTS), quote * 2, max_fee=quote)
    assert exc.value.name == "FeeAboveMax"
    assert exc.value.error_args == (quote * 2, quote)
    assert env.w3.eth.get_balance(env.dep.escrow) == before  # type: ignore[arg-type]
    assert env.escrow().credits(env.client.address) == 0


def test_fee_lowered_between_quote_and_request(env: Env) -> None:
    model_id = _model(env)
    env.registry(env.provider).set_fee(model_id, FEE // 2)
    rid = env.escrow(env.client).request(model_id, input_hash(INPUTS), FEE, max_fee=FEE)
    assert env.escrow().get_request(rid).payment == FEE // 2
    assert env.escrow().credits(env.client.address) == FEE - FEE // 2


def test_max_fee_defaults_to_value(env: Env) -> None:
    model_id = _model(env)
    env.registry(env.provider).set_fee(model_id, FEE + 1)
    with _reverts("FeeAboveMax"):
        env.escrow(env.client).request(model_id, input_hash(INPUTS), FEE)


def test_request_short_payment(env: Env) -> None:
    with pytest.raises(ContractRevert) as exc:
        _request(env, value=FEE - 1, max_fee=FEE)
    assert exc.value.name == "InsufficientPayment"
    assert exc.value.error_args == (FEE - 1, FEE)


def test_request_unknown_model(env: Env) -> None:
    with _reverts("UnknownModel"):
        env.escrow(env.client).request(99, input_hash(INPUTS), FEE)


def test_request_inactive_model(env: Env) -> None:
    model_id = _model(env, active=False)
    with _reverts("ModelInactive"):
        env.escrow(env.client).request(model_id, input_hash(INPUTS), FEE)


def test_fulfil_pays_provider_and_withdraw_moves_eth(env: Env) -> None:
    rid = _request(env)
    res = env.escrow(env.provider).fulfill(rid, PROOF, INPUTS + OUTPUTS)
    esc = env.escrow()
    assert res.outputs == OUTPUTS and res.output_hash == output_hash(OUTPUTS)
    assert esc.is_finalized(rid) and esc.output_hash(rid) == output_hash(OUTPUTS)
    assert esc.get_request(rid).status is RequestStatus.FULFILLED
    assert esc.fulfilled_outputs(rid) == OUTPUTS
    assert esc.credits(env.provider.address) == FEE
    before = env.balance(env.provider)
    tx = env.escrow(env.provider).withdraw()
    assert env.balance(env.provider) == before + FEE - tx.fee_wei
    assert esc.credits(env.provider.address) == 0


def test_fulfilled_outputs_none_when_open(env: Env) -> None:
    assert env.escrow().fulfilled_outputs(_request(env)) is None


def test_fulfil_not_provider(env: Env) -> None:
    rid = _request(env)
    with pytest.raises(ContractRevert) as exc:
        env.escrow(env.other).fulfill(rid, PROOF, INPUTS + OUTPUTS)
    assert exc.value.name == "NotProvider"
    assert exc.value.error_args == (env.other.address, env.provider.address)


def test_fulfil_unknown_request(env: Env) -> None:
    with _reverts("UnknownRequest"):
        env.escrow(env.provider).fulfill(77, PROOF, INPUTS + OUTPUTS)


def test_fulfil_input_mismatch(env: Env) -> None:
    rid = _request(env)
    with _reverts("InputMismatch"):
        env.escrow(env.provider).fulfill(rid, PROOF, [*INPUTS[:-1], 5, *OUTPUTS])


@pytest.mark.parametrize(
    "instances",
    [INPUTS, INPUTS + OUTPUTS[:-1], [*INPUTS, *OUTPUTS, 0], INPUTS + INPUTS],
    ids=["no-outputs", "one-short", "one-extra", "inputs-twice"],
)
def test_fulfil_wrong_instance_count(env: Env, instances: list[int]) -> None:
    # MockVerifier accepts anything: only the escrow's layout check stands in the way.
    rid = _request(env)
    with pytest.raises(ContractRevert) as exc:
        env.escrow(env.provider).fulfill(rid, PROOF, instances)
    assert exc.value.name == "WrongInstanceCount"
    assert exc.value.error_args == (len(instances), N_INPUTS + N_OUTPUTS)
    assert env.escrow().get_request(rid).status is RequestStatus.OPEN


@pytest.mark.parametrize(
    "mode", [1, 2, 3, 4, 5], ids=["false", "revert", "short", "two", "empty-revert"]
)
def test_fulfil_invalid_proof_modes(env: Env, mode: int) -> None:
    rid = _request(env)
    _set_mode(env, mode)
    with _reverts("InvalidProof"):
        env.escrow(env.provider).fulfill(rid, PROOF, INPUTS + OUTPUTS)
    assert env.escrow().credits(env.provider.address) == 0
    assert env.escrow().get_request(rid).status is RequestStatus.OPEN


def test_double_fulfil(env: Env) -> None:
    rid = _request(env)
    env.escrow(env.provider).fulfill(rid, PROOF, INPUTS + OUTPUTS)
    with _reverts("AlreadySettled"):
        env.escrow(env.provider).fulfill(rid, PROOF, INPUTS + OUTPUTS)
    assert env.escrow().credits(env.provider.address) == FEE


def test_fulfil_after_deadline(env: Env) -> None:
    rid = _request(env)
    env.node.increase_time(TIMEOUT + 1)
    with _reverts("DeadlinePassed"):
        env.escrow(env.provider).fulfill(rid, PROOF, INPUTS + OUTPUTS)


def test_refund_after_deadline_and_withdraw(env: Env) -> None:
    rid = _request(env)
    env.node.increase_time(TIMEOUT + 1)
    env.escrow(env.other).refund(rid)  # anyone may trigger; the client is credited
    esc = env.escrow()
    assert esc.credits(env.client.address) == FEE and esc.credits(env.other.address) == 0
    assert esc.get_request(rid).status is RequestStatus.REFUNDED and not esc.is_finalized(rid)
    before = env.balance(env.client)
    tx = env.escrow(env.client).withdraw()
    assert env.balance(env.client) == before + FEE - tx.fee_wei


def test_refund_before_deadline(env: Env) -> None:
    rid = _request(env)
    with _reverts("DeadlineNotPassed"):
        env.escrow(env.client).refund(rid)


def test_refund_of_fulfilled(env: Env) -> None:
    rid = _request(env)
    env.escrow(env.provider).fulfill(rid, PROOF, INPUTS + OUTPUTS)
    env.node.increase_time(TIMEOUT + 1)
    with _reverts("AlreadySettled"):
        env.escrow(env.client).refund(rid)


def test_double_refund(env: Env) -> None:
    rid = _request(env)
    env.node.increase_time(TIMEOUT + 1)
    env.escrow(env.client).refund(rid)
    with _reverts("AlreadySettled"):
        env.escrow(env.client).refund(rid)
    assert env.escrow().credits(env.client.address) == FEE


def test_refund_unknown_request(env: Env) -> None:
    with _reverts("UnknownRequest"):
        env.escrow(env.client).refund(5)


def test_withdraw_nothing(env: Env) -> None:
    with _reverts("NothingToWithdraw"):
        env.escrow(env.other).withdraw()


def test_fee_change_does_not_touch_open_request(env: Env) -> None:
    rid = _request(env)
    env.registry(env.provider).set_fee(env.escrow().get_request(rid).model_id, FEE * 10)
    env.escrow(env.provider).fulfill(rid, PROOF, INPUTS + OUTPUTS)
    assert env.escrow().credits(env.provider.address) == FEE


def test_get_request_unknown(env: Env) -> None:
    with _reverts("UnknownRequest"):
        env.escrow().get_request(1234)
