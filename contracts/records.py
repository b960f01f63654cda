"""Typed records the registry and escrow clients return (mirrors of the contracts' structs).

Usage::

    from contracts.records import RequestStatus, ClaimInfo
    assert esc.get_claim(rid).status is RequestStatus.CLAIMED
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from contracts.bindings import TxResult

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


class RequestStatus(IntEnum):
    """Mirror of `InferenceEscrow.Status`."""

    NONE = 0
    OPEN = 1
    FULFILLED = 2
    REFUNDED = 3
    CLAIMED = 4
    BATCHED = 5  # claimed in a batch, its leaf not opened (docs/optimistic.md, Batched claims)


class Mode(IntEnum):
    """Mirror of `ModelRegistry.Mode`: how a model's results become final."""

    ZK = 0
    OPTIMISTIC = 1
    ON_DEMAND = 2


@dataclass(frozen=True)
class OptimisticSpec:
    """What `registerOptimistic` takes besides the header (`ModelRegistry.OptimisticSpec`)."""

    program_root: bytes
    start_hash: bytes
    output_rows: int
    output_width: int


@dataclass(frozen=True)
class ProgramInfo:
    """An optimistic model's registered program (`ModelRegistry.Program`)."""

    program_root: bytes
    start_hash: bytes
    n_inputs: int
    n_weights: int
    n_steps: int
    output_slot: int
    output_rows: int
    output_width: int

    @property
    def n_slots(self) -> int:
        return self.n_inputs + self.n_weights + self.n_steps


@dataclass(frozen=True)
class ClaimInfo:
    """A claim (`IGameEscrow.ClaimInfo`) with its request's status; zeros when none."""

    provider: str
    model_id: int
    input_hash: bytes
    final_checkpoint: bytes
    bond: int
    window_end: int
    open_games: int
    challenger: str
    prove_deadline: int
    challenger_bond: int
    status: RequestStatus


@dataclass(frozen=True)
class OptimisticRequest:
    """What an `OptimisticRequested` event says: the input bytes and the roots made of them."""

    request_id: int
    model_id: int
    client: str
    input: bytes
    input_roots: list[bytes]
    payment: int
    deadline: int


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


@dataclass(frozen=True)
class BatchInfo:
    """A batched claim (`EscrowBatches.Batch`); zeros when there is none."""

    batch_id: int
    root: bytes
    window_end: int
    bond: int
    count: int
    open_games: int
    lost: bool
    bond_paid: bool


@dataclass(frozen=True)
class BatchClaim:
    """What a `ClaimedBatch` event says: the leaves (request id, P_n) in tree order."""

    batch_id: int
    provider: str
    model_id: int
    root: bytes
    request_ids: list[int]
    final_checkpoints: list[bytes]
    bond: int
    window_end: int
    block: int

    def index_of(self, request_id: int) -> int:
        """The leaf position of `request_id`: ``claim.index_of(7)``."""
        return self.request_ids.index(request_id)


@dataclass(frozen=True)
class LeafProof:
    """One leaf of a batch with its proof: what `openLeaf` and `finalizeLeaf` take."""

    request_id: int
    final_checkpoint: bytes
    index: int
    proof: list[bytes]

    def args(self) -> tuple[int, bytes, int, list[bytes]]:
        """The contract arguments: ``escrow.functions.openLeaf(*leaf.args())``."""
        return self.request_id, self.final_checkpoint, self.index, list(self.proof)
