"""Artifacts and deployments share one JSON file record: round trip and clear read errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.bindings import Deployment
from contracts.compiler import Artifact
from contracts.errors import ArtifactError
from contracts.jsonfile import JsonFile


def _deployment() -> Deployment:
    return Deployment(
        chain_id=31337, registry="0x1", escrow="0x2", fulfil_timeout=600, deployer="0x3"
    )


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "deployment.json"
    _deployment().save(path)
    assert Deployment.load(path) == _deployment()


@pytest.mark.parametrize(
    ("cls", "hint"),
    [(Deployment, "verinfer chain deploy"), (Artifact, "python -m contracts.build")],
)
def test_missing_or_broken_file_names_the_fix(
    tmp_path: Path, cls: type[JsonFile], hint: str
) -> None:
    with pytest.raises(ArtifactError, match=f"cannot read {cls.file_kind} .*{hint}"):
        cls.load(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ArtifactError, match=hint):
        cls.load(broken)
