"""Typed clients for the deployed ModelRegistry and InferenceEscrow.

Usage::

    reg = RegistryClient(w3, dep.registry, provider)
    model_id = reg.register(commitment, verifier_addr, fee=10**15, n_inputs=4, n_outputs=3)
    candidates = RegistryClient(w3, dep.registry).models_of(commitment)  # check their code!
    esc = EscrowClient(w3, dep.escrow, client)
    rid = esc.request(model_id, input_hash(felts), value=10**15, max_fee=10**15)
    EscrowClient(w3, dep.escrow, provider).fulfill(rid, proof, instances)

    # optimistic (docs/optimistic.md): be32 input bytes in, a bonded claim out
    rid = esc.request_optimistic(model_id, input_bytes, value=fee)
    EscrowClient(w3, dep.escrow, provider).claim(rid, output, p_n, proof, bond=min_bond)
    esc.finalize(rid)  # after the challenge window, with no game open
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.logs import DISCARD

from contracts.bindings import TxResult, call, core_error_table, send
from contracts.build import load_artifact
from contracts.errors import SignerError
from contracts.records import (
    ZERO_ADDRESS,
    BatchClaim,
    BatchInfo,
    ClaimInfo,
    FulfilResult,
    LeafProof,
    Mode,
    ModelInfo,
    OptimisticRequest,
    OptimisticSpec,
    ProgramInfo,
    RequestInfo,
    RequestStatus,
)
from contracts.signer import Signer

__all__ = [
    "ZERO_ADDRESS",
    "BatchClaim",
    "BatchInfo",
    "ClaimInfo",
    "EscrowClient",
    "FulfilResult",
    "LeafProof",
    "Mode",
    "ModelInfo",
    "OptimisticRequest",
    "OptimisticSpec",
    "ProgramInfo",
    "RegistryClient",
    "RequestInfo",
    "RequestStatus",
]

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
        # DISCARD: a tx also logs other events (e.g. OptimisticRegistered next to the
        # ModelRegistered asked for); they are not this event, not a decoding failure.
        logs = self.contract.events[name]().process_receipt({"logs": tx.logs}, errors=DISCARD)
        return logs[0]["args"]


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

    def register_on_demand(
        self,
        commitment: bytes,
        verifier: str,
        fee: int,
        layout: tuple[int, int],
        min_bond: int,
    ) -> int:
        """Register a zk model proven only when challenged; ``layout`` = (n_inputs, n_outputs).

        Usage: ``model_id = reg.register_on_demand(c, verifier, fee, (4, 3), min_bond=10**16)``
        """
        n_in, n_out = layout
        fn = self.contract.functions.registerOnDemand(
            commitment, _addr(verifier), fee, n_in, n_out, min_bond
        )
        return int(self._event("ModelRegistered", self._send(fn))["modelId"])

    def register_optimistic(
        self,
        commitment: bytes,
        fee: int,
        min_bond: int,
        spec: OptimisticSpec,
        header: tuple[bytes, Sequence[bytes]],
    ) -> int:
        """Register an optimistic model; ``header`` = (header message, its proof at leaf 0).

        Usage::

            tree = program_tree(program)
            spec = OptimisticSpec(program.program_root, start_hash(osp.start_data(program)), 1, 10)
            model_id = reg.register_optimistic(c, fee, bond, spec, (header_message(program),
                                               tree.proof(0)))
        """
        message, proof = header
        s = (spec.program_root, spec.start_hash, spec.output_rows, spec.output_width)
        fn = self.contract.functions.registerOptimistic(
            commitment, fee, min_bond, s, message, list(proof)
        )
        return int(self._event("ModelRegistered", self._send(fn))["modelId"])

    def mode_of(self, model_id: int) -> Mode:
        """How the model's results become final. Usage: ``reg.mode_of(1) is Mode.ZK``."""
        return Mode(self._read(self.contract.functions.modeOf(model_id)))

    def min_bond_of(self, model_id: int) -> int:
        """Least bond a claim or on-demand challenge must carry (0 for a zk model)."""
        return int(self._read(self.contract.functions.minBondOf(model_id)))

    def program_of(self, model_id: int) -> ProgramInfo:
        """An optimistic model's program. Usage: ``reg.program_of(1).n_slots``."""
        p = self._read(self.contract.functions.programOf(model_id))
        return ProgramInfo(bytes(p[0]), bytes(p[1]), *(int(x) for x in p[2:]))

    def input_shape_of(self, model_id: int) -> tuple[list[int], list[int]]:
        """(rows, widths) of each input tensor of an optimistic model."""
        rows, widths = self._read(self.contract.functions.inputShapeOf(model_id))
        return [int(r) for r in rows], [int(w) for w in widths]

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

    def request_with_callback(
        self, model_id: int, input_hash: bytes, value: int, callback: tuple[str, int]
    ) -> int:
        """`request` whose final result is delivered to ``callback`` = (consumer, gas limit).

        Usage: ``rid = esc.request_with_callback(model_id, h, fee, (consumer, 200_000))``
        """
        target, gas = callback
        fn = self.contract.functions.requestWithCallback(
            model_id, input_hash, value, _addr(target), gas
        )
        return int(self._event("Requested", self._send(fn, value))["requestId"])

    def request_optimistic(
        self,
        model_id: int,
        data: bytes,
        value: int,
        max_fee: int | None = None,
        callback: tuple[str, int] = (ZERO_ADDRESS, 0),
    ) -> int:
        """Pay for an optimistic model on ``data`` (be32 input bytes); returns the request id.

        Usage: ``rid = esc.request_optimistic(model_id, input_bytes(program, x), value=fee)``
        """
        cap = value if max_fee is None else max_fee
        target, gas = callback
        fn = self.contract.functions.requestOptimistic(model_id, data, cap, _addr(target), gas)
        return int(self._event("OptimisticRequested", self._send(fn, value))["requestId"])

    def claim(
        self,
        request_id: int,
        output: bytes,
        final_checkpoint: bytes,
        output_proof: Sequence[bytes],
        bond: int,
    ) -> TxResult:
        """Claim ``output`` (be32) with P_n and the output slot's proof, bonded. Provider only.

        Usage: ``esc.claim(rid, output_bytes(y), tr.checkpoint(n - 1), proof, bond=min_bond)``
        """
        fn = self.contract.functions.claim(request_id, output, final_checkpoint, list(output_proof))
        return self._send(fn, bond)

    def finalize(self, request_id: int, output: bytes = b"") -> TxResult:
        """Settle a claim whose window passed; ``output`` is needed when it has a callback."""
        return self._send(self.contract.functions.finalize(request_id, output))

    def claim_on_demand(self, request_id: int, outputs: Sequence[int], bond: int) -> TxResult:
        """Claim output instances for an on-demand request, bonded. Provider only."""
        return self._send(self.contract.functions.claimOnDemand(request_id, list(outputs)), bond)

    def challenge_on_demand(self, request_id: int, bond: int) -> TxResult:
        """Challenge an on-demand claim in its window; a proof is then owed by the deadline."""
        return self._send(self.contract.functions.challengeOnDemand(request_id), bond)

    def prove_on_demand(self, request_id: int, proof: bytes, instances: Sequence[int]) -> TxResult:
        """Settle an on-demand claim with a zk proof of the claimed output (anyone)."""
        fn = self.contract.functions.proveOnDemand(request_id, proof, list(instances))
        return self._send(fn)

    def timeout_on_demand(self, request_id: int) -> TxResult:
        """Refund a challenged on-demand claim left unproven past its proving deadline."""
        return self._send(self.contract.functions.timeoutOnDemand(request_id))

    def get_claim(self, request_id: int) -> ClaimInfo:
        """The claim on a request. Usage: ``esc.get_claim(rid).window_end``."""
        c, status = self._read(self.contract.functions.claimOf(request_id))
        return ClaimInfo(
            c[0], int(c[1]), bytes(c[2]), bytes(c[3]), int(c[4]), int(c[5]), int(c[6]),
            c[7], int(c[8]), int(c[9]), RequestStatus(status),
        )  # fmt: skip

    # ---- batched claims (docs/optimistic.md, "Batched claims") ----

    def claim_batch(
        self, request_ids: Sequence[int], final_checkpoints: Sequence[bytes], bond: int
    ) -> int:
        """Claim P_n of many requests with one bond (≥ count · min bond); returns the batch id.

        Usage: ``bid = esc.claim_batch(batch.request_ids, batch.checkpoints, bond=n * min_bond)``
        """
        fn = self.contract.functions.claimBatch(list(request_ids), list(final_checkpoints))
        return int(self._event("ClaimedBatch", self._send(fn, bond))["batchId"])

    def open_leaf(self, leaf: LeafProof) -> TxResult:
        """Make one batch leaf an ordinary claim a game can open on (anyone, in the window)."""
        return self._send(self.contract.functions.openLeaf(*leaf.args()))

    def finalize_leaf(
        self, leaf: LeafProof, output: bytes, output_proof: Sequence[bytes]
    ) -> TxResult:
        """Settle one leaf after its batch's window with its be32 output and the output's proof.

        Usage: ``esc.finalize_leaf(batch.leaf(rid), output_bytes(y), trace_output_proof)``
        """
        fn = self.contract.functions.finalizeLeaf(*leaf.args(), output, list(output_proof))
        return self._send(fn)

    def refund_batched(self, request_ids: Sequence[int]) -> TxResult:
        """Credit the clients of a lost batch's requests (anyone; refunded ones are skipped)."""
        return self._send(self.contract.functions.refundBatched(list(request_ids)))

    def get_batch(self, batch_id: int) -> BatchInfo:
        """A batch's root, window, bond and state. Usage: ``esc.get_batch(bid).lost``."""
        b = self._read(self.contract.functions.batchOf(batch_id))
        window_end, bond, count, open_games = (int(x) for x in b[1:5])
        return BatchInfo(batch_id, bytes(b[0]), window_end, bond, count, open_games, b[5], b[6])

    def batch_id_of(self, request_id: int) -> int:
        """The batch claiming a request (0 when none)."""
        return int(self._read(self.contract.functions.batchIdOf(request_id)))

    def batch_claim(self, batch_id: int, from_block: int = 0) -> BatchClaim | None:
        """The batch's `ClaimedBatch` event (its leaves); None if there is none."""
        logs = self._logs("ClaimedBatch", {"batchId": batch_id}, from_block)
        return batch_claim_of(logs[0]) if logs else None

    def callback_of(self, request_id: int) -> tuple[str, int]:
        """(consumer, gas limit) of a request; the zero address when it has none."""
        target, gas = self._read(self.contract.functions.callbackOf(request_id))
        return str(target), int(gas)

    def burned(self) -> int:
        """Wei burned from lost bonds (held by the escrow forever)."""
        return int(self._read(self.contract.functions.burned()))

    def optimistic_request(self, request_id: int, from_block: int = 0) -> OptimisticRequest | None:
        """The request's `OptimisticRequested` event (its input bytes); None if there is none.

        Usage: ``data = esc.optimistic_request(rid).input`` (what a watcher re-executes)
        """
        args = self._log("OptimisticRequested", request_id, from_block)
        if args is None:
            return None
        roots = [bytes(r) for r in args["inputRoots"]]
        return OptimisticRequest(
            request_id, int(args["modelId"]), str(args["client"]), bytes(args["input"]), roots,
            int(args["payment"]), int(args["deadline"]),
        )  # fmt: skip

    def claimed_output(self, request_id: int, from_block: int = 0) -> bytes | None:
        """The be32 output of the request's `Claimed` event; None if it was not claimed."""
        args = self._log("Claimed", request_id, from_block)
        return None if args is None else bytes(args["output"])

    def _log(self, event: str, request_id: int, from_block: int) -> Any:
        logs = self._logs(event, {"requestId": request_id}, from_block)
        return logs[0]["args"] if logs else None

    def _logs(self, event: str, filters: dict[str, Any], from_block: int) -> list[Any]:
        ev = self.contract.events[event]()
        return list(
            call(
                lambda: ev.get_logs(from_block=from_block, argument_filters=filters),
                self._errors,
                f"{event} log query",
            )
        )

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
        args = self._log("Fulfilled", request_id, from_block)
        return None if args is None else [int(x) for x in args["outputs"]]


def batch_claim_of(log: Any) -> BatchClaim:
    """A decoded `ClaimedBatch` log as a record. Usage: ``batch_claim_of(logs[0]).request_ids``."""
    a = log["args"]
    return BatchClaim(
        int(a["batchId"]), str(a["provider"]), int(a["modelId"]), bytes(a["root"]),
        [int(r) for r in a["requestIds"]], [bytes(c) for c in a["finalCheckpoints"]],
        int(a["bond"]), int(a["windowEnd"]), int(log["blockNumber"]),
    )  # fmt: skip
