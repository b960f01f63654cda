"""`kill -9` of the serving gateway while it fulfils a paid request, then a restart: fulfilled once.

The chain's automining is turned off so that "during a fulfilment" is a moment the test can
hold: the gateway has signed its claim and sent it, and the claim sits in the mempool. The
process is then killed with SIGKILL (no shutdown code of ours runs) and restarted on the same
database, in both orders a crash can leave the transaction in: mined while the gateway was
dead, or still pending when it comes back. Each request ends with exactly one ``Claimed``
event, and the provider's account never sent anything else (its nonce counts every
transaction it ever made).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from web3 import Web3

from disputes.game.encoding import input_bytes
from models.minilm import tokenize
from tests.api.modes_fixtures import MiniLM, minilm
from tests.e2e.optimistic_stack import FEE, Chain, chain, claim_state, kill9, serving
from tests.e2e.served import Served, wait_for

__all__ = ["minilm"]  # a fixture used by name

pytestmark = pytest.mark.slow


def _paid(c: Chain, m: MiniLM, mid: int, sentence: str) -> int:
    """The client's paid request, mined by hand (automining is off)."""
    ids, mask = tokenize([sentence])
    data = input_bytes(m.backend.program, {"input_ids": ids, "attention_mask": mask})
    out: list[int] = []
    t = threading.Thread(
        target=lambda: out.append(c.escrow(c.client).request_optimistic(mid, data, FEE))
    )
    t.start()
    _until(lambda: c.pending_of(c.client) == 1, "the client's request in the mempool")
    c.mine()
    t.join(60)
    return out[0]


def _until(fn: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fn():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout:.0f}s")


def _claim_in_mempool(c: Chain, served: Served, rid: int) -> None:
    wait_for(lambda: c.pending_of(c.provider) == 1, f"the claim of {rid} sent", served, 300)
    assert c.events("Claimed", rid) == []  # sent, not mined: the gateway waits for it


def _nonce(c: Chain) -> int:
    return int(c.w3.eth.get_transaction_count(Web3.to_checksum_address(c.provider.address)))


def test_kill_9_during_a_fulfilment_then_restart_fulfils_once(
    tmp_path: Path, minilm: MiniLM
) -> None:
    with chain(tmp_path) as c:
        mid = c.register(c.provider, minilm.backend.program, minilm.card)
        sent_before = _nonce(c)
        with serving(tmp_path, c, stop=False) as served:
            c.automine(False)
            first = _paid(c, minilm, mid, "The claim lands while the gateway is dead.")
            _claim_in_mempool(c, served, first)
            kill9(served)
        c.mine()  # mined with nobody watching
        assert len(c.events("Claimed", first)) == 1
        with serving(tmp_path, c, stop=False) as served:
            body = _wait_claimed(served, first)
            mined = bytes(c.events("Claimed", first)[0]["transactionHash"])
            assert body["claim_tx"] == "0x" + mined.hex()  # the one signed before the kill
            second = _paid(
                c, minilm, mid, "The claim is still pending when the gateway comes back."
            )
            _claim_in_mempool(c, served, second)
            kill9(served)
        with serving(tmp_path, c) as served:  # the same signed bytes are still in the mempool
            assert c.pending_of(c.provider) == 1
            c.mine()
            _wait_claimed(served, second)
            assert c.pending_of(c.provider) == 0
        for rid in (first, second):
            assert len(c.events("Claimed", rid)) == 1
        assert _nonce(c) == sent_before + 2  # two claims, and not one transaction more


def _wait_claimed(served: Served, rid: int) -> dict[str, object]:
    box: list[dict[str, object]] = []

    def look() -> bool:
        body = claim_state(served, rid, "claimed")
        if body:
            box.append(body)
        return bool(body)

    wait_for(look, f"request {rid} claimed", served, 300)
    return box[-1]
