"""`verinfer models add` and `verinfer models register` (mounted on ``models.cli.app``).

Usage::

    verinfer models add net.onnx --name my-net --input-range x=0:1
    verinfer models register my-net --rpc-url http://127.0.0.1:8545 --keystore key.json
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

if TYPE_CHECKING:
    from web3 import Web3

    from contracts.bindings import Deployment
    from models.budget import Budget

import typer
from rich.console import Console

from contracts.cli_options import ChainOptions, chain_options, load_signer
from disputes.game.cli import AsJson
from disputes.game.session import emit, reported
from models.card import ModelCard
from verinfer.progress import progress_bar

console = Console(stderr=True)
MODES = ("auto", "zk", "optimistic", "zk-on-demand")
DEFAULT_FEE = 10**16
DEFAULT_MIN_BOND = 10**17


def add_cmd(
    path: Annotated[Path, typer.Argument(help="The ONNX file to add.")],
    name: Annotated[str, typer.Option("--name", help="The model's name here.")],
    mode: Annotated[str, typer.Option("--mode", help="auto|zk|optimistic|zk-on-demand.")] = "auto",
    calibration: Annotated[
        Path | None,
        typer.Option("--calibration", help="Samples: .npy, .npz or .json keyed by input name."),
    ] = None,
    input_range: Annotated[
        list[str] | None,
        typer.Option("--input-range", help="NAME=LO:HI: sample the input uniformly (repeat)."),
    ] = None,
    input_shape: Annotated[
        list[str] | None,
        typer.Option("--input-shape", help="NAME=1,3,32,32: fix a dynamic input's shape."),
    ] = None,
    labels: Annotated[
        Path | None, typer.Option("--labels", help="Class names: .json list or one per line.")
    ] = None,
    max_rel_error: Annotated[
        float, typer.Option("--max-rel-error", help="Tolerance: error / output range.")
    ] = 0.05,
    min_agreement: Annotated[
        float, typer.Option("--min-agreement", help="Tolerance: top-class agreement.")
    ] = 0.99,
    zk_max_logrows: Annotated[
        int | None, typer.Option("--zk-max-logrows", help="Auto mode's zk budget (rows 2**k).")
    ] = None,
    description: Annotated[str, typer.Option("--description", help="For the card.")] = "",
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace a model of this name.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Add your ONNX model: validate it, measure it, choose zk or optimistic, write its card.

    Auto mode proves with zk when the tuned circuit fits the zk budget (VERINFER_ZK_MAX_*
    settings) within the tolerance, else serves it optimistically; see docs/user-models.md.
    """
    from models.calibration import parse_range
    from models.errors import InvalidModelError
    from models.fidelity import Tolerance
    from models.onboard import AddOptions, add_model
    from models.validate import parse_shape

    with reported(as_json):
        if mode not in MODES:
            raise InvalidModelError(f"--mode {mode!r}: choose one of {', '.join(MODES)}")
        opts = AddOptions(
            mode=mode,  # type: ignore[arg-type]  # checked against MODES above
            calibration=calibration,
            input_ranges=dict(parse_range(r) for r in input_range or []),
            input_shapes=dict(parse_shape(s) for s in input_shape or []),
            labels=labels,
            tolerance=Tolerance(max_rel_error, min_agreement),
            budget=_budget(zk_max_logrows),
            description=description,
            replace=replace,
        )
        with progress_bar(not as_json, first="validating") as update:
            card = add_model(path, name, opts, progress=update)
        emit(card.model_dump(), as_json, summary(card))


def _budget(max_logrows: int | None) -> Budget:
    from dataclasses import replace

    from models.budget import Budget
    from verinfer.settings import get_settings

    b = Budget.from_settings(get_settings())
    return b if max_logrows is None else replace(b, max_logrows=max_logrows)


def summary(card: ModelCard) -> list[str]:
    """What a person reads after `models add`: shapes, size, mode and why, error, commitment."""
    d = card.decision or {}
    requested = d.get("requested", "auto")
    how = "chosen by auto mode" if requested == "auto" else f"--mode {requested}"
    lines = [f"{card.name}: added as {card.mode} ({how})"]
    lines += [f"  input  {t.name} {t.shape} {t.dtype}" for t in card.inputs]
    lines += [f"  output {t.name} {t.shape} {t.dtype}" for t in card.outputs]
    lines.append(f"  params {int(card.metrics.get('n_params', 0)):,}")
    lines.append(f"  why    {d.get('reason', '')}")
    f = d.get("fidelity")
    if f:
        agree = f.get("argmax_agreement")
        shown = f", argmax agreement {agree:.1%}" if agree is not None else ""
        lines.append(
            f"  error  max abs {f['max_abs_error']:.3g}, max relative "
            f"{f['max_rel_error']:.3%}{shown} on {f['n_samples']} calibration samples"
        )
    lines.append(f"  commitment {card.commitment}")
    lines.append(f"  next   verinfer models register {card.name} --rpc-url …")
    return lines


@chain_options()
def register_cmd(
    name: Annotated[str, typer.Argument(help="A built or added model.")],
    fee: Annotated[int, typer.Option("--fee", help="Price per request, wei.")] = DEFAULT_FEE,
    min_bond: Annotated[
        int, typer.Option("--min-bond", help="Least claim bond, wei (optimistic, on demand).")
    ] = DEFAULT_MIN_BOND,
    *,
    chain: ChainOptions,
    as_json: AsJson = False,
) -> None:
    """Register a model on the ModelRegistry in its card's mode (zk: deploys its verifier)."""
    from models.onchain import register_model
    from models.registry import Registry

    with reported(as_json):
        Registry.default().card(name)  # an unknown or unbuilt name fails before any chain call
        w3, dep = _connect(chain)
        signer = load_signer(chain)
        assert signer is not None
        with progress_bar(not as_json, first="preparing") as update:
            r = register_model(name, w3, dep, signer, fee, min_bond, progress=update)
        lines = [f"{name}: registered as {r.mode} model id {r.model_id} on chain {r.chain_id}"]
        lines += [f"  {k} {v}" for k, v in r.model_dump().items() if v and k != "model"]
        emit(json.loads(r.model_dump_json()), as_json, lines)


def _connect(opts: ChainOptions) -> tuple[Web3, Deployment]:
    """The node and the deployment, refusing a node on another chain than the deployment's."""
    from contracts.bindings import Deployment, connect
    from contracts.cli import default_deployment_path
    from contracts.errors import ChainError

    url = opts.url()
    path = opts.deployment or default_deployment_path()
    dep = Deployment.load(path)
    w3 = connect(url)
    if int(w3.eth.chain_id) != dep.chain_id:
        raise ChainError(
            f"wrong chain: the node at {url} is chain id {w3.eth.chain_id}, but deployment "
            f"{path} is on chain id {dep.chain_id}; pass the matching --rpc-url or --deployment"
        )
    return w3, dep
