"""Auto-tuning of circuit settings: the smallest circuit whose outputs stay close to onnxruntime.

The search space is EZKL's range-check decomposition (``decomp_base``/``decomp_legs``: the
default 16384x2 needs a 16384-row table, so logrows ≥ 15; 128x4 covers the same 2**28 range
with 128 rows), the input/param scale (7..13; calibration then picks ``scale_rebase_multiplier``,
``lookup_range`` and ``logrows``) and whether the public inputs/outputs are range-checked in the
circuit. When EZKL refuses a candidate with "significant bit truncation … try lowering the
scale" (attention with masks does this), scales 6..2 are searched too. Candidates are
calibrated on the model's calibration samples and sorted by logrows; the first one whose mock
proof passes and whose outputs are within the tolerance of onnxruntime's on the test samples
(``models.fidelity``: relative error, and argmax agreement for classifier outputs) wins.

``num_inner_cols`` stays at EZKL's 2: more columns lower logrows but measured slower proving
(MLP: 3.3 s at k=11 with 4 columns vs 0.8 s with 2) and a larger Solidity verifier.

Skipping the range checks on inputs/outputs is sound here because both are PUBLIC instances:
the verifier sees them, the escrow binds the inputs to the client's own commitment and the
outputs are the result of constrained ops. Other range checks (ReLU, rescaling) stay.

Usage::

    from prover.tuning import tune
    result = tune(onnx_path, [1, 64], workdir, samples, progress=lambda stage, f: print(stage, f))
    result.fidelity.max_rel_error
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from models.calibration import Samples
from models.fidelity import Fidelity, Tolerance, looks_like_classifier, measure
from prover import ezkl_ops
from prover.errors import CircuitError, TuningError
from prover.quantize import dequantize, felt_from_ezkl_hex

Progress = Callable[[str, float], None]
DECOMPS: tuple[tuple[int, int], ...] = ((128, 4), (256, 3), (64, 5), (16384, 2))
SCALES: tuple[int, ...] = tuple(range(7, 14))
LOW_SCALES: tuple[int, ...] = (6, 5, 4, 3, 2)
TRUNCATION = "lowering the scale"  # EZKL: "significant bit truncation … try lowering the scale"
MIN_AGREEMENT = Tolerance().min_agreement
N_MOCK = 3

__all__ = [
    "MIN_AGREEMENT",
    "Calibrated",
    "Candidate",
    "TuningResult",
    "agreement",
    "onnx_argmax",
    "probe",
    "tune",
]


@dataclass(frozen=True)
class Candidate:
    """One point of the search space."""

    decomp_base: int
    decomp_legs: int
    scale: int
    skip_io_range_checks: bool

    def run_args(self) -> dict[str, Any]:
        return {
            "decomp_base": self.decomp_base,
            "decomp_legs": self.decomp_legs,
            "input_scale": self.scale,
            "param_scale": self.scale,
            "ignore_range_check_inputs_outputs": self.skip_io_range_checks,
        }


@dataclass(frozen=True)
class Calibrated:
    """A candidate after EZKL calibration: its settings JSON and circuit size."""

    candidate: Candidate
    settings: dict[str, Any]

    @property
    def logrows(self) -> int:
        return int(self.settings["run_args"]["logrows"])

    @property
    def num_rows(self) -> int:
        return int(self.settings["num_rows"])

    def sort_key(self) -> tuple[int, bool, int, int]:
        c = self.candidate
        return (self.logrows, c.skip_io_range_checks, self.num_rows, -c.scale)


@dataclass(frozen=True)
class TuningResult:
    """The chosen settings and how close their circuit's outputs are to onnxruntime's."""

    settings: dict[str, Any]
    fidelity: Fidelity
    candidates_tried: int
    seconds: float

    @property
    def agreement(self) -> float | None:
        return self.fidelity.argmax_agreement

    @property
    def n_samples(self) -> int:
        return self.fidelity.n_samples


def candidates(scales: tuple[int, ...] = SCALES) -> list[Candidate]:
    """Every point of the search space at ``scales``."""
    return [
        Candidate(b, legs, s, skip) for b, legs in DECOMPS for s in scales for skip in (False, True)
    ]


def calibrate_candidate(onnx: Path, cand: Candidate, cal: Path, work: Path) -> Calibrated | str:
    """gen_settings + calibrate one candidate; EZKL's error message when it cannot fit it."""
    out = work / "candidate.json"
    try:
        ezkl_ops.gen_settings(onnx, out, cand.run_args())
        ezkl_ops.calibrate(cal, onnx, out, [cand.scale])
    except CircuitError as exc:
        return str(exc)
    return Calibrated(cand, ezkl_ops.read_json(out))


