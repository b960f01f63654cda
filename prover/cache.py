"""The artifact cache: ``artifacts_dir/<commitment>/<settings-hash>/`` per model and circuit.

Layout::

    <artifacts_dir>/<commitment>/tuned.json            tuning record (chosen settings, agreement)
    <artifacts_dir>/<commitment>/ezkl-default.json     EZKL's defaults + calibration (benchmarks)
    <artifacts_dir>/<commitment>/<settings-hash>/settings.json, model.compiled
    <artifacts_dir>/<commitment>/<settings-hash>/srs-<sha16>/vk.key, pk.key, Verifier.sol

Keys live under the SRS's digest because a vk is tied to the exact SRS file it was made with.

Usage::

    from prover.cache import CircuitDir, settings_hash
    cdir = CircuitDir.for_model(artifacts_dir, commitment, settings_hash(run_args))
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

Profile = Literal["tuned", "ezkl-default"]


class TuningRecord(BaseModel):
    """What tuning (or EZKL's default calibration) chose for one model commitment."""

    profile: Profile
    commitment: str
    settings: dict[str, Any]
    settings_hash: str
    logrows: int
    agreement: float | None = None
    n_agreement_samples: int = 0
    candidates_tried: int = 0
    tuning_seconds: float = 0.0
    max_abs_error: float | None = None
    max_rel_error: float | None = None

    def save(self, path: Path) -> None:
        atomic_write(path, self.model_dump_json(indent=2))

    @classmethod
    def load(cls, path: Path) -> TuningRecord:
        return cls.model_validate_json(path.read_text())


def settings_hash(run_args: dict[str, Any]) -> str:
    """First 16 hex of sha256 over the canonical JSON of the circuit's run args."""
    canon = json.dumps(run_args, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


def model_root(artifacts_dir: Path, commitment: str) -> Path:
    """Folder of one model commitment's artifacts."""
    return artifacts_dir / commitment.removeprefix("0x")


def record_path(artifacts_dir: Path, commitment: str, profile: Profile) -> Path:
    """Where the tuning record of a profile is stored."""
    return model_root(artifacts_dir, commitment) / f"{profile}.json"


def atomic_write(path: Path, text: str) -> None:
    """Write text via a temp file + rename, so readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


@dataclass(frozen=True)
class CircuitDir:
    """One compiled circuit's folder, and its per-SRS key folder."""

    root: Path

    @classmethod
    def for_model(cls, artifacts_dir: Path, commitment: str, s_hash: str) -> CircuitDir:
        return cls(model_root(artifacts_dir, commitment) / s_hash)

    @property
    def settings(self) -> Path:
        return self.root / "settings.json"

    @property
    def compiled(self) -> Path:
        return self.root / "model.compiled"

    def keys_dir(self, srs_digest: str) -> Path:
        return self.root / f"srs-{srs_digest[:16]}"
