// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {LeafCodec} from "./LeafCodec.sol";
import {Merkle} from "./Merkle.sol";

/// @title TensorRoot: the Merkle root of a tensor sent as packed be32 values (SPEC §8).
/// @notice The escrow's one way to commit to a tensor it receives whole: a request's inputs and
///         a claim's output. Rows are narrow leaves `keccak256(0x02 ‖ be32 values)`, padded to a
///         power of two with bytes32(0) and folded with `Merkle.node`; a one-row tensor's root is
///         its leaf (disputes.commitments.merkle.tensor_root, rules 1-4).
/// @dev be32 values always fit int32, so every row is narrow and canonical by construction: the
///      escrow never has to choose an encoding, and the root equals the executor's for the same
///      integers. A tensor whose values leave int32 cannot be sent this way (its leaves are wide).
library TensorRoot {
    /// `data` holds fewer than the `need` bytes the tensor starting at `offset` takes.
    error ShortTensorData(uint256 need, uint256 have);

    /// Root of the `rows` × `width` tensor whose be32 values start at `data[offset]`.
    /// @dev Leaf hashes are kept in one array of `rows` words and folded in place; an odd level
    ///      pairs its last node with the all-padding hash of that height, which is what padding
    ///      to the next power of two gives. A tensor with no rows has root bytes32(0).
    function ofBe32(bytes calldata data, uint256 offset, uint256 rows, uint256 width)
        internal
        pure
        returns (bytes32)
    {
        uint256 rowBytes = width * 4;
        uint256 need = offset + rows * rowBytes;
        if (need > data.length) revert ShortTensorData(need, data.length);
        if (rows == 0) return bytes32(0);
        return fold(_leaves(data, offset, rows, rowBytes));
    }

    /// keccak256(0x02 ‖ row) of each row, into a fresh array.
    function _leaves(bytes calldata data, uint256 offset, uint256 rows, uint256 rowBytes)
        private
        pure
        returns (bytes32[] memory level)
    {
        level = new bytes32[](rows);
        uint8 narrow = LeafCodec.NARROW;
        assembly ("memory-safe") {
            let buf := mload(0x40) // scratch past the allocated array; nothing allocates below
            mstore8(buf, narrow)
            let src := add(data.offset, offset)
            let out := add(level, 32)
            for { let r := 0 } lt(r, rows) { r := add(r, 1) } {
                calldatacopy(add(buf, 1), src, rowBytes)
                mstore(add(out, shl(5, r)), keccak256(buf, add(rowBytes, 1)))
                src := add(src, rowBytes)
            }
        }
    }

    /// Root of the tree over `level` (leaf hashes, rule 4): an odd level pairs its last node
    /// with the all-padding hash of its height, which is what padding to the next power of two
    /// gives. Overwrites `level`; no leaves give bytes32(0). The escrow's batch roots use it too.
    /// @dev In place, one keccak per inner node, bounded by the caller's leaf count.
    function fold(bytes32[] memory level) internal pure returns (bytes32) {
        uint256 n = level.length;
        if (n == 0) return bytes32(0);
        bytes32 pad; // Z_height
        while (n > 1) {
            uint256 half = (n + 1) / 2;
            for (uint256 i; i < half; ++i) {
                uint256 j = 2 * i;
                level[i] = Merkle.node(level[j], j + 1 < n ? level[j + 1] : pad);
            }
            pad = Merkle.node(pad, pad);
            n = half;
        }
        return level[0];
    }
}
