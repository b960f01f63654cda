"""InferenceEscrow's optimistic path with a MockGame: input roots, claims bound to P_n, the
challenge window, game hooks, voiding, the burn and finalization (docs/optimistic.md)."""

from __future__ import annotations

from typing import Any

from eth_hash.auto import keccak

from contracts.bindings import Deployment, core_error_table, send
from contracts.clients import ZERO_ADDRESS, Mode, RequestStatus
from contracts.encoding import input_hash
from disputes.game.encoding import input_roots, inputs_hash
from tests.contracts.conftest import TIMEOUT, Env
from tests.contracts.optimistic_fixture import (
    FEE,
    MIN_BOND,
    WINDOW,
    Case,
    MockEnv,
    claimed,
    digits_case,
    m,
    mlp,
    mock_dep,
    model_id,
    register_program,
    requested,
    reverts,
)

__all__ = ["m", "mlp", "mock_dep", "model_id"]  # fixtures used by name

BURN_BPS = 5000


def _burn(amount: int) -> int:
    return amount * BURN_BPS // 10_000


# ---- requests ----


def test_request_commits_to_exactly_the_python_input_roots(
    m: MockEnv, model_id: int, mlp: Case
) -> None:
    rid = requested(m, model_id, mlp)
    ev = m.escrow().optimistic_request(rid)
    assert ev is not None and ev.input == mlp.input and ev.payment == FEE
    want = input_roots(mlp.program, mlp.trace.inputs)
    assert ev.input_roots == want == mlp.trace.slot_roots[: len(mlp.program.inputs)]
    r = m.escrow().get_request(rid)
    assert r.input_hash == inputs_hash(want) and r.status is RequestStatus.OPEN
    assert m.escrow().contract.functions.modeOf(rid).call() == Mode.OPTIMISTIC


def test_a_multi_row_input_has_the_python_root(
    m: MockEnv, registry: Any, chain_env: Env, mock_dep: Deployment
) -> None:
    cnn = digits_case(registry, "digits-cnn")  # input (1, 1, 8, 8): 8 rows of 8
    mid = register_program(m.registry(m.env.provider), cnn.program, b"\x0b" * 32)
    assert m.registry().input_shape_of(mid) == ([8], [8])
    ev = m.escrow().optimistic_request(requested(m, mid, cnn))
    assert ev is not None and ev.input_roots == [cnn.trace.slot_roots[0]]


def test_wrong_input_length_and_size(m: MockEnv, model_id: int, mlp: Case) -> None:
    esc = m.escrow(m.env.client)
    with reverts("BadInputLength", len(mlp.input) - 4, len(mlp.input)):
        esc.request_optimistic(model_id, mlp.input[:-4], FEE)
    with reverts("InputTooLarge", 16385, 16384):
        esc.request_optimistic(model_id, b"\x00" * 16385, FEE)


def test_modes_do_not_mix(m: MockEnv, model_id: int, mlp: Case) -> None:
    zk = m.registry(m.env.provider).register(b"\x0c" * 32, m.env.mock, FEE, 4, 3)
    esc = m.escrow(m.env.client)
    with reverts("WrongMode", model_id, Mode.OPTIMISTIC):
        esc.request(model_id, input_hash([1, 2, 3, 4]), FEE)
    with reverts("WrongMode", zk, Mode.ZK):
        esc.request_optimistic(zk, mlp.input, FEE)
    opt_rid = requested(m, model_id, mlp)
    with reverts("WrongMode", model_id, Mode.OPTIMISTIC):
        m.escrow(m.env.provider).fulfill(opt_rid, b"\x01", [1, 2, 3, 4, 5, 6, 7])
    zk_rid = esc.request(zk, input_hash([1, 2, 3, 4]), FEE)
    with reverts("WrongMode", zk, Mode.ZK):
        m.escrow(m.env.provider).claim(zk_rid, mlp.output, mlp.final, mlp.output_proof, MIN_BOND)


# ---- claims ----


