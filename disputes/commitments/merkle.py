"""Merkle commitments to int64 tensors and to checkpoints (arrays of tensor roots).

The exact rules (the Solidity one-step verifier re-implements them; keep both in step):

1. **Rows.** A tensor is an int64 array, cut into rows along its last axis:
   ``q.reshape(-1, q.shape[-1])``; a 0-d or 1-d tensor is a single row. Rows are the leaves,
   in C (row-major) order.
2. **Leaf.** A row whose values all lie in int32 is *narrow*:
   ``leaf_i = keccak256(0x02 ‖ be32(x_0) ‖ be32(x_1) ‖ …)``, each value as 4 bytes big-endian
   two's complement (Solidity ``abi.encodePacked(bytes1(0x02), int32 ...)``). Any other row
   is *wide*: ``leaf_i = keccak256(0x00 ‖ be64(x_0) ‖ …)``
   (``abi.encodePacked(bytes1(0x00), int64 ...)``).
   The rule is per row and canonical, so a verifier holding one opened leaf can check it: a
   0x00 leaf must hold some value outside int32. Why: nearly every activation fits int32, and
   hashing half the bytes halves the cost of a trace (MiniLM: 141 MB → 73 MB hashed).
3. **Inner node.** ``node = keccak256(0x01 ‖ left ‖ right)`` (65 bytes in, 32 out).
   The one-byte prefixes are domain separation, an improvement over DESIGN.md (which hashes the
   packed row alone): a 64-byte row (8 int64s) can never pass for an inner node and vice versa.
4. **Shape of the tree.** n leaves are padded to ``capacity = next power of two ≥ max(n, 1)``
   with bytes32(0) leaves. Every parent is hashed by rule 3, also a parent of two padding
   children (no special case, so the verifier never branches on zero). Equivalently an all-
   padding subtree of height k has hash ``Z_k`` with ``Z_0 = bytes32(0)``,
   ``Z_{k+1} = keccak256(0x01 ‖ Z_k ‖ Z_k)``. depth = log2(capacity); a 1-leaf tree has depth 0
   and its root IS the leaf; a tensor with no rows has root bytes32(0).
5. **Proof** for leaf index i: the depth sibling hashes from the leaf level up. Verification:
   ``h = leaf; for k, s in enumerate(proof): h = node(s, h) if (i >> k) & 1 else node(h, s)``;
   valid iff ``h == root`` and ``i < 2**depth``. Padding leaves (bytes32(0)) are provable too,
   so a verifier must also check ``i < n_rows`` from the tensor's known shape before treating
   an opened leaf as a row.
6. **Checkpoint.** ``checkpoint_root(roots, n_slots)`` is the same tree over exactly ``n_slots``
   leaves (capacity = next power of two ≥ n_slots): slot j holds ``roots[j]`` for
   ``j < len(roots)``, else bytes32(0). Tensor roots are used as leaves as they are (they are
   not re-hashed with the 0x00 prefix).

Usage::

    import numpy as np
    from disputes.commitments.merkle import MerkleTree, tensor_root, tensor_roots, verify_proof
    q = np.arange(12, dtype=np.int64).reshape(3, 4)
    tree = MerkleTree.from_tensor(q)
    assert verify_proof(tree.leaf(2), 2, tree.proof(2), tree.root) and tree.root == tensor_root(q)
    assert tensor_roots([q, q.T]) == [tensor_root(q), tensor_root(q.T)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from eth_hash.auto import keccak
from numpy.typing import ArrayLike, NDArray

from disputes.commitments.keccak_native import leaf_hashes_i64, node_hashes, tensor_roots_i64
from disputes.errors import MerkleError

ZERO = bytes(32)
LEAF_PREFIX = b"\x00"  # a wide row: int64 values
NARROW_PREFIX = b"\x02"  # a narrow row: every value fits int32
NODE_PREFIX = b"\x01"
U8 = NDArray[np.uint8]


def as_rows(tensor: ArrayLike) -> NDArray[np.int64]:
    """The tensor as 2-d int64 rows (rule 1): ``as_rows(np.int64(5)).shape == (1, 1)``."""
    arr = np.asarray(tensor)
    if arr.dtype != np.int64:
        if not np.issubdtype(arr.dtype, np.integer):
            raise MerkleError(f"Merkle leaves are int64 rows; got dtype {arr.dtype}")
        arr = arr.astype(np.int64)
    if arr.ndim == 0:
        return arr.reshape(1, 1)
    return arr.reshape(int(np.prod(arr.shape[:-1])), arr.shape[-1])  # also for width 0


def leaf_hashes(tensor: ArrayLike) -> U8:
    """Leaf hashes of every row (rule 2), batched in C: ``leaf_hashes(q).shape == (rows, 32)``."""
    return leaf_hashes_i64(as_rows(tensor))


def leaf_hash(row: ArrayLike) -> bytes:
    """The rule-2 leaf hash of one row (0x02 ‖ be32s or 0x00 ‖ be64s): ``leaf_hash([1, -2])``."""
    rows = as_rows(np.asarray(row).reshape(-1))
    return bytes(leaf_hashes_i64(rows)[0].tobytes())


def leaf_message(row: ArrayLike) -> bytes:
    """The bytes a row's leaf hashes (rule 2), as a one-step proof sends them."""
    values = as_rows(np.asarray(row).reshape(-1))[0]
    if values.size and (values.min() < -(2**31) or values.max() >= 2**31):
        return LEAF_PREFIX + bytes(values.astype(">i8").tobytes())
    return NARROW_PREFIX + bytes(values.astype(">i4").tobytes())


