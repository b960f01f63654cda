"""`verinfer models register` on a real anvil for models added by their owners: the CNN's
verifier deployed from its own vk and a real proof settled by the escrow; the transformer's
program registered, an honest claim the watcher leaves alone and finalizes, a forged one it
challenges and wins in a whole game against the cheating provider's agent."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from typer.testing import CliRunner
from web3 import Web3

from api.cli import app
from contracts.bindings import CoreParams, Deployment, connect, deploy_core
from contracts.chain import Anvil, increase_time, revert_to, snapshot
from contracts.clients import EscrowClient, RegistryClient
from contracts.compiler import compile_file
from contracts.game_client import GameClient, Reason
from contracts.records import Mode, RequestStatus
from contracts.signer import Signer
from disputes.commitments import merkle
from disputes.execution.executor import load_program
from disputes.game.agent import Agent
from disputes.game.encoding import input_bytes, output_bytes
from disputes.game.store import GameStore
from disputes.game.traces import Programs
from disputes.game.view import CorruptStep
from disputes.game.watch import Watcher
from disputes.tracing.trace import Trace, trace
from models.calibration import CALIBRATION_FILE, load_samples
from models.card import ModelCard
from models.onchain import registrations
from models.registry import Registry
from prover.pipeline import ZkProver
from verinfer.field import input_hash
from verinfer.settings import Settings

pytestmark = pytest.mark.slow
runner = CliRunner()
FEE = 10**15
MIN_BOND = 10**16
WINDOW = 3600
TRANSFORMER = "user-transformer"


@dataclass
class Net:
    node: Anvil
    w3: Web3
    dep: Deployment
    dep_path: Path
    provider: Signer
    client: Signer
    watcher: Signer
    provider_key: str

    def escrow(self, who: Signer | None = None) -> EscrowClient:
        return EscrowClient(self.w3, self.dep.escrow, who)

    def registry(self) -> RegistryClient:
        return RegistryClient(self.w3, self.dep.registry)


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    with Anvil() as node:
        w3 = connect(node.rpc_url)
        deployer, provider, client, watcher = (
            Signer.from_private_key(a.private_key) for a in node.accounts[:4]
        )
        dep = deploy_core(w3, deployer, 600, CoreParams(challenge_window=WINDOW))
        path = tmp_path_factory.mktemp("chain") / "deployment.json"
        dep.save(path)
        key = node.accounts[1].private_key
        yield Net(node, w3, dep, path, provider, client, watcher, key)


@pytest.fixture
def fresh(net: Net) -> Iterator[Net]:
    snap = snapshot(net.node.rpc_url)
    yield net
    revert_to(net.node.rpc_url, snap)


def register(net: Net, name: str) -> dict[str, Any]:
    """`verinfer models register NAME …` as a user runs it; its JSON answer."""
    args = ["models", "register", name, "--rpc-url", net.node.rpc_url]
    args += ["--private-key", net.provider_key, "--deployment", str(net.dep_path)]
    args += ["--fee", str(FEE), "--min-bond", str(MIN_BOND), "--json"]
    run = runner.invoke(app, args)
    assert run.exit_code == 0, run.output
    assert net.provider_key not in run.output and net.provider_key[2:] not in run.output
    out: dict[str, Any] = json.loads(run.stdout)
    return out


# ---- zk ----


def test_a_zk_model_gets_its_own_verifier_and_a_proof_settles(
    fresh: Net, cnn_card: ModelCard, cli_data: Settings, cnn_calibration: Path
) -> None:
    out = register(fresh, "user-cnn")
    mid, reg = out["model_id"], fresh.registry()
    assert reg.mode_of(mid) == Mode.ZK and reg.layout_of(mid) == (100, 5)
    info = reg.get_model(mid)
    assert info.verifier == out["verifier"] and info.owner == fresh.provider.address
    assert "0x" + info.commitment.hex() == cnn_card.commitment and info.fee == FEE
    prover = ZkProver.load_prepared("user-cnn", settings=cli_data)
    ours = compile_file(prover.solidity_verifier_path(), "Halo2Verifier").deployed_bytecode
    deployed = fresh.w3.eth.get_code(Web3.to_checksum_address(out["verifier"]))
    assert bytes(deployed) == bytes.fromhex(ours.removeprefix("0x"))
    x = np.load(cnn_calibration)["x"][5]
    bundle = prover.prove(x)
    rid = fresh.escrow(fresh.client).request(mid, input_hash(bundle.input_instances()), FEE)
    res = fresh.escrow(fresh.provider).fulfill(rid, *bundle.calldata())
    assert res.outputs == bundle.instance_ints()[bundle.n_inputs :]
    assert fresh.escrow().is_finalized(rid)
    ref = ort.InferenceSession(str(Registry.default().onnx_path("user-cnn"))).run(None, {"x": x})
    assert int(np.argmax(bundle.outputs)) == int(np.argmax(ref[0]))
    recorded = registrations(Registry.default(), "user-cnn")[-1]
    assert recorded.model_id == mid and recorded.chain_id == fresh.dep.chain_id


def test_a_zk_on_demand_model_registers_on_demand(
    fresh: Net, cnn_card: ModelCard, cli_data: Settings
) -> None:
    # The same circuit under another card (mode zk-on-demand): its tuned record and keys are
    # the CNN's, found by commitment, so no second tuning is needed for this test.
    reg = Registry.default()
    target = reg.root / "user-cnn-on-demand"
    shutil.copytree(reg.model_dir("user-cnn"), target)
    (target / "registrations.json").unlink(missing_ok=True)
    card = cnn_card.model_copy(update={"name": target.name, "mode": "zk-on-demand"})
    card.save(target / "card.json")
    try:
        out = register(fresh, target.name)
        r = fresh.registry()
        assert r.mode_of(out["model_id"]) == Mode.ON_DEMAND
        assert r.min_bond_of(out["model_id"]) == MIN_BOND
        assert r.layout_of(out["model_id"]) == (100, 5)
    finally:
        shutil.rmtree(target)


# ---- optimistic ----


@dataclass(frozen=True)
class Run:
    """One request's honest run of the transformer, and its request bytes."""

    trace: Trace
    data: bytes
    output: bytes


