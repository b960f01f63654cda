"""Shared fixtures: the real model registry (models are built once, then reused)."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest

from models.registry import Registry


@pytest.fixture(scope="session")
def registry() -> Registry:
    """The data dir's registry with the digits models built (a no-op when up to date)."""
    reg = Registry.default()
    for name in ("digits-mlp", "digits-cnn"):
        reg.build(name)
    return reg
