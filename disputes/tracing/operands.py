"""Which operand elements one output element of a step depends on (for one-step proofs).

Example::

    operands_for(program, i, (0, 5))
    # [Operand(slot=3, elements=((0, 0), ..., (0, 63))), Operand(slot=7, elements=((5, 0), ...))]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from disputes.errors import TraceError
from disputes.program.ir import Program, Step
from disputes.program.window import Window

Index = tuple[int, ...]
ValueOf = Callable[[int, Index], int]
ELEMENTWISE = {
    "add",
    "sub",
    "mul",
    "div",
    "relu",
    "neg",
    "abs",
    "max",
    "min",
    "rescale",
    "clip",
    "where",
    "compare",
    "lut",
    "sqrt",
    "expand",
    "copy",
}


@dataclass(frozen=True)
class Operand:
    """Elements of one slot that an output element reads; ``rows`` are their Merkle leaves."""

    slot: int
    shape: tuple[int, ...]
    elements: tuple[Index, ...]

    @property
    def rows(self) -> tuple[int, ...]:
        """Leaf (row) numbers: the element index without its last axis, row-major."""
        if len(self.shape) <= 1:
            return (0,)
        lead = self.shape[:-1]
        return tuple(sorted({int(np.ravel_multi_index(e[:-1], lead)) for e in self.elements}))


def operands_for(
    program: Program, i: int, element: Index, value_of: ValueOf | None = None
) -> list[Operand]:
    """Operands of step i's output ``element``; ``value_of(slot, idx)`` resolves lookups."""
    step = program.steps[i]
    if len(element) != len(step.shape) or any(
        not 0 <= e < n for e, n in zip(element, step.shape, strict=True)
    ):
        raise TraceError(f"element {element} outside step {i}'s shape {step.shape}")
    shapes = [program.slot_shape(s) for s in step.inputs]
    fn = _MAPS.get(step.kind, _broadcast if step.kind in ELEMENTWISE else None)
    if fn is None:
        raise TraceError(f"no operand map for step kind {step.kind!r}")
    groups = fn(step, element, shapes, value_of)
    return [
        Operand(s, shapes[k], tuple(g))
        for k, (s, g) in enumerate(zip(step.inputs, groups, strict=True))
    ]


Mapper = Callable[[Step, Index, list[tuple[int, ...]], ValueOf | None], list[list[Index]]]


def _bcast_index(element: Index, shape: tuple[int, ...]) -> Index:
    off = len(element) - len(shape)
    return tuple(0 if n == 1 else element[off + k] for k, n in enumerate(shape))


def _broadcast(
    step: Step, el: Index, shapes: list[tuple[int, ...]], v: ValueOf | None
) -> list[list[Index]]:
    return [[_bcast_index(el, s)] for s in shapes]


def _row(prefix: Index, n: int) -> list[Index]:
    return [(*prefix, k) for k in range(n)]


def _matmul(
    step: Step, el: Index, shapes: list[tuple[int, ...]], v: ValueOf | None
) -> list[list[Index]]:
    a, bt = shapes[0], shapes[1]
    batch = el[:-2]
    pa = (*_bcast_index(batch, a[:-2]), el[-2]) if len(a) > 2 else (el[-2],)
    pb = (*_bcast_index(batch, bt[:-2]), el[-1]) if len(bt) > 2 else (el[-1],)
    out = [_row(pa, a[-1]), _row(pb, bt[-1])]
    return out + ([[(el[-1],)]] if len(shapes) > 2 else [])


def _qmatmul(
    step: Step, el: Index, shapes: list[tuple[int, ...]], v: ValueOf | None
) -> list[list[Index]]:
    """Row r of a, row c of the weights, the row scale t[c] and bias[c]."""
    a = shapes[0]
    pa = (*el[:-2], el[-2]) if len(a) > 2 else (el[-2],)
    out: list[list[Index]] = [_row(pa, a[-1]), _row((el[-1],), shapes[1][-1]), [(el[-1],)]]
    return out + ([[(el[-1],)]] if len(shapes) > 3 else [])


