"""The common activations (SPEC §6 "ONNX activations"): what each lowers to, the new table
functions' accuracy, and agreement with onnxruntime on models built here from PyTorch."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper

from disputes.errors import UnsupportedOpError
from disputes.execution.executor import load_program, run
from disputes.execution.ops import KERNELS, Ctx
from disputes.program.ir import Param, Step
from disputes.program.quantize import QuantConfig
from disputes.program.tables import FUNCTIONS, LUT_IN_SCALE, lut_params
from tests.disputes.act_models import ACTIVATIONS, activation_only, export, mlp

GRID = torch.linspace(-20.0, 20.0, 512 * 16).reshape(512, 16)  # both tails of every table
# Each activation's steps, in order (the SPEC §6 table).
LOWERED = {
    "softplus": ["lut"],
    "softplus-beta2": ["mul", "lut", "mul"],  # PyTorch exports Softplus(βx)/β
    "hardsigmoid": ["mul", "add", "clip"],
    "hardswish": ["mul", "add", "clip", "mul"],
    "leakyrelu": ["mul", "max"],
    "leakyrelu-negative": ["mul", "compare", "where"],
    "elu": ["lut", "max"],
    "elu-0.5": ["lut", "mul", "max"],
    "elu-1.5": ["lut", "mul", "compare", "where"],
    "mish": ["lut"],  # Mul(x, Tanh(Softplus(x))) fused
    "selu": ["lut", "mul", "mul", "compare", "where"],
    "celu-0.7": ["mul", "lut", "mul", "max"],
    "prelu": ["mul", "compare", "where"],
}
# |error| <= ABS + REL·|x|: the 2**-12 table argument and 2**-14 input/output roundings (ABS),
# constants quantized to 16 bits (a slope of 1.05 gets 2**-15 relative error: REL).
ABS, REL = 2.5e-4, 3.2e-5
NEW_TABLES: dict[str, Callable[[float], float]] = {
    "softplus": lambda x: math.log1p(math.exp(x)) if x < 30 else x,
    "expm1": lambda x: math.expm1(min(x, 0.0)),
    "mish": lambda x: x * math.tanh(math.log1p(math.exp(x))) if x < 30 else x,
}


def _ort(path: Path, feeds: dict[str, np.ndarray]) -> np.ndarray:
    out: np.ndarray = ort.InferenceSession(str(path)).run(None, feeds)[0]
    return out


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_each_activation_alone_agrees_with_onnxruntime(name: str, tmp_path: Path) -> None:
    path = export(activation_only(name), (GRID,), tmp_path / f"{name}.onnx")
    program = load_program(path)
    assert [s.kind for s in program.steps] == LOWERED[name]
    x = GRID.numpy()
    ref = _ort(path, {"x": x})
    got = run(program, {"x": x}).values
    err = np.abs(got - ref)
    print(f"{name}: {len(program.steps)} steps, max |error| {err.max():.2e} on [-20, 20]")
    assert np.all(err <= ABS + REL * np.abs(x)), (name, float(err.max()))
    assert np.array_equal(run(program, {"x": x}, fast=False).values, got)


@pytest.mark.parametrize("profile", ["default", "exact"])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_an_mlp_with_each_activation_agrees(name: str, profile: str, tmp_path: Path) -> None:
    """Linear → activation → Linear; the default profile's 8-bit weights dominate its error."""
    path = export(mlp(name), (torch.zeros(64, 6),), tmp_path / f"{name}.onnx")
    program = load_program(path, QuantConfig(mm_wbits=0) if profile == "exact" else None)
    x = np.random.default_rng(3).standard_normal((64, 6)).astype(np.float32) * 2
    ref = _ort(path, {"x": x})
    err = float(np.max(np.abs(run(program, {"x": x}).values - ref)))
    scale = float(np.max(np.abs(ref)))
    print(f"MLP {name} ({profile}): max |error| {err:.2e}, max |output| {scale:.2f}")
    assert err <= (2e-3 if profile == "exact" else 2e-2) * max(1.0, scale)


def _table_step(fn: str, in_scale: int, out_scale: int, n: int) -> Step:
    params: tuple[tuple[str, Param], ...] = (("in_scales", (in_scale,)), *lut_params(fn, out_scale))
    return Step("lut", (0,), (n,), out_scale, params)


