// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Elementwise} from "./Elementwise.sol";
import {IndexMap} from "./IndexMap.sol";
import {LeafCodec} from "./LeafCodec.sol";
import {Linear} from "./Linear.sol";
import {Merkle} from "./Merkle.sol";
import {Movement} from "./Movement.sol";
import {Nonlinear} from "./Nonlinear.sol";
import {Openings} from "./Openings.sol";
import {Reduce} from "./Reduce.sol";
import {Spatial} from "./Spatial.sol";
import {StartCheckpoint} from "./StartCheckpoint.sol";
import {StepCodec} from "./StepCodec.sol";

/// @title OneStepVerifier
/// @notice Recomputes ONE output element of ONE step of a registered integer program
///         (disputes/SPEC.md) from the agreed checkpoint before the step, and returns it.
///         A dispute game compares the value with the asserter's row: whoever is wrong loses.
/// @dev Inputs are the program root and slot count (registered), C_{i-1} (agreed in the
///      game), the step's leaf message with its proof, the element's index, and the operand
///      rows it reads, each proven to C_{i-1}. Nothing is trusted that is not proven: the step
///      description comes from the program root, every value from an opened row, the lut
///      entries from the table root in the step leaf. Anything malformed reverts with a named
///      error; the function never returns a value the executor would not compute.
contract OneStepVerifier {
    struct Claim {
        bytes32 programRoot;
        uint256 nSlots;
        bytes32 checkpoint;
        uint256 step;
    }

    /// The step kind code is not one of SPEC's.
    error UnknownKind(uint256 kind);
    /// A step read a table entry but no (or the wrong) table row was opened.
    error WrongTableRow(uint256 got, uint256 want);
    /// The step's committed params do not have the length its kind needs.
    error BadParams(uint256 kind, uint256 length);

    /// What the disputing party brings for one element (everything but the agreed claim).
    struct Proof {
        bytes stepMessage;
        bytes32[] stepProof;
        uint256[] element;
        Openings.Slot[] slots;
        Openings.Row table;
    }

    /// @notice The correct value of `p.element` of step `c.step`, from openings proven to
    ///         C_{i-1}. Usage (from a game): `int256 v = osv.verify(claim, proof);`
    function verify(Claim calldata c, Proof calldata p) external pure returns (int256) {
        Merkle.verify(c.programRoot, keccak256(p.stepMessage), c.step + 1, p.stepProof);
        StepCodec.Step memory s = StepCodec.decode(p.stepMessage);
        Openings.authenticate(s, p.slots, c.checkpoint, c.nSlots);
        uint256[] memory el = p.element;
        IndexMap.checkIndex(el, s.shape);
        return _compute(s, el, p.slots, p.table);
    }

    /// @notice C_0 from a request's input roots and the model's registered start data.
    ///         Usage: `bytes32 c0 = osv.startCheckpoint(inputRoots, start.fill, start.siblings);`
    function startCheckpoint(
        bytes32[] calldata inputRoots,
        bytes32[] calldata fill,
        bytes32[] calldata siblings
    ) external pure returns (bytes32) {
        return StartCheckpoint.compute(inputRoots, fill, siblings);
    }

    function _compute(
        StepCodec.Step memory s,
        uint256[] memory el,
        Openings.Slot[] calldata slots,
        Openings.Row calldata table
    ) private pure returns (int256) {
        uint256 k = s.kind;
        if (k <= StepCodec.COMPARE) return _elementwise(s, el, slots);
        if (k == StepCodec.LUT) return _lut(s, el, slots, table);
        if (k == StepCodec.SQRT) {
            return Nonlinear.sqrt(_operand(s, el, slots, 0), s.inScales[0], s.scale);
        }
        if (k <= StepCodec.REDUCE_MAX) return _reduce(s, el, slots);
        if (k <= StepCodec.CONV) return _linear(s, el, slots);
        if (k <= StepCodec.COPY) return Movement.element(s, el, slots);
        if (k <= StepCodec.AVGPOOL) return Spatial.element(s, el, slots);
        revert UnknownKind(k);
    }

    /// @dev The value of operand `j` at the element's broadcast position.
    function _operand(
        StepCodec.Step memory s,
        uint256[] memory el,
        Openings.Slot[] calldata slots,
        uint256 j
    ) private pure returns (int256) {
        return Openings.value(s, slots, j, IndexMap.broadcast(el, s.shape, s.inShapes[j]));
    }

    function _elementwise(
        StepCodec.Step memory s,
        uint256[] memory el,
        Openings.Slot[] calldata slots
    ) private pure returns (int256) {
        uint256 k = s.kind;
        int256 a = _operand(s, el, slots, 0);
        int256 sa = s.inScales[0];
        if (k == StepCodec.RELU) return Elementwise.relu(a, sa, s.scale);
        if (k == StepCodec.NEG) return Elementwise.neg(a, sa, s.scale);
        if (k == StepCodec.ABS) return Elementwise.abs(a, sa, s.scale);
        if (k == StepCodec.RESCALE) return Elementwise.rescale(a, sa, s.scale);
        if (k == StepCodec.CLIP) {
            _needParams(s, 2);
            return Elementwise.clip(a, sa, s.scale, s.params[0], s.params[1]);
        }
        int256 b = _operand(s, el, slots, 1);
        if (k == StepCodec.WHERE) {
            int256 y = _operand(s, el, slots, 2);
            return Elementwise.where(a, b, y, s.inScales[1], s.inScales[2], s.scale);
        }
        return _binary(s, a, b);
    }

    function _binary(StepCodec.Step memory s, int256 a, int256 b) private pure returns (int256) {
        uint256 k = s.kind;
        (int256 sa, int256 sb) = (s.inScales[0], s.inScales[1]);
        if (k == StepCodec.ADD) return Elementwise.add(a, b, sa, sb, s.scale);
        if (k == StepCodec.SUB) return Elementwise.sub(a, b, sa, sb, s.scale);
        if (k == StepCodec.MUL) return Elementwise.mul(a, b, sa, sb, s.scale);
        if (k == StepCodec.DIV) return Elementwise.div(a, b, sa, sb, s.scale);
        if (k == StepCodec.MAX) return Elementwise.max(a, b, sa, sb, s.scale);
        if (k == StepCodec.MIN) return Elementwise.min(a, b, sa, sb, s.scale);
        _needParams(s, 1);
        return Elementwise.compare(a, b, sa, sb, uint8(uint256(s.params[0])));
    }

    /// @dev lut params [fn, lo, hi, tail, n]; the pair row i = (T[i], T[i+1]) is opened from
    ///      the table root committed in the step leaf.
    function _lut(
        StepCodec.Step memory s,
        uint256[] memory el,
        Openings.Slot[] calldata slots,
        Openings.Row calldata table
    ) private pure returns (int256) {
        _needParams(s, 5);
        int256 a = _operand(s, el, slots, 0);
        (int256 tI, int256 tNext) = _tableEntries(s, a, table);
        bool identity = s.params[3] == 1;
        return Nonlinear.lut(
            a, s.inScales[0], s.scale, s.params[1], s.params[2], identity, tI, tNext
        );
    }

    function _tableEntries(StepCodec.Step memory s, int256 a, Openings.Row calldata table)
        private
        pure
        returns (int256, int256)
    {
        (uint256 i,) = Nonlinear.lutIndex(a, s.inScales[0], s.params[1], s.params[2]);
        if (table.row != i) revert WrongTableRow(table.row, i);
        uint256 rows = uint256(s.params[4]) + 1;
        uint256 width = Merkle.verifyRow(s.roots[0], table.leaf, i, rows, table.proof);
        if (width != 2) revert Openings.RowWidth(type(uint256).max, width, 2);
        return (LeafCodec.at(table.leaf, 0), LeafCodec.at(table.leaf, 1));
    }

    function _reduce(
        StepCodec.Step memory s,
        uint256[] memory el,
        Openings.Slot[] calldata slots
    ) private pure returns (int256) {
        uint256[] memory index = _withLast(el, 0);
        bytes calldata leaf = Openings.rowAt(s, slots, 0, index).leaf;
        int256[] memory row = _values(leaf);
        if (s.kind == StepCodec.REDUCE_SUM) return Reduce.sum(row, s.inScales[0], s.scale);
        if (s.kind == StepCodec.REDUCE_MEAN) return Reduce.mean(row, s.inScales[0], s.scale);
        return Reduce.max(row, s.inScales[0], s.scale);
    }

    function _linear(
        StepCodec.Step memory s,
        uint256[] memory el,
        Openings.Slot[] calldata slots
    ) private pure returns (int256) {
        if (s.kind == StepCodec.MATMUL) return _matmul(s, el, slots);
        if (s.kind == StepCodec.QMATMUL) return _qmatmul(s, el, slots);
        return Spatial.element(s, el, slots);
    }

    /// @dev matmul(a, bT[, bias]): row el[-2] of a and row el[-1] of bT (batch axes broadcast).
    function _matmul(StepCodec.Step memory s, uint256[] memory el, Openings.Slot[] calldata slots)
        private
        pure
        returns (int256)
    {
        _needParams(s, 1);
        (Openings.Row calldata a, Openings.Row calldata b) = _matmulRows(s, el, slots);
        (int256 bias, bool hasBias) = _bias(s, slots, 2, el[el.length - 1]);
        return _mm(a, b, bias, hasBias, s.params[0]);
    }

    function _matmulRows(
        StepCodec.Step memory s,
        uint256[] memory el,
        Openings.Slot[] calldata slots
    ) private pure returns (Openings.Row calldata a, Openings.Row calldata b) {
        uint256 n = el.length;
        a = Openings.rowAt(s, slots, 0, _batchRow(el, s, 0, el[n - 2]));
        b = Openings.rowAt(s, slots, 1, _batchRow(el, s, 1, el[n - 1]));
    }

    function _mm(
        Openings.Row calldata a,
        Openings.Row calldata b,
        int256 bias,
        bool hasBias,
        int256 shift
    ) private pure returns (int256) {
        return Linear.matmulElement(a.leaf, b.leaf, bias, hasBias, shift);
    }

    /// @dev qmatmul(a, q, t[, bias]): row r of a, row c of q, t[c], bias[c].
    function _qmatmul(StepCodec.Step memory s, uint256[] memory el, Openings.Slot[] calldata slots)
        private
        pure
        returns (int256)
    {
        _needParams(s, 2);
        uint256 c = el[el.length - 1];
        int256[3] memory tb;
        tb[0] = Openings.value(s, slots, 2, _single(c));
        bool hasBias;
        (tb[1], hasBias) = _bias(s, slots, 3, c);
        Openings.Row calldata a = Openings.rowAt(s, slots, 0, _withLast(el, 0));
        Openings.Row calldata q = Openings.rowAt(s, slots, 1, _pair(c, 0));
        return _qmatmulRows(s, a, q, tb, hasBias);
    }

    function _qmatmulRows(
        StepCodec.Step memory s,
        Openings.Row calldata a,
        Openings.Row calldata q,
        int256[3] memory tb,
        bool hasBias
    ) private pure returns (int256) {
        uint256 amag = uint256(s.params[0]);
        return Linear.qmatmulElement(a.leaf, q.leaf, tb[0], tb[1], hasBias, amag, s.params[1]);
    }

    function _bias(StepCodec.Step memory s, Openings.Slot[] calldata slots, uint256 j, uint256 c)
        private
        pure
        returns (int256 bias, bool hasBias)
    {
        if (s.inputs.length <= j) return (0, false);
        return (Openings.value(s, slots, j, _single(c)), true);
    }

    /// @dev Index (column 0) of row `r` of operand `j` for output element `el` of a product:
    ///      the operand's batch axes are the output's batch axes, broadcast.
    function _batchRow(uint256[] memory el, StepCodec.Step memory s, uint256 j, uint256 r)
        private
        pure
        returns (uint256[] memory index)
    {
        uint256[] memory shape = s.inShapes[j];
        uint256 rank = shape.length;
        index = new uint256[](rank);
        uint256 off = el.length - rank;
        for (uint256 a = 0; a + 2 < rank; a++) {
            index[a] = shape[a] == 1 ? 0 : el[off + a];
        }
        index[rank - 2] = r;
    }

    function _withLast(uint256[] memory el, uint256 last)
        private
        pure
        returns (uint256[] memory index)
    {
        index = new uint256[](el.length);
        for (uint256 a = 0; a + 1 < el.length; a++) {
            index[a] = el[a];
        }
        if (el.length > 0) index[el.length - 1] = last;
    }

    function _values(bytes calldata leaf) private pure returns (int256[] memory row) {
        uint256 n = LeafCodec.count(leaf);
        row = new int256[](n);
        for (uint256 k = 0; k < n; k++) {
            row[k] = LeafCodec.at(leaf, k);
        }
    }

    function _single(uint256 a) private pure returns (uint256[] memory index) {
        index = new uint256[](1);
        index[0] = a;
    }

    function _pair(uint256 a, uint256 b) private pure returns (uint256[] memory index) {
        index = new uint256[](2);
        (index[0], index[1]) = (a, b);
    }

    function _needParams(StepCodec.Step memory s, uint256 n) private pure {
        if (s.params.length != n) revert BadParams(s.kind, s.params.length);
    }
}
