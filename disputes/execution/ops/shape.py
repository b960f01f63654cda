"""Data-movement steps: each output element is one operand element (SPEC §7)."""

from __future__ import annotations

import numpy as np

from disputes.errors import ExecutionInputError
from disputes.execution.ops import native
from disputes.execution.ops.base import I64, Ctx, kernel
from disputes.program.ir import Step


def _same_values(step: Step, ctx: Ctx) -> None:
    """Data movement: the output's values are operand values, so their bounds carry over."""
    known = [ctx.known(j) for j in step.inputs]
    if known and all(b is not None for b in known):
        ctx.proven(max(b for b in known if b is not None))


@kernel("reshape")
def reshape(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    """Same elements in row-major order, new shape (covers Flatten/Squeeze/Unsqueeze)."""
    _same_values(step, ctx)
    return ops[0].reshape(step.shape)


@kernel("transpose")
def transpose(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    _same_values(step, ctx)
    got = native.transpose(ops[0], step.tp("perm")) if ctx.native else None
    return got if got is not None else np.ascontiguousarray(ops[0].transpose(step.tp("perm")))


@kernel("slice")
def slice_(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    """Per-axis (start, stop, step) triples, already normalized to non-negative bounds."""
    _same_values(step, ctx)
    t = step.tp("slices")
    sl = tuple(
        slice(t[i], t[i + 1] if t[i + 1] >= 0 else None, t[i + 2]) for i in range(0, len(t), 3)
    )
    return np.ascontiguousarray(ops[0][sl])


@kernel("gather")
def gather(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    """Take fixed indices (a program constant) along one axis."""
    _same_values(step, ctx)
    idx = np.array(step.tp("indices"), dtype=np.int64).reshape(step.tp("indices_shape"))
    return np.take(ops[0], idx, axis=step.ip("axis"))


@kernel("embed")
def embed(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    """Rows of a weight table picked by an integer tensor (token ids must be in range)."""
    table, ids = ops
    bad = (ids < 0) | (ids >= table.shape[0])
    if np.any(bad):
        v = int(ids[bad].flat[0])
        raise ExecutionInputError(
            f"index {v} out of range [0, {table.shape[0]}) in {step.node or 'embedding'}: "
            "token ids must come from the model's vocabulary"
        )
    return table[ids]


@kernel("concat")
def concat(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    _same_values(step, ctx)
    return np.concatenate(ops, axis=step.ip("axis"))


@kernel("expand")
def expand(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    _same_values(step, ctx)
    return np.ascontiguousarray(np.broadcast_to(ops[0], step.shape))


@kernel("copy")
def copy(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    _same_values(step, ctx)
    return ops[0]
