"""Quantization rules: how constants and weights become integers (SPEC §2).

Example::

    cfg = QuantConfig()
    q, s = quantize_weight(np.array([0.5, -0.25]), cfg)   # s = 16, q = [32768, -16384] // 2
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import NDArray

from disputes.program.fixedpoint import quantize

I64 = NDArray[np.int64]


@dataclass(frozen=True)
class QuantConfig:
    """Scales (fractional bits) chosen once per program; all are committed in the program root."""

    act: int = 14  # activations
    wbits: int = 16  # weights: per-tensor scale so that max|q| < 2**(wbits-1)
    table_bits: int = 24  # embedding tables: looked up, never multiplied in bulk
    wscale_max: int = 24  # cap on a weight's scale (tiny tensors would otherwise get huge ones)
    lut_out: int = 16  # bounded table functions (erf, tanh, sigmoid)
    exp: int = 16  # exp values inside softmax
    prob: int = 16  # softmax probabilities
    norm: int = 16  # layer-norm internals: centred input and normalized values
    const_clamp_log2: int = 18  # constants are clamped to ±2**18 (masks use -3.4e38)
    # Activation × weight products (``qmatmul``, SPEC §3): weights get one scale per output
    # row with this many bits (0: every product is the exact v1 ``matmul``), activations one
    # scale per row, as wide as keeps every float32 partial sum an exact integer (<= 2**24).
    mm_wbits: int = 8
    mm_exact_log2: int = 24
    mm_min_abits: int = 6  # narrower activations than this: lower the exact ``matmul`` instead

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def is_integer_dtype(a: NDArray[np.generic]) -> bool:
    return bool(np.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_)


def clamp_const(a: NDArray[np.generic], cfg: QuantConfig) -> NDArray[np.float64]:
    lim = float(2**cfg.const_clamp_log2)
    return np.clip(np.nan_to_num(a.astype(np.float64), posinf=lim, neginf=-lim), -lim, lim)


def weight_scale(a: NDArray[np.float64], cfg: QuantConfig) -> int:
    """The largest scale with max|q| <= 2**(wbits-1) - 1, capped at ``wscale_max``."""
    m = float(np.max(np.abs(a))) if a.size else 0.0
    if m == 0.0:
        return cfg.act
    return min(cfg.wscale_max, math.floor(math.log2((2 ** (cfg.wbits - 1) - 1) / m)))


def quantize_weight(
    a: NDArray[np.generic], cfg: QuantConfig, scale: int | None = None
) -> tuple[I64, int]:
    """Integer tensor and its scale; integer/bool constants keep scale 0 unless told."""
    if is_integer_dtype(a) and scale is None:
        return a.astype(np.int64), 0
    f = clamp_const(a, cfg)
    s = weight_scale(f, cfg) if scale is None else scale
    return quantize(f, s), s


def integral(a: NDArray[np.generic]) -> bool:
    """True when every value is an integer (such constants need no fractional bits)."""
    if is_integer_dtype(a):
        return True
    f = a.astype(np.float64)
    return bool(np.all(np.isfinite(f)) and np.all(f == np.round(f)))


def quantize_rows(w: NDArray[np.generic], cfg: QuantConfig) -> tuple[I64, I64]:
    """Per-row weights: ``q[c] = floor(w[c] * 2**t[c] + 1/2)`` with ``|q| < 2**(mm_wbits-1)``.

    Example: ``q, t = quantize_rows(np.array([[0.5, -0.25]]), QuantConfig())`` → t = [7].
    """
    f = clamp_const(w, cfg)
    row_cfg = QuantConfig(**{**cfg.as_dict(), "wbits": cfg.mm_wbits})
    t = np.array([weight_scale(row, row_cfg) if np.any(row) else 0 for row in f], np.int64)
    lim = 2 ** (cfg.mm_wbits - 1) - 1
    q = np.floor(f * np.exp2(t.astype(np.float64))[:, None] + 0.5).astype(np.int64)
    over = np.abs(q).max(axis=1, initial=0) > lim  # guards log2 rounding at exact powers of 2
    while np.any(over):
        t[over] -= 1
        q[over] = np.floor(f[over] * np.exp2(t[over].astype(np.float64))[:, None] + 0.5)
        over = np.abs(q).max(axis=1, initial=0) > lim
    return q, t


def act_magnitude_bits(q: I64, cfg: QuantConfig) -> int:
    """Largest L with 2**L * max_c sum_k |q[c, k]| <= 2**mm_exact_log2 (float32 stays exact)."""
    return exact_width(q, cfg.mm_exact_log2)


def exact_width(q: I64, exact_log2: int) -> int:
    """Largest L with 2**L * max_c sum_k |q[c, k]| <= 2**exact_log2: ``exact_width(q, 24)``."""
    l1 = int(np.abs(q).sum(axis=-1).max(initial=1))
    return exact_log2 - (max(l1, 1) - 1).bit_length()
