"""Errors of the disputes package (executor, trace, Merkle proofs, bisection).

::

    VerinferError
    └── DisputeError
        ├── LoweringError          (the ONNX graph cannot be lowered to integer steps)
        │   └── UnsupportedOpError (an op or attribute the executor does not implement)
        ├── ExecutionInputError    (wrong input name, shape or dtype; out-of-range token ids)
        ├── BoundsError            (a value would overflow the exact integer range)
        ├── TraceError             (a step index, row or element outside the trace)
        ├── MerkleError            (a bad tree, proof or index; keccak C library missing)
        ├── AgentError             (a game or claim an agent cannot play: unknown, not ours,
        │                           a model not built here, a closed window)
        └── GameStoreError         (the agents' database cannot be opened, read or written)

Other engineers may add classes here (e.g. ``MerkleError``); nothing is ever renamed.
"""

from __future__ import annotations

from verinfer.errors import VerinferError


class DisputeError(VerinferError):
    """Something about deterministic execution, its trace or the dispute game."""


class LoweringError(DisputeError):
    """The ONNX model cannot be lowered to the integer program."""


class UnsupportedOpError(LoweringError):
    """An ONNX op (or attribute value) the executor does not implement."""


class ExecutionInputError(DisputeError):
    """An input does not match the program: name, shape, dtype or value range."""


class BoundsError(DisputeError):
    """An exact integer computation would leave its proven range (overflow)."""


class TraceError(DisputeError):
    """A step, row or element index that the trace does not have."""


class MerkleError(DisputeError):
    """A Merkle tree, proof or the keccak C library (missing compiler, bad sizes, bad index)."""


class AgentError(DisputeError):
    """A game or claim the dispute agent cannot act on (unknown, not ours, no local model)."""


class GameStoreError(DisputeError):
    """The dispute agents' database could not be opened, read or written."""
