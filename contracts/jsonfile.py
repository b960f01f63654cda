"""Pydantic records kept as pretty JSON files: compiled artifacts and deployments.

Usage::

    class Deployment(JsonFile):
        file_kind: ClassVar[str] = "deployment"
        file_hint: ClassVar[str] = "deploy with `verinfer chain deploy`"

    dep.save(path); Deployment.load(path)   # a missing or broken file is an ArtifactError
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Self

from pydantic import BaseModel

from contracts.errors import ArtifactError


class JsonFile(BaseModel):
    """Saved as indented JSON; ``load`` names the file and what to run when it cannot be read."""

    file_kind: ClassVar[str] = "file"
    file_hint: ClassVar[str] = ""

    def save(self, path: Path) -> None:
        """Write as pretty JSON, creating the folder: ``record.save(Path("X.json"))``."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> Self:
        """Read one file: ``Artifact.load(Path("X.json"))``."""
        try:
            return cls.model_validate_json(path.read_text())
        except (OSError, ValueError) as exc:
            raise ArtifactError(
                f"cannot read {cls.file_kind} {path}: {exc}; {cls.file_hint}"
            ) from exc
