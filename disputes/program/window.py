"""The sliding-window geometry of conv, gconv, maxpool and avgpool steps (SPEC §3, §6.2).

One home for the window rules the lowering, the kernels, ``operands_for`` and the step leaf
share: kernel taps ``(kh, kw)``, zero padding ``(top, left, bottom, right)``, strides and
dilations. Output row ``y`` reads input rows ``y·sy + i·dh - top`` for ``i < kh`` (those inside
``[0, H)``; the others are padding).

Example::

    win = Window((3, 3), (1, 1, 1, 1), (2, 2), (1, 1))
    win.out_size(8, 8)          # (4, 4)
    win.taps(0, 0, 8)           # [(1, 0), (2, 1)]: (tap i, input row) inside the input
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from disputes.program.ir import Step

Pair = tuple[int, int]


@dataclass(frozen=True)
class Window:
    """Kernel taps, pads (top, left, bottom, right), strides and dilations of a 2-D window."""

    kernel: Pair
    pads: tuple[int, int, int, int]
    strides: Pair
    dilations: Pair = (1, 1)

    @classmethod
    def of(cls, step: Step) -> Window:
        """The window of a conv / gconv / maxpool / avgpool step (``conv``: no dilation)."""
        k, p, s = step.tp("kernel"), step.tp("pads"), step.tp("strides")
        d = step.tp("dilations") if step.kind != "conv" else (1, 1)
        return cls((k[0], k[1]), (p[0], p[1], p[2], p[3]), (s[0], s[1]), (d[0], d[1]))

    def params(self) -> list[int]:
        """SPEC §8's geometry prefix: [kh, kw, top, left, bottom, right, sy, sx, dh, dw]."""
        return [*self.kernel, *self.pads, *self.strides, *self.dilations]

    def extent(self, axis: int) -> int:
        """Input rows (axis 0) or columns (axis 1) one window spans, padding included."""
        return (self.kernel[axis] - 1) * self.dilations[axis] + 1

    def out_size(self, h: int, w: int) -> Pair:
        """(OH, OW) for an (H, W) input: floor((size + pads - extent) / stride) + 1."""
        oh = (h + self.pads[0] + self.pads[2] - self.extent(0)) // self.strides[0] + 1
        ow = (w + self.pads[1] + self.pads[3] - self.extent(1)) // self.strides[1] + 1
        return oh, ow

    def taps(self, axis: int, o: int, size: int) -> list[Pair]:
        """(tap, input position) pairs of output position ``o`` that lie inside ``[0, size)``."""
        start = o * self.strides[axis] - self.pads[axis]
        pos = ((t, start + t * self.dilations[axis]) for t in range(self.kernel[axis]))
        return [(t, p) for t, p in pos if 0 <= p < size]

    def counts(self, h: int, w: int) -> NDArray[np.int64]:
        """(OH, OW): how many taps of each window lie inside the (H, W) input."""
        oh, ow = self.out_size(h, w)
        ys = np.array([len(self.taps(0, y, h)) for y in range(oh)], dtype=np.int64)
        xs = np.array([len(self.taps(1, x, w)) for x in range(ow)], dtype=np.int64)
        return np.outer(ys, xs)

    def valid(self, h: int, w: int, pool: bool) -> bool:
        """Sizes at least 1, pads at least 0, an output of at least one row and column, and
        for a pool (``pool``) no window without an input element (its max would not exist)."""
        numbers = (*self.kernel, *self.strides, *self.dilations)
        if min(numbers) < 1 or min(self.pads) < 0:
            return False
        oh, ow = self.out_size(h, w)
        return oh >= 1 and ow >= 1 and (not pool or bool(self.counts(h, w).min() > 0))
