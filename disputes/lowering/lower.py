"""Lower an ONNX graph to the integer program: fold constants, fuse patterns, emit steps.

Example::

    program = lower_model(onnx.load("model.onnx"), QuantConfig())
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import onnx
from numpy.typing import NDArray
from onnx import numpy_helper
from onnx.reference import ReferenceEvaluator

from disputes.errors import LoweringError, UnsupportedOpError
from disputes.program.ir import InputSpec, Param, Program, Step
from disputes.program.quantize import (
    I64,
    QuantConfig,
    clamp_const,
    is_integer_dtype,
    quantize_weight,
    weight_scale,
)

W_BASE = 1 << 40  # provisional references: inputs < W_BASE <= weights < S_BASE <= steps
S_BASE = 1 << 50


@dataclass(frozen=True)
class Dyn:
    """A runtime tensor: provisional slot reference, static shape, scale, integer-typed?"""

    ref: int
    shape: tuple[int, ...]
    scale: int
    is_int: bool


Const = NDArray[np.generic]
Val = Dyn | Const


@dataclass
class Builder:
    """Collects inputs, weights and steps while the graph is walked."""

    cfg: QuantConfig
    inputs: list[InputSpec] = field(default_factory=list)
    weights: list[I64] = field(default_factory=list)
    wscales: list[int] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    # transpose steps: output ref → (source, perm), and (source ref, perm) → output
    permuted_from: dict[int, tuple[Dyn, tuple[int, ...]]] = field(default_factory=dict)
    permutations: dict[tuple[int, tuple[int, ...]], Dyn] = field(default_factory=dict)
    _live: dict[int, int] | None = None  # step ref → its index after dead steps are dropped
    _memo: dict[tuple[bytes, tuple[int, ...], int], Dyn] = field(default_factory=dict)
    node: str = ""

    def add_input(self, name: str, shape: tuple[int, ...], is_int: bool) -> Dyn:
        scale = 0 if is_int else self.cfg.act
        self.inputs.append(InputSpec(name, shape, "int" if is_int else "float", scale))
        return Dyn(len(self.inputs) - 1, shape, scale, is_int)

    def weight(self, a: Const, scale: int | None = None) -> Dyn:
        """A constant operand as a committed weight tensor (deduplicated)."""
        q, s = quantize_weight(a, self.cfg, scale)
        key = (q.tobytes(), q.shape, s)
        if key not in self._memo:
            self.weights.append(np.ascontiguousarray(q))
            self.wscales.append(s)
            self._memo[key] = Dyn(W_BASE + len(self.weights) - 1, q.shape, s, is_integer_dtype(a))
        return self._memo[key]

    def emit(
        self,
        kind: str,
        ins: list[Dyn],
        shape: tuple[int, ...],
        scale: int,
        is_int: bool = False,
        **params: Param,
    ) -> Dyn:
        """Append a step; ``in_scales`` is recorded so each step is self-describing."""
        p: list[tuple[str, Param]] = [("in_scales", tuple(d.scale for d in ins))]
        p += sorted(params.items())
        step = Step(
            kind,
            tuple(d.ref for d in ins),
            tuple(int(x) for x in shape),
            scale,
            tuple(p),
            self.node,
        )
        self.steps.append(step)
        return Dyn(S_BASE + len(self.steps) - 1, step.shape, scale, is_int)

    def table_scale(self, a: Const) -> int | None:
        """Lookup tables are never multiplied in bulk, so they get ``table_bits`` of precision."""
        if is_integer_dtype(a):
            return None
        cfg = self.cfg
        wide = QuantConfig(**{**cfg.as_dict(), "wbits": cfg.table_bits})
        return weight_scale(clamp_const(a, cfg), wide)

    def to_scale(self, d: Dyn, scale: int) -> Dyn:
        if d.scale == scale:
            return d
        return self.emit("rescale", [d], d.shape, scale, d.is_int)

    def slot_of(self, ref: int) -> int:
        """Final slot of a provisional reference (valid once building is done; -1: dropped)."""
        n_in, n_w = len(self.inputs), len(self.weights)
        if ref < S_BASE:
            return n_in + ref - W_BASE if ref >= W_BASE else ref
        i = ref - S_BASE
        if self._live is not None:
            if i not in self._live:
                return -1
            i = self._live[i]
        return n_in + n_w + i

    def _drop_dead(self, out: Dyn) -> list[Step]:
        """The steps the output depends on (in order); e.g. a transpose composed away."""
        live = {out.ref}
        for i in range(len(self.steps) - 1, -1, -1):
            if S_BASE + i in live:
                live.update(self.steps[i].inputs)
        kept = [i for i in range(len(self.steps)) if S_BASE + i in live]
        self._live = {i: k for k, i in enumerate(kept)}
        return [self.steps[i] for i in kept]

    def finalize(self, out: Dyn, out_name: str) -> Program:
        slot = self.slot_of
        steps = [
            Step(s.kind, tuple(slot(r) for r in s.inputs), s.shape, s.scale, s.params, s.node)
            for s in self._drop_dead(out)
        ]
        return Program(
            self.inputs,
            self.weights,
            self.wscales,
            steps,
            slot(out.ref),
            out_name,
            self.cfg.as_dict(),
        )


def fold(node: onnx.NodeProto, ins: list[Const | None], opset: int) -> list[Const]:
    """Evaluate a node whose inputs are all constants (onnx reference implementation)."""
    model = _single_node_model(node, ins, opset)
    feeds = {n: v for n, v in zip(node.input, ins, strict=True) if n and v is not None}
    try:
        res = ReferenceEvaluator(model).run(None, feeds)
    except Exception as e:  # the reference evaluator raises many kinds; wrap them
        raise LoweringError(f"cannot constant-fold {node.op_type} node {node.name!r}: {e}") from e
    return [np.asarray(r) for r in res]


def _single_node_model(
    node: onnx.NodeProto, ins: list[Const | None], opset: int
) -> onnx.ModelProto:
    def vi(name: str, a: Const) -> onnx.ValueInfoProto:
        t = onnx.helper.np_dtype_to_tensor_dtype(a.dtype)
        return onnx.helper.make_tensor_value_info(name, t, a.shape)

    inputs = [vi(n, v) for n, v in zip(node.input, ins, strict=True) if n and v is not None]
    outs = [onnx.helper.make_empty_tensor_value_info(o) for o in node.output]
    g = onnx.helper.make_graph([node], "fold", inputs, outs)
    return onnx.helper.make_model(g, opset_imports=[onnx.helper.make_opsetid("", opset)])


def initializers(graph: onnx.GraphProto) -> dict[str, Const]:
    return {t.name: numpy_helper.to_array(t) for t in graph.initializer}


def static_shape(vi: onnx.ValueInfoProto) -> tuple[int, ...]:
    dims = vi.type.tensor_type.shape.dim
    if any(not d.HasField("dim_value") for d in dims):
        raise LoweringError(f"input {vi.name!r} has a dynamic shape; export with fixed shapes")
    return tuple(d.dim_value for d in dims)


def is_int_elem(vi: onnx.ValueInfoProto) -> bool:
    t = vi.type.tensor_type.elem_type
    return t not in (
        onnx.TensorProto.FLOAT,
        onnx.TensorProto.DOUBLE,
        onnx.TensorProto.FLOAT16,
        onnx.TensorProto.BFLOAT16,
    )


def unsupported(node: onnx.NodeProto, why: str = "") -> UnsupportedOpError:
    extra = f" ({why})" if why else ""
    return UnsupportedOpError(
        f"ONNX op {node.op_type!r} in node {node.name!r} is not supported by the integer "
        f"executor{extra}; see disputes/SPEC.md for the supported list"
    )


HandlerFn = Callable[[Builder, onnx.NodeProto, list["Val | None"]], list["Val"]]
HANDLERS: dict[str, HandlerFn] = {}


def handles(*ops: str) -> Callable[[HandlerFn], HandlerFn]:
    """Register a lowering function for ONNX op types ``ops``."""

    def deco(fn: HandlerFn) -> HandlerFn:
        for op in ops:
            HANDLERS[op] = fn
        return fn

    return deco


def attr(node: onnx.NodeProto, name: str, default: object = None) -> object:
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def iattr(node: onnx.NodeProto, name: str, default: int) -> int:
    v = attr(node, name, default)
    assert isinstance(v, int)
    return v


def as_dyn(b: Builder, v: Val | None, scale: int | None = None) -> Dyn:
    """A runtime operand: Dyn as is, a constant as a weight (at ``scale`` when given)."""
    if v is None:
        raise LoweringError(f"missing operand in node {b.node!r}")
    return v if isinstance(v, Dyn) else b.weight(v, scale)


def const_of(node: onnx.NodeProto, v: Val | None, what: str) -> Const:
    if v is None or isinstance(v, Dyn):
        raise unsupported(node, f"{what} must be a constant")
    return v


def ints_of(v: Const) -> tuple[int, ...]:
    return tuple(int(x) for x in np.asarray(v).reshape(-1))
