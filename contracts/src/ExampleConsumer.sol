// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IInferenceConsumer} from "./IInferenceConsumer.sol";

interface IFinalized {
    function isFinalized(uint256 requestId) external view returns (bool);
}

/// @title ExampleConsumer
/// @notice The callback target of requests made with `requestWithCallback` or
///         `requestOptimistic`; keeps the last final result it was given. It can be told to revert or to burn all its gas, which is how the tests show that
///         a failing consumer never blocks settlement.
/// @dev Only the escrow may deliver: anyone else calling onResult could plant a fake result.
contract ExampleConsumer is IInferenceConsumer {
    enum Behaviour {
        Record,
        Revert,
        BurnGas
    }

    error NotEscrow(address caller);
    error Refused(uint256 requestId);

    event ResultReceived(uint256 indexed requestId, bytes32 outputHash);

    address public immutable escrow;
    Behaviour public behaviour;
    uint256 public lastRequestId;
    bytes public lastOutput;
    uint256 public received;
    /// Whether the escrow already counted the result as final when it called: it must, since
    /// the callback comes after every state change.
    bool public lastWasFinal;

    constructor(address escrow_) {
        escrow = escrow_;
    }

    function setBehaviour(Behaviour behaviour_) external {
        behaviour = behaviour_;
    }

    function onResult(uint256 requestId, bytes calldata output) external {
        if (msg.sender != escrow) revert NotEscrow(msg.sender);
        if (behaviour == Behaviour.Revert) revert Refused(requestId);
        if (behaviour == Behaviour.BurnGas) {
            assembly {
                for {} 1 {} {} // runs until the gas limit stops it
            }
        }
        lastRequestId = requestId;
        lastOutput = output;
        lastWasFinal = IFinalized(escrow).isFinalized(requestId);
        received += 1;
        emit ResultReceived(requestId, keccak256(output));
    }
}
