// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IndexMap
/// @notice Index arithmetic of the one-step verifier: for ONE output element of one step, which
///         operand (input of the step) and which element of it the output element reads.
///         The Python twin is `disputes/tracing/operands.py` (`operands_for`); the kernels whose element
///         order this follows are `disputes/execution/ops/shape.py` (disputes/SPEC.md §4 and §7).
/// @dev Encoding (every function):
///      - A shape is `uint256[]`, one entry per axis, outermost first (NumPy order); a 0-d tensor
///        is the empty array. Rank is at most `MAX_RANK` (8), so every per-axis loop is bounded.
///      - An index (multi-index) is `uint256[]` of the same length as the shape it indexes.
///      - A flat index is the row-major (C order) position, `ravel(index, shape)`.
///      - A Merkle leaf is one row along the last axis (disputes/commitments/merkle.py): `rowOf` is the ravel
///        of the index without its last axis, and the column inside the leaf is the last index.
///        A 0-d or 1-d tensor is a single row (row 0; the column of a 0-d element is 0).
///      - Step params that may be negative in the committed program (slice starts/steps, gather
///        indices, embed ids) are `int256`, so a verifier passes the committed integers as they
///        are and a malformed value reverts with a named error instead of wrapping.
///      Functions that are given the output shape check the output index against it; the others
///      (slice, gather, embed, concat) expect the caller to have checked it with `checkIndex`
///      against the step's committed shape. Every caller should also `checkIndex` the returned
///      operand index against the operand's shape before reading its leaf: for slice and gather
///      that check is what rejects params pointing outside the operand.
library IndexMap {
    /// @notice Largest rank accepted. Bounds every per-axis loop (and the programs lowered from
    ///         ONNX stay far below it).
    uint256 internal constant MAX_RANK = 8;

    error RankTooLarge(uint256 rank, uint256 maxRank);
    error RankMismatch(uint256 indexRank, uint256 shapeRank);
    error IndexOutOfRange(uint256 axis, uint256 index, uint256 size);
    error FlatOutOfRange(uint256 flat, uint256 size);
    error SizeMismatch(uint256 outSize, uint256 inSize);
    error OperandRankTooLarge(uint256 operandRank, uint256 outRank);
    error NotBroadcastable(uint256 axis, uint256 operandSize, uint256 outSize);
    error BadPerm(uint256 position, uint256 axis);
    error ZeroStep(uint256 axis);
    error NegativeSource(uint256 axis, int256 position);
    error ValueTooLarge(uint256 value);
    error GatherAxisOutOfRange(uint256 axis, uint256 indicesRank, uint256 outRank);
    error GatherIndicesSize(uint256 count, uint256 expected);
    error NegativeGatherIndex(uint256 position, int256 value);
    error IdsRankTooLarge(uint256 idsRank, uint256 outRank);
    error IdOutOfRange(int256 id, uint256 rows);
    error AxisOutOfRange(uint256 axis, uint256 rank);
    error ConcatOutOfRange(uint256 position, uint256 total);

    // ------------------------------------------------------------------ shape helpers

    /// @notice Reverts unless `rank <= MAX_RANK`.
    function checkRank(uint256 rank) internal pure {
        if (rank > MAX_RANK) revert RankTooLarge(rank, MAX_RANK);
    }

    /// @notice Number of elements of `shape` (1 for a 0-d tensor).
    function size(uint256[] memory shape) internal pure returns (uint256 n) {
        checkRank(shape.length);
        n = 1;
        for (uint256 k = 0; k < shape.length; ++k) {
            n *= shape[k];
        }
    }

    /// @notice Reverts unless `index` has `shape`'s rank and lies inside it on every axis.
    function checkIndex(uint256[] memory index, uint256[] memory shape) internal pure {
        checkRank(shape.length);
        if (index.length != shape.length) revert RankMismatch(index.length, shape.length);
        for (uint256 k = 0; k < shape.length; ++k) {
            if (index[k] >= shape[k]) revert IndexOutOfRange(k, index[k], shape[k]);
        }
    }

    /// @notice Row-major flat position of `index` in `shape` (0 for a 0-d tensor).
    function ravel(uint256[] memory index, uint256[] memory shape)
        internal
        pure
        returns (uint256 flat)
    {
        checkIndex(index, shape);
        return _horner(index, shape, shape.length);
    }

    /// @notice The multi-index at row-major position `flat` of `shape` (inverse of `ravel`).
    function unravel(uint256 flat, uint256[] memory shape)
        internal
        pure
        returns (uint256[] memory index)
    {
        uint256 n = size(shape);
        if (flat >= n) revert FlatOutOfRange(flat, n);
        index = new uint256[](shape.length);
        // Peel axes from the innermost: the last axis varies fastest in row-major order.
        for (uint256 k = shape.length; k > 0; --k) {
            index[k - 1] = flat % shape[k - 1];
            flat /= shape[k - 1];
        }
    }

    /// @notice Merkle leaf (row) holding `index`: the ravel of the index without its last axis,
    ///         because leaves are rows along the last axis. A 0-d or 1-d tensor is one row (0).
    function rowOf(uint256[] memory index, uint256[] memory shape)
        internal
        pure
        returns (uint256 row)
    {
        checkIndex(index, shape);
        if (shape.length <= 1) return 0;
        return _horner(index, shape, shape.length - 1);
    }

    /// @notice Position of `index`'s element inside its row: its last index (0 when 0-d).
    function columnOf(uint256[] memory index) internal pure returns (uint256 column) {
        return index.length == 0 ? 0 : index[index.length - 1];
    }

    // ------------------------------------------------------------------ elementwise (§4)

    /// @notice NumPy broadcasting: the element of an operand of shape `operandShape` that the
    ///         output element `outIndex` of shape `outShape` reads. Axes align on the right; a
    ///         size-1 operand axis is read at 0, an axis the operand lacks is dropped.
    function broadcast(
        uint256[] memory outIndex,
        uint256[] memory outShape,
        uint256[] memory operandShape
    ) internal pure returns (uint256[] memory index) {
        checkIndex(outIndex, outShape);
        uint256 rank = operandShape.length;
        if (rank > outShape.length) revert OperandRankTooLarge(rank, outShape.length);
        uint256 off = outShape.length - rank;
        index = new uint256[](rank);
        for (uint256 k = 0; k < rank; ++k) {
            uint256 n = operandShape[k];
            if (n == 1) continue; // stretched axis: every output position reads element 0
            // A committed shape that does not broadcast would otherwise read past the operand.
            if (n != outShape[off + k]) revert NotBroadcastable(k, n, outShape[off + k]);
            index[k] = outIndex[off + k];
        }
    }

    // ------------------------------------------------------------------ data movement (§7)

    /// @notice `reshape` (also Flatten/Squeeze/Unsqueeze): the same row-major position in the
    ///         operand's shape `inShape`.
    function reshapeSource(
        uint256[] memory outIndex,
        uint256[] memory outShape,
        uint256[] memory inShape
    ) internal pure returns (uint256[] memory index) {
        uint256 outSize = size(outShape);
        uint256 inSize = size(inShape);
        if (outSize != inSize) revert SizeMismatch(outSize, inSize);
        return unravel(ravel(outIndex, outShape), inShape);
    }

    /// @notice `transpose(perm)`: output axis k is operand axis perm[k] (NumPy's convention), so
    ///         the operand index has `outIndex[k]` at position `perm[k]`.
    function transposeSource(
        uint256[] memory outIndex,
        uint256[] memory outShape,
        uint256[] memory perm
    ) internal pure returns (uint256[] memory index) {
        checkIndex(outIndex, outShape);
        uint256 rank = outShape.length;
        if (perm.length != rank) revert RankMismatch(perm.length, rank);
        index = new uint256[](rank);
        uint256 seen; // bitmask of operand axes already named (rank <= 8 fits easily)
        for (uint256 k = 0; k < rank; ++k) {
            uint256 p = perm[k];
            // A repeated or out-of-range axis would leave an operand axis unset (read at 0).
            if (p >= rank || (seen >> p) & 1 == 1) revert BadPerm(k, p);
            seen |= 1 << p;
            index[p] = outIndex[k];
        }
    }

    /// @notice `slice`: operand index `starts[k] + outIndex[k] * steps[k]` per axis.
    /// @dev `starts`/`steps` are the committed, already-normalized triples' first and third
    ///      entries: the lowering stores `slice(start, stop, step).indices(n)` (Python's
    ///      normalization), so negative and omitted ONNX bounds are already resolved and the
    ///      start is the first element read on both positive and negative steps. The stop only
    ///      fixes the output's length (committed as the step's shape; a negative stop means "to
    ///      the start" in the executor) and plays no part in the mapping.
    function sliceSource(
        uint256[] memory outIndex,
        int256[] memory starts,
        int256[] memory steps
    ) internal pure returns (uint256[] memory index) {
        uint256 rank = outIndex.length;
        checkRank(rank);
        if (starts.length != rank) revert RankMismatch(starts.length, rank);
        if (steps.length != rank) revert RankMismatch(steps.length, rank);
        index = new uint256[](rank);
        for (uint256 k = 0; k < rank; ++k) {
            if (steps[k] == 0) revert ZeroStep(k); // Python rejects it; never a valid program
            int256 pos = starts[k] + _toInt(outIndex[k]) * steps[k];
            // Only reachable with params that contradict the output shape (e.g. start -1).
            if (pos < 0) revert NegativeSource(k, pos);
            index[k] = uint256(pos);
        }
    }

    /// @notice `sliceSource` on the params exactly as committed: `slices` is the flat list of
    ///         (start, stop, step) triples, one per axis.
    function sliceSourceTriples(uint256[] memory outIndex, int256[] memory slices)
        internal
        pure
        returns (uint256[] memory index)
    {
        uint256 rank = outIndex.length;
        checkRank(rank);
        if (slices.length != 3 * rank) revert RankMismatch(slices.length / 3, rank);
        int256[] memory starts = new int256[](rank);
        int256[] memory steps = new int256[](rank);
        for (uint256 k = 0; k < rank; ++k) {
            starts[k] = slices[3 * k];
            steps[k] = slices[3 * k + 2];
        }
        return sliceSource(outIndex, starts, steps);
    }

    /// @notice `gather(axis, indices, indicesShape)` with constant indices (`np.take`): output
    ///         axes `axis .. axis + q` (q = rank of the indices) pick one constant index, which
    ///         replaces them in the operand index; the other axes pass through.
    /// @dev `indices` is the committed flat (row-major) list; the lowering has already turned
    ///      negative ONNX indices into `i + n`, so a negative one reverts here rather than
    ///      silently wrapping. Whether it is below the operand's axis size is the caller's
    ///      `checkIndex` on the result.
    function gatherSource(
        uint256[] memory outIndex,
        uint256 axis,
        int256[] memory indices,
        uint256[] memory indicesShape
    ) internal pure returns (uint256[] memory index) {
        uint256 rank = outIndex.length;
        checkRank(rank);
        uint256 q = indicesShape.length;
        if (axis + q > rank) revert GatherAxisOutOfRange(axis, q, rank);
        uint256 count = size(indicesShape);
        if (indices.length != count) revert GatherIndicesSize(indices.length, count);
        uint256[] memory pos = new uint256[](q);
        for (uint256 k = 0; k < q; ++k) {
            pos[k] = outIndex[axis + k];
        }
        uint256 flat = ravel(pos, indicesShape); // also checks pos lies inside indicesShape
        int256 picked = indices[flat];
        if (picked < 0) revert NegativeGatherIndex(flat, picked);
        index = new uint256[](rank - q + 1);
        for (uint256 k = 0; k < axis; ++k) {
            index[k] = outIndex[k];
        }
        index[axis] = uint256(picked);
        for (uint256 k = axis + q; k < rank; ++k) {
            index[k - q + 1] = outIndex[k];
        }
    }

    /// @notice `embed(table, ids)`: the element of the ids tensor (rank `idsRank`) that output
    ///         element `outIndex` reads: its first `idsRank` indices.
    function embedIdsIndex(uint256[] memory outIndex, uint256 idsRank)
        internal
        pure
        returns (uint256[] memory index)
    {
        checkRank(outIndex.length);
        if (idsRank > outIndex.length) revert IdsRankTooLarge(idsRank, outIndex.length);
        index = new uint256[](idsRank);
        for (uint256 k = 0; k < idsRank; ++k) {
            index[k] = outIndex[k];
        }
    }

    /// @notice `embed(table, ids)`: `out[i.., j..] = table[ids[i..], j..]`. Given the id VALUE
    ///         (read from the ids element `embedIdsIndex` names, authenticated by the caller), the
    ///         table element is `(id, outIndex[idsRank..])`; for the usual 2-d table its leaf is
    ///         row `id` and its column the output's last index.
    /// @dev Ids outside `[0, tableRows)` revert `IdOutOfRange`: the executor refuses them too
    ///      (`ExecutionInputError`), so no honest trace contains one.
    function embedSource(
        uint256[] memory outIndex,
        uint256 idsRank,
        int256 idValue,
        uint256 tableRows
    ) internal pure returns (uint256[] memory index) {
        checkRank(outIndex.length);
        if (idsRank > outIndex.length) revert IdsRankTooLarge(idsRank, outIndex.length);
        if (idValue < 0 || uint256(idValue) >= tableRows) revert IdOutOfRange(idValue, tableRows);
        uint256 rest = outIndex.length - idsRank;
        index = new uint256[](rest + 1);
        index[0] = uint256(idValue);
        for (uint256 k = 0; k < rest; ++k) {
            index[k + 1] = outIndex[idsRank + k];
        }
    }

    /// @notice `concat(axis)`: operands laid end to end along `axis`; `sizes[j]` is operand j's
    ///         length on that axis. Returns the operand (0-based position among the step's inputs)
    ///         and the index in it: `outIndex` with `axis` shifted back by the lengths before it.
    function concatSource(uint256[] memory outIndex, uint256 axis, uint256[] memory sizes)
        internal
        pure
        returns (uint256 operand, uint256[] memory index)
    {
        uint256 rank = outIndex.length;
        checkRank(rank);
        if (axis >= rank) revert AxisOutOfRange(axis, rank);
        uint256 pos = outIndex[axis];
        uint256 start;
        // One pass over the operands (as many as the step has inputs); size-0 ones are skipped
        // because no position falls inside them.
        for (uint256 j = 0; j < sizes.length; ++j) {
            if (pos < start + sizes[j]) {
                index = _copy(outIndex);
                index[axis] = pos - start;
                return (j, index);
            }
            start += sizes[j];
        }
        revert ConcatOutOfRange(pos, start);
    }

    /// @notice `expand`: a broadcast of its one operand to the output shape (`np.broadcast_to`).
    function expandSource(
        uint256[] memory outIndex,
        uint256[] memory outShape,
        uint256[] memory inShape
    ) internal pure returns (uint256[] memory index) {
        return broadcast(outIndex, outShape, inShape);
    }

    /// @notice `copy`: the same index in the (same-shaped) operand; a fresh array, so a caller
    ///         that edits the result does not edit its output index.
    function copySource(uint256[] memory outIndex, uint256[] memory outShape)
        internal
        pure
        returns (uint256[] memory index)
    {
        checkIndex(outIndex, outShape);
        return _copy(outIndex);
    }

    // ------------------------------------------------------------------ internals

    /// @dev Row-major position of the first `axes` entries of `index` within the first `axes`
    ///      dims of `shape`; callers have checked rank and ranges.
    function _horner(uint256[] memory index, uint256[] memory shape, uint256 axes)
        private
        pure
        returns (uint256 flat)
    {
        for (uint256 k = 0; k < axes; ++k) {
            flat = flat * shape[k] + index[k];
        }
    }

    function _copy(uint256[] memory a) private pure returns (uint256[] memory b) {
        b = new uint256[](a.length);
        for (uint256 k = 0; k < a.length; ++k) {
            b[k] = a[k];
        }
    }

    /// @dev uint256 → int256 without wrapping (indices are tiny; a huge one is malformed).
    function _toInt(uint256 v) private pure returns (int256) {
        if (v > uint256(type(int256).max)) revert ValueTooLarge(v);
        return int256(v);
    }
}
