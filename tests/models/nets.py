"""Small PyTorch models that are not in the catalogue, exported to ONNX inside the tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

SEED = 7


class SmallCnn(nn.Module):
    """1x10x10 → conv3x3(3) → ReLU → conv3x3/2(4) → ReLU → linear → 5 class scores."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(1, 3, 3)
        self.c2 = nn.Conv2d(3, 4, 3, stride=2)
        self.fc = nn.Linear(4 * 3 * 3, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.c1(x))
        x = torch.relu(self.c2(x))
        out: torch.Tensor = self.fc(x.flatten(1))
        return out


class TinyTransformer(nn.Module):
    """One pre-LN-free transformer block: self-attention, residual, LayerNorm, GELU MLP."""

    def __init__(self, d: int = 16) -> None:
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(d, d) for _ in range(4))
        self.ln = nn.LayerNorm(d)
        self.up, self.down = nn.Linear(d, 2 * d), nn.Linear(2 * d, d)
        self.d = d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        att = torch.softmax(self.q(x) @ self.k(x).transpose(-1, -2) / self.d**0.5, dim=-1)
        x = self.ln(x + self.o(att @ self.v(x)))
        out: torch.Tensor = x + self.down(nn.functional.gelu(self.up(x)))
        return out


CNN_SHAPE = [1, 1, 10, 10]
TRANSFORMER_SHAPE = [1, 8, 16]


def export(
    net: nn.Module, shape: list[int], path: Path, dynamic: dict[str, Any] | None = None
) -> Path:
    """Export ``net`` (eval mode) with input ``x`` and output ``y``; returns ``path``."""
    net.eval()
    torch.onnx.export(
        net,
        (torch.zeros(shape),),
        str(path),
        input_names=["x"],
        output_names=["y"],
        opset_version=17,
        dynamo=False,
        dynamic_axes=dynamic,
    )
    return path


def small_cnn(path: Path, dynamic: dict[str, Any] | None = None) -> Path:
    torch.manual_seed(SEED)
    return export(SmallCnn(), CNN_SHAPE, path, dynamic)


def tiny_transformer(path: Path) -> Path:
    torch.manual_seed(SEED)
    return export(TinyTransformer(), TRANSFORMER_SHAPE, path)
