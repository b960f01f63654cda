"""ONNX → program: the graph walk and fusions (``lower_graph``), the builder and handler registry
(``lower``) and one handler module per op family (``lower_arith``, ``lower_nn``, ``lower_shape``,
``lower_spatial`` for convolution and pooling, ...);
``support`` says which nodes of a graph have no lowering, without lowering it.

Imports ``disputes.program`` only.
"""

from __future__ import annotations

from disputes.lowering.lower import HANDLERS, Builder, handles
from disputes.lowering.lower_graph import Fusions, find_fusions, lower_model
from disputes.lowering.support import UnsupportedNode, supported_ops, unsupported_nodes

__all__ = [
    "HANDLERS",
    "Builder",
    "Fusions",
    "UnsupportedNode",
    "find_fusions",
    "handles",
    "lower_model",
    "supported_ops",
    "unsupported_nodes",
]
