"""The committed function tables of ``lut`` steps (SPEC §5): domains, segment width, values.

Part of the program (lowering writes these constants into a table step, the kernels and the
one-step verifier read them back), so both layers import them from here.

Example (a table step for tanh)::

    params = lut_params("tanh", out_scale=16)
"""

from __future__ import annotations

import math
from collections.abc import Callable

from disputes.program.ir import Param

LUT_IN_SCALE = 12  # the argument is rescaled to 12 fractional bits before the lookup
LUT_SEG_BITS = 6  # segments are 2**-6 wide: linear interpolation error < 1e-4 for these functions


def _gelu(x: float) -> float:
    return 0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0)))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def _expm1(x: float) -> float:
    return math.expm1(min(x, 0.0))


def _mish(x: float) -> float:
    return x * math.tanh(_softplus(x))


# name → (function, domain low, domain high, right tail: "clamp" or "identity")
FUNCTIONS: dict[str, tuple[Callable[[float], float], int, int, str]] = {
    "exp": (math.exp, -16, 0, "clamp"),
    "erf": (math.erf, -4, 4, "clamp"),
    "tanh": (math.tanh, -8, 8, "clamp"),
    "sigmoid": (_sigmoid, -16, 16, "clamp"),
    "gelu": (_gelu, -8, 8, "identity"),
    # Where a tail is cut off, the function is within 2e-6 of its tail value (e.g. softplus(16)
    # - 16 = 1.1e-7, mish(8) - 8 = -1.8e-6), far below the 2**-12 argument rounding.
    "softplus": (_softplus, -16, 16, "identity"),
    "expm1": (_expm1, -16, 0, "clamp"),  # ELU's negative branch; 0 for x > 0
    "mish": (_mish, -16, 8, "identity"),
}


def lut_params(fn: str, out_scale: int) -> tuple[tuple[str, Param], ...]:
    """The committed constants of a table step: domain, segment width and the table itself."""
    f, lo, hi, tail = FUNCTIONS[fn]
    n = (hi - lo) << LUT_SEG_BITS
    pts = [lo + i / (1 << LUT_SEG_BITS) for i in range(n + 1)]
    table = tuple(math.floor(f(x) * 2.0**out_scale + 0.5) for x in pts)
    return (("fn", fn), ("lo", lo), ("hi", hi), ("tail", tail), ("table", table))
