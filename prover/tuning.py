"""Auto-tuning of circuit settings: the smallest logrows that proves and keeps accuracy.

The search space is EZKL's range-check decomposition (``decomp_base``/``decomp_legs``: the
default 16384x2 needs a 16384-row table, so logrows ≥ 15; 128x4 covers the same 2**28 range
with 128 rows), the input/param scale (7..13; calibration then picks ``scale_rebase_multiplier``,
``lookup_range`` and ``logrows``) and whether the public inputs/outputs are range-checked in the
circuit. Candidates are calibrated on real training samples, sorted by logrows, and the first
one whose argmax agrees with onnxruntime on ≥ 99% of the digits test set and whose mock proof
passes wins.

``num_inner_cols`` stays at EZKL's 2: more columns lower logrows but measured slower proving
(MLP: 3.3 s at k=11 with 4 columns vs 0.8 s with 2) and a larger Solidity verifier.

Skipping the range checks on inputs/outputs is sound here because both are PUBLIC instances:
the verifier sees them, the escrow binds the inputs to the client's own commitment and the
outputs are the result of constrained ops. Other range checks (ReLU, rescaling) stay.

Usage::

    from prover.tuning import tune
    result = tune(onnx_path, [1, 64], workdir, progress=lambda stage, f: print(stage, f))
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

from prover import ezkl_ops
from prover.errors import CircuitError, TuningError
from prover.quantize import felt_from_ezkl_hex, from_felt

Progress = Callable[[str, float], None]
DECOMPS: tuple[tuple[int, int], ...] = ((128, 4), (256, 3), (64, 5), (16384, 2))
SCALES: tuple[int, ...] = tuple(range(7, 14))
MIN_AGREEMENT = 0.99
N_CALIBRATION = 32
N_MOCK = 3


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

    def sort_key(self) -> tuple[int, bool, int, int]:
        c = self.candidate
        return (self.logrows, c.skip_io_range_checks, int(self.settings["num_rows"]), -c.scale)


@dataclass(frozen=True)
class TuningResult:
    """The chosen settings and how well they agree with the float model."""

    settings: dict[str, Any]
    agreement: float
    n_samples: int
    candidates_tried: int
    seconds: float


@dataclass(frozen=True)
class Samples:
    """Calibration inputs and test inputs, already in the model's input shape."""

    calibration: NDArray[np.float32]
    test: NDArray[np.float32]


def digits_samples(shape: list[int]) -> Samples:
    """Real digits samples: training images for calibration, the test set for agreement."""
    from models.digits import load_digits_split

    d = load_digits_split()
    cal = d.x_train[:N_CALIBRATION].reshape([-1, *shape[1:]])
    return Samples(calibration=cal, test=d.x_test.reshape([-1, *shape[1:]]))


def candidates() -> list[Candidate]:
    """Every point of the search space."""
    return [
        Candidate(b, legs, s, skip) for b, legs in DECOMPS for s in SCALES for skip in (False, True)
    ]


def calibrate_candidate(onnx: Path, cand: Candidate, cal: Path, work: Path) -> Calibrated | None:
    """gen_settings + calibrate one candidate; None when EZKL cannot fit it."""
    out = work / "candidate.json"
    try:
        ezkl_ops.gen_settings(onnx, out, cand.run_args())
        ezkl_ops.calibrate(cal, onnx, out, [cand.scale])
    except CircuitError:
        return None
    return Calibrated(cand, ezkl_ops.read_json(out))


def onnx_argmax(onnx: Path, xs: NDArray[np.float32]) -> NDArray[np.int64]:
    """onnxruntime's predicted class for each sample."""
    sess = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    out = [np.argmax(sess.run(None, {name: xs[i : i + 1]})[0]) for i in range(len(xs))]
    return np.asarray(out, dtype=np.int64)


def circuit_argmax(compiled: Path, x: NDArray[np.float32], work: Path) -> int:
    """The class the circuit predicts: argmax of its quantized outputs (scale-free)."""
    w = ezkl_ops.gen_witness(
        ezkl_ops.write_input(work / "in.json", x), compiled, work / "witness.json"
    )
    return int(np.argmax([from_felt(felt_from_ezkl_hex(h)) for h in w["outputs"][0]]))


def agreement(
    compiled: Path,
    xs: NDArray[np.float32],
    ref: NDArray[np.int64],
    work: Path,
    progress: Progress | None = None,
) -> float:
    """Fraction of samples where the circuit's argmax equals onnxruntime's."""
    hits = 0
    for i, x in enumerate(xs):
        hits += int(circuit_argmax(compiled, x, work) == ref[i])
        if progress and i % 40 == 0:
            progress("agreement", i / len(xs))
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


def calibrate_all(onnx: Path, cal: Path, work: Path, progress: Progress | None) -> list[Calibrated]:
    """Calibrate every candidate, smallest circuits first."""
    cands = candidates()
    done: list[Calibrated] = []
    for i, cand in enumerate(cands):
        if progress:
            progress("calibrate", i / len(cands))
        c = calibrate_candidate(onnx, cand, cal, work)
        if c is not None:
            done.append(c)
    return sorted(done, key=Calibrated.sort_key)


def evaluate(
    onnx: Path,
    c: Calibrated,
    s: Samples,
    ref: NDArray[np.int64],
    work: Path,
    progress: Progress | None,
) -> float | None:
    """Agreement of one calibrated candidate, or None when it fails mock or compile."""
    settings = work / "settings.json"
    settings.write_text(json.dumps(c.settings))
    compiled = work / "model.compiled"
    try:
        ezkl_ops.compile_circuit(onnx, settings, compiled)
        if not mocks_pass(compiled, s.test, work):
            return None
        return agreement(compiled, s.test, ref, work, progress)
    except CircuitError:
        return None


def tune(
    onnx: Path,
    shape: list[int],
    work: Path,
    progress: Progress | None = None,
    samples: Samples | None = None,
) -> TuningResult:
    """Search the settings space; the first (smallest) candidate that proves and agrees wins."""
    t0 = time.perf_counter()
    s = samples or digits_samples(shape)
    work.mkdir(parents=True, exist_ok=True)
    cal = ezkl_ops.write_inputs(work / "calibration.json", s.calibration)
    ranked = calibrate_all(onnx, cal, work, progress)
    ref = onnx_argmax(onnx, s.test)
    for tried, c in enumerate(ranked, start=1):
        agree = evaluate(onnx, c, s, ref, work, progress)
        if agree is not None and agree >= MIN_AGREEMENT:
            return TuningResult(c.settings, agree, len(s.test), tried, time.perf_counter() - t0)
    raise TuningError(
        f"no circuit setting for {onnx} proves with ≥{MIN_AGREEMENT:.0%} agreement; "
        "widen DECOMPS/SCALES in prover/tuning.py or check the model's value ranges"
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
