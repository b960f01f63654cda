"""Fixtures of the user-model tests: a data dir of their own, models exported from PyTorch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from models.card import ModelCard
from models.onboard import AddOptions, add_model
from models.registry import Registry
from tests.models.nets import CNN_SHAPE, small_cnn, tiny_transformer
from verinfer.settings import Settings, get_settings


@pytest.fixture(scope="session")
def user_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A data dir for added models (dev SRS, empty artifact cache); never the shared one."""
    return Settings(data_dir=tmp_path_factory.mktemp("user-models"))


@pytest.fixture(scope="session")
def user_registry(user_settings: Settings) -> Registry:
    return Registry(user_settings.models_dir)


@pytest.fixture(scope="session")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx")


@pytest.fixture(scope="session")
def cnn_onnx(onnx_dir: Path) -> Path:
    return small_cnn(onnx_dir / "cnn.onnx")


@pytest.fixture(scope="session")
def transformer_onnx(onnx_dir: Path) -> Path:
    return tiny_transformer(onnx_dir / "transformer.onnx")


@pytest.fixture(scope="session")
def cnn_calibration(onnx_dir: Path) -> Path:
    """24 images in [0, 1], the CNN's input shape, in an .npz keyed by the input name."""
    xs = np.random.default_rng(3).uniform(0, 1, (24, *CNN_SHAPE)).astype(np.float32)
    path = onnx_dir / "cnn-calibration.npz"
    np.savez(path, x=xs)
    return path


@pytest.fixture(scope="session")
def cnn_card(
    user_settings: Settings, cnn_onnx: Path, cnn_calibration: Path, onnx_dir: Path
) -> ModelCard:
    """The small CNN added in auto mode (EZKL tuning on its calibration samples: ~1 min)."""
    labels = onnx_dir / "labels.txt"
    labels.write_text("\n".join(["cat", "dog", "bird", "fish", "frog"]) + "\n")
    opts = AddOptions(calibration=cnn_calibration, labels=labels)
    return add_model(cnn_onnx, "user-cnn", opts, settings=user_settings)


@pytest.fixture(scope="session")
def transformer_card(user_settings: Settings, transformer_onnx: Path) -> ModelCard:
    """The tiny transformer added with --mode optimistic (the executor's error measured)."""
    opts = AddOptions(mode="optimistic", input_ranges={"x": (-1.0, 1.0)})
    return add_model(transformer_onnx, "user-transformer", opts, settings=user_settings)


@pytest.fixture
def cli_data(user_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The CLI (and Registry.default) on the user-model data dir for one test."""
    monkeypatch.setenv("VERINFER_DATA_DIR", str(user_settings.data_dir))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()
