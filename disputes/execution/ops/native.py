"""C versions (execution/kernels.c) of the hot elementwise, table and row kernels, same bits.

The NumPy kernels in this package are the reference; these run the same integer formulas in one
pass each when ``ctx.fast`` is on and the operands have a layout the C code reads (contiguous
int64, the second operand the same shape, one value per row, one row, or one value). Each call
returns ``(out, max|out|)`` or None ("not handled here: run the NumPy code"). Bounds the NumPy
code checks raise the same BoundsError. ``$VERINFER_NATIVE_KERNELS=0`` switches them off (read
by :func:`enabled`, the one switch); without a C compiler they stay off, with a warning.

Example::

    from disputes.execution.ops import native
    if native.enabled():
        out, top = native.mul(a, b, native.layout(a.shape, a, b), k=14)  # (out, max|out|)
"""

from __future__ import annotations

import ctypes
import math
import os
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from disputes import clib
from disputes.errors import BoundsError, DisputeError

I64 = NDArray[np.int64]
Result = tuple[I64, int]  # the output and max|output|
Layout = tuple[int, int, int]  # (how b is read, rows, cols)

ENV = "VERINFER_NATIVE_KERNELS"
SOURCE = Path(__file__).resolve().parents[1] / "kernels.c"
# -fwrapv: int64 arithmetic wraps like NumPy's; no -ffast-math: the division's rounding argument
# needs IEEE doubles, and -ffp-contract=off keeps every product rounded where the proof says.
CFLAGS = [
    *("-O3", "-fPIC", "-shared", "-std=c11"),
    *("-fwrapv", "-fno-math-errno", "-ffp-contract=off"),
]
SAME, ROW, COL, SCALAR = 0, 1, 2, 3  # kernels.c VI_SAME ...
SUM, MEAN, MAX = 0, 1, 2  # kernels.c VI_SUM ...
IMPLS = {"auto": 0, "portable": 1, "avx2": 2}
_FALLBACK = 5
_ERRORS = {
    1: "a left shift leaves 2**62",
    2: "division by zero in an integer step",
    3: "division numerator: |value| >= bound 2**60",
    4: "sqrt operand: |value| >= bound 2**62",
}
_I64 = np.dtype(np.int64)
_P, _Q, _INT = ctypes.c_void_p, ctypes.c_int64, ctypes.c_int
_OUT = ctypes.POINTER(ctypes.c_uint64)
MIN_SHIFT, MAX_SHIFT = -60, 62  # the shifts kernels.c's rescaler takes
TRANSPOSE_MIN = 1 << 14  # elements per transposed matrix below which NumPy is as fast
# Elements below which a NumPy kernel's fewer Python steps beat a ctypes call (add, mul, rows).
MIN_ELEMENTS = 1 << 12


def build_library(force: bool = False) -> Path:
    """Compile kernels.c if needed and return the .so path: ``build_library()``."""
    return clib.build(
        SOURCE,
        "libvikernels",
        CFLAGS,
        purpose="the fast executor kernels need it",
        error=DisputeError,
        force=force,
    )


def load() -> ctypes.CDLL:
    """The library, built on first use; raises DisputeError when it cannot be built."""
    signatures: dict[str, list[type]] = {
        "vi_addsub": [_P, _P, _P, _Q, _Q, _INT, _INT, _INT, _INT, _INT, _INT, _OUT],
        "vi_mul": [_P, _P, _P, _Q, _Q, _INT, _INT, _INT, _OUT],
        "vi_div": [_P, _P, _P, _Q, _Q, _INT, _INT, _OUT],
        "vi_lut": [_P, _P, _Q, _INT, _Q, _Q, _INT, _P, _INT, _Q, _INT, _OUT],
        "vi_reduce": [_P, _P, _Q, _Q, _INT, _INT, _OUT],
        "vi_sqrt": [_P, _P, _Q, _INT, _OUT],
        "vi_transpose": [_P, _P, _Q, _Q, _Q, _Q],
        "vi_qrows": [_P, _P, _P, _Q, _Q, _INT],
        "vi_qepi": [_P, _P, _P, _Q, _Q, ctypes.c_double],
        "vi_select": [_INT],
    }
    return clib.load(build_library(), signatures)


@lru_cache(maxsize=1)
def _lib() -> ctypes.CDLL | None:
    try:
        return load()
    except (DisputeError, OSError) as e:
        warnings.warn(f"native kernels off, using NumPy: {e}", RuntimeWarning, stacklevel=2)
        return None