def test_the_honest_claim_is_recorded(m: MockEnv, model_id: int, mlp: Case) -> None:
    rid = requested(m, model_id, mlp)
    tx = m.escrow(m.env.provider).claim(rid, mlp.output, mlp.final, mlp.output_proof, MIN_BOND)
    now = m.env.w3.eth.get_block(tx.block_number)["timestamp"]
    c = m.escrow().get_claim(rid)
    assert (c.provider, c.model_id, c.final_checkpoint) == (
        m.env.provider.address,
        model_id,
        mlp.final,
    )
    assert (c.bond, c.window_end, c.open_games, c.status) == (
        MIN_BOND,
        now + WINDOW,
        0,
        RequestStatus.CLAIMED,
    )
    assert c.input_hash == inputs_hash(input_roots(mlp.program, mlp.trace.inputs))
    assert (c.challenger, c.prove_deadline, c.challenger_bond) == (ZERO_ADDRESS, 0, 0)
    assert m.escrow().output_hash(rid) == keccak(mlp.output)
    assert m.escrow().claimed_output(rid) == mlp.output
    assert not m.escrow().is_finalized(rid)
    m.env.node.increase_time(TIMEOUT + 1)
    with reverts("AlreadySettled", rid):  # a claimed request is no longer refundable
        m.escrow(m.env.client).refund(rid)


def test_an_output_not_in_the_checkpoint_is_refused(m: MockEnv, model_id: int, mlp: Case) -> None:
    rid = requested(m, model_id, mlp)
    esc = m.escrow(m.env.provider)
    wrong = bytearray(mlp.output)
    wrong[3] ^= 1  # the first value off by one
    with reverts("OutputNotInCheckpoint"):
        esc.claim(rid, bytes(wrong), mlp.final, mlp.output_proof, MIN_BOND)
    n = len(mlp.program.steps)  # P_{n-1}: the output slot is still empty there
    earlier = mlp.trace.checkpoint(n - 2)
    proof = mlp.trace.checkpoint_proof(n - 2, mlp.program.output_slot)
    with reverts("OutputNotInCheckpoint"):
        esc.claim(rid, mlp.output, earlier, proof, MIN_BOND)
    with reverts("WrongDepth", len(proof) - 1, len(proof)):
        esc.claim(rid, mlp.output, mlp.final, mlp.output_proof[:-1], MIN_BOND)
    with reverts("BadOutputLength", len(mlp.output) - 4, len(mlp.output)):
        esc.claim(rid, mlp.output[:-4], mlp.final, mlp.output_proof, MIN_BOND)


def test_claim_needs_bond_provider_and_time(m: MockEnv, model_id: int, mlp: Case) -> None:
    rid = requested(m, model_id, mlp)
    args = (mlp.output, mlp.final, mlp.output_proof)
    with reverts("BondTooLow", MIN_BOND - 1, MIN_BOND):
        m.escrow(m.env.provider).claim(rid, *args, MIN_BOND - 1)
    with reverts("NotProvider", m.env.other.address, m.env.provider.address):
        m.escrow(m.env.other).claim(rid, *args, MIN_BOND)
    m.env.node.increase_time(TIMEOUT + 1)
    with reverts("DeadlinePassed"):
        m.escrow(m.env.provider).claim(rid, *args, MIN_BOND)


def test_a_second_claim_is_refused(m: MockEnv, model_id: int, mlp: Case) -> None:
    rid = claimed(m, model_id, mlp)
    with reverts("AlreadySettled", rid):
        m.escrow(m.env.provider).claim(rid, mlp.output, mlp.final, mlp.output_proof, MIN_BOND)


# ---- finalize ----


def test_finalize_waits_for_the_window_then_pays_fee_and_bond(
    m: MockEnv, model_id: int, mlp: Case
) -> None:
    bond = MIN_BOND + 5
    rid = claimed(m, model_id, mlp, bond)
    with reverts("WindowOpen"):
        m.escrow(m.env.other).finalize(rid)
    m.env.node.increase_time(WINDOW + 1)
    m.escrow(m.env.other).finalize(rid)  # anyone may finalize; no callback, no output needed
    esc = m.escrow()
    assert esc.get_request(rid).status is RequestStatus.FULFILLED and esc.is_finalized(rid)
    assert esc.credits(m.env.provider.address) == FEE + bond
    assert esc.credits(m.env.other.address) == 0
    before = m.env.balance(m.env.provider)
    tx = m.escrow(m.env.provider).withdraw()
    assert m.env.balance(m.env.provider) == before + FEE + bond - tx.fee_wei
    with reverts("ClaimNotOpen", rid):
        m.escrow(m.env.other).finalize(rid)


