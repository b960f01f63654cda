"""withdraw() under a hostile receiver: pays exactly once, and a refused transfer reverts."""

from __future__ import annotations

import pytest
from web3 import Web3
from web3.contract import Contract

from contracts.bindings import core_error_table, deploy, send
from contracts.build import load_artifact
from contracts.encoding import input_hash
from contracts.errors import ContractRevert
from tests.contracts.conftest import FEE, N_INPUTS, N_OUTPUTS, Env

EXCESS = 5 * 10**14


def _attacker(env: Env) -> Contract:
    art = load_artifact("ReentrantClient")
    address = deploy(env.w3, env.other, art, env.dep.escrow)
    return env.w3.eth.contract(address=Web3.to_checksum_address(address), abi=art.abi)


def _fund(env: Env, attacker: Contract) -> None:
    reg = env.registry(env.provider)
    model_id = reg.register(b"\x44" * 32, env.mock, FEE, N_INPUTS, N_OUTPUTS)
    fn = attacker.functions.requestWithExcess(model_id, input_hash([1, 2, 3, 4]))
    send(env.w3, env.other, fn, core_error_table(), value=FEE + EXCESS)
    assert env.escrow().credits(attacker.address) == EXCESS


def test_reentrant_withdraw_pays_once(env: Env) -> None:
    attacker = _attacker(env)
    _fund(env, attacker)
    send(env.w3, env.other, attacker.functions.setReenter(True), core_error_table())
    send(env.w3, env.other, attacker.functions.withdraw(), core_error_table())
    assert attacker.functions.received().call() == EXCESS
    assert env.escrow().credits(attacker.address) == 0
    assert env.w3.eth.get_balance(env.dep.escrow) == FEE  # type: ignore[arg-type]


def test_refused_transfer_reverts_and_keeps_credit(env: Env) -> None:
    attacker = _attacker(env)
    _fund(env, attacker)
    with pytest.raises(ContractRevert) as exc:
        send(env.w3, env.other, attacker.functions.withdraw(), core_error_table())
    assert exc.value.name == "WithdrawFailed"
    assert env.escrow().credits(attacker.address) == EXCESS
