// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IGameEscrow} from "./IGameEscrow.sol";
import {IOptimisticRegistry} from "./IOptimisticRegistry.sol";

/// @title MockGameEscrow (tests only)
/// @notice The escrow and registry a DisputeGame talks to, with claims and programs set by the
///         test, and a record of every `gameResolved` call, so the game is tested on its own.
/// @dev Mirrors the real hooks' rules that the game relies on: only the game may call them, a
///      game opens only on an open claim in its window, and the first `providerLost` voids the
///      claim (status Refunded = 3).
contract MockGameEscrow is IGameEscrow, IOptimisticRegistry {
    struct Resolution {
        uint256 requestId;
        bool providerLost;
        address challenger;
    }

    error NotGame();
    error ClaimNotOpen();
    error WindowClosed();

    uint8 internal constant REFUNDED = 3;
    uint8 internal constant CLAIMED = 4;

    address public game;
    mapping(uint256 => ClaimInfo) private claims;
    mapping(uint256 => uint8) public statusOf;
    mapping(uint256 => Program) private programs;
    mapping(uint256 => uint256) public minBondOf;
    Resolution[] private resolutions;

    modifier onlyGame() {
        if (msg.sender != game) revert NotGame();
        _;
    }

    function setGame(address game_) external {
        game = game_;
    }

    function setClaim(uint256 requestId, ClaimInfo calldata c, uint8 status) external {
        claims[requestId] = c;
        statusOf[requestId] = status;
    }

    function setStatus(uint256 requestId, uint8 status) external {
        statusOf[requestId] = status;
    }

    function setProgram(uint256 modelId, Program calldata p, uint256 minBond) external {
        programs[modelId] = p;
        minBondOf[modelId] = minBond;
    }

    function claimOf(uint256 requestId) external view returns (ClaimInfo memory, uint8) {
        return (claims[requestId], statusOf[requestId]);
    }

    function programOf(uint256 modelId) external view returns (Program memory) {
        return programs[modelId];
    }

    function gameOpened(uint256 requestId) external onlyGame {
        ClaimInfo storage c = claims[requestId];
        if (statusOf[requestId] != CLAIMED) revert ClaimNotOpen();
        if (block.timestamp > c.windowEnd) revert WindowClosed();
        c.openGames++;
    }

    function gameResolved(uint256 requestId, bool providerLost, address challenger)
        external
        onlyGame
    {
        claims[requestId].openGames--;
        resolutions.push(Resolution(requestId, providerLost, challenger));
        if (providerLost && statusOf[requestId] == CLAIMED) statusOf[requestId] = REFUNDED;
    }

    function resolutionCount() external view returns (uint256) {
        return resolutions.length;
    }

    function resolutionAt(uint256 i) external view returns (Resolution memory) {
        return resolutions[i];
    }
}
