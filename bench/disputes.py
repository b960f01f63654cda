"""Dispute games and optimistic settlement on a local anvil: moves, gas and wall time.

For MiniLM and the digits CNN, a provider whose run has one wrong element (in the step with the
most rows, so the descent is the longest) claims; an honest watcher opens a game and both sides
play it with instant answers (the solver over real traces, every move a mined transaction). Per
party: moves and gas; the one-step verification's gas; the wall time of the whole game from
``open`` to the verdict. MiniLM is also played at arities 4, 16 (the deployment default) and 64,
to show what K trades. Beside it, the cost of the paths nobody disputes: an optimistic request,
claim and finalize, and zk on demand (claim, finalize; challenge and proof when challenged)
against the zk path's fulfil, with a real EZKL proof of the digits MLP. Writes
``bench/results/disputes.json`` and ``.md``.

Usage::

    python -m bench disputes
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._machine import machine

RESULTS = Path(__file__).parent / "results"
FEE, BOND = 10**15, 10**17
ARITIES = (4, 16, 64)
TARGET_MOVES, AIM_MOVES, TARGET_S, AIM_S, TARGET_CLAIM = 12, 8, 30.0, 10.0, 150_000


@dataclass
class Chain:
    """A fresh deployment on a running anvil, with the four signers the bench plays."""

    node: Any
    w3: Any
    dep: Any
    provider: Any
    client: Any
    watcher: Any

    def last_gas(self) -> int:
        """Gas of the newest transaction (anvil mines one per block)."""
        block = self.w3.eth.get_block("latest")
        return int(self.w3.eth.get_transaction_receipt(block["transactions"][-1])["gasUsed"])


def _chain(node: Any, arity: int = 16) -> Chain:
    from contracts.bindings import CoreParams, connect, deploy_core
    from contracts.signer import Signer

    w3 = connect(node.rpc_url)
    s = [Signer.from_private_key(a.private_key) for a in node.accounts[:4]]
    dep = deploy_core(w3, s[0], 3600, CoreParams(arity=arity))
    return Chain(node, w3, dep, s[1], s[2], s[3])


def _traces() -> dict[str, Any]:
    from disputes.execution.executor import load_program
    from disputes.tracing.trace import trace
    from models.digits import load_digits_split
    from models.minilm import tokenize
    from models.registry import Registry

    reg = Registry.default()
    reg.build("digits-cnn")
    reg.build("minilm-l6")
    cnn = load_program(reg.onnx_path("digits-cnn"))
    x = load_digits_split().x_test[0].reshape(cnn.inputs[0].shape)
    mini = load_program(reg.onnx_path("minilm-l6"))
    ids, mask = tokenize(["who checks the answer of a large model, and how much does it cost?"])
    return {
        "digits-cnn": trace(cnn, {cnn.inputs[0].name: x}),
        "minilm-l6": trace(mini, {"input_ids": ids, "attention_mask": mask}),
    }


def _register(c: Chain, program: Any, tag: int) -> int:
    from contracts.clients import RegistryClient
    from disputes.game.register import register_program

    reg = RegistryClient(c.w3, c.dep.registry, c.provider)
    return register_program(reg, program, bytes([tag]) * 32, FEE, BOND)


def _claim(c: Chain, view: Any, model_id: int) -> tuple[int, dict[str, int]]:
    """Request and claim from ``view``; the request's and the claim's gas."""
    from contracts.clients import EscrowClient
    from disputes.game.claims import claim_of, request_input

    rid = EscrowClient(c.w3, c.dep.escrow, c.client).request_optimistic(
        model_id, request_input(view), FEE
    )
    gas = {"request": c.last_gas()}
    claim = claim_of(view)
    tx = EscrowClient(c.w3, c.dep.escrow, c.provider).claim(
        rid, claim.output, claim.final_checkpoint, claim.output_proof, BOND
    )
    gas["claim"] = tx.gas_used
    return rid, gas


def _game(c: Chain, tr: Any, cheat: Any, model_id: int) -> dict[str, Any]:
    """One whole game against ``cheat``; moves, gas and wall time per party."""
    from contracts.game_client import GameClient
    from disputes.game.encoding import input_roots
    from disputes.game.local import honest, play_local
    from disputes.game.solver import Role
    from disputes.game.view import TraceView
    from disputes.osp.osp import start_data

    rid, _ = _claim(c, cheat, model_id)
    mine, data = TraceView(tr), start_data(tr.program)
    t0 = time.perf_counter()
    gid = GameClient(c.w3, c.dep.game, c.watcher).open(
        rid, mine.point(len(tr.program.steps)), input_roots(tr.program, tr.inputs),
        data.fill, data.siblings, BOND,
    )  # fmt: skip
    open_gas = c.last_gas()
    rec = play_local(
        GameClient(c.w3, c.dep.game, c.provider), GameClient(c.w3, c.dep.game, c.watcher), gid,
        honest(Role.ASSERTER, cheat), honest(Role.CHALLENGER, mine, tr), c.node.increase_time,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    assert rec.resolution is not None and rec.resolution.winner == c.watcher.address, rec.moves
    ours = [("open", open_gas), *rec.gas_of(Role.CHALLENGER)]
    theirs = rec.gas_of(Role.ASSERTER)
    return {
        "steps": len(tr.program.steps),
        "moves_provider": len(theirs),
        "moves_watcher": len(ours),
        "gas_provider": sum(g for _, g in theirs),
        "gas_watcher": sum(g for _, g in ours),
        "one_step_gas": next(g for f, g in ours if f == "proveElement"),
        "wall_s": round(wall, 2),
        "moves": {"provider": theirs, "watcher": ours},
    }


def _cheat(tr: Any) -> Any:
    """The wrong run: the last element of the step with the deepest tree (the longest descent)."""
    from disputes.commitments import merkle
    from disputes.game.view import CorruptStep

    rows = [merkle.as_rows(tr.tensor(i)).shape for i in range(tr.n_steps)]
    step = max(range(tr.n_steps), key=lambda i: (rows[i][0], -i))
    return CorruptStep(tr, step, rows[step][0] - 1, rows[step][1] - 1, delta=7)


def optimistic(node: Any, traces: dict[str, Any]) -> dict[str, Any]:
    """Games at the default arity, MiniLM at every arity, and an honest claim's lifecycle."""
    from contracts.clients import EscrowClient
    from disputes.game.claims import claim_of
    from disputes.game.view import TraceView

    out: dict[str, Any] = {"games": {}, "arity": {}, "honest": {}}
    for k in ARITIES:
        c = _chain(node, k)
        for tag, (name, tr) in enumerate(traces.items(), start=1):
            if k != 16 and name != "minilm-l6":
                continue
            print(f"  {name}: cheating provider, arity {k} …", flush=True)
            result = _game(c, tr, _cheat(tr), _register(c, tr.program, tag))
            out["arity" if name == "minilm-l6" else "games"].setdefault(name, {})[k] = result
            if k == 16:
                out["games"][name] = result
                model_id = _register(c, tr.program, tag + 10)
                honest = TraceView(tr)
                rid, gas = _claim(c, honest, model_id)
                node.increase_time(c.dep.challenge_window + 1)
                y = claim_of(honest).output
                gas["finalize"] = (
                    EscrowClient(c.w3, c.dep.escrow, c.watcher).finalize(rid, y).gas_used
                )
                out["honest"][name] = gas
    return out