def node_hash(left: bytes, right: bytes) -> bytes:
    """One inner node (rule 3): ``node_hash(a, b) == keccak(b"\\x01" + a + b)``."""
    return bytes(keccak(NODE_PREFIX + left + right))


@lru_cache(maxsize=1)
def _zero_table() -> tuple[bytes, ...]:
    table = [ZERO]
    for _ in range(64):
        table.append(node_hash(table[-1], table[-1]))
    return tuple(table)


def zero_hash(height: int) -> bytes:
    """Hash of an all-padding subtree of the given height: ``zero_hash(0) == bytes(32)``."""
    return _zero_table()[height]


def depth_for(n: int) -> int:
    """Tree depth for n leaves or slots: log2 of the next power of two ≥ max(n, 1)."""
    return max(n - 1, 0).bit_length()


def _as_hash_array(hashes: U8 | Sequence[bytes]) -> U8:
    if isinstance(hashes, np.ndarray):
        arr = np.ascontiguousarray(hashes, dtype=np.uint8)
    else:
        if any(len(h) != 32 for h in hashes):
            raise MerkleError("every leaf hash must be exactly 32 bytes")
        arr = np.frombuffer(b"".join(hashes), dtype=np.uint8).copy()
    return arr.reshape(-1, 32)


def _next_level(level: U8, height: int) -> U8:
    if len(level) % 2:
        pad = np.frombuffer(zero_hash(height), dtype=np.uint8).reshape(1, 32)
        level = np.concatenate([level, pad])
    return node_hashes(level)


