"""Consumer callbacks: delivered once, only for final results, after every state change; a
consumer that reverts or burns its gas never blocks settlement; a settler cannot starve it."""

from __future__ import annotations

from typing import Any

import pytest
from web3 import Web3
from web3.logs import DISCARD

from contracts.bindings import _base_tx, _send_raw, core_error_table, deploy, send
from contracts.build import load_artifact
from contracts.clients import RequestStatus
from contracts.encoding import input_hash
from tests.contracts.conftest import FEE, TIMEOUT
from tests.contracts.optimistic_fixture import (
    MIN_BOND,
    WINDOW,
    Case,
    MockEnv,
    claimed,
    m,
    mlp,
    mock_dep,
    model_id,
    reverts,
)

__all__ = ["m", "mlp", "mock_dep", "model_id"]  # fixtures used by name

INPUTS = [1, 2, 3, 4]
OUTPUTS = [7, 8, 9]
CALLBACK_GAS = 300_000
MAX_CALLBACK_GAS = 1_000_000
RECORD, REVERT, BURN = 0, 1, 2


def _consumer(m: MockEnv, behaviour: int = RECORD) -> Any:
    art = load_artifact("ExampleConsumer")
    address = deploy(m.env.w3, m.env.deployer, art, m.dep.escrow)
    c = m.env.w3.eth.contract(address=Web3.to_checksum_address(address), abi=art.abi)
    if behaviour != RECORD:
        send(m.env.w3, m.env.deployer, c.functions.setBehaviour(behaviour), core_error_table())
    return c


def _state(consumer: Any) -> tuple[int, bytes, int, bool]:
    f = consumer.functions
    return (
        f.lastRequestId().call(),
        f.lastOutput().call(),
        f.received().call(),
        f.lastWasFinal().call(),
    )


def _zk_request(m: MockEnv, consumer: Any, gas: int = CALLBACK_GAS) -> int:
    mid = m.registry(m.env.provider).register(b"\x51" * 32, m.env.mock, FEE, 4, 3)
    cb = (consumer.address, gas)
    return m.escrow(m.env.client).request_with_callback(mid, input_hash(INPUTS), FEE, cb)


def _opt_claimed(m: MockEnv, model: int, case: Case, consumer: Any, gas: int = CALLBACK_GAS) -> int:
    return claimed(m, model, case, callback=(consumer.address, gas))


def _failed(m: MockEnv, logs: list[Any]) -> list[Any]:
    ev = m.escrow().contract.events.CallbackFailed()
    return [e["args"] for e in ev.process_receipt({"logs": logs}, errors=DISCARD)]


def test_a_zk_fulfil_delivers_the_outputs(m: MockEnv) -> None:
    consumer = _consumer(m)
    rid = _zk_request(m, consumer)
    assert m.escrow().callback_of(rid) == (consumer.address, CALLBACK_GAS)
    tx = m.escrow(m.env.provider).fulfill(rid, b"\x01", INPUTS + OUTPUTS).tx
    packed = b"".join(x.to_bytes(32, "big") for x in OUTPUTS)
    assert _state(consumer) == (rid, packed, 1, True)  # final already when it was called
    assert _failed(m, tx.logs) == []


def test_a_refund_delivers_nothing(m: MockEnv) -> None:
    consumer = _consumer(m)
    rid = _zk_request(m, consumer)
    m.env.node.increase_time(TIMEOUT + 1)
    m.escrow(m.env.other).refund(rid)
    assert _state(consumer) == (0, b"", 0, False)
    assert m.escrow().credits(m.env.client.address) == FEE


def test_finalize_delivers_the_claimed_output(m: MockEnv, model_id: int, mlp: Case) -> None:
    consumer = _consumer(m)
    rid = _opt_claimed(m, model_id, mlp, consumer)
    m.env.node.increase_time(WINDOW + 1)
    wrong = bytes([mlp.output[0] ^ 1]) + mlp.output[1:]
    for bad in (b"", wrong):  # with a callback the output must be the claimed one
        with reverts("OutputMismatch"):
            m.escrow(m.env.other).finalize(rid, bad)
    m.escrow(m.env.other).finalize(rid, mlp.output)
    assert _state(consumer) == (rid, mlp.output, 1, True)


