// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Merkle} from "./Merkle.sol";

/// @title StartCheckpoint
/// @notice C_0, the checkpoint a dispute starts from, computed from a request's input roots and
///         the model's registered start data (disputes.commitments StartData, SPEC §8).
/// @dev Nobody may choose where a game starts: the inputs are the first slots, so C_0 is the
///      subtree over the smallest aligned power-of-two block holding them (its other slots are
///      the registered `fill`, weight roots) folded, as the left child, with the registered
///      roots of the blocks to its right, bottom-up.
library StartCheckpoint {
    /// The inputs and the fill do not make one power-of-two block.
    error BadStartBlock(uint256 inputs, uint256 fill);

    function compute(
        bytes32[] memory inputRoots,
        bytes32[] memory fill,
        bytes32[] memory siblings
    ) internal pure returns (bytes32 h) {
        uint256 n = inputRoots.length + fill.length;
        // The block is the smallest power of two holding the inputs: n = 2**k, fill < inputs.
        if (inputRoots.length == 0 || n & (n - 1) != 0 || fill.length >= inputRoots.length) {
            revert BadStartBlock(inputRoots.length, fill.length);
        }
        bytes32[] memory level = new bytes32[](n);
        for (uint256 j = 0; j < inputRoots.length; j++) {
            level[j] = inputRoots[j];
        }
        for (uint256 j = 0; j < fill.length; j++) {
            level[inputRoots.length + j] = fill[j];
        }
        for (uint256 width = n; width > 1; width /= 2) {
            for (uint256 j = 0; j < width / 2; j++) {
                level[j] = Merkle.node(level[2 * j], level[2 * j + 1]);
            }
        }
        h = level[0];
        for (uint256 k = 0; k < siblings.length; k++) {
            h = Merkle.node(h, siblings[k]);
        }
    }
}
