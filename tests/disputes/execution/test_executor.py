"""Executor behaviour: agreement with onnxruntime, fast = reference, trace API, loud errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper

from disputes.commitments import merkle
from disputes.errors import (
    BoundsError,
    DisputeError,
    ExecutionInputError,
    TraceError,
    UnsupportedOpError,
)
from disputes.execution.executor import load_program, run
from disputes.program.ir import Program
from disputes.tracing.trace import trace
from tests.disputes.tiny import tiny_input
from verinfer.errors import VerinferError


def _export(net: torch.nn.Module, shape: tuple[int, ...], path: Path) -> Path:
    torch.onnx.export(
        net,
        (torch.zeros(shape),),
        str(path),
        input_names=["x"],
        output_names=["y"],
        dynamo=False,
        opset_version=17,
    )
    return path


class _Mixed(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(2, 3, 3, padding=1, stride=2)
        self.lin = torch.nn.Linear(3 * 3 * 3, 5)
        self.ln = torch.nn.LayerNorm(5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.conv(x)).flatten(1)
        h = torch.sigmoid(self.lin(h)) - h[:, :5] ** 2
        h = self.ln(h) / torch.sqrt(h.abs().sum(-1, keepdim=True) + 1.0)
        return torch.softmax(torch.cat([h, h.mean(-1, keepdim=True)], -1), -1)


def test_errors_derive_from_verinfer() -> None:
    assert issubclass(DisputeError, VerinferError)
    assert issubclass(UnsupportedOpError, DisputeError)


def test_mixed_ops_match_onnxruntime(tmp_path: Path) -> None:
    path = _export(_Mixed().eval(), (1, 2, 6, 6), tmp_path / "mixed.onnx")
    program = load_program(path)
    x = np.random.default_rng(1).standard_normal((1, 2, 6, 6)).astype(np.float32)
    ref = ort.InferenceSession(str(path)).run(None, {"x": x})[0]
    assert np.max(np.abs(run(program, {"x": x}).values - ref)) < 2e-3


def test_tiny_block_matches_onnxruntime(tiny_path: Path, tiny_exact: Program) -> None:
    x = tiny_input()
    ref = ort.InferenceSession(str(tiny_path)).run(None, {"x": x})[0]
    assert np.max(np.abs(run(tiny_exact, {"x": x}).values - ref)) < 5e-3


def test_tiny_block_default_profile_close_to_onnxruntime(
    tiny_path: Path, tiny_program: Program
) -> None:
    """8-bit per-row weights: within a few percent of the range, direction kept."""
    x = tiny_input()
    ref = ort.InferenceSession(str(tiny_path)).run(None, {"x": x})[0].reshape(-1)
    got = run(tiny_program, {"x": x}).values.reshape(-1)
    assert np.max(np.abs(got - ref)) < 0.03 * np.max(np.abs(ref))
    assert got @ ref / (np.linalg.norm(got) * np.linalg.norm(ref)) >= 0.9995


def test_fast_path_equals_reference(tiny_program: Program, digits_mlp: Program) -> None:
    for prog, x in [
        (tiny_program, tiny_input()),
        (digits_mlp, np.linspace(0, 1, 64, dtype=np.float32).reshape(1, 64)),
    ]:
        a = run(prog, {prog.inputs[0].name: x}, fast=True)
        b = run(prog, {prog.inputs[0].name: x}, fast=False)
        assert np.array_equal(a.q, b.q) and a.root == b.root


def test_repeated_runs_identical(tiny_program: Program) -> None:
    roots = {run(tiny_program, {"x": tiny_input()}).root for _ in range(3)}
    assert len(roots) == 1


def test_trace_checkpoints_and_proofs(tiny_program: Program) -> None:
    tr = trace(tiny_program, {"x": tiny_input()})
    n = len(tiny_program.steps)
    assert len(tr.checkpoints) == n and len(set(tr.checkpoints)) == n
    assert tr.output.root == run(tiny_program, {"x": tiny_input()}).root
    for i in (0, 5, n - 1):
        roots = tr.slot_roots[: tiny_program.slot_of_step(i) + 1]
        assert tr.checkpoint(i) == merkle.checkpoint_root(roots, tiny_program.n_slots)
    row, proof = tr.leaf_proof(9, 3)
    assert merkle.verify_proof(merkle.leaf_hash(row), 3, proof, tr.tensor_root(9))
    slot = tiny_program.slot_of_step(9)
    cp = tr.checkpoint_proof(9, slot)
    assert merkle.verify_proof(tr.tensor_root(9), slot, cp, tr.checkpoint(9))
    with pytest.raises(TraceError):
        tr.checkpoint(n)


def test_operands_for_matmul_uses_transposed_weight_rows(digits_mlp_exact: Program) -> None:
    digits_mlp = digits_mlp_exact
    x = np.full((1, 64), 0.5, dtype=np.float32)
    tr = trace(digits_mlp, {"input": x})
    ops = tr.operands_for(0, (0, 7))
    assert [o.rows for o in ops[:2]] == [(0,), (7,)]
    a, w = (tr.slot_tensor(o.slot) for o in ops[:2])
    acc = int(a[0] @ w[7]) + int(tr.slot_tensor(ops[2].slot)[7])
    shift = digits_mlp.steps[0].ip("shift")
    assert (acc + (1 << (shift - 1))) >> shift == int(tr.tensor(0)[0, 7])


def test_operands_for_recomputes_every_step(tiny_program: Program) -> None:
    tr = trace(tiny_program, {"x": tiny_input()})
    for i, step in enumerate(tiny_program.steps):
        el = tuple(d - 1 for d in step.shape)
        ops = tr.operands_for(i, el)
        assert ops and all(o.slot < tiny_program.slot_of_step(i) for o in ops)


def test_wrong_shape_and_dtype(digits_mlp: Program) -> None:
    with pytest.raises(ExecutionInputError, match="shape"):
        run(digits_mlp, {"input": np.zeros((1, 63), np.float32)})
    with pytest.raises(ExecutionInputError, match="missing"):
        run(digits_mlp, {})
    with pytest.raises(ExecutionInputError, match="NaN"):
        run(digits_mlp, {"input": np.full((1, 64), np.nan, np.float32)})


def test_values_that_would_overflow(digits_mlp: Program) -> None:
    with pytest.raises((ExecutionInputError, BoundsError)):
        run(digits_mlp, {"input": np.full((1, 64), 1e12, np.float32)})
    with pytest.raises(BoundsError):
        run(digits_mlp, {"input": np.full((1, 64), 1e9, np.float32)})


def _embed_model(path: Path) -> Path:
    table = onnx.numpy_helper.from_array(np.arange(20, dtype=np.float32).reshape(5, 4) / 7, "t")
    node = helper.make_node("Gather", ["t", "ids"], ["y"], axis=0)
    g = helper.make_graph(
        [node],
        "e",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 4])],
        [table],
    )
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_out_of_range_token_ids(tmp_path: Path) -> None:
    program = load_program(_embed_model(tmp_path / "e.onnx"))
    assert run(program, {"ids": np.array([[0, 4, 2]])}).values.shape == (1, 3, 4)
    table, ids = trace(program, {"ids": np.array([[0, 4, 2]])}).operands_for(0, (0, 1, 2))
    assert table.rows == (4,) and ids.elements == ((0, 1),)
    assert table.elements == ((4, 2),)
    with pytest.raises(ExecutionInputError, match="out of range"):
        run(program, {"ids": np.array([[0, 5, 2]])})
    with pytest.raises(ExecutionInputError, match="integers"):
        run(program, {"ids": np.zeros((1, 3), np.float32)})
    for huge in (np.array([[0, 2**62, 2]]), np.array([[0, 2**63 + 5, 2]], dtype=np.uint64)):
        with pytest.raises(ExecutionInputError, match="outside ±2\\*\\*47"):
            run(program, {"ids": huge})


def test_unsupported_op_names_op_and_node(tmp_path: Path) -> None:
    node = helper.make_node("Cos", ["x"], ["y"], name="my_cos")
    g = helper.make_graph(
        [node],
        "c",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
    )
    onnx.save(
        helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(tmp_path / "c.onnx")
    )
    with pytest.raises(UnsupportedOpError, match=r"'Cos'.*'my_cos'"):
        load_program(tmp_path / "c.onnx")


def test_program_root_commits_to_scales(tiny_path: Path, tiny_program: Program) -> None:
    from disputes.program.quantize import QuantConfig

    other = load_program(tiny_path, QuantConfig(act=13))
    assert other.program_root != tiny_program.program_root
    assert load_program(tiny_path).program_root == tiny_program.program_root
    assert len(tiny_program.program_root) == 32 and len(tiny_program.weights_root) == 32


def _transposes_model(path: Path, perms: list[tuple[int, ...]]) -> Path:
    nodes, name = [], "x"
    for k, perm in enumerate(perms):
        nodes.append(helper.make_node("Transpose", [name], [f"t{k}"], perm=list(perm)))
        name = f"t{k}"
    shape = [2, 3, 4, 5]
    for perm in perms:
        shape = [shape[p] for p in perm]
    nodes.append(helper.make_node("Relu", [name], ["y"]))
    g = helper.make_graph(
        nodes,
        "t",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4, 5])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
    )
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


@pytest.mark.parametrize(
    ("perms", "steps"),
    [
        ([(0, 2, 3, 1), (0, 1, 3, 2)], ["transpose", "relu"]),  # K^T, then swapped back
        ([(0, 2, 1, 3), (0, 2, 1, 3)], ["relu"]),  # cancel: no data movement at all
        ([(3, 2, 1, 0), (1, 0, 3, 2), (0, 2, 1, 3)], ["transpose", "relu"]),
    ],
)
def test_chained_transposes_become_one_step(
    tmp_path: Path, perms: list[tuple[int, ...]], steps: list[str]
) -> None:
    path = _transposes_model(tmp_path / "t.onnx", perms)
    program = load_program(path)
    assert [s.kind for s in program.steps] == steps  # the intermediate transposes are gone
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)).astype(np.float32)
    ref = ort.InferenceSession(str(path)).run(None, {"x": x})[0]
    assert np.max(np.abs(run(program, {"x": x}).values - ref)) < 1e-4
    tr = trace(program, {"x": x})
    assert len(tr.checkpoints) == len(steps)


def test_output_that_is_an_input_is_still_a_step(tmp_path: Path) -> None:
    path = _transposes_model(tmp_path / "t.onnx", [(1, 0, 2, 3), (1, 0, 2, 3)])
    g = onnx.load(str(path))
    del g.graph.node[-1]  # drop the Relu: y is the input, transposed twice
    g.graph.node[-1].output[0] = "y"
    onnx.save(g, str(path))
    program = load_program(path)
    x = np.ones((2, 3, 4, 5), dtype=np.float32)
    assert [s.kind for s in program.steps] == ["reshape"]
    assert np.array_equal(run(program, {"x": x}).values, x.astype(np.float64))


def test_a_step_that_makes_another_shape_than_committed_stops_the_run(
    tiny_program: Program,
) -> None:
    import dataclasses

    from disputes.errors import DisputeError
    from tests.disputes.tiny import tiny_input

    i = next(k for k, s in enumerate(tiny_program.steps) if s.kind == "relu" or s.kind == "add")
    step = tiny_program.steps[i]
    wrong = dataclasses.replace(step, shape=(*step.shape[:-1], step.shape[-1] + 1))
    steps = [*tiny_program.steps[:i], wrong, *tiny_program.steps[i + 1 :]]
    broken = dataclasses.replace(tiny_program, steps=steps)
    with pytest.raises(DisputeError, match="but the program commits"):
        run(broken, {"x": tiny_input()})
