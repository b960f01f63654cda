"""DisputeGame on anvil: whole games between views on the tiny block, every misuse by name.

The escrow and registry are a MockGameEscrow (tests/contracts/game/bed.py); the one-step
verifier, the traces and the game are real. Each game ends with its settlement checked: the
winner, the game's credits and burn, and the escrow's record of `gameResolved`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from eth_hash.auto import keccak

from contracts.bindings import deploy
from contracts.build import load_artifact
from contracts.errors import ContractRevert
from contracts.game_client import GameClient, Phase, Reason
from disputes.commitments import merkle
from disputes.execution.executor import load_program
from disputes.game.encoding import input_roots
from disputes.game.local import honest, play_local
from disputes.game.solver import Role, element_of, next_move, positions
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
from disputes.osp.osp import one_step_proof, start_data
from disputes.tracing.trace import Trace, trace
from tests.contracts.conftest import Env
from tests.contracts.game.bed import (
    BOND,
    MIN_BOND,
    MOVE_TIMEOUT,
    REFUNDED,
    WINDOW,
    Bed,
    check_settled,
    deploy_bed,
    drive_to,
    finished,
    play,
)
from tests.contracts.game.liars import bogus, last, liar, stall_at
from tests.disputes.game.programs import one_step_program
from tests.disputes.tiny import tiny_block, tiny_input

RID = 7


@pytest.fixture(scope="module")
def osv(chain_env: Env) -> str:
    return deploy(chain_env.w3, chain_env.deployer, load_artifact("OneStepVerifier"))


@pytest.fixture(scope="module")
def bed(chain_env: Env, osv: str) -> Bed:
    return deploy_bed(chain_env, osv)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Trace:
    program = load_program(tiny_block(tmp_path_factory.mktemp("game") / "tiny.onnx"))
    return trace(program, {"x": tiny_input()})


@pytest.fixture(scope="module")
def one(tmp_path_factory: pytest.TempPathFactory) -> Trace:
    program = load_program(one_step_program(tmp_path_factory.mktemp("one") / "one.onnx"))
    x = (tiny_input()[0, :3, :5] * 2).astype("float32")
    return trace(program, {"x": x})


def _reverts(name: str, fn: Callable[[], object]) -> ContractRevert:
    with pytest.raises(ContractRevert) as err:
        fn()
    assert err.value.name == name, err.value
    return err.value


class ShortRow(WideLeaf):
    """Row `row` committed (and revealed) one value short: a leaf of the wrong width."""

    def leaf(self, s: int, row: int) -> bytes:
        if (s, row) != (self.step, self.row):
            return super().leaf(s, row)
        return merkle.leaf_message(self.rows(s)[row][:-1])


class SkipsToTheEnd(CorruptOutput):
    """Claims no step did anything (every point is P_0) but the last, which sets only a wrong
    output. With "equal ends may not be chosen" the honest challenger would be steered to the
    last step over P_0, whose operands are not there to prove: the game must allow the choice.
    """

    def compute_points(self) -> list[bytes]:
        p, n = self.program, len(self.program.steps)
        start = list(self.trace.slot_roots[: p.first_step_slot])
        final = [*start, *[merkle.ZERO] * (n - 1), self.tree(self.step).root]
        p0 = merkle.checkpoint_root(start, p.n_slots)
        return [p0] * n + [merkle.checkpoint_root(final, p.n_slots)]

    def slot_proof(self, s: int) -> tuple[bytes, list[bytes], bytes, list[bytes]]:
        msg, proof, root, _ = super().slot_proof(s)
        p = self.program
        start = list(self.trace.slot_roots[: p.first_step_slot])
        siblings = merkle.checkpoint_proof(start, p.n_slots, p.slot_of_step(s))
        return msg, proof, (root if s == self.step else merkle.ZERO), siblings


# ---- whole games: a cheating asserter loses to the honest challenger ----

CHEATS: list[tuple[str, Callable[[Trace], View], Reason, str]] = [
    ("corrupt-step-0", lambda t: CorruptStep(t, 0, row=2, col=0, delta=3), Reason.ONE_STEP, ""),
    ("corrupt-step-20", lambda t: CorruptStep(t, 20, 9, 7, -9), Reason.ONE_STEP, ""),
    ("corrupt-lut", lambda t: CorruptStep(t, 40, 7, 31, 1), Reason.ONE_STEP, ""),
    ("corrupt-output", lambda t: CorruptOutput(t, row=7, col=15), Reason.ONE_STEP, ""),
    ("wide-leaf", lambda t: WideLeaf(t, 9, 4), Reason.TIMEOUT, "NonCanonicalLeaf"),
    ("short-row", lambda t: ShortRow(t, 28, 1), Reason.TIMEOUT, "WrongWidth"),
    ("touches-prev", lambda t: TouchesEarlierSlot(t, 17), Reason.TIMEOUT, "BadProof"),
    ("touches-input", lambda t: TouchesEarlierSlot(t, 0), Reason.TIMEOUT, "BadProof"),
    ("wrong-step-count", WrongStepCount, Reason.TIMEOUT, "NodesMismatch"),
    ("skips-to-the-end", SkipsToTheEnd, Reason.TIMEOUT, "NodesMismatch"),
]


@pytest.mark.parametrize(("name", "make", "reason", "error"), CHEATS, ids=[c[0] for c in CHEATS])
def test_every_cheat_loses_to_the_honest_challenger(
    env: Env,
    bed: Bed,
    tiny: Trace,
    name: str,
    make: Callable[[Trace], View],
    reason: Reason,
    error: str,
) -> None:
    played = play(bed, RID, tiny, make(tiny))
    check_settled(bed, played, provider_lost=True, reason=reason)
    if error:
        assert (Role.ASSERTER, error) in [(p, e) for p, _, e in played.record.errors()], name
    if name == "skips-to-the-end":  # the challenger chose a sub-range with equal ends
        assert played.record.final is not None and played.record.final.lo == 0
    assert bed.balance() == BOND  # the challenger's bond, credited back, not yet withdrawn


def test_a_one_step_program_starts_at_the_slot_proof(env: Env, bed: Bed, one: Trace) -> None:
    assert len(one.program.steps) == 1
    played = play(bed, RID, one, CorruptStep(one, 0, row=2, col=4, delta=1))
    check_settled(bed, played, provider_lost=True, reason=Reason.ONE_STEP)
    assert played.record.moves[0].fn == "proveSlot"


def test_a_non_zero_padding_leaf_ends_the_game_at_once(env: Env, bed: Bed, one: Trace) -> None:
    played = play(bed, RID, one, PaddingRow(one, 0))
    check_settled(bed, played, provider_lost=True, reason=Reason.PADDING)
    assert [m.fn for m in played.record.moves][-1] == "pickNode"


def test_a_smaller_arity_plays_a_deeper_game(env: Env, osv: str, tiny: Trace) -> None:
    bed2 = deploy_bed(env, osv, arity=2)
    played = play(bed2, RID, tiny, CorruptStep(tiny, 20, 9, 7, 1))
    check_settled(bed2, played, provider_lost=True, reason=Reason.ONE_STEP)
    fns = [m.fn for m in played.record.moves]
    assert fns.count("bisect") == len(tiny.program.steps).bit_length()  # 43 steps: 6 halvings
    assert fns.count("revealNodes") == 4  # 16 rows, one level per reveal


# ---- whole games: an honest asserter beats a lying challenger ----

LIES = [
    ("agrees", None, Reason.TIMEOUT, ""),
    ("wrong-choose", {"choose": last}, Reason.ONE_STEP, ""),
    ("wrong-pick", {"pick": last}, Reason.ONE_STEP, ""),
    ("bogus-proof", {"forge": True}, Reason.TIMEOUT, "BadProof"),
]


@pytest.mark.parametrize(("name", "kwargs", "reason", "error"), LIES, ids=[c[0] for c in LIES])
def test_an_honest_asserter_beats_a_lying_challenger(
    env: Env,
    bed: Bed,
    tiny: Trace,
    name: str,
    kwargs: dict[str, Any] | None,
    reason: Reason,
    error: str,
) -> None:
    strategy = None if kwargs is None else liar(tiny, **kwargs)
    played = play(bed, RID, tiny, TraceView(tiny), strategy)
    check_settled(bed, played, provider_lost=False, reason=reason)
    if error:
        assert (Role.CHALLENGER, "proveElement", error) in played.record.errors()
    assert bed.balance() == BOND  # half credited to the provider, half burned (kept, inert)


# ---- clocks: the party to move loses when its deadline passes, in every phase ----

STALLS = [
    (Phase.DISSECT, Role.ASSERTER, None),
    (Phase.CHOOSE, Role.CHALLENGER, "bisect"),
    (Phase.SLOT_PROOF, Role.ASSERTER, "choose"),
    (Phase.REVEAL, Role.ASSERTER, "proveSlot"),
    (Phase.PICK, Role.CHALLENGER, "revealNodes"),
    (Phase.ROW, Role.ASSERTER, "pickNode"),
    (Phase.ONE_STEP, Role.CHALLENGER, "revealRow"),
]


@pytest.mark.parametrize(("phase", "staller", "before"), STALLS, ids=[s[0].name for s in STALLS])
def test_a_missed_deadline_loses_in_every_phase(
    env: Env, bed: Bed, tiny: Trace, phase: Phase, staller: Role, before: str | None
) -> None:
    cheat = CorruptStep(tiny, 9, 2, 1, 4)
    a, c = honest(Role.ASSERTER, cheat), honest(Role.CHALLENGER, TraceView(tiny), tiny)
    if staller == Role.ASSERTER:
        a = stall_at(phase, a)
    else:
        c = stall_at(phase, c)
    played = play(bed, RID, tiny, cheat, c, asserter=a)
    check_settled(bed, played, provider_lost=staller == Role.ASSERTER, reason=Reason.TIMEOUT)
    fns = [m.fn for m in played.record.moves]
    assert fns[-1] == "timeout" and (fns[-2] if len(fns) > 1 else None) == before
    assert played.record.moves[-1].party != staller  # the waiting party claimed the timeout


def test_timeout_before_the_deadline_and_a_late_move_revert(
    env: Env, bed: Bed, tiny: Trace
) -> None:
    bed.claim(RID, tiny, CorruptStep(tiny, 9).point(43), env.provider)
    gid = bed.open(RID, tiny, env.client, TraceView(tiny).point(43))
    anyone = bed.client(env.other)
    deadline = bed.client().get_game(gid).deadline
    _reverts("DeadlineNotPassed", lambda: anyone.timeout(gid))
    bed.advance(MOVE_TIMEOUT + 1)
    err = _reverts("MoveTooLate", lambda: bed.client(env.provider).bisect(gid, [b"\x01" * 32] * 15))
    assert err.error_args[0] == deadline
    anyone.timeout(gid)
    check_settled(bed, finished(bed, RID, gid), provider_lost=True, reason=Reason.TIMEOUT)


# ---- every misuse of a move reverts with its name ----


@pytest.fixture
def started(env: Env, bed: Bed, tiny: Trace) -> tuple[int, View, View]:
    cheat, mine = CorruptStep(tiny, 9, 2, 1, 4), TraceView(tiny)
    bed.claim(RID, tiny, cheat.point(43), env.provider)
    return bed.open(RID, tiny, env.client, mine.point(43)), cheat, mine


def test_turns_phases_and_the_dissection_checks(
    env: Env, bed: Bed, tiny: Trace, started: tuple[int, View, View]
) -> None:
    gid, cheat, _ = started
    prov, chal, other = bed.client(env.provider), bed.client(env.client), bed.client(env.other)
    pts = [cheat.point(p) for p in positions(0, 43, 16)[1:-1]]
    err = _reverts("NotYourTurn", lambda: other.bisect(gid, pts))
    assert err.error_args == (env.other.address, env.provider.address)
    _reverts("NotYourTurn", lambda: chal.bisect(gid, pts))
    err = _reverts("WrongPhase", lambda: prov.choose(gid, 0, pts))
    assert err.error_args == (Phase.DISSECT, Phase.CHOOSE)
    err = _reverts("WrongPointCount", lambda: prov.bisect(gid, pts[:-1]))
    assert err.error_args == (14, 15)
    prov.bisect(gid, pts)
    assert prov.points_of(gid) == pts
    _reverts("WrongPhase", lambda: prov.bisect(gid, pts))  # a replayed move
    _reverts("NotYourTurn", lambda: prov.choose(gid, 0, pts))
    _reverts("PointsMismatch", lambda: chal.choose(gid, 0, [*pts[:-1], b"\x02" * 32]))
    _reverts("PointsMismatch", lambda: chal.choose(gid, 0, pts[:-1]))
    err = _reverts("IndexOutOfRange", lambda: chal.choose(gid, 16, pts))
    assert err.error_args == (16, 16)
    chal.choose(gid, 3, pts)
    g = prov.get_game(gid)
    p = positions(0, 43, 16)
    assert (g.lo, g.hi, g.lo_root, g.hi_root) == (p[3], p[4], pts[2], pts[3])
    assert prov.positions_of(0, 43) == p


def test_slot_proof_checks(
    env: Env, bed: Bed, tiny: Trace, started: tuple[int, View, View]
) -> None:
    gid, cheat, mine = started
    g = drive_to(bed, gid, Phase.SLOT_PROOF, cheat, mine, tiny).info
    prov = bed.client(env.provider)
    msg, proof, root, sibs = cheat.slot_proof(g.lo)
    _reverts("BadProof", lambda: prov.prove_slot(gid, msg, proof, root, [*sibs[:-1], root]))
    _reverts("BadProof", lambda: prov.prove_slot(gid, msg, proof, bytes(32), sibs))
    other_msg, other_proof, _, _ = cheat.slot_proof(g.lo + 1)
    _reverts("BadProof", lambda: prov.prove_slot(gid, other_msg, other_proof, root, sibs))
    _reverts("WrongDepth", lambda: prov.prove_slot(gid, msg, proof[:-1], root, sibs))
    _reverts("WrongDepth", lambda: prov.prove_slot(gid, msg, proof, root, sibs[:-1]))
    prov.prove_slot(gid, msg, proof, root, sibs)
    g = prov.get_game(gid)
    assert (g.phase, g.node, g.n_rows, g.width, g.left) == (Phase.REVEAL, root, 8, 16, 3)


def test_descent_checks(env: Env, bed: Bed, tiny: Trace, started: tuple[int, View, View]) -> None:
    gid, cheat, mine = started
    g = drive_to(bed, gid, Phase.REVEAL, cheat, mine, tiny).info
    prov, chal = bed.client(env.provider), bed.client(env.client)
    nodes = cheat.nodes(g.lo, 0, g.left, 3)
    err = _reverts("WrongNodeCount", lambda: prov.reveal_nodes(gid, nodes[:4]))
    assert err.error_args == (4, 8)
    _reverts("NodesMismatch", lambda: prov.reveal_nodes(gid, nodes[::-1]))
    prov.reveal_nodes(gid, nodes)
    assert prov.nodes_of(gid) == nodes
    _reverts("NodesMismatch", lambda: chal.pick_node(gid, 0, nodes[::-1]))
    _reverts("IndexOutOfRange", lambda: chal.pick_node(gid, 8, nodes))
    chal.pick_node(gid, 2, nodes)  # the corrupt row
    g = prov.get_game(gid)
    assert (g.phase, g.index, g.left, g.node) == (Phase.ROW, 2, 0, nodes[2])
    _reverts("LeafMismatch", lambda: prov.reveal_row(gid, cheat.leaf(g.lo, 3)))
    prov.reveal_row(gid, cheat.leaf(g.lo, 2))
    assert prov.row_of(gid) == cheat.leaf(g.lo, 2)


def test_element_checks(env: Env, bed: Bed, tiny: Trace, started: tuple[int, View, View]) -> None:
    gid, cheat, mine = started
    state = drive_to(bed, gid, Phase.ONE_STEP, cheat, mine, tiny)
    s, row, chal = state.info.lo, state.info.index, bed.client(env.client)
    shape = tiny.program.steps[s].shape
    good = one_step_proof(tiny, s, element_of(shape, row, 1)).proof
    _reverts("LeafMismatch", lambda: chal.prove_element(gid, mine.leaf(s, row), good))
    other_row = one_step_proof(tiny, s, element_of(shape, row + 1, 1)).proof
    err = _reverts("WrongRow", lambda: chal.prove_element(gid, state.row, other_row))
    assert err.error_args == (row + 1, row)
    _reverts("BadProof", lambda: chal.prove_element(gid, state.row, bogus(good)))
    move = next_move(Role.CHALLENGER, state, mine, tiny)
    assert move is not None and move.args[2][2] == [*element_of(shape, row, 1)]
    chal.move(move.fn, move.args)
    check_settled(bed, finished(bed, RID, gid), provider_lost=True, reason=Reason.ONE_STEP)
    for fn in (lambda: chal.prove_element(gid, state.row, good), lambda: chal.timeout(gid)):
        _reverts("GameOver", fn)


def test_unknown_games(env: Env, bed: Bed) -> None:
    anyone = bed.client(env.other)
    for fn in (
        lambda: anyone.bisect(99, []),
        lambda: anyone.timeout(99),
        lambda: anyone.cancel(99),
    ):
        _reverts("UnknownGame", fn)
    assert anyone.get_game(99).phase == Phase.NONE


# ---- opening ----


def test_open_checks(env: Env, bed: Bed, tiny: Trace) -> None:
    cheat, mine = CorruptStep(tiny, 9), TraceView(tiny)
    final, theirs = cheat.point(43), mine.point(43)
    data = start_data_of(tiny)
    roots = input_roots(tiny.program, tiny.inputs)
    chal = bed.client(env.client)
    _reverts("ClaimNotOpen", lambda: chal.open(RID, theirs, roots, data[0], data[1], BOND))
    bed.claim(RID, tiny, final, env.provider)
    bad_roots = [keccak(b"x"), *roots[1:]]
    _reverts("WrongInputRoots", lambda: chal.open(RID, theirs, bad_roots, *data, BOND))
    bad_fill = [keccak(b"x"), *data[0][1:]]
    _reverts("WrongStartData", lambda: chal.open(RID, theirs, roots, bad_fill, data[1], BOND))
    err = _reverts("BondTooLow", lambda: chal.open(RID, theirs, roots, *data, MIN_BOND - 1))
    assert err.error_args == (MIN_BOND - 1, MIN_BOND)
    _reverts("NoDisagreement", lambda: chal.open(RID, final, roots, *data, BOND))
    prov = bed.client(env.provider)
    _reverts("SelfChallenge", lambda: prov.open(RID, theirs, roots, *data, BOND))
    gid = chal.open(RID, theirs, roots, *data, MIN_BOND)
    g = chal.get_game(gid)
    assert (g.phase, g.lo, g.hi, g.hi_root, g.bond) == (Phase.DISSECT, 0, 43, final, MIN_BOND)
    assert g.lo_root == mine.point(0) and g.asserter == env.provider.address
    assert chal.games_of(RID) == [gid] and chal.game_count() == gid
    assert bed.open_games(RID) == 1
    bed.advance(WINDOW + 1)
    _reverts("WindowClosed", lambda: bed.client(env.other).open(RID, theirs, roots, *data, BOND))


def start_data_of(tr: Trace) -> tuple[list[bytes], list[bytes]]:
    d = start_data(tr.program)
    return list(d.fill), list(d.siblings)


# ---- several games on one claim: the first loss voids it, the others are cancelled ----


def test_cancel_after_void_returns_the_bond(env: Env, bed: Bed, tiny: Trace) -> None:
    cheat, mine = CorruptStep(tiny, 20, 1, 1, 2), TraceView(tiny)
    bed.claim(RID, tiny, cheat.point(43), env.provider)
    first = bed.open(RID, tiny, env.client, mine.point(43))
    second = bed.open(RID, tiny, env.other, mine.point(43))
    assert bed.client().games_of(RID) == [first, second] and bed.open_games(RID) == 2
    _reverts("NotVoided", lambda: bed.client(env.deployer).cancel(second))
    prov = bed.client(env.provider)
    rec = play_local(
        prov,
        bed.client(env.client),
        first,
        honest(Role.ASSERTER, cheat),
        honest(Role.CHALLENGER, mine, tiny),
        bed.advance,
    )
    assert rec.resolution is not None and rec.resolution.winner == env.client.address
    assert bed.mock.functions.statusOf(RID).call() == REFUNDED
    pts = [cheat.point(p) for p in positions(0, 43, 16)[1:-1]]
    anyone = bed.client(env.deployer)
    for fn in (
        lambda: prov.bisect(second, pts),
        lambda: bed.client(env.other).choose(second, 0, pts),
        lambda: anyone.timeout(second),
    ):
        _reverts("ClaimVoided", fn)
    bed.advance(MOVE_TIMEOUT + 1)
    _reverts("ClaimVoided", lambda: anyone.timeout(second))
    anyone.cancel(second)
    assert anyone.get_game(second).phase == Phase.CANCELLED
    assert anyone.credits(env.other.address) == BOND
    assert anyone.credits(env.client.address) == BOND
    _reverts("GameOver", lambda: anyone.cancel(second))
    # The cancel counts the game off the claim without a second loss for the provider.
    assert bed.resolutions() == [(RID, True, env.client.address), (RID, False, env.other.address)]
    assert bed.open_games(RID) == 0
    assert bed.balance() == 2 * BOND


def test_withdraw_pays_credits_once(env: Env, bed: Bed, tiny: Trace) -> None:
    played = play(bed, RID, tiny, CorruptOutput(tiny))
    check_settled(bed, played, provider_lost=True)
    chal = bed.client(env.client)
    before = env.balance(env.client)
    tx = chal.withdraw()
    assert env.balance(env.client) == before + BOND - tx.fee_wei
    assert chal.credits(env.client.address) == 0 and bed.balance() == 0
    _reverts("NothingToWithdraw", chal.withdraw)


# ---- deployment ----


@pytest.mark.parametrize("arity", [0, 1, 3, 12, 65, 128])
def test_the_arity_must_be_a_power_of_two_up_to_64(env: Env, osv: str, arity: int) -> None:
    art = load_artifact("DisputeGame")
    err = _reverts("BadArity", lambda: deploy(env.w3, env.deployer, art, osv, osv, osv, 60, arity))
    assert err.error_args == (arity,)
    _reverts("BadTimeout", lambda: deploy(env.w3, env.deployer, art, osv, osv, osv, 0, 2))


def test_the_move_timeout_is_bounded_so_a_deadline_never_overflows(env: Env, osv: str) -> None:
    art = load_artifact("DisputeGame")
    week = 7 * 86400
    for bad in (week + 1, 2**64 - 1):
        err = _reverts(
            "BadTimeout",
            functools.partial(deploy, env.w3, env.deployer, art, osv, osv, osv, bad, 2),
        )
        assert err.error_args == (bad, week)
    deploy(env.w3, env.deployer, art, osv, osv, osv, week, 2)


def test_deployment_reads_and_code_size(env: Env, osv: str, bed: Bed) -> None:
    wide = deploy_bed(env, osv, arity=64)
    client = GameClient(env.w3, wide.game)
    assert client.arity() == 64 and client.move_timeout() == MOVE_TIMEOUT
    assert client.escrow() == wide.mock.address and client.game_count() == 0
    assert client.positions_of(0, 100)[:3] == [0, 1, 3] == positions(0, 100, 64)[:3]
    code = bytes.fromhex(load_artifact("DisputeGame").deployed_bytecode[2:])
    assert len(code) <= 24_576
    assert Path(load_artifact("DisputeGame").source_name) == Path("DisputeGame.sol")
