"""The registry of built models: a manifest of name → commitment and files in the data dir.

Catalogue models are built from this repository; user models are added from their owners'
ONNX files (``verinfer models add``). Both live in ``<root>/<name>/``, a user model's card
saying ``"source": "user"``.

Usage::

    from models.registry import Registry
    reg = Registry.default()
    card = reg.build("digits-mlp")        # no-op when already built and up to date
    reg.onnx_path("digits-mlp")
    reg.user_models()                     # names added with `verinfer models add`
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from models.card import ModelCard
from models.catalog import CATALOG, spec
from models.errors import InvalidModelError, ModelNotBuiltError, UnknownModelError

MANIFEST = "manifest.json"
NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


class Registry:
    """Built models under one folder: ``<root>/<name>/model.onnx`` + ``card.json``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @classmethod
    def default(cls) -> Registry:
        from verinfer.settings import get_settings

        return cls(get_settings().models_dir)

    def model_dir(self, name: str) -> Path:
        if name in CATALOG or self.is_user_model(name):
            return self.root / name
        known = ", ".join(sorted(CATALOG))
        users = ", ".join(self.user_models()) or "none"
        raise UnknownModelError(
            f"unknown model {name!r}; known models: {known}; user models: {users} "
            "(add one with `verinfer models add PATH.onnx --name NAME`)"
        )

    def is_user_model(self, name: str) -> bool:
        card = self.root / name / "card.json"
        if name in CATALOG or not NAME_RE.fullmatch(name) or not card.is_file():
            return False
        return ModelCard.load(card).source == "user"

    def user_models(self) -> list[str]:
        """Names of the models added by their owners, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if self.is_user_model(p.name))

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
        if self.is_user_model(name):
            return self.card(name)  # the owner's file is the model: nothing to rebuild
        if self.is_built(name) and not force:
            return self.card(name)
        card = spec(name).builder(name, self.model_dir(name))
        self.write_manifest()
        return card

    def built(self) -> list[ModelCard]:
        catalogue = [self.card(n) for n in CATALOG if self.is_built(n)]
        return catalogue + [self.card(n) for n in self.user_models()]

    def check_new_name(self, name: str, replace: bool = False) -> None:
        """Refuse a name that is malformed, a catalogue model's, or taken (unless replacing)."""
        if not NAME_RE.fullmatch(name):
            raise InvalidModelError(
                f"model name {name!r}: use 1-64 lowercase letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        if name in CATALOG:
            raise InvalidModelError(f"{name!r} is a catalogue model's name; choose another --name")
        if (self.root / name).exists() and not (replace and self.is_user_model(name)):
            hint = " (pass --replace to add it again)" if self.is_user_model(name) else ""
            raise InvalidModelError(f"a model named {name!r} already exists{hint}")

    def install(self, staged: Path, name: str) -> ModelCard:
        """Move a staged user model folder into place (replacing an older one) and list it."""
        target = self.root / name
        if target.exists():
            shutil.rmtree(target)
        staged.rename(target)
        self.write_manifest()
        return self.card(name)

    def remove(self, name: str) -> None:
        """Delete a user model's folder (catalogue models are rebuilt from the repository)."""
        if name in CATALOG:
            raise InvalidModelError(
                f"{name!r} is a catalogue model: it is built from this repository, not removed"
            )
        shutil.rmtree(self.model_dir(name))
        self.write_manifest()

    def write_manifest(self) -> None:
        entries = {
            c.name: {
                "commitment": c.commitment,
                "mode": c.mode,
                "onnx": f"{c.name}/{c.onnx_file}",
                **({"source": "user"} if c.source == "user" else {}),
            }
            for c in self.built()
        }
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / MANIFEST).write_text(json.dumps(entries, indent=2) + "\n")
