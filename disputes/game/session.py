"""What every `verinfer challenge` verb shares: a checked session, errors, output.

The chain flags and the signer loader live in ``contracts.cli_options`` (``ChainOptions`` is
re-exported here).

A session is only handed out after the deployment is read, the node answers and its chain id
is the deployment's, so no verb ever signs for the wrong chain. Errors become one line on
stderr (a revert names its custom error and what it means); keys are never printed.

Usage::

    with reported(as_json):
        s = connect_session(ChainOptions(url, None, None, None, None, None), signer=True)
        s.agent().play(game_id)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape

from contracts.cli_options import ChainOptions as ChainOptions
from contracts.cli_options import load_signer, no_signer_message
from verinfer.errors import VerinferError

if TYPE_CHECKING:
    from web3 import Web3

    from contracts.bindings import Deployment
    from contracts.signer import Signer
    from disputes.game.agent import Agent
    from disputes.game.store import GameStore
    from disputes.game.traces import Programs, RequestTraces

console = Console(stderr=True)


@dataclass
class Session:
    """A checked connection: node, deployment (chain id matched), signer, store, models."""

    w3: Web3
    rpc_url: str
    dep: Deployment
    signer: Signer | None
    store: GameStore
    programs: Programs

    def agent(self, **options: Any) -> Agent:
        from disputes.game.agent import Agent

        return Agent.connect(
            self.w3, self.dep, self.need_signer(), self.store, self.programs, **options
        )

    def traces(self) -> RequestTraces:
        from contracts.clients import EscrowClient, RegistryClient
        from disputes.game.traces import RequestTraces

        escrow = EscrowClient(self.w3, self.dep.escrow)
        return RequestTraces(escrow, RegistryClient(self.w3, self.dep.registry), self.programs)

    def need_signer(self) -> Signer:
        if self.signer is None:
            from contracts.errors import SignerError

            raise SignerError(no_signer_message())
        return self.signer

    def now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])


# ---- connecting ----


def connect_session(opts: ChainOptions, *, signer: bool) -> Session:
    """Load the deployment, reach the node, check its chain id, load the signer and store."""
    from contracts.bindings import Deployment, connect
    from contracts.cli import default_deployment_path
    from contracts.errors import ChainError
    from disputes.game.store import GameStore
    from disputes.game.traces import Programs

    url = opts.url()
    path = opts.deployment or default_deployment_path()
    dep = Deployment.load(path)
    if not dep.game:
        raise ChainError(
            f"deployment {path} has no DisputeGame (written before the optimistic path); "
            "redeploy with `verinfer chain up` or `verinfer chain deploy`"
        )
    w3 = connect(url)
    chain_id = int(w3.eth.chain_id)
    if chain_id != dep.chain_id:
        raise ChainError(
            f"wrong chain: the node at {url} is chain id {chain_id}, but deployment {path} is "
            f"on chain id {dep.chain_id}; pass the matching --rpc-url or --deployment"
        )
    who = load_signer(opts, required=signer)
    programs = Programs.built(opts.models)
    return Session(w3, url, dep, who, GameStore.from_settings(), programs)


# ---- output and errors ----

REVERT_HINTS = {
    "BondTooLow": "the bond is below the model's minimum of {1} wei; pass --bond {1} or more",
    "WindowClosed": "the claim's challenge window has closed",
    "ClaimNotOpen": "the request has no open claim (never claimed, finalized or voided)",
    "NoDisagreement": "our P_n equals the claim's: there is nothing to dispute",
    "SelfChallenge": "a provider cannot challenge its own claim",
    "UnknownGame": "no game has that id",
    "GameOver": "the game is already over",
    "NotYourTurn": "it is not this signer's move",
    "MoveTooLate": "the move's deadline has passed",
    "DeadlineNotPassed": "the party to move still has time",
    "ClaimVoided": "another game already voided the claim; this game can only be cancelled",
    "NotVoided": "the claim is not voided, so the game cannot be cancelled",
    "WindowOpen": "the claim's window is still open",
    "GamesOpen": "games on the claim are still open",
    "NothingToWithdraw": "there are no credits to withdraw",
}


def explain(exc: VerinferError) -> str:
    """One line for an error: a revert says its named error, its arguments and what it means."""
    from contracts.errors import ContractRevert

    if not isinstance(exc, ContractRevert):
        return str(exc)
    shown = f"{exc.name}({', '.join(map(str, exc.error_args))})" if exc.name else "empty revert"
    hint = REVERT_HINTS.get(exc.name, "")
    if hint:
        hint = hint.format(*exc.error_args) if exc.error_args else hint.split("{")[0]
    return f"the transaction reverted with {shown}" + (f": {hint}" if hint else "")


@contextmanager
def reported(as_json: bool) -> Iterator[None]:
    """Turn a VerinferError into one line on stderr (and {"error": …} with --json), exit 1."""
    try:
        yield
    except VerinferError as exc:
        message = explain(exc)
        if as_json:
            typer.echo(json.dumps({"ok": False, "error": message}))
        console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def emit(data: dict[str, Any], as_json: bool, lines: list[str]) -> None:
    """Print `data` as JSON, or `lines` for people."""
    typer.echo(json.dumps(data, indent=2, default=str) if as_json else "\n".join(lines))
