"""Run a lowered program exactly in integers; serve outputs fast, trace checkpoints on demand.

Example::

    program = load_program(reg.onnx_path("digits-mlp"))
    out = run(program, {"input": x})          # out.values (float), out.q (int64), out.root
    tr = trace(program, {"input": x})          # tr.checkpoints[i] after step i
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from numpy.typing import NDArray

from disputes.commitments import commit, merkle
from disputes.commitments.descriptor import program_root
from disputes.errors import DisputeError, ExecutionInputError, LoweringError
from disputes.execution.malloc import keep_heap
from disputes.execution.ops import KERNELS, Ctx
from disputes.execution.ops.qlinear import check_exact
from disputes.lowering.lower_graph import lower_model
from disputes.program.fixedpoint import VALUE_BOUND, dequantize, max_abs, quantize
from disputes.program.ir import Program, Step
from disputes.program.quantize import QuantConfig

I64 = NDArray[np.int64]
ArrayIn = NDArray[np.generic]


@dataclass(frozen=True)
class Output:
    """The model output: integers at ``scale``, their real values and the tensor root."""

    q: I64
    scale: int
    values: NDArray[np.float64]
    root: bytes


def load_program(onnx_path: Path | str, cfg: QuantConfig | None = None) -> Program:
    """Lower and quantize an ONNX model; computes program and weights roots."""
    try:
        model = onnx.load(str(onnx_path))
    except Exception as e:  # onnx raises DecodeError, OSError, ...
        raise LoweringError(f"cannot read ONNX model {onnx_path}: {e}") from e
    return prepare(lower_model(model, cfg))


def prepare(program: Program) -> Program:
    """Fill the roots and the float64 weight copies; refuse a qmatmul that cannot be exact."""
    program.program_root = program_root(program)
    program.weight_roots = [merkle.tensor_root(w) for w in program.weights]
    program.weights_root = commit.weights_root(program.weight_roots)
    n_in = len(program.inputs)
    program.weights_f64 = [None] * len(program.weights)
    for step in program.steps:
        if len(step.inputs) < 2 or not n_in <= step.inputs[1] < program.first_step_slot:
            continue
        j = step.inputs[1] - n_in
        w = program.weights[j]
        if step.kind == "qmatmul":  # its scaled float32 copy is made by the kernel, once
            check_exact(step, w)
        elif step.kind in ("matmul", "conv") and program.weights_f64[j] is None:
            program.weights_f64[j] = w.astype(np.float64)
    return program


def _ctx(program: Program, fast: bool) -> Ctx:
    n_in = len(program.inputs)
    ctx = Ctx(fast=fast)
    for j, w in enumerate(program.weights):
        ctx.maxabs[n_in + j] = max_abs(w)
        f = program.weights_f64[j] if program.weights_f64 else None
        if f is not None:
            ctx.f64[n_in + j] = f
    return ctx


_CTX_CACHE: dict[tuple[int, bool], tuple[Program, Ctx]] = {}


def context(program: Program, fast: bool) -> Ctx:
    keep_heap()
    key = (id(program), fast)
    hit = _CTX_CACHE.get(key)
    if hit is None or hit[0] is not program:
        hit = (program, _ctx(program, fast))
        _CTX_CACHE[key] = hit
    return hit[1]


def quantize_inputs(program: Program, inputs: Mapping[str, ArrayIn]) -> list[I64]:
    """Check names, shapes and dtypes; float inputs are rounded to the input scale."""
    names = {s.name for s in program.inputs}
    extra = set(inputs) - names
    if extra:
        raise ExecutionInputError(f"unknown input(s) {sorted(extra)}; expected {sorted(names)}")
    return [
        _one_input(spec.name, spec.shape, spec.kind, spec.scale, inputs) for spec in program.inputs
    ]


def _one_input(
    name: str, shape: tuple[int, ...], kind: str, scale: int, inputs: Mapping[str, ArrayIn]
) -> I64:
    if name not in inputs:
        raise ExecutionInputError(f"missing input {name!r} (shape {list(shape)}, {kind})")
    a = np.asarray(inputs[name])
    if tuple(a.shape) != shape:
        raise ExecutionInputError(
            f"input {name!r} has shape {list(a.shape)}; expected {list(shape)}"
        )
    if kind == "int":
        if not (np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_):
            raise ExecutionInputError(f"input {name!r} must be integers, got {a.dtype}")
        # Checked on the original dtype: a uint64 above 2**63 would wrap in the cast, and any
        # operand past the value bound could wrap later in int64 where the on-chain one-step
        # verifier (exact int256) would not: the two must never disagree.
        if a.size and (int(a.max()) >= VALUE_BOUND or int(a.min()) <= -VALUE_BOUND):
            raise ExecutionInputError(
                f"input {name!r} has integers outside ±2**47, the executor's value bound"
            )
        return a.astype(np.int64)
    if not np.all(np.isfinite(a.astype(np.float64))):
        raise ExecutionInputError(f"input {name!r} has NaN or infinite values")
    if np.any(np.abs(a.astype(np.float64)) * 2.0**scale >= VALUE_BOUND):
        raise ExecutionInputError(f"input {name!r} has values too large for scale 2**-{scale}")
    return quantize(a.astype(np.float64), scale)


def _last_uses(program: Program) -> list[int]:
    """For each slot, the last step that reads it (-1: never read by a step)."""
    last = [-1] * program.n_slots
    for i, s in enumerate(program.steps):
        for j in s.inputs:
            last[j] = i
    return last


def execute(
    program: Program,
    inputs: Mapping[str, ArrayIn],
    fast: bool = True,
    keep: bool = False,
    upto: int | None = None,
) -> Iterator[tuple[int, I64]]:
    """Yield (step index, output tensor) for each step; frees dead tensors unless ``keep``."""
    ctx = context(program, fast).for_run()
    slots: list[I64 | None] = [*quantize_inputs(program, inputs), *program.weights]
    slots += [None] * len(program.steps)
    last = _last_uses(program)
    end = len(program.steps) if upto is None else upto + 1
    base = program.first_step_slot
    for i, step in enumerate(program.steps[:end]):
        ops = [slots[j] for j in step.inputs]
        ctx.out = base + i
        out = _run_step(step, ops, ctx, i)
        slots[base + i] = out
        yield i, out
        if not keep:
            for j in step.inputs:
                if last[j] == i and j >= base:
                    slots[j] = None


def _run_step(step: Step, ops: list[I64 | None], ctx: Ctx, i: int) -> I64:
    if any(o is None for o in ops):
        raise DisputeError(f"step {i} ({step.kind}) reads a tensor that was freed")
    try:
        out = KERNELS[step.kind](step, [o for o in ops if o is not None], ctx)
    except DisputeError as e:
        raise type(e)(f"step {i} ({step.kind}, from ONNX node {step.node!r}): {e}") from e
    # The committed shape is what the one-step verifier indexes by: a kernel that made any
    # other shape (a lowering bug) must stop the run, not commit a tensor nobody can open.
    if out.shape != tuple(step.shape):
        raise DisputeError(
            f"step {i} ({step.kind}, from ONNX node {step.node!r}) made shape "
            f"{list(out.shape)}, but the program commits {list(step.shape)}"
        )
    return out


def run(program: Program, inputs: Mapping[str, ArrayIn], fast: bool = True) -> Output:
    """The output and its tensor root only (serving pays for no other commitment)."""
    want = program.output_slot - program.first_step_slot
    out: I64 | None = None
    for i, t in execute(program, inputs, fast, upto=want):
        if i == want:
            out = t
    assert out is not None
    return make_output(program, out)


def make_output(program: Program, q: I64) -> Output:
    scale = program.slot_scale(program.output_slot)
    return Output(q, scale, dequantize(q, scale), merkle.tensor_root(q))
