"""Small PyTorch models with convolutions and pools, exported to ONNX in the tests.

``mobile_block``: a MobileNet-style block (stem conv, depthwise + pointwise conv, BatchNorm
folded by the exporter, ReLU6 as Clip, MaxPool, AveragePool, GlobalAveragePool, Linear).
``conv1d_net``: 1-D convolutions (plain, dilated and grouped), MaxPool1d, AvgPool1d and a global
average. ``pools_net``: the pooling variants (count_include_pad both ways, ceil_mode, dilated
MaxPool, GlobalMaxPool) and a BatchNorm after a pool, which the exporter cannot fold.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

MOBILE_SHAPE = (1, 3, 16, 16)
CONV1D_SHAPE = (1, 2, 24)
POOLS_SHAPE = (1, 3, 11, 11)


def _bn(c: int, affine: bool = True) -> nn.BatchNorm2d:
    bn = nn.BatchNorm2d(c)
    assert bn.running_mean is not None and bn.running_var is not None
    with torch.no_grad():  # trained-looking statistics, so the fold is not the identity
        bn.running_mean.uniform_(-0.3, 0.3)
        bn.running_var.uniform_(0.5, 2.0)
        if affine:
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.uniform_(-0.2, 0.2)
    return bn


class MobileBlock(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), _bn(8), nn.ReLU6())
        self.dw = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, groups=8), _bn(8), nn.ReLU6())
        self.pw = nn.Sequential(nn.Conv2d(8, 12, 1), _bn(12))
        self.head = nn.Linear(12, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.pw(self.dw(self.stem(x)))
        h = F.max_pool2d(h, 2)
        h = F.avg_pool2d(h, 3, stride=1, padding=1, count_include_pad=False)
        out: torch.Tensor = self.head(F.adaptive_avg_pool2d(h, 1).flatten(1))
        return out


class Conv1dNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(4)
        self.c1 = nn.Conv1d(2, 6, 5, padding=2)
        self.c2 = nn.Conv1d(6, 6, 3, padding=2, dilation=2, groups=3)
        self.c3 = nn.Conv1d(6, 4, 3, stride=2)
        self.head = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.max_pool1d(torch.relu(self.c1(x)), 2)
        h = F.avg_pool1d(self.c2(h), 3, stride=1, padding=1)
        h = F.adaptive_avg_pool1d(torch.tanh(self.c3(h)), 1)
        out: torch.Tensor = self.head(h.flatten(1))
        return out


class PoolsNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(5)
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = _bn(4, affine=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(x)
        a = F.avg_pool2d(h, 3, stride=2, padding=1, count_include_pad=True)
        b = F.avg_pool2d(h, 3, stride=2, padding=1, count_include_pad=False)
        c = F.max_pool2d(h, 2, stride=2, ceil_mode=True)  # 11 → 6: the last window is cut
        d = F.avg_pool2d(h, 2, stride=2, ceil_mode=True, count_include_pad=False)
        e = F.max_pool2d(h, 3, stride=2, padding=1, dilation=2)
        g = F.adaptive_max_pool2d(self.bn(c), 1)
        parts = [a.flatten(1), b.flatten(1), c.flatten(1), d.flatten(1), e.flatten(1)]
        return torch.cat([*parts, g.flatten(1)], 1)


def export(net: nn.Module, shape: tuple[int, ...], path: Path) -> Path:
    """``net`` in eval mode as ONNX opset 17 (input ``x``, output ``y``), the TorchScript way."""
    torch.onnx.export(
        net.eval(),
        (torch.zeros(shape),),
        str(path),
        input_names=["x"],
        output_names=["y"],
        dynamo=False,
        opset_version=17,
    )
    return path


def mobile_block(path: Path) -> Path:
    return export(MobileBlock(), MOBILE_SHAPE, path)


def conv1d_net(path: Path) -> Path:
    return export(Conv1dNet(), CONV1D_SHAPE, path)


def pools_net(path: Path) -> Path:
    return export(PoolsNet(), POOLS_SHAPE, path)


def sample(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
