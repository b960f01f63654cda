"""The agent against fakes: whose move, timeouts, cancels, the end of a game, progress, resume.

The chain is a scripted list of game states (the next one appears when a move is sent, or when
the other side moves while we wait); the solver is a stub. What is checked is the agent's own
logic: which single transaction each state calls for, and what it writes to the store.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pytest

from contracts.bindings import TxResult
from contracts.errors import ContractRevert
from contracts.game_client import GameInfo, Phase, Reason, Resolution
from contracts.records import ClaimInfo, OptimisticRequest, ProgramInfo, RequestStatus
from disputes.errors import AgentError
from disputes.game.agent import Agent, describe, state_key
from disputes.game.encoding import input_bytes
from disputes.game.outbox import Call
from disputes.game.solver import GameState, Move, Role
from disputes.game.store import GameStore
from disputes.game.traces import Programs, RequestTraces
from disputes.program.ir import Program
from disputes.tracing.trace import Trace, trace

ME = "0x" + "aa" * 20
THEM = "0x" + "bb" * 20
ZERO = "0x" + "00" * 20
DEADLINE = 1_000


def _info(phase: Phase, **kw: object) -> GameInfo:
    base = dict(
        game_id=3, request_id=7, asserter=ME, phase=phase, deadline=DEADLINE, challenger=THEM,
        lo=0, hi=40, n_steps=40, bond=10, program_root=b"\x01" * 32, lo_root=b"\x02" * 32,
        hi_root=b"\x03" * 32, posted=b"", node=b"", index=0, left=0, n_rows=0, width=0,
        first_step=5,
    )  # fmt: skip
    base.update(kw)
    return GameInfo(**base)  # type: ignore[arg-type]


@dataclass
class FakeGame:
    states: list[GameInfo]
    at: int = 0
    credit: int = 0
    winner: str = ME

    def games_of(self, request_id: int) -> list[int]:
        return [3] if request_id == 7 else []

    def get_game(self, game_id: int) -> GameInfo:
        if game_id != 3:
            return _info(Phase.NONE, game_id=game_id, asserter=ZERO, challenger=ZERO)
        return self.states[self.at]

    def advance(self) -> None:
        self.at = min(self.at + 1, len(self.states) - 1)

    def arity(self) -> int:
        return 16

    def points_of(self, game_id: int, from_block: int = 0) -> list[bytes]:
        return [b"\x09" * 32]

    def nodes_of(self, game_id: int, from_block: int = 0) -> list[bytes]:
        return []

    def row_of(self, game_id: int, from_block: int = 0) -> bytes:
        return b""

    def credits(self, account: str) -> int:
        return self.credit

    def resolution_of(self, game_id: int, from_block: int = 0) -> Resolution | None:
        loser = THEM if self.winner == ME else ME
        return Resolution(game_id, self.winner, loser, Reason.ONE_STEP)


@dataclass
class FakeEscrow:
    status: RequestStatus = RequestStatus.CLAIMED
    credit: int = 0

    def get_claim(self, request_id: int) -> ClaimInfo:
        return ClaimInfo(THEM, 1, b"", b"", 10, 0, 1, ZERO, 0, 0, self.status)

    def credits(self, account: str) -> int:
        return self.credit


@dataclass
class FakeSender:
    game: FakeGame
    sent: list[tuple[str, Call]] = field(default_factory=list)
    fail_with: str = ""
    address: str = ME

    def send(
        self, key: str, call: Call, *, game_id: int | None = None, request_id: int | None = None
    ) -> TxResult:
        if self.fail_with:
            raise ContractRevert(self.fail_with)
        self.sent.append((key, call))
        if call.fn != "withdraw":
            self.game.advance()
        return TxResult("0x" + "cd" * 32, 1, 21_000, 1, [])


@dataclass
class FakeClock:
    game: FakeGame
    time: int = 500
    sleeps: int = 0
    opponent_moves: bool = True

    def now(self) -> int:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        if self.opponent_moves:
            self.game.advance()  # the other side answered while we waited


@dataclass
class FakeTraces:
    calls: int = 0

    def trace(self, request_id: int) -> Trace:
        self.calls += 1
        return object()  # type: ignore[return-value]  # the stub solver never reads it


def _solver(role: Role, state: GameState, view: object, tr: object) -> Move | None:
    return Move({Phase.DISSECT: "bisect", Phase.CHOOSE: "choose"}[state.info.phase], (3,))


@dataclass
class Rig:
    agent: Agent
    game: FakeGame
    escrow: FakeEscrow
    sender: FakeSender
    clock: FakeClock
    traces: FakeTraces
    store: GameStore


@pytest.fixture
def store(tmp_path: Path) -> GameStore:
    return GameStore(f"sqlite:///{tmp_path / 'd.db'}")


def _rig(store: GameStore, states: list[GameInfo], **agent_kw: object) -> Rig:
    game = FakeGame(states)
    escrow, sender, clock, traces = FakeEscrow(), FakeSender(game), FakeClock(game), FakeTraces()
    options: dict[str, object] = {"solver": _solver, "views": lambda r, t: object(), "poll_s": 0}
    options.update(agent_kw)
    agent = Agent(game, escrow, sender, store, traces, clock, **options)  # type: ignore[arg-type]
    return Rig(agent, game, escrow, sender, clock, traces, store)


def test_our_turn_sends_the_solvers_move_under_the_state_key(store: GameStore) -> None:
    rig = _rig(store, [_info(Phase.DISSECT), _info(Phase.CHOOSE)])
    assert rig.agent.step(3) is True
    ((key, call),) = rig.sender.sent
    assert call == Call("game", "bisect", (3,))
    assert key == "game:3:DISSECT:0-40:0/0"
    rec = store.game(3, ME)
    assert rec is not None and rec.role == "asserter" and rec.phase == "DISSECT"
    assert rec.last_tx == "0x" + "cd" * 32 and rec.status == "playing"


def test_their_turn_before_the_deadline_sends_nothing(store: GameStore) -> None:
    rig = _rig(store, [_info(Phase.CHOOSE)])
    assert rig.agent.step(3) is False
    assert rig.sender.sent == [] and rig.traces.calls == 0


def test_their_missed_deadline_is_claimed_with_timeout(store: GameStore) -> None:
    rig = _rig(store, [_info(Phase.CHOOSE), _info(Phase.RESOLVED)])
    rig.clock.time = DEADLINE + 1
    assert rig.agent.step(3) is True
    assert rig.sender.sent == [("timeout:3", Call("game", "timeout", (3,)))]


def test_at_the_deadline_itself_there_is_no_timeout_yet(store: GameStore) -> None:
    rig = _rig(store, [_info(Phase.CHOOSE)])
    rig.clock.time = DEADLINE  # the contract: timeout only when block.timestamp > deadline
    assert rig.agent.step(3) is False


def test_a_voided_claim_cancels_the_game_whoever_is_to_move(store: GameStore) -> None:
    rig = _rig(store, [_info(Phase.DISSECT), _info(Phase.CANCELLED)])
    rig.escrow.status = RequestStatus.REFUNDED
    assert rig.agent.step(3) is True
    assert rig.sender.sent == [("cancel:3", Call("game", "cancel", (3,)))]
    assert rig.agent.step(3) is False
    rec = store.game(3, ME)
    assert rec is not None and rec.status == "cancelled"


@pytest.mark.parametrize(("winner", "status"), [(ME, "won"), (THEM, "lost")])
def test_a_finished_game_is_recorded_and_nothing_is_sent(
    store: GameStore, winner: str, status: str
) -> None:
    rig = _rig(store, [_info(Phase.RESOLVED)])
    rig.game.winner = winner
    assert rig.agent.step(3) is False
    rec = store.game(3, ME)
    assert rec is not None and (rec.status, rec.winner) == (status, winner)
    assert rig.sender.sent == []


def test_the_role_comes_from_the_game(store: GameStore) -> None:
    rig = _rig(store, [_info(Phase.CHOOSE, asserter=THEM, challenger=ME), _info(Phase.DISSECT)])
    assert rig.agent.step(3) is True  # Choose is the challenger's move, and we are it
    rec = store.game(3, ME)
    assert rec is not None and rec.role == "challenger"


def test_a_game_we_are_not_in_or_that_does_not_exist_is_an_error(store: GameStore) -> None:
    rig = _rig(store, [_info(Phase.DISSECT, asserter=THEM, challenger="0x" + "cc" * 20)])
    with pytest.raises(AgentError, match="is not a party of game 3"):
        rig.agent.step(3)
    with pytest.raises(AgentError, match="game 4 does not exist"):
        rig.agent.step(4)
    assert rig.sender.sent == []


def test_play_runs_to_the_end_withdraws_and_reports_progress(store: GameStore) -> None:
    states = [
        _info(Phase.DISSECT),
        _info(Phase.CHOOSE),  # theirs: we wait (one sleep), they choose
        _info(Phase.DISSECT, lo=16, hi=19),
        _info(Phase.CHOOSE, lo=16, hi=19),
        _info(Phase.RESOLVED, lo=17, hi=18),
    ]
    rig = _rig(store, states)
    rig.game.credit, rig.escrow.credit = 15, 0
    seen: list[tuple[str, float]] = []
    rec = rig.agent.play(3, progress=lambda m, f: seen.append((m, f)), withdraw=True)
    assert (rec.status, rec.withdrawn) == ("won", True)
    moves = [c.fn for _, c in rig.sender.sent]
    assert moves == ["bisect", "bisect", "withdraw"]  # no escrow withdraw: nothing credited there
    assert rig.sender.sent[1][0] == "game:3:DISSECT:16-19:0/0"
    assert rig.clock.sleeps == 2
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert "us to move" in seen[0][0] and "resolved" in seen[-1][0]


def test_play_says_so_when_our_own_move_comes_too_late(store: GameStore) -> None:
    rig = _rig(store, [_info(Phase.DISSECT)])
    rig.clock.time, rig.clock.opponent_moves = DEADLINE + 5, False
    rig.sender.fail_with = "MoveTooLate"
    with pytest.raises(AgentError, match="too late"):
        rig.agent.play(3)


def test_a_game_that_ended_between_our_read_and_our_send_is_no_error(store: GameStore) -> None:
    # The other side's winning move (or a timeout) landed after we read the game: GameOver.
    rig = _rig(store, [_info(Phase.DISSECT)])
    rig.sender.fail_with = "GameOver"
    assert rig.agent.step(3) is False


def test_a_revert_other_than_lateness_surfaces(store: GameStore) -> None:
    rig = _rig(store, [_info(Phase.DISSECT)])
    rig.sender.fail_with = "WrongPointCount"
    with pytest.raises(ContractRevert, match="WrongPointCount"):
        rig.agent.step(3)


def test_a_restarted_agent_picks_up_from_the_chain_and_the_store(store: GameStore) -> None:
    states = [_info(Phase.DISSECT), _info(Phase.CHOOSE), _info(Phase.DISSECT, lo=16, hi=19)]
    first = _rig(store, states)
    first.agent.step(3)
    # A new process: the chain moved on (they chose) while we were down; the store remembers.
    second = _rig(store, states)
    second.game.at = 2
    assert second.agent.step(3) is True
    assert [k for k, _ in second.sender.sent] == ["game:3:DISSECT:16-19:0/0"]
    rec = store.game(3, ME)
    assert rec is not None and rec.phase == "DISSECT" and rec.last_tx is not None


def test_the_trace_and_view_are_built_once_per_request(store: GameStore) -> None:
    views: list[Role] = []

    def make_view(role: Role, tr: Trace) -> object:
        views.append(role)
        return object()

    states = [_info(Phase.DISSECT), _info(Phase.CHOOSE), _info(Phase.DISSECT, lo=16, hi=19)]
    rig = _rig(store, states, views=make_view)
    rig.agent.step(3)
    rig.game.advance()
    rig.agent.step(3)
    assert views == [Role.ASSERTER] and rig.traces.calls == 2  # RequestTraces caches the trace


def test_state_keys_and_descriptions() -> None:
    info = _info(Phase.PICK, lo=5, hi=6, index=3, left=2, n_rows=16)
    assert state_key(GameState(3, info, 16)) == "game:3:PICK:5-6:3/2"
    text, frac = describe(info, Role.CHALLENGER)
    assert "pick, us to move, step 5" in text and 0.5 < frac < 0.9
    assert describe(_info(Phase.DISSECT), Role.CHALLENGER)[1] == 0.0
    assert describe(replace(info, phase=Phase.CANCELLED), Role.ASSERTER)[1] == 1.0


def test_programs_load_lazily_and_name_what_is_missing(tiny_program: Program) -> None:
    loads: list[str] = []

    def load(name: str) -> Program:
        loads.append(name)
        return tiny_program

    programs = Programs({"tiny": lambda: load("tiny")})
    assert loads == []
    assert programs.find(tiny_program.program_root) == ("tiny", tiny_program)
    assert programs.get(tiny_program.program_root) is tiny_program
    assert loads == ["tiny"]
    with pytest.raises(AgentError, match=r"no local model has program root 0x0000.*tiny"):
        programs.get(b"\x00" * 32)


@dataclass
class _Chain:
    req: OptimisticRequest | None
    program: Program

    def optimistic_request(self, request_id: int) -> OptimisticRequest | None:
        return self.req

    def program_of(self, model_id: int) -> ProgramInfo:
        p = self.program
        return ProgramInfo(p.program_root, b"", len(p.inputs), len(p.weights), len(p.steps),
                           p.output_slot, 1, 1)  # fmt: skip


def test_request_traces_re_execute_the_events_input(tiny_program: Program) -> None:
    spec = tiny_program.inputs[0]
    x = {spec.name: np.random.default_rng(1).standard_normal(spec.shape).astype(np.float32)}
    req = OptimisticRequest(7, 1, THEM, input_bytes(tiny_program, x), [], 10, 0)
    chain = _Chain(req, tiny_program)
    traces = RequestTraces(chain, chain, Programs.of(tiny=tiny_program))  # type: ignore[arg-type]
    tr = traces.trace(7)
    assert tr.checkpoints[-1] == trace(tiny_program, x).checkpoints[-1]
    assert traces.trace(7) is tr  # cached
    missing = RequestTraces(_Chain(None, tiny_program), chain, Programs.of())  # type: ignore[arg-type]
    with pytest.raises(AgentError, match="no OptimisticRequested event"):
        missing.trace(8)


def test_withdraw_skips_credits_another_process_already_took(store: GameStore) -> None:
    rig = _rig(store, [_info(Phase.RESOLVED)])
    rig.agent.step(3)
    rig.game.credit = 5
    rig.sender.fail_with = "NothingToWithdraw"
    assert rig.agent.withdraw(3) == 0
    rec = store.game(3, ME)
    assert rec is not None and rec.withdrawn
    rig.sender.fail_with = "WithdrawFailed"
    with pytest.raises(ContractRevert, match="WithdrawFailed"):
        rig.agent.withdraw(3)
