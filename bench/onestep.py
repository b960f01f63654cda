"""One-step verification gas: every step of MiniLM (default profile) and of the digits models.

For each model, one element per step (a random one, fixed seed) is proven with
``disputes.osp.one_step_proof`` and sent to a real ``OneStepVerifier`` on anvil as a transaction
estimate (``eth_estimateGas``: what a game's final move would pay). Per step kind: the largest
and the median gas over the model's steps, the worst step named, and the calldata. Where the gas
goes is split into the 21k transaction base, calldata (16 gas per non-zero byte, 4 per zero
byte) and execution (the rest: Merkle proofs, decoding, the element's arithmetic).
Writes ``bench/results/onestep.json`` and ``bench/results/onestep.md``.

Usage::

    python -m bench onestep
"""

from __future__ import annotations

import json
import random
import statistics
from pathlib import Path
from typing import Any

from bench._machine import machine

RESULTS = Path(__file__).parent / "results"
TX_BASE = 21_000
TARGET_WORST, AIM_WORST = 3_000_000, 1_000_000
WHERE = """\
Where the gas goes: calldata is a third to a half of every step (the operand rows travel in
full, 4 bytes a value for narrow rows); the rest is the Merkle openings (the step leaf, one slot
proof per operand, one row proof per row) and the element itself. Linear's dot products read
eight packed values per word in assembly (about 50 gas per value for `matmul`, 75 for
`qmatmul`), so the widest products are now cheaper than the reductions: `reduce_mean` and
`reduce_sum` copy their row into memory value by value before summing (about 400k gas of
execution for a 384- or 1536-value row), the next thing to move onto packed calldata."""


def _traces() -> list[tuple[str, Any]]:
    from disputes.execution.executor import load_program
    from disputes.tracing.trace import trace
    from models.digits import load_digits_split
    from models.minilm import tokenize
    from models.registry import Registry

    reg = Registry.default()
    out = []
    x = load_digits_split().x_test[0]
    for name, shape in (("digits-mlp", (1, 64)), ("digits-cnn", (1, 1, 8, 8))):
        program = load_program(reg.onnx_path(reg.build(name).name))
        out.append((name, trace(program, {program.inputs[0].name: x.reshape(shape)})))
    reg.build("minilm-l6")
    ids, mask = tokenize(["how much gas does one step of a transformer cost on chain"])
    program = load_program(reg.onnx_path("minilm-l6"))
    out.append(("minilm-l6", trace(program, {"input_ids": ids, "attention_mask": mask})))
    return out


def _calldata_gas(data: bytes) -> int:
    return sum(16 if b else 4 for b in data)


def _measure(contract: Any, tr: Any, rng: random.Random) -> list[dict[str, Any]]:
    from disputes.osp import one_step_proof

    rows = []
    for i, step in enumerate(tr.program.steps):
        el = tuple(rng.randrange(d) for d in step.shape)
        osp = one_step_proof(tr, i, el)
        fn = contract.functions.verify(osp.claim, osp.proof)
        assert int(fn.call()) == osp.value, (i, step.kind)
        data = bytes.fromhex(fn._encode_transaction_data()[2:])
        gas = int(fn.estimate_gas())
        cd = _calldata_gas(data)
        rows.append(
            {
                "step": i,
                "kind": step.kind,
                "gas": gas,
                "calldata_bytes": len(data),
                "calldata_gas": cd,
                "execution_gas": gas - TX_BASE - cd,
            }
        )
    return rows


def _by_kind(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for kind in sorted({r["kind"] for r in rows}):
        mine = [r for r in rows if r["kind"] == kind]
        worst = max(mine, key=lambda r: r["gas"])
        out[kind] = {
            "steps": len(mine),
            "max_gas": worst["gas"],
            "median_gas": int(statistics.median(r["gas"] for r in mine)),
            "worst_step": worst["step"],
            "worst_calldata_bytes": worst["calldata_bytes"],
            "worst_calldata_gas": worst["calldata_gas"],
            "worst_execution_gas": worst["execution_gas"],
        }
    return out


def _table(results: dict[str, Any]) -> str:
    lines = [
        "# One-step verification gas (one element of one step, eth_estimateGas on anvil)",
        "",
        f"Machine: {results['machine']}. Target: worst MiniLM step ≤ {TARGET_WORST:,} gas "
        f"(aim ≤ {AIM_WORST:,}).",
        "",
        "| model | kind | steps | max gas | median gas | worst step | its calldata bytes "
        "| its calldata gas | its execution gas |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for model, kinds in results["models"].items():
        for kind, k in kinds["by_kind"].items():
            lines.append(
                f"| {model} | {kind} | {k['steps']} | {k['max_gas']:,} | {k['median_gas']:,} "
                f"| {k['worst_step']} | {k['worst_calldata_bytes']:,} "
                f"| {k['worst_calldata_gas']:,} | {k['worst_execution_gas']:,} |"
            )
    for model, kinds in results["models"].items():
        w = kinds["worst"]
        lines.append("")
        lines.append(
            f"{model}: worst step {w['step']} ({w['kind']}) {w['gas']:,} gas = 21,000 base + "
            f"{w['calldata_gas']:,} calldata ({w['calldata_bytes']:,} bytes) + "
            f"{w['execution_gas']:,} execution."
        )
    return "\n".join([*lines, "", WHERE]) + "\n"


def main() -> None:
    from web3 import Web3

    from contracts.bindings import connect, deploy
    from contracts.build import load_artifact
    from contracts.chain import Anvil
    from contracts.signer import Signer

    art = load_artifact("OneStepVerifier")
    rng = random.Random(0)
    results: dict[str, Any] = {
        "machine": machine(),
        "models": {},
    }
    with Anvil() as node:
        w3 = connect(node.rpc_url)
        signer = Signer.from_private_key(node.accounts[0].private_key)
        address = Web3.to_checksum_address(deploy(w3, signer, art))
        contract = w3.eth.contract(address=address, abi=art.abi)
        for name, tr in _traces():
            rows = _measure(contract, tr, rng)
            worst = max(rows, key=lambda r: r["gas"])
            results["models"][name] = {"by_kind": _by_kind(rows), "worst": worst, "steps": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "onestep.json").write_text(json.dumps(results, indent=1) + "\n")
    table = _table(results)
    (RESULTS / "onestep.md").write_text(table)
    print(table)
