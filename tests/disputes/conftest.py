from __future__ import annotations

from pathlib import Path

import pytest

from disputes.execution.executor import load_program
from disputes.program.ir import Program
from disputes.program.quantize import QuantConfig
from tests.disputes.tiny import tiny_block

EXACT = QuantConfig(mm_wbits=0)  # the exact profile: every product is a v1 ``matmul``


@pytest.fixture(scope="session")
def tiny_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_block(tmp_path_factory.mktemp("tiny") / "tiny.onnx")


@pytest.fixture(scope="session")
def tiny_program(tiny_path: Path) -> Program:
    return load_program(tiny_path)


@pytest.fixture(scope="session")
def digits_mlp_path() -> Path:
    from models.registry import Registry

    reg = Registry.default()
    reg.build("digits-mlp")
    return reg.onnx_path("digits-mlp")


@pytest.fixture(scope="session")
def digits_mlp(digits_mlp_path: Path) -> Program:
    return load_program(digits_mlp_path)


@pytest.fixture(scope="session")
def tiny_exact(tiny_path: Path) -> Program:
    return load_program(tiny_path, EXACT)


@pytest.fixture(scope="session")
def digits_mlp_exact(digits_mlp_path: Path) -> Program:
    return load_program(digits_mlp_path, EXACT)
