"""Commitment helpers over ``disputes.merkle``: tensor roots, weights root, checkpoints.

Example::

    root = tensor_root(np.arange(6, dtype=np.int64).reshape(2, 3))
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from disputes import merkle

I64 = NDArray[np.int64]


def as_rows(q: I64) -> I64:
    """Tensors of rank 0 are committed as one row of one value."""
    return q.reshape(1) if q.ndim == 0 else q


def tensor_root(q: I64) -> bytes:
    return merkle.tensor_root(np.ascontiguousarray(as_rows(q), dtype=np.int64))


def checkpoint_root(roots: Sequence[bytes], n_slots: int) -> bytes:
    return merkle.checkpoint_root(roots, n_slots)


def weights_root(roots: Sequence[bytes]) -> bytes:
    """Root over the weight tensors' roots, in slot order (a checkpoint-shaped tree)."""
    return checkpoint_root(roots, max(1, len(roots)))


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
