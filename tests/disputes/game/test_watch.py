"""The watcher in process on a real anvil: which claims it challenges, and how it resumes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from web3 import Web3

from contracts.bindings import CoreParams, Deployment, connect, deploy_core
from contracts.chain import Anvil, increase_time, revert_to, snapshot
from contracts.clients import EscrowClient, RegistryClient
from contracts.game_client import GameClient
from contracts.records import RequestStatus
from contracts.signer import Signer
from disputes.commitments import merkle
from disputes.game.store import GameStore
from disputes.game.traces import Programs
from disputes.game.view import CorruptStep
from disputes.game.watch import Watcher
from tests.contracts.optimistic_fixture import FEE, MIN_BOND, Case, digits_case, register_program

pytestmark = pytest.mark.slow
WINDOW = 3600


@dataclass
class Net:
    node: Anvil
    w3: Web3
    dep: Deployment
    model_id: int
    case: Case
    provider: Signer
    client: Signer
    watcher: Signer

    def request(self) -> int:
        esc = EscrowClient(self.w3, self.dep.escrow, self.client)
        return esc.request_optimistic(self.model_id, self.case.input, value=FEE)

    def claim(self, rid: int, cheat: bool) -> None:
        c, p = self.case, self.case.program
        final, proof = c.final, c.output_proof
        if cheat:
            view = CorruptStep(c.trace, 1, 0, 3, delta=5)
            final = view.point(len(p.steps))
            proof = merkle.checkpoint_proof(view.slot_roots(), p.n_slots, p.output_slot)
        EscrowClient(self.w3, self.dep.escrow, self.provider).claim(
            rid, c.output, final, proof, bond=MIN_BOND
        )

    def watcher_for(self, who: Signer, store: GameStore, programs: Programs) -> Watcher:
        return Watcher.connect(self.w3, self.dep, who, store, programs)

    def games_of(self, rid: int) -> list[int]:
        return GameClient(self.w3, self.dep.game).games_of(rid)


@pytest.fixture(scope="module")
def net(registry: Any) -> Iterator[Net]:
    case = digits_case(registry)
    with Anvil() as node:
        w3 = connect(node.rpc_url)
        deployer, provider, client, watcher = (
            Signer.from_private_key(a.private_key) for a in node.accounts[:4]
        )
        dep = deploy_core(w3, deployer, 3600, CoreParams(challenge_window=WINDOW))
        model_id = register_program(RegistryClient(w3, dep.registry, provider), case.program)
        yield Net(node, w3, dep, model_id, case, provider, client, watcher)


@pytest.fixture
def fresh(net: Net) -> Iterator[Net]:
    snap = snapshot(net.node.rpc_url)
    yield net
    revert_to(net.node.rpc_url, snap)


@pytest.fixture
def store(tmp_path: Path) -> GameStore:
    return GameStore(f"sqlite:///{tmp_path / 'd.db'}")


def _programs(net: Net) -> Programs:
    return Programs.of(**{"digits-mlp": net.case.program})


def test_only_wrong_claims_are_challenged(fresh: Net, store: GameStore) -> None:
    honest, cheated = fresh.request(), fresh.request()
    fresh.claim(honest, cheat=False)
    fresh.claim(cheated, cheat=True)
    report = fresh.watcher_for(fresh.watcher, store, _programs(fresh)).poll()
    assert report.claims == [honest, cheated] and report.errors == []
    assert fresh.games_of(honest) == [] and report.opened == fresh.games_of(cheated)
    me = fresh.watcher.address
    right, wrong = store.claim(honest, me), store.claim(cheated, me)
    assert right is not None and right.verdict == "right"
    assert right.honest == "0x" + fresh.case.final.hex()
    assert wrong is not None and wrong.verdict == "wrong" and wrong.claimed != wrong.honest


def test_a_claim_on_a_model_not_built_here_is_left_alone(fresh: Net, store: GameStore) -> None:
    rid = fresh.request()
    fresh.claim(rid, cheat=True)
    report = fresh.watcher_for(fresh.watcher, store, Programs.of()).poll()
    rec = store.claim(rid, fresh.watcher.address)
    assert rec is not None and rec.verdict == "unknown" and "no local model" in rec.note
    assert report.opened == [] and fresh.games_of(rid) == []


def test_a_restart_before_the_cursor_was_saved_opens_no_second_game(
    fresh: Net, store: GameStore
) -> None:
    rid = fresh.request()
    fresh.claim(rid, cheat=True)
    first = fresh.watcher_for(fresh.watcher, store, _programs(fresh))
    (gid,) = first.poll().opened
    # Crash before the cursor write: the next run reads the same Claimed event again.
    store.set_cursor(first.cursor_name, 0)
    again = fresh.watcher_for(fresh.watcher, GameStore(store.url), _programs(fresh)).poll()
    assert fresh.games_of(rid) == [gid]
    assert again.opened == [gid]  # the game it already had, found on the chain
    opens = [t for t in store.txs(sender=fresh.watcher.address) if t.kind == "open"]
    assert len(opens) == 1


def test_the_provider_finalizes_its_own_unchallenged_claim(fresh: Net, store: GameStore) -> None:
    rid = fresh.request()
    fresh.claim(rid, cheat=False)
    # One data dir for both parties: the watcher's view of the claim does not hide the provider's.
    watcher = fresh.watcher_for(fresh.watcher, store, _programs(fresh))
    provider = fresh.watcher_for(fresh.provider, store, _programs(fresh))
    watcher.poll()
    assert provider.poll().finalized == []  # the window is open
    increase_time(fresh.node.rpc_url, WINDOW + 1)
    assert provider.poll().finalized == [rid]
    esc = EscrowClient(fresh.w3, fresh.dep.escrow)
    assert esc.get_claim(rid).status == RequestStatus.FULFILLED
    assert esc.credits(fresh.provider.address) == 0  # fee and bond withdrawn at once
    assert provider.poll().finalized == [] and watcher.poll().finalized == []
    ours = store.claim(rid, fresh.provider.address)
    assert ours is not None and ours.settled and ours.note == "ours"


def test_a_long_history_is_read_in_bounded_ranges(
    fresh: Net, store: GameStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import disputes.game.watch as watch

    rid = fresh.request()
    fresh.claim(rid, cheat=True)
    claimed_at = int(fresh.w3.eth.block_number)
    monkeypatch.setattr(watch, "MAX_BLOCKS", 3)
    watcher = fresh.watcher_for(fresh.watcher, store, _programs(fresh))
    seen: list[int] = []
    for _ in range(claimed_at // 3 + 1):
        seen += watcher.poll().claims
    assert seen == [rid]
    cursor = store.cursor(watcher.cursor_name)
    assert cursor is not None and claimed_at <= cursor < claimed_at + 3
    assert len(fresh.games_of(rid)) == 1
