"""The pure solver: positions, and each party's move from a view and a game state."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from contracts.game_client import GameInfo, Phase
from disputes.game.encoding import leaf_values
from disputes.game.solver import (
    GameState,
    Move,
    Role,
    element_of,
    levels,
    next_move,
    positions,
    role_to_move,
)
from disputes.game.view import CorruptStep, TraceView
from disputes.program.ir import Program
from disputes.tracing.trace import Trace, trace
from tests.disputes.tiny import tiny_input

N = 43


@pytest.fixture(scope="module")
def tr(tiny_program: Program) -> Trace:
    return trace(tiny_program, {"x": tiny_input()})


def _info(phase: Phase, **kw: object) -> GameInfo:
    base: dict[str, object] = dict(
        game_id=1, request_id=1, asserter="0xA", phase=phase, deadline=0, challenger="0xC",
        lo=0, hi=N, n_steps=N, bond=0, program_root=b"", lo_root=b"", hi_root=b"", posted=b"",
        node=b"", index=0, left=0, n_rows=0, width=0, first_step=22,
    )  # fmt: skip
    base.update(kw)
    return GameInfo(**base)  # type: ignore[arg-type]


def test_positions_cut_every_range_into_non_empty_parts() -> None:
    assert positions(0, 10, 4) == [0, 2, 5, 7, 10]
    assert positions(5, 7, 16) == [5, 6, 7]
    for lo, hi, k in [(0, 43, 16), (3, 1000, 2), (10, 75, 64), (0, 1, 16)]:
        p = positions(lo, hi, k)
        assert p[0] == lo and p[-1] == hi and len(p) == min(k, hi - lo) + 1
        assert all(b > a for a, b in pairwise(p))
    assert [levels(left, 16) for left in (0, 1, 4, 9)] == [0, 1, 4, 4]


def test_element_of_unflattens_leading_axes() -> None:
    assert element_of((), 0, 0) == ()
    assert element_of((7,), 0, 3) == (3,)
    shape = (2, 3, 4, 5)
    for row in range(24):
        el = element_of(shape, row, 4)
        assert int(np.ravel_multi_index(el[:-1], shape[:-1])) == row and el[-1] == 4


def test_whose_move_it_is() -> None:
    assert role_to_move(Phase.DISSECT) == Role.ASSERTER
    assert role_to_move(Phase.PICK) == Role.CHALLENGER
    honest = TraceView.__new__(TraceView)  # never asked: nobody moves
    for phase in (Phase.NONE, Phase.RESOLVED, Phase.CANCELLED):
        for role in Role:
            assert next_move(role, GameState(1, _info(phase), 16), honest) is None
    assert next_move(Role.CHALLENGER, GameState(1, _info(Phase.DISSECT), 16), honest) is None


def test_the_dissection_moves(tr: Trace) -> None:
    bad, honest = CorruptStep(tr, 9, 2, 1, 4), TraceView(tr)
    state = GameState(1, _info(Phase.DISSECT, lo_root=bad.point(0), hi_root=bad.point(N)), 16)
    move = next_move(Role.ASSERTER, state, bad)
    pos = positions(0, N, 16)
    assert move == Move("bisect", (1, [bad.point(p) for p in pos[1:-1]]))
    posted = tuple(move.args[1])
    choosing = GameState(
        1, _info(Phase.CHOOSE, lo_root=bad.point(0), hi_root=bad.point(N)), 16, posted
    )
    pick = next_move(Role.CHALLENGER, choosing, honest, tr)
    j = next(i for i in range(16) if pos[i] <= 9 < pos[i + 1])  # the range holding step 9
    assert pick == Move("choose", (1, j, list(posted)))
    assert next_move(Role.CHALLENGER, choosing, bad, tr) is None  # it agrees with everything


def test_the_slot_proof_and_descent_moves(tr: Trace) -> None:
    bad, honest = CorruptStep(tr, 9, 5, 1, 4), TraceView(tr)
    st = GameState(1, _info(Phase.SLOT_PROOF, lo=9, hi=10), 16)
    move = next_move(Role.ASSERTER, st, bad)
    assert move is not None and move.fn == "proveSlot" and move.args[1:] == bad.slot_proof(9)
    reveal = GameState(1, _info(Phase.REVEAL, lo=9, hi=10, left=3), 16)
    nodes = next_move(Role.ASSERTER, reveal, bad)
    assert nodes == Move("revealNodes", (1, bad.nodes(9, 0, 3, 3)))
    picking = GameState(1, _info(Phase.PICK, lo=9, hi=10, left=3), 16, tuple(nodes.args[1]))
    assert next_move(Role.CHALLENGER, picking, honest, tr) == Move(
        "pickNode", (1, 5, nodes.args[1])
    )
    row = GameState(1, _info(Phase.ROW, lo=9, hi=10, index=5), 16)
    assert next_move(Role.ASSERTER, row, bad) == Move("revealRow", (1, bad.leaf(9, 5)))


def test_the_element_move_proves_the_first_wrong_value(tr: Trace) -> None:
    bad, honest = CorruptStep(tr, 9, 5, 11, -2), TraceView(tr)
    leaf = bad.leaf(9, 5)
    st = GameState(1, _info(Phase.ONE_STEP, lo=9, hi=10, index=5), 16, row=leaf)
    move = next_move(Role.CHALLENGER, st, honest)  # the trace comes from the view
    assert move is not None and move.fn == "proveElement" and move.args[1] == leaf
    element = move.args[2][2]
    assert element == [0, 5, 11]
    assert leaf_values(leaf)[11] == int(tr.tensor(9)[0, 5, 11]) - 2
    agreed = GameState(1, st.info, 16, row=honest.leaf(9, 5))
    assert next_move(Role.CHALLENGER, agreed, honest) is None
