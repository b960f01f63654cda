"""A DisputeGame on a MockGameEscrow (which also answers the registry reads), and helpers to
register a traced program, post a claim, open a game and check how it was settled."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from eth_hash.auto import keccak
from web3 import Web3
from web3.contract import Contract

from contracts.bindings import deploy, send
from contracts.build import load_artifact
from contracts.chain import increase_time, revert_to, snapshot
from contracts.game_client import GameClient, Phase, Reason
from contracts.reverts import error_table
from contracts.signer import Signer
from disputes.game.encoding import input_roots, inputs_hash, start_hash
from disputes.game.local import PlayRecord, Strategy, honest, play_local, read_state
from disputes.game.solver import GameState, Role, next_move, role_to_move
from disputes.game.view import TraceView, View
from disputes.osp.osp import start_data
from disputes.program.ir import Program
from disputes.tracing.trace import Trace
from tests.contracts.conftest import Env

MIN_BOND = 10**16
BOND = 10**17
MOVE_TIMEOUT = 600
WINDOW = 3600
CLAIMED, REFUNDED = 4, 3


@dataclass
class Bed:
    """One DisputeGame deployment over a mock escrow + registry."""

    env: Env
    game: str
    mock: Contract
    osv: str
    arity: int
    models: dict[int, int] = field(default_factory=dict)  # id(program) -> model id

    def client(self, signer: Signer | None = None) -> GameClient:
        return GameClient(self.env.w3, self.game, signer)

    def _mock_send(self, fn: Any) -> None:
        send(self.env.w3, self.env.deployer, fn, error_table(load_artifact("MockGameEscrow").abi))

    def model_of(self, program: Program) -> int:
        """Register `program` on the mock registry; returns its model id.

        Set on every call: the chain is rolled back after each test, this object is not.
        """
        model_id = self.models.setdefault(id(program), len(self.models) + 1)
        n_in, n_w = len(program.inputs), len(program.weights)
        out_shape = program.slot_shape(program.output_slot)
        spec = (
            program.program_root,
            start_hash(start_data(program)),
            n_in,
            n_w,
            len(program.steps),
            program.output_slot,
            max(1, _prod(out_shape[:-1])),
            out_shape[-1] if out_shape else 1,
        )
        self._mock_send(self.mock.functions.setProgram(model_id, spec, MIN_BOND))
        return model_id

    def claim(self, rid: int, trace: Trace, final: bytes, provider: Signer) -> None:
        """Post the provider's claim on request `rid` with final checkpoint `final`."""
        model_id = self.model_of(trace.program)
        roots = input_roots(trace.program, trace.inputs)
        now = int(self.env.w3.eth.get_block("latest")["timestamp"])
        info = (provider.address, model_id, inputs_hash(roots), final, BOND, now + WINDOW, 0,
                "0x" + "00" * 20, 0, 0)  # fmt: skip
        self._mock_send(self.mock.functions.setClaim(rid, info, CLAIMED))

    def set_status(self, rid: int, status: int) -> None:
        self._mock_send(self.mock.functions.setStatus(rid, status))

    def open(
        self, rid: int, trace: Trace, challenger: Signer, final: bytes, bond: int = BOND
    ) -> int:
        return open_game(self.client(challenger), rid, trace, final, bond)

    def resolutions(self) -> list[tuple[int, bool, str]]:
        n = int(self.mock.functions.resolutionCount().call())
        out = []
        for i in range(n):
            r = self.mock.functions.resolutionAt(i).call()
            out.append((int(r[0]), bool(r[1]), str(r[2])))
        return out

    def open_games(self, rid: int) -> int:
        return int(self.mock.functions.claimOf(rid).call()[0][6])

    def advance(self, seconds: int) -> None:
        increase_time(self.env.node.rpc_url, seconds)

    def balance(self) -> int:
        return int(self.env.w3.eth.get_balance(Web3.to_checksum_address(self.game)))


def _prod(xs: tuple[int, ...]) -> int:
    out = 1
    for x in xs:
        out *= x
    return out


def deploy_bed(env: Env, osv: str, arity: int = 16, timeout: int = MOVE_TIMEOUT) -> Bed:
    """A mock escrow + registry and a DisputeGame over it."""
    mock_art = load_artifact("MockGameEscrow")
    mock_addr = deploy(env.w3, env.deployer, mock_art)
    game = deploy(env.w3, env.deployer, load_artifact("DisputeGame"), mock_addr, mock_addr, osv,
                  timeout, arity)  # fmt: skip
    mock = env.w3.eth.contract(address=Web3.to_checksum_address(mock_addr), abi=mock_art.abi)
    bed = Bed(env, game, mock, osv, arity)
    bed._mock_send(mock.functions.setGame(game))
    return bed


def open_game(client: GameClient, rid: int, trace: Trace, final: bytes, bond: int) -> int:
    """`client`'s signer opens a game on claim `rid` with its own `final` P_n; the game id.

    Example: ``gid = open_game(GameClient(w3, game, watcher), rid, tr, mine.point(n), BOND)``
    """
    data = start_data(trace.program)
    roots = input_roots(trace.program, trace.inputs)
    return client.open(rid, final, roots, data.fill, data.siblings, bond)


