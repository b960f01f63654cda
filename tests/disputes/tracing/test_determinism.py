"""Identical outputs and checkpoints across thread counts, paths and processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.disputes.determinism_child import roots

ROOT = Path(__file__).resolve().parents[3]


def _child(threads: int, tiny: Path, digits: Path) -> dict[str, object]:
    env = {
        **os.environ,
        "OMP_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "VERINFER_EXEC_THREADS": str(threads),
    }
    res = subprocess.run(
        [sys.executable, "-m", "tests.disputes.determinism_child", str(tiny), str(digits)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return dict(json.loads(res.stdout))


@pytest.fixture(scope="module")
def here(tiny_path: Path, digits_mlp_path: Path) -> dict[str, object]:
    return roots(tiny_path, digits_mlp_path)


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_same_roots_in_other_processes(
    threads: int, here: dict[str, object], tiny_path: Path, digits_mlp_path: Path
) -> None:
    assert _child(threads, tiny_path, digits_mlp_path) == here


def test_fast_and_reference_paths_agree(here: dict[str, object]) -> None:
    for case in here.values():
        assert isinstance(case, dict) and case["run"] == case["ref"]


def test_threadpool_limits_in_process(
    tiny_path: Path, digits_mlp_path: Path, here: dict[str, object]
) -> None:
    from threadpoolctl import threadpool_limits

    for n in (1, 2):
        with threadpool_limits(n):
            assert roots(tiny_path, digits_mlp_path) == here
