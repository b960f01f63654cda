// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IInferenceConsumer
/// @notice A contract that asked for a result with a callback receives it here, once, and only
///         when it is final (docs/optimistic.md). `output` is the mode's output encoding: zk and
///         zk-on-demand `abi.encodePacked(uint256[] instances)`, optimistic be32 values.
interface IInferenceConsumer {
    function onResult(uint256 requestId, bytes calldata output) external;
}
