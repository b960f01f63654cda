// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {LeafCodec} from "./LeafCodec.sol";
import {Merkle} from "./Merkle.sol";

/// @title MerkleHarness: Merkle and LeafCodec behind external functions, for tests only.
/// @notice Single calls mirror the libraries one to one (for gas estimates and plain reverts);
///         the batched `try*` calls run many cases in one eth_call and return each case's raw
///         revert data (empty on success), so a test checks thousands of cases in a few RPCs.
///         The try* calls re-enter this contract (`this.f`) because only an external call can
///         be caught.
contract MerkleHarness {
    struct RowCase {
        bytes32 root;
        bytes leaf;
        uint256 row;
        uint256 nRows;
        bytes32[] proof;
    }

    struct SlotCase {
        bytes32 checkpoint;
        bytes32 slotRoot;
        uint256 slot;
        uint256 nSlots;
        bytes32[] proof;
    }

    // ---- LeafCodec, one call each ----

    function count(bytes calldata leaf) external pure returns (uint256) {
        return LeafCodec.count(leaf);
    }

    function at(bytes calldata leaf, uint256 i) external pure returns (int256) {
        return LeafCodec.at(leaf, i);
    }

    function hash(bytes calldata leaf) external pure returns (bytes32) {
        return LeafCodec.hash(leaf);
    }

    function checkCanonical(bytes calldata leaf) external pure {
        LeafCodec.checkCanonical(leaf);
    }

    /// checkCanonical of the first `len` bytes of `buf`: the bytes after the leaf are then
    /// chosen by the test (in an ABI-encoded `bytes` they are zero padding).
    function checkCanonicalIn(bytes calldata buf, uint256 len) external pure {
        LeafCodec.checkCanonical(buf[:len]);
    }

    // ---- Merkle, one call each ----

    function node(bytes32 l, bytes32 r) external pure returns (bytes32) {
        return Merkle.node(l, r);
    }

    function zeroHash(uint256 height) external pure returns (bytes32) {
        return Merkle.zeroHash(height);
    }

    function depthFor(uint256 n) external pure returns (uint256) {
        return Merkle.depthFor(n);
    }

    function root(bytes32 leafHash, uint256 index, bytes32[] calldata proof)
        external
        pure
        returns (bytes32)
    {
        return Merkle.root(leafHash, index, proof);
    }

    function verify(bytes32 expected, bytes32 leafHash, uint256 index, bytes32[] calldata proof)
        external
        pure
    {
        Merkle.verify(expected, leafHash, index, proof);
    }

    function verifyRow(
        bytes32 tensorRoot,
        bytes calldata leaf,
        uint256 row,
        uint256 nRows,
        bytes32[] calldata proof
    ) external pure returns (uint256) {
        return Merkle.verifyRow(tensorRoot, leaf, row, nRows, proof);
    }

    function verifySlot(
        bytes32 checkpoint,
        bytes32 slotRoot,
        uint256 slot,
        uint256 nSlots,
        bytes32[] calldata proof
    ) external pure {
        Merkle.verifySlot(checkpoint, slotRoot, slot, nSlots, proof);
    }

    // ---- gas of the library code alone (no call, calldata or ABI overhead) ----

    function gasVerifyRow(
        bytes32 tensorRoot,
        bytes calldata leaf,
        uint256 row,
        uint256 nRows,
        bytes32[] calldata proof
    ) external view returns (uint256 used) {
        used = gasleft();
        Merkle.verifyRow(tensorRoot, leaf, row, nRows, proof);
        used -= gasleft();
    }

    function gasCheckCanonical(bytes calldata leaf) external view returns (uint256 used) {
        used = gasleft();
        LeafCodec.checkCanonical(leaf);
        used -= gasleft();
    }

    // ---- batches ----

    /// Hash, count and every value of each (well-formed) leaf; reverts on the first bad one.
    function decode(bytes[] calldata leaves)
        external
        pure
        returns (bytes32[] memory hashes, uint256[] memory counts, int256[][] memory values)
    {
        hashes = new bytes32[](leaves.length);
        counts = new uint256[](leaves.length);
        values = new int256[][](leaves.length);
        for (uint256 k; k < leaves.length; ++k) {
            bytes calldata leaf = leaves[k];
            hashes[k] = LeafCodec.hash(leaf);
            counts[k] = LeafCodec.count(leaf);
            values[k] = new int256[](counts[k]);
            for (uint256 i; i < counts[k]; ++i) {
                values[k][i] = LeafCodec.at(leaf, i);
            }
        }
    }

    function nodes(bytes32[] calldata ls, bytes32[] calldata rs)
        external
        pure
        returns (bytes32[] memory out)
    {
        out = new bytes32[](ls.length);
        for (uint256 k; k < ls.length; ++k) {
            out[k] = Merkle.node(ls[k], rs[k]);
        }
    }

    function zeroHashes(uint256 upTo) external pure returns (bytes32[] memory out) {
        out = new bytes32[](upTo + 1);
        for (uint256 k; k <= upTo; ++k) {
            out[k] = Merkle.zeroHash(k);
        }
    }

    function depths(uint256[] calldata ns) external pure returns (uint256[] memory out) {
        out = new uint256[](ns.length);
        for (uint256 k; k < ns.length; ++k) {
            out[k] = Merkle.depthFor(ns[k]);
        }
    }

    /// Merkle.root of each (leafHash, index, proof); reverts on the first index out of range.
    function roots(
        bytes32[] calldata leafHashes,
        uint256[] calldata indices,
        bytes32[][] calldata proofs
    ) external pure returns (bytes32[] memory out) {
        out = new bytes32[](leafHashes.length);
        for (uint256 k; k < leafHashes.length; ++k) {
            out[k] = Merkle.root(leafHashes[k], indices[k], proofs[k]);
        }
    }

    /// LeafCodec.at(leaves[k], indices[k]) for each k: the value, or the revert data.
    function tryAt(bytes[] calldata leaves, uint256[] calldata indices)
        external
        view
        returns (int256[] memory vals, bytes[] memory errs)
    {
        vals = new int256[](leaves.length);
        errs = new bytes[](leaves.length);
        for (uint256 k; k < leaves.length; ++k) {
            try this.at(leaves[k], indices[k]) returns (int256 v) {
                vals[k] = v;
            } catch (bytes memory err) {
                errs[k] = err;
            }
        }
    }

    /// LeafCodec.checkCanonical of each leaf: empty data when it passes, else the revert data.
    function tryCanonical(bytes[] calldata leaves) external view returns (bytes[] memory errs) {
        errs = new bytes[](leaves.length);
        for (uint256 k; k < leaves.length; ++k) {
            try this.checkCanonical(leaves[k]) {}
            catch (bytes memory err) {
                errs[k] = err;
            }
        }
    }

    /// checkCanonicalIn of each (buffer, leaf length): empty data when it passes.
    function tryCanonicalIn(bytes[] calldata bufs, uint256[] calldata lens)
        external
        view
        returns (bytes[] memory errs)
    {
        errs = new bytes[](bufs.length);
        for (uint256 k; k < bufs.length; ++k) {
            try this.checkCanonicalIn(bufs[k], lens[k]) {}
            catch (bytes memory err) {
                errs[k] = err;
            }
        }
    }

    /// Merkle.verify of each (root, leaf hash, index, proof): empty data when it passes.
    function tryVerify(
        bytes32[] calldata expected,
        bytes32[] calldata leafHashes,
        uint256[] calldata indices,
        bytes32[][] calldata proofs
    ) external view returns (bytes[] memory errs) {
        errs = new bytes[](expected.length);
        for (uint256 k; k < expected.length; ++k) {
            try this.verify(expected[k], leafHashes[k], indices[k], proofs[k]) {}
            catch (bytes memory err) {
                errs[k] = err;
            }
        }
    }

    /// Merkle.verifyRow of each case: the width on success (errs[k] empty), else the revert.
    function tryRows(RowCase[] calldata cs)
        external
        view
        returns (uint256[] memory widths, bytes[] memory errs)
    {
        widths = new uint256[](cs.length);
        errs = new bytes[](cs.length);
        for (uint256 k; k < cs.length; ++k) {
            RowCase calldata c = cs[k];
            try this.verifyRow(c.root, c.leaf, c.row, c.nRows, c.proof) returns (uint256 w) {
                widths[k] = w;
            } catch (bytes memory err) {
                errs[k] = err;
            }
        }
    }

    /// Merkle.verifySlot of each case: empty data when it passes, else the revert data.
    function trySlots(SlotCase[] calldata cs) external view returns (bytes[] memory errs) {
        errs = new bytes[](cs.length);
        for (uint256 k; k < cs.length; ++k) {
            SlotCase calldata c = cs[k];
            try this.verifySlot(c.checkpoint, c.slotRoot, c.slot, c.nSlots, c.proof) {}
            catch (bytes memory err) {
                errs[k] = err;
            }
        }
    }
}
