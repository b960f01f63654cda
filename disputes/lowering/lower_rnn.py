"""Lowering of ONNX LSTM and GRU, unrolled into one cell of existing kinds per time step.

The input projection of every time step is one product over ``X (T, B, I)``; each step then
slices its row, adds the recurrent product ``h @ R^T``, applies the gate tables (``lut sigmoid``,
``lut tanh``) and the elementwise updates (``mul``, ``add``, ``sub``). A zero initial state
(what PyTorch exports) skips the first recurrent product. Only the default activations, no cell
clipping, no peepholes and full-length sequences are accepted; anything else is refused naming
the attribute (SPEC §6 "ONNX activations and recurrent cells").

Example::

    program = lower_model(onnx.load("lstm.onnx"))   # T time steps of ~14 steps each
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx
from numpy.typing import NDArray

from disputes.lowering.lower import (
    Builder,
    Dyn,
    Val,
    as_dyn,
    attr,
    const_of,
    handles,
    iattr,
    unsupported,
)
from disputes.lowering.lower_arith import aligned_op, mul, table
from disputes.lowering.lower_nn import matmul
from disputes.lowering.lower_shape import reshape, slice_axis

F64 = NDArray[np.float64]
LSTM_ACTS = ("sigmoid", "tanh", "tanh")
GRU_ACTS = ("sigmoid", "tanh")


@dataclass(frozen=True)
class Cell:
    """One direction's weights: W (G·H, I), R (G·H, H), biases Wb, Rb (G·H,)."""

    w: F64
    r: F64
    wb: F64
    rb: F64
    hidden: int
    reverse: bool


def _refuse_attributes(node: onnx.NodeProto, acts: tuple[str, ...], n_dirs: int) -> None:
    """Every attribute the unrolled cell does not implement is refused by name."""
    for name in ("clip", "activation_alpha", "activation_beta"):
        if attr(node, name) is not None:
            raise unsupported(node, f"attribute {name!r} is not supported")
    given = attr(node, "activations")
    if given is not None:
        assert isinstance(given, list | tuple)
        names = tuple((a.decode() if isinstance(a, bytes) else str(a)).lower() for a in given)
        if names != acts * n_dirs:
            raise unsupported(node, f"attribute 'activations'={list(names)}: only {list(acts)}")
    if iattr(node, "layout", 0) != 0:
        raise unsupported(node, "attribute 'layout'=1 (batch-major); export with layout 0")
    if iattr(node, "input_forget", 0) != 0:
        raise unsupported(node, "attribute 'input_forget'=1")


def _directions(node: onnx.NodeProto) -> tuple[bool, ...]:
    """Per direction: is it the reverse pass?"""
    d = attr(node, "direction", b"forward")
    d = d.decode() if isinstance(d, bytes) else str(d)
    if d not in ("forward", "reverse", "bidirectional"):
        raise unsupported(node, f"attribute 'direction'={d!r}")
    return {"forward": (False,), "reverse": (True,), "bidirectional": (False, True)}[d]


def _cells(node: onnx.NodeProto, ins: list[Val | None], gates: int) -> list[Cell]:
    reverse = _directions(node)
    _refuse_attributes(node, LSTM_ACTS if gates == 4 else GRU_ACTS, len(reverse))
    w = np.asarray(const_of(node, ins[1], "W"), np.float64)
    r = np.asarray(const_of(node, ins[2], "R"), np.float64)
    hidden = r.shape[-1]
    b_in = ins[3] if len(ins) > 3 else None
    zero = np.zeros((len(reverse), 2 * gates * hidden))
    bias = zero if b_in is None else np.asarray(const_of(node, b_in, "B"), np.float64)
    split = gates * hidden
    return [
        Cell(w[d], r[d], bias[d, :split], bias[d, split:], hidden, rev)
        for d, rev in enumerate(reverse)
    ]


def _check_lengths(node: onnx.NodeProto, ins: list[Val | None], steps: int) -> None:
    lens = ins[4] if len(ins) > 4 else None
    if lens is None:
        return
    if isinstance(lens, Dyn) or np.any(np.asarray(lens) != steps):
        raise unsupported(node, "input 'sequence_lens' other than the full length")


