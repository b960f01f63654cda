"""ModelRegistry two-step ownership transfer, and what it means for escrowed requests."""

from __future__ import annotations

import pytest

from contracts.encoding import input_hash
from contracts.errors import ContractRevert
from tests.contracts.conftest import FEE, N_INPUTS, N_OUTPUTS, Env

COMMIT = b"\x55" * 32
ZERO = "0x" + "00" * 20
INPUTS = [1, 2, 3, 4]
OUTPUTS = [5, 6, 7]
PROOF = b"\xcd" * 64


def _model(env: Env) -> int:
    return env.registry(env.provider).register(COMMIT, env.mock, FEE, N_INPUTS, N_OUTPUTS)


def _transfer(env: Env, model_id: int) -> None:
    env.registry(env.provider).transfer_ownership(model_id, env.other.address)
    env.registry(env.other).accept_ownership(model_id)


def test_transfer_not_owner(env: Env) -> None:
    model_id = _model(env)
    with pytest.raises(ContractRevert) as exc:
        env.registry(env.other).transfer_ownership(model_id, env.other.address)
    assert exc.value.name == "NotOwner"
    assert exc.value.error_args == (env.other.address, env.provider.address)
    assert env.registry().pending_owner_of(model_id) == ZERO


def test_accept_by_wrong_account(env: Env) -> None:
    model_id = _model(env)
    env.registry(env.provider).transfer_ownership(model_id, env.other.address)
    assert env.registry().pending_owner_of(model_id) == env.other.address
    with pytest.raises(ContractRevert) as exc:
        env.registry(env.client).accept_ownership(model_id)
    assert exc.value.name == "NotPendingOwner"
    assert exc.value.error_args == (env.client.address, env.other.address)
    assert env.registry().get_model(model_id).owner == env.provider.address


def test_accept_without_offer(env: Env) -> None:
    model_id = _model(env)
    with pytest.raises(ContractRevert) as exc:
        env.registry(env.other).accept_ownership(model_id)
    assert (exc.value.name, exc.value.error_args) == ("NotPendingOwner", (env.other.address, ZERO))


def test_accept_moves_owner_and_index(env: Env) -> None:
    model_id = _model(env)
    _transfer(env, model_id)
    reg = env.registry()
    assert reg.get_model(model_id).owner == env.other.address
    assert reg.model_id_of(env.other.address, COMMIT) == model_id
    assert reg.model_id_of(env.provider.address, COMMIT) == 0
    assert reg.pending_owner_of(model_id) == ZERO
    assert reg.models_of(COMMIT) == [model_id]  # same entry, new owner: no new id
    # The old owner may now register the commitment afresh under its own address.
    again = _model(env)
    assert reg.models_of(COMMIT) == [model_id, again]


def test_transfer_events(env: Env) -> None:
    model_id = _model(env)
    reg = env.registry(env.provider)
    started = reg.transfer_ownership(model_id, env.other.address)
    done = env.registry(env.other).accept_ownership(model_id)
    ev1 = reg.contract.events.OwnershipTransferStarted().process_receipt({"logs": started.logs})
    ev2 = reg.contract.events.OwnershipTransferred().process_receipt({"logs": done.logs})
    want = {"modelId": model_id, "from": env.provider.address, "to": env.other.address}
    assert dict(ev1[0]["args"]) == want and dict(ev2[0]["args"]) == want


def test_new_owner_controls_fee_old_does_not(env: Env) -> None:
    model_id = _model(env)
    _transfer(env, model_id)
    env.registry(env.other).set_fee(model_id, 7)
    assert env.registry().get_model(model_id).fee == 7
    with pytest.raises(ContractRevert) as exc:
        env.registry(env.provider).set_fee(model_id, 1)
    assert exc.value.name == "NotOwner"
    assert exc.value.error_args == (env.provider.address, env.other.address)
    with pytest.raises(ContractRevert, match=r"\bNotOwner\("):
        env.registry(env.provider).transfer_ownership(model_id, env.provider.address)


def test_accept_into_owner_with_same_commitment(env: Env) -> None:
    model_id = _model(env)
    theirs = env.registry(env.other).register(COMMIT, env.mock, 1, N_INPUTS, N_OUTPUTS)
    env.registry(env.provider).transfer_ownership(model_id, env.other.address)
    with pytest.raises(ContractRevert) as exc:
        env.registry(env.other).accept_ownership(model_id)
    assert exc.value.name == "DuplicateModel"
    assert exc.value.error_args == (env.other.address, "0x" + COMMIT.hex(), theirs)
    assert env.registry().get_model(model_id).owner == env.provider.address


def test_cancel_with_zero_address(env: Env) -> None:
    model_id = _model(env)
    reg = env.registry(env.provider)
    reg.transfer_ownership(model_id, env.other.address)
    reg.transfer_ownership(model_id, ZERO)
    assert reg.pending_owner_of(model_id) == ZERO
    with pytest.raises(ContractRevert) as exc:
        env.registry(env.other).accept_ownership(model_id)
    assert (exc.value.name, exc.value.error_args) == ("NotPendingOwner", (env.other.address, ZERO))


def test_open_request_keeps_old_provider_new_ones_go_to_new_owner(env: Env) -> None:
    model_id = _model(env)
    old = env.escrow(env.client).request(model_id, input_hash(INPUTS), FEE)
    _transfer(env, model_id)
    new = env.escrow(env.client).request(model_id, input_hash(INPUTS), FEE)
    esc = env.escrow()
    assert esc.get_request(old).provider == env.provider.address
    assert esc.get_request(new).provider == env.other.address
    with pytest.raises(ContractRevert, match=r"\bNotProvider\("):
        env.escrow(env.other).fulfill(old, PROOF, INPUTS + OUTPUTS)
    env.escrow(env.provider).fulfill(old, PROOF, INPUTS + OUTPUTS)
    env.escrow(env.other).fulfill(new, PROOF, INPUTS + OUTPUTS)
    assert esc.credits(env.provider.address) == FEE and esc.credits(env.other.address) == FEE
