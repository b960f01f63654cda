"""The `verinfer` console command: one entry, a subcommand per job."""

from __future__ import annotations

import sys

import typer

from models.cli import app as models_app
from verinfer.errors import VerinferError

app = typer.Typer(
    help="verinfer: verifiable inference (zk proofs and optimistic claims).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(models_app, name="models")


def main() -> None:
    """Run the CLI; a VerinferError becomes a one-line message and exit code 1."""
    try:
        app()
    except VerinferError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(1)
