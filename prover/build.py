"""Prepare a model's circuit once: tuning record, settings, compiled circuit, SRS, keys.

Every step is skipped when its artifact is already in the cache, so a second run only checks
files (and hashes the SRS). ``SETUP_CALLS`` counts key generations in this process (tests use
it to prove the cache is hit).

Usage::

    from prover.build import load_or_build
    record, cdir, keys_dir, srs = load_or_build(card, onnx, get_settings(), "tuned", None)
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from models.calibration import samples_for
from models.card import ModelCard
from models.fidelity import Tolerance
from prover import ezkl_ops
from prover.cache import (
    CircuitDir,
    Profile,
    TuningRecord,
    atomic_write,
    model_root,
    record_path,
    settings_hash,
)
from prover.errors import NotPreparedError, SrsError
from prover.srs import file_sha256, srs_path
from prover.tuning import TuningResult, ezkl_default_settings, tune
from verinfer.settings import Settings

Progress = Callable[[str, float], None]
SETUP_CALLS = 0


def load_or_build(
    card: ModelCard, onnx: Path, s: Settings, profile: Profile, progress: Progress | None
) -> tuple[TuningRecord, CircuitDir, Path, Path]:
    """(record, circuit folder, key folder, SRS path), making whatever is missing."""
    record = load_or_tune(card, onnx, s, profile, progress)
    cdir = CircuitDir.for_model(s.artifacts_dir, card.commitment, record.settings_hash)
    ensure_compiled(cdir, onnx, record)
    srs = srs_path(record.logrows, s)
    keys = cdir.keys_dir(file_sha256(srs))
    ensure_keys(cdir, keys, srs, progress)
    return record, cdir, keys, srs


def load_prepared(
    card: ModelCard, s: Settings, profile: Profile = "tuned"
) -> tuple[TuningRecord, CircuitDir, Path, Path]:
    """The same four things as ``load_or_build``, from files only: NotPreparedError if absent."""
    path = record_path(s.artifacts_dir, card.commitment, profile)
    hint = f"prepare it once with `verinfer models prepare {card.name}`"
    if not path.is_file():
        raise NotPreparedError(f"{card.name} has no tuned circuit on this machine; {hint}")
    record = TuningRecord.load(path)
    cdir = CircuitDir.for_model(s.artifacts_dir, card.commitment, record.settings_hash)
    try:
        srs = srs_path(record.logrows, s, create=False)
    except SrsError as exc:
        raise NotPreparedError(f"{card.name}: {exc}; {hint}") from exc
    keys = cdir.keys_dir(file_sha256(srs))
    missing = [p for p in (cdir.settings, keys / "vk.key") if not p.is_file()]
    if missing:
        raise NotPreparedError(f"{card.name}: {missing[0]} is missing; {hint}")
    return record, cdir, keys, srs


def load_or_tune(
    card: ModelCard, onnx: Path, s: Settings, profile: Profile, progress: Progress | None
) -> TuningRecord:
    """The stored tuning record for this commitment, or a new one (tuning runs once)."""
    path = record_path(s.artifacts_dir, card.commitment, profile)
    if path.is_file():
        return TuningRecord.load(path)
    work = Path(
        tempfile.mkdtemp(
            prefix=".tuning-", dir=_mkdir(model_root(s.artifacts_dir, card.commitment))
        )
    )
    try:
        record = _make_record(card, onnx, profile, work, progress)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    record.save(path)
    return record


def _make_record(
    card: ModelCard, onnx: Path, profile: Profile, work: Path, progress: Progress | None
) -> TuningRecord:
    shape = list(card.inputs[0].shape)
    samples = samples_for(card, onnx.parent)
    if profile == "ezkl-default":
        settings = ezkl_default_settings(onnx, samples.calibration, work)
        return _record(card, profile, settings)
    result = tune(onnx, shape, work, samples, progress, tolerance=card_tolerance(card))
    return record_of(card, result)


def card_tolerance(card: ModelCard) -> Tolerance:
    """The tolerance a model was added with (the default for catalogue models)."""
    t = (card.decision or {}).get("tolerance")
    return Tolerance(**t) if isinstance(t, dict) else Tolerance()


def record_of(card: ModelCard, result: TuningResult) -> TuningRecord:
    """The tuned profile's record of a tuning result."""
    f = result.fidelity
    return _record(
        card,
        "tuned",
        result.settings,
        agreement=f.argmax_agreement,
        n_agreement_samples=f.n_samples,
        candidates_tried=result.candidates_tried,
        tuning_seconds=result.seconds,
        max_abs_error=f.max_abs_error,
        max_rel_error=f.max_rel_error,
    )


def _record(
    card: ModelCard, profile: Profile, settings: dict[str, object], **extra: float | int | None
) -> TuningRecord:
    run_args = settings["run_args"]
    assert isinstance(run_args, dict)
    return TuningRecord(
        profile=profile,
        commitment=card.commitment,
        settings=settings,
        settings_hash=settings_hash(run_args),
        logrows=int(run_args["logrows"]),
        **extra,
    )


def ensure_compiled(cdir: CircuitDir, onnx: Path, record: TuningRecord) -> None:
    """Write settings.json and compile the circuit unless both are there."""
    if not cdir.settings.is_file():
        atomic_write(cdir.settings, json.dumps(record.settings))
    if not cdir.compiled.is_file():
        tmp = cdir.root / ".model.compiled.tmp"
        ezkl_ops.compile_circuit(onnx, cdir.settings, tmp)
        tmp.replace(cdir.compiled)


def ensure_keys(cdir: CircuitDir, keys: Path, srs: Path, progress: Progress | None) -> None:
    """Run ezkl.setup for this SRS unless its vk and pk are cached."""
    global SETUP_CALLS
    if (keys / "vk.key").is_file() and (keys / "pk.key").is_file():
        return
    if progress:
        progress("setup", 0.0)
    tmp = Path(tempfile.mkdtemp(prefix=".keys-", dir=cdir.root))
    ezkl_ops.setup(cdir.compiled, tmp / "vk.key", tmp / "pk.key", srs)
    SETUP_CALLS += 1
    keys.mkdir(parents=True, exist_ok=True)
    (tmp / "pk.key").replace(keys / "pk.key")  # pk first: a present vk implies a complete pk
    (tmp / "vk.key").replace(keys / "vk.key")
    shutil.rmtree(tmp, ignore_errors=True)
    if progress:
        progress("setup", 1.0)


def _mkdir(p: Path) -> Path:
    p.mkdir(parents=True, exist_ok=True)
    return p
