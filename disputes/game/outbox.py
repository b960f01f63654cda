"""Send each transaction at most once, across crashes: sign, write it down, then broadcast.

A dispute agent that dies between sending a move and seeing it mined must not, on restart,
sign the move again: a second transaction would at best waste gas (it reverts) and at worst
play a stale answer. So every transaction is signed first and its bytes and hash stored under
a *key* (one game state, one action) before it leaves the process; a restart finds it, looks
for its receipt, and if there is none rebroadcasts the very same bytes. The same nonce can
execute only once, so the move lands at most once.

Usage::

    outbox = Outbox(w3, signer, store, error_table)
    tx = outbox.send("game:3:DISSECT:0-9", "bisect", contract.functions.bisect(3, points))
    sender = ChainSender(outbox, {"game": game.contract, "escrow": escrow.contract})
    sender.send("timeout:3", Call("game", "timeout", (3,)), game_id=3)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import TransactionNotFound
from web3.types import TxReceipt

from contracts.bindings import RECEIPT_TIMEOUT_S, TxResult, raise_mined_revert, wrapped
from contracts.errors import RpcError
from contracts.reverts import ErrorTable
from contracts.signer import Signer
from disputes.game.store import GameStore, TxRecord, TxStatus


class Outbox:
    """One signer's write-ahead transaction sender over a GameStore."""

    def __init__(
        self,
        w3: Web3,
        signer: Signer,
        store: GameStore,
        errors: ErrorTable,
        receipt_timeout_s: float = RECEIPT_TIMEOUT_S,
    ) -> None:
        self.w3 = w3
        self.signer = signer
        self.store = store
        self.errors = errors
        self.receipt_timeout_s = receipt_timeout_s

    @property
    def sender(self) -> str:
        return self.signer.address

    def send(
        self,
        key: str,
        kind: str,
        fn: ContractFunction,
        *,
        value: int = 0,
        game_id: int | None = None,
        request_id: int | None = None,
    ) -> TxResult:
        """Send `fn` once for `key`; a key already mined returns that transaction instead.

        A revert at estimate time raises ContractRevert before anything is stored or sent.
        """
        self.settle_in_flight()
        prior = self.store.last_tx(key, self.sender)
        if prior is not None and prior.status == "mined":
            return self._result(self._receipt(prior.tx_hash), prior)
        tx = self._build(fn, value)
        raw = self.signer.sign_transaction(tx)
        rec = self.store.record_signed(
            key=key,
            kind=kind,
            sender=self.sender,
            nonce=int(tx["nonce"]),
            tx_hash="0x" + keccak(raw).hex(),
            raw=raw,
            game_id=game_id,
            request_id=request_id,
        )
        self._broadcast(rec, raw)
        return self._finish(rec, self._wait(rec))

    def settle_in_flight(self) -> list[TxRecord]:
        """Decide every transaction a previous run signed but never saw mined (resume first)."""
        return [self._settle(rec) for rec in self.store.in_flight(self.sender)]

    def _build(self, fn: ContractFunction, value: int) -> dict[str, Any]:
        with wrapped(self.errors, f"transaction {fn.fn_name}"):
            nonce = self.w3.eth.get_transaction_count(self.signer.address, "pending")  # type: ignore[arg-type]
            base = {"from": self.sender, "value": value, "nonce": nonce}
            base["chainId"] = self.w3.eth.chain_id
            return dict(fn.build_transaction(base))  # type: ignore[arg-type]
        raise AssertionError("unreachable")  # pragma: no cover

    def _broadcast(self, rec: TxRecord, raw: bytes) -> None:
        try:
            self.w3.eth.send_raw_transaction(raw)
        except Exception as exc:  # "already known", "nonce too low": maybe ours is in; look
            known = self._find_receipt(rec.tx_hash) is not None or self._pending(rec.tx_hash)
            if not known and not self._nonce_used(rec):
                raise RpcError(f"sending {rec.kind} failed: {exc}") from None
        self.store.mark_tx(rec.id, "sent")

    def _settle(self, rec: TxRecord) -> TxRecord:
        receipt = self._find_receipt(rec.tx_hash)
        if receipt is None and self._nonce_used(rec):
            receipt = self._find_receipt(rec.tx_hash)  # mined between the two looks?
            if receipt is None:  # another transaction took the nonce: ours can never run
                return self.store.mark_tx(rec.id, "dropped")
        if receipt is None:
            if rec.raw is None:
                return self.store.mark_tx(rec.id, "dropped")
            self._broadcast(rec, rec.raw)
            receipt = self._wait(rec)
        return self._mark(rec, receipt)

    def _mark(self, rec: TxRecord, receipt: TxReceipt) -> TxRecord:
        status: TxStatus = "mined" if receipt["status"] == 1 else "reverted"
        return self.store.mark_tx(rec.id, status, block=int(receipt["blockNumber"]))

    def _finish(self, rec: TxRecord, receipt: TxReceipt) -> TxResult:
        self._mark(rec, receipt)
        if receipt["status"] != 1:
            tx = dict(self.w3.eth.get_transaction(rec.tx_hash))  # type: ignore[arg-type]
            raise_mined_revert(self.w3, rec.tx_hash, tx, int(receipt["blockNumber"]), self.errors)
        return self._result(receipt, rec)

    def _wait(self, rec: TxRecord) -> TxReceipt:
        with wrapped(self.errors, f"waiting for {rec.kind} {rec.tx_hash}"):
            return self.w3.eth.wait_for_transaction_receipt(
                rec.tx_hash,  # type: ignore[arg-type]
                timeout=self.receipt_timeout_s,
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def _find_receipt(self, tx_hash: str) -> TxReceipt | None:
        try:
            return self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None

    def _pending(self, tx_hash: str) -> bool:
        """The node already holds these very bytes (a rebroadcast after a restart): sent."""
        try:
            return self.w3.eth.get_transaction(tx_hash) is not None  # type: ignore[arg-type]
        except TransactionNotFound:
            return False

    def _receipt(self, tx_hash: str) -> TxReceipt:
        receipt = self._find_receipt(tx_hash)
        if receipt is None:
            raise RpcError(f"the node has no receipt for {tx_hash}, which the store says is mined")
        return receipt

    def _nonce_used(self, rec: TxRecord) -> bool:
        mined = self.w3.eth.get_transaction_count(rec.sender, "latest")  # type: ignore[arg-type]
        return int(mined) > rec.nonce

    @staticmethod
    def _result(receipt: TxReceipt, rec: TxRecord) -> TxResult:
        return TxResult(
            rec.tx_hash,
            int(receipt["blockNumber"]),
            int(receipt["gasUsed"]),
            int(receipt["effectiveGasPrice"]),
            list(receipt["logs"]),
        )


@dataclass(frozen=True)
class Call:
    """One contract call to make: the contract (``"game"``, ``"escrow"``), function, args, wei."""

    target: str
    fn: str
    args: tuple[Any, ...] = ()
    value: int = 0


class ChainSender:
    """Sends `Call`s to named contracts through an `Outbox` (what an agent sends with)."""

    def __init__(self, outbox: Outbox, contracts: Mapping[str, Contract]) -> None:
        self.outbox = outbox
        self.contracts = dict(contracts)

    @property
    def address(self) -> str:
        return self.outbox.sender

    def send(
        self, key: str, call: Call, *, game_id: int | None = None, request_id: int | None = None
    ) -> TxResult:
        """Send `call` once for `key` (see ``Outbox.send``)."""
        fn = self.contracts[call.target].functions[call.fn](*call.args)
        return self.outbox.send(
            key, call.fn, fn, value=call.value, game_id=game_id, request_id=request_id
        )
