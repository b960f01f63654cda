// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {LeafCodec} from "./LeafCodec.sol";

/// @title Merkle: tensor and checkpoint inclusion proofs (disputes/commitments/merkle.py, rules 3-6).
/// @notice inner node = keccak256(0x01 ‖ left ‖ right); n leaves padded to the next power of
///         two with bytes32(0) leaves; a proof is the sibling hashes from the leaf level up.
///         `verifyRow` / `verifySlot` are what a one-step verifier calls: besides the proof
///         they check what the proof alone cannot (range against the known shape, depth,
///         canonical leaf encoding).
library Merkle {
    uint8 internal constant NODE = 0x01;

    /// The proof does not lead from the leaf to the root, or `index` >= 2**proof.length.
    error BadProof(uint256 index);
    /// The proof's length is not the depth the known number of leaves gives.
    error WrongDepth(uint256 got, uint256 want);
    /// The row index is not below the tensor's number of rows.
    error RowOutOfRange(uint256 row, uint256 nRows);
    /// The slot index is not below the checkpoint's number of slots.
    error SlotOutOfRange(uint256 slot, uint256 nSlots);

    /// keccak256(0x01 ‖ l ‖ r), 65 bytes hashed; the prefix keeps a node apart from any leaf.
    function node(bytes32 l, bytes32 r) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let ptr := mload(0x40) // scratch past the free-memory pointer; 65 bytes > 0x00-0x3f
            mstore8(ptr, NODE)
            mstore(add(ptr, 1), l)
            mstore(add(ptr, 33), r)
            h := keccak256(ptr, 65)
        }
    }

    /// Hash of an all-padding subtree: Z_0 = bytes32(0), Z_{k+1} = node(Z_k, Z_k).
    /// @dev Computed (one keccak per level) rather than stored: no storage reads, no table.
    function zeroHash(uint256 height) internal pure returns (bytes32 z) {
        for (uint256 k; k < height; ++k) {
            z = node(z, z);
        }
    }

    /// Depth of a tree over n leaves or slots: log2 of the next power of two >= max(n, 1).
    function depthFor(uint256 n) internal pure returns (uint256 d) {
        if (n <= 1) return 0;
        uint256 x = n - 1; // bit length of n - 1, by halving the search range
        for (uint256 s = 128; s > 0; s >>= 1) {
            if (x >> s != 0) {
                x >>= s;
                d += s;
            }
        }
        return d + 1;
    }

    /// The root that `proof` gives for `leafHash` at `index`.
    /// @dev Reverts BadProof(index) if index >= 2**proof.length: the proof would ignore the
    ///      high bits, so one opening could otherwise be claimed at many indices.
    function root(bytes32 leafHash, uint256 index, bytes32[] calldata proof)
        internal
        pure
        returns (bytes32 h)
    {
        uint256 n = proof.length;
        bool outside;
        assembly ("memory-safe") {
            outside := iszero(iszero(shr(n, index))) // shr by >= 256 is 0: any index fits
        }
        if (outside) revert BadProof(index);
        h = _fold(leafHash, index, proof);
    }

    /// Reverts BadProof(index) unless `leafHash` sits at `index` under `expected`.
    function verify(bytes32 expected, bytes32 leafHash, uint256 index, bytes32[] calldata proof)
        internal
        pure
    {
        if (root(leafHash, index, proof) != expected) revert BadProof(index);
    }

    /// Checks that `leaf` (the message, see LeafCodec) is row `row` of a tensor with `nRows`
    /// rows committed by `tensorRoot`; returns the row's number of values, which the caller
    /// must still compare with the tensor's last axis.
    /// @dev row < nRows matters: padding leaves are provable (a zero slot verifies like any
    ///      other leaf), so only the known shape stops one from passing as a row. A fixed depth
    ///      stops a proof from opening an inner node as if it were a leaf.
    function verifyRow(
        bytes32 tensorRoot,
        bytes calldata leaf,
        uint256 row,
        uint256 nRows,
        bytes32[] calldata proof
    ) internal pure returns (uint256 width) {
        if (row >= nRows) revert RowOutOfRange(row, nRows);
        _checkDepth(proof.length, nRows);
        LeafCodec.checkCanonical(leaf);
        verify(tensorRoot, LeafCodec.hash(leaf), row, proof);
        return LeafCodec.count(leaf);
    }

    /// Checks that `slotRoot` is slot `slot` of a checkpoint over `nSlots` slots. Tensor roots
    /// are leaves as they are (not re-hashed); an unfilled slot is bytes32(0) and provable.
    function verifySlot(
        bytes32 checkpoint,
        bytes32 slotRoot,
        uint256 slot,
        uint256 nSlots,
        bytes32[] calldata proof
    ) internal pure {
        if (slot >= nSlots) revert SlotOutOfRange(slot, nSlots);
        _checkDepth(proof.length, nSlots);
        verify(checkpoint, slotRoot, slot, proof);
    }

    function _checkDepth(uint256 got, uint256 n) private pure {
        uint256 want = depthFor(n);
        if (got != want) revert WrongDepth(got, want);
    }

    /// Hash up the path: bit k of index says whether the level-k node is a right child.
    /// @dev Branch-free: the running hash goes to the left or right word of the 65-byte node
    ///      buffer by the bit, the sibling to the other; the 0x01 prefix is written once.
    function _fold(bytes32 leafHash, uint256 index, bytes32[] calldata proof)
        private
        pure
        returns (bytes32 h)
    {
        h = leafHash;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore8(ptr, NODE)
            let end := add(proof.offset, shl(5, proof.length))
            for { let p := proof.offset } lt(p, end) { p := add(p, 32) } {
                let right := shl(5, and(index, 1)) // 32 if the running node is a right child
                mstore(add(add(ptr, 1), right), h)
                mstore(sub(add(ptr, 33), right), calldataload(p))
                h := keccak256(ptr, 65)
                index := shr(1, index)
            }
        }
    }
}
