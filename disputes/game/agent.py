"""An agent that plays DisputeGames by itself: reads the chain, asks the solver, sends, persists.

The agent keeps no game state of its own: each ``step`` reads the game from the chain, works
out whose move it is, and either makes our move (from the trace, re-executed from the request's
public input), claims a timeout the other side let pass, or cancels a game whose claim another
game already voided. Every transaction goes through the write-ahead ``Outbox``, so an agent
killed at any point and started again picks up where the chain is, never sending a move twice.
The role comes from the game itself: we are its asserter (the provider) or its challenger.

Usage::

    agent = Agent.connect(w3, deployment, signer, GameStore.from_settings(), Programs.built())
    agent.play(game_id, progress=lambda msg, frac: print(msg), withdraw=True)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol, cast

from web3 import Web3

from contracts.bindings import Deployment, TxResult
from contracts.clients import EscrowClient, RegistryClient
from contracts.errors import ContractRevert
from contracts.game_client import GameClient, GameInfo, Phase, Resolution
from contracts.records import ClaimInfo, RequestStatus
from contracts.signer import Signer
from disputes.errors import AgentError
from disputes.game.encoding import input_roots
from disputes.game.local import read_state
from disputes.game.outbox import Call, ChainSender
from disputes.game.solver import GameState, Move, Role, next_move, role_to_move
from disputes.game.store import GameRecord, GameStatus, GameStore
from disputes.game.traces import Programs, RequestTraces
from disputes.game.view import TraceView, View
from disputes.osp.osp import start_data
from disputes.tracing.trace import Trace

Progress = Callable[[str, float], None]
Solver = Callable[[Role, GameState, View, Trace | None], Move | None]
ViewFactory = Callable[[Role, Trace], View]
DEFAULT_POLL_S = 0.5


# ---- what the agent needs from the chain (the real clients satisfy these) ----


class GameReads(Protocol):
    """The DisputeGame reads an agent makes (``contracts.game_client.GameClient``)."""

    def get_game(self, game_id: int) -> GameInfo: ...
    def games_of(self, request_id: int) -> list[int]: ...
    def arity(self) -> int: ...
    def points_of(self, game_id: int, from_block: int = 0) -> list[bytes]: ...
    def nodes_of(self, game_id: int, from_block: int = 0) -> list[bytes]: ...
    def row_of(self, game_id: int, from_block: int = 0) -> bytes: ...
    def credits(self, account: str) -> int: ...
    def resolution_of(self, game_id: int, from_block: int = 0) -> Resolution | None: ...


class EscrowReads(Protocol):
    """The escrow reads an agent makes (``contracts.clients.EscrowClient``)."""

    def get_claim(self, request_id: int) -> ClaimInfo: ...
    def credits(self, account: str) -> int: ...


class Sender(Protocol):
    """Sends one call once per key (``disputes.game.outbox.ChainSender``)."""

    @property
    def address(self) -> str: ...

    def send(
        self, key: str, call: Call, *, game_id: int | None = None, request_id: int | None = None
    ) -> TxResult: ...


class TraceSource(Protocol):
    """The honest trace of a request (re-executed from its public input)."""

    def trace(self, request_id: int) -> Trace: ...


class Clock(Protocol):
    """Chain time (deadlines are block timestamps) and how to wait."""

    def now(self) -> int: ...
    def sleep(self, seconds: float) -> None: ...


# ---- the real implementations ----


class ChainClock:
    """The latest block's timestamp; waits with ``time.sleep``."""

    def __init__(self, w3: Web3) -> None:
        self.w3 = w3

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def honest_view(role: Role, tr: Trace) -> View:
    """Every answer from the honest trace (both roles)."""
    return TraceView(tr)


def _solve(role: Role, state: GameState, view: View, tr: Trace | None) -> Move | None:
    return next_move(role, state, view, tr)


@dataclass(frozen=True)
class StepResult:
    """What one ``step`` saw and did."""

    info: GameInfo
    role: Role
    action: str  # the function sent ("bisect", "timeout", "cancel", …) or "" for none

    @property
    def moved(self) -> bool:
        return bool(self.action)


def state_key(state: GameState) -> str:
    """The key of the move answering this game state: no two states of a game share it.

    Each move shrinks the step range (dissection) or the subtree height (descent), or changes
    the phase, so (phase, range, node position) never repeats within a game.
    """
    g = state.info
    return f"game:{state.game_id}:{g.phase.name}:{g.lo}-{g.hi}:{g.index}/{g.left}"


