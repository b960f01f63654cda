"""Measurements `models add` decides from: onnxruntime's outputs, the executor's error, the
zk circuit's size and error.

Usage::

    ref = reference_outputs(onnx_path, samples, inputs)
    f, program = executor_fidelity(onnx_path, samples, inputs, ref, classifier=False)
    probe = zk_probe(onnx_path, samples, inputs, work)       # prover.tuning.Calibrated
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from models.calibration import N_CALIBRATION, Samples, SampleSet
from models.card import TensorSpec
from models.errors import CalibrationError, UnsupportedOpsError
from models.fidelity import Fidelity, Tolerance, measure

if TYPE_CHECKING:
    from disputes.program.ir import Program
    from prover.tuning import Calibrated, TuningResult


def n_samples(xs: SampleSet) -> int:
    return len(next(iter(xs.values())))


def feed(xs: SampleSet, i: int, inputs: list[TensorSpec]) -> dict[str, NDArray[Any]]:
    """Sample ``i`` of every input, in the dtype the model declares."""
    return {t.name: xs[t.name][i].astype(t.dtype) for t in inputs}


def reference_outputs(onnx: Path, xs: SampleSet, inputs: list[TensorSpec]) -> list[NDArray[Any]]:
    """onnxruntime's (float) output for every sample: the reference both paths are held to."""
    sess = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
    return [np.asarray(sess.run(None, feed(xs, i, inputs))[0]) for i in range(n_samples(xs))]


def executor_fidelity(
    onnx: Path,
    xs: SampleSet,
    inputs: list[TensorSpec],
    ref: list[NDArray[Any]],
    classifier: bool,
) -> tuple[Fidelity, Program]:
    """Lower the model with the executor, run every sample, and measure it against ``ref``."""
    from disputes.errors import ExecutionInputError, LoweringError
    from disputes.execution.executor import load_program, run

    try:
        program = load_program(onnx)
    except LoweringError as exc:  # a limit inside a handler (an attribute value), one node
        raise UnsupportedOpsError(f"the executor cannot lower {onnx.name}: {exc}") from None
    try:
        got = [run(program, feed(xs, i, inputs)).values for i in range(n_samples(xs))]
    except ExecutionInputError as exc:
        raise CalibrationError(f"the executor refuses a calibration sample: {exc}") from None
    return measure(ref, got, classifier), program


def zk_samples(xs: SampleSet, inputs: list[TensorSpec]) -> Samples:
    """The tuner's view of a one-input sample set (float32)."""
    x = xs[inputs[0].name].astype(np.float32)
    return Samples(calibration=x[:N_CALIBRATION], test=x)


def zk_probe(onnx: Path, xs: SampleSet, inputs: list[TensorSpec], work: Path) -> Calibrated:
    """EZKL's quick size estimate (see ``prover.tuning.probe``)."""
    from prover.tuning import probe

    return probe(onnx, zk_samples(xs, inputs).calibration, work)


def zk_tune(
    onnx: Path,
    xs: SampleSet,
    inputs: list[TensorSpec],
    work: Path,
    tolerance: Tolerance,
    classifier: bool,
) -> TuningResult:
    """The generic zk tuning on the model's own samples (raises TuningError when none fits)."""
    from prover.tuning import tune

    samples = zk_samples(xs, inputs)
    return tune(onnx, inputs[0].shape, work, samples, tolerance=tolerance, classifier=classifier)
