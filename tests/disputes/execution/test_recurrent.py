"""LSTM and GRU unrolled into steps (SPEC §6 "ONNX recurrent cells"): agreement with
onnxruntime on models built here from PyTorch and by hand, and refusals naming the attribute."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from disputes.errors import UnsupportedOpError
from disputes.execution.executor import load_program, run
from disputes.program.quantize import QuantConfig
from tests.disputes.act_models import (
    FEATURES,
    HIDDEN,
    SEQ,
    FullSequence,
    LastStep,
    export,
    sequence_input,
)

PROFILES = {"default": QuantConfig(), "exact": QuantConfig(mm_wbits=0)}
# max |error| vs onnxruntime: the default profile's 8-bit per-row weights, or 16-bit ones
TOLERANCE = {"default": 1e-2, "exact": 5e-4}


def _ort(path: Path, feeds: dict[str, np.ndarray]) -> np.ndarray:
    out: np.ndarray = ort.InferenceSession(str(path)).run(None, feeds)[0]
    return out


def _error(path: Path, feeds: dict[str, np.ndarray], profile: str) -> tuple[float, int]:
    program = load_program(path, PROFILES[profile])
    got = run(program, feeds).values
    return float(np.max(np.abs(got - _ort(path, feeds)))), len(program.steps)


@pytest.mark.parametrize("profile", sorted(PROFILES))
@pytest.mark.parametrize(
    ("cell", "bidirectional"), [("lstm", False), ("gru", False), ("lstm", True), ("gru", True)]
)
def test_last_step_models_agree_with_onnxruntime(
    cell: str, bidirectional: bool, profile: str, tmp_path: Path
) -> None:
    """seq 8, hidden 12, batch first, a Linear on the last output (PyTorch's export)."""
    x = sequence_input()
    path = export(LastStep(cell, bidirectional), (x,), tmp_path / f"{cell}.onnx")
    worst = 0.0
    for seed in range(4):
        err, n = _error(path, {"x": sequence_input(seed).numpy()}, profile)
        worst = max(worst, err)
    kind = f"{'bi' if bidirectional else ''}{cell}"
    print(f"{kind} seq {SEQ} hidden {HIDDEN} ({profile}): {n} steps, max |error| {worst:.2e}")
    assert worst <= TOLERANCE[profile]


def test_lstm_steps_per_time_step(tmp_path: Path) -> None:
    """One input projection, then per time step: slice, recurrent qmatmul (none at t = 0, the
    state being zero), add, 2 gate slices, sigmoid, tanh, 3 gate slices, 2-3 mul, add, tanh."""
    path = export(LastStep("lstm"), (sequence_input(),), tmp_path / "lstm.onnx")
    kinds = Counter(s.kind for s in load_program(path).steps)
    assert kinds["qmatmul"] == 1 + (SEQ - 1) + 1  # projection, recurrences, the Linear
    assert kinds["lut"] == 3 * SEQ
    assert kinds["slice"] == 6 * SEQ - 1  # f at t = 0 is dropped with f·c (c starts at zero)
    assert kinds["mul"] == 3 * SEQ - 1  # f·c is absent at t = 0


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_whole_sequences_from_given_states(cell: str, tmp_path: Path) -> None:
    """Y (seq, batch 2, hidden) from initial states that are model inputs."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((SEQ, 2, FEATURES)).astype(np.float32)
    states = [rng.standard_normal((1, 2, HIDDEN)).astype(np.float32) * 0.5 for _ in range(2)]
    states = states if cell == "lstm" else states[:1]
    example = (torch.from_numpy(x), *(torch.from_numpy(s) for s in states))
    path = export(FullSequence(cell), example, tmp_path / f"{cell}.onnx")
    feeds = dict(zip(["x", "h0", "c0"], [x, *states], strict=False))
    program = load_program(path, PROFILES["exact"])
    got = run(program, feeds)
    assert got.values.shape == (SEQ, 2, HIDDEN)
    assert float(np.max(np.abs(got.values - _ort(path, feeds)))) <= TOLERANCE["exact"]
    assert np.array_equal(run(program, feeds, fast=False).values, got.values)


def _rnn_model(path: Path, op: str, direction: str, **attrs: Any) -> Path:
    """One ONNX LSTM/GRU node with random weights and constant nonzero initial states."""
    rng = np.random.default_rng(9)
    gates = 4 if op == "LSTM" else 3
    dirs = 2 if direction == "bidirectional" else 1

    def init(name: str, *shape: int) -> onnx.TensorProto:
        return numpy_helper.from_array((rng.standard_normal(shape) * 0.4).astype(np.float32), name)

    inits = [
        init("W", dirs, gates * HIDDEN, FEATURES),
        init("R", dirs, gates * HIDDEN, HIDDEN),
        init("B", dirs, 2 * gates * HIDDEN),
        init("h0", dirs, 1, HIDDEN),
    ]
    ins = ["x", "W", "R", "B", "", "h0"]
    if op == "LSTM":
        inits.append(init("c0", dirs, 1, HIDDEN))
        ins.append("c0")
    node = helper.make_node(op, ins, ["y", "y_h"], hidden_size=HIDDEN, direction=direction, **attrs)
    g = helper.make_graph(
        [node],
        "rnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [SEQ, 1, FEATURES])],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, [SEQ, dirs, 1, HIDDEN]),
            helper.make_tensor_value_info("y_h", TensorProto.FLOAT, [dirs, 1, HIDDEN]),
        ],
        inits,
    )
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


@pytest.mark.parametrize(
    ("op", "direction", "attrs"),
    [
        ("LSTM", "reverse", {}),
        ("LSTM", "bidirectional", {}),
        ("GRU", "forward", {}),  # linear_before_reset = 0: (r ⊙ h)·R_h, not PyTorch's form
        ("GRU", "reverse", {"linear_before_reset": 1}),
        ("GRU", "bidirectional", {}),
        ("LSTM", "forward", {"activations": ["Sigmoid", "Tanh", "Tanh"]}),  # the default, named
    ],
)
def test_hand_built_cells_agree_with_onnxruntime(
    op: str, direction: str, attrs: dict[str, Any], tmp_path: Path
) -> None:
    path = _rnn_model(tmp_path / "rnn.onnx", op, direction, **attrs)
    x = np.random.default_rng(2).standard_normal((SEQ, 1, FEATURES)).astype(np.float32)
    err, _ = _error(path, {"x": x}, "exact")
    assert err <= TOLERANCE["exact"], err


@pytest.mark.parametrize(
    ("attrs", "named"),
    [
        ({"clip": 3.0}, "'clip'"),
        ({"activations": ["Sigmoid", "Relu", "Tanh"]}, "'activations'"),
        ({"activation_alpha": [1.0]}, "'activation_alpha'"),
        ({"input_forget": 1}, "'input_forget'"),
        ({"layout": 1}, "'layout'"),
    ],
)
def test_lstm_attributes_outside_the_unrolling_are_refused_by_name(
    attrs: dict[str, Any], named: str, tmp_path: Path
) -> None:
    path = _rnn_model(tmp_path / "rnn.onnx", "LSTM", "forward", **attrs)
    with pytest.raises(UnsupportedOpError, match=named):
        load_program(path)


def test_peepholes_and_short_sequences_are_refused_by_name(tmp_path: Path) -> None:
    path = _rnn_model(tmp_path / "rnn.onnx", "LSTM", "forward")
    model = onnx.load(str(path))
    node = model.graph.node[0]
    lens = numpy_helper.from_array(np.array([SEQ - 2], dtype=np.int32), "lens")
    model.graph.initializer.append(lens)
    node.input[4] = "lens"
    onnx.save(model, str(path))
    with pytest.raises(UnsupportedOpError, match="'sequence_lens'"):
        load_program(path)
    node.input[4] = ""
    model.graph.initializer.append(numpy_helper.from_array(np.ones((1, 3 * HIDDEN), "f4"), "P"))
    node.input.append("P")
    onnx.save(model, str(path))
    with pytest.raises(UnsupportedOpError, match="'P'"):
        load_program(path)