def on_demand(node: Any) -> dict[str, Any]:
    """zk on demand and the zk path with real digits-MLP proofs on one deployment."""
    from contracts.bindings import deploy
    from contracts.clients import EscrowClient, RegistryClient
    from contracts.compiler import compile_file
    from models.digits import load_digits_split
    from prover.pipeline import ZkProver
    from verinfer.field import input_hash

    c = _chain(node)
    prover = ZkProver.for_model("digits-mlp")
    bundle = prover.prove(load_digits_split().x_test[0])
    proof, instances = bundle.calldata()
    n_in = bundle.n_inputs
    art = compile_file(prover.solidity_verifier_path(), "Halo2Verifier")
    verifier = deploy(c.w3, c.provider, art)
    reg = RegistryClient(c.w3, c.dep.registry, c.provider)
    h = input_hash(list(instances[:n_in]))
    n_out = len(instances) - n_in
    zk_id = reg.register(b"\x21" * 32, verifier, FEE, n_in, n_out)
    od_id = reg.register_on_demand(b"\x22" * 32, verifier, FEE, (n_in, n_out), BOND)
    client, prov = (EscrowClient(c.w3, c.dep.escrow, s) for s in (c.client, c.provider))
    watcher = EscrowClient(c.w3, c.dep.escrow, c.watcher)
    gas: dict[str, int] = {}
    rid = client.request(zk_id, h, FEE)
    gas["zk_request"] = c.last_gas()
    gas["zk_fulfil"] = prov.fulfill(rid, proof, instances).tx.gas_used
    rid = client.request(od_id, h, FEE)
    gas["on_demand_claim"] = prov.claim_on_demand(rid, instances[n_in:], BOND).gas_used
    node.increase_time(c.dep.challenge_window + 1)
    gas["on_demand_finalize"] = watcher.finalize(rid).gas_used
    rid = client.request(od_id, h, FEE)
    prov.claim_on_demand(rid, instances[n_in:], BOND)
    gas["on_demand_challenge"] = watcher.challenge_on_demand(rid, BOND).gas_used
    gas["on_demand_prove"] = prov.prove_on_demand(rid, proof, instances).gas_used
    return gas


