// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title FixedPoint: the integer primitives of disputes/SPEC.md §1, as disputes/program/fixedpoint.py.
/// @notice Values are the executor's int64 tensor entries carried in int256, so no intermediate
///         of these functions can overflow for int64 operands. Every bound the Python reference
///         raises BoundsError for reverts here with a named error: a value the executor could
///         never produce must never be accepted by the one-step verifier.
library FixedPoint {
    /// Every step output the executor checks stays strictly below this magnitude (VALUE_BOUND).
    int256 internal constant VALUE_BOUND = 2 ** 47;
    /// An exact left shift must keep |q · 2**k| below this (INT64_SAFE, fixedpoint.lshift).
    int256 internal constant INT64_SAFE = 2 ** 62;
    /// round_div refuses numerators at or above this magnitude (INT64_SAFE // 4).
    int256 internal constant NUMERATOR_BOUND = 2 ** 60;
    /// The largest left shift lshift accepts at all (INT64_SAFE >> 63 == 0 refuses even q = 0).
    int256 internal constant MAX_LEFT_SHIFT = 62;
    /// The largest right shift NumPy can run: `np.int64(1 << (k - 1))` overflows for k >= 64.
    int256 internal constant MAX_RIGHT_SHIFT = 63;

    /// |q · 2**k| would reach 2**62 (or k > 62): fixedpoint.lshift raises BoundsError.
    error ShiftOverflow(int256 q, int256 k);
    /// A rounding right shift by k >= 64: the executor cannot form its rounding constant.
    error ShiftOutOfRange(int256 k);
    /// round_div by zero.
    error DivisionByZero();
    /// round_div's numerator |n| >= 2**60.
    error NumeratorOutOfBounds(int256 n);
    /// isqrt of a negative operand.
    error NegativeSqrt(int256 n);
    /// isqrt operand |n| >= 2**62.
    error SqrtOutOfRange(int256 n);
    /// A step output |value| >= 2**47 where the executor checks VALUE_BOUND.
    error OutOfBounds(int256 value);

    function abs(int256 x) internal pure returns (int256) {
        return x < 0 ? -x : x;
    }

    /// @notice rshift_round(q, k): (q + 2**(k-1)) >> k for k > 0 (Solidity's signed >> floors,
    ///         so ties go up: -2.5 -> -2), q for k = 0, the exact q · 2**-k for k < 0.
    function rshiftRound(int256 q, int256 k) internal pure returns (int256) {
        if (k == 0) return q;
        if (k < 0) return lshift(q, -k);
        if (k > MAX_RIGHT_SHIFT) revert ShiftOutOfRange(k);
        return (q + (int256(1) << uint256(k - 1))) >> uint256(k);
    }

    /// @notice Exact q · 2**k for k >= 0 with fixedpoint.lshift's bound |q| < 2**62 >> k.
    /// @dev k > 62 makes that bound 0, which the executor refuses even for q = 0.
    function lshift(int256 q, int256 k) internal pure returns (int256) {
        if (k == 0) return q;
        if (k < 0 || k > MAX_LEFT_SHIFT || abs(q) >= (INT64_SAFE >> uint256(k))) {
            revert ShiftOverflow(q, k);
        }
        return q << uint256(k);
    }

    /// @notice rescale(q, s_from, s_to) = rshift_round(q, s_from - s_to).
    function rescale(int256 q, int256 sFrom, int256 sTo) internal pure returns (int256) {
        return rshiftRound(q, sFrom - sTo);
    }

    /// @notice round_div(n, d) = sign(n)·sign(d)·floor((2|n| + |d|) / (2|d|)), half away from 0.
    /// @dev Checks in fixedpoint.round_div's order: the divisor, then |n| < 2**60.
    function roundDiv(int256 n, int256 d) internal pure returns (int256) {
        if (d == 0) revert DivisionByZero();
        int256 an = abs(n);
        if (an >= NUMERATOR_BOUND) revert NumeratorOutOfBounds(n);
        int256 ad = abs(d);
        int256 q = (2 * an + ad) / (2 * ad); // both positive: truncation is the floor
        return (n < 0) != (d < 0) ? -q : q;
    }

    /// @notice floor(sqrt(n)) for 0 <= n < 2**62 (the executor's check_bound |n| < 2**62, then
    ///         its sign check); Newton's method from a power of two above the root.
    function isqrt(int256 n) internal pure returns (int256) {
        if (abs(n) >= INT64_SAFE) revert SqrtOutOfRange(n); // the executor's order: bound first
        if (n < 0) revert NegativeSqrt(n);
        if (n == 0) return 0;
        uint256 u = uint256(n);
        // 2**ceil(bitlen/2) > sqrt(n); from above, floor-Newton decreases to floor(sqrt(n)).
        uint256 x = uint256(1) << ((bitlen(u) + 1) / 2);
        uint256 y = (x + u / x) >> 1;
        while (y < x) {
            x = y;
            y = (x + u / x) >> 1;
        }
        return int256(x);
    }

    /// @notice Number of bits of x (Python's int.bit_length): bitlen(0) = 0, bitlen(2**k) = k+1.
    function bitlen(uint256 x) internal pure returns (uint256 n) {
        // Binary search on the highest set bit: eight halvings for a 256-bit word.
        for (uint256 s = 128; s > 0; s >>= 1) {
            if (x >> s != 0) {
                x >>= s;
                n += s;
            }
        }
        if (x != 0) n += 1;
    }

    /// @notice v unchanged, or OutOfBounds when |v| >= 2**47 (fixedpoint.check_bound).
    function checkBound(int256 v) internal pure returns (int256) {
        if (abs(v) >= VALUE_BOUND) revert OutOfBounds(v);
        return v;
    }
}
