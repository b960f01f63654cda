"""Accuracy of the integer executor against onnxruntime float32 (slow: builds real models)."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from disputes.executor import load_program, run
from disputes.quantize import QuantConfig

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
    from models.minilm import tokenize
    from models.registry import Registry
    from models.sentences import varied_sentences

    reg = Registry.default()
    reg.build("minilm-l6")
    path = reg.onnx_path("minilm-l6")
    program = load_program(path, cfg)
    sess = ort.InferenceSession(str(path))
    cos = []
    for s in varied_sentences(n):
        ids, mask = tokenize([s])
        feed = {"input_ids": ids, "attention_mask": mask}
        ref = sess.run(None, feed)[0].reshape(-1).astype(np.float64)
        got = run(program, feed).values.reshape(-1)
        cos.append(float(ref @ got / (np.linalg.norm(ref) * np.linalg.norm(got))))
    return cos


def test_minilm_exact_profile_cosine() -> None:
    """The exact profile (SPEC v1) keeps float-level fidelity: cosine >= 0.9999."""
    cos = _minilm_cosines(PROFILES["exact"], 20)
    print(f"MiniLM exact profile cosine over 20 sentences: min {min(cos):.6f}")
    assert min(cos) >= 0.9999


def test_minilm_cosine_on_200_sentences() -> None:
    cos = _minilm_cosines(PROFILES["default"], 200)
    print(f"MiniLM cosine over 200 sentences: min {min(cos):.6f} mean {np.mean(cos):.6f}")
    assert min(cos) >= 0.99
