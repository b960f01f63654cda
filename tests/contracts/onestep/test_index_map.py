"""IndexMap.sol (one-step verifier index mapping) against operands_for, the executor and NumPy.

Every differential test maps ALL elements of one small output tensor in one harness call and
checks each source index three ways: `disputes.tracing.operands.operands_for` (the Python twin), the
executor's own kernel applied to arange operands (the value at an output element is the flat
position it was copied from) and, where the lowering normalized ONNX params, NumPy on the raw
params.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from web3 import Web3
from web3.contract import Contract

import disputes.execution.ops.shape  # noqa: F401  (registers the data-movement kernels)
from contracts.bindings import call, deploy
from contracts.compiler import compile_files
from contracts.errors import ContractRevert
from contracts.reverts import error_table
from disputes.errors import ExecutionInputError
from disputes.execution.ops.base import KERNELS, Ctx
from disputes.program.ir import InputSpec, Program, Step
from disputes.tracing.operands import Operand, operands_for
from tests.contracts.conftest import Env

ROOT = Path(__file__).resolve().parents[3]
LIB = ROOT / "contracts" / "src" / "onestep" / "IndexMap.sol"
HARNESS = ROOT / "contracts" / "test" / "IndexMapHarness.sol"
MAX_ELEMS = 360  # output elements per harness call: keeps one eth_call well under its gas cap
MAX_RANK = 8

Index = tuple[int, ...]
Shape = tuple[int, ...]
I64 = NDArray[np.int64]
FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])


@dataclass(frozen=True)
class Harness:
    contract: Contract
    table: dict[bytes, Any]

    def call(self, name: str, *args: Any) -> Any:
        fn = getattr(self.contract.functions, name)(*args)
        return call(fn.call, self.table, name)

    def reverts(self, name: str, *args: Any) -> ContractRevert:
        with pytest.raises(ContractRevert) as info:
            self.call(name, *args)
        return info.value


@pytest.fixture(scope="module")
def harness(chain_env: Env) -> Harness:
    art = compile_files([HARNESS], [LIB])["IndexMapHarness"]
    address = deploy(chain_env.w3, chain_env.deployer, art)
    contract = chain_env.w3.eth.contract(address=Web3.to_checksum_address(address), abi=art.abi)
    return Harness(contract, error_table(art.abi))


# ---------------------------------------------------------------- oracles


def arange(shape: Shape) -> I64:
    return np.arange(math.prod(shape), dtype=np.int64).reshape(shape)


def unravel_values(values: I64, src: Shape) -> list[Index]:
    """Flat source positions (what arange operands leave in an output) as source indices."""
    return [tuple(int(k) for k in np.unravel_index(int(v), src)) for v in values.reshape(-1)]


def run_kernel(step: Step, ops: list[I64]) -> I64:
    """The executor's kernel for ``step`` (NumPy path, no C kernels)."""
    return KERNELS[step.kind](step, ops, Ctx(fast=False))


def program(in_shapes: list[Shape], step: Step) -> Program:
    """A one-step program whose inputs are slots 0.. with the given shapes."""
    return Program(
        inputs=[InputSpec(f"x{i}", s, "int", 0) for i, s in enumerate(in_shapes)],
        weights=[],
        weight_scales=[],
        steps=[step],
        output_slot=len(in_shapes),
        output_name="y",
        config={},
    )


def oracle(
    in_shapes: list[Shape], step: Step, value_of: Callable[[int, Index], int] | None = None
) -> list[list[Operand]]:
    """operands_for of every output element, row-major."""
    prog = program(in_shapes, step)
    return [operands_for(prog, 0, el, value_of) for el in np.ndindex(step.shape)]


def single(ops: list[Operand], k: int = 0) -> Index:
    """The one element operand k contributes (data movement / elementwise)."""
    (el,) = ops[k].elements
    return el


def tuples(rows: list[list[int]]) -> list[Index]:
    return [tuple(int(v) for v in r) for r in rows]


def cells(shape: Shape) -> list[Index]:
    return list(np.ndindex(shape))


# ---------------------------------------------------------------- strategies


