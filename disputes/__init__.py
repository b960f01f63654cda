"""verinfer's deterministic integer executor of the optimistic path, as a map of its layers.

``program`` (integer IR, fixed point, quantization) ← ``lowering`` (ONNX → program) ←
``execution`` (executor, kernels, C sources) ← ``tracing`` (traces, operands) ← ``osp``
(one-step-proof encoding); ``commitments`` (Merkle trees, checkpoints, keccak, the program
commitment) is used by execution, tracing and osp. ``errors`` and ``clib`` (the C build helper)
sit at the top and import no layer. ``tests/disputes/test_layout.py`` keeps imports one-way.

Example::

    from disputes import QuantConfig, load_program, one_step_proof, run, trace
    program = load_program(".verinfer/models/minilm-l6/model.onnx", QuantConfig())
    out = run(program, inputs)  # output + its Merkle root
    tr = trace(program, inputs)  # every checkpoint C_i
"""

from __future__ import annotations

from disputes.commitments import (
    checkpoint_root,
    program_root,
    tensor_root,
    tensor_roots,
    weights_root,
)
from disputes.errors import (
    BoundsError,
    DisputeError,
    ExecutionInputError,
    LoweringError,
    MerkleError,
    TraceError,
    UnsupportedOpError,
)
from disputes.execution import Output, execute, load_program, prepare, run
from disputes.osp import OneStepProof, one_step_proof
from disputes.program import InputSpec, Program, QuantConfig, Step
from disputes.tracing import Trace, trace

__all__ = [
    "BoundsError",
    "DisputeError",
    "ExecutionInputError",
    "InputSpec",
    "LoweringError",
    "MerkleError",
    "OneStepProof",
    "Output",
    "Program",
    "QuantConfig",
    "Step",
    "Trace",
    "TraceError",
    "UnsupportedOpError",
    "checkpoint_root",
    "execute",
    "load_program",
    "one_step_proof",
    "prepare",
    "program_root",
    "run",
    "tensor_root",
    "tensor_roots",
    "trace",
    "weights_root",
]
