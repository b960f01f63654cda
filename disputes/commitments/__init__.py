"""Commitments: Merkle trees over tensors and checkpoints (``merkle``, on the batched keccak C
library of ``keccak_native``), weights root, checkpoint series and start data (``commit``), and
the SPEC v3 program commitment (``descriptor``).

Imports ``disputes.program`` only, never the executor.
"""

from __future__ import annotations

from disputes.commitments.commit import (
    IncrementalCheckpoints,
    StartData,
    checkpoint_series,
    start_checkpoint,
    start_data,
    weights_root,
)
from disputes.commitments.descriptor import (
    KINDS,
    header_message,
    lut_pairs,
    program_root,
    program_tree,
    step_message,
)
from disputes.commitments.merkle import (
    ZERO,
    MerkleTree,
    as_rows,
    checkpoint_proof,
    checkpoint_root,
    depth_for,
    leaf_hash,
    leaf_hashes,
    leaf_message,
    node_hash,
    tensor_root,
    tensor_roots,
    verify_proof,
    zero_hash,
)

__all__ = [
    "KINDS",
    "ZERO",
    "IncrementalCheckpoints",
    "MerkleTree",
    "StartData",
    "as_rows",
    "checkpoint_proof",
    "checkpoint_root",
    "checkpoint_series",
    "depth_for",
    "header_message",
    "leaf_hash",
    "leaf_hashes",
    "leaf_message",
    "lut_pairs",
    "node_hash",
    "program_root",
    "program_tree",
    "start_checkpoint",
    "start_data",
    "step_message",
    "tensor_root",
    "tensor_roots",
    "verify_proof",
    "weights_root",
    "zero_hash",
]
