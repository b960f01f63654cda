"""Typed clients for the deployed ModelRegistry and InferenceEscrow.

Usage::

    reg = RegistryClient(w3, dep.registry, provider)
    model_id = reg.register(commitment, verifier_addr, fee=10**15, n_inputs=4, n_outputs=3)
    candidates = RegistryClient(w3, dep.registry).models_of(commitment)  # check their code!
    esc = EscrowClient(w3, dep.escrow, client)
    rid = esc.request(model_id, input_hash(felts), value=10**15, max_fee=10**15)
    EscrowClient(w3, dep.escrow, provider).fulfill(rid, proof, instances)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract.contract import ContractFunction

from contracts.bindings import TxResult, call, core_error_table, send
from contracts.build import load_artifact
from contracts.errors import SignerError
from contracts.signer import Signer


class RequestStatus(IntEnum):
    """Mirror of `InferenceEscrow.Status`."""

    NONE = 0
    OPEN = 1
    FULFILLED = 2
    REFUNDED = 3


@dataclass(frozen=True)
class ModelInfo:
    """A registry entry."""

    model_id: int
    owner: str
    verifier: str
    fee: int
    commitment: bytes
    n_inputs: int
    n_outputs: int
    active: bool


@dataclass(frozen=True)
class RequestInfo:
    """An escrow request."""

    request_id: int
    client: str
    deadline: int
    status: RequestStatus
    provider: str
    model_id: int
    payment: int
    input_hash: bytes
    output_hash: bytes


@dataclass(frozen=True)
class FulfilResult:
    """A mined fulfil: the tx plus the outputs it recorded."""

    tx: TxResult
    output_hash: bytes
    outputs: list[int]


MAX_PAGE = 100  # ModelRegistry.MAX_PAGE


def _addr(address: str) -> ChecksumAddress:
    return Web3.to_checksum_address(address)


class _Client:
    def __init__(self, w3: Web3, address: str, name: str, signer: Signer | None) -> None:
        self.w3 = w3
        self.address = Web3.to_checksum_address(address)
        self.contract = w3.eth.contract(address=self.address, abi=load_artifact(name).abi)
        self.signer = signer
        self._errors = core_error_table()

    def _read(self, fn: ContractFunction) -> Any:
        return call(fn.call, self._errors, f"{fn.fn_name} call")

    def _send(self, fn: ContractFunction, value: int = 0) -> TxResult:
        if self.signer is None:
            raise SignerError(f"{fn.fn_name} sends a transaction: create the client with a signer")
        return send(self.w3, self.signer, fn, self._errors, value)

    def _event(self, name: str, tx: TxResult) -> Any:
        return self.contract.events[name]().process_receipt({"logs": tx.logs})[0]["args"]


class RegistryClient(_Client):
    """ModelRegistry at `address`; writes need a signer (the model's owner)."""

    def __init__(self, w3: Web3, address: str, signer: Signer | None = None) -> None:
        super().__init__(w3, address, "ModelRegistry", signer)

    def register(
        self, commitment: bytes, verifier: str, fee: int, n_inputs: int, n_outputs: int
    ) -> int:
        """Register a model under the signer; returns its id.

        Usage: ``model_id = reg.register(commitment, verifier, 10**15, n_inputs=4, n_outputs=3)``
        """
        fn = self.contract.functions.register(commitment, _addr(verifier), fee, n_inputs, n_outputs)
        return int(self._event("ModelRegistered", self._send(fn))["modelId"])

    def set_fee(self, model_id: int, fee: int) -> TxResult:
        return self._send(self.contract.functions.setFee(model_id, fee))

    def set_active(self, model_id: int, active: bool) -> TxResult:
        return self._send(self.contract.functions.setActive(model_id, active))

    def transfer_ownership(self, model_id: int, new_owner: str) -> TxResult:
        """Offer the model to `new_owner` (owner only); the zero address cancels an offer.

        Usage: ``reg.transfer_ownership(model_id, buyer.address)``
        """
        return self._send(self.contract.functions.transferOwnership(model_id, _addr(new_owner)))

    def accept_ownership(self, model_id: int) -> TxResult:
        """Take over a model offered to the signer. Usage: ``reg.accept_ownership(model_id)``."""
        return self._send(self.contract.functions.acceptOwnership(model_id))

    def pending_owner_of(self, model_id: int) -> str:
        """The address a transfer is offered to; the zero address when none.

        Usage: ``assert reg.pending_owner_of(model_id) == buyer.address``
        """
        return str(self._read(self.contract.functions.pendingOwnerOf(model_id)))

    def get_model(self, model_id: int) -> ModelInfo:
        """The registry entry `model_id`. Usage: ``reg.get_model(1).verifier``."""
        m = self._read(self.contract.functions.getModel(model_id))
        return ModelInfo(model_id, m[0], m[1], m[2], bytes(m[3]), m[4], m[5], m[6])

    def layout_of(self, model_id: int) -> tuple[int, int]:
        """(n_inputs, n_outputs) the escrow requires of a fulfil's instances."""
        n_in, n_out = self._read(self.contract.functions.layoutOf(model_id))
        return int(n_in), int(n_out)

    def model_id_of(self, owner: str, commitment: bytes) -> int:
        """Id of `owner`'s entry for `commitment`, 0 when none.

        Usage: ``model_id = reg.model_id_of(provider_address, commitment)``
        """
        fn = self.contract.functions.modelIdOf(_addr(owner), commitment)
        return int(self._read(fn))

    def model_count_of(self, commitment: bytes) -> int:
        """How many entries (any owner) exist for `commitment`."""
        return int(self._read(self.contract.functions.modelCountOf(commitment)))

    def models_of(self, commitment: bytes) -> list[int]:
        """Every id registered for `commitment`, oldest first (paged through `modelsOf`).

        Anyone can register any commitment: check each entry's verifier code before paying.

        Usage: ``ids = reg.models_of(commitment)``
        """
        total = self.model_count_of(commitment)
        ids: list[int] = []
        while len(ids) < total:
            fn = self.contract.functions.modelsOf(commitment, len(ids), MAX_PAGE)
            page = [int(x) for x in self._read(fn)]
            if not page:  # cannot happen on a consistent node; never loop forever
                break
            ids += page
        return ids

    def model_count(self) -> int:
        return int(self._read(self.contract.functions.modelCount()))


class EscrowClient(_Client):
    """InferenceEscrow at `address`; writes need a signer (client or provider)."""

    def __init__(self, w3: Web3, address: str, signer: Signer | None = None) -> None:
        super().__init__(w3, address, "InferenceEscrow", signer)

    def request(
        self, model_id: int, input_hash: bytes, value: int, max_fee: int | None = None
    ) -> int:
        """Pay `value` wei for model `model_id` on `input_hash`; returns the request id.

        The escrow takes the model's fee at execution time but reverts FeeAboveMax when it is
        above `max_fee` (default: `value`), so a fee raised after the quote cannot take more;
        anything sent above the fee is credited back to the signer.

        Usage: ``rid = esc.request(model_id, input_hash(felts), value=fee, max_fee=fee)``
        """
        cap = value if max_fee is None else max_fee
        fn = self.contract.functions.request(model_id, input_hash, cap)
        return int(self._event("Requested", self._send(fn, value))["requestId"])

    def fulfill(self, request_id: int, proof: bytes, instances: Sequence[int]) -> FulfilResult:
        """Post a proof with its instances (inputs then outputs). Provider only."""
        fn = self.contract.functions.fulfill(request_id, proof, list(instances))
        tx = self._send(fn)
        ev = self._event("Fulfilled", tx)
        return FulfilResult(tx, bytes(ev["outputHash"]), [int(x) for x in ev["outputs"]])

    def refund(self, request_id: int) -> TxResult:
        """Credit an expired, unfulfilled request's payment back to its client."""
        return self._send(self.contract.functions.refund(request_id))

    def withdraw(self) -> TxResult:
        """Send the signer's credits to the signer."""
        return self._send(self.contract.functions.withdraw())

    def credits(self, account: str) -> int:
        return int(self._read(self.contract.functions.credits(Web3.to_checksum_address(account))))

    def get_request(self, request_id: int) -> RequestInfo:
        r = self._read(self.contract.functions.getRequest(request_id))
        return RequestInfo(
            request_id, r[0], r[1], RequestStatus(r[2]), r[3], r[4], r[5], bytes(r[6]), bytes(r[7])
        )

    def is_finalized(self, request_id: int) -> bool:
        return bool(self._read(self.contract.functions.isFinalized(request_id)))

    def output_hash(self, request_id: int) -> bytes:
        return bytes(self._read(self.contract.functions.outputHash(request_id)))

    def fulfil_timeout(self) -> int:
        return int(self._read(self.contract.functions.fulfilTimeout()))

    def fulfilled_outputs(self, request_id: int, from_block: int = 0) -> list[int] | None:
        """Output instances from the request's Fulfilled event; None if not fulfilled."""
        ev = self.contract.events.Fulfilled()
        logs = call(
            lambda: ev.get_logs(from_block=from_block, argument_filters={"requestId": request_id}),
            self._errors,
            "Fulfilled log query",
        )
        return [int(x) for x in logs[0]["args"]["outputs"]] if logs else None
