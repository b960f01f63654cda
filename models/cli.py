"""`verinfer models list|build|show|train`."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from models.catalog import CATALOG
from models.registry import Registry

app = typer.Typer(help="Build, list and inspect the registered models.", no_args_is_help=True)
console = Console()


@app.command("list")
def list_models(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """List every model in the catalogue, with its commitment when built."""
    reg = Registry.default()
    rows: list[dict[str, Any]] = []
    for s in CATALOG.values():
        card = reg.card(s.name) if reg.is_built(s.name) else None
        rows.append(
            {
                "name": s.name,
                "mode": s.mode,
                "built": card is not None,
                "commitment": card.commitment if card else None,
                "summary": s.summary,
            }
        )
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table("name", "mode", "built", "commitment", "summary")
    for r in rows:
        table.add_row(
            r["name"],
            r["mode"],
            "yes" if r["built"] else "no",
            (r["commitment"] or "-")[:18],
            r["summary"],
        )
    console.print(table)


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
    """Print a built model's card (JSON)."""
    typer.echo(Registry.default().card(name).model_dump_json(indent=2))