def play_session(env: Env, gid: int, asserter: Strategy, challenger: Strategy) -> Reason:
    """Play game `gid` of the session's real DisputeGame, provider against `env.other`; its reason.

    Example: ``play_session(env, gid, honest(Role.ASSERTER, cheat), liar(tr))``
    """
    rec = play_local(
        GameClient(env.w3, env.dep.game, env.provider),
        GameClient(env.w3, env.dep.game, env.other),
        gid,
        asserter,
        challenger,
        env.node.increase_time,
    )
    assert rec.resolution is not None, rec.moves
    return rec.resolution.reason


def verifier_bed(env: Env) -> Bed:
    """A bed over a OneStepVerifier of its own (the module fixture of the whole-game tests).

    Example: ``bed = verifier_bed(chain_env)``
    """
    osv = deploy(env.w3, env.deployer, load_artifact("OneStepVerifier"))
    return deploy_bed(env, osv)


@contextmanager
def rolled_back(bed: Bed) -> Iterator[None]:
    """Run the block on a chain snapshot that is reverted after it, so games can reuse a rid."""
    snap = snapshot(bed.env.node.rpc_url)
    try:
        yield
    finally:
        revert_to(bed.env.node.rpc_url, snap)


@dataclass
class Played:
    """A finished game with what it takes to check its settlement."""

    rid: int
    gid: int
    record: PlayRecord
    provider_lost: bool


def play(
    bed: Bed,
    rid: int,
    trace: Trace,
    asserter_view: View,
    challenger: Strategy | None = None,
    challenger_view: View | None = None,
    *,
    asserter: Strategy | None = None,
    challenger_final: bytes | None = None,
) -> Played:
    """Claim with the asserter view's P_n, open with the challenger's, play to the end."""
    env = bed.env
    n = len(trace.program.steps)
    mine = challenger_view or TraceView(trace)
    final = asserter_view.point(n)
    bed.claim(rid, trace, final, env.provider)
    theirs = challenger_final or mine.point(n)
    if theirs == final:  # a lying challenger against a true claim names any other checkpoint
        theirs = bytes(keccak(b"liar" + final))
    gid = bed.open(rid, trace, env.client, theirs)
    rec = play_local(
        bed.client(env.provider),
        bed.client(env.client),
        gid,
        asserter or honest(Role.ASSERTER, asserter_view),
        challenger or honest(Role.CHALLENGER, mine, trace),
        bed.advance,
    )
    assert rec.final is not None and rec.final.phase == Phase.RESOLVED, rec.moves
    assert rec.resolution is not None
    return Played(rid, gid, rec, rec.resolution.winner == env.client.address)


def settled_game(
    bed: Bed, rid: int, trace: Trace, view: View, challenger: Strategy | None = None
) -> Played:
    """`play` a rolled-back game; the provider must lose unless a (lying) `challenger` is given.

    Example: ``settled_game(bed, RID, tr, TraceView(tr), challenger=liar(tr))``
    """
    with rolled_back(bed):
        played = play(bed, rid, trace, view, challenger)
        check_settled(bed, played, provider_lost=challenger is None)
        return played


def check_settled(
    bed: Bed, played: Played, *, provider_lost: bool, reason: Reason | None = None
) -> None:
    """The winner, the game's credits and burn, and the escrow's record of the game."""
    env, client = bed.env, bed.client()
    res = played.record.resolution
    assert res is not None
    winner, loser = (env.client, env.provider) if provider_lost else (env.provider, env.client)
    assert (res.winner, res.loser) == (winner.address, loser.address), played.record.moves
    if reason is not None:
        assert res.reason == reason, (res, played.record.moves)
    if provider_lost:
        assert client.credits(env.client.address) == BOND
        assert client.burned() == 0
    else:
        assert client.credits(env.provider.address) == BOND // 2
        assert client.burned() == BOND // 2
    assert bed.resolutions()[-1] == (played.rid, provider_lost, env.client.address)
    assert bed.open_games(played.rid) == 0


def finished(bed: Bed, rid: int, gid: int) -> Played:
    """A game driven by hand, read back from the chain for `check_settled`."""
    res = bed.client().resolution_of(gid)
    assert res is not None, f"game {gid} is not resolved"
    record = PlayRecord(gid, final=bed.client().get_game(gid), resolution=res)
    return Played(rid, gid, record, res.winner == bed.env.client.address)


def drive_to(
    bed: Bed, gid: int, phase: Phase, asserter: View, challenger: View, tr: Trace
) -> GameState:
    """Play the solver's moves for both sides until the game is in `phase`; its state then."""
    env = bed.env
    clients = {Role.ASSERTER: bed.client(env.provider), Role.CHALLENGER: bed.client(env.client)}
    views = {Role.ASSERTER: asserter, Role.CHALLENGER: challenger}
    for _ in range(200):
        state = read_state(clients[Role.ASSERTER], gid)
        if state.info.phase == phase:
            return state
        role = role_to_move(state.info.phase)
        move = next_move(role, state, views[role], tr)
        assert move is not None, (state.info.phase, role)
        clients[role].move(move.fn, move.args)
    raise AssertionError(f"game {gid} never reached {phase.name}")
