"""bindings: constructor reverts and mined reverts come back as named ContractRevert errors."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.bindings import _base_tx, _send_raw, core_error_table, create_address, deploy
from contracts.build import load_artifact
from contracts.chain import rpc_call
from contracts.clients import EscrowClient
from contracts.encoding import input_hash
from contracts.errors import ContractRevert, RpcError
from tests.contracts.conftest import FEE, N_INPUTS, N_OUTPUTS, TIMEOUT, Env

MAX_FULFIL_TIMEOUT = 30 * 24 * 3600
INPUTS = [1, 2, 3, 4]
OUTPUTS = [5, 6, 7]
PROOF = b"\xef" * 64
GAS = 1_000_000
WINDOW = 3600


def _game_for_next_escrow(env: Env) -> str:
    """A MockGame naming the address the deployer's next deployment (the escrow) will get."""
    nonce = env.w3.eth.get_transaction_count(env.deployer.address)  # type: ignore[arg-type]
    escrow_at = create_address(env.deployer.address, nonce + 1)
    game_args = (escrow_at, env.dep.registry, env.dep.registry, WINDOW, 16)
    return deploy(env.w3, env.deployer, load_artifact("MockGame"), *game_args)


def _deploy_escrow(env: Env, timeout: int) -> str:
    game = _game_for_next_escrow(env)
    args = (env.dep.registry, game, timeout, WINDOW, WINDOW)
    return deploy(env.w3, env.deployer, load_artifact("InferenceEscrow"), *args)


@pytest.mark.parametrize("timeout", [MAX_FULFIL_TIMEOUT + 1, 2**64 - 1])
def test_deploy_timeout_too_long(env: Env, timeout: int) -> None:
    with pytest.raises(ContractRevert) as exc:
        _deploy_escrow(env, timeout)
    assert exc.value.name == "TimeoutTooLong"
    assert exc.value.error_args == (timeout, MAX_FULFIL_TIMEOUT)


def test_deploy_zero_timeout(env: Env) -> None:
    with pytest.raises(ContractRevert) as exc:
        _deploy_escrow(env, 0)
    assert (exc.value.name, exc.value.error_args) == ("ZeroTimeout", ())


def test_max_timeout_deploys_and_requests_work(env: Env) -> None:
    escrow = _deploy_escrow(env, MAX_FULFIL_TIMEOUT)
    model_id = env.registry(env.provider).register(b"\x66" * 32, env.mock, FEE, N_INPUTS, N_OUTPUTS)
    esc = EscrowClient(env.w3, escrow, env.client)
    assert esc.contract.functions.MAX_FULFIL_TIMEOUT().call() == MAX_FULFIL_TIMEOUT
    rid = esc.request(model_id, input_hash(INPUTS), FEE)
    block = env.w3.eth.get_block("latest")
    assert esc.get_request(rid).deadline == block["timestamp"] + MAX_FULFIL_TIMEOUT


def test_mined_constructor_revert_is_named(env: Env) -> None:
    # Explicit gas: no estimate runs, so only the mined receipt knows the constructor failed.
    art = load_artifact("InferenceEscrow")
    factory = env.w3.eth.contract(abi=art.abi, bytecode=art.bytecode)
    base = {**_base_tx(env.w3, env.deployer, 0), "gas": 3_000_000}
    tx = factory.constructor(env.dep.registry, env.dep.game, 0, WINDOW, WINDOW).build_transaction(
        base
    )
    with pytest.raises(ContractRevert) as exc:
        _send_raw(env.w3, env.deployer, dict(tx), core_error_table())
    assert exc.value.name == "ZeroTimeout"


def _late_fulfil_tx(env: Env) -> dict[str, Any]:
    """A fulfil built (explicit gas, no estimate) while in time, mined after the deadline."""
    model_id = env.registry(env.provider).register(b"\x77" * 32, env.mock, FEE, N_INPUTS, N_OUTPUTS)
    rid = env.escrow(env.client).request(model_id, input_hash(INPUTS), FEE)
    fn = env.escrow(env.provider).contract.functions.fulfill(rid, PROOF, INPUTS + OUTPUTS)
    base = {**_base_tx(env.w3, env.provider, 0), "gas": GAS}
    tx = dict(fn.build_transaction(base))  # type: ignore[arg-type]
    # Move the clock without mining: the tx's own block is past the deadline, its parent is not.
    rpc_call(env.node.rpc_url, "evm_increaseTime", [TIMEOUT + 1])
    return tx


def _assert_deadline_passed(env: Env, tx: dict[str, Any]) -> None:
    with pytest.raises(ContractRevert) as exc:
        _send_raw(env.w3, env.provider, tx, core_error_table())
    assert exc.value.name == "DeadlinePassed"
    receipt = env.w3.eth.get_block("latest")
    parent = env.w3.eth.get_block(receipt["number"] - 1)
    deadline = exc.value.error_args[1]
    assert parent["timestamp"] <= deadline < receipt["timestamp"]


def test_mined_deadline_revert_is_named(env: Env) -> None:
    _assert_deadline_passed(env, _late_fulfil_tx(env))


def test_mined_revert_named_without_debug_trace(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    # A node without debug_traceTransaction: the replay on the mined block must find it.
    tx = _late_fulfil_tx(env)
    real = env.w3.provider.make_request
    refused: list[str] = []

    def no_debug(method: Any, params: Any) -> Any:
        if str(method).startswith("debug_"):
            refused.append(str(method))
            return {"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "nope"}}
        return real(method, params)

    monkeypatch.setattr(env.w3.provider, "make_request", no_debug)
    _assert_deadline_passed(env, tx)
    assert refused == ["debug_traceTransaction"]


def test_mined_out_of_gas_is_rpc_error(env: Env) -> None:
    model_id = env.registry(env.provider).register(b"\x88" * 32, env.mock, FEE, N_INPUTS, N_OUTPUTS)
    rid = env.escrow(env.client).request(model_id, input_hash(INPUTS), FEE)
    fn = env.escrow(env.provider).contract.functions.fulfill(rid, PROOF, INPUTS + OUTPUTS)
    base = {**_base_tx(env.w3, env.provider, 0), "gas": 50_000}
    tx = dict(fn.build_transaction(base))  # type: ignore[arg-type]
    with pytest.raises(RpcError, match=r"(?i)out of gas"):
        _send_raw(env.w3, env.provider, tx, core_error_table())
