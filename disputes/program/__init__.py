"""The integer program: the IR (steps, slots, params), fixed-point rules, quantization, tables.

The lowest layer of ``disputes``: it imports only ``disputes.errors``. The fixed-point helpers
(``quantize``, ``rescale``, ...) are used as ``disputes.program.fixedpoint``.
"""

from __future__ import annotations

from disputes.program.fixedpoint import FLOAT64_EXACT, INT64_SAFE, VALUE_BOUND
from disputes.program.ir import SPEC_VERSION, InputKind, InputSpec, Param, Program, Step
from disputes.program.quantize import QuantConfig
from disputes.program.tables import FUNCTIONS, LUT_IN_SCALE, LUT_SEG_BITS, lut_params
from disputes.program.window import Window

__all__ = [
    "FLOAT64_EXACT",
    "FUNCTIONS",
    "INT64_SAFE",
    "LUT_IN_SCALE",
    "LUT_SEG_BITS",
    "SPEC_VERSION",
    "VALUE_BOUND",
    "InputKind",
    "InputSpec",
    "Param",
    "Program",
    "QuantConfig",
    "Step",
    "Window",
    "lut_params",
]
