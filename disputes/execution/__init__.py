"""Execution: the executor (``executor``), the integer kernels (``ops``, C versions in
``kernels.c``), the heap setting (``malloc``), ``make native`` (``native_build``) and the float
comparison (``accuracy``, not imported here: it needs onnxruntime and the models).

Imports ``disputes.program``, ``disputes.lowering`` and ``disputes.commitments``.
"""

from __future__ import annotations

from disputes.execution.executor import (
    ArrayIn,
    Output,
    context,
    execute,
    load_program,
    make_output,
    prepare,
    quantize_inputs,
    run,
)
from disputes.execution.ops import KERNELS, Ctx, Kernel

__all__ = [
    "KERNELS",
    "ArrayIn",
    "Ctx",
    "Kernel",
    "Output",
    "context",
    "execute",
    "load_program",
    "make_output",
    "prepare",
    "quantize_inputs",
    "run",
]
