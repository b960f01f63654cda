"""Batched optimistic claims on the real escrow with a MockGame (docs/optimistic.md, "Batched
claims"): one bond for many digits-MLP requests, the root built on-chain from the emitted
leaves, every misuse refused by name at claim time, leaves finalized one by one with their
outputs checked against P_n, and a lost game voiding the whole batch with the bond paid once."""

from __future__ import annotations

from typing import Any

import pytest
from eth_hash.auto import keccak
from web3 import Web3

from contracts.bindings import Deployment, core_error_table, deploy, send
from contracts.build import load_artifact
from contracts.clients import LeafProof, RequestStatus
from contracts.encoding import input_hash
from disputes.errors import AgentError
from disputes.game.batch import MAX_BATCH, Batch, BatchBuilder, Response, leaf_hash
from tests.contracts.conftest import TIMEOUT, Env
from tests.contracts.optimistic_fixture import (
    FEE,
    MIN_BOND,
    NO_CALLBACK,
    WINDOW,
    Case,
    MockEnv,
    digits_case,
    m,
    mock_dep,
    mock_model,
    register_program,
    requested,
    reverts,
)

__all__ = ["m", "mock_dep"]  # fixtures used by name

BURN_BPS = 5000


@pytest.fixture(scope="module")
def cases(registry: Any) -> list[Case]:
    """Three digits-MLP runs on different test images (different P_n and outputs)."""
    return [digits_case(registry, "digits-mlp", sample=k) for k in range(3)]


@pytest.fixture(scope="module")
def model_id(chain_env: Env, mock_dep: Deployment, cases: list[Case]) -> int:
    return mock_model(chain_env, mock_dep, cases[0].program)


def _requests(
    m: MockEnv, model_id: int, cases: list[Case], cb: tuple[str, int] = NO_CALLBACK
) -> list[int]:
    return [requested(m, model_id, c, cb) for c in cases]


def _responses(rids: list[int], cases: list[Case]) -> dict[int, Response]:
    return {
        r: Response(r, c.final, c.output, c.output_proof) for r, c in zip(rids, cases, strict=False)
    }


def _claimed(m: MockEnv, model_id: int, cases: list[Case]) -> tuple[int, Batch, list[int]]:
    """Requests for `cases`, claimed in one batch with the least bond; (batch id, batch, ids)."""
    rids = _requests(m, model_id, cases)
    batch = Batch.of([(r, c.final) for r, c in zip(rids, cases, strict=True)])
    bid = m.escrow(m.env.provider).claim_batch(rids, batch.checkpoints, len(rids) * MIN_BOND)
    return bid, batch, rids


def _finalize(m: MockEnv, batch: Batch, resp: Response) -> Any:
    leaf = batch.leaf(resp.request_id)
    return m.escrow(m.env.other).finalize_leaf(leaf, resp.output, resp.output_proof)


# ---- claiming ----


def test_a_batch_records_its_root_and_marks_every_request(
    m: MockEnv, model_id: int, cases: list[Case]
) -> None:
    bid, batch, rids = _claimed(m, model_id, cases)
    esc = m.escrow()
    ev = esc.batch_claim(bid)
    assert ev is not None and ev.request_ids == rids and ev.provider == m.env.provider.address
    assert ev.root == batch.root and ev.model_id == model_id and ev.bond == 3 * MIN_BOND
    assert Batch.of_claim(ev) == batch  # a watcher rebuilds the same tree from the event
    info = esc.get_batch(bid)
    assert (info.root, info.count, info.bond, info.window_end) == (batch.root, 3, 3 * MIN_BOND,
                                                                    ev.window_end)  # fmt: skip
    assert not info.lost and not info.bond_paid and info.open_games == 0
    for r in rids:
        claim = esc.get_claim(r)
        assert claim.status is RequestStatus.BATCHED and esc.batch_id_of(r) == bid
        assert (claim.window_end, claim.bond) == (ev.window_end, 3 * MIN_BOND)
        assert esc.get_request(r).status is RequestStatus.BATCHED