def enabled() -> bool:
    """Whether the C kernels run: on unless ``$VERINFER_NATIVE_KERNELS`` is 0 (or no compiler)."""
    return os.environ.get(ENV, "1") != "0" and _lib() is not None


def select(impl: str) -> str:
    """Force a code path ("auto", "portable", "avx2") for tests; returns the one now taken."""
    lib = _lib()
    code = -1 if lib is None else int(lib.vi_select(IMPLS[impl]))
    if code < 0:
        raise DisputeError(f"the {impl} kernel path is not available here")
    return next(name for name, c in IMPLS.items() if c == code)


def _plain(x: I64) -> bool:
    # NumPy hands back scalars, not 0-d arrays, from some operations on 0-d arrays.
    return isinstance(x, np.ndarray) and x.dtype == _I64 and x.flags.c_contiguous and x.size > 0


def layout(shape: tuple[int, ...], a: I64, b: I64) -> Layout | None:
    """How ``b`` broadcasts against ``a`` when ``a`` has the output's shape, or None."""
    if a.shape != shape or not _plain(a) or not _plain(b):
        return None
    n, cols = a.size, shape[-1] if shape else 1
    if b.shape == shape:
        return SAME, 1, n
    if b.size == 1:
        return SCALAR, 1, n
    if b.ndim > len(shape):
        return None
    padded = (1,) * (len(shape) - b.ndim) + b.shape
    if padded[-1] == 1 and padded[:-1] == shape[:-1]:
        return ROW, n // cols, cols
    if b.size == cols and padded[-1] == cols:
        return COL, n // cols, cols
    return None


def _shift_ok(k: int) -> bool:
    return MIN_SHIFT <= k <= MAX_SHIFT


def _ptr(x: NDArray[Any]) -> int:
    # A ctypes view of the buffer gives its address ~3x faster than ``x.ctypes.data``.
    if x.flags.writeable:
        return ctypes.addressof(ctypes.c_char.from_buffer(cast(Any, x)))
    return int(x.ctypes.data)


def _done(rc: int, out: I64, top: ctypes.c_uint64) -> Result | None:
    if rc == _FALLBACK:
        return None
    if rc:
        raise BoundsError(_ERRORS[rc])
    return out, int(top.value)


def add_sub(
    a: I64, b: I64, lay: Layout, ka: int, kb: int, neg_a: bool, neg_b: bool, track: bool = True
) -> Result | None:
    """``±rescale(a, ka) ± rescale(b, kb)`` (k = s_in - s_out; ``lay`` from :func:`layout`)."""
    # Without ``track`` (the caller has proven the bound) max|out| is not kept and reads 0.
    lib = _lib()
    if lib is None or not (_shift_ok(ka) and _shift_ok(kb)):
        return None
    out, top = np.empty_like(a), ctypes.c_uint64()
    args = (_ptr(a), _ptr(b), _ptr(out), lay[1], lay[2], lay[0], ka, kb, neg_a, neg_b, track)
    return _done(lib.vi_addsub(*args, ctypes.byref(top)), out, top)


def mul(a: I64, b: I64, lay: Layout, k: int, track: bool = True) -> Result | None:
    """``rshift_round(a * b, k)``; the caller has proven the product below 2**62."""
    lib = _lib()
    if lib is None or not _shift_ok(k):
        return None
    out, top = np.empty_like(a), ctypes.c_uint64()
    args = (_ptr(a), _ptr(b), _ptr(out), lay[1], lay[2], lay[0], k, track)
    return _done(lib.vi_mul(*args, ctypes.byref(top)), out, top)


def div(a: I64, b: I64, lay: Layout, sh: int) -> Result | None:
    """``round_div(a << sh, b)`` (``round_div(a, b << -sh)`` for sh < 0), exact (SPEC §1)."""
    lib = _lib()
    if lib is None or not -60 <= sh <= 60:
        return None
    out, top = np.empty_like(a), ctypes.c_uint64()
    args = (_ptr(a), _ptr(b), _ptr(out), lay[1], lay[2], lay[0], sh)
    return _done(lib.vi_div(*args, ctypes.byref(top)), out, top)


def lut(
    a: I64, k: int, lo: int, span: int, fb: int, packed: I64, identity: bool, ko: int
) -> Result | None:
    """``_lut_dense``'s integers: point ``clamp(rescale(a, k) - lo, 0, span)`` of a packed table."""
    # packed[i] = (T[i] + 2**31) << 32 | (u32)slope[i] for segments of 2**fb points. The second
    # value returned is max|out| over the identity tail only (0 without one): the caller bounds T.
    lib = _lib()
    if lib is None or not _plain(a) or not 1 <= k <= MAX_SHIFT or not _shift_ok(ko):
        return None
    out, top = np.empty_like(a), ctypes.c_uint64()
    c = (1 << (k - 1)) - (lo << k)
    args = (_ptr(a), _ptr(out), a.size, k, c, span, fb, _ptr(packed), identity, lo, ko)
    return _done(lib.vi_lut(*args, ctypes.byref(top)), out, top)


