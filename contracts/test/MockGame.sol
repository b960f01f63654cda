// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IGameEscrow} from "./IGameEscrow.sol";

/// @title MockGame (tests only)
/// @notice Stands in for the DisputeGame: same constructor, an `escrow()` the escrow checks at
///         deployment, and plain forwarders to the escrow's game hooks, so the escrow's side
///         of a dispute (counting games, voiding, paying) is tested without playing one.
contract MockGame {
    address public escrow;

    constructor(address escrow_, address, address, uint64, uint256) {
        escrow = escrow_;
    }

    /// Point the mock at another escrow (to show the escrow's GameMismatch check).
    function setEscrow(address escrow_) external {
        escrow = escrow_;
    }

    function open(uint256 requestId) external {
        IGameEscrow(escrow).gameOpened(requestId);
    }

    function resolve(uint256 requestId, bool providerLost, address challenger) external {
        IGameEscrow(escrow).gameResolved(requestId, providerLost, challenger);
    }
}