def test_the_bond_scales_with_the_count(m: MockEnv, model_id: int, cases: list[Case]) -> None:
    rids = _requests(m, model_id, cases)
    esc = m.escrow(m.env.provider)
    with reverts("BondTooLow", 3 * MIN_BOND - 1, 3 * MIN_BOND):
        esc.claim_batch(rids, [c.final for c in cases], 3 * MIN_BOND - 1)
    assert [esc.get_claim(r).status for r in rids] == [RequestStatus.OPEN] * 3  # nothing kept


def test_malformed_batches_are_refused(m: MockEnv, model_id: int, cases: list[Case]) -> None:
    rids = _requests(m, model_id, cases)
    esc, finals = m.escrow(m.env.provider), [c.final for c in cases]
    with reverts("EmptyBatch"):
        esc.claim_batch([], [], MIN_BOND)
    with reverts("LengthMismatch", 3, 2):
        esc.claim_batch(rids, finals[:2], 3 * MIN_BOND)
    with reverts("BatchTooLarge", MAX_BATCH + 1, MAX_BATCH):
        esc.claim_batch([rids[0]] * (MAX_BATCH + 1), [finals[0]] * (MAX_BATCH + 1), MIN_BOND)
    with reverts("AlreadySettled", rids[0]):  # the same request twice in one batch
        esc.claim_batch([rids[0], rids[0]], finals[:2], 2 * MIN_BOND)
    with reverts("UnknownRequest", 999):
        esc.claim_batch([rids[0], 999], finals[:2], 2 * MIN_BOND)


def test_only_the_provider_of_every_request_may_batch_it(
    m: MockEnv, model_id: int, cases: list[Case]
) -> None:
    rids = _requests(m, model_id, cases)
    finals = [c.final for c in cases]
    with reverts("NotProvider", m.env.other.address, m.env.provider.address):
        m.escrow(m.env.other).claim_batch(rids, finals, 3 * MIN_BOND)
    # another provider's model, requested by the same client, cannot ride in this batch
    foreign = register_program(m.registry(m.env.other), cases[0].program, b"\x0e" * 32)
    theirs = m.escrow(m.env.client).request_optimistic(foreign, cases[0].input, FEE)
    with reverts("NotProvider", m.env.provider.address, m.env.other.address):
        m.escrow(m.env.provider).claim_batch([rids[0], theirs], finals[:2], 2 * MIN_BOND)


def test_one_batch_holds_one_model_of_one_mode(
    m: MockEnv, model_id: int, cases: list[Case]
) -> None:
    rids = _requests(m, model_id, cases[:1])
    cheap = register_program(m.registry(m.env.provider), cases[0].program, b"\x0f" * 32, 1)
    other = m.escrow(m.env.client).request_optimistic(cheap, cases[0].input, FEE)
    finals = [cases[0].final] * 2
    with reverts("MixedModels", other, cheap, model_id):  # its bond would be the wrong one
        m.escrow(m.env.provider).claim_batch([rids[0], other], finals, 2 * MIN_BOND)
    zk = m.registry(m.env.provider).register(b"\x10" * 32, m.env.mock, FEE, 4, 3)
    zk_rid = m.escrow(m.env.client).request(zk, input_hash([1, 2, 3, 4]), FEE)
    with reverts("WrongMode"):
        m.escrow(m.env.provider).claim_batch([zk_rid], finals[:1], MIN_BOND)


