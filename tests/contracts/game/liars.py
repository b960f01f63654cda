"""Strategies for tests: a challenger that lies at its moves, a party that stalls in a phase."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contracts.game_client import Phase
from disputes.game.local import Strategy
from disputes.game.solver import GameState, Move, element_of
from disputes.osp.osp import one_step_proof
from disputes.tracing.trace import Trace

Index = Callable[[GameState], int]


def first(state: GameState) -> int:
    return 0


def last(state: GameState) -> int:
    return len(state.posted) if state.info.phase == Phase.CHOOSE else len(state.posted) - 1


def flip(leaf: bytes) -> bytes:
    return leaf[:-1] + bytes([leaf[-1] ^ 1])


def bogus(proof: tuple[Any, ...]) -> tuple[Any, ...]:
    """The proof with its first opened operand row's last byte flipped (BadProof)."""
    slots = [[s[0], s[1], list(s[2]), [list(r) for r in s[3]]] for s in proof[3]]
    slots[0][3][0][1] = flip(slots[0][3][0][1])
    return (proof[0], proof[1], proof[2], slots, proof[4])


def liar(trace: Trace, choose: Index = first, pick: Index = first, forge: bool = False) -> Strategy:
    """A challenger against a true claim: picks by `choose` / `pick` whatever was posted, and
    at the end proves element (row, 0) honestly (the verifier agrees with the asserter) or,
    with `forge`, sends a tampered proof (which reverts, so the challenger runs out of time)."""

    def strategy(state: GameState) -> Move | None:
        g, gid = state.info, state.game_id
        if g.phase == Phase.CHOOSE:
            return Move("choose", (gid, choose(state), list(state.posted)))
        if g.phase == Phase.PICK:
            return Move("pickNode", (gid, pick(state), list(state.posted)))
        element = element_of(trace.program.steps[g.lo].shape, g.index, 0)
        proof = one_step_proof(trace, g.lo, element).proof
        return Move("proveElement", (gid, state.row, bogus(proof) if forge else proof))

    return strategy


def stall_at(phase: Phase, strategy: Strategy) -> Strategy:
    """`strategy`, except that it makes no move in `phase` (so its deadline passes)."""
    return lambda state: None if state.info.phase == phase else strategy(state)
