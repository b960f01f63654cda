"""Integer kernels, one module per op family; ``KERNELS`` maps a step kind to its kernel."""

from __future__ import annotations

from disputes.execution.ops import (  # noqa: F401  (registers kernels)
    elementwise,
    linear,
    nonlinear,
    qlinear,
    shape,
    spatial,
)
from disputes.execution.ops.base import KERNELS, Ctx, Kernel

__all__ = ["KERNELS", "Ctx", "Kernel"]