def _calibrate(
    onnx: Path, cands: list[Candidate], cal: Path, work: Path, progress: Progress | None
) -> tuple[list[Calibrated], list[str]]:
    done: list[Calibrated] = []
    errors: list[str] = []
    for i, cand in enumerate(cands):
        if progress:
            progress("calibrate", i / len(cands))
        c = calibrate_candidate(onnx, cand, cal, work)
        if isinstance(c, str):
            errors.append(c)
        else:
            done.append(c)
    return done, errors


def calibrate_all(onnx: Path, cal: Path, work: Path, progress: Progress | None) -> list[Calibrated]:
    """Calibrate every candidate, smallest circuits first; lower scales after a truncation."""
    done, errors = _calibrate(onnx, candidates(), cal, work, progress)
    if any(TRUNCATION in e for e in errors):
        more, errors = _calibrate(onnx, candidates(LOW_SCALES), cal, work, progress)
        done += more
    if not done:
        raise TuningError(f"EZKL cannot build a circuit for {onnx}: {errors[-1]}")
    return sorted(done, key=Calibrated.sort_key)


def probe(onnx: Path, calibration: NDArray[np.float32], work: Path) -> Calibrated:
    """The smallest circuit over every decomposition at the lowest scale that calibrates.

    A quick size estimate (a few calibrations, not the whole search): lower scales shrink the
    lookup tables, and each decomposition trades table rows for assignment rows.
    """
    work.mkdir(parents=True, exist_ok=True)
    cal = ezkl_ops.write_inputs(work / "calibration.json", calibration)
    errors: list[str] = []
    for scale in (SCALES[0], *LOW_SCALES):
        cands = [Candidate(b, legs, scale, True) for b, legs in DECOMPS]
        done, errors = _calibrate(onnx, cands, cal, work, None)
        if done:
            return min(done, key=Calibrated.sort_key)
        if not any(TRUNCATION in e for e in errors):
            break
    raise TuningError(f"EZKL cannot build a circuit for {onnx}: {errors[-1]}")


def onnx_outputs(onnx: Path, xs: NDArray[np.float32], shape: list[int]) -> list[NDArray[Any]]:
    """onnxruntime's (first) output for each sample."""
    sess = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return [np.asarray(sess.run(None, {name: x.reshape(shape)})[0]) for x in xs]


def onnx_argmax(onnx: Path, xs: NDArray[np.float32]) -> NDArray[np.int64]:
    """onnxruntime's predicted class for each sample (samples along axis 0)."""
    sess = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    out = [np.argmax(sess.run(None, {name: xs[i : i + 1]})[0]) for i in range(len(xs))]
    return np.asarray(out, dtype=np.int64)


def circuit_outputs(compiled: Path, x: NDArray[np.float32], scale: int, work: Path) -> list[float]:
    """The circuit's (first) output for x, dequantized at its output scale."""
    w = ezkl_ops.gen_witness(
        ezkl_ops.write_input(work / "in.json", x), compiled, work / "witness.json"
    )
    return dequantize([felt_from_ezkl_hex(h) for h in w["outputs"][0]], scale)


