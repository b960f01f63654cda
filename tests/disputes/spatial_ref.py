"""SPEC §3 gconv / §6.2 pools read literally, one output element at a time, in Python ints; and
random window steps for the differential tests (executor kernels and the Solidity twin).

``literal(step, ops, el)`` is the reference both twins are held to: ``(True, value)`` or
``(False, error name)`` with the name the one-step verifier reverts with.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from disputes.program.ir import Param, Step
from disputes.program.window import Window

Outcome = tuple[bool, int | str]
INT64_SAFE = 2**62
VALUE_BOUND = 2**47


class Refused(Exception):
    """The element has no value: the executor raises, the verifier reverts ``name``."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def rshift_round(q: int, k: int) -> int:
    if k == 0:
        return q
    if k < 0:
        if -k > 62 or abs(q) >= INT64_SAFE >> -k:
            raise Refused("ShiftOverflow")
        return q << -k
    if k > 63:
        raise Refused("ShiftOutOfRange")
    return (q + (1 << (k - 1))) >> k


def round_div(n: int, d: int) -> int:
    if d == 0:
        raise Refused("DivisionByZero")
    if abs(n) >= 2**60:
        raise Refused("NumeratorOutOfBounds")
    q = (2 * abs(n) + abs(d)) // (2 * abs(d))
    return -q if (n < 0) != (d < 0) else q


def _taps(win: Window, el: tuple[int, ...], h: int, w: int) -> list[tuple[int, int, int, int]]:
    """(i, j, input row, input column) of the window of output (·, ·, y, x) inside the input."""
    rows, cols = win.taps(0, el[2], h), win.taps(1, el[3], w)
    return [(i, j, iy, ix) for i, iy in rows for j, ix in cols]


def _conv(step: Step, ops: list[np.ndarray], el: tuple[int, ...]) -> int:
    x, w = ops[0], ops[1]
    win = Window.of(step)
    groups = step.ip("groups") if step.kind == "gconv" else 1
    n, o = el[0], el[1]
    cg = x.shape[1] // groups
    first = o // (step.shape[1] // groups) * cg
    kh, kw = win.kernel
    acc = 0
    for c in range(cg):
        for i, j, iy, ix in _taps(win, el, x.shape[2], x.shape[3]):
            acc += int(x[n, first + c, iy, ix]) * int(w[o, (c * kh + i) * kw + j])
    if len(ops) > 2:
        acc += int(ops[2][o])
    v = rshift_round(acc, step.ip("shift"))
    if abs(v) >= VALUE_BOUND:
        raise Refused("OutOfBounds")
    return v


