"""Lowering of convolution, pooling and batch normalization (SPEC §3, §6.2).

What each ONNX op becomes:

- ``Conv`` 2-D with ``group = 1`` and no dilation → ``conv`` (the v3 layout, so committed
  programs keep their roots); grouped, depthwise or dilated → ``gconv``; 1-D → a ``reshape``
  to height 1, the 2-D step, and a ``reshape`` back (the rows, hence the leaves, are the same;
  back-to-back 1-D ops read the 4-D tensor directly).
- ``MaxPool`` / ``AveragePool`` (1-D via the same reshapes) → ``maxpool`` / ``avgpool``;
  ``ceil_mode`` becomes extra end padding (exact: padding takes no part in a max or in an
  average that does not count padding; refused with ``count_include_pad = 1``).
- ``GlobalAveragePool`` / ``GlobalMaxPool`` → ``reshape`` to (N, C, H·W), ``reduce_mean`` /
  ``reduce_max``, ``reshape`` to (N, C, 1, 1): existing kinds, one row per channel.
- ``BatchNormalization`` (inference) → ``mul`` by γ/√(σ²+ε) and ``add`` of β − μ·γ/√(σ²+ε)
  per channel (PyTorch's exporter already folds one that follows a Conv into its weights).
"""

from __future__ import annotations

import numpy as np
import onnx

from disputes.lowering.lower import (
    S_BASE,
    Builder,
    Const,
    Dyn,
    Val,
    as_dyn,
    attr,
    const_of,
    handles,
    iattr,
    unsupported,
)
from disputes.lowering.lower_arith import aligned_op, mul
from disputes.lowering.lower_nn import ints_or, reduce_last
from disputes.lowering.lower_shape import reshape
from disputes.program.ir import Param
from disputes.program.window import Window


def _spatial_attrs(node: onnx.NodeProto, kernel: tuple[int, ...]) -> Window:
    """ONNX pads / strides / dilations for a 1-D or 2-D kernel, as a 2-D window (1-D: H = 1)."""
    r = len(kernel)
    pads = ints_or(node, "pads", [0] * 2 * r)
    strides, dil = ints_or(node, "strides", [1] * r), ints_or(node, "dilations", [1] * r)
    if r == 1:
        return Window((1, kernel[0]), (0, pads[0], 0, pads[1]), (1, strides[0]), (1, dil[0]))
    return Window(
        (kernel[0], kernel[1]),
        (pads[0], pads[1], pads[2], pads[3]),
        (strides[0], strides[1]),
        (dil[0], dil[1]),
    )