def agreement(compiled: Path, xs: NDArray[np.float32], ref: NDArray[np.int64], work: Path) -> float:
    """Fraction of samples where the circuit's argmax equals ``ref`` (scale-free)."""
    hits = sum(
        int(np.argmax(circuit_outputs(compiled, x, 0, work)) == ref[i]) for i, x in enumerate(xs)
    )
    return hits / len(xs)


def mocks_pass(compiled: Path, xs: NDArray[np.float32], work: Path) -> bool:
    """Every constraint holds (ezkl.mock) on the first few test samples."""
    for x in xs[:N_MOCK]:
        ezkl_ops.gen_witness(
            ezkl_ops.write_input(work / "in.json", x), compiled, work / "witness.json"
        )
        if not ezkl_ops.mock(work / "witness.json", compiled):
            return False
    return True


@dataclass(frozen=True)
class _Target:
    """What a candidate is measured against: test inputs, onnxruntime's outputs, the rule."""

    xs: NDArray[np.float32]
    ref: list[NDArray[Any]]
    classifier: bool
    tolerance: Tolerance


def evaluate(
    onnx: Path, c: Calibrated, t: _Target, work: Path, progress: Progress | None
) -> Fidelity | None:
    """Fidelity of one calibrated candidate, or None when it fails mock or compile."""
    settings = work / "settings.json"
    settings.write_text(json.dumps(c.settings))
    compiled = work / "model.compiled"
    scale = int(c.settings["model_output_scales"][0])
    try:
        ezkl_ops.compile_circuit(onnx, settings, compiled)
        if not mocks_pass(compiled, t.xs, work):
            return None
        got = []
        for i, x in enumerate(t.xs):
            got.append(circuit_outputs(compiled, x, scale, work))
            if progress and i % 40 == 0:
                progress("fidelity", i / len(t.xs))
    except CircuitError:
        return None
    return measure(t.ref, got, t.classifier)


def tune(
    onnx: Path,
    shape: list[int],
    work: Path,
    samples: Samples,
    progress: Progress | None = None,
    *,
    tolerance: Tolerance | None = None,
    classifier: bool | None = None,
) -> TuningResult:
    """Search the settings space; the first (smallest) candidate that proves and is close wins.

    ``classifier`` defaults to what the output's shape looks like (a vector of class scores).
    """
    t0 = time.perf_counter()
    tol = tolerance or Tolerance()
    work.mkdir(parents=True, exist_ok=True)
    cal = ezkl_ops.write_inputs(work / "calibration.json", samples.calibration)
    ranked = calibrate_all(onnx, cal, work, progress)
    ref = onnx_outputs(onnx, samples.test, shape)
    is_cls = looks_like_classifier(ref[0].shape) if classifier is None else classifier
    target = _Target(samples.test, ref, is_cls, tol)
    best: Fidelity | None = None
    for tried, c in enumerate(ranked, start=1):
        f = evaluate(onnx, c, target, work, progress)
        if f is not None and not tol.violations(f):
            return TuningResult(c.settings, f, tried, time.perf_counter() - t0)
        if f is not None and (best is None or f.max_rel_error < best.max_rel_error):
            best = f
    closest = f"; the closest circuit had {best.describe()}" if best else ""
    raise TuningError(
        f"no circuit setting for {onnx} proves within tolerance ({tol.describe()}){closest}; "
        "serve it with --mode optimistic, loosen the tolerance, or check the calibration "
        "samples' value ranges"
    )


def ezkl_default_settings(
    onnx: Path, cal_samples: NDArray[np.float32], work: Path
) -> dict[str, Any]:
    """EZKL's defaults (gen_settings with no overrides, then calibrate) — the benchmark baseline."""
    work.mkdir(parents=True, exist_ok=True)
    cal = ezkl_ops.write_inputs(work / "calibration.json", cal_samples)
    out = work / "default-settings.json"
    ezkl_ops.gen_settings(onnx, out, {})
    ezkl_ops.calibrate(cal, onnx, out, None)
    return ezkl_ops.read_json(out)
