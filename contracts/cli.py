"""`verinfer chain up|deploy`: a local dev chain with the core contracts, or deploy elsewhere.

Usage::

    verinfer chain up --port 8545 --json
    verinfer chain deploy --rpc-url https://... --keystore key.json
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from contracts.bindings import Deployment, connect, deploy_core
from contracts.chain import Anvil
from contracts.cli_options import ChainOptions, Keystore, load_signer, option
from contracts.errors import ChainError
from contracts.signer import Signer
from verinfer.settings import get_settings

app = typer.Typer(help="Local dev chain and contract deployment.", no_args_is_help=True)
console = Console(stderr=True)
DEFAULT_TIMEOUT_S = 3600


def default_deployment_path() -> Path:
    """Where `up` and `deploy` save the deployment (under the data dir)."""
    return get_settings().data_dir / "deployment.json"


def _summary(dep: Deployment, rpc_url: str, accounts: list[str]) -> dict[str, Any]:
    return {"rpc_url": rpc_url, **dep.model_dump(), "dev_accounts": accounts}


def _print(info: dict[str, Any], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    for key, value in info.items():
        if key != "dev_accounts":
            typer.echo(f"{key:15} {value}")
    for i, addr in enumerate(info.get("dev_accounts", [])):
        typer.echo(f"dev account {i:2} {addr}")


def _fail(exc: ChainError) -> typer.Exit:
    console.print(f"[red]error:[/red] {exc}")
    return typer.Exit(1)


def _wait_for_interrupt() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()


@app.command("up")
def up(
    port: int = typer.Option(8545, help="Loopback port for anvil."),
    fulfil_timeout: int = typer.Option(DEFAULT_TIMEOUT_S, help="Escrow deadline, seconds."),
    out: Path = typer.Option(None, help="Deployment JSON (default: <data dir>/deployment.json)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Start anvil, deploy ModelRegistry + InferenceEscrow, print addresses, run until Ctrl-C."""
    try:
        with Anvil(port=port) as node:
            signer = Signer.from_private_key(node.accounts[0].private_key)
            dep = deploy_core(connect(node.rpc_url), signer, fulfil_timeout)
            dep.save(out or default_deployment_path())
            _print(_summary(dep, node.rpc_url, [a.address for a in node.accounts]), as_json)
            console.print("dev keys are anvil's public test keys; Ctrl-C stops the chain")
            _wait_for_interrupt()
    except ChainError as exc:
        raise _fail(exc) from None


# `deploy` reads ETH_RPC_URL through the settings, so its --rpc-url binds no envvar of its own.
DeployRpcUrl = Annotated[
    str | None, option("rpc_url", "JSON-RPC URL (default: ETH_RPC_URL).", envvar=None)
]
DeployerKey = Annotated[
    str | None, option("private_key", "Deployer key (default: ETH_PRIVATE_KEY).")
]


@app.command("deploy")
def deploy_cmd(
    rpc_url: DeployRpcUrl = None,
    private_key: DeployerKey = None,
    keystore: Keystore = None,
    password: str = typer.Option(None, help="Keystore password (prompted when omitted)."),
    fulfil_timeout: int = typer.Option(DEFAULT_TIMEOUT_S, help="Escrow deadline, seconds."),
    out: Path = typer.Option(None, help="Deployment JSON (default: <data dir>/deployment.json)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Deploy ModelRegistry + InferenceEscrow to an existing chain."""
    opts = ChainOptions(rpc_url, private_key, keystore, None, None, None)
    try:
        url = opts.url()
        signer = load_signer(opts, password=password, password_flag="--password")
        assert signer is not None  # required: load_signer raised otherwise
        dep = deploy_core(connect(url), signer, fulfil_timeout)
        dep.save(out or default_deployment_path())
    except ChainError as exc:
        raise _fail(exc) from None
    _print({"rpc_url": url, **dep.model_dump()}, as_json)
