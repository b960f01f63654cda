// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IOptimisticRegistry
/// @notice What the DisputeGame reads from the model registry about an optimistic model
///         (docs/optimistic.md, "Models"). The registry takes nInputs, nWeights, nSteps and
///         outputSlot from the program header it opened at registration, so a game's step
///         range and slot layout are the committed program's, not a registrant's say-so.
interface IOptimisticRegistry {
    struct Program {
        bytes32 programRoot;
        bytes32 startHash;
        uint32 nInputs;
        uint32 nWeights;
        uint32 nSteps;
        uint32 outputSlot;
        uint32 outputRows;
        uint32 outputWidth;
    }

    /// @notice The registered program of model `modelId` (all zero for a zk model).
    function programOf(uint256 modelId) external view returns (Program memory);

    /// @notice The least bond a claim on, or a challenge of, model `modelId` must carry.
    function minBondOf(uint256 modelId) external view returns (uint256);
}
