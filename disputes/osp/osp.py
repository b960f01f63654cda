"""One-step proofs: from a trace, the calldata with which OneStepVerifier recomputes an element.

``OneStepVerifier.verify(claim, proof)`` takes the agreed checkpoint before step ``i``, the
step's leaf message with its proof to the program root, the element's index, and every operand
row the element reads, each proven to its slot root and each slot root to ``C_{i-1}``; a ``lut``
step also brings one pair row of its table. This module builds exactly that from a ``Trace``.

Usage::

    tr = trace(program, inputs)
    osp = one_step_proof(tr, 5, (0, 3))
    value = verifier.functions.verify(osp.claim, osp.proof).call()   # == osp.value
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from disputes.commitments import commit, merkle
from disputes.commitments.descriptor import lut_pairs, program_tree, step_message
from disputes.errors import TraceError
from disputes.execution.ops.base import in_scales
from disputes.program.fixedpoint import rescale
from disputes.program.ir import Program, Step
from disputes.program.tables import LUT_IN_SCALE, LUT_SEG_BITS
from disputes.tracing.trace import Trace

Index = tuple[int, ...]
EMPTY_ROW: tuple[int, bytes, list[bytes]] = (0, b"", [])


@dataclass(frozen=True)
class OneStepProof:
    """The ``Claim`` and ``Proof`` tuples of ``OneStepVerifier.verify``, and the honest value."""

    claim: tuple[bytes, int, bytes, int]
    proof: tuple[bytes, list[bytes], list[int], list[Any], tuple[int, bytes, list[bytes]]]
    value: int

    @property
    def calldata_bytes(self) -> int:
        """Rough size of the proof's payload (leaf bytes plus 32 per hash or word)."""
        step_msg, step_proof, element, slots, table = self.proof
        rows = [r for s in slots for r in s[3]]
        hashes = len(step_proof) + sum(len(s[2]) for s in slots) + sum(len(r[2]) for r in rows)
        leaves = sum(len(r[1]) for r in rows) + len(table[1])
        return len(step_msg) + leaves + 32 * (hashes + len(element) + 4)


def before(tr: Trace, i: int) -> bytes:
    """``C_{i-1}``: the checkpoint the game agreed on before step ``i`` (``C_0`` for step 0)."""
    if i > 0:
        return tr.checkpoint(i - 1)
    p = tr.program
    return merkle.checkpoint_root(tr.slot_roots[: p.slot_of_step(0)], p.n_slots)


# id(program) → (program, its tree): the entry keeps the program alive, so the id is not reused.
_TREES: dict[int, tuple[Program, merkle.MerkleTree]] = {}


def _program_tree(program: Program) -> merkle.MerkleTree:
    hit = _TREES.get(id(program))
    if hit is None or hit[0] is not program:
        if len(_TREES) >= 8:
            _TREES.clear()
        hit = _TREES[id(program)] = (program, program_tree(program))
    return hit[1]


def _slot_opening(tr: Trace, i: int, operand: int, slot: int, rows: Index) -> list[Any]:
    p = tr.program
    proof = merkle.checkpoint_proof(tr.slot_roots[: p.slot_of_step(i)], p.n_slots, slot)
    tensor = merkle.as_rows(tr.slot_tensor(slot))
    tree = merkle.MerkleTree.from_tensor(tensor)
    opened = [[r, merkle.leaf_message(tensor[r]), tree.proof(r)] for r in rows]
    return [operand, tr.slot_roots[slot], proof, opened]


def _lut_row(step: Step, a: int) -> int:
    """Which pair row of the table the element reads (SPEC §5.1: i = t >> 6)."""
    x = int(rescale(np.array([a], dtype=np.int64), in_scales(step)[0], LUT_IN_SCALE)[0])
    lo, hi = step.ip("lo") << LUT_IN_SCALE, step.ip("hi") << LUT_IN_SCALE
    return (min(max(x, lo), hi) - lo) >> LUT_SEG_BITS


def _table(tr: Trace, i: int, element: Index) -> tuple[int, bytes, list[bytes]]:
    step = tr.program.steps[i]
    if step.kind != "lut":
        return EMPTY_ROW
    operand = tr.operands_for(i, element)[0]
    row = _lut_row(step, int(tr.slot_tensor(operand.slot)[operand.elements[0]]))
    pairs = lut_pairs(step.tp("table"))
    return row, merkle.leaf_message(pairs[row]), merkle.MerkleTree.from_tensor(pairs).proof(row)


def one_step_proof(tr: Trace, i: int, element: Index) -> OneStepProof:
    """Everything OneStepVerifier needs to recompute ``element`` of step ``i`` of ``tr``."""
    p = tr.program
    if not 0 <= i < len(p.steps):
        raise TraceError(f"step {i} outside 0..{len(p.steps) - 1}")
    slots = [
        _slot_opening(tr, i, k, op.slot, op.rows)
        for k, op in enumerate(tr.operands_for(i, element))
        if op.elements  # a concat operand that does not hold the element is not opened
    ]
    proof = (
        step_message(p, i),
        _program_tree(p).proof(i + 1),
        list(element),
        slots,
        _table(tr, i, element),
    )
    value = int(np.asarray(tr.tensor(i))[element]) if element else int(tr.tensor(i))
    return OneStepProof((p.program_root, p.n_slots, before(tr, i), i), proof, value)


def start_data(program: Program) -> commit.StartData:
    """The program's registered start data (``C_0`` from the inputs' roots)."""
    return commit.start_data(program.weight_roots, len(program.inputs), program.n_slots)
