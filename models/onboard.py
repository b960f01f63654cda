"""`verinfer models add`: a user's ONNX file becomes a served model, its mode chosen by measuring.

In order, and nothing is written until every check passed: the file is validated (checker,
shape inference, static shapes, one output); a model the executor would lower is checked for
unsupported ops, all listed in one error; calibration samples are read and checked; then the
mode is decided from measurements (``decide``), the model, its samples and card are written to
``<models dir>/<name>/`` and, for zk, the tuned circuit's record to the artifact cache (so the
prover never re-tunes on other data).

Auto mode: zk when EZKL's circuit fits the budget (``models.budget``) and stays within the
tolerance of onnxruntime; otherwise optimistic, if the executor is within the tolerance. The
card's ``decision`` says which and why, with the numbers.

Usage::

    card = add_model(Path("net.onnx"), "my-net", AddOptions(input_ranges={"x": (0, 1)}))
    card.mode, card.decision["reason"]
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import onnx

from models.budget import Budget
from models.calibration import (
    CALIBRATION_FILE,
    SampleSet,
    load_calibration,
    sample_ranges,
    save_samples,
)
from models.card import ModelCard, TensorSpec
from models.commitment import model_commitment
from models.decide import Decision, Measured, decide
from models.errors import CalibrationError, UnsupportedOpsError
from models.fidelity import Tolerance, looks_like_classifier
from models.measure import reference_outputs
from models.registry import Registry
from models.validate import CheckedModel, validate_onnx
from verinfer.settings import Settings, get_settings

Requested = Literal["auto", "zk", "optimistic", "zk-on-demand"]
Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class AddOptions:
    """What `models add` was told besides the file and the name."""

    mode: Requested = "auto"
    calibration: Path | None = None
    input_ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    input_shapes: dict[str, list[int]] = field(default_factory=dict)
    labels: Path | None = None
    tolerance: Tolerance = field(default_factory=Tolerance)
    budget: Budget | None = None
    description: str = ""
    replace: bool = False


def add_model(
    path: Path,
    name: str,
    opts: AddOptions | None = None,
    *,
    registry: Registry | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> ModelCard:
    """Validate, measure, decide and install ``path`` as model ``name``; returns its card."""
    o = opts or AddOptions()
    s = settings or get_settings()
    reg = registry or Registry(s.models_dir)
    reg.check_new_name(name, o.replace)
    checked = validate_onnx(path, o.input_shapes)
    if o.mode in ("auto", "optimistic"):
        refuse_unsupported(checked.model, path)
    inputs = _with_ranges(checked.inputs, o.input_ranges)
    xs = _samples(o, inputs)
    labels = read_labels(o.labels, checked.outputs[0])
    stage = reg.root / f".adding-{name}-{os.getpid()}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    try:
        card = _stage(path, name, o, checked, inputs, xs, labels, stage, s, progress)
        return reg.install(stage, card.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def refuse_unsupported(model: onnx.ModelProto, path: Path) -> None:
    """One error listing every op the executor cannot lower (nothing is measured before)."""
    from disputes.lowering.support import unsupported_nodes

    gaps = unsupported_nodes(model)
    if gaps:
        lines = "\n".join(f"  - {g.describe()}" for g in gaps)
        raise UnsupportedOpsError(
            f"{path.name}: the integer executor (optimistic mode) cannot lower {len(gaps)} "
            f"op type(s):\n{lines}\n(--mode zk proves the model with EZKL instead, if EZKL "
            "supports these ops and the circuit fits)"
        )


def read_labels(path: Path | None, output: TensorSpec) -> list[str]:
    """Class names from a .json list or a text file (one per line), one per output value."""
    if path is None:
        return []
    try:
        text = path.read_text()
        raw = json.loads(text) if path.suffix.lower() == ".json" else text.splitlines()
    except (OSError, ValueError) as exc:
        raise CalibrationError(f"cannot read --labels {path}: {exc}") from None
    labels = [str(x) for x in raw if str(x).strip()] if isinstance(raw, list) else []
    n = 1
    for d in output.shape:
        n *= d
    if len(labels) != n:
        raise CalibrationError(
            f"--labels {path}: {len(labels)} labels for the {n} values of output "
            f"{output.name!r} {output.shape}; give one label per class"
        )
    return labels


def _stage(
    path: Path,
    name: str,
    o: AddOptions,
    checked: CheckedModel,
    inputs: list[TensorSpec],
    xs: SampleSet,
    labels: list[str],
    stage: Path,
    s: Settings,
    progress: Progress | None,
) -> ModelCard:
    onnx_path = stage / "model.onnx"
    onnx.save(checked.model, str(onnx_path))
    save_samples(stage / CALIBRATION_FILE, xs)
    commitment = model_commitment(onnx_path)
    classifier = bool(labels) or looks_like_classifier(checked.outputs[0].shape)
    measured = Measured(onnx_path, xs, inputs, reference_outputs(onnx_path, xs, inputs), classifier)
    budget = o.budget or Budget.from_settings(s)
    decision = decide(measured, o.mode, o.tolerance, budget, stage / "work", progress)
    shutil.rmtree(stage / "work", ignore_errors=True)
    card = _card(path, name, o, checked, inputs, commitment, labels, decision)
    card.save(stage / "card.json")
    if decision.tuning is not None:
        _save_tuning(card, decision, s)
    return card


def _card(
    path: Path,
    name: str,
    o: AddOptions,
    checked: CheckedModel,
    inputs: list[TensorSpec],
    commitment: str,
    labels: list[str],
    decision: Decision,
) -> ModelCard:
    return ModelCard(
        name=name,
        mode=decision.mode,
        description=o.description or f"{name}: added from {path.name}",
        inputs=inputs,
        outputs=checked.outputs,
        commitment=commitment,
        onnx_file="model.onnx",
        metrics={"n_params": float(checked.n_params), **decision.metrics()},
        labels=labels,
        extra={
            "source_file": path.name,
            "ops": checked.ops,
            "calibration_file": CALIBRATION_FILE,
            **decision.extra(),
        },
        source="user",
        decision=decision.as_dict(),
    )


def _save_tuning(card: ModelCard, decision: Decision, s: Settings) -> None:
    from prover.build import record_of
    from prover.cache import record_path

    assert decision.tuning is not None
    record_of(card, decision.tuning).save(record_path(s.artifacts_dir, card.commitment, "tuned"))


def _with_ranges(
    inputs: list[TensorSpec], ranges: dict[str, tuple[float, float]]
) -> list[TensorSpec]:
    """Inputs with the declared --input-range bounds (the gateway may enforce them)."""
    out = []
    for t in inputs:
        lo, hi = ranges.get(t.name, (None, None))
        out.append(t.model_copy(update={"min": lo, "max": hi}))
    return out


def _samples(o: AddOptions, inputs: list[TensorSpec]) -> SampleSet:
    if o.calibration is not None:
        return load_calibration(o.calibration, inputs)
    return sample_ranges(o.input_ranges, inputs)
