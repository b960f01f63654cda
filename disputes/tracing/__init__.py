"""Tracing: run a program committing to every tensor and checkpoint (``trace``), and which
operand elements one output element reads (``operands``).

Imports ``disputes.execution``, ``disputes.commitments`` and ``disputes.program``. The name
``trace`` here is the function; the module is ``disputes.tracing.trace``.
"""

from __future__ import annotations

from disputes.tracing.operands import Operand, operands_for
from disputes.tracing.trace import Trace, checkpoints, trace

__all__ = ["Operand", "Trace", "checkpoints", "operands_for", "trace"]