def describe(info: GameInfo, role: Role) -> tuple[str, float]:
    """A one-line status of the game for a progress bar, and how far along it is (0..1)."""
    phase = info.phase
    if phase.over:
        return f"game {info.game_id}: {phase.name.lower()}", 1.0
    mover = "us" if role_to_move(phase) == role else "them"
    where = f"steps {info.lo}..{info.hi}"
    if phase in (Phase.REVEAL, Phase.PICK, Phase.ROW, Phase.ONE_STEP):
        where = f"step {info.lo}, row subtree {info.index} (height {info.left})"
    return f"game {info.game_id}: {phase.name.lower()}, {mover} to move, {where}", _fraction(info)


def _fraction(info: GameInfo) -> float:
    if info.phase in (Phase.DISSECT, Phase.CHOOSE):
        if info.n_steps <= 1:
            return 0.0
        return 0.5 * (1 - math.log(max(1, info.hi - info.lo)) / math.log(info.n_steps))
    if info.phase == Phase.SLOT_PROOF:
        return 0.5
    depth = max(1, math.ceil(math.log2(max(2, info.n_rows))))
    if info.phase in (Phase.REVEAL, Phase.PICK):
        return 0.5 + 0.4 * (1 - info.left / depth)
    return 0.9 if info.phase == Phase.ROW else 0.95