def _conv(
    step: Step, el: Index, shapes: list[tuple[int, ...]], v: ValueOf | None
) -> list[list[Index]]:
    """conv / gconv: the patch of output channel o's group (SPEC §3), row o, bias[o]."""
    n, o, y, x = el
    xs = shapes[0]
    groups = step.ip("groups") if step.kind == "gconv" else 1
    cg = xs[1] // groups
    first = (o // (step.shape[1] // groups)) * cg
    out: list[list[Index]] = [
        _window(step, (n, y, x), xs, range(first, first + cg)),
        _row((o,), shapes[1][1]),
    ]
    return out + ([[(o,)]] if len(shapes) > 2 else [])


def _window(step: Step, nyx: Index, xs: tuple[int, ...], channels: range) -> list[Index]:
    """The input elements of the window at output (n, ·, y, x) in ``channels``, padding left out."""
    win, (n, y, x) = Window.of(step), nyx
    rows, cols = win.taps(0, y, xs[2]), win.taps(1, x, xs[3])
    return [(n, c, iy, ix) for c in channels for _, iy in rows for _, ix in cols]


def _pool(
    step: Step, el: Index, shapes: list[tuple[int, ...]], v: ValueOf | None
) -> list[list[Index]]:
    n, c, y, x = el
    return [_window(step, (n, y, x), shapes[0], range(c, c + 1))]


def _reduce(
    step: Step, el: Index, shapes: list[tuple[int, ...]], v: ValueOf | None
) -> list[list[Index]]:
    return [_row(el[:-1], shapes[0][-1])]


def _reshape(
    step: Step, el: Index, shapes: list[tuple[int, ...]], v: ValueOf | None
) -> list[list[Index]]:
    flat = int(np.ravel_multi_index(el, step.shape)) if el else 0
    src = shapes[0]
    return [[tuple(int(k) for k in np.unravel_index(flat, src)) if src else ()]]


def _transpose(
    step: Step, el: Index, shapes: list[tuple[int, ...]], v: ValueOf | None
) -> list[list[Index]]:
    perm = step.tp("perm")
    src = [0] * len(perm)
    for k, p in enumerate(perm):
        src[p] = el[k]
    return [[tuple(src)]]


def _slice(
    step: Step, el: Index, shapes: list[tuple[int, ...]], v: ValueOf | None
) -> list[list[Index]]:
    t = step.tp("slices")
    return [[tuple(t[3 * k] + e * t[3 * k + 2] for k, e in enumerate(el))]]


def _gather(
    step: Step, el: Index, shapes: list[tuple[int, ...]], v: ValueOf | None
) -> list[list[Index]]:
    ax, ishape = step.ip("axis"), step.tp("indices_shape")
    idx = np.array(step.tp("indices"), dtype=np.int64).reshape(ishape)
    pos = el[ax : ax + len(ishape)]
    k = int(idx[pos]) if ishape else int(idx)
    return [[(*el[:ax], k, *el[ax + len(ishape) :])]]


def _embed(
    step: Step, el: Index, shapes: list[tuple[int, ...]], v: ValueOf | None
) -> list[list[Index]]:
    ids_el = el[: len(shapes[1])]
    if v is None:
        raise TraceError("an embedding lookup needs the id value: use Trace.operands_for")
    row = v(step.inputs[1], ids_el)
    # out[ids…, rest…] = table[id, rest…]: one element, for a table of any rank.
    return [[(row, *el[len(shapes[1]) :])], [ids_el]]


def _concat(
    step: Step, el: Index, shapes: list[tuple[int, ...]], v: ValueOf | None
) -> list[list[Index]]:
    ax = step.ip("axis")
    out: list[list[Index]] = []
    start = 0
    for s in shapes:
        inside = start <= el[ax] < start + s[ax]
        out.append([(*el[:ax], el[ax] - start, *el[ax + 1 :])] if inside else [])
        start += s[ax]
    return out


_MAPS: dict[str, Mapper] = {
    "matmul": _matmul,
    "qmatmul": _qmatmul,
    "conv": _conv,
    "gconv": _conv,
    "maxpool": _pool,
    "avgpool": _pool,
    "reduce_sum": _reduce,
    "reduce_mean": _reduce,
    "reduce_max": _reduce,
    "reshape": _reshape,
    "transpose": _transpose,
    "slice": _slice,
    "gather": _gather,
    "embed": _embed,
    "concat": _concat,
}
