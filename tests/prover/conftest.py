"""Prover fixtures: one tmp data dir per session, with the MLP built, tuned and set up once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.digits import load_digits_split
from models.registry import Registry
from prover.pipeline import ProofBundle, ZkProver
from verinfer.settings import Settings


@pytest.fixture(scope="session")
def prover_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings pointing at a fresh data dir (dev SRS, empty artifact cache)."""
    return Settings(data_dir=tmp_path_factory.mktemp("prover-data"), srs_dir=None)


@pytest.fixture(scope="session")
def mlp_prover(prover_settings: Settings) -> ZkProver:
    """The digits MLP, tuned and with keys (the expensive part, once per session)."""
    Registry(prover_settings.models_dir).build("digits-mlp")
    return ZkProver.for_model("digits-mlp", settings=prover_settings)


@pytest.fixture(scope="session")
def digits_x() -> np.ndarray:
    return load_digits_split().x_test


@pytest.fixture(scope="session")
def mlp_bundle(mlp_prover: ZkProver, digits_x: np.ndarray) -> ProofBundle:
    return mlp_prover.prove(digits_x[7].reshape(mlp_prover.input_shape))


@pytest.fixture
def work(tmp_path: Path) -> Path:
    return tmp_path
