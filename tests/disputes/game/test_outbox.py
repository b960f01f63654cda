"""The write-ahead sender on a real anvil: a crash at any point never sends a move twice."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3
from web3.contract import Contract

from contracts.bindings import connect, deploy
from contracts.build import load_artifact
from contracts.chain import Anvil
from contracts.errors import ContractRevert
from contracts.reverts import error_table
from contracts.signer import Signer
from disputes.game.outbox import Outbox
from disputes.game.store import GameStore, TxRecord

pytestmark = pytest.mark.slow


class Crash(BaseException):
    """Stands for kill -9: nothing after the point it is raised runs."""


@pytest.fixture(scope="module")
def node() -> Iterator[Anvil]:
    with Anvil() as n:
        yield n


@pytest.fixture
def setup(node: Anvil, tmp_path: Path) -> tuple[Web3, Signer, Contract, GameStore]:
    w3 = connect(node.rpc_url)
    signer = Signer.from_private_key(node.accounts[5].private_key)
    art = load_artifact("MockVerifier")
    mock = w3.eth.contract(address=Web3.to_checksum_address(deploy(w3, signer, art)), abi=art.abi)
    return w3, signer, mock, GameStore(f"sqlite:///{tmp_path / 'd.db'}")


def _outbox(w3: Web3, signer: Signer, store: GameStore) -> Outbox:
    return Outbox(w3, signer, store, error_table(load_artifact("MockVerifier").abi))


def _nonce(w3: Web3, signer: Signer) -> int:
    return int(w3.eth.get_transaction_count(signer.address))  # type: ignore[arg-type]


def test_send_records_the_transaction_and_a_mined_key_is_not_sent_again(setup) -> None:
    w3, signer, mock, store = setup
    outbox = _outbox(w3, signer, store)
    before = _nonce(w3, signer)
    tx = outbox.send("mode:1", "setMode", mock.functions.setMode(1))
    assert mock.functions.mode().call() == 1
    (rec,) = store.txs(sender=signer.address)
    assert (rec.tx_hash, rec.status, rec.block, rec.raw) == (
        tx.tx_hash,
        "mined",
        tx.block_number,
        None,
    )
    again = outbox.send("mode:1", "setMode", mock.functions.setMode(1))
    assert again.tx_hash == tx.tx_hash
    assert _nonce(w3, signer) == before + 1


def test_a_revert_at_estimate_stores_and_sends_nothing(setup) -> None:
    w3, signer, mock, store = setup
    outbox = _outbox(w3, signer, store)
    outbox.send("mode:2", "setMode", mock.functions.setMode(2))  # verifyProof now reverts
    before = _nonce(w3, signer)
    with pytest.raises(ContractRevert) as err:
        outbox.send("verify", "verifyProof", mock.functions.verifyProof(b"", []))
    assert err.value.name == "MockRejected"
    assert [t.key for t in store.txs()] == ["mode:2"] and _nonce(w3, signer) == before


class _CrashBeforeBroadcast(Outbox):
    def _broadcast(self, rec: TxRecord, raw: bytes) -> None:
        raise Crash


class _CrashAfterBroadcast(Outbox):
    def _broadcast(self, rec: TxRecord, raw: bytes) -> None:
        self.w3.eth.send_raw_transaction(raw)
        raise Crash  # sent (automine: even mined), but the store still says "signed"


@pytest.mark.parametrize("crashing", [_CrashBeforeBroadcast, _CrashAfterBroadcast])
def test_a_restart_finishes_the_signed_transaction_exactly_once(setup, crashing) -> None:
    w3, signer, mock, store = setup
    errors = error_table(load_artifact("MockVerifier").abi)
    before = _nonce(w3, signer)
    with pytest.raises(Crash):
        crashing(w3, signer, store, errors).send("mode:2", "setMode", mock.functions.setMode(2))
    (pending,) = store.in_flight(signer.address)
    assert pending.status == "signed" and pending.raw
    restarted = _outbox(w3, signer, store)
    (settled,) = restarted.settle_in_flight()
    assert settled.status == "mined" and settled.tx_hash == pending.tx_hash
    again = restarted.send("mode:2", "setMode", mock.functions.setMode(2))
    assert again.tx_hash == pending.tx_hash
    assert mock.functions.mode().call() == 2
    assert _nonce(w3, signer) == before + 1  # one transaction in all


def test_a_signed_transaction_whose_nonce_was_taken_is_dropped_and_resent(setup) -> None:
    w3, signer, mock, store = setup
    errors = error_table(load_artifact("MockVerifier").abi)
    with pytest.raises(Crash):
        _CrashBeforeBroadcast(w3, signer, store, errors).send(
            "mode:3", "setMode", mock.functions.setMode(3)
        )
    # Another program with the same key uses the nonce first: the stored bytes can never run.
    _outbox(w3, signer, GameStore(f"{store.url}-other")).send(
        "x", "setMode", mock.functions.setMode(4)
    )
    outbox = _outbox(w3, signer, store)
    (dropped,) = outbox.settle_in_flight()
    assert dropped.status == "dropped"
    tx = outbox.send("mode:3", "setMode", mock.functions.setMode(3))
    assert tx.tx_hash != dropped.tx_hash and mock.functions.mode().call() == 3
    assert [t.status for t in store.txs()] == ["dropped", "mined"]


def test_a_transaction_that_reverts_when_mined_raises_its_named_error(setup, node) -> None:
    w3, signer, mock, store = setup
    other = Signer.from_private_key(node.accounts[6].private_key)
    errors = error_table(load_artifact("MockVerifier").abi)

    class RaceLost(Outbox):
        def _broadcast(self, rec: TxRecord, raw: bytes) -> None:
            # Someone else changes the state between our estimate and our transaction.
            _outbox(w3, other, GameStore(f"{store.url}-other")).send(
                "race", "setMode", mock.functions.setMode(2)
            )
            super()._broadcast(rec, raw)

    with pytest.raises(ContractRevert) as err:
        RaceLost(w3, signer, store, errors).send(
            "verify", "verifyProof", mock.functions.verifyProof(b"", [])
        )
    assert err.value.name == "MockRejected"
    assert [t.status for t in store.txs()] == ["reverted"]
