"""Batched optimistic claims: the leaves, the batch tree and its proofs, and a builder.

One ``claimBatch`` commits many optimistic responses of one model with one bond
(docs/optimistic.md, "Batched claims"). Leaf k is ``keccak256(0x05 ‖ abi.encode(requestId,
P_n))`` and the root is the tree of ``disputes.commitments.merkle`` over the leaves (zero
leaves pad to a power of two, 0x01 inner nodes); the escrow builds the same root from the leaves
it is sent and emits them, so a watcher rebuilds every proof from the ``ClaimedBatch`` event.

The leaf names ``P_n`` and not the output: ``P_n`` decides the output (it sits at the output
slot), so a leaf cannot name two outputs, and ``finalizeLeaf`` checks the output against it.

Usage::

    builder = BatchBuilder()
    for rid, tr in answered:
        builder.add(Response.of_view(rid, TraceView(tr)))
    batch = builder.build()
    bid = escrow.claim_batch(batch.request_ids, batch.checkpoints, bond=len(batch) * min_bond)
    r = builder.response(rid)                       # after the window:
    escrow.finalize_leaf(batch.leaf(rid), r.output, r.output_proof)
    again = Batch.of_claim(escrow.batch_claim(bid))  # what a watcher rebuilds from the event
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from eth_hash.auto import keccak

from contracts.records import BatchClaim, LeafProof
from disputes.commitments import merkle
from disputes.errors import AgentError
from disputes.game.claims import TracedClaim, claim_of
from disputes.game.view import View

__all__ = [
    "LEAF_PREFIX",
    "MAX_BATCH",
    "Batch",
    "BatchBuilder",
    "Response",
    "leaf_hash",
]

LEAF_PREFIX = b"\x05"  # 0x00/0x02 tensor leaves, 0x01 nodes, 0x03/0x04 program leaves
MAX_BATCH = 256  # EscrowBatches.MAX_BATCH


def leaf_hash(request_id: int, final_checkpoint: bytes) -> bytes:
    """A batch leaf: ``keccak256(0x05 ‖ abi.encode(uint256 requestId, bytes32 P_n))``."""
    if len(final_checkpoint) != 32:
        raise AgentError(f"a final checkpoint is 32 bytes, not {len(final_checkpoint)}")
    return bytes(keccak(LEAF_PREFIX + request_id.to_bytes(32, "big") + final_checkpoint))


@dataclass(frozen=True)
class Response:
    """One answered request: its P_n, and the output with its proof that finalizing needs."""

    request_id: int
    final_checkpoint: bytes
    output: bytes
    output_proof: list[bytes]

    @classmethod
    def of_view(cls, request_id: int, view: View) -> Response:
        """The response of the run ``view`` stands for (honest, or a cheat in tests).

        Usage: ``Response.of_view(rid, TraceView(tr))``
        """
        return cls.of_claim(request_id, claim_of(view))

    @classmethod
    def of_claim(cls, request_id: int, claim: TracedClaim) -> Response:
        """The response that posts ``claim`` as leaf ``request_id`` of a batch.

        Usage: ``Response.of_claim(rid, claim_of(TraceView(tr)))``
        """
        return cls(request_id, claim.final_checkpoint, claim.output, claim.output_proof)


@dataclass(frozen=True)
class Batch:
    """The leaves of one batch, in tree order, with the tree over them."""

    request_ids: tuple[int, ...]
    checkpoints: tuple[bytes, ...]

    def __post_init__(self) -> None:
        n = len(self.request_ids)
        if n != len(self.checkpoints):
            raise AgentError(f"{n} request ids but {len(self.checkpoints)} checkpoints")
        if not 0 < n <= MAX_BATCH:
            raise AgentError(f"a batch has 1..{MAX_BATCH} leaves, not {n}")
        if len(set(self.request_ids)) != n:
            raise AgentError("a request appears twice in the batch (the escrow refuses it)")

    @classmethod
    def of(cls, leaves: Sequence[tuple[int, bytes]]) -> Batch:
        """From (request id, P_n) pairs: ``Batch.of([(7, p_n)])``."""
        return cls(tuple(r for r, _ in leaves), tuple(c for _, c in leaves))

    @classmethod
    def of_claim(cls, claim: BatchClaim) -> Batch:
        """The batch a ``ClaimedBatch`` event names; AgentError if its root differs."""
        batch = cls(tuple(claim.request_ids), tuple(claim.final_checkpoints))
        if batch.root != claim.root:
            raise AgentError(f"batch {claim.batch_id}: the event's leaves do not give its root")
        return batch

    def __len__(self) -> int:
        return len(self.request_ids)

    @cached_property
    def tree(self) -> merkle.MerkleTree:
        leaves = [leaf_hash(r, c) for r, c in zip(self.request_ids, self.checkpoints, strict=True)]
        return merkle.MerkleTree.from_leaves(leaves)

    @property
    def root(self) -> bytes:
        return self.tree.root

    def index_of(self, request_id: int) -> int:
        """The leaf position of ``request_id``; AgentError when it is not in the batch."""
        try:
            return self.request_ids.index(request_id)
        except ValueError:
            raise AgentError(f"request {request_id} is not in this batch") from None

    def leaf(self, request_id: int) -> LeafProof:
        """The leaf of ``request_id`` with its proof (``openLeaf`` / ``finalizeLeaf``)."""
        k = self.index_of(request_id)
        return LeafProof(request_id, self.checkpoints[k], k, self.tree.proof(k))


@dataclass
class BatchBuilder:
    """Collects responses until a batch is full (or the caller decides to claim).

    Usage: ``b = BatchBuilder(64); b.add(resp); if b.full: batch = b.build()``
    """

    max_size: int = MAX_BATCH
    responses: dict[int, Response] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 < self.max_size <= MAX_BATCH:
            raise AgentError(f"a batch holds 1..{MAX_BATCH} responses, not {self.max_size}")

    @property
    def full(self) -> bool:
        return len(self.responses) >= self.max_size

    def add(self, response: Response) -> None:
        """Add one response; AgentError when it is full or the request is already in it."""
        if response.request_id in self.responses:
            raise AgentError(f"request {response.request_id} is already in the batch")
        if self.full:
            raise AgentError(f"the batch is full ({self.max_size} responses): build it first")
        self.responses[response.request_id] = response

    def build(self) -> Batch:
        """The batch of every response added so far, in the order they were added."""
        return Batch.of([(r.request_id, r.final_checkpoint) for r in self.responses.values()])

    def response(self, request_id: int) -> Response:
        """The response added for ``request_id`` (its output, to finalize it)."""
        if request_id not in self.responses:
            raise AgentError(f"no response for request {request_id} in this batch")
        return self.responses[request_id]
