"""LeafCodec.sol and Merkle.sol against disputes/commitments/merkle.py (the oracle), on anvil.

Every hypothesis example draws a whole batch of cases and checks it in one or two eth_calls
through MerkleHarness's batched `try*` functions, which return each case's raw revert data.
Values come from a numpy generator seeded by hypothesis (a row of 1536 int64s is too big for
hypothesis's own buffer); the seeds, widths and shapes are drawn by hypothesis.
Tampered cases are checked twice: against a Python model of the contract's checks (the same
order of checks, on top of disputes.commitments.merkle.verify_proof) and against the error
they aim at.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_hash.auto import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from web3 import Web3
from web3.contract import Contract

from contracts.bindings import deploy, wrapped
from contracts.build import PKG_DIR, library_sources
from contracts.compiler import Artifact, compile_files, import_closure
from contracts.errors import ContractRevert
from contracts.reverts import ErrorTable, canonical_type, decode_revert, error_table
from disputes.commitments.merkle import (
    MerkleTree,
    checkpoint_proof,
    checkpoint_root,
    depth_for,
    leaf_hash,
    node_hash,
    tensor_root,
    verify_proof,
    zero_hash,
)
from tests.contracts.conftest import Env

HARNESS = PKG_DIR / "test" / "MerkleHarness.sol"
ZERO = bytes(32)
I32_MIN, I32_MAX = -(2**31), 2**31 - 1
NARROW_EDGES = [0, 1, -1, I32_MAX, -I32_MAX, I32_MIN]
WIDE_EDGES = [2**31, I32_MIN - 1, 2**32, -(2**32), 2**47, -(2**47), 2**63 - 1, -(2**63)]
SEEDS = st.integers(0, 2**32 - 1)
Expect = tuple[str, tuple[Any, ...]] | None  # (error name, args), None when it must pass
I64 = NDArray[np.int64]


def _settings(n: int) -> settings:
    return settings(
        max_examples=n,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# ---- the deployed harness ----


@dataclass(frozen=True)
class Harness:
    w3: Web3
    c: Contract
    abi: list[dict[str, Any]]
    table: ErrorTable

    def call(self, name: str, *args: Any) -> Any:
        """eth_call of `name`, ABI-coded with eth_abi directly: web3's own argument mapping
        takes seconds for a batch of a thousand cases. A revert raises ContractRevert."""
        fn = next(f for f in self.abi if f.get("type") == "function" and f["name"] == name)
        ins = [canonical_type(i) for i in fn["inputs"]]
        outs = [canonical_type(o) for o in fn["outputs"]]
        data = keccak(f"{name}({','.join(ins)})".encode())[:4] + abi_encode(ins, list(args))
        tx: Any = {"to": self.c.address, "data": "0x" + data.hex()}
        with wrapped(self.table, name):
            raw = self.w3.eth.call(tx)
        got = abi_decode(outs, bytes(raw))
        return got[0] if len(got) == 1 else got

    def error(self, data: bytes) -> Expect:
        """(name, args) of one case's revert data from a try* batch; None if it passed."""
        if not data:
            return None
        exc = decode_revert(bytes(data), self.table)
        return exc.name, tuple(exc.error_args)

    def errors(self, datas: Sequence[bytes]) -> list[Expect]:
        return [self.error(d) for d in datas]


def _compile() -> Artifact:
    # Only the harness's import closure: other engineers' sources under src/ and test/ need
    # not compile for this module to run.
    libs = {p.name: p for p in library_sources() if p.resolve() != HARNESS.resolve()}
    texts = {name: p.read_text() for name, p in libs.items()}
    texts[HARNESS.name] = HARNESS.read_text()
    needed = [libs[n] for n in import_closure(HARNESS.name, texts) if n != HARNESS.name]
    return compile_files([HARNESS], needed)["MerkleHarness"]


@pytest.fixture(scope="module")
def harness(chain_env: Env) -> Iterator[Harness]:
    art = _compile()
    address = deploy(chain_env.w3, chain_env.deployer, art)
    contract = chain_env.w3.eth.contract(address=Web3.to_checksum_address(address), abi=art.abi)
    yield Harness(chain_env.w3, contract, art.abi, error_table(art.abi))


# ---- rows and leaf messages ----


