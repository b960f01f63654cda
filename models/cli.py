"""`verinfer models list|build|show|train|add|register|remove`."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from disputes.game.session import reported
from models.card import ModelCard
from models.catalog import CATALOG
from models.cli_add import add_cmd, register_cmd
from models.registry import Registry

app = typer.Typer(
    help="Build, list and inspect models; add your own ONNX models and register them on-chain.",
    no_args_is_help=True,
)
app.command("add")(add_cmd)
app.command("register")(register_cmd)
console = Console()


@app.command("list")
def list_models(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List the catalogue's models and the ones added with `models add`, with commitments."""
    reg = Registry.default()
    rows = [_row(reg, s.name, s.mode, s.summary) for s in CATALOG.values()]
    rows += [_user_row(reg.card(n)) for n in reg.user_models()]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("name", "source", "mode", "built", "commitment", "summary")
    for r in rows:
        table.add_row(
            r["name"],
            r["source"],
            r["mode"],
            "yes" if r["built"] else "no",
            (r["commitment"] or "-")[:18],
            r["summary"],
        )
    console.print(table)


def _row(reg: Registry, name: str, mode: str, summary: str) -> dict[str, Any]:
    card = reg.card(name) if reg.is_built(name) else None
    return {
        "name": name,
        "source": "catalogue",
        "mode": mode,
        "built": card is not None,
        "commitment": card.commitment if card else None,
        "summary": summary,
    }


def _user_row(card: ModelCard) -> dict[str, Any]:
    return {
        "name": card.name,
        "source": "user",
        "mode": card.mode,
        "built": True,
        "commitment": card.commitment,
        "summary": card.description,
    }


@app.command("build")
def build(
    names: list[str] = typer.Argument(None, help="Models to build (default: with --all)."),
    all_: bool = typer.Option(False, "--all", help="Build every default model."),
    force: bool = typer.Option(False, "--force", help="Rebuild even when up to date."),
) -> None:
    """Build (train/export) models; skips those already built unless --force."""
    reg = Registry.default()
    targets = list(names or []) or ([s.name for s in CATALOG.values() if s.default] if all_ else [])
    if not targets:
        raise typer.BadParameter("name a model or pass --all")
    for name in targets:
        was_built = reg.is_built(name)
        with console.status(f"building {name}…"):
            card = reg.build(name, force=force)
        state = "up to date" if was_built and not force else "built"
        console.print(f"{name}: {state}  commitment {card.commitment}")


@app.command("train")
def train(
    names: list[str] = typer.Argument(..., help="Digits models to retrain (new weights)."),
) -> None:
    """Retrain digits models and rewrite their committed weights and pins (then rebuild)."""
    from models.digits import ARCHS, train_digits

    reg = Registry.default()
    for name in names:
        if name not in ARCHS:
            raise typer.BadParameter(f"{name!r} is not trainable here; trainable: {sorted(ARCHS)}")
        with console.status(f"training {name}…"):
            path = train_digits(name)
            card = reg.build(name, force=True)
        console.print(
            f"{name}: new weights {path} — commitment {card.commitment}; commit "
            "models/weights/ so every machine builds this model"
        )


@app.command("show")
def show(name: str) -> None:
    """Print a built model's card (JSON), with its recorded on-chain registrations."""
    from models.onchain import registrations

    reg = Registry.default()
    with reported(False):
        card = reg.card(name)
        regs = [r.model_dump() for r in registrations(reg, name)]
    typer.echo(json.dumps({**card.model_dump(), "registrations": regs}, indent=2))


@app.command("remove")
def remove(name: str) -> None:
    """Delete a model added with `models add` (its cached circuits stay, keyed by commitment)."""
    with reported(False):
        Registry.default().remove(name)
    console.print(f"{name}: removed")
