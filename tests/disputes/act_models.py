"""Small PyTorch models with the common activations and recurrent cells, exported to ONNX
(opset 17, the TorchScript exporter) for the executor, one-step and game tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

SEQ, FEATURES, HIDDEN = 8, 4, 12

# name → module; the name is what the tests report (PyTorch's own module choices and defaults)
ACTIVATIONS: dict[str, Callable[[], torch.nn.Module]] = {
    "softplus": torch.nn.Softplus,
    "softplus-beta2": lambda: torch.nn.Softplus(beta=2.0),
    "hardsigmoid": torch.nn.Hardsigmoid,
    "hardswish": torch.nn.Hardswish,
    "leakyrelu": lambda: torch.nn.LeakyReLU(0.1),
    "leakyrelu-negative": lambda: torch.nn.LeakyReLU(-0.2),
    "elu": torch.nn.ELU,
    "elu-0.5": lambda: torch.nn.ELU(0.5),
    "elu-1.5": lambda: torch.nn.ELU(1.5),
    "mish": torch.nn.Mish,
    "selu": torch.nn.SELU,
    "celu-0.7": lambda: torch.nn.CELU(0.7),
    "prelu": lambda: _prelu(16),
}


def _prelu(n: int) -> torch.nn.Module:
    m = torch.nn.PReLU(n)
    with torch.no_grad():  # slopes on both sides of 0 and 1: the general (where) lowering
        m.weight.copy_(torch.linspace(-0.5, 1.5, n))
    return m


def export(net: torch.nn.Module, example: tuple[torch.Tensor, ...], path: Path) -> Path:
    """``net`` in eval mode as ONNX with inputs x (h0, c0) and output y."""
    names = ["x", "h0", "c0"][: len(example)]
    torch.onnx.export(
        net.eval(),
        example,
        str(path),
        input_names=names,
        output_names=["y"],
        dynamo=False,
        opset_version=17,
    )
    return path


def activation_only(name: str) -> torch.nn.Module:
    return torch.nn.Sequential(ACTIVATIONS[name]())


def mlp(name: str, seed: int = 0) -> torch.nn.Module:
    """Linear(6, 16) → activation → Linear(16, 4)."""
    torch.manual_seed(seed)
    first = torch.nn.Linear(6, 16)
    with torch.no_grad():
        first.weight.mul_(3.0)  # pre-activations over several units: both branches, the tails
    return torch.nn.Sequential(first, ACTIVATIONS[name](), torch.nn.Linear(16, 4))


class LastStep(torch.nn.Module):
    """An LSTM or GRU over (1, SEQ, FEATURES), batch first, and a Linear on its last output."""

    def __init__(self, cell: str, bidirectional: bool = False, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        cls = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
        self.rnn = cls(FEATURES, HIDDEN, batch_first=True, bidirectional=bidirectional)
        self.fc = torch.nn.Linear(HIDDEN * (2 if bidirectional else 1), 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, _ = self.rnn(x)
        out: torch.Tensor = self.fc(y[:, -1, :])
        return out


class FullSequence(torch.nn.Module):
    """The whole output sequence (SEQ, batch, HIDDEN) of an LSTM (from h0, c0) or a GRU (h0)."""

    def __init__(self, cell: str, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        cls = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
        self.rnn = cls(FEATURES, HIDDEN)

    def forward(self, x: torch.Tensor, *states: torch.Tensor) -> torch.Tensor:
        y: torch.Tensor = self.rnn(x, states if len(states) == 2 else states[0])[0]
        return y


def sequence_input(seed: int = 1, batch: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(batch, SEQ, FEATURES, generator=g)
