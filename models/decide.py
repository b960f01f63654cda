"""Choosing a model's mode from measurements: zk when its circuit fits the budget and is close
enough to onnxruntime, otherwise optimistic when the executor is; ``--mode`` overrides.

Auto mode in order, stopping at the first answer:
1. zk needs one float input (the prover's instance layout); otherwise optimistic.
2. EZKL's quick probe (a few calibrations, ``prover.tuning.probe``): a smallest circuit over
   the budget means optimistic, without the full search.
3. The full tuning on the calibration samples: no candidate within the tolerance, or a tuned
   circuit over the budget, means optimistic.
4. Otherwise zk. An optimistic answer is then measured on the executor: beyond the tolerance
   it is refused with the numbers (FidelityError), zk's numbers beside them.

Usage::

    d = decide(measured, "auto", Tolerance(), Budget.from_settings(s), work, None)
    d.mode, d.reason, d.as_dict()
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from models.budget import Budget, CircuitSize
from models.calibration import SampleSet
from models.card import Mode, TensorSpec
from models.errors import FidelityError, InvalidModelError
from models.fidelity import Fidelity, Tolerance
from models.measure import executor_fidelity, zk_probe, zk_tune

if TYPE_CHECKING:
    from prover.tuning import TuningResult

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class Measured:
    """The model and the data every measurement runs on."""

    onnx: Path
    xs: SampleSet
    inputs: list[TensorSpec]
    reference: list[NDArray[np.generic]]
    classifier: bool


@dataclass
class Decision:
    """The chosen mode, why, and the numbers behind it (stored in the card)."""

    requested: str
    mode: Mode
    reason: str
    tolerance: Tolerance
    budget: Budget | None = None
    probe: CircuitSize | None = None
    circuit: CircuitSize | None = None
    fidelity: Fidelity | None = None
    program: dict[str, Any] = field(default_factory=dict)
    tuning: TuningResult | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "requested": self.requested,
            "mode": self.mode,
            "reason": self.reason,
            "tolerance": asdict(self.tolerance),
            "classifier_outputs": bool(
                self.fidelity and self.fidelity.argmax_agreement is not None
            ),
        }
        for key in ("budget", "probe", "circuit", "fidelity"):
            value = getattr(self, key)
            if value is not None:
                out[key] = asdict(value)
        if self.tuning is not None:
            out["zk_settings"] = _run_args(self.tuning.settings)
        return out

    def metrics(self) -> dict[str, float]:
        prefix = "executor" if self.mode == "optimistic" else "zk"
        return self.fidelity.metrics(prefix) if self.fidelity else {}

    def extra(self) -> dict[str, Any]:
        return dict(self.program)


def decide(
    m: Measured,
    requested: str,
    tol: Tolerance,
    budget: Budget,
    work: Path,
    progress: Progress | None = None,
) -> Decision:
    """The mode for ``requested`` (auto, zk, optimistic, zk-on-demand); see the module doc."""
    if requested in ("zk", "zk-on-demand"):
        _need_zk_layout(m.inputs)
        d = _zk(m, tol, work, requested, f"--mode {requested} was requested", progress)
        d.budget = budget
        return d
    if requested == "optimistic":
        return optimistic(
            m, tol, Decision(requested, "optimistic", "--mode optimistic was requested", tol)
        )
    return _auto(m, tol, budget, work, progress)


def optimistic(m: Measured, tol: Tolerance, d: Decision) -> Decision:
    """Measure the executor; refuse (with the numbers) a model beyond the tolerance."""
    f, program = executor_fidelity(m.onnx, m.xs, m.inputs, m.reference, m.classifier)
    d.mode, d.fidelity = "optimistic", f
    d.program = {
        "program_root": "0x" + program.program_root.hex(),
        "weights_root": "0x" + program.weights_root.hex(),
        "n_steps": len(program.steps),
    }
    problems = tol.violations(f)
    if problems:
        why = "" if d.requested == "optimistic" else f" (zk was not chosen: {d.reason})"
        raise FidelityError(
            f"{m.onnx.name}: the executor's outputs are beyond the tolerance "
            f"({'; '.join(problems)}): measured {f.describe()} against onnxruntime on the "
            f"calibration samples{why}; loosen --max-rel-error / --min-agreement only if such "
            "outputs are acceptable"
        )
    return d


def _auto(
    m: Measured, tol: Tolerance, budget: Budget, work: Path, progress: Progress | None
) -> Decision:
    from prover.errors import TuningError

    d = Decision("auto", "optimistic", "", tol, budget)
    layout = _zk_layout_problem(m.inputs)
    if layout:
        d.reason = layout
        return optimistic(m, tol, d)
    if progress:
        progress("probing the zk circuit size", 0.0)
    try:
        p = zk_probe(m.onnx, m.xs, m.inputs, work)
    except TuningError as exc:
        d.reason = f"EZKL cannot build a circuit for it: {exc}"
        return optimistic(m, tol, d)
    d.probe = CircuitSize.of(p.logrows, p.num_rows)
    over = d.probe.over(budget)
    if over:
        d.reason = f"the smallest circuit EZKL finds is over the zk budget: {', '.join(over)}"
        return optimistic(m, tol, d)
    try:
        z = _zk(m, tol, work, "auto", "", progress)
    except TuningError as exc:
        d.reason = f"no zk circuit is within the tolerance: {exc}"
        return optimistic(m, tol, d)
    return _fits(m, tol, d, z, budget)


def _fits(m: Measured, tol: Tolerance, d: Decision, z: Decision, budget: Budget) -> Decision:
    assert z.circuit is not None and z.fidelity is not None
    over = z.circuit.over(budget)
    if over:
        d.circuit = z.circuit
        d.reason = f"the tuned zk circuit is over the zk budget: {', '.join(over)}"
        return optimistic(m, tol, d)
    c = z.circuit
    z.reason = (
        f"the tuned circuit fits the zk budget (logrows {c.logrows} ≤ {budget.max_logrows}, "
        f"proving ~{c.prove_s_estimate:g} s ≤ {budget.max_prove_s:g} s, proving key "
        f"~{c.pk_bytes_estimate >> 20} MiB ≤ {budget.max_pk_bytes >> 20} MiB) with "
        f"{z.fidelity.describe()}"
    )
    z.budget, z.probe = budget, d.probe
    return z


def _zk(
    m: Measured,
    tol: Tolerance,
    work: Path,
    requested: str,
    reason: str,
    progress: Progress | None,
) -> Decision:
    if progress:
        progress("tuning the zk circuit", 0.0)
    result = zk_tune(m.onnx, m.xs, m.inputs, work, tol, m.classifier)
    ra = result.settings["run_args"]
    mode: Mode = "zk-on-demand" if requested == "zk-on-demand" else "zk"
    d = Decision(requested, mode, reason, tol, fidelity=result.fidelity, tuning=result)
    d.circuit = CircuitSize.of(int(ra["logrows"]), int(result.settings["num_rows"]))
    return d


def _zk_layout_problem(inputs: list[TensorSpec]) -> str:
    if len(inputs) != 1:
        return f"zk proves models with one input tensor; this one has {len(inputs)}"
    if not inputs[0].dtype.startswith("float"):
        return f"zk proves float inputs; input {inputs[0].name!r} is {inputs[0].dtype}"
    return ""


def _need_zk_layout(inputs: list[TensorSpec]) -> None:
    problem = _zk_layout_problem(inputs)
    if problem:
        raise InvalidModelError(f"{problem}: use --mode optimistic (or auto)")


def _run_args(settings: dict[str, Any]) -> dict[str, Any]:
    ra = settings["run_args"]
    keys = ("logrows", "input_scale", "param_scale", "decomp_base", "decomp_legs")
    out = {k: ra[k] for k in keys}
    out["skip_io_range_checks"] = ra["ignore_range_check_inputs_outputs"]
    return out
