"""`verinfer challenge prove-step`: build (and optionally check on-chain) one one-step proof.

A debugging aid for the dispute game: trace MODEL on INPUT, build the proof for one element of
one step, print the honest value and the proof's size, and, given a node and a deployed
``OneStepVerifier``, what the contract returns and what the call would cost.

Usage::

    verinfer challenge prove-step digits-mlp input.npz 0 0,7 --rpc-url http://127.0.0.1:8545 \\
        --verifier 0x…
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import typer

from disputes.errors import TraceError

app = typer.Typer(help="Dispute-game tools (one-step proofs).", no_args_is_help=True)


def load_inputs(path: Path) -> dict[str, Any]:
    """Model inputs by name from .npz, .npy (a single input named by the program) or .json."""
    try:
        if path.suffix == ".npz":
            with np.load(path) as z:
                return {k: z[k] for k in z.files}
        if path.suffix == ".json":
            return {k: np.asarray(v) for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError) as exc:
        raise TraceError(f"cannot read inputs from {path}: {exc}") from exc
    raise TraceError(f"{path}: give inputs as .npz or .json keyed by input name")


def _element(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",")) if text.strip() else ()
    except ValueError:
        raise TraceError(f"element {text!r} is not comma-separated integers, e.g. 0,5,17") from None


def _on_chain(osp: Any, rpc_url: str, verifier: str) -> dict[str, Any]:
    from web3 import Web3

    from contracts.bindings import call, connect
    from contracts.build import load_artifact
    from contracts.reverts import error_table

    art = load_artifact("OneStepVerifier")
    w3 = connect(rpc_url)
    contract = w3.eth.contract(address=Web3.to_checksum_address(verifier), abi=art.abi)
    fn = contract.functions.verify(osp.claim, osp.proof)
    value = int(call(fn.call, error_table(art.abi), "OneStepVerifier.verify"))
    gas = int(call(fn.estimate_gas, error_table(art.abi), "OneStepVerifier.verify gas"))
    return {"on_chain_value": value, "agrees": value == osp.value, "gas": gas}


@app.command("prove-step")
def prove_step(
    model: str = typer.Argument(..., help="A built model (verinfer models list)."),
    inputs: Path = typer.Argument(..., exists=True, dir_okay=False, help=".npz or .json inputs."),
    step: int = typer.Argument(..., help="Step index (0-based)."),
    element: str = typer.Argument(..., help="Output element, e.g. 0,5,17."),
    rpc_url: str = typer.Option(None, "--rpc-url", envvar="ETH_RPC_URL", help="Node to ask."),
    verifier: str = typer.Option(None, "--verifier", help="Deployed OneStepVerifier address."),
) -> None:
    """Build the one-step proof of one element; with --rpc-url/--verifier, check it on-chain."""
    from disputes.execution import load_program
    from disputes.osp import one_step_proof
    from disputes.tracing import trace
    from models.registry import Registry

    program = load_program(Registry.default().onnx_path(model))
    tr = trace(program, load_inputs(inputs))
    osp = one_step_proof(tr, step, _element(element))
    out: dict[str, Any] = {
        "model": model,
        "step": step,
        "kind": program.steps[step].kind,
        "element": list(_element(element)),
        "value": osp.value,
        "proof_bytes": osp.calldata_bytes,
    }
    if rpc_url and verifier:
        out.update(_on_chain(osp, rpc_url, verifier))
    typer.echo(json.dumps(out, indent=2))
    if out.get("agrees") is False:
        raise typer.Exit(1)