def _initial(b: Builder, v: Val | None, d: int, n_dirs: int) -> Dyn | None:
    """Direction ``d``'s initial state (1, B, H); None when it is absent or all zero."""
    if v is None:
        return None
    if isinstance(v, Dyn):
        return v if n_dirs == 1 else slice_axis(b, v, 0, d, d + 1)
    c = np.asarray(v)[d : d + 1]
    return None if not np.any(c) else b.weight(np.ascontiguousarray(c))


def _gate_tables(b: Builder, g: Dyn, n_sigmoid: int, hidden: int) -> tuple[list[Dyn], Dyn]:
    """The first ``n_sigmoid`` gates through one sigmoid table, the last through tanh."""
    width = n_sigmoid * hidden
    s = table(b, "sigmoid", slice_axis(b, g, -1, 0, width), b.cfg.lut_out)
    u = table(b, "tanh", slice_axis(b, g, -1, width, width + hidden), b.cfg.lut_out)
    return [slice_axis(b, s, -1, k * hidden, (k + 1) * hidden) for k in range(n_sigmoid)], u


def _lstm_step(b: Builder, g: Dyn, c: Dyn | None, hidden: int) -> tuple[Dyn, Dyn]:
    """ONNX gate order i, o, f, c: c' = f⊙c + i⊙tanh(g_c), h' = o⊙tanh(c')."""
    (i, o, f), u = _gate_tables(b, g, 3, hidden)
    c_new = mul(b, i, u)
    if c is not None:
        c_new = aligned_op(b, "add", [mul(b, f, c), c_new])
    return mul(b, o, table(b, "tanh", c_new, b.cfg.lut_out)), c_new


def _time_order(cell: Cell, steps: int) -> range:
    return range(steps - 1, -1, -1) if cell.reverse else range(steps)


def _lstm_pass(
    b: Builder, x: Dyn, cell: Cell, h: Dyn | None, c: Dyn | None
) -> tuple[list[Dyn], Dyn]:
    """Every time step of one direction: the h of each (in time order) and the last c."""
    xp = matmul(b, x, cell.w.T, cell.wb + cell.rb)
    hs: dict[int, Dyn] = {}
    for t in _time_order(cell, x.shape[0]):
        g = slice_axis(b, xp, 0, t, t + 1)
        if h is not None:
            g = aligned_op(b, "add", [g, matmul(b, h, cell.r.T)])
        h, c = _lstm_step(b, g, c, cell.hidden)
        hs[t] = h
    assert c is not None
    return [hs[t] for t in range(x.shape[0])], c


def _gru_step(b: Builder, g: Dyn, h: Dyn | None, cell: Cell, lbr: bool) -> Dyn:
    """ONNX gate order z, r, h: n = tanh(g_n + r⊙(…)), h' = n + z⊙(h - n) (= n - z⊙n at h = 0)."""
    hid = cell.hidden
    zr_pre, n_pre = slice_axis(b, g, -1, 0, 2 * hid), slice_axis(b, g, -1, 2 * hid, 3 * hid)
    rbh = cell.rb[2 * hid :]
    if h is not None and lbr:  # r ⊙ (h·Rh^T + Rbh)
        bias = np.concatenate([np.zeros(2 * hid), rbh]) if np.any(rbh) else None
        hr = matmul(b, h, cell.r.T, bias)
        zr_pre = aligned_op(b, "add", [zr_pre, slice_axis(b, hr, -1, 0, 2 * hid)])
        rec: Val | None = slice_axis(b, hr, -1, 2 * hid, 3 * hid)
    elif h is not None:  # (r ⊙ h)·Rh^T
        zr_pre = aligned_op(b, "add", [zr_pre, matmul(b, h, cell.r[: 2 * hid].T)])
        rec = None
    else:  # h = 0: only the reset bias is left (linear_before_reset) or nothing
        rec = rbh if lbr and np.any(rbh) else None
    zr = table(b, "sigmoid", zr_pre, b.cfg.lut_out)
    z, r = (slice_axis(b, zr, -1, k * hid, (k + 1) * hid) for k in range(2))
    if rec is not None:
        n_pre = aligned_op(b, "add", [n_pre, mul(b, r, rec)])
    elif h is not None and not lbr:
        n_pre = aligned_op(b, "add", [n_pre, matmul(b, mul(b, r, h), cell.r[2 * hid :].T)])
    n = table(b, "tanh", n_pre, b.cfg.lut_out)
    if h is None:
        return aligned_op(b, "sub", [n, mul(b, z, n)])
    return aligned_op(b, "add", [n, mul(b, z, aligned_op(b, "sub", [h, n]))])


