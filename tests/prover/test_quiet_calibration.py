"""EZKL's calibration tables must not reach the terminal (they bury the CLI's progress)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from models.registry import Registry

SCRIPT = """
import sys
from pathlib import Path
from models.digits import load_digits_split
from prover import ezkl_ops
onnx, tmp = Path(sys.argv[1]), Path(sys.argv[2])
settings = tmp / "settings.json"
ezkl_ops.gen_settings(onnx, settings, {"decomp_base": 128, "decomp_legs": 4})
data = ezkl_ops.write_inputs(tmp / "cal.json", load_digits_split().x_train[:4])
ezkl_ops.calibrate(data, onnx, settings, [7])
print("calibrated")
"""


@pytest.mark.slow
def test_calibration_prints_nothing_on_the_terminal(registry: Registry, tmp_path: Path) -> None:
    onnx = registry.onnx_path("digits-mlp")
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(onnx), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert run.stdout.strip() == "calibrated"
    assert "Fidelity" not in run.stderr
    assert "Fidelity" in (tmp_path / "ezkl-calibrate.log").read_text()
