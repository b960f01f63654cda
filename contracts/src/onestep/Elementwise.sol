// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {FixedPoint} from "./FixedPoint.sol";

/// @title Elementwise: one output element of an elementwise step (disputes/SPEC.md §4).
/// @notice Each function mirrors the kernel of the same name in disputes/execution/ops/elementwise.py on
///         one element: operands `a`, `b` with their scales (the step's `in_scales`) and the
///         step's output scale `sOut`. The executor checks |out| < 2**47 only in add, sub, mul
///         and div; the other kinds only inherit the left-shift bound of `rescale`, and so do
///         these functions, so a value the executor produces is never refused.
/// @dev Compare op codes (the step's `op` param): eq=0, ne=1, lt=2, le=3, gt=4, ge=5.
library Elementwise {
    uint8 internal constant EQ = 0;
    uint8 internal constant NE = 1;
    uint8 internal constant LT = 2;
    uint8 internal constant LE = 3;
    uint8 internal constant GT = 4;
    uint8 internal constant GE = 5;

    /// max|a| · max|b| >= 2**62: the executor refuses the product (element-wise here).
    error ProductOverflow(int256 a, int256 b);
    /// A compare op code outside eq..ge.
    error UnknownCompareOp(uint8 op);

    /// @notice add: rescale(a) + rescale(b), then the 2**47 bound.
    function add(int256 a, int256 b, int256 sA, int256 sB, int256 sOut)
        internal
        pure
        returns (int256)
    {
        int256 x = FixedPoint.rescale(a, sA, sOut);
        return FixedPoint.checkBound(x + FixedPoint.rescale(b, sB, sOut));
    }

    /// @notice sub: rescale(a) - rescale(b), then the 2**47 bound.
    function sub(int256 a, int256 b, int256 sA, int256 sB, int256 sOut)
        internal
        pure
        returns (int256)
    {
        int256 x = FixedPoint.rescale(a, sA, sOut);
        return FixedPoint.checkBound(x - FixedPoint.rescale(b, sB, sOut));
    }

    /// @notice mul: rshift_round(a · b, sA + sB - sOut) on the exact product (no `shift` param:
    ///         the shift is derived from the scales, as the kernel does).
    function mul(int256 a, int256 b, int256 sA, int256 sB, int256 sOut)
        internal
        pure
        returns (int256)
    {
        int256 p = a * b;
        // The kernel bounds max|a|·max|b| over the tensors; this element's product is below it.
        if (FixedPoint.abs(p) >= FixedPoint.INT64_SAFE) revert ProductOverflow(a, b);
        return FixedPoint.checkBound(FixedPoint.rshiftRound(p, sA + sB - sOut));
    }

    /// @notice div: round_div(a · 2**t, b) with t = sOut - sA + sB; for t < 0 the factor 2**-t
    ///         multiplies b instead (both shifts exact, with lshift's bound).
    function div(int256 a, int256 b, int256 sA, int256 sB, int256 sOut)
        internal
        pure
        returns (int256)
    {
        int256 t = sOut - sA + sB;
        (int256 num, int256 den) =
            t >= 0 ? (FixedPoint.lshift(a, t), b) : (a, FixedPoint.lshift(b, -t));
        return FixedPoint.checkBound(FixedPoint.roundDiv(num, den));
    }

    /// @notice relu: max(rescale(a), 0).
    function relu(int256 a, int256 sA, int256 sOut) internal pure returns (int256) {
        int256 x = FixedPoint.rescale(a, sA, sOut);
        return x > 0 ? x : int256(0);
    }

    /// @notice neg: -rescale(a).
    function neg(int256 a, int256 sA, int256 sOut) internal pure returns (int256) {
        return -FixedPoint.rescale(a, sA, sOut);
    }

    /// @notice abs: |rescale(a)|.
    function abs(int256 a, int256 sA, int256 sOut) internal pure returns (int256) {
        return FixedPoint.abs(FixedPoint.rescale(a, sA, sOut));
    }

    /// @notice max: the larger of rescale(a), rescale(b).
    function max(int256 a, int256 b, int256 sA, int256 sB, int256 sOut)
        internal
        pure
        returns (int256)
    {
        int256 x = FixedPoint.rescale(a, sA, sOut);
        int256 y = FixedPoint.rescale(b, sB, sOut);
        return x > y ? x : y;
    }

    /// @notice min: the smaller of rescale(a), rescale(b).
    function min(int256 a, int256 b, int256 sA, int256 sB, int256 sOut)
        internal
        pure
        returns (int256)
    {
        int256 x = FixedPoint.rescale(a, sA, sOut);
        int256 y = FixedPoint.rescale(b, sB, sOut);
        return x < y ? x : y;
    }

    /// @notice rescale: a at the output scale.
    function rescale(int256 a, int256 sA, int256 sOut) internal pure returns (int256) {
        return FixedPoint.rescale(a, sA, sOut);
    }

    /// @notice clip: min(max(rescale(a), lo), hi); lo, hi at the output scale. Like np.clip,
    ///         lo > hi yields hi.
    function clip(int256 a, int256 sA, int256 sOut, int256 lo, int256 hi)
        internal
        pure
        returns (int256)
    {
        int256 x = FixedPoint.rescale(a, sA, sOut);
        if (x < lo) x = lo;
        return x > hi ? hi : x;
    }

    /// @notice where: c != 0 ? rescale(x) : rescale(y). The condition is read as an integer at
    ///         any scale (its in_scale is ignored, as in the kernel). Both branches are
    ///         rescaled, since the kernel rescales both tensors whole and so applies both
    ///         left-shift bounds.
    function where(int256 c, int256 x, int256 y, int256 sX, int256 sY, int256 sOut)
        internal
        pure
        returns (int256)
    {
        int256 vx = FixedPoint.rescale(x, sX, sOut);
        int256 vy = FixedPoint.rescale(y, sY, sOut);
        return c != 0 ? vx : vy;
    }

    /// @notice compare: 0/1 from comparing a and b at max(sA, sB) (only exact left shifts), at
    ///         scale 0 whatever the step's scale says (the kernel ignores it).
    function compare(int256 a, int256 b, int256 sA, int256 sB, uint8 op)
        internal
        pure
        returns (int256)
    {
        int256 s = sA > sB ? sA : sB;
        bool holds = _holds(FixedPoint.rescale(a, sA, s), FixedPoint.rescale(b, sB, s), op);
        return holds ? int256(1) : int256(0);
    }

    function _holds(int256 x, int256 y, uint8 op) private pure returns (bool) {
        if (op == EQ) return x == y;
        if (op == NE) return x != y;
        if (op == LT) return x < y;
        if (op == LE) return x <= y;
        if (op == GT) return x > y;
        if (op == GE) return x >= y;
        revert UnknownCompareOp(op);
    }
}