@dataclass(frozen=True)
class MerkleTree:
    """All levels of a tree (rule 4); ``levels[0]`` are the leaves, odd levels padded lazily."""

    levels: tuple[U8, ...]
    n_leaves: int
    depth: int

    @classmethod
    def from_leaves(cls, hashes: U8 | Sequence[bytes], n_slots: int | None = None) -> MerkleTree:
        """Tree over given leaf hashes, optionally over n_slots ≥ len(hashes) slots."""
        leaves = _as_hash_array(hashes)
        n = len(leaves)
        slots = n if n_slots is None else n_slots
        if slots < n:
            raise MerkleError(f"{n} leaves do not fit in {slots} slots")
        depth = depth_for(slots)
        level = leaves if n else np.zeros((1, 32), dtype=np.uint8)
        levels = [level]
        for height in range(depth):
            level = _next_level(level, height)
            levels.append(level)
        return cls(tuple(levels), n, depth)

    @classmethod
    def from_tensor(cls, tensor: ArrayLike) -> MerkleTree:
        """Tree over the rows of an int64 tensor: ``MerkleTree.from_tensor(q).root``."""
        return cls.from_leaves(leaf_hashes(tensor))

    @property
    def root(self) -> bytes:
        return bytes(self.levels[-1][0].tobytes())

    def leaf(self, index: int) -> bytes:
        """The stored leaf hash at index (bytes32(0) for a padding slot)."""
        self._check(index)
        return self._node(0, index)

    def _check(self, index: int) -> None:
        if not 0 <= index < 1 << self.depth:
            raise MerkleError(f"leaf index {index} outside a tree of depth {self.depth}")

    def node(self, height: int, index: int) -> bytes:
        """The hash at ``height`` (0 = leaves) and ``index`` (zero hashes beyond the data)."""
        return self._node(height, index)

    def _node(self, height: int, index: int) -> bytes:
        level = self.levels[height]
        return bytes(level[index].tobytes()) if index < len(level) else zero_hash(height)

    def proof(self, index: int) -> list[bytes]:
        """Sibling hashes, leaf level first (rule 5): ``verify_proof(l, i, t.proof(i), t.root)``."""
        self._check(index)
        return [self._node(h, (index >> h) ^ 1) for h in range(self.depth)]


def verify_proof(
    leaf: bytes, index: int, proof: Sequence[bytes], root: bytes, depth: int | None = None
) -> bool:
    """Whether leaf sits at index under root (rule 5): ``verify_proof(l, 3, p, r, depth=4)``."""
    if depth is not None and len(proof) != depth:
        return False
    if not 0 <= index < 1 << len(proof) or any(len(s) != 32 for s in proof):
        return False
    h = leaf
    for height, sibling in enumerate(proof):
        h = node_hash(sibling, h) if (index >> height) & 1 else node_hash(h, sibling)
    return h == root


def tensor_root(tensor: ArrayLike) -> bytes:
    """Merkle root of an int64 tensor's rows: ``tensor_root(np.zeros((128, 384), np.int64))``.

    Equal to ``MerkleTree.from_tensor(tensor).root`` but computed in one C call (no levels kept).
    """
    return tensor_roots_i64([as_rows(tensor)])[0]


def tensor_roots(tensors: Sequence[ArrayLike]) -> list[bytes]:
    """Roots of many tensors at once: ``tensor_roots(trace) == [tensor_root(t) for t in trace]``.

    The fastest way to commit a whole trace: one C call per thread hashes all leaves and levels
    (see ``disputes.commitments.keccak_native.tensor_roots_i64``)."""
    return tensor_roots_i64([as_rows(t) for t in tensors])


def _checkpoint_tree(roots: Sequence[bytes], n_slots: int) -> MerkleTree:
    if len(roots) > n_slots:
        raise MerkleError(f"{len(roots)} tensor roots do not fit in {n_slots} checkpoint slots")
    return MerkleTree.from_leaves(list(roots), n_slots=n_slots)


def checkpoint_root(roots: Sequence[bytes], n_slots: int) -> bytes:
    """Root over n_slots slots, slot j = roots[j] or bytes32(0) (rule 6)."""
    return _checkpoint_tree(roots, n_slots).root


def checkpoint_proof(roots: Sequence[bytes], n_slots: int, slot: int) -> list[bytes]:
    """Proof that roots[slot] (or a zero slot) is in checkpoint_root(roots, n_slots)."""
    if not 0 <= slot < n_slots:
        raise MerkleError(f"checkpoint slot {slot} outside 0..{n_slots - 1}")
    return _checkpoint_tree(roots, n_slots).proof(slot)
