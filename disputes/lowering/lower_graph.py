"""Walk an ONNX graph: constant-fold, fuse known patterns, lower every other node to steps.

Example::

    program = lower_model(onnx.load(path), QuantConfig())
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import onnx

from disputes.errors import LoweringError
from disputes.lowering import (  # noqa: F401  (register handlers)
    lower_act,
    lower_arith,
    lower_nn,
    lower_rnn,
    lower_shape,
    lower_spatial,
)
from disputes.lowering.lower import (
    HANDLERS,
    S_BASE,
    Builder,
    Const,
    Dyn,
    Val,
    as_dyn,
    fold,
    initializers,
    is_int_elem,
    static_shape,
    unsupported,
)
from disputes.lowering.lower_act import mish_chains
from disputes.lowering.lower_arith import table
from disputes.lowering.lower_nn import matmul
from disputes.program.ir import Program
from disputes.program.quantize import QuantConfig


@dataclass
class Fusions:
    """Node indices replaced by one fused step, keyed by the node that emits it."""

    skip: set[int] = field(default_factory=set)
    bias: dict[int, str] = field(default_factory=dict)  # matmul node → bias initializer
    gelu: dict[int, str] = field(default_factory=dict)  # last node → input tensor name
    mish: dict[int, str] = field(default_factory=dict)  # x·tanh(softplus(x)): Mul → x
    out_name: dict[int, str] = field(default_factory=dict)  # fused matmul → the Add's output


def find_fusions(graph: onnx.GraphProto, consts: dict[str, Const]) -> Fusions:
    f = Fusions()
    users: dict[str, list[int]] = defaultdict(list)
    for i, n in enumerate(graph.node):
        for x in n.input:
            users[x].append(i)
    producer = {o: i for i, n in enumerate(graph.node) for o in n.output}
    graph_outputs = {o.name for o in graph.output}
    single = _single_user(graph, users, graph_outputs)
    _bias_fusions(graph, consts, single, f)
    _gelu_fusions(graph, consts, single, producer, f)
    for sp, th, m, x in mish_chains(graph.node, single, producer):
        f.skip.update({sp, th})
        f.mish[m] = x
    return f


def _single_user(
    graph: onnx.GraphProto, users: dict[str, list[int]], outs: set[str]
) -> dict[str, int]:
    return {k: v[0] for k, v in users.items() if len(v) == 1 and k not in outs}


def _other(node: onnx.NodeProto, name: str) -> str:
    ins = [str(i) for i in node.input]
    return ins[1] if ins[0] == name else ins[0]


def _bias_fusions(
    graph: onnx.GraphProto, consts: dict[str, Const], single: dict[str, int], f: Fusions
) -> None:
    for i, n in enumerate(graph.node):
        if n.op_type != "MatMul" or n.input[1] not in consts or n.output[0] not in single:
            continue
        j = single[n.output[0]]
        add = graph.node[j]
        if add.op_type != "Add":
            continue
        bias = _other(add, n.output[0])
        n_out = consts[n.input[1]].shape[-1]
        if bias in consts and consts[bias].shape in ((n_out,), (1, n_out)):
            f.bias[i], f.out_name[i] = bias, add.output[0]
            f.skip.add(j)


def _is_const(consts: dict[str, Const], name: str, value: float) -> bool:
    v = consts.get(name)
    return (
        v is not None and v.size == 1 and math.isclose(float(v.reshape(-1)[0]), value, rel_tol=1e-3)
    )


def _gelu_fusions(
    graph: onnx.GraphProto,
    consts: dict[str, Const],
    single: dict[str, int],
    producer: dict[str, int],
    f: Fusions,
) -> None:
    """x*0.5*(1+erf(x/sqrt2)) in either multiplication order → one gelu table step."""
    nodes = graph.node
    for i, e in enumerate(nodes):
        if e.op_type != "Erf" or e.input[0] not in producer:
            continue
        d = producer[e.input[0]]
        dn = nodes[d]
        x = _gelu_input(dn, consts)
        if x is None or e.output[0] not in single or dn.output[0] not in single:
            continue
        chain = _gelu_tail(nodes, consts, single, producer, e.output[0], x)
        if chain is not None:
            f.skip.update({d, i, *chain[:-1]})
            f.gelu[chain[-1]] = x


def _gelu_input(dn: onnx.NodeProto, consts: dict[str, Const]) -> str | None:
    if dn.op_type == "Div" and _is_const(consts, dn.input[1], math.sqrt(2.0)):
        return str(dn.input[0])
    if dn.op_type == "Mul":
        for k in (0, 1):
            if _is_const(consts, dn.input[1 - k], 1 / math.sqrt(2.0)):
                return str(dn.input[k])
    return None


def _gelu_tail(
    nodes: Sequence[onnx.NodeProto],
    consts: dict[str, Const],
    single: dict[str, int],
    producer: dict[str, int],
    erf_out: str,
    x: str,
) -> list[int] | None:
    ns = list(nodes)
    a = single.get(erf_out)
    if a is None or ns[a].op_type != "Add" or not _is_const(consts, _other(ns[a], erf_out), 1.0):
        return None
    m1 = single.get(ns[a].output[0])
    if m1 is None or ns[m1].op_type != "Mul":
        return None
    other = _other(ns[m1], ns[a].output[0])
    if other == x:  # (x * (1+erf)) * 0.5
        m2 = single.get(ns[m1].output[0])
        if (
            m2 is not None
            and ns[m2].op_type == "Mul"
            and _is_const(consts, _other(ns[m2], ns[m1].output[0]), 0.5)
        ):
            return [a, m1, m2]
        return None
    h = producer.get(other)  # (x * 0.5) * (1+erf)
    if (
        h is not None
        and ns[h].op_type == "Mul"
        and other in single
        and set(ns[h].input) >= {x}
        and _is_const(consts, _other(ns[h], x), 0.5)
    ):
        return [a, h, m1]
    return None


def lower_model(model: onnx.ModelProto, cfg: QuantConfig | None = None) -> Program:
    """The integer program of an ONNX model with static input shapes."""
    cfg = cfg or QuantConfig()
    g = model.graph
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 17)
    env: dict[str, Val] = dict(initializers(g))
    env.update(_constant_nodes(g, opset))
    b = Builder(cfg)
    for vi in g.input:
        if vi.name not in env:
            env[vi.name] = b.add_input(vi.name, static_shape(vi), is_int_elem(vi))
    fusions = find_fusions(g, {k: v for k, v in env.items() if not isinstance(v, Dyn)})
    for i, node in enumerate(g.node):
        if i not in fusions.skip:
            _lower_node(b, node, i, env, fusions, opset)
    out = env.get(g.output[0].name)
    if not isinstance(out, Dyn):
        raise LoweringError("the model output does not depend on its inputs")
    if out.ref < S_BASE:  # e.g. two transposes that cancel: the output must still be a step
        out = b.emit("reshape", [out], out.shape, out.scale, out.is_int)
    program = b.finalize(out, g.output[0].name)
    slots = {k: b.slot_of(v.ref) for k, v in env.items() if isinstance(v, Dyn)}
    program.names = {k: s for k, s in slots.items() if s >= 0}  # dropped steps have no slot
    return program


def _constant_nodes(g: onnx.GraphProto, opset: int) -> dict[str, Val]:
    return {n.output[0]: fold(n, [], opset)[0] for n in g.node if n.op_type == "Constant"}


def _lower_node(
    b: Builder, node: onnx.NodeProto, i: int, env: dict[str, Val], fusions: Fusions, opset: int
) -> None:
    if node.op_type == "Constant":
        return
    b.node = node.name or f"{node.op_type}_{i}"
    for fn, fused in (("gelu", fusions.gelu), ("mish", fusions.mish)):
        if i in fused:
            env[node.output[0]] = table(b, fn, as_dyn(b, env[fused[i]]), b.cfg.act)
            return
    ins: list[Val | None] = [env[n] if n else None for n in node.input]
    if i in fusions.bias:
        bias = np.asarray(env[fusions.bias[i]])
        out = matmul(b, as_dyn(b, ins[0]), np.asarray(ins[1]), bias)
        env[fusions.out_name[i]] = out
        return
    outs = _evaluate(b, node, ins, opset)
    for name, v in zip(node.output, outs, strict=False):
        env[name] = v


def _evaluate(b: Builder, node: onnx.NodeProto, ins: list[Val | None], opset: int) -> list[Val]:
    if node.op_type == "Shape" and isinstance(ins[0], Dyn):
        return list(fold(node, [np.zeros(ins[0].shape, dtype=np.int8)], opset))
    if not any(isinstance(v, Dyn) for v in ins):
        return list(fold(node, [None if v is None else np.asarray(v) for v in ins], opset))
    handler = HANDLERS.get(node.op_type)
    if handler is None:
        raise unsupported(node)
    return handler(b, node, ins)
