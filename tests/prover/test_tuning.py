"""The generic zk tuner on a model that is not a digits model: its objective is the output
error against onnxruntime on the model's own samples, within a stated tolerance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import prover.tuning as tuning
from models.calibration import Samples
from models.fidelity import Tolerance, measure
from prover import ezkl_ops
from prover.errors import TuningError
from prover.tuning import tune

pytestmark = pytest.mark.slow
SHAPE = [1, 6]


@pytest.fixture(scope="module")
def regressor(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 → 8 → ReLU → 2, read as a regression (two real outputs)."""
    torch.manual_seed(11)
    net = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 2)).eval()
    path = tmp_path_factory.mktemp("tuning") / "regressor.onnx"
    torch.onnx.export(net, (torch.zeros(SHAPE),), str(path), input_names=["x"],
                      output_names=["y"], opset_version=17, dynamo=False)  # fmt: skip
    return path


@pytest.fixture(scope="module")
def samples() -> Samples:
    xs = np.random.default_rng(5).uniform(-2, 2, (12, *SHAPE)).astype(np.float32)
    return Samples(calibration=xs[:8], test=xs)


def _recomputed_error(onnx: Path, settings: dict[str, object], xs: np.ndarray, work: Path) -> float:
    """The chosen circuit's error, measured again from scratch (not from the tuner's numbers)."""
    (work / "s.json").write_text(json.dumps(settings))
    ezkl_ops.compile_circuit(onnx, work / "s.json", work / "c")
    scale = int(settings["model_output_scales"][0])  # type: ignore[index]
    got = [tuning.circuit_outputs(work / "c", x, scale, work) for x in xs]
    ref = tuning.onnx_outputs(onnx, xs, SHAPE)
    return measure(ref, got, classifier=False).max_rel_error


def test_the_tuned_circuit_is_within_the_stated_tolerance(
    regressor: Path, samples: Samples, tmp_path: Path
) -> None:
    tol = Tolerance(max_rel_error=0.01)
    result = tune(regressor, SHAPE, tmp_path / "w", samples, tolerance=tol, classifier=False)
    f = result.fidelity
    assert f.n_samples == 12 and f.argmax_agreement is None and result.agreement is None
    assert 0 < f.max_rel_error <= 0.01
    assert _recomputed_error(regressor, result.settings, samples.test, tmp_path) == pytest.approx(
        f.max_rel_error
    )
    # A tighter tolerance can only need the same or a larger circuit, never a smaller one.
    tight = tune(
        regressor, SHAPE, tmp_path / "t", samples, tolerance=Tolerance(1e-3), classifier=False
    )
    assert tight.fidelity.max_rel_error <= 1e-3
    assert tight.candidates_tried >= result.candidates_tried
    assert int(tight.settings["run_args"]["logrows"]) >= int(result.settings["run_args"]["logrows"])


def test_an_unreachable_tolerance_says_how_close_it_came(
    regressor: Path, samples: Samples, tmp_path: Path
) -> None:
    with pytest.raises(TuningError) as exc:
        tune(regressor, SHAPE, tmp_path, samples, tolerance=Tolerance(max_rel_error=1e-12))
    msg = str(exc.value)
    assert "within tolerance (max relative error ≤ 0.000%" in msg
    assert "the closest circuit had max abs error" in msg and "--mode optimistic" in msg


def test_significant_bit_truncation_makes_the_search_try_lower_scales(
    regressor: Path, samples: Samples, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tuning.calibrate_candidate
    seen: list[int] = []

    def truncating(
        onnx: Path, cand: tuning.Candidate, cal: Path, work: Path
    ) -> tuning.Calibrated | str:
        seen.append(cand.scale)
        if cand.scale >= 7:  # what EZKL answers for attention masks at usual scales
            return "significant bit truncation when instantiating, try lowering the scale"
        return real(onnx, cand, cal, work)

    monkeypatch.setattr(tuning, "calibrate_candidate", truncating)
    result = tune(regressor, SHAPE, tmp_path, samples, tolerance=Tolerance(max_rel_error=0.2))
    assert set(tuning.SCALES) <= set(seen) and set(tuning.LOW_SCALES) <= set(seen)
    assert result.settings["run_args"]["input_scale"] in tuning.LOW_SCALES
    assert result.fidelity.max_rel_error <= 0.2
    probe = tuning.probe(regressor, samples.calibration, tmp_path / "p")
    assert probe.candidate.scale == tuning.LOW_SCALES[0]
