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


def weights_root(weights: Sequence[I64]) -> bytes:
    """Root over the weight tensors' roots, in slot order."""
    return checkpoint_root([tensor_root(w) for w in weights], max(1, len(weights)))