def test_finalize_waits_for_open_games(m: MockEnv, model_id: int, mlp: Case) -> None:
    rid = claimed(m, model_id, mlp)
    m.open_game(rid)
    assert m.escrow().get_claim(rid).open_games == 1
    m.env.node.increase_time(WINDOW + 1)
    with reverts("GamesOpen", 1):
        m.escrow(m.env.other).finalize(rid)
    m.resolve_game(rid, False, m.env.other.address)  # the provider won its game
    m.escrow(m.env.other).finalize(rid)
    assert m.escrow().credits(m.env.provider.address) == FEE + MIN_BOND
    assert m.escrow().credits(m.env.other.address) == 0


def test_finalize_of_no_claim(m: MockEnv, model_id: int, mlp: Case) -> None:
    rid = requested(m, model_id, mlp)
    with reverts("ClaimNotOpen", rid):
        m.escrow(m.env.other).finalize(rid)
    with reverts("UnknownRequest", 999):
        m.escrow(m.env.other).finalize(999)


# ---- game hooks ----


def test_only_the_game_opens_and_only_in_the_window(m: MockEnv, model_id: int, mlp: Case) -> None:
    rid = claimed(m, model_id, mlp)
    fn = m.escrow().contract.functions
    with reverts("NotGame", m.env.other.address):
        send(m.env.w3, m.env.other, fn.gameOpened(rid), core_error_table())
    with reverts("NotGame", m.env.other.address):
        send(
            m.env.w3,
            m.env.other,
            fn.gameResolved(rid, True, m.env.other.address),
            core_error_table(),
        )
    unclaimed = requested(m, model_id, mlp)
    with reverts("ClaimNotOpen", unclaimed):
        m.open_game(unclaimed)
    m.env.node.increase_time(WINDOW + 1)
    with reverts("WindowClosed"):
        m.open_game(rid)
    with reverts("NoOpenGames", rid):
        m.resolve_game(rid, True, m.env.other.address)


def test_a_lost_game_voids_the_claim_once(m: MockEnv, model_id: int, mlp: Case) -> None:
    bond = 3 * MIN_BOND + 1  # odd: the burned half rounds down, the challenger gets the rest
    rid = claimed(m, model_id, mlp, bond)
    m.open_game(rid)
    m.open_game(rid)
    challenger, second = m.env.other.address, m.env.deployer.address
    m.resolve_game(rid, True, challenger)
    esc = m.escrow()
    reward = bond - _burn(bond)
    assert esc.get_request(rid).status is RequestStatus.REFUNDED and not esc.is_finalized(rid)
    assert esc.credits(m.env.client.address) == FEE
    assert esc.credits(challenger) == reward
    assert esc.credits(m.env.provider.address) == 0
    assert esc.burned() == _burn(bond)
    m.resolve_game(rid, True, second)  # a second lost game on a voided claim pays nothing
    assert esc.credits(second) == 0 and esc.credits(challenger) == reward
    assert esc.burned() == _burn(bond)
    assert esc.get_claim(rid).open_games == 0
    # Every wei is someone's credit or burned: fee + bond are all accounted for.
    assert m.balance_of_escrow() == FEE + reward + _burn(bond)
    m.env.node.increase_time(WINDOW + 1)
    with reverts("ClaimNotOpen", rid):
        m.escrow(m.env.other).finalize(rid)


def test_a_game_cannot_open_on_a_voided_claim(m: MockEnv, model_id: int, mlp: Case) -> None:
    rid = claimed(m, model_id, mlp)
    m.open_game(rid)
    m.resolve_game(rid, True, m.env.other.address)
    with reverts("ClaimNotOpen", rid):
        m.open_game(rid)


def test_claim_of_nothing_is_all_zero(m: MockEnv) -> None:
    c = m.escrow().get_claim(12345)
    assert c.status is RequestStatus.NONE and c.bond == 0 and c.provider == ZERO_ADDRESS
