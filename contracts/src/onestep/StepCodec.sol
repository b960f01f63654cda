// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title StepCodec
/// @notice Decodes a step's leaf message (disputes/SPEC.md §8, disputes/commitments/descriptor.py):
///         0x03 ‖ abi.encode(kind, inputs, inShapes, inScales, shape, scale, params, roots).
/// @dev The message is authenticated (its keccak256 is a leaf of the program root) before it is
///      decoded, so its fields are the registered program's; the prefix keeps a tensor row or an
///      inner node from being passed off as a step.
library StepCodec {
    /// The message does not start with the step prefix 0x03.
    error NotAStep(uint8 prefix);

    uint8 internal constant PREFIX = 0x03;

    // Kind codes: the order of disputes.commitments.descriptor.KINDS; never renumbered.
    uint256 internal constant ADD = 0;
    uint256 internal constant SUB = 1;
    uint256 internal constant MUL = 2;
    uint256 internal constant DIV = 3;
    uint256 internal constant RELU = 4;
    uint256 internal constant NEG = 5;
    uint256 internal constant ABS = 6;
    uint256 internal constant MAX = 7;
    uint256 internal constant MIN = 8;
    uint256 internal constant RESCALE = 9;
    uint256 internal constant CLIP = 10;
    uint256 internal constant WHERE = 11;
    uint256 internal constant COMPARE = 12;
    uint256 internal constant LUT = 13;
    uint256 internal constant SQRT = 14;
    uint256 internal constant REDUCE_SUM = 15;
    uint256 internal constant REDUCE_MEAN = 16;
    uint256 internal constant REDUCE_MAX = 17;
    uint256 internal constant MATMUL = 18;
    uint256 internal constant QMATMUL = 19;
    uint256 internal constant CONV = 20;
    uint256 internal constant RESHAPE = 21;
    uint256 internal constant TRANSPOSE = 22;
    uint256 internal constant SLICE = 23;
    uint256 internal constant GATHER = 24;
    uint256 internal constant EMBED = 25;
    uint256 internal constant CONCAT = 26;
    uint256 internal constant EXPAND = 27;
    uint256 internal constant COPY = 28;
    uint256 internal constant GCONV = 29;
    uint256 internal constant MAXPOOL = 30;
    uint256 internal constant AVGPOOL = 31;

    struct Step {
        uint256 kind;
        uint256[] inputs;
        uint256[][] inShapes;
        int256[] inScales;
        uint256[] shape;
        int256 scale;
        int256[] params;
        bytes32[] roots;
    }

    function decode(bytes calldata message) internal pure returns (Step memory s) {
        uint8 p = message.length == 0 ? 0 : uint8(message[0]);
        if (p != PREFIX) revert NotAStep(p);
        _head(s, message[1:]);
        _tail(s, message[1:]);
    }

    // Two half decodes of the same tuple (abi.decode ignores what follows the types it reads):
    // one decode of all eight fields needs more stack slots than the EVM can reach.
    function _head(Step memory s, bytes calldata body) private pure {
        (s.kind, s.inputs, s.inShapes, s.inScales) =
            abi.decode(body, (uint256, uint256[], uint256[][], int256[]));
    }

    function _tail(Step memory s, bytes calldata body) private pure {
        (,,,, s.shape, s.scale) =
            abi.decode(body, (uint256, uint256, uint256, uint256, uint256[], int256));
        (,,,,,, s.params, s.roots) = abi.decode(
            body, (uint256, uint256, uint256, uint256, uint256, uint256, int256[], bytes32[])
        );
    }
}
