// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IndexMap} from "./IndexMap.sol";
import {LeafCodec} from "./LeafCodec.sol";
import {Merkle} from "./Merkle.sol";
import {StepCodec} from "./StepCodec.sol";

/// @title Openings
/// @notice The operand rows a one-step proof brings, each proven to the agreed checkpoint, and
///         reads of single values from them.
/// @dev A slot's root is proven once against C_{i-1} (at the slot the step names), then each
///      opened row against that root at its row number with the depth the operand's shape fixes
///      (so no padding leaf or inner node passes for a row). Every value the verifier reads
///      comes from an opened row, so a party can only make it compute on committed data.
library Openings {
    struct Row {
        uint256 row;
        bytes leaf;
        bytes32[] proof;
    }

    struct Slot {
        uint256 operand;
        bytes32 root;
        bytes32[] proof;
        Row[] rows;
    }

    /// The opening names an operand the step does not have.
    error OperandOutOfRange(uint256 operand, uint256 nInputs);
    /// No opened row holds this operand element.
    error MissingRow(uint256 operand, uint256 row);
    /// An opened row's width is not the operand's last dimension.
    error RowWidth(uint256 operand, uint256 got, uint256 want);

    /// @notice Check every opening against checkpoint `c` (C_{i-1}) with `nSlots` slots.
    function authenticate(StepCodec.Step memory s, Slot[] calldata slots, bytes32 c, uint256 nSlots)
        internal
        pure
    {
        for (uint256 j = 0; j < slots.length; j++) {
            Slot calldata o = slots[j];
            if (o.operand >= s.inputs.length) revert OperandOutOfRange(o.operand, s.inputs.length);
            Merkle.verifySlot(c, o.root, s.inputs[o.operand], nSlots, o.proof);
            uint256[] memory shape = s.inShapes[o.operand];
            (uint256 nRows, uint256 width) = dims(shape);
            for (uint256 k = 0; k < o.rows.length; k++) {
                Row calldata r = o.rows[k];
                uint256 got = Merkle.verifyRow(o.root, r.leaf, r.row, nRows, r.proof);
                if (got != width) revert RowWidth(o.operand, got, width);
            }
        }
    }

    /// @notice (rows, row width) of a tensor: rows along the last axis, 0-d/1-d = one row.
    function dims(uint256[] memory shape) internal pure returns (uint256 nRows, uint256 width) {
        if (shape.length == 0) return (1, 1);
        width = shape[shape.length - 1];
        nRows = width == 0 ? 0 : IndexMap.size(shape) / width;
    }

    /// @notice The opened row `row` of operand `operand`.
    function rowOpening(Slot[] calldata slots, uint256 operand, uint256 row)
        internal
        pure
        returns (Row calldata)
    {
        for (uint256 j = 0; j < slots.length; j++) {
            if (slots[j].operand != operand) continue;
            Row[] calldata rows = slots[j].rows;
            for (uint256 k = 0; k < rows.length; k++) {
                if (rows[k].row == row) return rows[k];
            }
        }
        revert MissingRow(operand, row);
    }

    /// @notice The value of operand `operand` at multi-index `index`.
    function value(
        StepCodec.Step memory s,
        Slot[] calldata slots,
        uint256 operand,
        uint256[] memory index
    ) internal pure returns (int256) {
        return LeafCodec.at(rowAt(s, slots, operand, index).leaf, IndexMap.columnOf(index));
    }

    /// @notice The opened row of `operand` that holds `index` (any column of it).
    function rowAt(
        StepCodec.Step memory s,
        Slot[] calldata slots,
        uint256 operand,
        uint256[] memory index
    ) internal pure returns (Row calldata) {
        uint256[] memory shape = s.inShapes[operand];
        IndexMap.checkIndex(index, shape);
        return rowOpening(slots, operand, IndexMap.rowOf(index, shape));
    }
}
