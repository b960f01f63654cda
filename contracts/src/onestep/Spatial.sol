// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {FixedPoint} from "./FixedPoint.sol";
import {LeafCodec} from "./LeafCodec.sol";
import {Openings} from "./Openings.sol";
import {StepCodec} from "./StepCodec.sol";

/// @title Spatial
/// @notice One output element of a sliding-window step (disputes/SPEC.md §3 conv / gconv, §6.2
///         maxpool / avgpool): the window's input rows are read from the opened rows of
///         operand 0, zero padding is skipped, never opened. Mirrors
///         disputes/execution/ops/spatial.py and linear.py's conv, and disputes/program/window.py.
/// @dev The window of output (y, x) reads input row y·sy + i·dh - top (i < kh) and column
///      x·sx + j·dw - left (j < kw). Every per-element loop is bounded by the committed kernel,
///      and the geometry is checked against the committed shapes first, so a malformed program
///      reverts with a named error instead of yielding a value the executor never computes.
library Spatial {
    /// The step's params do not have its kind's length (SPEC §8).
    error BadSpatialParams(uint256 kind, uint256 length);
    /// Along `axis` (0 = height, 1 = width) the window does not give the committed output size,
    /// or a kernel size, stride or dilation is below 1, or a pad is negative.
    error BadWindow(uint256 axis);
    /// Groups that do not divide the channels, or weights of the wrong shape for them.
    error BadGroups(uint256 groups, uint256 channels, uint256 outChannels);
    /// A pool window without a single input element (the executor refuses such a program).
    error EmptyWindow();
    /// An avgpool window value |v| >= 2**62 // (kh·kw): its sum could leave int64.
    error WindowValueOutOfRange(int256 value, int256 bound);

    // Geometry slots: the v3 conv layout has no dilations and groups, so it is widened to
    // this one (dilations 1, one group) and both kinds share one twin.
    uint256 private constant KH = 0;
    uint256 private constant KW = 1;
    uint256 private constant TOP = 2;
    uint256 private constant LEFT = 3;
    uint256 private constant SY = 6;
    uint256 private constant SX = 7;
    uint256 private constant DH = 8;
    uint256 private constant DW = 9;
    uint256 private constant GROUPS = 10;
    uint256 private constant LAST = 11; // conv / gconv: shift; avgpool: count_include_pad

    /// @notice The element `el` (n, c, y, x) of a conv, gconv, maxpool or avgpool step.
    function element(StepCodec.Step memory s, uint256[] memory el, Openings.Slot[] calldata slots)
        internal
        pure
        returns (int256)
    {
        int256[12] memory g = _geometry(s);
        if (s.kind == StepCodec.CONV || s.kind == StepCodec.GCONV) return _conv(s, el, slots, g);
        return _pool(s, el, slots, g);
    }

    /// @dev Params → the 12 geometry slots: conv [kh, kw, t, l, b, r, sy, sx, shift], gconv
    ///      [kh, kw, t, l, b, r, sy, sx, dh, dw, groups, shift], maxpool the first ten,
    ///      avgpool the first ten and count_include_pad.
    function _geometry(StepCodec.Step memory s) private pure returns (int256[12] memory g) {
        int256[] memory p = s.params;
        uint256 k = s.kind;
        uint256 want = k == StepCodec.CONV ? 9 : k == StepCodec.GCONV ? 12 : k == StepCodec.MAXPOOL ? 10 : 11;
        if (p.length != want) revert BadSpatialParams(k, p.length);
        uint256 copied = k == StepCodec.CONV ? 8 : 10;
        for (uint256 j = 0; j < copied; j++) {
            g[j] = p[j];
        }
        if (k == StepCodec.CONV) (g[DH], g[DW]) = (int256(1), int256(1));
        g[GROUPS] = k == StepCodec.GCONV ? p[GROUPS] : int256(1);
        if (want != 10) g[LAST] = p[want - 1];
        _checkWindow(s, g);
        _checkChannels(s, g);
    }

    /// @dev Rank 4 in and out, the same N, sizes and strides and dilations at least 1, pads at
    ///      least 0, and per axis OH = floor((H + pads - extent) / stride) + 1 (window.py).
    function _checkWindow(StepCodec.Step memory s, int256[12] memory g) private pure {
        (uint256[] memory x, uint256[] memory y) = (s.inShapes[0], s.shape);
        if (x.length != 4 || y.length != 4 || x[0] != y[0]) revert BadWindow(2);
        for (uint256 a = 0; a < 2; a++) {
            (int256 k, int256 st, int256 d) = (g[KH + a], g[SY + a], g[DH + a]);
            (int256 lo, int256 hi) = (g[TOP + a], g[TOP + 2 + a]);
            int256 span = int256(x[2 + a]) + lo + hi - (k - 1) * d - 1;
            bool bad = k < 1 || st < 1 || d < 1 || lo < 0 || hi < 0 || span < 0;
            if (bad || span / st + 1 != int256(y[2 + a])) revert BadWindow(a);
        }
    }

    /// @dev Pools keep (N, C); a conv's groups divide C and O, its weights are (O, C/G·kh·kw).
    function _checkChannels(StepCodec.Step memory s, int256[12] memory g) private pure {
        (uint256 c, uint256 o) = (s.inShapes[0][1], s.shape[1]);
        if (s.kind != StepCodec.CONV && s.kind != StepCodec.GCONV) {
            if (c != o) revert BadGroups(1, c, o);
            return;
        }
        uint256 groups = uint256(g[GROUPS]);
        if (g[GROUPS] < 1 || c % groups != 0 || o % groups != 0) revert BadGroups(groups, c, o);
        uint256[] memory w = s.inShapes[1];
        uint256 taps = uint256(g[KH] * g[KW]);
        if (w.length != 2 || w[0] != o || w[1] != (c / groups) * taps) revert BadGroups(groups, c, o);
    }

    /// @dev rshift_round(Σ over channels c of o's group, taps (i, j) of x[n, c, ·, ·] ·
    ///      w[o, (c'·kh + i)·kw + j] + bias[o], shift) with c' = c - first channel of the group.
    function _conv(StepCodec.Step memory s, uint256[] memory el, Openings.Slot[] calldata slots, int256[12] memory g)
        private
        pure
        returns (int256)
    {
        int256 acc = _convSum(s, el, slots, g);
        if (s.inputs.length > 2) acc += Openings.value(s, slots, 2, _index(el[1], 0, 0, 0, 1));
        return FixedPoint.checkBound(FixedPoint.rshiftRound(acc, g[LAST]));
    }

    /// @dev Patch rows r = c'·kh + i of the group (c' < C/G, i < kh): weights from r·kw on.
    function _convSum(StepCodec.Step memory s, uint256[] memory el, Openings.Slot[] calldata slots, int256[12] memory g)
        private
        pure
        returns (int256 acc)
    {
        Openings.Row calldata w = Openings.rowAt(s, slots, 1, _index(el[1], 0, 0, 0, 2));
        uint256 kh = uint256(g[KH]);
        uint256 n = (s.inShapes[0][1] / uint256(g[GROUPS])) * kh;
        uint256 first = (el[1] / (s.shape[1] / uint256(g[GROUPS]))) * (n / kh);
        for (uint256 r = 0; r < n; r++) {
            acc += _convRow(s, el, slots, w, g, [first + r / kh, r * uint256(g[KW]), r % kh]);
        }
    }

    /// @dev Σ_j x[n, ch, yy, xx_j]·w[base + j] over the taps of kernel row i inside the input;
    ///      `at` = (ch, base, i).
    function _convRow(
        StepCodec.Step memory s,
        uint256[] memory el,
        Openings.Slot[] calldata slots,
        Openings.Row calldata w,
        int256[12] memory g,
        uint256[3] memory at
    ) private pure returns (int256 acc) {
        (bool inside, uint256 yy) = _tap(g, 0, el[2], at[2], s.inShapes[0][2]);
        if (!inside || !_anyColumn(s, g, el[3])) return 0;
        uint256[] memory index = _index(el[0], at[0], yy, 0, 4);
        return _convCols(s, el[3], Openings.rowAt(s, slots, 0, index), w, g, at[1]);
    }

    /// @dev Σ_j row[xx_j]·w[base + j] over the taps j of output column `x` inside the input.
    function _convCols(
        StepCodec.Step memory s,
        uint256 x,
        Openings.Row calldata row,
        Openings.Row calldata w,
        int256[12] memory g,
        uint256 base
    ) private pure returns (int256 acc) {
        for (uint256 j = 0; j < uint256(g[KW]); j++) {
            (bool ok, uint256 xx) = _tap(g, 1, x, j, s.inShapes[0][3]);
            if (ok) acc += LeafCodec.at(row.leaf, xx) * LeafCodec.at(w.leaf, base + j);
        }
    }

    /// @dev maxpool: rescale(max), avgpool: rescale(round_div(Σ, D)) over the window's input
    ///      elements; D = kh·kw when count_include_pad, else how many there are.
    function _pool(StepCodec.Step memory s, uint256[] memory el, Openings.Slot[] calldata slots, int256[12] memory g)
        private
        pure
        returns (int256)
    {
        int256 taps = g[KH] * g[KW];
        // [sum, count, max]; the max starts below every value a step can hold (|v| < 2**62).
        int256[3] memory acc = [int256(0), int256(0), type(int256).min];
        for (uint256 i = 0; i < uint256(g[KH]); i++) {
            _poolRow(s, el, slots, g, i, acc);
        }
        if (acc[1] == 0) revert EmptyWindow();
        if (s.kind == StepCodec.MAXPOOL) return FixedPoint.rescale(acc[2], s.inScales[0], s.scale);
        int256 m = FixedPoint.roundDiv(acc[0], g[LAST] != 0 ? taps : acc[1]);
        return FixedPoint.rescale(m, s.inScales[0], s.scale);
    }

    function _poolRow(
        StepCodec.Step memory s,
        uint256[] memory el,
        Openings.Slot[] calldata slots,
        int256[12] memory g,
        uint256 i,
        int256[3] memory acc
    ) private pure {
        (bool inside, uint256 yy) = _tap(g, 0, el[2], i, s.inShapes[0][2]);
        if (!inside || !_anyColumn(s, g, el[3])) return;
        uint256[] memory index = _index(el[0], el[1], yy, 0, 4);
        _poolCols(s, el[3], Openings.rowAt(s, slots, 0, index), g, acc);
    }

    /// @dev The taps of one window row `row` at output column `x`, into acc = [Σ, count, max].
    function _poolCols(
        StepCodec.Step memory s,
        uint256 x,
        Openings.Row calldata row,
        int256[12] memory g,
        int256[3] memory acc
    ) private pure {
        int256 bound = FixedPoint.INT64_SAFE / (g[KH] * g[KW]);
        bool avg = s.kind == StepCodec.AVGPOOL;
        for (uint256 j = 0; j < uint256(g[KW]); j++) {
            (bool ok, uint256 xx) = _tap(g, 1, x, j, s.inShapes[0][3]);
            if (!ok) continue;
            int256 v = LeafCodec.at(row.leaf, xx);
            if (avg && FixedPoint.abs(v) >= bound) revert WindowValueOutOfRange(v, bound);
            (acc[0], acc[1]) = (acc[0] + v, acc[1] + 1);
            if (v > acc[2]) acc[2] = v;
        }
    }

    /// @dev Whether some tap of output column `x` lies inside the input: a window row whose
    ///      taps are all padding reads nothing, so its input row is not opened (operands_for).
    function _anyColumn(StepCodec.Step memory s, int256[12] memory g, uint256 x) private pure returns (bool) {
        for (uint256 j = 0; j < uint256(g[KW]); j++) {
            (bool ok,) = _tap(g, 1, x, j, s.inShapes[0][3]);
            if (ok) return true;
        }
        return false;
    }

    /// @dev Input position of tap `t` of output position `o` along `axis`, and whether it lies
    ///      inside [0, size) (else it is padding).
    function _tap(int256[12] memory g, uint256 axis, uint256 o, uint256 t, uint256 size)
        private
        pure
        returns (bool inside, uint256 pos)
    {
        int256 p = int256(o) * g[SY + axis] + int256(t) * g[DH + axis] - g[TOP + axis];
        if (p < 0 || p >= int256(size)) return (false, 0);
        return (true, uint256(p));
    }

    /// @dev The index (a, b, c, d) truncated to its first `rank` entries.
    function _index(uint256 a, uint256 b, uint256 c, uint256 d, uint256 rank)
        private
        pure
        returns (uint256[] memory index)
    {
        uint256[4] memory all = [a, b, c, d];
        index = new uint256[](rank);
        for (uint256 k = 0; k < rank; k++) {
            index[k] = all[k];
        }
    }
}
