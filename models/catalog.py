"""The catalogue of models verinfer knows how to build, and how each is served."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from models.card import Mode, ModelCard
from models.errors import UnknownModelError

Builder = Callable[[str, Path], ModelCard]


def _digits(name: str, out: Path) -> ModelCard:
    from models.digits import build_digits

    return build_digits(name, out)


def _minilm(name: str, out: Path) -> ModelCard:
    from models.minilm import build_minilm

    card: ModelCard = build_minilm(name, out)
    return card


def _gpt2(name: str, out: Path) -> ModelCard:
    from models.gpt2 import build_gpt2_synthetic

    card: ModelCard = build_gpt2_synthetic(name, out)
    return card


@dataclass(frozen=True)
class ModelSpec:
    """A buildable model: its name, serving mode, builder and whether `build --all` makes it."""

    name: str
    mode: Mode
    summary: str
    builder: Builder
    default: bool = True


CATALOG: dict[str, ModelSpec] = {
    s.name: s
    for s in [
        ModelSpec("digits-mlp", "zk", "MLP 64→32→ReLU→10 on sklearn digits", _digits),
        ModelSpec("digits-cnn", "zk", "CNN 1x8x8→conv3x3(4)→ReLU→linear→10 on digits", _digits),
        ModelSpec(
            "minilm-l6", "optimistic", "all-MiniLM-L6-v2 sentence embedding, seq 128", _minilm
        ),
        ModelSpec(
            "gpt2-synth",
            "optimistic",
            "GPT-2-small-shaped decoder, random weights (scale tests)",
            _gpt2,
            default=False,
        ),
    ]
}


def spec(name: str) -> ModelSpec:
    """The catalogue entry for name, or a clear error listing the known names."""
    try:
        return CATALOG[name]
    except KeyError:
        known = ", ".join(sorted(CATALOG))
        raise UnknownModelError(f"unknown model {name!r}; known models: {known}") from None