def table(r: dict[str, Any]) -> str:
    """The README table."""
    rows = [
        "# Dispute games (local anvil, instant answers, one wrong element)",
        "",
        f"Machine: {r['machine']}. K = {r['default_arity']} (the deployment default).",
        "",
        "| model | steps | moves provider / watcher | gas provider / watcher | one-step gas "
        "| game wall time |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, g in r["optimistic"]["games"].items():
        if not isinstance(g, dict) or "steps" not in g:
            continue
        rows.append(
            f"| {name} | {g['steps']} | {g['moves_provider']} / {g['moves_watcher']} "
            f"| {g['gas_provider']:,} / {g['gas_watcher']:,} | {g['one_step_gas']:,} "
            f"| {g['wall_s']} s |"
        )
    rows += ["", "MiniLM by arity K (moves per party trade against calldata per move):", ""]
    rows += ["| K | moves provider / watcher | gas provider / watcher | wall time |"]
    rows += ["| --- | --- | --- | --- |"]
    for k, g in r["optimistic"]["arity"]["minilm-l6"].items():
        rows.append(
            f"| {k} | {g['moves_provider']} / {g['moves_watcher']} "
            f"| {g['gas_provider']:,} / {g['gas_watcher']:,} | {g['wall_s']} s |"
        )
    rows += ["", "Settlement when nobody disputes (gas):", ""]
    rows += ["| path | request | claim or fulfil | finalize |", "| --- | --- | --- | --- |"]
    for name, g in r["optimistic"]["honest"].items():
        rows.append(
            f"| optimistic, {name} | {g['request']:,} | {g['claim']:,} | {g['finalize']:,} |"
        )
    z = r["on_demand"]
    rows.append(
        f"| zk on demand, digits-mlp | {z['zk_request']:,} | {z['on_demand_claim']:,} "
        f"| {z['on_demand_finalize']:,} |"
    )
    rows.append(
        f"| zk (proof at once), digits-mlp | {z['zk_request']:,} | {z['zk_fulfil']:,} | — |"
    )
    rows += [
        "",
        f"zk on demand when challenged: challenge {z['on_demand_challenge']:,} gas, proof "
        f"{z['on_demand_prove']:,} gas. Targets: MiniLM ≤ {TARGET_MOVES} moves per party "
        f"(aim ≤ {AIM_MOVES}), game ≤ {TARGET_S:.0f} s (aim ≤ {AIM_S:.0f} s), a claim ≤ "
        f"{TARGET_CLAIM:,} gas.",
    ]
    return "\n".join(rows) + "\n"


def main() -> None:
    from contracts.chain import Anvil

    traces = _traces()
    with Anvil() as node:
        result = {
            "machine": machine(),
            "default_arity": 16,
            "optimistic": optimistic(node, traces),
            "on_demand": on_demand(node),
        }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "disputes.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    (RESULTS / "disputes.md").write_text(table(result))
    print(table(result))


if __name__ == "__main__":
    main()
