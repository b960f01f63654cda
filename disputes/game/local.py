"""Play one whole game on a chain between two strategies, recording every move and its gas.

A driver for tests and the bench, not an agent: no persistence, no resuming. When the party to
move has no move, or its move reverts (a cheater that cannot defend its claim), the clock is
moved past the deadline and the other party calls ``timeout``, as an agent would after waiting.

Usage::

    rec = play_local(
        GameClient(w3, game, provider), GameClient(w3, game, challenger), gid,
        honest(Role.ASSERTER, TraceView(tr)), honest(Role.CHALLENGER, TraceView(tr), tr),
        advance_time=lambda s: increase_time(rpc_url, s),
    )
    rec.resolution.winner, rec.gas_of(Role.CHALLENGER)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from contracts.errors import ContractRevert
from contracts.game_client import GameClient, GameInfo, Phase, Resolution
from disputes.game.solver import GameState, Move, Role, next_move, role_to_move
from disputes.game.view import View
from disputes.tracing.trace import Trace

Strategy = Callable[[GameState], Move | None]
MAX_MOVES = 1000


@dataclass(frozen=True)
class MoveRecord:
    """One sent move: who, which function, the gas it used, or the error it reverted with."""

    party: Role
    fn: str
    gas: int = 0
    error: str = ""


@dataclass
class PlayRecord:
    """Every move of one game and how it ended."""

    game_id: int
    moves: list[MoveRecord] = field(default_factory=list)
    final: GameInfo | None = None
    resolution: Resolution | None = None

    def gas_of(self, party: Role) -> list[tuple[str, int]]:
        """(function, gas) of every mined move of ``party``."""
        return [(m.fn, m.gas) for m in self.moves if m.party == party and not m.error]

    def errors(self) -> list[tuple[Role, str, str]]:
        """(party, function, error name) of every move that reverted."""
        return [(m.party, m.fn, m.error) for m in self.moves if m.error]


def honest(role: Role, view: View, trace: Trace | None = None) -> Strategy:
    """The solver's strategy for ``role`` answering from ``view``."""
    return lambda state: next_move(role, state, view, trace)


def read_state(client: GameClient, game_id: int, arity: int | None = None) -> GameState:
    """The game as a party sees it: ``getGame`` plus the vector its phase needs from events."""
    info = client.get_game(game_id)
    k = client.arity() if arity is None else arity
    if info.phase == Phase.CHOOSE:
        return GameState(game_id, info, k, tuple(client.points_of(game_id)))
    if info.phase == Phase.PICK:
        return GameState(game_id, info, k, tuple(client.nodes_of(game_id)))
    if info.phase == Phase.ONE_STEP:
        return GameState(game_id, info, k, row=client.row_of(game_id))
    return GameState(game_id, info, k)


def play_local(
    asserter: GameClient,
    challenger: GameClient,
    game_id: int,
    asserter_strategy: Strategy,
    challenger_strategy: Strategy,
    advance_time: Callable[[int], None],
) -> PlayRecord:
    """Play game ``game_id`` until it is over; returns the record of its moves."""
    clients = {Role.ASSERTER: asserter, Role.CHALLENGER: challenger}
    strategies = {Role.ASSERTER: asserter_strategy, Role.CHALLENGER: challenger_strategy}
    arity = asserter.arity()
    rec = PlayRecord(game_id)
    for _ in range(MAX_MOVES):
        state = read_state(asserter, game_id, arity)
        if state.info.phase.over:
            break
        role = role_to_move(state.info.phase)
        move = strategies[role](state)
        if move is None or not _sent(clients[role], role, move, rec):
            _run_out(clients, role, state.info, advance_time, rec)
    else:
        raise RuntimeError(f"game {game_id} did not end within {MAX_MOVES} moves")
    rec.final = asserter.get_game(game_id)
    rec.resolution = asserter.resolution_of(game_id)
    return rec


def _sent(client: GameClient, role: Role, move: Move, rec: PlayRecord) -> bool:
    try:
        tx = client.move(move.fn, move.args)
    except ContractRevert as exc:
        rec.moves.append(MoveRecord(role, move.fn, error=exc.name))
        return False
    rec.moves.append(MoveRecord(role, move.fn, tx.gas_used))
    return True


def _run_out(
    clients: dict[Role, GameClient],
    role: Role,
    info: GameInfo,
    advance_time: Callable[[int], None],
    rec: PlayRecord,
) -> None:
    """The mover gave up: wait out its deadline, then the other party claims the timeout."""
    client = clients[role]
    now = int(client.w3.eth.get_block("latest")["timestamp"])
    advance_time(max(0, info.deadline - now) + 1)
    other = Role.CHALLENGER if role == Role.ASSERTER else Role.ASSERTER
    tx = clients[other].timeout(info.game_id)
    rec.moves.append(MoveRecord(other, "timeout", tx.gas_used))
