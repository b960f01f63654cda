"""Fixed inputs whose checkpoints are pinned in tests/disputes/golden/ (regenerate: run me)."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

import numpy as np

from disputes.execution.executor import load_program
from disputes.program.quantize import QuantConfig
from disputes.tracing.trace import trace
from tests.disputes.tiny import tiny_block, tiny_input

GOLDEN = Path(__file__).parent / "golden"


def digits_input() -> np.ndarray:
    from models.digits import load_digits_split

    x: np.ndarray = load_digits_split().x_test[0].reshape(1, 64)
    return x


def summary(
    onnx_path: Path, name: str, x: np.ndarray, cfg: QuantConfig | None = None
) -> dict[str, object]:
    program = load_program(onnx_path, cfg)
    tr = trace(program, {name: x})
    return {
        "onnx_sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
        "program_root": program.program_root.hex(),
        "weights_root": program.weights_root.hex(),
        "steps": [s.kind for s in program.steps],
        "output_root": tr.output.root.hex(),
        "checkpoints": [c.hex() for c in tr.checkpoints],
    }


def tiny_summary(cfg: QuantConfig | None = None) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as d:
        out = summary(tiny_block(Path(d) / "tiny.onnx"), "x", tiny_input(), cfg)
    out.pop("onnx_sha256")  # protobuf bytes may vary by onnx version; the weights root pins it
    return out


def tiny_exact_summary() -> dict[str, object]:
    """The exact profile (every product a v1 ``matmul``) is pinned too."""
    return tiny_summary(QuantConfig(mm_wbits=0))


def digits_summary() -> dict[str, object]:
    from models.registry import Registry

    reg = Registry.default()
    reg.build("digits-mlp")
    return summary(reg.onnx_path("digits-mlp"), "input", digits_input())


def main() -> None:
    GOLDEN.mkdir(exist_ok=True)
    cases = [
        ("tiny_block", tiny_summary),
        ("tiny_block_exact", tiny_exact_summary),
        ("digits_mlp", digits_summary),
    ]
    for name, fn in cases:
        (GOLDEN / f"{name}.json").write_text(json.dumps(fn(), indent=1) + "\n")


if __name__ == "__main__":
    main()