def reduce_rows(x: I64, op: int, k: int) -> Result | None:
    """SUM, MEAN (round_div by the row length) or MAX of each last-axis row, rescaled by k."""
    lib = _lib()
    if lib is None or not _plain(x) or x.ndim == 0 or not _shift_ok(k):
        return None
    cols = x.shape[-1]
    out, top = np.empty((*x.shape[:-1], 1), dtype=np.int64), ctypes.c_uint64()
    args = (_ptr(x), _ptr(out), x.size // cols, cols, op, k)
    return _done(lib.vi_reduce(*args, ctypes.byref(top)), out, top)


def sqrt(a: I64, sh: int) -> Result | None:
    """``isqrt(max(a, 0) << sh)`` (a rounding right shift when sh < 0), exact."""
    lib = _lib()
    if lib is None or not _plain(a) or not _shift_ok(-sh):
        return None
    out, top = np.empty_like(a), ctypes.c_uint64()
    return _done(lib.vi_sqrt(_ptr(a), _ptr(out), a.size, sh, ctypes.byref(top)), out, top)


def swapped_groups(shape: tuple[int, ...], perm: tuple[int, ...]) -> tuple[int, ...] | None:
    """(nb, ni, nj, nc) with out[b, j, i, :] = x[b, i, j, :] when ``perm`` swaps two groups.

    Example: ``swapped_groups((1, 128, 12, 32), (0, 2, 1, 3)) == (1, 128, 12, 32)``."""
    moved = [i for i, p in enumerate(perm) if p != i]
    if not moved or len(perm) != len(shape):
        return None
    a, e = moved[0], moved[-1] + 1
    m = perm[a]
    if list(perm[a:e]) != [*range(m, e), *range(a, m)]:
        return None
    cut = (shape[:a], shape[a:m], shape[m:e], shape[e:])
    return tuple(math.prod(part) for part in cut)


def transpose(x: I64, perm: tuple[int, ...], min_elements: int = TRANSPOSE_MIN) -> I64 | None:
    """``np.ascontiguousarray(x.transpose(perm))`` for a big swap of two groups of single axes."""
    # Only where it measured faster: the 4x4 register blocks beat NumPy about 2x on 128x384
    # matrices; NumPy is as fast for whole-row moves (heads split and merged) and small blocks.
    lib, dims = _lib(), _transpose_plan(x.shape, perm, min_elements)
    if lib is None or dims is None or not _plain(x):
        return None
    out = np.empty(tuple(x.shape[p] for p in perm), dtype=np.int64)
    lib.vi_transpose(_ptr(x), _ptr(out), *dims)
    return out


@lru_cache(maxsize=256)
def _transpose_plan(
    shape: tuple[int, ...], perm: tuple[int, ...], min_elements: int
) -> tuple[int, ...] | None:
    # Cached: most transposes stay with NumPy, and deciding that should cost them nothing.
    dims = swapped_groups(shape, perm)
    if dims is None or dims[3] != 1 or dims[1] * dims[2] < min_elements:
        return None
    return dims


def qmm_rows(a2: I64, amag: int) -> tuple[NDArray[np.float32], I64] | None:
    """qmatmul's rows: each rounded to a multiple of 2**e_r, as float32, and the exponents e."""
    lib = _lib()
    if lib is None or not a2.flags.c_contiguous or a2.size == 0:
        return None
    rows, cols = a2.shape
    out = np.empty((rows, cols), dtype=np.float32)
    e = np.empty(rows, dtype=np.int64)
    lib.vi_qrows(_ptr(a2), _ptr(out), _ptr(e), rows, cols, amag)
    return out, e


def qmm_epilogue(y: NDArray[np.float32], scale: float, bias: I64 | None) -> I64 | None:
    """floor(y * scale + 1/2) + bias, the caller having proved the result below 2**47."""
    lib = _lib()
    if (
        lib is None
        or y.size == 0
        or not y.flags.c_contiguous
        or (bias is not None and not bias.flags.c_contiguous)
    ):
        return None
    rows, cols = y.shape
    out = np.empty((rows, cols), dtype=np.int64)
    b = None if bias is None else _ptr(bias)
    lib.vi_qepi(_ptr(y), b, _ptr(out), rows, cols, scale)
    return out
