"""The next move of a party in a DisputeGame, as a pure function of the game and a view.

This is the one entry point agents call; it never touches a chain::

    state = GameState(game_id, info, arity, posted=tuple(points_or_nodes), row=leaf)
    move = next_move(Role.CHALLENGER, state, TraceView(tr), tr)
    if move is not None:
        game_client.move(move.fn, move.args)      # fn is the contract function's name

``next_move(role, state, view, trace=None) -> Move | None`` returns None when it is not
``role``'s turn, the game is over, or the party has no move that can win (e.g. a challenger
that agrees with everything the asserter posted). ``state.posted`` is the vector of the
latest ``bisect`` (phase Choose) or ``revealNodes`` (phase Pick), rebuilt from the events
(``GameClient.points_of`` / ``nodes_of``); ``state.row`` the ``revealRow`` leaf (phase
OneStep). The challenger's element move needs the honest ``trace`` to build the one-step
proof; it defaults to ``view.trace``.

The strategies (docs/optimistic.md, "The game"):

- asserter: post its own points, slot proof, nodes and row from ``view``;
- challenger: pick the first sub-range whose end, the first node, and the first element of
  the row where its view disagrees with what the asserter posted. The first such sub-range
  has an end the challenger agrees with before it, which keeps the invariant the game needs:
  the challenger agrees with ``loRoot`` and disagrees with ``hiRoot``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from contracts.game_client import GameInfo, Phase
from disputes.game.encoding import leaf_values
from disputes.game.view import View
from disputes.osp.osp import one_step_proof
from disputes.tracing.trace import Trace


class Role(StrEnum):
    ASSERTER = "asserter"
    CHALLENGER = "challenger"


@dataclass(frozen=True)
class Move:
    """A contract call: the DisputeGame function's name and its arguments (game id first)."""

    fn: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class GameState:
    """What a party sees: the on-chain game, the arity, and the vectors posted in events."""

    game_id: int
    info: GameInfo
    arity: int
    posted: tuple[bytes, ...] = ()
    row: bytes = b""

    @property
    def step(self) -> int:
        """The disputed step, once the dissection is over (``lo``)."""
        return self.info.lo


def positions(lo: int, hi: int, k: int) -> list[int]:
    """p_j = lo + span·j/m, j = 0..m, m = min(k, span): ``positions(0, 10, 4) == [0, 2, 5, 7, 10]``.

    The same integer formula as ``GameMath.positions`` on-chain.
    """
    span = hi - lo
    m = min(k, span)
    return [lo + span * j // m for j in range(m + 1)]


def levels(left: int, k: int) -> int:
    """b = min(log2 k, left): how many tree levels one ``revealNodes`` spans."""
    return min(k.bit_length() - 1, left)


def element_of(shape: tuple[int, ...], row: int, col: int) -> tuple[int, ...]:
    """The multi-index of (row, col) in a tensor of ``shape`` (leading axes flattened)."""
    if not shape:
        return ()
    lead = np.unravel_index(row, shape[:-1]) if len(shape) > 1 else ()
    return (*(int(i) for i in lead), col)


def role_to_move(phase: Phase) -> Role:
    """Whose move it is in ``phase``."""
    return Role.CHALLENGER if phase.challenger_moves else Role.ASSERTER


def next_move(role: Role, state: GameState, view: View, trace: Trace | None = None) -> Move | None:
    """The move ``role`` should make now, or None (see the module docstring)."""
    phase = state.info.phase
    if phase.over or phase == Phase.NONE or role_to_move(phase) != role:
        return None
    if role == Role.ASSERTER:
        return asserter_move(state, view)
    return challenger_move(state, view, trace if trace is not None else _trace_of(view))


def _trace_of(view: View) -> Trace | None:
    tr = getattr(view, "trace", None)
    return tr if isinstance(tr, Trace) else None


def asserter_move(state: GameState, view: View) -> Move:
    """The asserter's answer in its phase (Dissect, SlotProof, Reveal or Row)."""
    g, gid = state.info, state.game_id
    if g.phase == Phase.DISSECT:
        points = [view.point(p) for p in positions(g.lo, g.hi, state.arity)[1:-1]]
        return Move("bisect", (gid, points))
    if g.phase == Phase.SLOT_PROOF:
        msg, proof, root, siblings = view.slot_proof(g.lo)
        return Move("proveSlot", (gid, msg, proof, root, siblings))
    if g.phase == Phase.REVEAL:
        nodes = view.nodes(g.lo, g.index, g.left, levels(g.left, state.arity))
        return Move("revealNodes", (gid, nodes))
    if g.phase == Phase.ROW:
        return Move("revealRow", (gid, view.leaf(g.lo, g.index)))
    raise ValueError(f"phase {g.phase.name} is not the asserter's")


def challenger_move(state: GameState, view: View, trace: Trace | None) -> Move | None:
    """The challenger's pick in its phase (Choose, Pick or OneStep); None if it agrees."""
    g = state.info
    if g.phase == Phase.CHOOSE:
        return _choose(state, view)
    if g.phase == Phase.PICK:
        return _pick(state, view)
    if g.phase == Phase.ONE_STEP:
        if trace is None:
            raise ValueError("the element move needs the honest trace for its one-step proof")
        return _element(state, view, trace)
    raise ValueError(f"phase {g.phase.name} is not the challenger's")


def _choose(state: GameState, view: View) -> Move | None:
    g = state.info
    pos = positions(g.lo, g.hi, state.arity)
    vec = [g.lo_root, *state.posted, g.hi_root]
    for j in range(len(pos) - 1):
        if view.point(pos[j + 1]) != vec[j + 1]:
            return Move("choose", (state.game_id, j, list(state.posted)))
    return None


def _pick(state: GameState, view: View) -> Move | None:
    g = state.info
    mine = view.nodes(g.lo, g.index, g.left, levels(g.left, state.arity))
    for j, (theirs, ours) in enumerate(zip(state.posted, mine, strict=True)):
        if theirs != ours:
            return Move("pickNode", (state.game_id, j, list(state.posted)))
    return None


def _element(state: GameState, view: View, trace: Trace) -> Move | None:
    g = state.info
    theirs = leaf_values(state.row)
    ours = [int(v) for v in view.rows(g.lo)[g.index]]
    col = next((c for c, (a, b) in enumerate(zip(theirs, ours, strict=True)) if a != b), None)
    if col is None:
        return None
    element = element_of(trace.program.steps[g.lo].shape, g.index, col)
    proof = one_step_proof(trace, g.lo, element)
    return Move("proveElement", (state.game_id, state.row, proof.proof))
