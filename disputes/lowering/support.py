"""Which nodes of an ONNX graph the executor cannot lower, and why, without lowering it.

A model owner should hear about every op the executor lacks at once, before any tuning or
tracing starts, instead of one failed lowering per op. The answer reads the same handler table
``lower_model`` dispatches on (``HANDLERS``) and the same fusions it applies, so an op gains
support here the moment a handler for it is registered. Limits inside a handler (an attribute
value it refuses, e.g. a Conv's ``auto_pad``) are only seen when the model is lowered; they
then fail with one error naming the node.

Example::

    for gap in unsupported_nodes(onnx.load("model.onnx")):
        print(gap.op_type, gap.nodes, gap.hint)
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import onnx

from disputes.lowering import lower_graph
from disputes.lowering.lower import HANDLERS, Const, fold, initializers

__all__ = ["UnsupportedNode", "supported_ops", "unsupported_nodes"]

DEFAULT_DOMAINS = ("", "ai.onnx")
# What usually avoids an op at export time; any op not listed gets GENERIC_HINT.
HINTS: dict[str, str] = {
    "Dropout": "export in eval mode (model.eval()) so dropout is removed",
    "If": "export without data-dependent branches (the executor runs a fixed graph)",
    "Loop": "unroll the loop at export (fixed sequence length, no while/for over data)",
    "Scan": "unroll the loop at export (fixed sequence length)",
    "Resize": "replace interpolation with a fixed ConvTranspose or nearest-neighbour reshape",
    "NonZero": "avoid data-dependent shapes (boolean indexing) in the model",
    "TopK": "return the scores and pick the top entries outside the model",
    "ArgMax": "return the scores and take the argmax outside the model",
}
GENERIC_HINT = (
    "rewrite it with supported ops before export, or serve the model with --mode zk if EZKL "
    "can prove it"
)


@dataclass(frozen=True)
class UnsupportedNode:
    """One op type the executor cannot lower: the nodes that use it, why, and what to do."""

    op_type: str
    domain: str
    nodes: tuple[str, ...]
    why: str
    hint: str

    def describe(self) -> str:
        """One line: ``LSTM (nodes lstm_0, lstm_1): no lowering for this op; unroll it``."""
        op = f"{self.domain}.{self.op_type}" if self.domain not in DEFAULT_DOMAINS else self.op_type
        return f"{op} (nodes {', '.join(self.nodes)}): {self.why}; {self.hint}"


def supported_ops() -> frozenset[str]:
    """ONNX op types (default domain) the executor has a lowering for."""
    return frozenset(HANDLERS) | {"Constant"}


def unsupported_nodes(model: onnx.ModelProto) -> list[UnsupportedNode]:
    """Every op the executor cannot lower, grouped by op type, in graph order."""
    g = model.graph
    consts = _constants(g, _opset(model))
    fused = lower_graph.find_fusions(g, consts)
    known = set(consts)
    gaps: dict[tuple[str, str], list[str]] = defaultdict(list)
    for i, node in enumerate(g.node):
        if i in fused.skip or i in fused.gelu or i in fused.bias:
            continue
        if _folds(node, known):
            known.update(o for o in node.output if o)
            continue
        if node.domain not in DEFAULT_DOMAINS or node.op_type not in HANDLERS:
            gaps[(node.domain, node.op_type)].append(node.name or f"{node.op_type}_{i}")
    return [_gap(domain, op, names) for (domain, op), names in gaps.items()]


def _gap(domain: str, op: str, names: list[str]) -> UnsupportedNode:
    if domain not in DEFAULT_DOMAINS:
        why = f"ops of the custom domain {domain!r} have no lowering"
        return UnsupportedNode(op, domain, tuple(names), why, "export with standard ONNX ops only")
    return UnsupportedNode(
        op, domain, tuple(names), "no lowering for this op", HINTS.get(op, GENERIC_HINT)
    )


def _folds(node: onnx.NodeProto, known: set[str]) -> bool:
    """Nodes ``lower_model`` evaluates at lowering time instead of lowering: constants in,
    constant out (and Shape, whose answer the static shapes already give)."""
    if node.op_type in ("Constant", "Shape"):
        return True
    return all(name in known for name in node.input if name)


def _opset(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in DEFAULT_DOMAINS), 17)


def _constants(g: onnx.GraphProto, opset: int) -> dict[str, Const]:
    """Initializers and Constant nodes: what ``lower_model`` matches its fusions against."""
    consts = dict(initializers(g))
    for n in g.node:
        if n.op_type == "Constant" and n.domain in DEFAULT_DOMAINS:
            consts[n.output[0]] = fold(n, [], opset)[0]
    return consts