def _gru_pass(b: Builder, x: Dyn, cell: Cell, h: Dyn | None, lbr: bool) -> list[Dyn]:
    hid = cell.hidden
    rb = cell.rb.copy()
    if lbr:  # Rbh is inside r ⊙ (…) and cannot move into the input projection
        rb[2 * hid :] = 0.0
    xp = matmul(b, x, cell.w.T, cell.wb + rb)
    hs: dict[int, Dyn] = {}
    for t in _time_order(cell, x.shape[0]):
        h = _gru_step(b, slice_axis(b, xp, 0, t, t + 1), h, cell, lbr)
        hs[t] = h
    return [hs[t] for t in range(x.shape[0])]


def _concat(b: Builder, parts: list[Dyn], axis: int) -> Dyn:
    """One concat step (operands brought to one scale); a single part is itself."""
    if len(parts) == 1:
        return parts[0]
    s = max(p.scale for p in parts)
    parts = [b.to_scale(p, s) for p in parts]
    shape = list(parts[0].shape)
    shape[axis] = sum(p.shape[axis] for p in parts)
    return b.emit("concat", parts, tuple(shape), s, axis=axis)


def _outputs(b: Builder, per_dir: list[list[Dyn]], finals: list[list[Dyn]]) -> list[Val]:
    """Y (T, D, B, H) and the final states (D, B, H); unused ones are dropped as dead steps."""
    ys = []
    for hs in per_dir:
        y = _concat(b, hs, 0)
        ys.append(reshape(b, y, (y.shape[0], 1, *y.shape[1:])))
    return [_concat(b, ys, 1), *(_concat(b, f, 0) for f in finals)]


def _sequence(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> Dyn:
    x = as_dyn(b, ins[0])
    if len(x.shape) != 3:
        raise unsupported(node, f"input X of rank {len(x.shape)} (needs (seq, batch, input))")
    _check_lengths(node, ins, x.shape[0])
    return x


@handles("LSTM")
def _lstm(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    x = _sequence(b, node, ins)
    if len(ins) > 7 and ins[7] is not None:
        raise unsupported(node, "input 'P' (peepholes)")
    cells = _cells(node, ins, 4)
    per_dir, hs_last, cs_last = [], [], []
    for d, cell in enumerate(cells):
        h0 = _initial(b, ins[5] if len(ins) > 5 else None, d, len(cells))
        c0 = _initial(b, ins[6] if len(ins) > 6 else None, d, len(cells))
        hs, c = _lstm_pass(b, x, cell, h0, c0)
        per_dir.append(hs)
        hs_last.append(hs[0] if cell.reverse else hs[-1])
        cs_last.append(c)
    return _outputs(b, per_dir, [hs_last, cs_last])


@handles("GRU")
def _gru(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    x = _sequence(b, node, ins)
    cells = _cells(node, ins, 3)
    lbr = iattr(node, "linear_before_reset", 0) != 0
    per_dir, hs_last = [], []
    for d, cell in enumerate(cells):
        h0 = _initial(b, ins[5] if len(ins) > 5 else None, d, len(cells))
        hs = _gru_pass(b, x, cell, h0, lbr)
        per_dir.append(hs)
        hs_last.append(hs[0] if cell.reverse else hs[-1])
    return _outputs(b, per_dir, [hs_last])
