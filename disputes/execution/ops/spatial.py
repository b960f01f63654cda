"""Grouped / dilated convolution and pooling over sliding windows (SPEC §3 gconv, §6.2).

``gconv`` is exact integer sums then one rounding shift, like ``conv``; its products run through
``exact_matmul_nt`` (float BLAS only where the proven bound keeps every partial sum an exact
integer, int64 otherwise), so fast and reference modes give the same bits. ``maxpool`` and
``avgpool`` are window maxima / rounded means in int64 (NumPy's window views are already one
pass; there is no slower reference to replace).

Example::

    out = KERNELS["maxpool"](step, [x], Ctx())
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from disputes.errors import BoundsError, DisputeError
from disputes.execution.ops.base import I64, Ctx, in_scales, kernel, rescaled_bound
from disputes.execution.ops.linear import epilogue, exact_matmul_nt
from disputes.program.fixedpoint import (
    INT64_SAFE,
    VALUE_BOUND,
    check_bound,
    max_abs,
    rescale,
    round_div,
)
from disputes.program.fixedpoint import rshift_round as _rshift
from disputes.program.ir import Step
from disputes.program.window import Window

# Padding of a max window: below every value a step can hold (|q| < 2**62), so never the max.
PAD_MIN = -(2**63)


def windows(x: I64, win: Window, fill: int = 0) -> I64:
    """(N, C, OH, OW, kh, kw) view of the windows of x (N, C, H, W) padded with ``fill``."""
    t, left, b, r = win.pads
    xp = np.pad(x, ((0, 0), (0, 0), (t, b), (left, r)), constant_values=fill)
    v = sliding_window_view(xp, (win.extent(0), win.extent(1)), axis=(2, 3))
    (sy, sx), (dh, dw) = win.strides, win.dilations
    return v[:, :, ::sy, ::sx, ::dh, ::dw]


def _geometry(step: Step, x: I64, pool: bool) -> Window:
    win = Window.of(step)
    if not win.valid(x.shape[2], x.shape[3], pool):
        raise DisputeError(f"{step.kind} window {win} does not fit input {list(x.shape)}")
    return win


def group_cols(x: I64, win: Window, groups: int) -> I64:
    """(G, N·OH·OW, C/G·kh·kw) patches: row-major over (c, i, j) inside each group."""
    v = windows(x, win)
    n, c, oh, ow, kh, kw = v.shape
    g = v.reshape(n, groups, c // groups, oh, ow, kh, kw).transpose(1, 0, 3, 4, 2, 5, 6)
    return np.ascontiguousarray(g).reshape(groups, n * oh * ow, (c // groups) * kh * kw)


@kernel("gconv")
def gconv(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    """out[n,o,y,x] = rshift_round(Σ patch of group o·G/O · w[o] + bias[o], shift)."""
    x, w = ops[0], ops[1]
    groups, shift = step.ip("groups"), step.ip("shift")
    o = step.shape[1]
    if groups < 1 or x.shape[1] % groups or o % groups:
        raise DisputeError(f"gconv: {groups} groups for {x.shape[1]} → {o} channels")
    cols = group_cols(x, _geometry(step, x, pool=False), groups)
    w3 = w.reshape(groups, o // groups, w.shape[1])
    bias = ops[2].reshape(groups, 1, o // groups) if len(ops) > 2 else None
    extra = 0 if bias is None else ctx.bound(step.inputs[2], ops[2])
    acc = exact_matmul_nt(cols, w3, ctx, -1, extra, shift, (step.inputs[0], x))
    if isinstance(acc, tuple):
        ctx.proven((acc[1] >> shift) + 1)
        return _ungroup(epilogue(acc[0], bias, shift, acc[1]), step.shape)
    out = _rshift(acc if bias is None else acc + bias, shift)
    return check_bound(_ungroup(out, step.shape), VALUE_BOUND, f"gconv {step.node}")


def _ungroup(y: I64, shape: tuple[int, ...]) -> I64:
    """(G, N·OH·OW, O/G) → (N, O, OH, OW)."""
    n, o, oh, ow = shape
    g = y.shape[0]
    out = y.reshape(g, n, oh, ow, o // g).transpose(1, 0, 4, 2, 3).reshape(n, o, oh, ow)
    return np.ascontiguousarray(out)


@kernel("maxpool")
def maxpool(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    """rescale(max of the window's input elements, s_in, s_out); padding takes no part."""
    x = ops[0]
    m = windows(x, _geometry(step, x, pool=True), PAD_MIN).max(axis=(-2, -1))
    b = ctx.known(step.inputs[0])
    if b is not None:
        ctx.proven(rescaled_bound(b, in_scales(step)[0], step.scale))
    return np.ascontiguousarray(rescale(m, in_scales(step)[0], step.scale))


@kernel("avgpool")
def avgpool(step: Step, ops: list[I64], ctx: Ctx) -> I64:
    """rescale(round_div(Σ window, D), s_in, s_out); D = kh·kw, or the taps inside the input."""
    x = ops[0]
    win = _geometry(step, x, pool=True)
    taps = win.kernel[0] * win.kernel[1]
    view = windows(x, win)
    b = _window_bound(step, x, view, taps, ctx)
    s = view.sum(axis=(-2, -1))
    d = np.full_like(s, taps) if step.ip("count_include_pad") else _inside(win, x, s)
    ctx.proven(rescaled_bound(b + 1, in_scales(step)[0], step.scale))
    return np.ascontiguousarray(rescale(round_div(s, d), in_scales(step)[0], step.scale))


def _inside(win: Window, x: I64, s: I64) -> I64:
    return np.broadcast_to(win.counts(x.shape[2], x.shape[3]), s.shape)


def _window_bound(step: Step, x: I64, view: I64, taps: int, ctx: Ctx) -> int:
    """max|x|, refused from 2**62 // (kh·kw) on (so no window sum leaves int64).

    The refusal looks at window values only, as the one-step twin does: an input a stride
    skips must not stop a run whose every output element has a value."""
    limit = INT64_SAFE // taps
    b = ctx.bound(step.inputs[0], x)
    if b >= limit:
        b = max_abs(view)
        if b >= limit:
            raise BoundsError(f"avgpool {step.node}: |value| {b} >= 2**62 // {taps}")
    return b
