// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {FixedPoint} from "./FixedPoint.sol";

/// @title Reduce: one output element of a last-axis reduction (disputes/SPEC.md §6).
/// @notice The operand is one row (every element of the last axis), at scale `sA`; the result
///         is at `sOut`. Mirrors reduce_sum / reduce_mean / reduce_max in
///         disputes/execution/ops/nonlinear.py, including which bounds each one checks.
library Reduce {
    /// A row value |value| >= 2**62 // K (K = row length): its sum could leave int64.
    error RowValueOutOfRange(int256 value, int256 bound);
    /// reduce_max of a row of length 0 (NumPy has no maximum of nothing).
    error EmptyRow();

    /// @notice reduce_sum: rescale(Σ row, sA, sOut), then the 2**47 bound.
    function sum(int256[] memory row, int256 sA, int256 sOut) internal pure returns (int256) {
        return FixedPoint.checkBound(FixedPoint.rescale(_boundedSum(row), sA, sOut));
    }

    /// @notice reduce_mean: rescale(round_div(Σ row, K), sA, sOut); K = 0 divides by zero.
    ///         No 2**47 check (the kernel makes none); round_div's |Σ| < 2**60 applies.
    function mean(int256[] memory row, int256 sA, int256 sOut) internal pure returns (int256) {
        int256 m = FixedPoint.roundDiv(_boundedSum(row), int256(row.length));
        return FixedPoint.rescale(m, sA, sOut);
    }

    /// @notice reduce_max: rescale(max row, sA, sOut). No row bound, no 2**47 check.
    function max(int256[] memory row, int256 sA, int256 sOut) internal pure returns (int256) {
        uint256 n = row.length;
        if (n == 0) revert EmptyRow();
        int256 m = row[0];
        for (uint256 k = 1; k < n; ++k) {
            if (row[k] > m) m = row[k];
        }
        return FixedPoint.rescale(m, sA, sOut);
    }

    /// @dev Σ row under the kernels' row bound |x| < 2**62 // max(1, K), which keeps every
    ///      partial sum inside int64. The kernel checks the bound before it sums; a revert in
    ///      the middle of the loop aborts the same way, so checking as we go is equivalent.
    function _boundedSum(int256[] memory row) private pure returns (int256 s) {
        uint256 n = row.length;
        int256 bound = FixedPoint.INT64_SAFE / int256(n > 1 ? n : 1);
        for (uint256 k = 0; k < n; ++k) {
            if (FixedPoint.abs(row[k]) >= bound) revert RowValueOutOfRange(row[k], bound);
            s += row[k];
        }
    }
}