def _auto_pad(node: onnx.NodeProto, win: Window, h: int, w: int) -> Window:
    """Explicit pads for ``auto_pad`` SAME_UPPER / SAME_LOWER / VALID (NOTSET: as given)."""
    mode = attr(node, "auto_pad", b"NOTSET")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    if mode == "NOTSET":
        return win
    if mode == "VALID":
        return Window(win.kernel, (0, 0, 0, 0), win.strides, win.dilations)
    if mode not in ("SAME_UPPER", "SAME_LOWER"):
        raise unsupported(node, f"auto_pad {mode}")
    begin, end = [0, 0], [0, 0]
    for a, size in enumerate((h, w)):
        out = -(-size // win.strides[a])
        total = max(0, (out - 1) * win.strides[a] + win.extent(a) - size)
        small, big = total // 2, total - total // 2
        begin[a], end[a] = (small, big) if mode == "SAME_UPPER" else (big, small)
    return Window(win.kernel, (begin[0], begin[1], end[0], end[1]), win.strides, win.dilations)


def _as_2d(node: onnx.NodeProto, b: Builder, x: Dyn, rank: int) -> Dyn:
    """(N, C, L) as (N, C, 1, L) for a 1-D op: the same rows, so the same leaves."""
    if len(x.shape) != rank + 2:
        raise unsupported(node, f"a {rank}-D window on an input of shape {list(x.shape)}")
    if rank == 2:
        return x
    shape = (x.shape[0], x.shape[1], 1, x.shape[2])
    return _reshaped_from(b, x, shape) or reshape(b, x, shape)


def _reshaped_from(b: Builder, x: Dyn, shape: tuple[int, ...]) -> Dyn | None:
    """The step output of ``shape`` that x is a reshape of (one 1-D op's reshape back, read by
    the next 1-D op): the pair cancels, and an unread reshape is dropped with the dead steps."""
    if x.ref < S_BASE or b.steps[x.ref - S_BASE].kind != "reshape":
        return None
    src = b.steps[x.ref - S_BASE].inputs[0]
    if src < S_BASE or b.steps[src - S_BASE].shape != shape:
        return None
    return Dyn(src, shape, x.scale, x.is_int)


def _back(b: Builder, y: Dyn, rank: int) -> Dyn:
    return reshape(b, y, (y.shape[0], y.shape[1], y.shape[3])) if rank == 1 else y


@handles("Conv")
def _conv(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    w = const_of(node, ins[1], "weights")
    rank = w.ndim - 2
    if rank not in (1, 2):
        raise unsupported(node, f"{rank}-D convolution (1-D and 2-D are supported)")
    x = _as_2d(node, b, as_dyn(b, ins[0]), rank)
    w4 = w[:, :, None, :] if rank == 1 else w
    win = _auto_pad(node, _spatial_attrs(node, w.shape[2:]), x.shape[2], x.shape[3])
    groups = iattr(node, "group", 1)
    if groups < 1 or x.shape[1] != w4.shape[1] * groups or w4.shape[0] % groups:
        raise unsupported(node, f"group={groups} with weights {list(w.shape)}")
    if not win.valid(x.shape[2], x.shape[3], pool=False):
        raise unsupported(node, f"window {win} on input {list(x.shape)}")
    bias = const_of(node, ins[2], "bias") if len(ins) > 2 and ins[2] is not None else None
    return [_back(b, conv2d(b, x, w4, bias, win, groups), rank)]


def conv2d(b: Builder, x: Dyn, w: Const, bias: Const | None, win: Window, groups: int) -> Dyn:
    """A ``conv`` step when plain (v3 layout, roots unchanged), else a ``gconv`` step."""
    o = w.shape[0]
    dw = b.weight(np.ascontiguousarray(w.reshape(o, -1)))
    acc = x.scale + dw.scale
    ops = [x, dw] if bias is None else [x, dw, b.weight(bias.reshape(-1), acc)]
    shape = (x.shape[0], o, *win.out_size(x.shape[2], x.shape[3]))
    geo: dict[str, Param] = {"kernel": win.kernel, "pads": win.pads, "strides": win.strides}
    if groups == 1 and win.dilations == (1, 1):
        return b.emit("conv", ops, shape, b.cfg.act, False, shift=acc - b.cfg.act, **geo)
    return b.emit(
        "gconv",
        ops,
        shape,
        b.cfg.act,
        False,
        dilations=win.dilations,
        groups=groups,
        shift=acc - b.cfg.act,
        **geo,
    )


def _ceil_pads(node: onnx.NodeProto, win: Window, h: int, w: int) -> tuple[Window, bool]:
    """``ceil_mode``: end padding that makes the floor formula give the ceil size; and whether
    any was added. Refused when the last window would start past the input and begin padding
    (runtimes disagree about such a window)."""
    if not iattr(node, "ceil_mode", 0):
        return win, False
    extra = [0, 0]
    for a, size in enumerate((h, w)):
        s, span = win.strides[a], size + win.pads[a] + win.pads[a + 2] - win.extent(a)
        out = -(-span // s) + 1
        if (out - 1) * s >= size + win.pads[a]:
            raise unsupported(node, "ceil_mode with a last window that starts in the padding")
        extra[a] = (out - 1) * s - span
    p = win.pads
    pads = (p[0], p[1], p[2] + extra[0], p[3] + extra[1])
    return Window(win.kernel, pads, win.strides, win.dilations), any(extra)


@handles("MaxPool", "AveragePool")
def _pool(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    if len(node.output) > 1 and node.output[1]:
        raise unsupported(node, "the Indices output")
    kernel = tuple(ints_or(node, "kernel_shape", []))
    rank = len(kernel)
    if rank not in (1, 2):
        raise unsupported(node, f"{rank}-D pooling (1-D and 2-D are supported)")
    x = _as_2d(node, b, as_dyn(b, ins[0]), rank)
    win = _auto_pad(node, _spatial_attrs(node, kernel), x.shape[2], x.shape[3])
    win, grown = _ceil_pads(node, win, x.shape[2], x.shape[3])
    if not win.valid(x.shape[2], x.shape[3], pool=True):
        raise unsupported(node, f"window {win} on input {list(x.shape)} (a window with no input)")
    shape = (*x.shape[:2], *win.out_size(x.shape[2], x.shape[3]))
    geo: dict[str, Param] = {"kernel": win.kernel, "pads": win.pads, "strides": win.strides}
    geo["dilations"] = win.dilations
    if node.op_type == "MaxPool":
        return [_back(b, b.emit("maxpool", [x], shape, x.scale, x.is_int, **geo), rank)]
    cip = iattr(node, "count_include_pad", 0)
    if cip and grown:
        raise unsupported(node, "ceil_mode=1 with count_include_pad=1; export with one of them 0")
    y = b.emit("avgpool", [x], shape, x.scale, False, count_include_pad=cip, **geo)
    return [_back(b, y, rank)]


@handles("GlobalAveragePool", "GlobalMaxPool")
def _global_pool(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    x = as_dyn(b, ins[0])
    if len(x.shape) < 3:
        raise unsupported(node, f"input of rank {len(x.shape)} (needs N, C and spatial axes)")
    n, c = x.shape[:2]
    rows = reshape(b, x, (n, c, int(np.prod(x.shape[2:]))))
    kind = "reduce_mean" if node.op_type == "GlobalAveragePool" else "reduce_max"
    return [reshape(b, reduce_last(b, kind, rows), (n, c, *([1] * (len(x.shape) - 2))))]


@handles("BatchNormalization")
def _batchnorm(b: Builder, node: onnx.NodeProto, ins: list[Val | None]) -> list[Val]:
    if iattr(node, "training_mode", 0) or any(o for o in node.output[1:]):
        raise unsupported(node, "training mode (running statistics as outputs)")
    x = as_dyn(b, ins[0])
    gamma, beta, mean, var = (const_of(node, v, "statistics") for v in ins[1:5])
    eps = float(attr(node, "epsilon", 1e-5))  # type: ignore[arg-type]
    a = gamma.astype(np.float64) / np.sqrt(var.astype(np.float64) + eps)
    shift = beta.astype(np.float64) - mean.astype(np.float64) * a
    per_channel = (-1, *([1] * (len(x.shape) - 2)))
    y = mul(b, x, a.reshape(per_channel))
    return [aligned_op(b, "add", [y, shift.reshape(per_channel)])]
