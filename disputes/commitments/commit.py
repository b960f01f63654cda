"""Commitments built on the Merkle trees of :mod:`disputes.commitments.merkle`: the weights
root, checkpoints as slots fill up, and the start data a contract computes ``C_0`` from.

Tensor and checkpoint roots themselves (``tensor_root``, ``tensor_roots``, ``checkpoint_root``)
live in ``merkle``.

Example::

    roots = [merkle.tensor_root(w) for w in weights]
    weights_root(roots) == merkle.checkpoint_root(roots, max(1, len(roots)))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from disputes.commitments import merkle
from disputes.commitments.keccak_native import node_hashes


def weights_root(roots: Sequence[bytes]) -> bytes:
    """Root over the weight tensors' roots, in slot order (a checkpoint-shaped tree)."""
    return merkle.checkpoint_root(roots, max(1, len(roots)))


class IncrementalCheckpoints:
    """Checkpoint roots as slots fill up, each in O(depth) hashes; equals ``checkpoint_root``.

    Example::

        inc = IncrementalCheckpoints(n_slots=8)
        inc.set(0, root0); inc.root()   # == checkpoint_root([root0], 8)
    """

    def __init__(self, n_slots: int) -> None:
        self.depth = merkle.depth_for(n_slots)
        self.levels = [
            [merkle.zero_hash(h)] * (1 << (self.depth - h)) for h in range(self.depth + 1)
        ]

    def set(self, slot: int, root: bytes) -> None:
        self.levels[0][slot] = root
        idx = slot
        for h in range(self.depth):
            idx >>= 1
            lv = self.levels[h]
            self.levels[h + 1][idx] = merkle.node_hash(lv[2 * idx], lv[2 * idx + 1])

    def root(self) -> bytes:
        return self.levels[self.depth][0]


def checkpoint_series(roots: Sequence[bytes], first: int, n_slots: int) -> list[bytes]:
    """C_i after slot ``first + i`` is set, for every i: ``IncrementalCheckpoints``'s roots,
    computed one tree level at a time in batched C calls instead of one hash call per node.

    Slots fill in increasing order, so when slot u changes at level h, its right sibling still
    holds its initial value and its left sibling the value of the last event below it.
    """
    depth = merkle.depth_for(n_slots)
    init = _initial_levels(roots[:first], depth)
    events = np.frombuffer(b"".join(roots[first:]), dtype=np.uint8).reshape(-1, 32)
    slots = np.arange(first, len(roots), dtype=np.int64)
    for h in range(depth):
        u = slots >> h
        sib = u ^ 1
        last = ((sib + 1) << h) - 1 - first  # last event under a left sibling
        from_event = (sib < u) & (last >= 0)
        other = init[h][sib]
        other[from_event] = events[last[from_event]]
        left_is_u = (u & 1) == 0
        pairs = np.empty((len(u), 64), dtype=np.uint8)
        pairs[:, :32] = np.where(left_is_u[:, None], events, other)
        pairs[:, 32:] = np.where(left_is_u[:, None], other, events)
        events = node_hashes(pairs) if len(u) else events
    return [bytes(e) for e in events]


def _initial_levels(roots: Sequence[bytes], depth: int) -> list[NDArray[np.uint8]]:
    """Every level of the checkpoint tree holding only the first ``len(roots)`` slots."""
    leaves = np.zeros((1 << depth, 32), dtype=np.uint8)
    if roots:
        leaves[: len(roots)] = np.frombuffer(b"".join(roots), dtype=np.uint8).reshape(-1, 32)
    levels = [leaves]
    for _ in range(depth):
        levels.append(node_hashes(levels[-1]))
    return levels


@dataclass(frozen=True)
class StartData:
    """What a model registers so that a contract computes ``C_0`` from a request's input roots.

    Nobody may choose where a dispute starts: ``C_0`` (inputs and weights set, no step yet) is
    a function of the request's inputs and of the registered weights only. The input slots come
    first, so ``C_0`` is the subtree over the smallest aligned block holding them (``fill`` are
    its weight slots) folded with the fixed roots of the blocks to its right (``siblings``).
    """

    n_inputs: int
    fill: tuple[bytes, ...]
    siblings: tuple[bytes, ...]


def start_data(weight_roots: Sequence[bytes], n_inputs: int, n_slots: int) -> StartData:
    """The registered start data of a program with these weights and slot count."""
    block = 1 << max(0, (n_inputs - 1).bit_length())
    dummy = [merkle.ZERO] * n_inputs  # the right-hand blocks do not depend on the inputs
    tree = merkle.MerkleTree.from_leaves([*dummy, *weight_roots], n_slots)
    fill = tuple(tree.leaf(j) for j in range(n_inputs, block))
    low = block.bit_length() - 1
    return StartData(n_inputs, fill, tuple(tree.node(h, 1) for h in range(low, tree.depth)))


def start_checkpoint(input_roots: Sequence[bytes], data: StartData) -> bytes:
    """``C_0`` from the inputs' roots and the start data (what the contract computes)."""
    if len(input_roots) != data.n_inputs:
        raise ValueError(f"{len(input_roots)} input roots for {data.n_inputs} inputs")
    level = [*input_roots, *data.fill]
    while len(level) > 1:
        level = [merkle.node_hash(level[k], level[k + 1]) for k in range(0, len(level), 2)]
    h = level[0]
    for sibling in data.siblings:
        h = merkle.node_hash(h, sibling)
    return h
