// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Openings} from "./Openings.sol";
import {Spatial} from "./Spatial.sol";
import {StepCodec} from "./StepCodec.sol";

/// @title SpatialHarness (tests only)
/// @notice Batch access to `Spatial.element` (conv, gconv, maxpool, avgpool), so a differential
///         test checks hundreds of output elements per eth_call. The rows are not
///         authenticated here (`Openings.authenticate` is the verifier's and is tested there):
///         the harness exercises the window arithmetic and which rows it reads. Each case runs
///         in its own external self-call inside try/catch, so a reverting case records its
///         revert data instead of failing the batch.
contract SpatialHarness {
    struct Case {
        StepCodec.Step step;
        uint256[] element;
        Openings.Slot[] slots;
    }

    /// ok: the case returned `value`; else `err` is its revert data.
    struct Result {
        bool ok;
        int256 value;
        bytes err;
    }

    function batch(Case[] calldata cases) external view returns (Result[] memory out) {
        out = new Result[](cases.length);
        for (uint256 j = 0; j < cases.length; j++) {
            try this.one(cases[j]) returns (int256 v) {
                out[j] = Result(true, v, "");
            } catch (bytes memory err) {
                out[j] = Result(false, 0, err);
            }
        }
    }

    function one(Case calldata c) external pure returns (int256) {
        StepCodec.Step memory s = c.step;
        return Spatial.element(s, c.element, c.slots);
    }
}