def _run(name: str) -> Run:
    reg = Registry.default()
    program = load_program(reg.onnx_path(name))
    x = load_samples(reg.model_dir(name) / CALIBRATION_FILE)["x"][0]
    inputs = {"x": x}
    tr = trace(program, inputs)
    out = tr.slot_tensor(program.output_slot)
    return Run(tr, input_bytes(program, inputs), output_bytes(out))


def _forged(tr: Trace) -> CorruptStep:
    return CorruptStep(tr, 1, row=0, col=3, delta=5)


def _claim(net: Net, mid: int, run: Run, forged: bool) -> int:
    rid = net.escrow(net.client).request_optimistic(mid, run.data, value=FEE)
    p, n = run.trace.program, len(run.trace.program.steps)
    if forged:
        view = _forged(run.trace)
        final = view.point(n)
        proof = merkle.checkpoint_proof(view.slot_roots(), p.n_slots, p.output_slot)
    else:
        final, proof = run.trace.checkpoint(n - 1), run.trace.checkpoint_proof(n - 1, p.output_slot)
    net.escrow(net.provider).claim(rid, run.output, final, proof, bond=MIN_BOND)
    return rid


def test_an_optimistic_model_is_registered_and_its_claims_judged(
    fresh: Net, transformer_card: ModelCard, cli_data: Settings, tmp_path: Path
) -> None:
    out = register(fresh, TRANSFORMER)
    mid, reg = out["model_id"], fresh.registry()
    assert reg.mode_of(mid) == Mode.OPTIMISTIC and reg.min_bond_of(mid) == MIN_BOND
    root = reg.program_of(mid).program_root
    assert "0x" + root.hex() == transformer_card.extra["program_root"] == out["program_root"]
    run = _run(TRANSFORMER)
    honest, forged = _claim(fresh, mid, run, False), _claim(fresh, mid, run, True)
    store = GameStore(f"sqlite:///{tmp_path / 'watcher.db'}")
    # The watcher finds the user model through the data dir, as `verinfer watch` would.
    watcher = Watcher.connect(fresh.w3, fresh.dep, fresh.watcher, store, Programs.built())
    report = watcher.poll()
    assert report.claims == [honest, forged] and report.errors == []
    game = GameClient(fresh.w3, fresh.dep.game)
    assert game.games_of(honest) == [] and report.opened == game.games_of(forged)
    (gid,) = report.opened
    cheater = Agent.connect(
        fresh.w3,
        fresh.dep,
        fresh.provider,
        GameStore(f"sqlite:///{tmp_path / 'provider.db'}"),
        Programs.built([TRANSFORMER]),
        views=lambda role, tr: _forged(tr),
    )
    for _ in range(400):
        if game.get_game(gid).phase.over:
            break
        cheater.advance(gid)
        watcher.poll()
    resolution = game.resolution_of(gid)
    assert resolution is not None and resolution.winner == fresh.watcher.address
    assert resolution.reason == Reason.ONE_STEP  # played to the one-step proof, not a timeout
    esc = fresh.escrow()
    assert esc.get_claim(forged).status == RequestStatus.REFUNDED
    assert esc.credits(fresh.client.address) == FEE
    increase_time(fresh.node.rpc_url, WINDOW + 1)
    fresh.escrow(fresh.watcher).finalize(honest)
    assert esc.get_request(honest).status == RequestStatus.FULFILLED