def _fits(row: I64) -> bool:
    return bool(np.all((row >= I32_MIN) & (row <= I32_MAX)))


def message(row: I64) -> bytes:
    """The canonical leaf message of a row: exactly what leaf_hash hashes."""
    if _fits(row):
        return b"\x02" + row.astype(">i4").tobytes()
    return wide_message(row)


def wide_message(row: I64) -> bytes:
    return b"\x00" + row.astype(">i8").tobytes()


def random_row(rng: np.random.Generator, width: int, wide: bool) -> I64:
    """Values mixing the int32 edges, random int32s and small ints; `wide` adds int64s
    beyond int32 (edges and random) and forces at least one."""
    pick = rng.integers(0, 4, width)
    row = np.where(
        pick == 0,
        rng.choice(NARROW_EDGES, width),
        np.where(
            pick == 1, rng.integers(-100, 101, width), rng.integers(I32_MIN, I32_MAX + 1, width)
        ),
    ).astype(np.int64)
    if wide:
        n_wide = int(rng.integers(1, width + 1))
        at = rng.choice(width, n_wide, replace=False)
        big = np.where(
            rng.random(n_wide) < 0.5,
            rng.choice(WIDE_EDGES, n_wide),
            rng.integers(2**31, 2**63, n_wide) * rng.choice([-1, 1], n_wide),
        )
        row[at] = big.astype(np.int64)
    return row


ROW = st.tuples(st.integers(1, 64), st.booleans(), SEEDS)
BIG_ROW = st.tuples(st.sampled_from([384, 1536]), st.booleans(), SEEDS)


def _rows(cases: list[tuple[int, bool, int]]) -> list[I64]:
    return [random_row(np.random.default_rng(seed), w, wide) for w, wide, seed in cases]


# ---- a Python model of the contract's checks, in the contract's order ----


def expect_leaf(msg: bytes) -> Expect:
    """LeafCodec.checkCanonical."""
    if not msg:
        return "BadLeaf", (0,)
    prefix, body = msg[0], len(msg) - 1
    if prefix not in (0, 2):
        return "UnknownPrefix", (prefix,)
    if body % (8 if prefix == 0 else 4):
        return "BadLeaf", (len(msg),)
    if prefix == 0 and _fits(np.frombuffer(msg[1:], dtype=">i8").astype(np.int64)):
        return "NonCanonicalLeaf", ()
    return None


def expect_row(root: bytes, msg: bytes, row: int, n_rows: int, proof: list[bytes]) -> Expect:
    """Merkle.verifyRow."""
    if row >= n_rows:
        return "RowOutOfRange", (row, n_rows)
    if len(proof) != depth_for(n_rows):
        return "WrongDepth", (len(proof), depth_for(n_rows))
    bad = expect_leaf(msg)
    if bad is not None:
        return bad
    return None if verify_proof(keccak(msg), row, proof, root) else ("BadProof", (row,))


def expect_slot(cp: bytes, slot_root: bytes, slot: int, n_slots: int, proof: list[bytes]) -> Expect:
    """Merkle.verifySlot."""
    if slot >= n_slots:
        return "SlotOutOfRange", (slot, n_slots)
    if len(proof) != depth_for(n_slots):
        return "WrongDepth", (len(proof), depth_for(n_slots))
    return None if verify_proof(slot_root, slot, proof, cp) else ("BadProof", (slot,))


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 0x80 >> (bit % 8)
    return bytes(out)


def _flip_value_bit(rng: np.random.Generator, msg: bytes) -> bytes:
    """Flip one value bit that keeps the message canonical (so the proof is what fails):
    any bit of a narrow value, one of the low 31 bits of a wide one."""
    n = (len(msg) - 1) // (4 if msg[0] == 2 else 8)
    v = int(rng.integers(n))
    if msg[0] == 2:
        return _flip(msg, 8 * (1 + 4 * v) + int(rng.integers(32)))
    low = int(rng.integers(31))  # bit `low` of value v, counted from its least significant bit
    return _flip(msg, 8 * (1 + 8 * v) + 63 - low)


def _bad_length(rng: np.random.Generator, msg: bytes) -> bytes:
    unit = 4 if msg[0] == 2 else 8
    k = int(rng.integers(1, unit))
    if len(msg) > unit and rng.random() < 0.5:
        return msg[:-k]
    return msg + rng.bytes(k)


