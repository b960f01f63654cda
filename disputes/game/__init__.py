"""The optimistic game's party logic: bytes for the contracts (``encoding``), what a party
answers from (``view``: the honest ``TraceView`` and the cheating views tests play), what a
claim of a view posts (``claims.claim_of``) and the pure move solver (``solver.next_move``).

Imports ``disputes.osp``, ``disputes.tracing``, ``disputes.commitments`` and the chain-free
mirrors of ``contracts.game_client`` (``Phase``, ``GameInfo``). Modules that talk to a chain
(``disputes.game.local``'s ``play_local``) are imported by name, not from here, so importing
this package never needs a node.

Example::

    from disputes.game import Role, GameState, TraceView, next_move
    move = next_move(Role.ASSERTER, state, TraceView(tr))
"""

from __future__ import annotations

from disputes.game.batch import Batch, BatchBuilder, Response, leaf_hash
from disputes.game.claims import TracedClaim, claim_of, request_input
from disputes.game.encoding import (
    input_bytes,
    input_roots,
    inputs_from_bytes,
    inputs_hash,
    leaf_values,
    output_bytes,
    start_hash,
)
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
from disputes.game.view import (
    CorruptOutput,
    CorruptStep,
    PaddingRow,
    TouchesEarlierSlot,
    TraceView,
    View,
    WideLeaf,
    WrongStepCount,
)

__all__ = [
    "Batch",
    "BatchBuilder",
    "CorruptOutput",
    "CorruptStep",
    "GameState",
    "Move",
    "PaddingRow",
    "Response",
    "Role",
    "TouchesEarlierSlot",
    "TraceView",
    "TracedClaim",
    "View",
    "WideLeaf",
    "WrongStepCount",
    "claim_of",
    "element_of",
    "input_bytes",
    "input_roots",
    "inputs_from_bytes",
    "inputs_hash",
    "leaf_hash",
    "leaf_values",
    "levels",
    "next_move",
    "output_bytes",
    "positions",
    "request_input",
    "role_to_move",
    "start_hash",
]
