"""The views: the honest one answers from the trace; each cheating view is self-consistent."""

from __future__ import annotations

import numpy as np
import pytest
from eth_hash.auto import keccak

from disputes.commitments import merkle
from disputes.game.view import (
    CorruptOutput,
    CorruptStep,
    PaddingRow,
    TouchesEarlierSlot,
    TraceView,
    WideLeaf,
    WrongStepCount,
)
from disputes.osp.osp import before
from disputes.program.ir import Program
from disputes.tracing.trace import Trace, trace
from tests.disputes.tiny import tiny_input

N = 43  # steps of the tiny block


@pytest.fixture(scope="module")
def tr(tiny_program: Program) -> Trace:
    return trace(tiny_program, {"x": tiny_input()})


def _fold(nodes: list[bytes]) -> bytes:
    while len(nodes) > 1:
        nodes = [merkle.node_hash(nodes[i], nodes[i + 1]) for i in range(0, len(nodes), 2)]
    return nodes[0]


def _slot_proof_holds(view: TraceView, s: int) -> bool:
    p = view.program
    msg, proof, root, sibs = view.slot_proof(s)
    slot = p.slot_of_step(s)
    step_ok = merkle.verify_proof(keccak(msg), s + 1, proof, p.program_root)
    lo = merkle.verify_proof(merkle.ZERO, slot, sibs, view.point(s))
    return step_ok and lo and merkle.verify_proof(root, slot, sibs, view.point(s + 1))


def test_the_honest_view_is_the_trace(tr: Trace) -> None:
    view = TraceView(tr)
    assert view.point(0) == before(tr, 0)
    assert [view.point(j) for j in range(1, N + 1)] == tr.checkpoints
    for s in (0, 9, 20, N - 1):
        assert _slot_proof_holds(view, s)
        assert view.slot_proof(s)[2] == tr.tensor_root(s)
        rows = merkle.as_rows(tr.tensor(s))
        assert view.leaf(s, 1) == merkle.leaf_message(rows[1])
        assert view.depth(s) == merkle.depth_for(len(rows))


def test_nodes_hash_up_to_their_parent(tr: Trace) -> None:
    view = TraceView(tr)
    s = 20  # (1, 2, 8, 8): 16 rows, depth 4
    tree = view.tree(s)
    assert _fold(view.nodes(s, 0, 4, 4)) == tree.root == tr.tensor_root(s)
    assert _fold(view.nodes(s, 3, 2, 2)) == tree.node(2, 3)
    leaves = view.nodes(s, 1, 2, 2)
    assert leaves == [keccak(view.leaf(s, r)) for r in range(4, 8)]


def test_a_corrupt_step_changes_its_row_and_every_later_point(tr: Trace) -> None:
    honest, bad = TraceView(tr), CorruptStep(tr, 9, row=2, col=5, delta=3)
    assert [bad.point(j) for j in range(10)] == [honest.point(j) for j in range(10)]
    assert all(bad.point(j) != honest.point(j) for j in range(10, N + 1))
    assert bad.rows(9)[2, 5] == honest.rows(9)[2, 5] + 3
    diff = [r for r in range(8) if bad.leaf(9, r) != honest.leaf(9, r)]
    assert diff == [2]
    assert bad.tree(10).root == honest.tree(10).root  # later tensors are the honest ones
    for s in (8, 9, 10, N - 1):
        assert _slot_proof_holds(bad, s), s
    out = CorruptOutput(tr)
    assert (
        out.step == N - 1
        and out.point(N) != honest.point(N)
        and out.point(N - 1) == honest.point(N - 1)
    )


def test_a_wide_leaf_has_the_right_values_under_another_root(tr: Trace) -> None:
    honest, bad = TraceView(tr), WideLeaf(tr, 9, 4)
    leaf = bad.leaf(9, 4)
    assert leaf[:1] == merkle.LEAF_PREFIX and len(leaf) == 1 + 8 * 16
    assert np.array_equal(np.frombuffer(leaf[1:], ">i8"), honest.rows(9)[4])
    assert bad.tree(9).root != honest.tree(9).root
    assert bad.tree(9).leaf(4) == keccak(leaf) and bad.tree(9).leaf(3) == honest.tree(9).leaf(3)
    assert _slot_proof_holds(bad, 9) and bad.point(N) != honest.point(N)


def test_a_padding_row_needs_padding(tr: Trace, tmp_path_factory: pytest.TempPathFactory) -> None:
    with pytest.raises(ValueError, match="power of two"):
        PaddingRow(tr, 9)
    from disputes.execution.executor import load_program
    from tests.disputes.game.programs import one_step_program

    p = load_program(one_step_program(tmp_path_factory.mktemp("one") / "one.onnx"))
    one = trace(p, {"x": np.ones((3, 5), dtype=np.float32)})
    honest, bad = TraceView(one), PaddingRow(one, 0)
    assert bad.tree(0).depth == honest.tree(0).depth == 2
    assert [bad.tree(0).leaf(r) for r in range(3)] == [honest.tree(0).leaf(r) for r in range(3)]
    assert bad.tree(0).leaf(3) != merkle.ZERO == honest.tree(0).leaf(3)
    assert _slot_proof_holds(bad, 0) and bad.point(1) != honest.point(1)


def test_touching_an_earlier_slot_breaks_the_slot_proof(tr: Trace) -> None:
    honest = TraceView(tr)
    for step in (0, 17):
        bad = TouchesEarlierSlot(tr, step)
        assert bad.point(step) == honest.point(step) and bad.point(step + 1) != honest.point(
            step + 1
        )
        assert not _slot_proof_holds(bad, step)


def test_a_wrong_step_count_repeats_the_last_point(tr: Trace) -> None:
    honest, bad = TraceView(tr), WrongStepCount(tr)
    assert bad.point(N) == honest.point(N - 1) != honest.point(N)
    assert bad.slot_proof(N - 1)[2] == merkle.ZERO
    assert _slot_proof_holds(bad, N - 1)  # the empty slot proves: the descent then fails
    assert bad.slot_proof(N - 2) == honest.slot_proof(N - 2)
