// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Merkle} from "./Merkle.sol";

/// @title GameMath: the pure arithmetic of the DisputeGame (docs/optimistic.md, "The game").
/// @notice Dissection positions, a step's row layout, an element's row and column, and the hash
///         of a row of revealed nodes. The Python solver (disputes/game/solver.py) mirrors the
///         same formulas; both sides must agree bit for bit on where each point lies.
library GameMath {
    /// m = min(K, span): the number of sub-ranges a range of `span` steps is cut into.
    function parts(uint256 span, uint256 k) internal pure returns (uint256) {
        return span < k ? span : k;
    }

    /// p_j = lo + span·j/m for j = 0..m (integer division): every sub-range is non-empty.
    function positions(uint256 lo, uint256 hi, uint256 k)
        internal
        pure
        returns (uint256[] memory p)
    {
        uint256 span = hi - lo;
        uint256 m = parts(span, k);
        p = new uint256[](m + 1);
        for (uint256 j = 0; j <= m; j++) {
            p[j] = lo + (span * j) / m;
        }
    }

    /// log2 of a power of two.
    function log2(uint256 x) internal pure returns (uint256 r) {
        while (x > 1) {
            x >>= 1;
            r++;
        }
    }

    /// Rows (product of all but the last axis; 1 for a 0-d or 1-d tensor) and width (last
    /// axis; 1 for 0-d): merkle.py's rule 1.
    function rowsOf(uint256[] memory shape) internal pure returns (uint256 nRows, uint256 width) {
        uint256 r = shape.length;
        if (r == 0) return (1, 1);
        nRows = 1;
        for (uint256 k = 0; k + 1 < r; k++) {
            nRows *= shape[k];
        }
        width = shape[r - 1];
    }

    /// The row (leading axes flattened, row-major) and column (last index) of an element.
    /// @dev The caller has checked the element against the shape (same rank, in range).
    function position(uint256[] memory shape, uint256[] calldata el)
        internal
        pure
        returns (uint256 row, uint256 col)
    {
        uint256 r = shape.length;
        if (r == 0) return (0, 0);
        for (uint256 k = 0; k + 1 < r; k++) {
            row = row * shape[k] + el[k];
        }
        col = el[r - 1];
    }

    /// The root of a complete tree over `nodes` (a power of two in length, at most 64).
    function fold(bytes32[] calldata nodes) internal pure returns (bytes32) {
        uint256 n = nodes.length;
        bytes32[] memory level = nodes;
        while (n > 1) {
            n >>= 1;
            for (uint256 j = 0; j < n; j++) {
                level[j] = Merkle.node(level[2 * j], level[2 * j + 1]);
            }
        }
        return level[0];
    }
}