def test_a_voided_claim_delivers_nothing(m: MockEnv, model_id: int, mlp: Case) -> None:
    consumer = _consumer(m)
    rid = _opt_claimed(m, model_id, mlp, consumer)
    m.open_game(rid)
    m.resolve_game(rid, True, m.env.other.address)
    assert m.escrow().get_request(rid).status is RequestStatus.REFUNDED
    assert _state(consumer) == (0, b"", 0, False)


@pytest.mark.parametrize("behaviour", [REVERT, BURN])
def test_a_failing_consumer_does_not_block_settlement(
    m: MockEnv, model_id: int, mlp: Case, behaviour: int
) -> None:
    consumer = _consumer(m, behaviour)
    zk = _zk_request(m, consumer)
    tx = m.escrow(m.env.provider).fulfill(zk, b"\x01", INPUTS + OUTPUTS).tx
    assert [dict(a) for a in _failed(m, tx.logs)] == [
        {"requestId": zk, "callback": consumer.address}
    ]
    assert m.escrow().is_finalized(zk) and m.escrow().credits(m.env.provider.address) == FEE
    rid = _opt_claimed(m, model_id, mlp, consumer)
    m.env.node.increase_time(WINDOW + 1)
    tx = m.escrow(m.env.other).finalize(rid, mlp.output)
    assert len(_failed(m, tx.logs)) == 1 and m.escrow().is_finalized(rid)
    assert m.escrow().credits(m.env.provider.address) == 2 * FEE + MIN_BOND
    if behaviour == BURN:  # it really had its whole allowance to burn
        assert tx.gas_used > CALLBACK_GAS
    assert _state(consumer) == (0, b"", 0, False)


def test_a_settler_cannot_starve_the_callback(m: MockEnv, model_id: int, mlp: Case) -> None:
    consumer = _consumer(m, BURN)
    rid = _opt_claimed(m, model_id, mlp, consumer)
    m.env.node.increase_time(WINDOW + 1)
    fn = m.escrow(m.env.other).contract.functions.finalize(rid, mlp.output)
    # Enough gas for everything but the callback's allowance: mined, and refused by name.
    base = {**_base_tx(m.env.w3, m.env.other, 0), "gas": 21_000 + CALLBACK_GAS}
    tx = dict(fn.build_transaction(base))  # type: ignore[arg-type]
    with reverts("CallbackGasTooLow"):
        _send_raw(m.env.w3, m.env.other, tx, core_error_table())
    assert m.escrow().get_request(rid).status is RequestStatus.CLAIMED
    assert m.escrow().credits(m.env.provider.address) == 0


def test_callback_gas_is_capped_at_request_time(m: MockEnv, model_id: int, mlp: Case) -> None:
    consumer = _consumer(m)
    with reverts("CallbackGasTooHigh", MAX_CALLBACK_GAS + 1, MAX_CALLBACK_GAS):
        _zk_request(m, consumer, MAX_CALLBACK_GAS + 1)
    cb = (consumer.address, MAX_CALLBACK_GAS + 1)
    with reverts("CallbackGasTooHigh", MAX_CALLBACK_GAS + 1, MAX_CALLBACK_GAS):
        m.escrow(m.env.client).request_optimistic(model_id, mlp.input, FEE, callback=cb)
    assert m.escrow().contract.functions.MAX_CALLBACK_GAS().call() == MAX_CALLBACK_GAS


def test_only_the_escrow_may_deliver(m: MockEnv) -> None:
    consumer = _consumer(m)
    fn = consumer.functions.onResult(1, b"fake")
    table = core_error_table()
    with reverts("NotEscrow", m.env.other.address):
        send(m.env.w3, m.env.other, fn, table)