@st.composite
def shapes(
    draw: st.DrawFn, min_rank: int = 0, max_rank: int = 5, max_dim: int = 6, budget: int = MAX_ELEMS
) -> Shape:
    """Rank min..max, dims 1..max_dim, at most ``budget`` elements (any axis may be the big one)."""
    rank = draw(st.integers(min_rank, max_rank))
    dims: list[int] = []
    for _ in range(rank):
        dims.append(draw(st.integers(1, max(1, min(max_dim, budget // math.prod(dims))))))
    return tuple(draw(st.permutations(dims)))


@st.composite
def broadcast_operand(draw: st.DrawFn, out: Shape) -> Shape:
    """An operand that broadcasts to ``out``: leading axes dropped, some axes set to 1."""
    drop = draw(st.integers(0, len(out)))
    return tuple(1 if draw(st.booleans()) else d for d in out[drop:])


def prime_factors(n: int) -> list[int]:
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return out


@st.composite
def reshape_pair(draw: st.DrawFn) -> tuple[Shape, Shape]:
    """(operand shape, output shape) with the same element count."""
    src = draw(shapes())
    factors = prime_factors(math.prod(src))
    rank = draw(st.integers(1 if factors else 0, 5))
    dims = [1] * rank
    for f in factors:
        dims[draw(st.integers(0, rank - 1))] *= f
    return src, tuple(dims)


bound = st.none() | st.integers(-8, 8)
step_of = st.none() | st.integers(-3, 3).filter(lambda s: s != 0)


# ---------------------------------------------------------------- helpers: ravel, rows


@FAST
@given(shape=shapes(max_rank=6))
def test_unravel_ravel_rows(harness: Harness, shape: Shape) -> None:
    idx = tuples(harness.call("unravelAll", list(shape)))
    assert idx == cells(shape)
    flats, rows, cols = harness.call("locateAll", [list(e) for e in idx], list(shape))
    assert flats == list(range(math.prod(shape)))
    # Operand.rows is the Python definition of a Merkle leaf number.
    assert rows == [Operand(0, shape, (e,)).rows[0] for e in idx]
    assert cols == [e[-1] if e else 0 for e in idx]


# ---------------------------------------------------------------- elementwise / expand / copy


@FAST
@given(data=st.data(), out=shapes())
def test_broadcast(harness: Harness, data: st.DataObject, out: Shape) -> None:
    n_ops = data.draw(st.integers(1, 3))
    ins = [data.draw(broadcast_operand(out)) for _ in range(n_ops)]
    kind = {1: "relu", 2: "add", 3: "where"}[n_ops]
    step = Step(kind, tuple(range(n_ops)), out, 0)
    want = oracle(ins, step)
    for k, s in enumerate(ins):
        got = tuples(harness.call("broadcastAll", list(out), list(s)))
        assert got == [single(ops, k) for ops in want]
        assert got == unravel_values(np.broadcast_to(arange(s), out), s)


@FAST
@given(data=st.data(), out=shapes())
def test_expand(harness: Harness, data: st.DataObject, out: Shape) -> None:
    src = data.draw(broadcast_operand(out))
    step = Step("expand", (0,), out, 0)
    got = tuples(harness.call("expandAll", list(out), list(src)))
    assert got == [single(ops) for ops in oracle([src], step)]
    assert got == unravel_values(run_kernel(step, [arange(src)]), src)


@FAST
@given(shape=shapes())
def test_copy(harness: Harness, shape: Shape) -> None:
    step = Step("copy", (0,), shape, 0)
    got = tuples(harness.call("copyAll", list(shape)))
    assert got == [single(ops) for ops in oracle([shape], step)]
    assert got == unravel_values(run_kernel(step, [arange(shape)]), shape)


# ---------------------------------------------------------------- reshape / transpose


@FAST
@given(pair=reshape_pair())
def test_reshape(harness: Harness, pair: tuple[Shape, Shape]) -> None:
    src, out = pair
    step = Step("reshape", (0,), out, 0)
    got = tuples(harness.call("reshapeAll", list(out), list(src)))
    assert got == [single(ops) for ops in oracle([src], step)]
    assert got == unravel_values(run_kernel(step, [arange(src)]), src)


@FAST
@given(data=st.data(), src=shapes())
def test_transpose(harness: Harness, data: st.DataObject, src: Shape) -> None:
    perm = tuple(data.draw(st.permutations(range(len(src)))))
    out = tuple(src[p] for p in perm)
    step = Step("transpose", (0,), out, 0, (("perm", perm),))
    got = tuples(harness.call("transposeAll", list(out), list(perm)))
    assert got == [single(ops) for ops in oracle([src], step)]
    assert got == unravel_values(run_kernel(step, [arange(src)]), src)
    assert got == unravel_values(np.transpose(arange(src), perm), src)


# ---------------------------------------------------------------- slice


@FAST
@given(data=st.data(), src=shapes())
def test_slice(harness: Harness, data: st.DataObject, src: Shape) -> None:
    raw = [slice(data.draw(bound), data.draw(bound), data.draw(step_of)) for _ in src]
    # What lower_shape._slice stores: Python's normalization of each (start, stop, step).
    flat: list[int] = []
    for piece, n in zip(raw, src, strict=True):
        flat += list(piece.indices(n))
    expected = arange(src)[tuple(raw)]
    out = tuple(expected.shape)
    step = Step("slice", (0,), out, 0, (("slices", tuple(flat)),))
    got = tuples(harness.call("sliceAll", list(out), flat))
    assert got == [single(ops) for ops in oracle([src], step)]
    assert got == unravel_values(expected, src)  # the un-normalized NumPy slice
    if expected.size:
        # Only for non-empty outputs: an empty negative-step slice is normalized to start -1,
        # which the executor reads as "the last element" (e.g. x[-9::-1] on 3 elements gives
        # 3 elements, not the committed 0); there is no element to map either way.
        assert got == unravel_values(run_kernel(step, [arange(src)]), src)
    if got:  # the (starts, steps) form reads the same
        last = list(got[-1])
        one = harness.call("sliceOne", [n - 1 for n in out], flat[0::3], flat[2::3])
        assert one == last


# ---------------------------------------------------------------- gather / embed


@FAST
@given(data=st.data(), src=shapes(min_rank=1, max_rank=4, budget=120))
def test_gather(harness: Harness, data: st.DataObject, src: Shape) -> None:
    axis = data.draw(st.integers(0, len(src) - 1))
    ishape = data.draw(shapes(max_rank=2, max_dim=3))
    n = src[axis]
    raw = np.array(
        data.draw(st.lists(st.integers(-n, n - 1), min_size=math.prod(ishape), max_size=9)),
        dtype=np.int64,
    )[: math.prod(ishape)].reshape(ishape)  # repeats and negatives (ONNX allows both)
    ii = np.where(raw < 0, raw + n, raw)  # what lower_shape._gather stores
    out = (*src[:axis], *ishape, *src[axis + 1 :])
    assume(math.prod(out) <= MAX_ELEMS)
    params = (("axis", axis), ("indices", tuple(int(v) for v in ii.reshape(-1))))
    step = Step("gather", (0,), out, 0, (*params, ("indices_shape", ishape)))
    got = tuples(harness.call("gatherAll", list(out), axis, list(params[1][1]), list(ishape)))
    assert got == [single(ops) for ops in oracle([src], step)]
    assert got == unravel_values(run_kernel(step, [arange(src)]), src)
    assert got == unravel_values(np.take(arange(src), raw, axis=axis), src)


def _ids_lookup(ids: I64) -> Callable[[int, Index], int]:
    def value_of(slot: int, idx: Index) -> int:
        assert slot == 1
        return int(ids[idx])

    return value_of


@FAST
@given(data=st.data(), ishape=shapes(max_rank=3, max_dim=4))
def test_embed_2d_table(harness: Harness, data: st.DataObject, ishape: Shape) -> None:
    rows, width = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6))
    assume(math.prod(ishape) * width <= MAX_ELEMS)
    ids = np.array(
        data.draw(st.lists(st.integers(0, rows - 1), min_size=64, max_size=64)), dtype=np.int64
    )[: math.prod(ishape)].reshape(ishape)
    table = (rows, width)
    out = (*ishape, width)
    step = Step("embed", (0, 1), out, 0)
    ids_idx, tab_idx = harness.call(
        "embedAll", list(out), len(ishape), [int(v) for v in ids.reshape(-1)], rows
    )
    ids_idx, tab_idx = tuples(ids_idx), tuples(tab_idx)
    want = oracle([table, ishape], step, _ids_lookup(ids))
    for el, ops, got_ids, got_tab in zip(cells(out), want, ids_idx, tab_idx, strict=True):
        assert got_ids == single(ops, 1)
        # operands_for names the whole table row (one leaf); the element read is its column.
        assert got_tab in ops[0].elements and got_tab == (int(ids[el[:-1]]), el[-1])
        assert ops[0].rows == (Operand(0, table, (got_tab,)).rows[0],)
    assert tab_idx == unravel_values(run_kernel(step, [arange(table), ids]), table)


@FAST
@given(data=st.data(), ishape=shapes(max_rank=2, max_dim=4), trail=shapes(max_rank=2, max_dim=3))
def test_embed_any_table_rank(
    harness: Harness, data: st.DataObject, ishape: Shape, trail: Shape
) -> None:
    # operands_for assumes a 2-d table; the executor (table[ids]) takes any rank, so only it
    # is the oracle for 1-d and 3-d+ tables.
    rows = data.draw(st.integers(1, 6))
    table = (rows, *trail)
    out = (*ishape, *trail)
    assume(math.prod(out) <= MAX_ELEMS)
    ids = np.array(
        data.draw(st.lists(st.integers(0, rows - 1), min_size=16, max_size=16)), dtype=np.int64
    )[: math.prod(ishape)].reshape(ishape)
    ids_idx, tab_idx = harness.call(
        "embedAll", list(out), len(ishape), [int(v) for v in ids.reshape(-1)], rows
    )
    assert tuples(ids_idx) == [el[: len(ishape)] for el in cells(out)]
    step = Step("embed", (0, 1), out, 0)
    assert tuples(tab_idx) == unravel_values(run_kernel(step, [arange(table), ids]), table)


@pytest.mark.parametrize("bad", [-1, 3, 2**63 - 1, -(2**255)])
def test_embed_id_out_of_range(harness: Harness, bad: int) -> None:
    err = harness.reverts("embedOne", [0, 1], 1, bad, 3)
    assert (err.name, err.error_args) == ("IdOutOfRange", (bad, 3))
    if abs(bad) >= 2**63:
        return  # no int64 tensor holds it; the single-element call above covered it
    # The executor refuses the same ids; the batch reverts on them with the same error.
    ids = np.array([[0, 2], [bad, 1]], dtype=np.int64)
    with pytest.raises(ExecutionInputError):
        run_kernel(Step("embed", (0, 1), (2, 2, 4), 0), [arange((3, 4)), ids])
    err = harness.reverts("embedAll", [2, 2, 4], 2, [int(v) for v in ids.reshape(-1)], 3)
    assert (err.name, err.error_args) == ("IdOutOfRange", (bad, 3))


# ---------------------------------------------------------------- concat


@FAST
@given(data=st.data(), base=shapes(min_rank=1, max_rank=4, budget=60))
def test_concat(harness: Harness, data: st.DataObject, base: Shape) -> None:
    axis = data.draw(st.integers(0, len(base) - 1))
    sizes = data.draw(st.lists(st.integers(0, 4), min_size=2, max_size=4))
    assume(sum(sizes) > 0)
    ins = [(*base[:axis], s, *base[axis + 1 :]) for s in sizes]
    out = (*base[:axis], sum(sizes), *base[axis + 1 :])
    assume(math.prod(out) <= MAX_ELEMS)
    step = Step("concat", tuple(range(len(ins))), out, 0, (("axis", axis),))
    which, src = harness.call("concatAll", list(out), axis, sizes)
    got = list(zip(which, tuples(src), strict=True))
    # operands_for: exactly one operand has the element, the others contribute nothing.
    want = []
    for ops in oracle(ins, step):
        (k,) = [k for k, op in enumerate(ops) if op.elements]
        want.append((k, single(ops, k)))
    assert got == want
    # Executor: operand j holds offset_j + its flat positions, so each value names its source.
    offsets = np.cumsum([0, *(math.prod(s) for s in ins)])
    values = run_kernel(step, [arange(s) + offsets[j] for j, s in enumerate(ins)]).reshape(-1)
    owners = np.searchsorted(offsets, values, side="right") - 1
    from_exec = [
        (int(j), tuple(int(i) for i in np.unravel_index(int(v - offsets[j]), ins[j])))
        for j, v in zip(owners, values, strict=True)
    ]
    assert got == from_exec


# ---------------------------------------------------------------- named reverts

REVERTS: list[tuple[str, tuple[Any, ...], str, tuple[Any, ...]]] = [
    ("checkIndex", ([2, 0], [2, 3]), "IndexOutOfRange", (0, 2, 2)),
    ("checkIndex", ([0], [2, 3]), "RankMismatch", (1, 2)),
    ("checkIndex", ([0] * 9, [1] * 9), "RankTooLarge", (9, MAX_RANK)),
    ("unravel", (6, [2, 3]), "FlatOutOfRange", (6, 6)),
    ("ravel", ([0, 3], [2, 3]), "IndexOutOfRange", (1, 3, 3)),
    ("rowOf", ([1, 0, 4], [2, 3, 4]), "IndexOutOfRange", (2, 4, 4)),
    ("broadcastOne", ([0, 1], [2, 3], [2]), "NotBroadcastable", (0, 2, 3)),
    ("broadcastOne", ([0], [3], [1, 3]), "OperandRankTooLarge", (2, 1)),
    ("reshapeOne", ([0], [6], [2, 2]), "SizeMismatch", (6, 4)),
    ("transposeOne", ([0, 0], [2, 2], [0, 0]), "BadPerm", (1, 0)),
    ("transposeOne", ([0, 0], [2, 2], [0, 2]), "BadPerm", (1, 2)),
    ("transposeOne", ([0, 0], [2, 2], [0]), "RankMismatch", (1, 2)),
    ("sliceOne", ([1], [0], [0]), "ZeroStep", (0,)),
    ("sliceOne", ([0], [-1], [1]), "NegativeSource", (0, -1)),
    ("sliceOne", ([3], [2], [-1]), "NegativeSource", (0, -1)),
    ("sliceOne", ([0, 0], [0], [1]), "RankMismatch", (1, 2)),
    ("gatherOne", ([0, 0], 0, [1, 2], [3]), "GatherIndicesSize", (2, 3)),
    ("gatherOne", ([1, 0], 0, [1, -2], [2]), "NegativeGatherIndex", (1, -2)),
    ("gatherOne", ([0, 0], 1, [0, 0, 0, 0], [2, 2]), "GatherAxisOutOfRange", (1, 2, 2)),
    ("gatherOne", ([0, 2], 1, [0, 1], [2]), "IndexOutOfRange", (0, 2, 2)),
    ("embedOne", ([0, 0], 3, 0, 4), "IdsRankTooLarge", (3, 2)),
    ("concatOne", ([0, 5], 1, [2, 3]), "ConcatOutOfRange", (5, 5)),
    ("concatOne", ([0, 0], 2, [2, 3]), "AxisOutOfRange", (2, 2)),
]


@pytest.mark.parametrize(("fn", "args", "name", "error_args"), REVERTS)
def test_named_reverts(
    harness: Harness, fn: str, args: tuple[Any, ...], name: str, error_args: tuple[Any, ...]
) -> None:
    err = harness.reverts(fn, *args)
    assert (err.name, err.error_args) == (name, error_args)


def test_scalars_and_single_elements(harness: Harness) -> None:
    # 0-d tensors: one element, index (), row 0; reshape to and from them.
    assert harness.call("unravelAll", []) == [[]]
    assert harness.call("rowOf", [], []) == 0 and harness.call("ravel", [], []) == 0
    assert harness.call("reshapeOne", [], [], [1, 1]) == [0, 0]
    assert harness.call("reshapeOne", [0, 0, 0], [1, 1, 1], []) == []
    # gather with a 0-d index drops the axis; the constant index replaces it.
    assert harness.call("gatherOne", [1, 2], 1, [4], []) == [1, 4, 2]
    # concat skips size-0 operands: position 0 on the axis belongs to operand 1 here.
    assert harness.call("concatOne", [3, 0], 1, [0, 2, 1]) == [1, [3, 0]]
