"""ModelRegistry: registration, owner-only changes, named custom errors."""

from __future__ import annotations

import pytest

from contracts.errors import ContractRevert
from tests.contracts.conftest import FEE, N_INPUTS, Env

COMMIT = b"\x11" * 32
ZERO = "0x" + "00" * 20


def _reverts(name: str) -> pytest.RaisesExc[ContractRevert]:
    return pytest.raises(ContractRevert, match=rf"\b{name}\(")


def test_register_and_read(env: Env) -> None:
    reg = env.registry(env.provider)
    model_id = reg.register(COMMIT, env.mock, FEE, N_INPUTS)
    m = reg.get_model(model_id)
    assert (m.owner, m.verifier, m.fee, m.commitment) == (
        env.provider.address,
        env.mock,
        FEE,
        COMMIT,
    )
    assert m.n_inputs == N_INPUTS and m.active
    assert reg.model_id_of(COMMIT) == model_id and reg.model_count() == model_id


def test_register_duplicate_commitment(env: Env) -> None:
    env.registry(env.provider).register(COMMIT, env.mock, FEE, N_INPUTS)
    with pytest.raises(ContractRevert) as exc:
        env.registry(env.other).register(COMMIT, env.mock, 1, N_INPUTS)
    assert exc.value.name == "DuplicateCommitment"
    assert exc.value.error_args == ("0x" + COMMIT.hex(), 1)


def test_register_zero_verifier(env: Env) -> None:
    with _reverts("ZeroVerifier"):
        env.registry(env.provider).register(COMMIT, ZERO, FEE, N_INPUTS)


def test_register_verifier_without_code(env: Env) -> None:
    with _reverts("VerifierHasNoCode"):
        env.registry(env.provider).register(COMMIT, env.other.address, FEE, N_INPUTS)


def test_register_zero_inputs(env: Env) -> None:
    with _reverts("ZeroInputs"):
        env.registry(env.provider).register(COMMIT, env.mock, FEE, 0)


def test_set_fee_and_active_by_owner(env: Env) -> None:
    reg = env.registry(env.provider)
    model_id = reg.register(COMMIT, env.mock, FEE, N_INPUTS)
    reg.set_fee(model_id, 7)
    reg.set_active(model_id, False)
    m = reg.get_model(model_id)
    assert m.fee == 7 and not m.active


def test_set_fee_not_owner(env: Env) -> None:
    model_id = env.registry(env.provider).register(COMMIT, env.mock, FEE, N_INPUTS)
    with pytest.raises(ContractRevert) as exc:
        env.registry(env.other).set_fee(model_id, 1)
    assert exc.value.name == "NotOwner"
    assert exc.value.error_args == (env.other.address, env.provider.address)


def test_set_active_not_owner(env: Env) -> None:
    model_id = env.registry(env.provider).register(COMMIT, env.mock, FEE, N_INPUTS)
    with _reverts("NotOwner"):
        env.registry(env.other).set_active(model_id, False)


def test_unknown_model(env: Env) -> None:
    with _reverts("UnknownModel"):
        env.registry().get_model(42)
    with _reverts("UnknownModel"):
        env.registry(env.provider).set_fee(42, 1)