def _other_prefix(rng: np.random.Generator) -> int:
    return int(rng.choice([1, *range(3, 256)]))


# ---- tensors ----


@dataclass
class Tensor:
    rows: I64
    tree: MerkleTree

    @classmethod
    def random(cls, n_rows: int, width: int, p_wide: float, seed: int) -> Tensor:
        rng = np.random.default_rng(seed)
        rows = np.stack(
            [random_row(rng, width, bool(rng.random() < p_wide)) for _ in range(n_rows)]
        )
        return cls(rows, MerkleTree.from_tensor(rows))

    @property
    def n(self) -> int:
        return len(self.rows)

    def case(self, row: int, msg: bytes | None = None, proof: list[bytes] | None = None) -> RowCase:
        msg = message(self.rows[row]) if msg is None and row < self.n else msg
        proof = self.tree.proof(row) if proof is None else proof
        return RowCase(self.tree.root, msg or b"", row, self.n, proof)


@dataclass
class RowCase:
    root: bytes
    leaf: bytes
    row: int
    n_rows: int
    proof: list[bytes]
    aim: str | None = None  # the error a tampered case is built to hit

    def abi(self) -> tuple[Any, ...]:
        return (self.root, self.leaf, self.row, self.n_rows, self.proof)

    def expect(self) -> Expect:
        return expect_row(self.root, self.leaf, self.row, self.n_rows, self.proof)


def tampered_rows(t: Tensor, rng: np.random.Generator) -> Iterator[RowCase]:
    """One case per kind of tampering that applies to this tensor, each aimed at its error."""
    r = int(rng.integers(t.n))
    good = t.case(r)
    depth = t.tree.depth

    def aimed(aim: str, **kw: Any) -> RowCase:
        fields = {**good.__dict__, **kw, "aim": aim}
        return RowCase(**fields)

    yield aimed("BadProof", leaf=_flip_value_bit(rng, good.leaf))
    yield aimed("WrongDepth", proof=[*good.proof, rng.bytes(32)])
    yield aimed("BadLeaf", leaf=_bad_length(rng, good.leaf))
    yield aimed("BadLeaf", leaf=b"")
    yield aimed("UnknownPrefix", leaf=bytes([_other_prefix(rng)]) + good.leaf[1:])
    yield aimed("RowOutOfRange", row=(1 << depth) + int(rng.integers(3)))  # past capacity
    if good.leaf[0] == 2:
        yield aimed("NonCanonicalLeaf", leaf=wide_message(t.rows[r]))
    if depth:
        k = int(rng.integers(depth))
        wrong = list(good.proof)
        wrong[k] = _flip(wrong[k], int(rng.integers(256)))
        yield aimed("BadProof", proof=wrong)
        yield aimed("WrongDepth", proof=good.proof[:-1])
    if t.n >= 2:
        j = int((r + rng.integers(1, t.n)) % t.n)
        if not verify_proof(keccak(good.leaf), j, good.proof, t.tree.root):  # not symmetric
            yield aimed("BadProof", row=j)
    if t.n < 1 << depth:  # a padding leaf, with its own valid proof, is not a row
        j = int(rng.integers(t.n, 1 << depth))
        yield aimed("RowOutOfRange", row=j, proof=t.tree.proof(j))


def _check_rows(h: Harness, cases: list[RowCase]) -> list[int]:
    widths, errs = h.call("tryRows", [c.abi() for c in cases])
    got = h.errors(errs)
    for c, g in zip(cases, got, strict=True):
        want = c.expect()
        assert g == want, (c.aim, c.row, c.n_rows, len(c.proof), c.leaf[:9].hex())
        if c.aim is not None:
            assert want is not None and want[0] == c.aim, (c.aim, want)
    return list(widths)


# ---- tests: leaf codec ----


@_settings(20)
@given(cases=st.lists(ROW, min_size=100, max_size=200), big=st.lists(BIG_ROW, max_size=2))
def test_leaf_codec_matches_python(harness: Harness, cases: list[Any], big: list[Any]) -> None:
    rows = _rows(cases + big)
    msgs = [message(r) for r in rows]
    hashes, counts, values = harness.call("decode", msgs)
    for row, msg, hsh, n, vals in zip(rows, msgs, hashes, counts, values, strict=True):
        assert bytes(hsh) == leaf_hash(row) == keccak(msg)
        assert msg[0] == (2 if _fits(row) else 0)
        assert n == len(row) and list(vals) == row.tolist()
    assert harness.errors(harness.call("tryCanonical", msgs)) == [None] * len(msgs)


