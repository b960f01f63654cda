// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IndexMap} from "./IndexMap.sol";

/// @title IndexMapHarness
/// @notice Test-only wrapper of `IndexMap`. The `...All` functions map EVERY element of an
///         output tensor (row-major order) in one call, so a differential test needs one RPC
///         call per tensor; the single-element functions exist to check reverts.
/// @dev Memory is never freed inside a call, so keep batches to a few hundred elements.
contract IndexMapHarness {
    // ------------------------------------------------------------------ helpers

    function unravelAll(uint256[] memory shape) external pure returns (uint256[][] memory out) {
        uint256 n = IndexMap.size(shape);
        out = new uint256[][](n);
        for (uint256 f = 0; f < n; ++f) {
            out[f] = IndexMap.unravel(f, shape);
        }
    }

    /// @notice Flat position, leaf (row) and column of each index.
    function locateAll(uint256[][] memory indices, uint256[] memory shape)
        external
        pure
        returns (uint256[] memory flats, uint256[] memory rows, uint256[] memory columns)
    {
        uint256 n = indices.length;
        flats = new uint256[](n);
        rows = new uint256[](n);
        columns = new uint256[](n);
        for (uint256 i = 0; i < n; ++i) {
            flats[i] = IndexMap.ravel(indices[i], shape);
            rows[i] = IndexMap.rowOf(indices[i], shape);
            columns[i] = IndexMap.columnOf(indices[i]);
        }
    }

    function unravel(uint256 flat, uint256[] memory shape)
        external
        pure
        returns (uint256[] memory)
    {
        return IndexMap.unravel(flat, shape);
    }

    function ravel(uint256[] memory index, uint256[] memory shape)
        external
        pure
        returns (uint256)
    {
        return IndexMap.ravel(index, shape);
    }

    function rowOf(uint256[] memory index, uint256[] memory shape)
        external
        pure
        returns (uint256)
    {
        return IndexMap.rowOf(index, shape);
    }

    function checkIndex(uint256[] memory index, uint256[] memory shape) external pure {
        IndexMap.checkIndex(index, shape);
    }

    // ------------------------------------------------------------------ batches (every element)

    function broadcastAll(uint256[] memory outShape, uint256[] memory operandShape)
        external
        pure
        returns (uint256[][] memory src)
    {
        src = _alloc(outShape);
        for (uint256 f = 0; f < src.length; ++f) {
            src[f] = IndexMap.broadcast(IndexMap.unravel(f, outShape), outShape, operandShape);
        }
    }

    function expandAll(uint256[] memory outShape, uint256[] memory inShape)
        external
        pure
        returns (uint256[][] memory src)
    {
        src = _alloc(outShape);
        for (uint256 f = 0; f < src.length; ++f) {
            src[f] = IndexMap.expandSource(IndexMap.unravel(f, outShape), outShape, inShape);
        }
    }

    function copyAll(uint256[] memory outShape) external pure returns (uint256[][] memory src) {
        src = _alloc(outShape);
        for (uint256 f = 0; f < src.length; ++f) {
            src[f] = IndexMap.copySource(IndexMap.unravel(f, outShape), outShape);
        }
    }

    function reshapeAll(uint256[] memory outShape, uint256[] memory inShape)
        external
        pure
        returns (uint256[][] memory src)
    {
        src = _alloc(outShape);
        for (uint256 f = 0; f < src.length; ++f) {
            src[f] = IndexMap.reshapeSource(IndexMap.unravel(f, outShape), outShape, inShape);
        }
    }

    function transposeAll(uint256[] memory outShape, uint256[] memory perm)
        external
        pure
        returns (uint256[][] memory src)
    {
        src = _alloc(outShape);
        for (uint256 f = 0; f < src.length; ++f) {
            src[f] = IndexMap.transposeSource(IndexMap.unravel(f, outShape), outShape, perm);
        }
    }

    /// @notice `slices`: the committed flat (start, stop, step) triples.
    function sliceAll(uint256[] memory outShape, int256[] memory slices)
        external
        pure
        returns (uint256[][] memory src)
    {
        src = _alloc(outShape);
        for (uint256 f = 0; f < src.length; ++f) {
            src[f] = IndexMap.sliceSourceTriples(IndexMap.unravel(f, outShape), slices);
        }
    }

    function gatherAll(
        uint256[] memory outShape,
        uint256 axis,
        int256[] memory indices,
        uint256[] memory indicesShape
    ) external pure returns (uint256[][] memory src) {
        src = _alloc(outShape);
        for (uint256 f = 0; f < src.length; ++f) {
            src[f] =
                IndexMap.gatherSource(IndexMap.unravel(f, outShape), axis, indices, indicesShape);
        }
    }

    /// @notice `ids`: the ids tensor's values, flat row-major; its shape is `outShape[:idsRank]`.
    ///         The id value of each output element is read here, as the verifier would after
    ///         authenticating the ids leaf.
    function embedAll(
        uint256[] memory outShape,
        uint256 idsRank,
        int256[] memory ids,
        uint256 tableRows
    ) external pure returns (uint256[][] memory idsIndex, uint256[][] memory tableIndex) {
        uint256[] memory idsShape = new uint256[](idsRank);
        for (uint256 k = 0; k < idsRank; ++k) {
            idsShape[k] = outShape[k];
        }
        tableIndex = _alloc(outShape);
        idsIndex = new uint256[][](tableIndex.length);
        for (uint256 f = 0; f < tableIndex.length; ++f) {
            uint256[] memory out = IndexMap.unravel(f, outShape);
            idsIndex[f] = IndexMap.embedIdsIndex(out, idsRank);
            int256 id = ids[IndexMap.ravel(idsIndex[f], idsShape)];
            tableIndex[f] = IndexMap.embedSource(out, idsRank, id, tableRows);
        }
    }

    function concatAll(uint256[] memory outShape, uint256 axis, uint256[] memory sizes)
        external
        pure
        returns (uint256[] memory operands, uint256[][] memory src)
    {
        src = _alloc(outShape);
        operands = new uint256[](src.length);
        for (uint256 f = 0; f < src.length; ++f) {
            (operands[f], src[f]) =
                IndexMap.concatSource(IndexMap.unravel(f, outShape), axis, sizes);
        }
    }

    // ------------------------------------------------------------------ single elements

    function broadcastOne(
        uint256[] memory outIndex,
        uint256[] memory outShape,
        uint256[] memory operandShape
    ) external pure returns (uint256[] memory) {
        return IndexMap.broadcast(outIndex, outShape, operandShape);
    }

    function reshapeOne(
        uint256[] memory outIndex,
        uint256[] memory outShape,
        uint256[] memory inShape
    ) external pure returns (uint256[] memory) {
        return IndexMap.reshapeSource(outIndex, outShape, inShape);
    }

    function transposeOne(
        uint256[] memory outIndex,
        uint256[] memory outShape,
        uint256[] memory perm
    ) external pure returns (uint256[] memory) {
        return IndexMap.transposeSource(outIndex, outShape, perm);
    }

    function sliceOne(uint256[] memory outIndex, int256[] memory starts, int256[] memory steps)
        external
        pure
        returns (uint256[] memory)
    {
        return IndexMap.sliceSource(outIndex, starts, steps);
    }

    function gatherOne(
        uint256[] memory outIndex,
        uint256 axis,
        int256[] memory indices,
        uint256[] memory indicesShape
    ) external pure returns (uint256[] memory) {
        return IndexMap.gatherSource(outIndex, axis, indices, indicesShape);
    }

    function embedOne(
        uint256[] memory outIndex,
        uint256 idsRank,
        int256 idValue,
        uint256 tableRows
    ) external pure returns (uint256[] memory) {
        return IndexMap.embedSource(outIndex, idsRank, idValue, tableRows);
    }

    function concatOne(uint256[] memory outIndex, uint256 axis, uint256[] memory sizes)
        external
        pure
        returns (uint256, uint256[] memory)
    {
        return IndexMap.concatSource(outIndex, axis, sizes);
    }

    function _alloc(uint256[] memory outShape) private pure returns (uint256[][] memory) {
        return new uint256[][](IndexMap.size(outShape));
    }
}
