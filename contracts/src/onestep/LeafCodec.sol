// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title LeafCodec: read one Merkle leaf message of a tensor row (disputes/commitments/merkle.py, rule 2).
/// @notice A leaf message is exactly the bytes that are hashed into a tensor leaf:
///         narrow `0x02 ‖ be32(x_0) ‖ be32(x_1) ‖ …` (every value fits int32) or
///         wide   `0x00 ‖ be64(x_0) ‖ be64(x_1) ‖ …` (some value does not).
///         Values are two's complement big-endian. The message lives in calldata, so reading a
///         value is one calldataload and no copy; only `hash` touches memory.
/// @dev Every reader but `hash` validates the shape first (via `count`): a verifier must never
///      read a value out of a message whose length does not match its prefix.
library LeafCodec {
    uint8 internal constant WIDE = 0x00;
    uint8 internal constant NARROW = 0x02;

    /// The message is empty or its body is not a whole number of values for its prefix.
    error BadLeaf(uint256 length);
    /// The first byte is neither 0x00 (wide) nor 0x02 (narrow); 0x01 is the inner-node prefix.
    error UnknownPrefix(uint8 prefix);
    /// Value index `i` is not below the row's `n` values.
    error IndexOutOfRow(uint256 i, uint256 n);
    /// A wide (0x00) leaf whose values all fit int32: the canonical encoding is narrow, and a
    /// provider could otherwise commit a correct tensor under a different root.
    error NonCanonicalLeaf();

    /// Bits 32..63 of each of the four 64-bit lanes of a word.
    uint256 private constant HIGH_HALVES =
        0xffffffff00000000ffffffff00000000ffffffff00000000ffffffff00000000;

    /// The prefix byte; BadLeaf(0) for an empty message.
    function prefix(bytes calldata leaf) internal pure returns (uint8 p) {
        if (leaf.length == 0) revert BadLeaf(0);
        assembly ("memory-safe") {
            p := shr(248, calldataload(leaf.offset))
        }
    }

    /// Whether the message is wide (0x00); reverts for a malformed message like `count`.
    function isWide(bytes calldata leaf) internal pure returns (bool) {
        count(leaf);
        return prefix(leaf) == WIDE;
    }

    /// Number of values in the message (0 for a lone prefix, which is an empty row).
    function count(bytes calldata leaf) internal pure returns (uint256) {
        uint8 p = prefix(leaf);
        uint256 body = leaf.length - 1;
        if (p == NARROW) {
            if (body & 3 != 0) revert BadLeaf(leaf.length);
            return body >> 2;
        }
        if (p == WIDE) {
            if (body & 7 != 0) revert BadLeaf(leaf.length);
            return body >> 3;
        }
        revert UnknownPrefix(p);
    }

    /// Value `i`, sign-extended to int256.
    function at(bytes calldata leaf, uint256 i) internal pure returns (int256 v) {
        uint256 n = count(leaf);
        if (i >= n) revert IndexOutOfRow(i, n);
        return prefix(leaf) == NARROW ? _narrowAt(leaf, i) : _wideAt(leaf, i);
    }

    /// keccak256 of the message: the leaf hash the tensor root commits to. Does not validate
    /// the message (a hash of any bytes is well defined); verifiers call checkCanonical first.
    function hash(bytes calldata leaf) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            // Scratch copy past the free-memory pointer: nothing outlives this block, so no
            // allocation (and no memory growth across repeated calls).
            let ptr := mload(0x40)
            calldatacopy(ptr, leaf.offset, leaf.length)
            h := keccak256(ptr, leaf.length)
        }
    }

    /// Reverts unless the message is well formed and in its canonical encoding.
    function checkCanonical(bytes calldata leaf) internal pure {
        uint256 n = count(leaf);
        if (prefix(leaf) == WIDE && !_hasWideValue(leaf, n)) revert NonCanonicalLeaf();
    }

    // ---- internals (no bounds checks: callers checked i < count) ----

    function _narrowAt(bytes calldata leaf, uint256 i) private pure returns (int256 v) {
        assembly ("memory-safe") {
            v := signextend(3, shr(224, calldataload(add(add(leaf.offset, 1), shl(2, i)))))
        }
    }

    function _wideAt(bytes calldata leaf, uint256 i) private pure returns (int256 v) {
        assembly ("memory-safe") {
            v := signextend(7, shr(192, calldataload(add(add(leaf.offset, 1), shl(3, i)))))
        }
    }

    /// Whether any of the `n` int64 values of a wide body lies outside int32.
    /// @dev Four values per calldataload (SWAR): x fits int32 iff bits 31..63 of x are all
    ///      equal, i.e. iff bits 32..63 of x ^ (x << 1) are zero. Shifting the whole word left
    ///      by one moves bit 31 of a lane into bit 32 of the same lane, never across lanes, for
    ///      exactly the bits that HIGH_HALVES keeps. The main loop takes eight words (32 values)
    ///      per turn and tests once per turn: about 40 gas a word, ~15.5k gas for a 1536-value
    ///      row in the worst case (the only wide value last). The last word is masked to the
    ///      bytes of the leaf: the calldata after it is arbitrary (e.g. the proof).
    function _hasWideValue(bytes calldata leaf, uint256 n) private pure returns (bool wide) {
        assembly ("memory-safe") {
            let p := add(leaf.offset, 1)
            let end := add(p, shl(3, n))
            let acc := 0
            let blocks := sub(end, and(sub(end, p), 255)) // end of the last whole 8-word block
            for {} lt(p, blocks) { p := add(p, 256) } {
                let w := calldataload(p)
                acc := xor(w, shl(1, w))
                w := calldataload(add(p, 32))
                acc := or(acc, xor(w, shl(1, w)))
                w := calldataload(add(p, 64))
                acc := or(acc, xor(w, shl(1, w)))
                w := calldataload(add(p, 96))
                acc := or(acc, xor(w, shl(1, w)))
                w := calldataload(add(p, 128))
                acc := or(acc, xor(w, shl(1, w)))
                w := calldataload(add(p, 160))
                acc := or(acc, xor(w, shl(1, w)))
                w := calldataload(add(p, 192))
                acc := or(acc, xor(w, shl(1, w)))
                w := calldataload(add(p, 224))
                acc := or(acc, xor(w, shl(1, w)))
                if and(acc, HIGH_HALVES) {
                    p := end // found one: skip the tail loops below
                    break
                }
            }
            for {} lt(add(p, 31), end) { p := add(p, 32) } {
                let w := calldataload(p)
                acc := or(acc, xor(w, shl(1, w)))
            }
            if lt(p, end) {
                let w := calldataload(p)
                let keep := shl(sub(256, shl(3, sub(end, p))), not(0)) // the leaf's bytes only
                acc := or(acc, and(xor(w, shl(1, w)), keep))
            }
            wide := iszero(iszero(and(acc, HIGH_HALVES)))
        }
    }
}
