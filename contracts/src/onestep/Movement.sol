// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IndexMap} from "./IndexMap.sol";
import {Openings} from "./Openings.sol";
import {StepCodec} from "./StepCodec.sol";

/// @title Movement
/// @notice One element of a data-movement step: it IS one operand element (SPEC §7).
///         Convolution and pooling windows are `Spatial`'s.
library Movement {
    /// The step's committed params do not have the layout its kind needs.
    error BadMovementParams(uint256 kind, uint256 length);

    function element(
        StepCodec.Step memory s,
        uint256[] memory el,
        Openings.Slot[] calldata slots
    ) internal pure returns (int256) {
        uint256 k = s.kind;
        if (k == StepCodec.EMBED) return _embed(s, el, slots);
        if (k == StepCodec.CONCAT) return _concat(s, el, slots);
        return Openings.value(s, slots, 0, _source(s, el));
    }

    function _source(StepCodec.Step memory s, uint256[] memory el)
        private
        pure
        returns (uint256[] memory)
    {
        uint256 k = s.kind;
        if (k == StepCodec.RESHAPE) return IndexMap.reshapeSource(el, s.shape, s.inShapes[0]);
        if (k == StepCodec.TRANSPOSE) return IndexMap.transposeSource(el, s.shape, _uints(s.params));
        if (k == StepCodec.SLICE) return IndexMap.sliceSourceTriples(el, s.params);
        if (k == StepCodec.GATHER) return _gather(s, el);
        if (k == StepCodec.EXPAND) return IndexMap.expandSource(el, s.shape, s.inShapes[0]);
        return IndexMap.copySource(el, s.shape);
    }

    /// @dev gather params: [axis, rank, indices_shape…, indices…] (descriptor.PARAM_LAYOUT).
    function _gather(StepCodec.Step memory s, uint256[] memory el)
        private
        pure
        returns (uint256[] memory)
    {
        int256[] memory p = s.params;
        if (p.length < 2 || p[1] < 0 || uint256(p[1]) + 2 > p.length) {
            revert BadMovementParams(s.kind, p.length);
        }
        uint256 rank = uint256(p[1]);
        uint256[] memory ishape = new uint256[](rank);
        for (uint256 a = 0; a < rank; a++) {
            ishape[a] = uint256(p[2 + a]);
        }
        int256[] memory indices = new int256[](p.length - 2 - rank);
        for (uint256 j = 0; j < indices.length; j++) {
            indices[j] = p[2 + rank + j];
        }
        return IndexMap.gatherSource(el, uint256(p[0]), indices, ishape);
    }

    /// @dev embed(table, ids): the id is itself an opened value of operand 1.
    function _embed(StepCodec.Step memory s, uint256[] memory el, Openings.Slot[] calldata slots)
        private
        pure
        returns (int256)
    {
        uint256 idsRank = s.inShapes[1].length;
        int256 id = Openings.value(s, slots, 1, IndexMap.embedIdsIndex(el, idsRank));
        uint256 rows = s.inShapes[0].length == 0 ? 0 : s.inShapes[0][0];
        return Openings.value(s, slots, 0, IndexMap.embedSource(el, idsRank, id, rows));
    }

    function _concat(StepCodec.Step memory s, uint256[] memory el, Openings.Slot[] calldata slots)
        private
        pure
        returns (int256)
    {
        if (s.params.length != 1) revert BadMovementParams(s.kind, s.params.length);
        uint256 axis = uint256(s.params[0]);
        uint256[] memory sizes = new uint256[](s.inShapes.length);
        for (uint256 j = 0; j < sizes.length; j++) {
            sizes[j] = s.inShapes[j][axis];
        }
        (uint256 operand, uint256[] memory index) = IndexMap.concatSource(el, axis, sizes);
        return Openings.value(s, slots, operand, index);
    }

    function _uints(int256[] memory v) private pure returns (uint256[] memory out) {
        out = new uint256[](v.length);
        for (uint256 j = 0; j < v.length; j++) {
            if (v[j] < 0) revert BadMovementParams(StepCodec.TRANSPOSE, v.length);
            out[j] = uint256(v[j]);
        }
    }
}