@pytest.mark.parametrize("fn", sorted(NEW_TABLES))
def test_new_tables_interpolate_within_the_spec_bound(fn: str) -> None:
    """At every scale-12 point of the domain and 4 units past it: |lut - f| < 1e-4 (SPEC §5.1)."""
    _, lo, hi, tail = FUNCTIONS[fn]
    x12 = np.arange((lo - 4) << LUT_IN_SCALE, (hi + 4) << LUT_IN_SCALE, dtype=np.int64)
    for out_scale in (14, 16):
        got = KERNELS["lut"](_table_step(fn, 12, out_scale, len(x12)), [x12], Ctx(fast=False))
        xs = x12 / 2.0**LUT_IN_SCALE
        if tail == "clamp":  # a clamped table holds its end value: exact for expm1 (0 past 0)
            xs = np.clip(xs, lo, hi)
        want = np.array([NEW_TABLES[fn](float(v)) for v in xs])
        err = float(np.max(np.abs(got / 2.0**out_scale - want)))
        assert err < 1e-4, (fn, out_scale, err)
    assert float(np.max(np.abs(got / 2.0**16 - want))) < 5e-5  # interpolation alone at 2**-16


@pytest.mark.parametrize("fn", sorted(NEW_TABLES))
@pytest.mark.parametrize("in_scale", [12, 14, 16, 20])
def test_new_tables_fast_paths_equal_the_reference(fn: str, in_scale: int) -> None:
    _, lo, hi, _ = FUNCTIONS[fn]
    x12 = np.arange((lo - 2) << 12, (hi + 2) << 12, dtype=np.int64)
    k = in_scale - 12
    xs = np.concatenate([x12 << k, (x12 << k) + (1 << max(k - 1, 0)), (x12 << k) - 1])
    step = _table_step(fn, in_scale, 14, len(xs))
    want = KERNELS["lut"](step, [xs], Ctx(fast=False))
    assert np.array_equal(KERNELS["lut"](step, [xs], Ctx(fast=True)), want)


def _single_node(path: Path, op: str, opset: int, **attrs: Any) -> Path:
    g = helper.make_graph(
        [helper.make_node(op, ["x"], ["y"], **attrs)],
        "act",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 16])],
    )
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize(
    ("op", "opset", "attrs", "kinds"),
    [
        ("Mish", 18, {}, ["lut"]),
        ("HardSigmoid", 17, {"alpha": 0.25, "beta": 0.4}, ["mul", "add", "clip"]),
        ("LeakyRelu", 17, {}, ["mul", "max"]),  # alpha 0.01 by default
        ("LeakyRelu", 17, {"alpha": 2.0}, ["mul", "min"]),
        ("Elu", 17, {}, ["lut", "max"]),
        ("Celu", 17, {}, ["lut", "max"]),
    ],
)
def test_onnx_built_activations(
    tmp_path: Path, op: str, opset: int, attrs: dict[str, Any], kinds: list[str]
) -> None:
    """ONNX's own defaults and forms PyTorch does not export (Mish at opset 18, alpha > 1)."""
    path = _single_node(tmp_path / f"{op}.onnx", op, opset, **attrs)
    program = load_program(path)
    assert [s.kind for s in program.steps] == kinds
    x = np.linspace(-12, 12, 64, dtype=np.float32).reshape(4, 16)
    err = np.abs(run(program, {"x": x}).values - _ort(path, {"x": x}))
    assert np.all(err <= ABS + REL * np.abs(x)), float(err.max())


@pytest.mark.parametrize(
    ("op", "attrs", "named"),
    [("Celu", {"alpha": -1.0}, "alpha=-1.0"), ("Selu", {"gamma": -1.0}, "gamma=-1.0")],
)
def test_activations_outside_the_lowering_are_refused(
    tmp_path: Path, op: str, attrs: dict[str, Any], named: str
) -> None:
    path = _single_node(tmp_path / f"{op}.onnx", op, 17, **attrs)
    with pytest.raises(UnsupportedOpError, match=named):
        load_program(path)
