"""Pinned checkpoints: any change to the integer semantics or commitments shows up here.

Regenerate on purpose only: ``python -m tests.disputes.golden_cases``.
"""

from __future__ import annotations

import json

import pytest

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
    want, got = _load("digits_mlp"), digits_summary()
    if got["onnx_sha256"] != want["onnx_sha256"]:
        pytest.skip(
            "digits-mlp was rebuilt with different weights; the tiny block still pins "
            "the semantics (regenerate: python -m tests.disputes.golden_cases)"
        )
    assert got == want
