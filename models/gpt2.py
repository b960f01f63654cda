"""A GPT-2-small-shaped decoder with random weights, for scale tests of the optimistic path.

Shape of GPT-2 small: 12 pre-LayerNorm blocks, d_model 768, 12 heads, MLP 3072 with GPT-2's
tanh-approximated GELU, learned position embeddings, causal self-attention, final LayerNorm.
Two deliberate differences keep the file and graph small: the vocabulary defaults to 8192 (not
50257; only the embedding Gather depends on it) and the output is the final hidden states
(``hidden``, float32 [1, seq_len, 768]), not logits. Weights are N(0, 0.02) from a fixed seed,
as GPT-2 initialises them. Written in plain torch so the ONNX graph has only plain operators
(Gather, MatMul, Add, Mul, LayerNormalization, Softmax, Tanh, Pow, ...), no mask machinery.

Usage::

    from models.gpt2 import build_gpt2_synthetic
    card = build_gpt2_synthetic("gpt2-synth", Path(".verinfer/models/gpt2-synth"))
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from numpy.typing import NDArray
from torch import nn

from models.card import ModelCard, TensorSpec
from models.commitment import model_commitment
from models.errors import ExportError

SEED = 20261124
ONNX_TOLERANCE = 1e-3
# Added to scores above the diagonal; exp(-1e4) is 0 in float32 and fixed point can hold it.
MASK_PENALTY = -10000.0


@dataclass(frozen=True)
class GPT2Shape:
    """Hyper-parameters of the synthetic decoder; the defaults are GPT-2 small's (vocab aside)."""

    n_layers: int = 12
    d_model: int = 768
    n_heads: int = 12
    d_mlp: int = 3072
    vocab: int = 8192
    seq_len: int = 128


class Block(nn.Module):
    """One pre-LN GPT-2 block: x + attn(ln1(x)), then x + mlp(ln2(x))."""

    def __init__(self, s: GPT2Shape) -> None:
        super().__init__()
        self.n_heads, self.d_head = s.n_heads, s.d_model // s.n_heads
        self.ln1, self.ln2 = nn.LayerNorm(s.d_model), nn.LayerNorm(s.d_model)
        self.qkv = nn.Linear(s.d_model, 3 * s.d_model)
        self.proj = nn.Linear(s.d_model, s.d_model)
        self.fc, self.out = nn.Linear(s.d_model, s.d_mlp), nn.Linear(s.d_mlp, s.d_model)
        upper = torch.triu(torch.ones(s.seq_len, s.seq_len), diagonal=1)
        self.mask: torch.Tensor
        self.register_buffer("mask", upper * MASK_PENALTY, persistent=False)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[1]
        return x.reshape(1, n, self.n_heads, self.d_head).transpose(1, 2)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(x).split(x.shape[-1], dim=-1)
        q, k, v = self._heads(q), self._heads(k), self._heads(v)
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.d_head) + self.mask
        ctx = torch.softmax(scores, dim=-1) @ v
        out: torch.Tensor = self.proj(ctx.transpose(1, 2).reshape(x.shape))
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.ln1(x))
        gelu = nn.functional.gelu(self.fc(self.ln2(x)), approximate="tanh")
        out: torch.Tensor = x + self.out(gelu)
        return out


class SyntheticGPT2(nn.Module):
    """Token + position embeddings, n_layers blocks, final LayerNorm → hidden states."""

    def __init__(self, s: GPT2Shape) -> None:
        super().__init__()
        self.wte, self.wpe = nn.Embedding(s.vocab, s.d_model), nn.Embedding(s.seq_len, s.d_model)
        self.blocks = nn.ModuleList([Block(s) for _ in range(s.n_layers)])
        self.ln_f = nn.LayerNorm(s.d_model)
        self.positions: torch.Tensor
        self.register_buffer("positions", torch.arange(s.seq_len), persistent=False)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        x = self.wte(input_ids) + self.wpe(self.positions)[None]
        for block in self.blocks:
            x = block(x)
        out: torch.Tensor = self.ln_f(x)
        return out


def _init(net: nn.Module) -> None:
    for module in net.modules():
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.normal_(module.bias, mean=0.0, std=0.02)


def make_gpt2(shape: GPT2Shape | None = None, seed: int = SEED) -> SyntheticGPT2:
    """The random-weight decoder, same weights for the same seed: ``make_gpt2()(ids)``."""
    torch.manual_seed(seed)
    net = SyntheticGPT2(shape or GPT2Shape())
    _init(net)
    return net.eval()


def sample_ids(shape: GPT2Shape, seed: int = 0) -> NDArray[np.int64]:
    """Random token ids of shape (1, seq_len), e.g. as an input for scale tests."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, shape.vocab, size=(1, shape.seq_len), dtype=np.int64)


def export_onnx(net: SyntheticGPT2, shape: GPT2Shape, path: Path) -> None:
    """Export at the fixed sequence length: input ``input_ids`` int64, output ``hidden``."""
    dummy = torch.from_numpy(sample_ids(shape))
    with torch.no_grad():
        torch.onnx.export(
            net,
            (dummy,),
            str(path),
            input_names=["input_ids"],
            output_names=["hidden"],
            opset_version=17,
            do_constant_folding=True,
            dynamo=False,
        )


def _max_diff(net: SyntheticGPT2, shape: GPT2Shape, path: Path) -> float:
    ids = sample_ids(shape, seed=1)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input_ids": ids})[0]
    with torch.no_grad():
        want = net(torch.from_numpy(ids)).numpy()
    return float(np.max(np.abs(got - want)))


def _card(name: str, shape: GPT2Shape, path: Path, diff: float) -> ModelCard:
    return ModelCard(
        name=name,
        mode="optimistic",
        description=f"{name}: GPT-2-small-shaped decoder, random weights (seed {SEED})",
        inputs=[
            TensorSpec(
                name="input_ids",
                shape=[1, shape.seq_len],
                dtype="int64",
                description=f"token ids in [0, {shape.vocab})",
            )
        ],
        outputs=[TensorSpec(name="hidden", shape=[1, shape.seq_len, shape.d_model])],
        commitment=model_commitment(path),
        onnx_file="model.onnx",
        metrics={"onnx_vs_torch_max_abs_diff": diff},
        extra={"seed": SEED, "gelu": "tanh", **asdict(shape)},
    )


def build_gpt2_synthetic(name: str, out_dir: Path, shape: GPT2Shape | None = None) -> ModelCard:
    """Build, export and check the decoder: ``build_gpt2_synthetic("gpt2-synth", dir)``."""
    shape = shape or GPT2Shape()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "model.onnx"
    net = make_gpt2(shape)
    export_onnx(net, shape, path)
    diff = _max_diff(net, shape, path)
    if diff > ONNX_TOLERANCE:
        raise ExportError(f"{name}: ONNX differs from PyTorch by {diff:.2e}; re-export the model")
    card = _card(name, shape, path, diff)
    card.save(out_dir / "card.json")
    return card
