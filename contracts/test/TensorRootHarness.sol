// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TensorRoot} from "./TensorRoot.sol";

/// @title TensorRootHarness (tests only)
/// @notice TensorRoot behind external functions, batched so a differential test checks many
///         tensors per eth_call.
contract TensorRootHarness {
    function ofBe32(bytes calldata data, uint256 offset, uint256 rows, uint256 width)
        external
        pure
        returns (bytes32)
    {
        return TensorRoot.ofBe32(data, offset, rows, width);
    }

    /// The root of each (data, rows, width), each tensor starting at offset 0.
    function roots(bytes[] calldata datas, uint256[] calldata rows, uint256[] calldata widths)
        external
        pure
        returns (bytes32[] memory out)
    {
        out = new bytes32[](datas.length);
        for (uint256 k; k < datas.length; ++k) {
            out[k] = TensorRoot.ofBe32(datas[k], 0, rows[k], widths[k]);
        }
    }
}
