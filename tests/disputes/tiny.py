"""A tiny transformer block built directly with onnx.helper (deterministic, no torch)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SEQ, D, HEADS, FF = 8, 16, 2, 32


def _init(
    rng: np.random.Generator, name: str, shape: tuple[int, ...], scale: float = 0.3
) -> onnx.TensorProto:
    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


def _c(name: str, value: object, dtype: type = np.float32) -> onnx.TensorProto:
    return numpy_helper.from_array(np.array(value, dtype=dtype), name)


def tiny_block(path: Path, seed: int = 7) -> Path:
    """x[1,SEQ,D] → LN → attention (2 heads, softmax) → residual → LN → GELU MLP → residual."""
    rng = np.random.default_rng(seed)
    n = helper.make_node
    hd = D // HEADS
    inits = [
        _init(rng, k, s)
        for k, s in [
            ("wq", (D, D)),
            ("wk", (D, D)),
            ("wv", (D, D)),
            ("wo", (D, D)),
            ("w1", (D, FF)),
            ("w2", (FF, D)),
        ]
    ]
    inits += [_init(rng, k, s, 0.1) for k, s in [("bq", (D,)), ("b1", (FF,)), ("b2", (D,))]]
    inits += [
        _c("g1", np.ones(D)),
        _c("be1", np.zeros(D)),
        _c("g2", 1 + 0.1 * np.arange(D)),
        _c("be2", 0.05 * np.arange(D)),
        _c("hshape", [1, SEQ, HEADS, hd], np.int64),
        _c("oshape", [1, SEQ, D], np.int64),
        _c("scale", 1 / math.sqrt(hd)),
        _c("sqrt2", math.sqrt(2)),
        _c("one", 1.0),
        _c("half", 0.5),
    ]
    nodes = [
        n("LayerNormalization", ["x", "g1", "be1"], ["h"], epsilon=1e-5, axis=-1),
        n("MatMul", ["h", "wq"], ["q0"]),
        n("Add", ["q0", "bq"], ["q1"]),
        n("MatMul", ["h", "wk"], ["k0"]),
        n("MatMul", ["h", "wv"], ["v0"]),
        n("Reshape", ["q1", "hshape"], ["q2"]),
        n("Transpose", ["q2"], ["q"], perm=[0, 2, 1, 3]),
        n("Reshape", ["k0", "hshape"], ["k2"]),
        n("Transpose", ["k2"], ["kt"], perm=[0, 2, 3, 1]),
        n("Reshape", ["v0", "hshape"], ["v2"]),
        n("Transpose", ["v2"], ["v"], perm=[0, 2, 1, 3]),
        n("MatMul", ["q", "kt"], ["s0"]),
        n("Mul", ["s0", "scale"], ["s1"]),
        n("Softmax", ["s1"], ["p"], axis=-1),
        n("MatMul", ["p", "v"], ["o0"]),
        n("Transpose", ["o0"], ["o1"], perm=[0, 2, 1, 3]),
        n("Reshape", ["o1", "oshape"], ["o2"]),
        n("MatMul", ["o2", "wo"], ["o3"]),
        n("Add", ["x", "o3"], ["r1"]),
        n("LayerNormalization", ["r1", "g2", "be2"], ["h2"], epsilon=1e-5, axis=-1),
        n("MatMul", ["h2", "w1"], ["f0"]),
        n("Add", ["b1", "f0"], ["f1"]),
        n("Div", ["f1", "sqrt2"], ["e0"]),
        n("Erf", ["e0"], ["e1"]),
        n("Add", ["e1", "one"], ["e2"]),
        n("Mul", ["f1", "e2"], ["e3"]),
        n("Mul", ["e3", "half"], ["g"]),
        n("MatMul", ["g", "w2"], ["f2"]),
        n("Add", ["f2", "b2"], ["f3"]),
        n("Add", ["r1", "f3"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, SEQ, D])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, SEQ, D])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def tiny_input(seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((1, SEQ, D)).astype(np.float32)
