"""Small programs for game tests, built with onnx.helper (deterministic, no training)."""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import TensorProto, helper


def one_step_program(path: Path) -> Path:
    """x[3,5] → Relu: a program of one step (no weights) over three rows (one padding leaf)."""
    node = helper.make_node("Relu", ["x"], ["y"])
    graph = helper.make_graph(
        [node],
        "one",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 5])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path
