"""Merkle commitments: the C keccak against eth_hash, proofs, checkpoints, pinned vectors."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from eth_hash.auto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from disputes.commitments import keccak_native
from disputes.commitments.merkle import (
    MerkleTree,
    as_rows,
    checkpoint_proof,
    checkpoint_root,
    depth_for,
    leaf_hash,
    leaf_hashes,
    node_hash,
    tensor_root,
    tensor_roots,
    verify_proof,
    zero_hash,
)
from disputes.errors import MerkleError

Z = bytes(32)


# Pure-Python reference of the spec, used only to check the C path.
def ref_leaf(row: list[int]) -> bytes:
    if all(-(2**31) <= v < 2**31 for v in row):  # narrow: every value as a big-endian int32
        return keccak(b"\x02" + b"".join(struct.pack(">i", v) for v in row))
    return keccak(b"\x00" + b"".join(struct.pack(">q", v) for v in row))


def ref_node(a: bytes, b: bytes) -> bytes:
    return keccak(b"\x01" + a + b)


def ref_root(leaves: list[bytes], n_slots: int | None = None) -> bytes:
    size = 1
    while size < max(len(leaves), n_slots or 0, 1):
        size *= 2
    level = leaves + [Z] * (size - len(leaves))
    while len(level) > 1:
        level = [ref_node(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def test_keccak_empty_known_answer() -> None:
    want = "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    assert keccak256(b"") == bytes.fromhex(want)


def keccak256(data: bytes) -> bytes:
    return bytes(keccak_native.keccak256_many(data, len(data))[0].tobytes())


@pytest.mark.parametrize("length", [0, 1, 31, 32, 64, 65, 134, 135, 136, 137, 271, 272, 273, 3073])
def test_c_keccak_rate_boundaries(length: int) -> None:
    rng = np.random.default_rng(length)
    data = rng.integers(0, 256, size=length * 7, dtype=np.uint8).tobytes()
    got = keccak_native.keccak256_many(data, length) if length else None
    for i in range(7 if length else 0):
        assert got is not None and got[i].tobytes() == keccak(data[i * length : (i + 1) * length])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=700))
def test_c_keccak_equals_eth_hash(data: bytes) -> None:
    assert keccak256(data) == keccak(data)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(-(2**63), 2**63 - 1), min_size=3, max_size=3), min_size=1, max_size=9
    )
)
def test_leaf_hashes_match_reference(rows: list[list[int]]) -> None:
    got = leaf_hashes(np.array(rows, dtype=np.int64))
    assert [bytes(g.tobytes()) for g in got] == [ref_leaf(r) for r in rows]


def test_batched_threads_match_single(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = np.random.default_rng(1).integers(-(2**62), 2**62, size=(700, 384), dtype=np.int64)
    many = leaf_hashes(rows)
    monkeypatch.setattr(keccak_native, "PARALLEL_MIN_BYTES", 1 << 60)
    assert np.array_equal(many, leaf_hashes(rows))
    assert bytes(many[5].tobytes()) == ref_leaf(rows[5].tolist())
    pairs = many[:600]
    assert np.array_equal(
        keccak_native.node_hashes(pairs)[7],
        np.frombuffer(ref_node(bytes(pairs[14]), bytes(pairs[15])), dtype=np.uint8),
    )


def test_narrow_and_wide_leaves() -> None:
    assert leaf_hash([1, -2, 3]) == keccak(b"\x02" + struct.pack(">iii", 1, -2, 3))
    assert leaf_hash([2**31, 0]) == keccak(b"\x00" + struct.pack(">qq", 2**31, 0))
    assert leaf_hash([1, -2, 3]) != leaf_hash([1, -2, 3, 0])  # shape is part of the message
    mixed = np.array([[0, 1], [2**40, 1], [-(2**31), 2**31 - 1]], np.int64)
    assert [bytes(h.tobytes()) for h in leaf_hashes(mixed)] == [ref_leaf(r) for r in mixed.tolist()]


def test_rows_rule() -> None:
    assert as_rows(np.int64(5)).shape == (1, 1)
    assert as_rows(np.arange(4)).shape == (1, 4)
    assert as_rows(np.zeros((2, 3, 4), np.int64)).shape == (6, 4)
    with pytest.raises(MerkleError):
        as_rows(np.zeros(3, np.float32))


def test_known_small_tree() -> None:
    """Pins the spec: 3 rows of width 2 (narrow, wide, narrow), padded to 4 leaves, hashed by
    hand with eth_hash."""
    q = np.array([[1, -1], [2**63 - 1, -(2**63)], [0, 7]], dtype=np.int64)
    l0 = keccak(bytes.fromhex("02" + "00000001" + "ffffffff"))
    l1 = keccak(bytes.fromhex("00" + "7fffffffffffffff" + "8000000000000000"))
    l2 = keccak(bytes.fromhex("02" + "00000000" + "00000007"))
    root = keccak(b"\x01" + keccak(b"\x01" + l0 + l1) + keccak(b"\x01" + l2 + Z))
    assert leaf_hash([1, -1]) == l0
    assert tensor_root(q) == root
    assert root.hex() == PINNED_ROOT


PINNED_ROOT = "eecf91e2e91987f99ec977b1861d6a45b9f21a4769b0062044b58734369a3d33"


def test_one_leaf_root_is_leaf_and_empty_is_zero() -> None:
    assert tensor_root(np.array([3, 4], np.int64)) == ref_leaf([3, 4])
    assert tensor_root(np.zeros((0, 4), np.int64)) == Z
    assert MerkleTree.from_tensor(np.array([3, 4], np.int64)).proof(0) == []


def test_zero_hashes() -> None:
    assert zero_hash(0) == Z and zero_hash(1) == ref_node(Z, Z)
    assert zero_hash(2) == ref_node(zero_hash(1), zero_hash(1))
    assert [depth_for(n) for n in (0, 1, 2, 3, 4, 5, 8, 9)] == [0, 0, 1, 2, 2, 3, 3, 4]


@pytest.mark.parametrize("n", [1, 2, 3, 5, 7, 8, 13, 33])
def test_every_proof_verifies(n: int) -> None:
    q = np.arange(n * 4, dtype=np.int64).reshape(n, 4) - 50
    tree = MerkleTree.from_tensor(q)
    assert tree.root == ref_root([ref_leaf(r) for r in q.tolist()])
    for i in range(1 << tree.depth):
        leaf = tree.leaf(i)
        assert leaf == (ref_leaf(q[i].tolist()) if i < n else Z)
        proof = tree.proof(i)
        assert verify_proof(leaf, i, proof, tree.root, depth=tree.depth)
        if n > 1 and leaf != proof[0]:  # swapping equal siblings (two padding zeros) is moot
            assert not verify_proof(leaf, i ^ 1, proof, tree.root)
        assert not verify_proof(ref_leaf([9, 9, 9, 9]), i, proof, tree.root)
        assert not verify_proof(leaf, i, proof, ref_leaf([1]))
        assert not verify_proof(leaf, i, proof, tree.root, depth=tree.depth + 1)


def test_proof_rejects_out_of_range() -> None:
    tree = MerkleTree.from_tensor(np.zeros((5, 2), np.int64))
    with pytest.raises(MerkleError):
        tree.proof(8)
    assert not verify_proof(tree.leaf(0), 8, tree.proof(0), tree.root)
    assert not verify_proof(tree.leaf(0), -1, tree.proof(0), tree.root)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 40), st.integers(1, 6), st.data())
def test_any_changed_element_changes_root(rows: int, width: int, data: st.DataObject) -> None:
    q = np.zeros((rows, width), np.int64)
    before = tensor_root(q)
    r, c = data.draw(st.integers(0, rows - 1)), data.draw(st.integers(0, width - 1))
    q[r, c] = data.draw(st.integers(-(2**63), 2**63 - 1).filter(lambda v: v != 0))
    assert tensor_root(q) != before


def test_shape_matters_through_rows() -> None:
    flat = np.arange(8, dtype=np.int64)
    assert tensor_root(flat.reshape(2, 4)) != tensor_root(flat.reshape(4, 2))


def test_from_leaves_accepts_bytes_and_arrays() -> None:
    leaves = [ref_leaf([i]) for i in range(6)]
    arr = np.frombuffer(b"".join(leaves), dtype=np.uint8).reshape(6, 32)
    assert MerkleTree.from_leaves(leaves).root == MerkleTree.from_leaves(arr).root
    with pytest.raises(MerkleError):
        MerkleTree.from_leaves([b"short"])


def test_checkpoint_root_and_proofs() -> None:
    roots = [tensor_root(np.full((3, 2), i, np.int64)) for i in range(5)]
    n_slots = 12
    root = checkpoint_root(roots, n_slots)
    assert root == ref_root(roots, n_slots)
    assert root != checkpoint_root(roots, 16) or depth_for(12) == depth_for(16)
    assert root == checkpoint_root([*roots, Z], n_slots)  # an explicit zero equals an empty slot
    for slot in range(n_slots):
        proof = checkpoint_proof(roots, n_slots, slot)
        leaf = roots[slot] if slot < len(roots) else Z
        assert verify_proof(leaf, slot, proof, root, depth=4)
    with pytest.raises(MerkleError):
        checkpoint_root(roots, 4)
    with pytest.raises(MerkleError):
        checkpoint_proof(roots, n_slots, 12)


def test_checkpoint_changes_with_any_root() -> None:
    roots = [tensor_root(np.full((2, 2), i, np.int64)) for i in range(3)]
    other = [roots[0], roots[2], roots[1]]
    assert checkpoint_root(roots, 8) != checkpoint_root(other, 8)
    assert node_hash(roots[0], roots[1]) == ref_node(roots[0], roots[1])


def test_missing_compiler_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CC", "no-such-cc-verinfer")
    with pytest.raises(MerkleError, match="not found"):
        keccak_native.build_library(force=True)


# --- the C code paths against each other (VERINFER_KECCAK_IMPL / impl=...) ---------------------

IMPL_NAMES = ["portable", "scalar", "avx2"]
LENGTHS = [0, 1, 135, 136, 137, 271, 272, 3072, 12288]
# Row widths whose leaf messages (1 + 8w bytes) sit around the rate (136) and at trace sizes.
WIDTHS = [0, 1, 15, 16, 17, 33, 34, 128, 384, 1536]
ABC = "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"


def supported(impl: str) -> bool:
    try:
        keccak_native.impl_code(impl)
    except MerkleError:
        return False
    return True


def require(impl: str) -> None:
    if not supported(impl):
        pytest.skip(f"this CPU cannot run the {impl} keccak path")


def test_avx2_is_tested_where_the_cpu_has_it() -> None:
    with open("/proc/cpuinfo") as f:
        has_avx2 = " avx2" in f.read()
    assert supported("avx2") == has_avx2
    assert keccak_native.active_impl("auto") == ("avx2" if has_avx2 else "scalar")


@pytest.mark.parametrize("impl", IMPL_NAMES)
def test_known_answers_on_every_path(impl: str) -> None:
    require(impl)
    got = keccak_native.keccak256_many(b"abc" * 5, 3, impl)  # 4 in one AVX2 group + 1 scalar
    assert [g.tobytes().hex() for g in got] == [ABC] * 5
    empty = keccak_native.keccak256_many(np.zeros(0, np.uint8), 0, impl)
    assert empty[0].tobytes() == keccak(b"")
    q = np.array([[1, -1], [2**63 - 1, -(2**63)], [0, 7]], dtype=np.int64)
    tree = MerkleTree.from_leaves(keccak_native.leaf_hashes_i64(q, impl))
    assert tree.root.hex() == PINNED_ROOT
    assert keccak_native.tensor_roots_i64([q], impl)[0].hex() == PINNED_ROOT


@pytest.mark.parametrize("length", LENGTHS)
def test_paths_agree_on_byte_messages(length: int) -> None:
    data = np.random.default_rng(length).integers(0, 256, size=9 * length, dtype=np.uint8)
    want = [keccak(data[i * length : (i + 1) * length].tobytes()) for i in range(9)]
    for impl in filter(supported, IMPL_NAMES):
        for n in range(1, 10):
            got = keccak_native.keccak256_many(data[: n * length], length, impl) if length else None
            digests = [g.tobytes() for g in got] if got is not None else want[:n]
            assert digests == want[:n], (impl, n)


def _mixed_rows(width: int) -> np.ndarray:
    """9 rows: narrow ones (int32 edges included) and wide ones (one value just outside)."""
    rng = np.random.default_rng(width)
    rows = rng.integers(-(2**31), 2**31, (9, width), np.int64)
    if width:
        rows[0, 0], rows[1, -1] = 2**31 - 1, -(2**31)  # narrow at both edges
        rows[2, -1], rows[4, 0] = 2**31, -(2**31) - 1  # wide by one
        rows[5] = rng.integers(-(2**63), 2**63 - 1, width)
        rows[7, width // 2] = 2**47
    return rows


@pytest.mark.parametrize("width", WIDTHS)
def test_paths_agree_on_leaves(width: int) -> None:
    rows = _mixed_rows(width)
    want = [ref_leaf(r) for r in rows.tolist()]
    for impl in filter(supported, IMPL_NAMES):
        for n in range(1, 10):
            got = keccak_native.leaf_hashes_i64(rows[:n], impl)
            assert [g.tobytes() for g in got] == want[:n], (impl, n)


def test_paths_agree_on_nodes_and_roots() -> None:
    children = np.random.default_rng(3).integers(0, 256, size=(18, 32), dtype=np.uint8)
    pairs = [(children[2 * i].tobytes(), children[2 * i + 1].tobytes()) for i in range(9)]
    for impl in filter(supported, IMPL_NAMES):
        for m in range(1, 10):
            got = keccak_native.node_hashes(children[: 2 * m], impl)
            assert [g.tobytes() for g in got] == [ref_node(a, b) for a, b in pairs[:m]], impl
        for n in range(0, 19):
            leaves = [c.tobytes() for c in children[:n]]
            assert keccak_native.merkle_root(children[:n], impl) == ref_root(leaves), (impl, n)


def test_env_var_forces_the_path(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = np.arange(7 * 20, dtype=np.int64).reshape(7, 20) - 70
    want = [ref_leaf(r) for r in rows.tolist()]
    for impl in filter(supported, IMPL_NAMES):
        monkeypatch.setenv(keccak_native.IMPL_ENV, impl)
        assert keccak_native.active_impl() == impl
        assert [h.tobytes() for h in leaf_hashes(rows)] == want
        assert tensor_root(rows) == ref_root(want)
    monkeypatch.setenv(keccak_native.IMPL_ENV, "sse9")
    with pytest.raises(MerkleError, match="unknown keccak implementation"):
        leaf_hashes(rows)


def test_tensor_roots_match_trees(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(4)
    tensors: list[np.ndarray] = [
        rng.integers(-(2**40), 2**40, size=shape, dtype=np.int64)
        for shape in [(5, 3), (0, 4), (), (9,), (2, 3, 17), (33, 1), (64, 48), (3, 0), (130, 40)]
    ]
    want = [MerkleTree.from_tensor(t).root for t in tensors]
    assert want[1] == Z and want[2] == ref_leaf([int(tensors[2])])
    assert want[7] == ref_root([ref_leaf([])] * 3)
    for impl in filter(supported, IMPL_NAMES):
        monkeypatch.setenv(keccak_native.IMPL_ENV, impl)
        assert tensor_roots(tensors) == want
        assert [tensor_root(t) for t in tensors] == want
    monkeypatch.delenv(keccak_native.IMPL_ENV)
    monkeypatch.setattr(keccak_native, "PARALLEL_MIN_BYTES", 1)  # threads for every batch
    assert tensor_roots(tensors) == want
    assert tensor_roots(tensors[-1:]) == want[-1:]  # one big tensor: leaves split over threads
    assert tensor_roots([]) == []