@_settings(20)
@given(cases=st.lists(ROW, min_size=100, max_size=200), seed=SEEDS)
def test_leaf_codec_rejects_bad_messages(harness: Harness, cases: list[Any], seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = _rows(cases)
    bad: list[tuple[bytes, str]] = []
    for row in rows:
        msg = message(row)
        bad.append((_bad_length(rng, msg), "BadLeaf"))
        bad.append((bytes([_other_prefix(rng)]) + msg[1:], "UnknownPrefix"))
        if msg[0] == 2:
            bad.append((wide_message(row), "NonCanonicalLeaf"))
    leaves = [b for b, _ in bad]
    got = harness.errors(harness.call("tryCanonical", leaves))
    for (leaf, aim), g in zip(bad, got, strict=True):
        want = expect_leaf(leaf)
        assert g == want and want is not None and want[0] == aim, (aim, leaf[:9].hex())
    # The canonical scan must look at the leaf's bytes only, whatever calldata follows it.
    wides = [wide_message(r) for r in rows]
    tails = [rng.bytes(40) if rng.random() < 0.5 else b"\x55" * 40 for _ in wides]
    got = harness.errors(
        harness.call(
            "tryCanonicalIn", list(map(bytes.__add__, wides, tails)), [len(w) for w in wides]
        )
    )
    assert got == [expect_leaf(w) for w in wides]
    # at(): every malformed message and every index past the row reverts with its own error.
    msgs = [message(r) for r in rows]
    probe = [*leaves, *msgs, *msgs]
    idx = [0] * len(leaves) + [len(r) + int(rng.integers(3)) for r in rows]
    idx += [int(rng.integers(len(r))) for r in rows]
    vals, errs = harness.call("tryAt", probe, idx)
    for leaf, i, v, g in zip(probe, idx, vals, harness.errors(errs), strict=True):
        shape_err = expect_leaf(leaf)
        if shape_err is not None and shape_err[0] != "NonCanonicalLeaf":
            assert g == shape_err  # at() checks the shape, not canonicity
            continue
        n = (len(leaf) - 1) // (4 if leaf[0] == 2 else 8)
        if i >= n:
            assert g == ("IndexOutOfRow", (i, n))
        else:
            dtype = ">i4" if leaf[0] == 2 else ">i8"
            assert g is None and v == int(np.frombuffer(leaf[1:], dtype=dtype)[i])


def test_empty_rows_and_messages(harness: Harness) -> None:
    # A width-0 row is a lone prefix: narrow (vacuously every value fits int32), so a lone
    # 0x00 is non-canonical; an empty message has no prefix at all.
    assert bytes(harness.call("hash", b"\x02")) == leaf_hash(np.zeros(0, np.int64))
    assert harness.call("count", b"\x02") == 0 == harness.call("count", b"\x00")
    got = harness.errors(harness.call("tryCanonical", [b"\x02", b"\x00", b"", b"\x01"]))
    assert got == [None, ("NonCanonicalLeaf", ()), ("BadLeaf", (0,)), ("UnknownPrefix", (1,))]
    t = Tensor(np.zeros((3, 0), np.int64), MerkleTree.from_tensor(np.zeros((3, 0), np.int64)))
    widths = _check_rows(harness, [t.case(i) for i in range(3)])
    assert widths == [0, 0, 0]
    with pytest.raises(ContractRevert) as exc:
        harness.call("at", b"\x02", 0)
    assert exc.value.name == "IndexOutOfRow" and exc.value.error_args == (0, 0)


# ---- tests: Merkle primitives ----


def test_node_zero_hash_and_depth(harness: Harness) -> None:
    rng = np.random.default_rng(7)
    ls = [rng.bytes(32) for _ in range(64)] + [ZERO]
    rs = [rng.bytes(32) for _ in range(64)] + [ZERO]
    assert [bytes(x) for x in harness.call("nodes", ls, rs)] == list(map(node_hash, ls, rs))
    assert [bytes(x) for x in harness.call("zeroHashes", 64)] == [zero_hash(k) for k in range(65)]
    ns = [*range(0, 300), *(2**k + d for k in range(2, 256) for d in (-1, 0, 1)), 2**256 - 1]
    assert list(harness.call("depths", ns)) == [depth_for(n) for n in ns]


def test_root_index_bound(harness: Harness) -> None:
    rng = np.random.default_rng(8)
    leaf = rng.bytes(32)
    for depth, index in [(0, 1), (3, 8), (3, 2**200), (255, 2**255)]:
        proof = [rng.bytes(32) for _ in range(depth)]
        with pytest.raises(ContractRevert) as exc:
            harness.call("root", leaf, index, proof)
        assert (exc.value.name, exc.value.error_args) == ("BadProof", (index,))
    # 256 levels take every uint256 index; the fold agrees with Python's.
    proof = [rng.bytes(32) for _ in range(256)]
    index = 2**256 - 1 - 2**77
    want = leaf
    for k, s in enumerate(proof):
        want = node_hash(s, want) if (index >> k) & 1 else node_hash(want, s)
    assert bytes(harness.call("root", leaf, index, proof)) == want
    assert verify_proof(leaf, index, proof, want)
    assert bytes(harness.call("root", leaf, 0, [])) == leaf  # depth 0: the root is the leaf


# ---- tests: tensor proofs ----

TENSOR = st.tuples(st.integers(1, 40), st.integers(1, 12), st.sampled_from([0.0, 0.3, 1.0]), SEEDS)


@_settings(20)
@given(shapes=st.lists(TENSOR, min_size=4, max_size=8), seed=SEEDS)
def test_tensor_proofs(harness: Harness, shapes: list[Any], seed: int) -> None:
    rng = np.random.default_rng(seed)
    tensors = [Tensor.random(*s) for s in shapes]
    for t in tensors:
        assert t.tree.root == tensor_root(t.rows)
    honest = [t.case(i) for t in tensors for i in range(t.n)]
    tampered = [c for t in tensors for c in tampered_rows(t, rng)]
    widths = _check_rows(harness, honest + tampered)
    assert widths[: len(honest)] == [t.rows.shape[1] for t in tensors for _ in range(t.n)]
    # Merkle.root of every honest opening is the tree's root.
    got = harness.call(
        "roots",
        [keccak(c.leaf) for c in honest],
        [c.row for c in honest],
        [c.proof for c in honest],
    )
    assert [bytes(g) for g in got] == [c.root for c in honest]
    # Padding leaves do verify as bytes32(0) leaves: only verifyRow's row < nRows stops them.
    pads = [(t, j) for t in tensors for j in range(t.n, 1 << t.tree.depth)]
    if pads:
        errs = harness.call(
            "tryVerify",
            [t.tree.root for t, _ in pads],
            [ZERO] * len(pads),
            [j for _, j in pads],
            [t.tree.proof(j) for t, j in pads],
        )
        assert harness.errors(errs) == [None] * len(pads)


def test_one_row_tree_has_depth_zero(harness: Harness) -> None:
    t = Tensor.random(1, 5, 0.5, 3)
    assert t.tree.depth == 0 and t.tree.root == leaf_hash(t.rows[0])
    bad = RowCase(t.tree.root, message(t.rows[0]), 0, 1, [ZERO], aim="WrongDepth")
    _check_rows(harness, [t.case(0), bad, RowCase(ZERO, bad.leaf, 0, 1, [], aim="BadProof")])


# ---- tests: checkpoints ----


@dataclass
class SlotCase:
    cp: bytes
    slot_root: bytes
    slot: int
    n_slots: int
    proof: list[bytes]
    aim: str | None = None

    def abi(self) -> tuple[Any, ...]:
        return (self.cp, self.slot_root, self.slot, self.n_slots, self.proof)

    def expect(self) -> Expect:
        return expect_slot(self.cp, self.slot_root, self.slot, self.n_slots, self.proof)


def checkpoint_cases(n_slots: int, seed: int) -> list[SlotCase]:
    rng = np.random.default_rng(seed)
    n_filled = int(rng.integers(0, n_slots + 1))
    roots = [rng.bytes(32) for _ in range(n_filled)]
    tree = MerkleTree.from_leaves(roots, n_slots=n_slots)
    cp = checkpoint_root(roots, n_slots)
    assert tree.root == cp and tree.proof(0) == checkpoint_proof(roots, n_slots, 0)
    picks = {0, n_slots - 1, min(n_filled, n_slots - 1), *rng.integers(0, n_slots, 25).tolist()}
    cases = []
    for j in sorted(picks):
        slot_root = roots[j] if j < n_filled else ZERO
        good = SlotCase(cp, slot_root, j, n_slots, tree.proof(j))
        cases.append(good)

        def aimed(aim: str, good: SlotCase = good, **kw: Any) -> SlotCase:
            return SlotCase(**{**good.__dict__, **kw, "aim": aim})

        cases.append(aimed("BadProof", slot_root=_flip(slot_root, int(rng.integers(256)))))
        cases.append(aimed("SlotOutOfRange", slot=n_slots + j))
        cases.append(aimed("WrongDepth", proof=[*good.proof, rng.bytes(32)]))
        if good.proof:
            wrong = list(good.proof)
            k = int(rng.integers(len(wrong)))
            wrong[k] = _flip(wrong[k], int(rng.integers(256)))
            cases.append(aimed("BadProof", proof=wrong))
            cases.append(aimed("WrongDepth", proof=good.proof[:-1]))
        if n_slots >= 2:
            other = int((j + rng.integers(1, n_slots)) % n_slots)
            if not verify_proof(slot_root, other, good.proof, cp):  # zero slots are symmetric
                cases.append(aimed("BadProof", slot=other))
    if n_slots < 1 << tree.depth:  # a padding slot past n_slots is provable but out of range
        j = int(rng.integers(n_slots, 1 << tree.depth))
        cases.append(SlotCase(cp, ZERO, j, n_slots, tree.proof(j), aim="SlotOutOfRange"))
    return cases


@_settings(20)
@given(cps=st.lists(st.tuples(st.integers(1, 300), SEEDS), min_size=3, max_size=6))
def test_checkpoint_proofs(harness: Harness, cps: list[tuple[int, int]]) -> None:
    cases = [c for n, seed in cps for c in checkpoint_cases(n, seed)]
    got = harness.errors(harness.call("trySlots", [c.abi() for c in cases]))
    for c, g in zip(cases, got, strict=True):
        want = c.expect()
        assert g == want, (c.aim, c.slot, c.n_slots, len(c.proof))
        if c.aim is not None:
            assert want is not None and want[0] == c.aim, (c.aim, want)


# ---- gas ----


def test_gas(harness: Harness, capsys: pytest.CaptureFixture[str]) -> None:
    """eth_estimateGas of one verifyRow (1536-value narrow row, depth 7) and of the canonical
    check alone, plus the library's own execution gas (gasleft deltas, no calldata cost)."""
    rng = np.random.default_rng(11)
    rows = rng.integers(I32_MIN, I32_MAX + 1, (100, 1536)).astype(np.int64)
    tree = MerkleTree.from_tensor(rows)
    assert tree.depth == 7
    row = 37
    args = (tree.root, message(rows[row]), row, 100, tree.proof(row))
    fns = harness.c.functions
    est_row = fns.verifyRow(*args).estimate_gas()
    exec_row = harness.call("gasVerifyRow", *args)
    narrow = message(rows[row])
    worst = rows[row].copy()
    worst[-1] = 2**40  # the only wide value is the last: the scan reads the whole row
    wide = wide_message(worst)
    est_narrow = fns.checkCanonical(narrow).estimate_gas()
    est_wide = fns.checkCanonical(wide).estimate_gas()
    exec_narrow = harness.call("gasCheckCanonical", narrow)
    exec_wide = harness.call("gasCheckCanonical", wide)
    with capsys.disabled():
        print(
            f"\nverifyRow 1536 narrow, depth 7: estimateGas {est_row}, library exec {exec_row}"
            f"\ncheckCanonical 1536 narrow: estimateGas {est_narrow}, library exec {exec_narrow}"
            f"\ncheckCanonical 1536 wide (worst case): estimateGas {est_wide}, "
            f"library exec {exec_wide}"
        )
    assert exec_row < 10_000 and exec_narrow < 1_000 and exec_wide < 20_000
    assert est_row < 300_000
