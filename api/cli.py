"""The `verinfer` console command: one entry, a subcommand per job."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from contracts.cli import app as chain_app
from models.cli import app as models_app
from verinfer.errors import VerinferError
from verinfer.settings import REPO_ROOT, get_settings

app = typer.Typer(
    help="verinfer: verifiable inference (zk proofs and optimistic claims).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(models_app, name="models")
app.add_typer(chain_app, name="chain")
console = Console(stderr=True)
ZK_MODELS = ["digits-mlp", "digits-cnn"]


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Callable[[str, float], None]]:
    """A progress callback ``(message, fraction)`` drawn as a bar on stderr."""
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not enabled,
        transient=True,
    ) as bar:
        task = bar.add_task("preparing", total=1.0)

        def update(message: str, fraction: float) -> None:
            bar.update(task, description=message, completed=max(0.0, min(1.0, fraction)))

        yield update


@app.command()
def serve(
    host: str = typer.Option(None, "--host", help="Bind address (VERINFER_HOST)."),
    port: int = typer.Option(None, "--port", help="Port (VERINFER_PORT)."),
    model: list[str] = typer.Option(ZK_MODELS, "--model", help="Models to serve."),
) -> None:
    """Run the gateway (proves every response; GET the proof at parameters.proof_url)."""
    import uvicorn

    from api.app import create_app
    from api.serve import build_gateway
    from prover.srs import DEV_SRS_WARNING, is_dev_srs

    settings = get_settings()
    if is_dev_srs():
        console.print(f"[yellow]WARNING:[/] {DEV_SRS_WARNING}")
    with progress_bar() as progress:
        gw = build_gateway(list(model), progress)
    uvicorn.run(create_app(gw), host=host or settings.host, port=port or settings.port)


@app.command()
def verify(
    bundle: Path = typer.Argument(
        ...,
        exists=True,
        dir_okay=False,
        help="JSON with 'input', 'response' and 'proof' (see demo).",
    ),
    rpc_url: str = typer.Option(
        None, "--rpc-url", envvar="ETH_RPC_URL", help="Also verify on-chain with this node."
    ),
    verifier_address: str = typer.Option(None, "--verifier", help="Verifier contract address."),
) -> None:
    """Check a saved response: proof valid, for this model, this input and these outputs."""
    from api.verify_cmd import verify_bundle

    result = verify_bundle(bundle, rpc_url, verifier_address)
    typer.echo(json.dumps(result, indent=2))


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
