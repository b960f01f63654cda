"""The `verinfer` console command: one entry, a subcommand per job."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from contracts.cli import app as chain_app
from contracts.cli_options import ChainOptions, chain_options
from disputes.game.cli import app as challenge_app
from disputes.game.cli import watch as watch_cmd
from models.cli import app as models_app
from verinfer.errors import VerinferError
from verinfer.progress import progress_bar
from verinfer.settings import REPO_ROOT, get_settings

app = typer.Typer(
    help="verinfer: verifiable inference (zk proofs and optimistic claims).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(models_app, name="models")
app.add_typer(chain_app, name="chain")
app.add_typer(challenge_app, name="challenge")
app.command("watch")(watch_cmd)
console = Console(stderr=True)
ZK_MODELS = ["digits-mlp", "digits-cnn"]


SERVE_CHAIN_HELP = {
    "rpc_url": "Settle on this chain: post claims, fulfil paid requests.",
    "private_key": "Provider key (default: ETH_PRIVATE_KEY).",
    "keystore": "Or an encrypted keystore file,",
    "password_file": "and its password file.",
}


@app.command()
# No ETH_RPC_URL binding: the gateway only joins a chain when --rpc-url is passed.
@chain_options(helps=SERVE_CHAIN_HELP, rpc_envvar=None)
def serve(
    host: str = typer.Option(None, "--host", help="Bind address (VERINFER_HOST)."),
    port: int = typer.Option(None, "--port", help="Port (VERINFER_PORT)."),
    model: list[str] = typer.Option(ZK_MODELS, "--model", help="Models to serve."),
    *,
    chain: ChainOptions,
    self_request: bool = typer.Option(
        None,
        "--self-request/--no-self-request",
        help="Request unpaid HTTP answers on the provider's account so their claims are public "
        "(VERINFER_SELF_REQUEST, default on).",
        show_default=False,
    ),
) -> None:
    """Run the gateway: every model in its mode (zk proofs, optimistic or on-demand claims).

    With --rpc-url it also follows the escrow: paid requests for its models are fulfilled
    (proof, claim or on-demand claim) and its claims defended and finalized.
    """
    import uvicorn

    from api.app import create_app
    from api.logs import configure_logging
    from api.serve import build_gateway
    from prover.srs import DEV_SRS_WARNING, is_dev_srs

    settings = get_settings()
    if is_dev_srs():
        console.print(f"[yellow]WARNING:[/] {DEV_SRS_WARNING}")
    link = chain if chain.rpc_url is not None else None
    with progress_bar() as progress:
        gw = build_gateway(list(model), progress, link, self_request=self_request)
    configure_logging(settings.log_level)
    host, port = host or settings.host, port or settings.port
    # uvloop and httptools (requirements.lock): a third less time per request than asyncio
    # and h11 on loopback (bench/gateway.py's HTTP round trip).
    uvicorn.run(
        create_app(gw),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        loop="uvloop",
        http="httptools",
    )


@app.command()
def verify(
    bundle: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        help="JSON with 'input', 'response' and 'proof' (see demo).",
    ),
    model: str = typer.Option(
        None, "--model", help="Trust this model as prepared on this machine (models prepare)."
    ),
    commitment: str = typer.Option(None, "--commitment", help="Or: the trusted commitment,"),
    settings_path: Path = typer.Option(None, "--settings", exists=True, help="its settings,"),
    vk_path: Path = typer.Option(None, "--vk", exists=True, help="its verifying key"),
    srs_path: Path = typer.Option(None, "--srs", exists=True, help="and its SRS file."),
    rpc_url: str = typer.Option(
        None, "--rpc-url", envvar="ETH_RPC_URL", help="Also verify on-chain with this node."
    ),
    verifier_address: str = typer.Option(None, "--verifier", help="Verifier contract address."),
) -> None:
    """Check a saved response against a model YOU trust: proof, model, input and outputs."""
    from api.verify_cmd import TrustedFiles, trusted_model, verify_bundle

    files = (commitment, settings_path, vk_path, srs_path)
    if model is not None and any(files):
        raise typer.BadParameter("give --model, or --commitment/--settings/--vk/--srs, not both")
    if model is not None:
        trusted = trusted_model(model, rpc_url, verifier_address)
    elif all(files):
        trusted = TrustedFiles(commitment, settings_path, vk_path, srs_path).model(
            rpc_url, verifier_address
        )
    else:
        raise typer.BadParameter(
            "name the model you trust: --model NAME (prepared here with `verinfer models "
            "prepare NAME`), or all of --commitment, --settings, --vk and --srs; the bundle "
            "itself is never trusted to say which model it is"
        )
    typer.echo(json.dumps(verify_bundle(bundle, trusted), indent=2))


@models_app.command("prepare")
def prepare(names: list[str] = typer.Argument(..., help="zk models to prepare.")) -> None:
    """Build, tune and make the keys of zk models once, so that serve and verify find them."""
    from prover.pipeline import ZkProver

    for name in names:
        with progress_bar() as progress:
            prover = ZkProver.for_model(name, progress=progress)
        typer.echo(
            f"{name}: logrows {prover.logrows}  settings {prover.paths.settings}  "
            f"vk {prover.paths.vk}  srs {prover.paths.srs}"
        )


@app.command()
def demo(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Run the end-to-end demo on a local anvil chain (real proofs, real contracts)."""
    from api.demo import Narrator, run_demo

    def say(title: str, facts: dict[str, Any]) -> None:
        if as_json:
            return
        mark = "[bold yellow]![/]" if title.startswith("WARNING") else "[bold green]✓[/]"
        console.print(f"{mark} {title}")
        for key, value in facts.items():
            console.print(f"    {key}: {value}")

    with progress_bar(enabled=not as_json) as progress:
        steps = run_demo(Narrator(say), progress)
    if as_json:
        typer.echo(json.dumps(steps, indent=2, default=str))


@app.command()
def bench() -> None:
    """Run the benchmarks (bench/*.py); results land in bench/results/."""
    raise typer.Exit(subprocess.call([sys.executable, "-m", "bench"], cwd=REPO_ROOT))


def main() -> None:
    """Run the CLI; a VerinferError becomes a one-line message and exit code 1."""
    try:
        app()
    except VerinferError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(1)
