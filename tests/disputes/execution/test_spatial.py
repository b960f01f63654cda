"""Convolutions and pools: the kernels against SPEC read literally, against onnxruntime on
PyTorch models, what each ONNX op lowers to, operands_for, and the clear refusals."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from disputes.commitments.descriptor import KIND_CODE, step_params
from disputes.errors import DisputeError, UnsupportedOpError
from disputes.execution.executor import load_program, run
from disputes.execution.ops import KERNELS, Ctx
from disputes.program.ir import Program
from disputes.program.quantize import QuantConfig
from disputes.tracing.operands import operands_for
from disputes.tracing.trace import trace
from tests.disputes import spatial_models as sm
from tests.disputes.spatial_ref import PROFILES, literal, random_case

KINDS = ("conv", "gconv", "maxpool", "avgpool")
EXACT = QuantConfig(mm_wbits=0)


def _kernel(kind: str, case: object, fast: bool) -> np.ndarray | Exception:
    step, ops = case.step, case.ops  # type: ignore[attr-defined]
    try:
        return KERNELS[kind](step, [o.copy() for o in ops], Ctx(fast=fast))
    except DisputeError as e:
        return e


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("profile", PROFILES)
def test_kernels_equal_the_literal_spec_on_every_element(kind: str, profile: str) -> None:
    """Fast and reference kernels agree bit for bit, and with SPEC element by element; a
    kernel refuses a tensor only when some element of it has no value under SPEC."""
    checked = refused = 0
    for seed in range(60):
        case = random_case(seed, kind, profile)
        ref, fast = _kernel(kind, case, False), _kernel(kind, case, True)
        want = {
            el: literal(case.step, case.ops, el)
            for el in itertools.product(*map(range, case.step.shape))
        }
        if isinstance(ref, Exception):
            assert isinstance(fast, Exception), (seed, ref)
            assert any(not ok for ok, _ in want.values()), (seed, ref)
            refused += 1
            continue
        assert isinstance(fast, np.ndarray) and np.array_equal(ref, fast), seed
        for el, (ok, v) in want.items():
            assert ok and int(ref[el]) == v, (seed, el, v, ref[el])
        checked += len(want)
    assert checked > 500
    assert refused < 60 and (refused > 0) == (profile == "extreme")


@pytest.mark.parametrize(
    ("make", "shape", "tol"),
    [
        (sm.mobile_block, sm.MOBILE_SHAPE, 1e-4),
        (sm.conv1d_net, sm.CONV1D_SHAPE, 1e-4),
        (sm.pools_net, sm.POOLS_SHAPE, 3e-4),
    ],
    ids=["mobile-block", "conv1d", "pools"],
)
def test_models_match_onnxruntime(make, shape, tol, tmp_path: Path) -> None:
    path = make(tmp_path / "m.onnx")
    program = load_program(path, EXACT)
    sess = ort.InferenceSession(str(path))
    for seed in range(3):
        x = sm.sample(shape, seed)
        ref = sess.run(None, {"x": x})[0]
        out = run(program, {"x": x})
        assert out.values.shape == ref.shape
        assert np.max(np.abs(out.values - ref)) < tol, seed
        assert np.array_equal(run(program, {"x": x}, fast=False).q, out.q)


def test_the_default_profile_keeps_the_mobile_block_close(tmp_path: Path) -> None:
    path = sm.mobile_block(tmp_path / "m.onnx")
    x = sm.sample(sm.MOBILE_SHAPE, 1)
    ref = ort.InferenceSession(str(path)).run(None, {"x": x})[0]
    got = run(load_program(path), {"x": x}).values
    assert np.max(np.abs(got - ref)) < 0.02 * np.max(np.abs(ref))
    assert np.argmax(got) == np.argmax(ref)


def _kinds(program: Program) -> list[str]:
    return [s.kind for s in program.steps]


def test_what_each_onnx_op_becomes(tmp_path: Path) -> None:
    mobile = load_program(sm.mobile_block(tmp_path / "m.onnx"))
    # stem conv (BN folded) + ReLU6 as clip, depthwise gconv, pointwise conv, pools, global
    # average = reshape + reduce_mean + reshape, Flatten, the head.
    assert _kinds(mobile) == [
        "conv", "clip", "gconv", "clip", "conv", "maxpool", "avgpool",
        "reshape", "reduce_mean", "reshape", "reshape", "qmatmul",
    ]  # fmt: skip
    dw = mobile.steps[2]
    assert step_params(dw) == [3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8, dw.ip("shift")]
    assert KIND_CODE["gconv"] == 29 and KIND_CODE["maxpool"] == 30 and KIND_CODE["avgpool"] == 31
    one_d = load_program(sm.conv1d_net(tmp_path / "c.onnx"))
    # 1-D ops run as 2-D ones on (N, C, 1, L); back-to-back 1-D ops share one 4-D tensor
    assert _kinds(one_d) == [
        "reshape", "conv", "reshape", "relu", "reshape", "maxpool", "gconv", "avgpool", "conv",
        "reshape", "lut", "reduce_mean", "reshape", "qmatmul",
    ]  # fmt: skip
    conv = next(s for s in one_d.steps if s.kind == "conv")
    assert conv.tp("kernel") == (1, 5) and conv.tp("pads") == (0, 2, 0, 2)
    grouped = next(s for s in one_d.steps if s.kind == "gconv")
    assert grouped.tp("dilations") == (1, 2) and grouped.ip("groups") == 3
    pools = load_program(sm.pools_net(tmp_path / "p.onnx"))
    avg = [s for s in pools.steps if s.kind == "avgpool"]
    assert [s.ip("count_include_pad") for s in avg] == [1, 0, 0]
    assert avg[2].tp("pads") == (0, 0, 1, 1)  # ceil_mode: one more row and column at the end
    assert "mul" in _kinds(pools) and "add" in _kinds(pools)  # the BatchNorm after a pool


def test_plain_conv_keeps_the_v3_layout(tmp_path: Path) -> None:
    """A 2-D conv without groups or dilations is still a ``conv`` step with 9 params, so the
    digits CNN and every other committed conv program keep their program roots."""
    program = load_program(sm.mobile_block(tmp_path / "m.onnx"))
    stem = program.steps[0]
    assert stem.kind == "conv" and len(step_params(stem)) == 9
    assert {k for k, _ in stem.params} == {"in_scales", "kernel", "pads", "shift", "strides"}


def _node_model(path: Path, node: onnx.NodeProto, shape: list[int], out: list[int]) -> Path:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, out)
    w = [numpy_helper.from_array(np.ones((2, 3, 3, 3, 3), np.float32), "w")]
    graph = helper.make_graph([node], "g", [x], [y], initializer=w if "w" in node.input else [])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, str(path))
    return path


def test_global_max_pool_and_auto_pad_match_onnxruntime(tmp_path: Path) -> None:
    cases = [
        (helper.make_node("GlobalMaxPool", ["x"], ["y"]), [1, 3, 5, 4], [1, 3, 1, 1]),
        (helper.make_node("GlobalAveragePool", ["x"], ["y"]), [2, 3, 5, 4], [2, 3, 1, 1]),
        (
            helper.make_node(
                "MaxPool", ["x"], ["y"], kernel_shape=[3, 2], strides=[2, 2], auto_pad="SAME_UPPER"
            ),
            [1, 2, 7, 6],
            [1, 2, 4, 3],
        ),
        (
            helper.make_node(
                "AveragePool", ["x"], ["y"], kernel_shape=[2, 3], auto_pad="SAME_LOWER"
            ),
            [1, 2, 5, 6],
            [1, 2, 5, 6],
        ),
    ]
    for k, (node, shape, out) in enumerate(cases):
        path = _node_model(tmp_path / f"{k}.onnx", node, shape, out)
        x = sm.sample(tuple(shape), k)
        ref = ort.InferenceSession(str(path)).run(None, {"x": x})[0]
        got = run(load_program(path), {"x": x}).values
        assert got.shape == ref.shape and np.max(np.abs(got - ref)) < 1e-4, node.op_type


REFUSED = [
    (
        helper.make_node(
            "AveragePool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1,
            count_include_pad=1,
        ),
        "ceil_mode=1 with count_include_pad=1",
    ),
    (
        helper.make_node("MaxPool", ["x"], ["y", "i"], kernel_shape=[2, 2]),
        "the Indices output",
    ),
    (helper.make_node("Conv", ["x", "w"], ["y"]), "3-D convolution"),
    (helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2, 2]), "3-D pooling"),
    (
        helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[1, 1], pads=[1, 0, 0, 0]),
        "a window with no input",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("node", "why"), REFUSED, ids=[w for _, w in REFUSED])
def test_unsupported_variants_are_refused_by_name(
    node: onnx.NodeProto, why: str, tmp_path: Path
) -> None:
    shape = [1, 3, 5, 5, 5] if "3-D" in why else [1, 3, 5, 5]
    path = _node_model(tmp_path / "r.onnx", node, shape, [1])
    with pytest.raises(UnsupportedOpError) as err:
        load_program(path)
    assert why in str(err.value) and node.op_type in str(err.value)


def test_operands_are_exactly_the_window(tmp_path: Path) -> None:
    """Changing every input element outside an element's operands leaves it unchanged; the
    operands are the window's taps inside the input, of the output channel's group only."""
    program = load_program(sm.mobile_block(tmp_path / "m.onnx"), EXACT)
    x = sm.sample(sm.MOBILE_SHAPE, 2)
    tr = trace(program, {"x": x})
    rng = np.random.default_rng(0)
    for i, step in enumerate(program.steps):
        if step.kind not in KINDS:
            continue
        src = tr.slot_tensor(step.inputs[0])
        for el in [(0, 0, 0, 0), tuple(d - 1 for d in step.shape), (0, 1, 2, 3)]:
            ops = operands_for(program, i, el)
            inside = set(ops[0].elements)
            if step.kind == "gconv":  # depthwise: one channel, at most 3 x 3 taps
                assert {e[1] for e in inside} == {el[1]} and len(inside) <= 9
            noise = rng.integers(-(2**20), 2**20, src.shape)
            keep = np.zeros(src.shape, dtype=bool)
            for e in inside:
                keep[e] = True
            changed = np.where(keep, src, noise)
            others = [tr.slot_tensor(j) for j in step.inputs[1:]]
            out = KERNELS[step.kind](step, [changed, *others], Ctx())
            assert out[el] == tr.tensor(i)[el], (i, step.kind, el)
