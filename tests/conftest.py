"""Shared fixtures: the real model registry (built once, then reused) and a real PostgreSQL."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import pytest

from models.registry import Registry
from tests.pg import pg_url, postgres  # noqa: F401  - the PostgreSQL fixtures, for every suite


@pytest.fixture(scope="session")
def registry() -> Registry:
    """The data dir's registry with the digits models built (a no-op when up to date)."""
    reg = Registry.default()
    for name in ("digits-mlp", "digits-cnn"):
        reg.build(name)
    return reg