def test_a_late_leaf_is_refused(m: MockEnv, model_id: int, cases: list[Case]) -> None:
    early = _requests(m, model_id, cases[:1])
    m.env.node.increase_time(TIMEOUT // 2)
    fresh = _requests(m, model_id, cases[1:2])
    m.env.node.increase_time(TIMEOUT // 2 + 1)  # past the first request's deadline only
    deadline = m.escrow().get_request(early[0]).deadline
    with reverts("DeadlinePassed", early[0], deadline):
        m.escrow(m.env.provider).claim_batch(fresh + early, [c.final for c in cases[:2]],
                                             2 * MIN_BOND)  # fmt: skip
    m.escrow(m.env.provider).claim_batch(fresh, [cases[1].final], MIN_BOND)


def test_a_request_is_claimed_once_single_or_batched(
    m: MockEnv, model_id: int, cases: list[Case]
) -> None:
    c = cases[0]
    single, batched = _requests(m, model_id, [c, c])
    prov = m.escrow(m.env.provider)
    prov.claim(single, c.output, c.final, c.output_proof, MIN_BOND)
    with reverts("AlreadySettled", single):
        prov.claim_batch([single], [c.final], MIN_BOND)
    prov.claim_batch([batched], [c.final], MIN_BOND)
    with reverts("AlreadySettled", batched):
        prov.claim(batched, c.output, c.final, c.output_proof, MIN_BOND)
    with reverts("AlreadySettled", batched):  # nor again in a second batch
        prov.claim_batch([batched], [c.final], MIN_BOND)


def test_refunds_and_batches_exclude_each_other(
    m: MockEnv, model_id: int, cases: list[Case]
) -> None:
    stale, batched = _requests(m, model_id, cases[:2])
    m.escrow(m.env.provider).claim_batch([batched], [cases[1].final], MIN_BOND)
    m.env.node.increase_time(TIMEOUT + 1)
    m.escrow(m.env.other).refund(stale)
    with reverts("AlreadySettled", batched):  # answered in time: the client cannot take it back
        m.escrow(m.env.client).refund(batched)
    fresh = _requests(m, model_id, cases[:1])[0]
    with reverts("AlreadySettled", stale):  # a refunded request is never claimed afterwards
        m.escrow(m.env.provider).claim_batch([fresh, stale], [cases[0].final] * 2, 2 * MIN_BOND)


# ---- finalizing ----


def test_an_honest_batch_finalizes_leaf_by_leaf(
    m: MockEnv, model_id: int, cases: list[Case]
) -> None:
    bid, batch, rids = _claimed(m, model_id, cases)
    resp = _responses(rids, cases)
    with reverts("WindowOpen", rids[0], m.escrow().get_batch(bid).window_end):
        _finalize(m, batch, resp[rids[0]])
    m.env.node.increase_time(WINDOW + 1)
    esc = m.escrow()
    for k, r in enumerate(rids):
        _finalize(m, batch, resp[r])
        # the whole bond comes back once, with the first leaf
        assert esc.credits(m.env.provider.address) == (k + 1) * FEE + 3 * MIN_BOND
        assert esc.get_batch(bid).bond_paid
        req = esc.get_request(r)
        assert req.status is RequestStatus.FULFILLED and esc.is_finalized(r)
        assert req.output_hash == keccak(resp[r].output) == esc.output_hash(r)
    with reverts("ClaimNotOpen", rids[0]):  # a replay pays nothing twice
        _finalize(m, batch, resp[rids[0]])
    assert m.balance_of_escrow() == 3 * FEE + 3 * MIN_BOND  # everything still withdrawable


def test_finalize_checks_the_leaf_and_its_output(
    m: MockEnv, model_id: int, cases: list[Case]
) -> None:
    bid, batch, rids = _claimed(m, model_id, cases)
    m.env.node.increase_time(WINDOW + 1)
    r, c = rids[1], cases[1]
    esc, leaf = m.escrow(m.env.other), batch.leaf(rids[1])
    bad = [
        LeafProof(r, cases[0].final, leaf.index, leaf.proof),  # another P_n
        LeafProof(r, c.final, leaf.index ^ 1, leaf.proof),  # another position
        LeafProof(r, c.final, 3, batch.leaf(rids[2]).proof),  # a padding position
        LeafProof(r, c.final, leaf.index, batch.leaf(rids[0]).proof),  # a neighbour's proof
    ]
    for wrong in bad:
        with reverts("LeafNotInBatch", r, bid):
            esc.finalize_leaf(wrong, c.output, c.output_proof)
    with reverts("WrongDepth", 1, 2):
        esc.finalize_leaf(LeafProof(r, c.final, 1, leaf.proof[:1]), c.output, c.output_proof)
    with reverts("OutputNotInCheckpoint"):  # the output of another image under this P_n
        esc.finalize_leaf(leaf, cases[0].output, cases[0].output_proof)
    with reverts("BadOutputLength", len(c.output) - 4, len(c.output)):
        esc.finalize_leaf(leaf, c.output[:-4], c.output_proof)
    with reverts("ClaimNotOpen", r):  # the single-claim path refuses an unopened leaf
        esc.finalize(r, c.output)
    esc.finalize_leaf(leaf, c.output, c.output_proof)


def test_the_callback_gets_the_checked_output(m: MockEnv, model_id: int, cases: list[Case]) -> None:
    art = load_artifact("ExampleConsumer")
    address = deploy(m.env.w3, m.env.deployer, art, m.dep.escrow)
    consumer = m.env.w3.eth.contract(address=Web3.to_checksum_address(address), abi=art.abi)
    rids = _requests(m, model_id, cases[:2], cb=(consumer.address, 300_000))
    batch = Batch.of([(r, c.final) for r, c in zip(rids, cases[:2], strict=True)])
    m.escrow(m.env.provider).claim_batch(rids, batch.checkpoints, 2 * MIN_BOND)
    m.env.node.increase_time(WINDOW + 1)
    _finalize(m, batch, _responses(rids, cases)[rids[1]])
    f = consumer.functions
    assert (f.lastRequestId().call(), f.lastOutput().call()) == (rids[1], cases[1].output)
    assert f.lastWasFinal().call() and f.received().call() == 1


# ---- games on a leaf ----


def _mock_game(m: MockEnv) -> Any:
    return m.game().functions


def test_a_leaf_opens_once_in_the_window_and_blocks_the_batch(
    m: MockEnv, model_id: int, cases: list[Case]
) -> None:
    bid, batch, rids = _claimed(m, model_id, cases)
    esc = m.escrow(m.env.other)
    with reverts("ClaimNotOpen", rids[1]):  # a game needs the leaf opened first
        m.open_game(rids[1])
    esc.open_leaf(batch.leaf(rids[1]))
    claim = m.escrow().get_claim(rids[1])
    assert claim.status is RequestStatus.CLAIMED and claim.final_checkpoint == cases[1].final
    with reverts("AlreadyOpen", rids[1]):
        esc.open_leaf(batch.leaf(rids[1]))
    m.open_game(rids[1])
    assert m.escrow().get_batch(bid).open_games == 1
    assert m.escrow().get_claim(rids[0]).open_games == 1  # it blocks every leaf
    m.env.node.increase_time(WINDOW + 1)
    with reverts("WindowClosed", rids[0], m.escrow().get_batch(bid).window_end):
        esc.open_leaf(batch.leaf(rids[0]))
    resp = _responses(rids, cases)
    with reverts("GamesOpen", 1):
        _finalize(m, batch, resp[rids[0]])
    m.resolve_game(rids[1], False, m.env.other.address)  # the provider won
    with reverts("InBatch", rids[1], bid):  # an opened leaf still settles as a leaf
        esc.finalize(rids[1], cases[1].output)
    for r in rids:
        _finalize(m, batch, resp[r])
    assert m.escrow().credits(m.env.provider.address) == 3 * FEE + 3 * MIN_BOND


def test_a_lost_game_voids_the_whole_batch(m: MockEnv, model_id: int, cases: list[Case]) -> None:
    bid, batch, rids = _claimed(m, model_id, cases)
    esc, bond = m.escrow(m.env.other), 3 * MIN_BOND
    for r in rids[:2]:
        esc.open_leaf(batch.leaf(r))
        m.open_game(r)
    m.resolve_game(rids[1], True, m.env.other.address)
    reward = bond - bond * BURN_BPS // 10_000
    assert esc.credits(m.env.other.address) == reward and esc.burned() == bond - reward
    assert esc.credits(m.env.client.address) == FEE  # the lost leaf's client, at once
    info = m.escrow().get_batch(bid)
    assert info.lost and info.open_games == 1
    # every other leaf is void: the game sees Refunded (so it cancels their games) ...
    assert [m.escrow().get_claim(r).status for r in rids] == [RequestStatus.REFUNDED] * 3
    m.resolve_game(rids[0], True, m.env.client.address)  # a second win pays nothing more
    assert esc.credits(m.env.client.address) == FEE and esc.burned() == bond - reward
    m.env.node.increase_time(WINDOW + 1)
    with reverts("BatchVoided", bid):  # ... and never becomes final
        _finalize(m, batch, _responses(rids, cases)[rids[2]])
    with reverts("BatchVoided", bid):
        esc.open_leaf(batch.leaf(rids[2]))
    esc.refund_batched(rids)  # anyone: the clients' money, no proof needed
    assert esc.credits(m.env.client.address) == 3 * FEE
    assert [m.escrow().get_request(r).status for r in rids] == [RequestStatus.REFUNDED] * 3
    esc.refund_batched(rids)  # refunded ones are skipped: nothing is paid twice
    assert esc.credits(m.env.client.address) == 3 * FEE
    assert m.balance_of_escrow() == 3 * FEE + bond  # credits + burned: nothing left over


def test_refund_batched_needs_a_lost_batch(m: MockEnv, model_id: int, cases: list[Case]) -> None:
    bid, _, rids = _claimed(m, model_id, cases[:2])
    single = _requests(m, model_id, cases[:1])[0]
    esc = m.escrow(m.env.other)
    with reverts("BatchNotVoided", bid):
        esc.refund_batched(rids)
    with reverts("NotBatched", single):
        esc.refund_batched([single])
    with reverts("BatchTooLarge", MAX_BATCH + 1, MAX_BATCH):
        esc.refund_batched([rids[0]] * (MAX_BATCH + 1))
    with reverts("NotBatched", single):
        esc.open_leaf(LeafProof(single, cases[0].final, 0, []))


def test_only_the_game_reports_games(m: MockEnv, model_id: int, cases: list[Case]) -> None:
    _, batch, rids = _claimed(m, model_id, cases[:1])
    esc = m.escrow(m.env.other)
    esc.open_leaf(batch.leaf(rids[0]))
    fn = esc.contract.functions.gameResolved(rids[0], True, m.env.other.address)
    with reverts("NotGame", m.env.other.address):
        send(m.env.w3, m.env.other, fn, core_error_table())
    with reverts("NoOpenGames", rids[0]):
        m.resolve_game(rids[0], True, m.env.other.address)


def test_a_full_batch_claims_and_refunds_in_one_transaction_each(
    m: MockEnv, model_id: int, cases: list[Case]
) -> None:
    c = cases[0]
    rids = _requests(m, model_id, [c] * MAX_BATCH)
    batch = Batch.of([(r, c.final) for r in rids])
    bid = m.escrow(m.env.provider).claim_batch(rids, batch.checkpoints, MAX_BATCH * MIN_BOND)
    assert m.escrow().get_batch(bid).root == batch.root  # a depth-8 tree, built on-chain
    last = rids[-1]
    m.escrow(m.env.other).open_leaf(batch.leaf(last))
    m.open_game(last)
    m.resolve_game(last, True, m.env.other.address)
    tx = m.escrow(m.env.other).refund_batched(rids)
    assert tx.gas_used < 15_000_000  # the bounded loop fits well inside a block
    assert m.escrow().credits(m.env.client.address) == MAX_BATCH * FEE


def test_the_builder_refuses_what_the_escrow_would() -> None:
    p_n = b"\x01" * 32
    builder = BatchBuilder(2)
    builder.add(Response(1, p_n, b"", []))
    with pytest.raises(AgentError, match="already in the batch"):
        builder.add(Response(1, p_n, b"", []))
    builder.add(Response(2, p_n, b"", []))
    assert builder.full
    with pytest.raises(AgentError, match="full"):
        builder.add(Response(3, p_n, b"", []))
    batch = builder.build()
    assert batch.leaf(2).index == 1 and len(batch.leaf(2).proof) == 1
    with pytest.raises(AgentError, match="not in this batch"):
        batch.leaf(3)
    for bad in ([], [(1, p_n), (1, p_n)], [(k, p_n) for k in range(MAX_BATCH + 1)]):
        with pytest.raises(AgentError):
            Batch.of(bad)
    assert leaf_hash(7, p_n) == keccak(b"\x05" + (7).to_bytes(32, "big") + p_n)
