"""Integer fixed-point primitives shared by every step (see disputes/SPEC.md §1).

Example::

    >>> import numpy as np
    >>> rshift_round(np.array([5, -5, 6], dtype=np.int64), 1).tolist()
    [3, -2, 3]
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from disputes.errors import BoundsError

I64 = NDArray[np.int64]
# Every tensor value stays below this magnitude; products of two values then fit int64 with room
# for short sums, and every value is exact in float64.
VALUE_BOUND = 2**47
INT64_SAFE = 2**62
FLOAT64_EXACT = 2**53


def max_abs(q: I64) -> int:
    """Largest magnitude in ``q`` (0 for an empty tensor) as a Python int."""
    if q.size == 0:
        return 0
    return max(int(q.max()), -int(q.min()))


def check_bound(q: I64, bound: int, what: str) -> I64:
    """Return ``q`` unchanged, or raise BoundsError when some |value| >= bound."""
    m = max_abs(q)
    if m >= bound:
        raise BoundsError(f"{what}: |value| {m} >= bound 2**{bound.bit_length() - 1}")
    return q


def rshift_round(q: I64, k: int) -> I64:
    """Rescale down by 2**k with rounding: ``(q + 2**(k-1)) >> k`` (arithmetic shift)."""
    if k <= 0:
        return q if k == 0 else lshift(q, -k)
    return (q + np.int64(1 << (k - 1))) >> np.int64(k)


def lshift(q: I64, k: int) -> I64:
    """Exact multiplication by 2**k; fails loudly instead of overflowing."""
    if k == 0:
        return q
    check_bound(q, INT64_SAFE >> k, "left shift")
    return q << np.int64(k)


def rescale(q: I64, s_from: int, s_to: int) -> I64:
    """Change the scale exponent from ``s_from`` to ``s_to`` (round when dropping bits)."""
    return rshift_round(q, s_from - s_to)


def round_div(num: I64, den: I64) -> I64:
    """Integer division rounded half away from zero (broadcasting); den must be nonzero."""
    if np.any(den == 0):
        raise BoundsError("division by zero in an integer step")
    nonneg = int(num.min(initial=0)) >= 0 and int(den.min(initial=1)) > 0
    an, ad = (num, den) if nonneg else (np.abs(num), np.abs(den))
    top, dmax = int(an.max(initial=0)), int(ad.max(initial=0))
    if top >= INT64_SAFE // 4:
        raise BoundsError(f"division numerator: |value| {top} >= bound 2**60")
    n2 = an * 2
    if n2.shape == np.broadcast_shapes(n2.shape, ad.shape):
        n2 += ad
    else:  # a numerator broadcast against a larger divisor cannot grow in place
        n2 = n2 + ad
    q = _floor_div(n2, 2 * ad, 2 * top + dmax, 2 * dmax)
    if nonneg:
        return q
    return np.where((num < 0) != (den < 0), -q, q)


def _floor_div(n: I64, d: I64, n_max: int, d_max: int) -> I64:
    """floor(n / d) for n >= 0, d > 0: a float64 estimate corrected by one integer step.

    With n, d < 2**53 both are exact floats and n / d is correctly rounded, so its floor is
    never below the true floor (integers are representable) and at most one above it.
    """
    if n_max >= FLOAT64_EXACT or d_max >= FLOAT64_EXACT:
        return n // d
    f = np.divide(n, d, dtype=np.float64)
    np.floor(f, out=f)
    q = f.astype(np.int64)
    q -= q * d > n
    return q


def div_scaled(a: I64, b: I64, t: int) -> tuple[I64, int] | None:
    """``round_div(a * 2**t, b)`` (``round_div(a, b * 2**-t)`` for t < 0) and a bound on |result|.

    One correctly rounded float64 division: with N = 2|n| + |d| and D = 2|d| (n, d the shifted
    integers), floor(fl(N / D)) = floor(N / D) whenever N + D < 2**53 (a quotient below the
    integer q + 1 is at least 1/D below it, more than half an ulp of q + 1). Numerator and
    denominator are both scaled by 2**-t (exact), so the shift costs no pass. Returns None
    (use ``round_div``) when that condition fails or some divisor is not positive.
    """
    if b.size == 0 or a.size == 0 or np.broadcast_shapes(a.shape, b.shape) != a.shape:
        return None  # the in-place passes below need the numerator at the result's shape
    dmin, dmax = int(b.min()), int(b.max())
    amin, amax = int(a.min()), int(a.max())
    top = max(amax, -amin)
    n_max, d_max = (top << max(t, 0)), (dmax << max(-t, 0))
    if dmin <= 0 or 2 * n_max + 3 * d_max >= FLOAT64_EXACT or abs(t) > 60:
        return None
    dd = b.astype(np.float64) * 2.0**-t  # the divisor at a's scale (exact: a power of two)
    half = dd * 0.5
    x = a.astype(np.float64)
    if amin < 0:
        np.abs(x, out=x)
    x += half
    x /= dd
    if amin < 0:
        np.copysign(x, a, out=x)  # truncation below is then floor of |quotient|, signed back
    bound = (n_max // (dmin << max(-t, 0))) + 1
    return x.astype(np.int64), bound


def isqrt(n: I64) -> I64:
    """Exact floor(sqrt(n)) for 0 <= n < 2**62 (float estimate, then integer correction)."""
    check_bound(n, INT64_SAFE, "sqrt operand")
    if np.any(n < 0):
        raise BoundsError("sqrt of a negative value")
    r = np.floor(np.sqrt(n.astype(np.float64))).astype(np.int64)
    r = np.where(r * r > n, r - 1, r)
    r = np.where(r * r > n, r - 1, r)
    r = np.where((r + 1) * (r + 1) <= n, r + 1, r)
    return r


def quantize(x: NDArray[np.floating] | float, scale: int) -> I64:
    """Real values to integers at ``scale``: floor(x * 2**scale + 1/2) (float64 arithmetic)."""
    y = np.floor(np.asarray(x, dtype=np.float64) * (2.0**scale) + 0.5)
    if np.any(np.abs(y) >= VALUE_BOUND):
        raise BoundsError(f"quantizing at scale {scale} exceeds 2**47")
    return y.astype(np.int64)


def dequantize(q: I64, scale: int) -> NDArray[np.float64]:
    """Integers at ``scale`` back to real values (for reading outputs, not for the semantics)."""
    return q.astype(np.float64) / (2.0**scale)