class Agent:
    """Plays every game its signer is a party of, one ``step`` at a time (see module doc)."""

    def __init__(
        self,
        game: GameReads,
        escrow: EscrowReads,
        sender: Sender,
        store: GameStore,
        traces: TraceSource,
        clock: Clock,
        *,
        views: ViewFactory = honest_view,
        solver: Solver = _solve,
        poll_s: float = DEFAULT_POLL_S,
    ) -> None:
        self.game, self.escrow, self.sender, self.store = game, escrow, sender, store
        self.traces, self.clock, self.views, self.solver = traces, clock, views, solver
        self.poll_s = poll_s
        self._arity: int | None = None
        self._views: dict[tuple[int, Role], View] = {}

    @classmethod
    def connect(
        cls,
        w3: Web3,
        dep: Deployment,
        signer: Signer,
        store: GameStore,
        programs: Programs,
        **options: Any,
    ) -> Agent:
        """An agent on the deployment's game and escrow, signing with `signer`."""
        from contracts.game_client import game_error_table
        from disputes.game.outbox import Outbox

        game = GameClient(w3, dep.game, signer)
        escrow = EscrowClient(w3, dep.escrow, signer)
        outbox = Outbox(w3, signer, store, game_error_table())
        sender = ChainSender(outbox, {"game": game.contract, "escrow": escrow.contract})
        traces = RequestTraces(escrow, RegistryClient(w3, dep.registry), programs)
        return cls(game, escrow, sender, store, traces, ChainClock(w3), **options)

    @property
    def address(self) -> str:
        return self.sender.address

    def role_of(self, info: GameInfo) -> Role:
        """Our side of the game; AgentError when the signer is neither party."""
        me = self.address.lower()
        if info.asserter.lower() == me:
            return Role.ASSERTER
        if info.challenger.lower() == me:
            return Role.CHALLENGER
        raise AgentError(
            f"{self.address} is not a party of game {info.game_id} (asserter "
            f"{info.asserter}, challenger {info.challenger}): sign with one of their keys"
        )

    def step(self, game_id: int) -> bool:
        """Make the one move that is ours now, if any (a move, a timeout or a cancel)."""
        return self.advance(game_id).moved

    def advance(self, game_id: int) -> StepResult:
        """One look at the game and at most one transaction; what it saw and sent."""
        state = self._state(game_id)
        info = state.info
        role = self.role_of(info)
        self._remember(info, role)
        if info.phase.over:
            self._record_end(info)
            return StepResult(info, role, "")
        return StepResult(info, role, self._act(state, role))

    def play(
        self, game_id: int, progress: Progress | None = None, *, withdraw: bool = False
    ) -> GameRecord:
        """Play until the game is Resolved or Cancelled; withdraw the winnings if asked.

        Raises AgentError if we ever miss our own deadline (the game is then lost).
        """
        while True:
            result = self.advance(game_id)
            if progress is not None:
                progress(*describe(result.info, result.role))
            if result.info.phase.over:
                break
            if not result.moved:
                self._fail_if_late(result)
                self.clock.sleep(self.poll_s)
        if withdraw:
            self.withdraw(game_id)
        rec = self.store.game(game_id, self.address)
        assert rec is not None  # advance() saved it
        return rec

    def open(self, request_id: int, bond: int) -> int:
        """Challenge the claim on `request_id` with our P_n and `bond` wei; returns the game id.

        One game per claim and challenger: a claim we already challenge returns that game.
        """
        existing = self.my_game_on(request_id)
        if existing is None:
            tr = self.traces.trace(request_id)
            p = tr.program
            ours = self._view(request_id, Role.CHALLENGER, tr).point(len(p.steps))
            data = start_data(p)
            roots = input_roots(p, tr.inputs)
            args = (request_id, ours, roots, list(data.fill), list(data.siblings))
            call = Call("game", "open", args, bond)
            self.sender.send(f"open:{request_id}", call, request_id=request_id)
            existing = self.my_game_on(request_id)
        if existing is None:
            raise AgentError(f"opening a game on request {request_id} left no game of ours")
        if self.store.game(existing, self.address) is None:
            self.store.save_game(GameRecord(existing, self.address, "challenger", request_id))
        return existing

    def my_game_on(self, request_id: int) -> int | None:
        """The newest game we challenge on `request_id`, if any (from the chain)."""
        for gid in reversed(self.game.games_of(request_id)):
            if self.game.get_game(gid).challenger.lower() == self.address.lower():
                return gid
        return None

    def withdraw(self, game_id: int) -> int:
        """Pull our credits from the game and the escrow after game `game_id`; wei received."""
        got = 0
        for target, reads in (("game", self.game), ("escrow", self.escrow)):
            amount = reads.credits(self.address)
            if amount > 0:
                try:
                    self.sender.send(f"withdraw:{target}:{game_id}", Call(target, "withdraw"))
                except ContractRevert as exc:
                    if exc.name != "NothingToWithdraw":  # another of our processes took it
                        raise
                    continue
                got += amount
        self.store.update_game(game_id, self.address, withdrawn=True)
        return got

    # ---- one step ----

    def _state(self, game_id: int) -> GameState:
        if self._arity is None:
            self._arity = self.game.arity()
        state = read_state(cast(GameClient, self.game), game_id, self._arity)
        if state.info.phase == Phase.NONE:
            raise AgentError(f"game {game_id} does not exist (UnknownGame); check the game id")
        return state

    def _act(self, state: GameState, role: Role) -> str:
        try:
            return self._act_on(state, role)
        except ContractRevert as exc:
            # The game ended between our read and our send (the other side's winning move, or
            # a timeout): nothing is left to do, and the next look records how it ended.
            if exc.name == "GameOver":
                return ""
            if exc.name == "MoveTooLate":
                return ""  # play() reports the lost game
            raise

    def _act_on(self, state: GameState, role: Role) -> str:
        info = state.info
        gid = info.game_id
        if self.escrow.get_claim(info.request_id).status == RequestStatus.REFUNDED:
            # Another game already voided the claim: this one can only be cancelled (bond back).
            return self._send(f"cancel:{gid}", Call("game", "cancel", (gid,)), info)
        if role_to_move(info.phase) != role:
            if self.clock.now() > info.deadline:
                return self._send(f"timeout:{gid}", Call("game", "timeout", (gid,)), info)
            return ""
        tr = self.traces.trace(info.request_id)
        move = self.solver(role, state, self._view(info.request_id, role, tr), tr)
        if move is None:
            return ""
        return self._send(state_key(state), Call("game", move.fn, move.args), info)

    def _send(self, key: str, call: Call, info: GameInfo) -> str:
        tx = self.sender.send(key, call, game_id=info.game_id, request_id=info.request_id)
        self.store.update_game(info.game_id, self.address, last_tx=tx.tx_hash)
        return call.fn

    def _view(self, request_id: int, role: Role, tr: Trace) -> View:
        if (request_id, role) not in self._views:
            self._views[request_id, role] = self.views(role, tr)
        return self._views[request_id, role]

    def _remember(self, info: GameInfo, role: Role) -> None:
        rec = self.store.game(info.game_id, self.address)
        if rec is None:
            rec = GameRecord(info.game_id, self.address, role.value, info.request_id, "")
        if rec.phase != info.phase.name:
            self.store.save_game(replace(rec, phase=info.phase.name))

    def _record_end(self, info: GameInfo) -> None:
        status: GameStatus = "cancelled"
        winner = None
        if info.phase == Phase.RESOLVED:
            res = self.game.resolution_of(info.game_id)
            winner = res.winner if res else None
            mine = winner is not None and winner.lower() == self.address.lower()
            status = "won" if mine else "lost"
        self.store.update_game(info.game_id, self.address, status=status, winner=winner)

    def _fail_if_late(self, result: StepResult) -> None:
        info = result.info
        if role_to_move(info.phase) == result.role and self.clock.now() > info.deadline:
            raise AgentError(
                f"game {info.game_id}: our move ({info.phase.name}) was due by {info.deadline} "
                "and is too late (MoveTooLate); the game is lost, anyone may now call timeout"
            )