def _pool(step: Step, ops: list[np.ndarray], el: tuple[int, ...]) -> int:
    x, win = ops[0], Window.of(step)
    vals = [int(x[el[0], el[1], iy, ix]) for _, _, iy, ix in _taps(win, el, *x.shape[2:])]
    if not vals:
        raise Refused("EmptyWindow")
    s_in, s_out = step.tp("in_scales")[0], step.scale
    if step.kind == "maxpool":
        return rshift_round(max(vals), s_in - s_out)
    taps = win.kernel[0] * win.kernel[1]
    if any(abs(v) >= INT64_SAFE // taps for v in vals):
        raise Refused("WindowValueOutOfRange")
    d = taps if step.ip("count_include_pad") else len(vals)
    return rshift_round(round_div(sum(vals), d), s_in - s_out)


def literal(step: Step, ops: list[np.ndarray], el: tuple[int, ...]) -> Outcome:
    """SPEC's value of output element ``el`` of a conv / gconv / maxpool / avgpool step."""
    try:
        fn = _conv if step.kind in ("conv", "gconv") else _pool
        return True, fn(step, ops, el)
    except Refused as r:
        return False, r.name


@dataclass(frozen=True)
class Case:
    """A random window step with its operand tensors (x; w and bias for a conv)."""

    step: Step
    ops: list[np.ndarray]


PROFILES = ("narrow", "wide", "extreme")


def random_window(rng: random.Random, h: int, w: int, pool: bool) -> Window | None:
    kernel = (rng.randint(1, 3), rng.randint(1, 3))
    dil = (rng.choice((1, 1, 2, 3)), rng.choice((1, 1, 2)))
    strides = (rng.randint(1, 3), rng.randint(1, 2))
    ext = [(k - 1) * d + 1 for k, d in zip(kernel, dil, strict=True)]
    pads = tuple(rng.randint(0, max(0, e - 1) if pool else e) for e in (*ext, *ext))
    win = Window(kernel, (pads[0], pads[1], pads[2], pads[3]), strides, dil)
    return win if win.valid(h, w, pool) else None


def _values(rng: np.random.Generator, shape: tuple[int, ...], top: int) -> np.ndarray:
    return rng.integers(-top, top + 1, size=shape, dtype=np.int64)


def random_case(seed: int, kind: str, profile: str) -> Case:
    """A valid random step of ``kind`` (conv, gconv, maxpool, avgpool) and its operands."""
    r, g = random.Random(seed), np.random.default_rng(seed)
    while True:
        n, h, w = r.randint(1, 2), r.randint(1, 7), r.randint(1, 7)
        win = random_window(r, h, w, kind != "gconv")
        if win is not None:
            break
    if kind in ("conv", "gconv"):
        if kind == "conv":
            win = Window(win.kernel, win.pads, win.strides)
            h, w = max(h, win.extent(0)), max(w, win.extent(1))
        return _conv_case(r, g, (n, h, w), win, profile, kind)
    c = r.randint(1, 3)
    # extreme: near the window-sum and shift limits (2**62 // taps, 2**62 >> k), so some
    # elements of a case have a value and others do not
    top = {"narrow": 2**10, "wide": 2**40, "extreme": 2**61 >> r.randint(0, 4)}[profile]
    x = _values(g, (n, c, h, w), top)
    s_in = r.randint(0, 20)
    s_out = s_in + r.choice((0, 0, -1, -3, 2, 5) if profile != "extreme" else (0, -2, 1, 2))
    params: dict[str, Param] = {"kernel": win.kernel, "pads": win.pads, "strides": win.strides}
    params["dilations"] = win.dilations
    if kind == "avgpool":
        params["count_include_pad"] = r.randint(0, 1)
    shape = (n, c, *win.out_size(h, w))
    return Case(_step(kind, 1, shape, s_out, (s_in,), params), [x])


def _conv_case(
    r: random.Random,
    g: np.random.Generator,
    nhw: tuple[int, int, int],
    win: Window,
    profile: str,
    kind: str,
) -> Case:
    n, h, w = nhw
    groups = r.choice((1, 2, 3)) if kind == "gconv" else 1
    cg, og = r.randint(1, 2), r.randint(1, 2)
    k = cg * win.kernel[0] * win.kernel[1]
    xb, wb = {"narrow": (2**12, 2**8), "wide": (2**36, 2**6), "extreme": (2**46, 2**12)}[profile]
    x = _values(g, (n, groups * cg, h, w), xb)
    wt = _values(g, (groups * og, k), wb)
    shift = r.randint(-2, 30) if profile != "extreme" else r.randint(0, 24)
    ops = [x, wt]
    if r.random() < 0.6:
        ops.append(_values(g, (groups * og,), xb * wb))
    params: dict[str, Param] = {"kernel": win.kernel, "pads": win.pads, "strides": win.strides}
    params["shift"] = shift
    if kind == "gconv":
        params.update(dilations=win.dilations, groups=groups)
    shape = (n, groups * og, *win.out_size(h, w))
    return Case(_step(kind, len(ops), shape, 14, (14, 0, 14)[: len(ops)], params), ops)


def _step(
    kind: str,
    n_in: int,
    shape: tuple[int, ...],
    scale: int,
    scales: tuple[int, ...],
    p: dict[str, Param],
) -> Step:
    params = (("in_scales", scales), *sorted(p.items()))
    return Step(kind, tuple(range(n_in)), shape, scale, params)
