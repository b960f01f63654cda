// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {FixedPoint} from "./FixedPoint.sol";

/// @title Nonlinear: one output element of a `lut` or `sqrt` step (disputes/SPEC.md §5).
/// @notice Mirrors disputes/execution/ops/nonlinear.py. A table step's committed params are
///         fn, lo, hi, tail and the table T[0..n], n = (hi - lo)·64; the verifier opens the two
///         entries `lutIndex` names from the committed table and hands them to `lut`.
/// @dev Function codes: exp=0, erf=1, tanh=2, sigmoid=3, gelu=4, softplus=5, expm1=6, mish=7
///      (`domain` gives each one's [lo, hi] and tail). Tail codes: clamp=0, identity=1. The
///      verifier itself never reads the code: a step's lo, hi, tail and table are committed in
///      its leaf, so a new table function needs no new contract code (`domain` is the mirror
///      of tables.FUNCTIONS that the element tests hold both sides to).
library Nonlinear {
    uint8 internal constant EXP = 0;
    uint8 internal constant ERF = 1;
    uint8 internal constant TANH = 2;
    uint8 internal constant SIGMOID = 3;
    uint8 internal constant GELU = 4;
    uint8 internal constant SOFTPLUS = 5;
    uint8 internal constant EXPM1 = 6;
    uint8 internal constant MISH = 7;
    uint8 internal constant TAIL_CLAMP = 0;
    uint8 internal constant TAIL_IDENTITY = 1;

    /// The argument is rescaled to 12 fractional bits before the lookup (LUT_IN_SCALE).
    int256 internal constant IN_SCALE = 12;
    /// Segments are 2**-6 wide: 64 points of the scale-12 argument per table interval.
    uint256 internal constant SEG_BITS = 6;
    int256 internal constant SEG_MASK = 63;

    /// A function code outside exp..mish.
    error UnknownLutFunction(uint8 fn);
    /// A table domain with lo > hi (the executor cannot even build such a table).
    error BadLutDomain(int256 lo, int256 hi);

    /// @notice The domain and right tail of each table function (tables.FUNCTIONS).
    function domain(uint8 fn) internal pure returns (int256 lo, int256 hi, uint8 tail) {
        if (fn == EXP) return (-16, 0, TAIL_CLAMP);
        if (fn == ERF) return (-4, 4, TAIL_CLAMP);
        if (fn == TANH) return (-8, 8, TAIL_CLAMP);
        if (fn == SIGMOID) return (-16, 16, TAIL_CLAMP);
        if (fn == GELU) return (-8, 8, TAIL_IDENTITY);
        if (fn == SOFTPLUS) return (-16, 16, TAIL_IDENTITY);
        if (fn == EXPM1) return (-16, 0, TAIL_CLAMP);
        if (fn == MISH) return (-16, 8, TAIL_IDENTITY);
        revert UnknownLutFunction(fn);
    }

    /// @notice The last table index n = (hi - lo)·64; the table has n + 1 entries.
    function lastIndex(int256 lo, int256 hi) internal pure returns (uint256) {
        if (lo > hi) revert BadLutDomain(lo, hi);
        return uint256(hi - lo) << SEG_BITS;
    }

    /// @notice x = rescale(a, sA, 12) and t = clamp(x, lo·2**12, hi·2**12) - lo·2**12.
    function point(int256 a, int256 sA, int256 lo, int256 hi)
        internal
        pure
        returns (int256 x, int256 t)
    {
        if (lo > hi) revert BadLutDomain(lo, hi);
        x = FixedPoint.rescale(a, sA, IN_SCALE);
        int256 lo12 = lo << uint256(IN_SCALE);
        int256 hi12 = hi << uint256(IN_SCALE);
        t = (x < lo12 ? lo12 : x > hi12 ? hi12 : x) - lo12;
    }

    /// @notice Which table entries the element reads: T[i] and T[iNext], i = t >> 6,
    ///         iNext = min(i + 1, n). At i = n the fraction is 0, so T[n+1] = T[n] is never
    ///         needed; for an identity tail beyond hi the table is not read at all (i = n then).
    function lutIndex(int256 a, int256 sA, int256 lo, int256 hi)
        internal
        pure
        returns (uint256 i, uint256 iNext)
    {
        (, int256 t) = point(a, sA, lo, hi);
        i = uint256(t) >> SEG_BITS;
        uint256 n = lastIndex(lo, hi);
        iNext = i < n ? i + 1 : n;
    }

    /// @notice out = T[i] + rshift_round((T[i+1] - T[i])·f, 6), f = t & 63; with an identity
    ///         tail and x > hi·2**12: rescale(x, 12, sOut). `tI`, `tNext` are the entries
    ///         `lutIndex` names. No 2**47 check: the executor makes none for tables.
    function lut(
        int256 a,
        int256 sA,
        int256 sOut,
        int256 lo,
        int256 hi,
        bool tailIdentity,
        int256 tI,
        int256 tNext
    ) internal pure returns (int256) {
        (int256 x, int256 t) = point(a, sA, lo, hi);
        if (tailIdentity && x > (hi << uint256(IN_SCALE))) {
            return FixedPoint.rescale(x, IN_SCALE, sOut);
        }
        return tI + FixedPoint.rshiftRound((tNext - tI) * (t & SEG_MASK), int256(SEG_BITS));
    }

    /// @notice sqrt: isqrt(max(a, 0) · 2**(2·sOut - sA)), a rounding right shift when the
    ///         exponent is negative; with sA = 2·sOut it is isqrt(a).
    function sqrt(int256 a, int256 sA, int256 sOut) internal pure returns (int256) {
        int256 q = a > 0 ? a : int256(0);
        return FixedPoint.isqrt(FixedPoint.rshiftRound(q, sA - 2 * sOut));
    }
}
