"""The registry of built models: a manifest of name → commitment and files in the data dir.

Usage::

    from models.registry import Registry
    reg = Registry.default()
    card = reg.build("digits-mlp")        # no-op when already built and up to date
    reg.onnx_path("digits-mlp")
"""

from __future__ import annotations

import json
from pathlib import Path

from models.card import ModelCard
from models.catalog import CATALOG, spec
from models.errors import ModelNotBuiltError

MANIFEST = "manifest.json"


class Registry:
    """Built models under one folder: ``<root>/<name>/model.onnx`` + ``card.json``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def default(cls) -> Registry:
        from verinfer.settings import get_settings

        return cls(get_settings().models_dir)

    def model_dir(self, name: str) -> Path:
        spec(name)
        return self.root / name

    def is_built(self, name: str) -> bool:
        d = self.model_dir(name)
        return (d / "card.json").is_file() and (d / "model.onnx").is_file()

    def card(self, name: str) -> ModelCard:
        if not self.is_built(name):
            raise ModelNotBuiltError(
                f"model {name!r} is not built yet; run `verinfer models build {name}`"
            )
        return ModelCard.load(self.model_dir(name) / "card.json")

    def onnx_path(self, name: str) -> Path:
        return self.model_dir(name) / self.card(name).onnx_file

    def build(self, name: str, force: bool = False) -> ModelCard:
        if self.is_built(name) and not force:
            return self.card(name)
        card = spec(name).builder(name, self.model_dir(name))
        self._write_manifest()
        return card

    def built(self) -> list[ModelCard]:
        return [self.card(n) for n in CATALOG if self.is_built(n)]

    def _write_manifest(self) -> None:
        entries = {
            c.name: {"commitment": c.commitment, "mode": c.mode, "onnx": f"{c.name}/{c.onnx_file}"}
            for c in self.built()
        }
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / MANIFEST).write_text(json.dumps(entries, indent=2) + "\n")
