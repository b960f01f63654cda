// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IGameEscrow
/// @notice What the DisputeGame needs from the escrow that holds a claim (docs/optimistic.md).
interface IGameEscrow {
    struct ClaimInfo {
        address provider;
        uint256 modelId;
        bytes32 inputHash;
        bytes32 finalCheckpoint;
        uint256 bond;
        uint64 windowEnd;
        uint32 openGames;
        address challenger;
        uint64 proveDeadline;
        uint256 challengerBond;
    }

    /// @notice The claim on `requestId` with its request's status (4 = Claimed).
    function claimOf(uint256 requestId) external view returns (ClaimInfo memory, uint8 status);

    /// @notice A game was opened on the claim (only the game; the claim must be open and in its
    ///         window).
    function gameOpened(uint256 requestId) external;

    /// @notice A game on the claim ended; the first `providerLost` voids the claim, refunds the
    ///         client and pays the challenger half the provider's bond (only the game).
    function gameResolved(uint256 requestId, bool providerLost, address challenger) external;
}
