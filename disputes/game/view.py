"""What a party answers from in a game: the points, slot proofs, tree nodes and rows it claims.

``TraceView`` is the honest one, over an executor ``Trace``. The others are what a dishonest
provider could play, each consistently (every answer comes from the same forged run), so a
test shows the game catches that strategy and not merely an inconsistent answer:

- ``CorruptStep(trace, step, row, col, delta)``: one element of one step's output is off by
  ``delta``. The forged run keeps every later step's honest tensor, but every later checkpoint
  is recomputed from the forged slot roots (the first wrong point is ``P_{step+1}`` either way,
  which is all an honest challenger acts on).
- ``CorruptOutput(trace)``: the same, for the output step only.
- ``WideLeaf(trace, step, row)``: correct values, but one row committed as a non-canonical
  ``0x00`` leaf.
- ``TouchesEarlierSlot(trace, step)``: from ``P_{step+1}`` on, an earlier slot is changed too.
- ``PaddingRow(trace, step)``: a non-zero leaf in the first padding position of a step whose
  row count is not a power of two.
- ``WrongStepCount(trace)``: claims ``P_{n-1}`` (a checkpoint of n-1 steps) as ``P_n``.

Usage::

    view = TraceView(tr)
    view.point(0) == osp.before(tr, 0)
    msg, proof, root, siblings = view.slot_proof(3)
    view.nodes(3, index=0, left=view.depth(3), b=2)   # the 4 nodes two levels below the root
    CorruptStep(tr, 2, row=0, col=1, delta=5).point(tr.n_steps)  # a wrong P_n
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from eth_hash.auto import keccak
from numpy.typing import NDArray

from disputes.commitments import merkle
from disputes.commitments.commit import checkpoint_series
from disputes.commitments.descriptor import program_tree, step_message
from disputes.osp.osp import before
from disputes.program.ir import Program
from disputes.tracing.trace import Trace

SlotProof = tuple[bytes, list[bytes], bytes, list[bytes]]
Rows = NDArray[np.int64]


class View(Protocol):
    """What a party answers from (P_j for j = 0..n, and step s's tensor tree)."""

    program: Program

    def point(self, j: int) -> bytes:
        """P_j: the checkpoint after steps 0..j-1 (P_0 the start checkpoint)."""
        ...

    def slot_proof(self, s: int) -> SlotProof:
        """(step message, its proof at leaf s + 1, step s's tensor root, slot siblings)."""
        ...

    def nodes(self, s: int, index: int, left: int, b: int) -> list[bytes]:
        """The 2^b nodes b levels below node ``index`` at height ``left`` of step s's tree."""
        ...

    def leaf(self, s: int, row: int) -> bytes:
        """The leaf message of row ``row`` of step s's output."""
        ...

    def rows(self, s: int) -> Rows:
        """Step s's output as the party claims it, as 2-d rows."""
        ...


class TraceView:
    """The honest party: every answer from the trace."""

    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self.program = trace.program
        self._trees: dict[int, merkle.MerkleTree] = {}
        self._points: list[bytes] | None = None
        self._program_tree: merkle.MerkleTree | None = None

    # ---- the run this view claims (cheaters override these) ----

    def forged(self) -> set[int]:
        """Steps whose tensor trees this view changes (their slot roots are recomputed)."""
        return set()

    def rows(self, s: int) -> Rows:
        return merkle.as_rows(self.trace.tensor(s))

    def leaf(self, s: int, row: int) -> bytes:
        return merkle.leaf_message(self.rows(s)[row])

    def build_tree(self, s: int) -> merkle.MerkleTree:
        return merkle.MerkleTree.from_tensor(self.rows(s))

    def slot_roots(self) -> list[bytes]:
        """Every slot's root in this run (inputs and weights are never forged)."""
        roots = list(self.trace.slot_roots)
        for s in self.forged():
            roots[self.program.slot_of_step(s)] = self.tree(s).root
        return roots

    def all_points(self) -> list[bytes]:
        """P_0 .. P_n, computed once."""
        if self._points is None:
            self._points = self.compute_points()
        return self._points

    def compute_points(self) -> list[bytes]:
        if not self.forged():
            return [before(self.trace, 0), *self.trace.checkpoints]
        return points_of(self.program, self.slot_roots())

    # ---- the View protocol ----

    def point(self, j: int) -> bytes:
        return self.all_points()[j]

    def tree(self, s: int) -> merkle.MerkleTree:
        if s not in self._trees:
            self._trees[s] = self.build_tree(s)
        return self._trees[s]

    def depth(self, s: int) -> int:
        """Height of step s's tensor tree (the game's ``left`` after ``proveSlot``)."""
        return self.tree(s).depth

    def slot_proof(self, s: int) -> SlotProof:
        p = self.program
        slot = p.slot_of_step(s)
        roots = self.slot_roots()
        siblings = merkle.checkpoint_proof(roots[:slot], p.n_slots, slot)
        return step_message(p, s), self.step_proof(s), roots[slot], siblings

    def step_proof(self, s: int) -> list[bytes]:
        if self._program_tree is None:
            self._program_tree = program_tree(self.program)
        return self._program_tree.proof(s + 1)

    def nodes(self, s: int, index: int, left: int, b: int) -> list[bytes]:
        tree, height = self.tree(s), left - b
        return [tree.node(height, (index << b) + t) for t in range(1 << b)]


def points_of(program: Program, roots: list[bytes]) -> list[bytes]:
    """P_0 .. P_n of a run with these slot roots."""
    first, n_slots = program.first_step_slot, program.n_slots
    return [
        merkle.checkpoint_root(roots[:first], n_slots),
        *checkpoint_series(roots, first, n_slots),
    ]


class CorruptStep(TraceView):
    """One element of step ``step``'s output is off by ``delta``; later points follow."""

    def __init__(self, trace: Trace, step: int, row: int = 0, col: int = 0, delta: int = 1) -> None:
        super().__init__(trace)
        self.step, self.row, self.col, self.delta = step, row, col, delta

    def forged(self) -> set[int]:
        return {self.step}

    def rows(self, s: int) -> Rows:
        rows = super().rows(s)
        if s != self.step:
            return rows
        bad = rows.copy()
        bad[self.row, self.col] += self.delta
        return bad


class CorruptOutput(CorruptStep):
    """Only the final output tensor is wrong (one element, by ``delta``)."""

    def __init__(self, trace: Trace, row: int = 0, col: int = 0, delta: int = 1) -> None:
        p = trace.program
        super().__init__(trace, p.output_slot - p.first_step_slot, row, col, delta)


class _LeafForgery(TraceView):
    """A view whose step ``step`` tree is built from leaf hashes it may change."""

    def __init__(self, trace: Trace, step: int) -> None:
        super().__init__(trace)
        self.step = step

    def forged(self) -> set[int]:
        return {self.step}

    def leaf_hashes(self, s: int) -> list[bytes]:
        return [bytes(h.tobytes()) for h in merkle.leaf_hashes(self.rows(s))]

    def build_tree(self, s: int) -> merkle.MerkleTree:
        if s != self.step:
            return super().build_tree(s)
        n = len(self.rows(s))
        return merkle.MerkleTree.from_leaves(self.leaf_hashes(s), n_slots=max(n, 1))


class WideLeaf(_LeafForgery):
    """Row ``row`` of step ``step`` committed as a 0x00 (int64) leaf although its values fit."""

    def __init__(self, trace: Trace, step: int, row: int = 0) -> None:
        super().__init__(trace, step)
        self.row = row

    def leaf(self, s: int, row: int) -> bytes:
        if (s, row) != (self.step, self.row):
            return super().leaf(s, row)
        return merkle.LEAF_PREFIX + bytes(self.rows(s)[row].astype(">i8").tobytes())

    def leaf_hashes(self, s: int) -> list[bytes]:
        hashes = super().leaf_hashes(s)
        hashes[self.row] = bytes(keccak(self.leaf(s, self.row)))
        return hashes


class PaddingRow(_LeafForgery):
    """A non-zero leaf (a zero row's hash) in the first padding slot of step ``step``'s tree."""

    def __init__(self, trace: Trace, step: int) -> None:
        super().__init__(trace, step)
        n = len(self.rows(step))
        if n & (n - 1) == 0:
            raise ValueError(f"step {step} has {n} rows, a power of two: it has no padding")

    def leaf_hashes(self, s: int) -> list[bytes]:
        rows = self.rows(s)
        extra = merkle.leaf_hash(np.zeros(rows.shape[1], dtype=np.int64))
        return [*super().leaf_hashes(s), extra]

    def build_tree(self, s: int) -> merkle.MerkleTree:
        if s != self.step:
            return super().build_tree(s)
        n = len(self.rows(s))
        return merkle.MerkleTree.from_leaves(self.leaf_hashes(s), n_slots=1 << merkle.depth_for(n))


class TouchesEarlierSlot(TraceView):
    """From P_{step+1} on, an earlier slot (the previous step's, or input 0) is changed too."""

    def __init__(self, trace: Trace, step: int) -> None:
        super().__init__(trace)
        self.step = step
        p = trace.program
        self.earlier = p.slot_of_step(step - 1) if step > 0 else 0

    def compute_points(self) -> list[bytes]:
        honest = super().compute_points()
        roots = list(self.trace.slot_roots)
        roots[self.earlier] = bytes(keccak(b"touched" + roots[self.earlier]))
        forged = points_of(self.program, roots)
        return [*honest[: self.step + 1], *forged[self.step + 1 :]]


class WrongStepCount(TraceView):
    """Claims P_{n-1} as P_n, and proves the last step's slot as still empty."""

    def compute_points(self) -> list[bytes]:
        honest = super().compute_points()
        return [*honest[:-1], honest[-2]]

    def slot_proof(self, s: int) -> SlotProof:
        msg, proof, root, siblings = super().slot_proof(s)
        last = s == len(self.program.steps) - 1
        return msg, proof, (merkle.ZERO if last else root), siblings
