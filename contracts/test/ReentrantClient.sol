// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

interface IEscrowForTest {
    function request(uint256 modelId, bytes32 inputHash, uint256 maxFee)
        external
        payable
        returns (uint256);
    function withdraw() external;
}

/// @title ReentrantClient (tests only)
/// @notice A client contract whose receive() either re-enters withdraw() or refuses the ETH,
///         to show that withdraw() pays once and reverts cleanly when the transfer fails.
contract ReentrantClient {
    IEscrowForTest public immutable escrow;
    bool public reenter;
    uint256 public received;

    constructor(address escrow_) {
        escrow = IEscrowForTest(escrow_);
    }

    function setReenter(bool reenter_) external {
        reenter = reenter_;
    }

    function requestWithExcess(uint256 modelId, bytes32 inputHash) external payable {
        escrow.request{value: msg.value}(modelId, inputHash, msg.value);
    }

    function withdraw() external {
        escrow.withdraw();
    }

    receive() external payable {
        received += msg.value;
        if (reenter) {
            // A second withdraw must find zero credit; swallow its revert to keep the ETH
            // and prove the escrow did not pay twice.
            try escrow.withdraw() {} catch {}
        } else {
            revert("no thanks");
        }
    }
}
