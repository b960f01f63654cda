"""The checkpoint trace of one execution, with Merkle proofs and operand maps on demand.

Example::

    tr = trace(program, inputs)
    tr.checkpoint(3); tr.tensor_root(3); tr.leaf_proof(3, row=0); tr.operands_for(3, (0, 5))
"""

from __future__ import annotations

import functools
import math
from collections import deque
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from threadpoolctl import ThreadpoolController

from disputes.commitments import commit, merkle
from disputes.errors import TraceError
from disputes.execution.executor import I64, ArrayIn, Output, execute, make_output, quantize_inputs
from disputes.program.ir import Program
from disputes.tracing.operands import Operand, operands_for


@dataclass
class Trace:
    """Roots of every slot and the checkpoints C_0..C_{n-1}; tensors are kept or recomputed."""

    program: Program
    inputs: Mapping[str, ArrayIn]
    slot_roots: list[bytes]
    checkpoints: list[bytes]
    output: Output
    tensors: dict[int, I64] = field(default_factory=dict)

    @property
    def n_steps(self) -> int:
        return len(self.program.steps)

    def _step(self, i: int) -> int:
        if not 0 <= i < self.n_steps:
            raise TraceError(f"step {i} outside 0..{self.n_steps - 1}")
        return i

    def checkpoint(self, i: int) -> bytes:
        """C_i: root over all slot roots with steps after i zeroed."""
        return self.checkpoints[self._step(i)]

    def tensor_root(self, i: int) -> bytes:
        return self.slot_roots[self.program.slot_of_step(self._step(i))]

    def slot_tensor(self, slot: int) -> I64:
        """Any slot's tensor (input, weight or step output), re-running when not kept."""
        p = self.program
        if slot < len(p.inputs):
            return quantize_inputs(p, self.inputs)[slot]
        if slot < p.first_step_slot:
            return p.weights[slot - len(p.inputs)]
        i = self._step(slot - p.first_step_slot)
        if i not in self.tensors:
            for j, t in execute(p, self.inputs, upto=i):
                if j == i:
                    self.tensors[i] = t
        return self.tensors[i]

    def tensor(self, i: int) -> I64:
        return self.slot_tensor(self.program.slot_of_step(self._step(i)))

    def leaf_proof(self, i: int, row: int) -> tuple[I64, list[bytes]]:
        """Row ``row`` of step i's output (flattened leading axes) and its Merkle proof."""
        rows = merkle.as_rows(self.tensor(i))
        if not 0 <= row < rows.shape[0]:
            raise TraceError(f"row {row} outside 0..{rows.shape[0] - 1} of step {i}")
        tree = merkle.MerkleTree.from_tensor(rows)
        return rows[row].copy(), tree.proof(row)

    def checkpoint_proof(self, i: int, slot: int) -> list[bytes]:
        """Proof that slot's root sits in checkpoint C_i."""
        roots = self._roots_at(i)
        return merkle.checkpoint_proof(roots, self.program.n_slots, slot)

    def _roots_at(self, i: int) -> list[bytes]:
        return self.slot_roots[: self.program.slot_of_step(self._step(i)) + 1]

    def operands_for(self, i: int, element: tuple[int, ...]) -> list[Operand]:
        """Which operand slots, rows and elements step i's output element depends on."""
        return operands_for(
            self.program, self._step(i), element, lambda slot, idx: int(self.slot_tensor(slot)[idx])
        )


def trace(
    program: Program, inputs: Mapping[str, ArrayIn], keep_tensors: bool = True, fast: bool = True
) -> Trace:
    """Run once, committing to every tensor; checkpoints C_i for every step i."""
    p = program
    roots = [merkle.tensor_root(q) for q in quantize_inputs(p, inputs)]
    roots += p.weight_roots
    kept: dict[int, I64] = {}
    out: I64 | None = None
    want = p.output_slot - p.first_step_slot
    if _output_bytes(p) < BATCH_BYTES:  # small: a thread and BLAS limits cost more than hashing
        outs = [t for _, t in execute(p, inputs, fast)]
        roots += merkle.tensor_roots(outs)
        kept = dict(enumerate(outs)) if keep_tensors else {}
        out = outs[want]
    else:
        with RootQueue() as queue, blas_leaves_a_core():
            for i, t in execute(p, inputs, fast):
                queue.put(t)
                if keep_tensors:
                    kept[i] = t
                if i == want:
                    out = t
            roots += queue.results()
    assert out is not None
    cps = checkpoints(roots, p.first_step_slot, p.n_slots)
    return Trace(p, dict(inputs), roots, cps, make_output(p, out), kept)


@functools.lru_cache(maxsize=1)
def _blas() -> ThreadpoolController:
    return ThreadpoolController()


@contextmanager
def blas_leaves_a_core() -> Iterator[None]:
    """One BLAS thread fewer while the root thread hashes (same bits: integer sums are exact).

    Measured on 2 cores: a MiniLM trace takes ~190 ms with one BLAS thread beside the hashing
    and ~240 ms with two, which then compete with the hashing threads for the cores.
    """
    blas = _blas().select(user_api="blas")
    now = max((int(i["num_threads"]) for i in blas.info()), default=1)
    with _blas().limit(limits=max(1, now - 1), user_api="blas"):
        yield


BATCH_BYTES = 16 << 20  # tensors hashed per batched C call (small tensors cost calls, not bytes)
IN_FLIGHT = 2  # batches hashing or waiting at once; bounds the extra memory of the overlap


class RootQueue:
    """Tensor roots computed in batches on a background thread while the next steps run.

    Hashing releases the GIL (ctypes), so it overlaps NumPy work; roots come back in the order
    the tensors were put. About ``IN_FLIGHT * BATCH_BYTES`` of tensors wait at most.
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="trace-roots")
        self._pending: deque[Future[list[bytes]]] = deque()
        self._batch: list[I64] = []
        self._bytes = 0
        self._done: list[bytes] = []

    def __enter__(self) -> RootQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def put(self, t: I64) -> None:
        self._batch.append(t)
        self._bytes += t.nbytes
        if self._bytes >= BATCH_BYTES:
            self._flush()

    def _flush(self) -> None:
        if self._batch:
            while len(self._pending) >= IN_FLIGHT:
                self._done += self._pending.popleft().result()
            self._pending.append(self._pool.submit(merkle.tensor_roots, self._batch))
            self._batch, self._bytes = [], 0

    def results(self) -> list[bytes]:
        self._flush()
        while self._pending:
            self._done += self._pending.popleft().result()
        return self._done


def _output_bytes(p: Program) -> int:
    return sum(8 * math.prod(s.shape) for s in p.steps)


def checkpoints(roots: list[bytes], first_step: int, n_slots: int) -> list[bytes]:
    """C_i for each step i over the roots known after step i (later slots zero)."""
    return commit.checkpoint_series(roots, first_step, n_slots)
