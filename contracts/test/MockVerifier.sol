// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title MockVerifier (tests only)
/// @notice Answers verifyProof the way it is told, to exercise every way a verifier can say no.
contract MockVerifier {
    enum Mode {
        Accept,
        ReturnFalse,
        Revert,
        ShortData,
        ReturnTwo,
        EmptyRevert
    }

    error MockRejected();

    Mode public mode;

    function setMode(Mode mode_) external {
        mode = mode_;
    }

    function verifyProof(bytes calldata, uint256[] calldata) external view returns (bool) {
        Mode m = mode;
        if (m == Mode.ReturnFalse) return false;
        if (m == Mode.Revert) revert MockRejected();
        assembly {
            switch m
            case 3 {
                mstore(0, 1)
                return(0, 16)
            }
            case 4 {
                mstore(0, 2)
                return(0, 32)
            }
            case 5 { revert(0, 0) }
        }
        return true;
    }
}
