"""Pinned checkpoints: any change to the integer semantics or commitments shows up here.

Regenerate on purpose only: ``python -m tests.disputes.golden_cases``.
"""

from __future__ import annotations

import json

from tests.disputes.golden_cases import (
    GOLDEN,
    digits_summary,
    tiny_exact_summary,
    tiny_summary,
)


def _load(name: str) -> dict[str, object]:
    return dict(json.loads((GOLDEN / f"{name}.json").read_text()))


def test_tiny_block_golden() -> None:
    assert tiny_summary() == _load("tiny_block")


def test_tiny_block_exact_profile_golden() -> None:
    assert tiny_exact_summary() == _load("tiny_block_exact")


def test_digits_mlp_golden() -> None:
    # The digits models are built from committed weights, so every machine has these bytes.
    assert digits_summary() == _load("digits_mlp")
