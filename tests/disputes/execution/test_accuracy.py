"""Accuracy of the integer executor against onnxruntime float32 (slow: builds real models)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from disputes.execution.accuracy import minilm_cosines
from disputes.execution.executor import load_program, run
from disputes.program.quantize import QuantConfig

pytestmark = pytest.mark.slow
PROFILES = {"default": QuantConfig(), "exact": QuantConfig(mm_wbits=0)}


@pytest.mark.parametrize("profile", sorted(PROFILES))
@pytest.mark.parametrize("name", ["digits-mlp", "digits-cnn"])
def test_digits_predictions_agree(name: str, profile: str) -> None:
    from models.digits import load_digits_split
    from models.registry import Registry

    reg = Registry.default()
    reg.build(name)
    path = reg.onnx_path(name)
    program = load_program(path, PROFILES[profile])
    sess = ort.InferenceSession(str(path))
    shape = program.inputs[0].shape
    xs = load_digits_split().x_test
    agree = 0
    for x in xs:
        feed = {"input": x.reshape(shape)}
        agree += int(np.argmax(sess.run(None, feed)[0]) == np.argmax(run(program, feed).values))
    assert agree / len(xs) >= 0.99, f"{name}: {agree}/{len(xs)} predictions agree"


def _minilm_cosines(cfg: QuantConfig, n: int) -> list[float]:
    from models.registry import Registry

    reg = Registry.default()
    reg.build("minilm-l6")
    path = reg.onnx_path("minilm-l6")
    return minilm_cosines(load_program(path, cfg), path, n)


def test_minilm_exact_profile_cosine() -> None:
    """The exact profile (SPEC v1) keeps float-level fidelity: cosine >= 0.9999."""
    cos = _minilm_cosines(PROFILES["exact"], 20)
    print(f"MiniLM exact profile cosine over 20 sentences: min {min(cos):.6f}")
    assert min(cos) >= 0.9999


def test_minilm_cosine_on_200_sentences() -> None:
    cos = _minilm_cosines(PROFILES["default"], 200)
    print(f"MiniLM cosine over 200 sentences: min {min(cos):.6f} mean {np.mean(cos):.6f}")
    assert min(cos) >= 0.99
