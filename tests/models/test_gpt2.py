"""The synthetic GPT-2-shaped decoder: builds, exports, runs in onnxruntime."""

from __future__ import annotations

from pathlib import Path

import onnxruntime as ort
import pytest
import torch

from models.gpt2 import GPT2Shape, build_gpt2_synthetic, make_gpt2, sample_ids

TINY = GPT2Shape(n_layers=2, d_model=64, n_heads=4, d_mlp=256, vocab=100, seq_len=16)


def _run(path: Path, shape: GPT2Shape):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, {"input_ids": sample_ids(shape)})[0]


def test_tiny_builds_and_runs(tmp_path: Path) -> None:
    card = build_gpt2_synthetic("gpt2-tiny", tmp_path, TINY)
    assert card.metrics["onnx_vs_torch_max_abs_diff"] < 1e-4
    assert _run(tmp_path / "model.onnx", TINY).shape == (1, 16, 64)
    assert card.outputs[0].shape == [1, 16, 64]


def test_causal() -> None:
    net = make_gpt2(TINY)
    ids = torch.from_numpy(sample_ids(TINY))
    changed = ids.clone()
    changed[0, -1] = (changed[0, -1] + 1) % TINY.vocab
    with torch.no_grad():
        a, b = net(ids), net(changed)
    assert torch.equal(a[:, :-1], b[:, :-1]) and not torch.equal(a[:, -1], b[:, -1])


def test_same_seed_same_commitment(tmp_path: Path) -> None:
    a = build_gpt2_synthetic("gpt2-tiny", tmp_path / "a", TINY)
    b = build_gpt2_synthetic("gpt2-tiny", tmp_path / "b", TINY)
    assert a.commitment == b.commitment


@pytest.mark.slow
def test_full_size_builds(tmp_path: Path) -> None:
    card = build_gpt2_synthetic("gpt2-synth", tmp_path)
    assert _run(tmp_path / "model.onnx", GPT2Shape()).shape == (1, 128, 768)
    assert card.extra["n_layers"] == 12 and card.extra["d_model"] == 768
