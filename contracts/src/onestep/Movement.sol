// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {FixedPoint} from "./FixedPoint.sol";
import {IndexMap} from "./IndexMap.sol";
import {LeafCodec} from "./LeafCodec.sol";
import {Openings} from "./Openings.sol";
import {StepCodec} from "./StepCodec.sol";

/// @title Movement
/// @notice One element of a data-movement step (it IS one operand element, SPEC §7) and of a
///         convolution (its patch read element by element from the opened input rows).
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

    /// @notice conv(x, w[, bias]), params [kh, kw, top, left, bottom, right, sy, sx, shift]:
    ///         out[n,o,y,x] = rshift_round(Σ xp[n,c,y·sy+dy,x·sx+dx]·w[o,(c·kh+dy)·kw+dx]
    ///         + bias[o], shift); zero padding is skipped, not opened.
    function conv(StepCodec.Step memory s, uint256[] memory el, Openings.Slot[] calldata slots)
        internal
        pure
        returns (int256)
    {
        if (s.params.length != 9) revert BadMovementParams(s.kind, s.params.length);
        int256 acc = _patchSum(s, el, slots);
        if (s.inputs.length > 2) acc += Openings.value(s, slots, 2, _one(el[1]));
        return FixedPoint.checkBound(FixedPoint.rshiftRound(acc, s.params[8]));
    }

    function _patchSum(StepCodec.Step memory s, uint256[] memory el, Openings.Slot[] calldata slots)
        private
        pure
        returns (int256 acc)
    {
        Openings.Row calldata w = Openings.rowAt(s, slots, 1, _pairIndex(el[1], 0));
        uint256 channels = s.inShapes[0][1];
        uint256 kh = uint256(s.params[0]);
        for (uint256 c = 0; c < channels; c++) {
            for (uint256 dy = 0; dy < kh; dy++) {
                acc += _rowSum(s, el, slots, w, c, dy);
            }
        }
    }

    /// @dev Σ over dx of input row (n, c, y·sy + dy - top) of the patch (0 when it is padding).
    function _rowSum(
        StepCodec.Step memory s,
        uint256[] memory el,
        Openings.Slot[] calldata slots,
        Openings.Row calldata w,
        uint256 c,
        uint256 dy
    ) private pure returns (int256 acc) {
        int256 yy = int256(el[2]) * s.params[6] + int256(dy) - s.params[2];
        if (yy < 0 || yy >= int256(s.inShapes[0][2])) return 0;
        uint256[] memory index = new uint256[](4);
        (index[0], index[1], index[2]) = (el[0], c, uint256(yy));
        Openings.Row calldata row = Openings.rowAt(s, slots, 0, index);
        uint256 base = (c * uint256(s.params[0]) + dy) * uint256(s.params[1]);
        return _dxSum(s, el[3], row, w, base);
    }

    function _dxSum(
        StepCodec.Step memory s,
        uint256 x,
        Openings.Row calldata row,
        Openings.Row calldata w,
        uint256 base
    ) private pure returns (int256 acc) {
        uint256 kw = uint256(s.params[1]);
        int256 width = int256(s.inShapes[0][3]);
        for (uint256 dx = 0; dx < kw; dx++) {
            int256 xx = int256(x) * s.params[7] + int256(dx) - s.params[3];
            if (xx < 0 || xx >= width) continue;
            acc += LeafCodec.at(row.leaf, uint256(xx)) * LeafCodec.at(w.leaf, base + dx);
        }
    }

    function _pairIndex(uint256 a, uint256 b) private pure returns (uint256[] memory index) {
        index = new uint256[](2);
        (index[0], index[1]) = (a, b);
    }

    function _uints(int256[] memory v) private pure returns (uint256[] memory out) {
        out = new uint256[](v.length);
        for (uint256 j = 0; j < v.length; j++) {
            if (v[j] < 0) revert BadMovementParams(StepCodec.TRANSPOSE, v.length);
            out[j] = uint256(v[j]);
        }
    }

    function _one(uint256 a) private pure returns (uint256[] memory index) {
        index = new uint256[](1);
        index[0] = a;
    }
}
