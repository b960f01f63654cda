"""MiniLM-L6: tokenizer shape rules, ONNX vs PyTorch agreement, stable commitment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from models import minilm
from models.sentences import varied_sentences


def test_tokenize_pads_to_128() -> None:
    ids, mask = minilm.tokenize(["hello world"])
    assert ids.shape == mask.shape == (1, 128)
    assert ids.dtype == mask.dtype == np.int64
    assert int(mask.sum()) == 4  # [CLS] hello world [SEP]
    assert ids[0, 0] == 101 and ids[0, 3] == 102 and ids[0, 4:].sum() == 0


def test_tokenize_truncates_long_text() -> None:
    ids, mask = minilm.tokenize(["word " * 500, "short"])
    assert ids.shape == (2, 128)
    assert int(mask[0].sum()) == 128 and ids[0, -1] == 102


def test_tokenizer_path_exists() -> None:
    assert minilm.tokenizer_path().is_file()


def test_varied_sentences_deterministic_and_long() -> None:
    texts = varied_sentences(200)
    assert texts == varied_sentences(200) and len(set(texts)) == 200
    _, mask = minilm.tokenize(texts)
    assert int((mask.sum(axis=1) == 128).sum()) >= 10  # some are truncated


def _plain_bert_embedding(texts: list[str]) -> np.ndarray:
    """Independent reference: plain BertModel with a 2-d mask, pooled by hand."""
    bert = minilm._bert()
    ids, mask = minilm.tokenize(texts)
    with torch.no_grad():
        hidden = bert(
            input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)
        ).last_hidden_state.numpy()
    w = mask[..., None].astype(np.float32)
    pooled = (hidden * w).sum(axis=1) / w.sum(axis=1)
    out: np.ndarray = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
    return out


@pytest.mark.slow
def test_build_onnx_matches_torch(tmp_path: Path) -> None:
    card = minilm.build_minilm("minilm-l6", tmp_path / "a")
    assert card.metrics["onnx_vs_torch_min_cosine"] > 0.9999
    texts = varied_sentences(24, seed=3)
    onnx_out = minilm.onnx_embed(tmp_path / "a" / "model.onnx", texts)
    assert onnx_out.shape == (24, 384)
    assert minilm.min_cosine(onnx_out, minilm.torch_embed(texts)) > 0.9999
    assert minilm.min_cosine(onnx_out, _plain_bert_embedding(texts)) > 0.9999
    again = minilm.build_minilm("minilm-l6", tmp_path / "b")
    assert again.commitment == card.commitment


@pytest.mark.slow
def test_similar_sentences_are_closer() -> None:
    e = minilm.torch_embed(["A man is eating food.", "A man is eating a meal.", "The stock fell."])
    assert float(e[0] @ e[1]) > float(e[0] @ e[2]) + 0.3
