"""ModelRegistry: per-owner registration, discovery, owner-only changes, named custom errors."""

from __future__ import annotations

import pytest

from contracts.bindings import deploy
from contracts.build import load_artifact
from contracts.errors import ContractRevert
from contracts.signer import Signer
from tests.contracts.conftest import FEE, N_INPUTS, N_OUTPUTS, Env

COMMIT = b"\x11" * 32
OTHER_COMMIT = b"\x12" * 32
ZERO = "0x" + "00" * 20


def _reverts(name: str) -> pytest.RaisesExc[ContractRevert]:
    return pytest.raises(ContractRevert, match=rf"\b{name}\(")


def _register(
    env: Env, signer: Signer | None = None, commitment: bytes = COMMIT, fee: int = FEE
) -> int:
    reg = env.registry(signer or env.provider)
    return reg.register(commitment, env.mock, fee, N_INPUTS, N_OUTPUTS)


def test_register_and_read(env: Env) -> None:
    reg = env.registry(env.provider)
    model_id = _register(env)
    m = reg.get_model(model_id)
    assert (m.owner, m.verifier, m.fee, m.commitment) == (
        env.provider.address,
        env.mock,
        FEE,
        COMMIT,
    )
    assert (m.n_inputs, m.n_outputs, m.active) == (N_INPUTS, N_OUTPUTS, True)
    assert reg.layout_of(model_id) == (N_INPUTS, N_OUTPUTS)
    assert reg.model_id_of(env.provider.address, COMMIT) == model_id
    assert reg.model_id_of(env.other.address, COMMIT) == 0
    assert reg.model_count() == model_id


def test_registered_event_carries_layout(env: Env) -> None:
    reg = env.registry(env.provider)
    model_id = _register(env)
    (log,) = reg.contract.events.ModelRegistered().get_logs(
        from_block=0, argument_filters={"commitment": COMMIT}
    )
    assert log["args"]["modelId"] == model_id
    assert (log["args"]["nInputs"], log["args"]["nOutputs"]) == (N_INPUTS, N_OUTPUTS)


def test_squatter_cannot_block_honest_provider(env: Env) -> None:
    # The attacker front-runs the provider's register(C) with its own always-yes verifier.
    always_yes = deploy(env.w3, env.other, load_artifact("MockVerifier"))
    squat = env.registry(env.other).register(COMMIT, always_yes, 1, N_INPUTS, N_OUTPUTS)
    honest = _register(env)
    reg = env.registry()
    assert honest == squat + 1  # ids stay sequential
    assert reg.model_id_of(env.provider.address, COMMIT) == honest
    assert reg.model_id_of(env.other.address, COMMIT) == squat
    assert reg.models_of(COMMIT) == [squat, honest] and reg.model_count_of(COMMIT) == 2
    # A client checks each candidate's verifier and keeps the one it trusts.
    trusted = [i for i in reg.models_of(COMMIT) if reg.get_model(i).verifier == env.mock]
    assert trusted == [honest] and reg.get_model(honest).owner == env.provider.address


def test_models_of_pages_are_clipped(env: Env) -> None:
    first = _register(env)
    _register(env, commitment=OTHER_COMMIT)
    second = _register(env, env.other)
    fns = env.registry().contract.functions
    assert fns.MAX_PAGE().call() == 100
    assert fns.modelsOf(COMMIT, 0, 10**6).call() == [first, second]
    assert fns.modelsOf(COMMIT, 1, 1).call() == [second]
    assert fns.modelsOf(COMMIT, 2, 5).call() == []
    assert fns.modelsOf(COMMIT, 2**255, 2**255).call() == []
    assert env.registry().models_of(b"\x99" * 32) == []


def test_register_duplicate_same_owner(env: Env) -> None:
    model_id = _register(env)
    with pytest.raises(ContractRevert) as exc:
        _register(env, fee=1)
    assert exc.value.name == "DuplicateModel"
    assert exc.value.error_args == (env.provider.address, "0x" + COMMIT.hex(), model_id)


def test_register_zero_verifier(env: Env) -> None:
    with _reverts("ZeroVerifier"):
        env.registry(env.provider).register(COMMIT, ZERO, FEE, N_INPUTS, N_OUTPUTS)


def test_register_verifier_without_code(env: Env) -> None:
    with _reverts("VerifierHasNoCode"):
        env.registry(env.provider).register(COMMIT, env.other.address, FEE, N_INPUTS, N_OUTPUTS)


def test_register_zero_inputs(env: Env) -> None:
    with _reverts("ZeroInputs"):
        env.registry(env.provider).register(COMMIT, env.mock, FEE, 0, N_OUTPUTS)


def test_register_zero_outputs(env: Env) -> None:
    with _reverts("ZeroOutputs"):
        env.registry(env.provider).register(COMMIT, env.mock, FEE, N_INPUTS, 0)


def test_set_fee_and_active_by_owner(env: Env) -> None:
    reg = env.registry(env.provider)
    model_id = _register(env)
    reg.set_fee(model_id, 7)
    reg.set_active(model_id, False)
    m = reg.get_model(model_id)
    assert m.fee == 7 and not m.active


def test_set_fee_not_owner(env: Env) -> None:
    model_id = _register(env)
    with pytest.raises(ContractRevert) as exc:
        env.registry(env.other).set_fee(model_id, 1)
    assert exc.value.name == "NotOwner"
    assert exc.value.error_args == (env.other.address, env.provider.address)


def test_set_active_not_owner(env: Env) -> None:
    model_id = _register(env)
    with _reverts("NotOwner"):
        env.registry(env.other).set_active(model_id, False)


def test_unknown_model(env: Env) -> None:
    reg = env.registry(env.provider)
    with _reverts("UnknownModel"):
        reg.get_model(42)
    with _reverts("UnknownModel"):
        reg.set_fee(42, 1)
    with _reverts("UnknownModel"):
        reg.layout_of(42)
    with _reverts("UnknownModel"):
        reg.pending_owner_of(42)
    with _reverts("UnknownModel"):
        reg.transfer_ownership(42, env.other.address)
    with _reverts("UnknownModel"):
        reg.accept_ownership(42)
