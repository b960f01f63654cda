"""A request the executor refuses cannot stall a watcher: it is judged unknown, and it moves on.

A hostile client can put any int32 in an optimistic request (here: MiniLM token ids past the
vocabulary). No honest trace exists for it; the watcher must record that and keep following
later claims instead of failing the same block range forever.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from contracts.bindings import connect, deploy_core
from contracts.chain import Anvil
from contracts.clients import EscrowClient, RegistryClient
from contracts.signer import Signer
from disputes.commitments import merkle
from disputes.execution.executor import load_program
from disputes.game.encoding import output_bytes
from disputes.game.register import register_program
from disputes.game.store import GameStore
from disputes.game.traces import Programs
from disputes.game.watch import Watcher
from disputes.program.ir import Program

pytestmark = pytest.mark.slow
FEE, BOND = 10**15, 10**16


@pytest.fixture(scope="module")
def minilm() -> Program:
    from models.registry import Registry

    reg = Registry.default()
    reg.build("minilm-l6")
    return load_program(reg.onnx_path("minilm-l6"))


@pytest.fixture
def node() -> Iterator[Anvil]:
    with Anvil() as n:
        yield n


def _made_up_claim(esc: EscrowClient, program: Program, rid: int) -> None:
    """A claim with an invented output, consistent with an invented final checkpoint."""
    out = np.full(program.slot_shape(program.output_slot), 42, dtype=np.int64)
    roots = [bytes(32)] * program.n_slots
    roots[program.output_slot] = merkle.tensor_root(out)
    final = merkle.checkpoint_root(roots, program.n_slots)
    proof = merkle.checkpoint_proof(roots, program.n_slots, program.output_slot)
    esc.claim(rid, output_bytes(out), final, proof, BOND)


def test_an_unexecutable_request_is_judged_unknown_and_the_watcher_moves_on(
    node: Anvil, minilm: Program, tmp_path: Path
) -> None:
    w3 = connect(node.rpc_url)
    deployer, provider, client, watcher = (
        Signer.from_private_key(a.private_key) for a in node.accounts[:4]
    )
    dep = deploy_core(w3, deployer, 3600)
    model_id = register_program(RegistryClient(w3, dep.registry, provider), minilm, b"\x01" * 32,
                                FEE, BOND)  # fmt: skip
    ids = np.full((1, 128), 10**6, dtype=">i4")  # far past MiniLM's 30,522-token vocabulary
    mask = np.ones((1, 128), dtype=">i4")
    rid = EscrowClient(w3, dep.escrow, client).request_optimistic(
        model_id, ids.tobytes() + mask.tobytes(), FEE
    )
    _made_up_claim(EscrowClient(w3, dep.escrow, provider), minilm, rid)
    store = GameStore(f"sqlite:///{tmp_path / 'w.db'}")
    w = Watcher.connect(w3, dep, watcher, store, Programs.of(minilm=minilm))
    report = w.poll()
    assert report.claims == [rid] and report.opened == []
    rec = store.claim(rid, watcher.address)
    assert rec is not None and rec.verdict == "unknown"
    assert "cannot be executed" in rec.note
    assert w.poll().claims == []  # the cursor moved past it: no retry of the same range
