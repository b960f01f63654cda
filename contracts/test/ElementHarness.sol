// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {FixedPoint} from "./FixedPoint.sol";
import {Elementwise} from "./Elementwise.sol";
import {Nonlinear} from "./Nonlinear.sol";
import {Reduce} from "./Reduce.sol";

/// @title ElementHarness (tests only)
/// @notice Batch access to the one-step element libraries, so a differential test checks
///         hundreds of cases per eth_call. Each case runs in its own external self-call inside
///         try/catch, so one reverting case records its revert data instead of failing the batch.
/// @dev Case fields per kind (unused fields are ignored):
///      RSHIFT a,k=p0 | RESCALE a,sA,sOut | ROUND_DIV a,b | ISQRT a | BITLEN a (as uint256)
///      add/sub/mul/div/max/min a,b,sA,sB,sOut | relu/neg/abs/rescale/sqrt a,sA,sOut
///      clip a,sA,sOut,lo=p0,hi=p1 | where c,x=a,y=b,sX=sA,sY=sB,sOut | compare a,b,sA,sB,op=p0
contract ElementHarness {
    uint8 public constant RSHIFT = 0;
    uint8 public constant RESCALE = 1;
    uint8 public constant ROUND_DIV = 2;
    uint8 public constant ISQRT = 3;
    uint8 public constant BITLEN = 4;
    uint8 public constant ADD = 10;
    uint8 public constant SUB = 11;
    uint8 public constant MUL = 12;
    uint8 public constant DIV = 13;
    uint8 public constant RELU = 14;
    uint8 public constant NEG = 15;
    uint8 public constant ABS = 16;
    uint8 public constant MAX = 17;
    uint8 public constant MIN = 18;
    uint8 public constant RESCALE_STEP = 19;
    uint8 public constant CLIP = 20;
    uint8 public constant WHERE = 21;
    uint8 public constant COMPARE = 22;
    uint8 public constant SQRT = 23;
    uint8 public constant REDUCE_SUM = 0;
    uint8 public constant REDUCE_MEAN = 1;
    uint8 public constant REDUCE_MAX = 2;

    error UnknownKind(uint8 kind);

    struct Case {
        int256 a;
        int256 b;
        int256 c;
        int256 sA;
        int256 sB;
        int256 sOut;
        int256 p0;
        int256 p1;
    }

    struct LutCase {
        int256 a;
        int256 sA;
        int256 sOut;
        int256 lo;
        int256 hi;
        bool identity;
    }

    struct RowCase {
        int256[] row;
        int256 sA;
        int256 sOut;
    }

    /// ok: the case returned `value`; else `err` is its revert data.
    struct Result {
        bool ok;
        int256 value;
        bytes err;
    }

    /// A lut case also reports the table entries it read (T[i], T[iNext]).
    struct LutResult {
        bool ok;
        int256 value;
        uint256 i;
        uint256 iNext;
        bytes err;
    }

    // ---- batches -------------------------------------------------------------------------

    function evalBatch(uint8 kind, Case[] calldata cases)
        external
        view
        returns (Result[] memory out)
    {
        out = new Result[](cases.length);
        for (uint256 j = 0; j < cases.length; ++j) {
            try this.evalOne(kind, cases[j]) returns (int256 v) {
                out[j] = Result(true, v, "");
            } catch (bytes memory err) {
                out[j] = Result(false, 0, err);
            }
        }
    }

    /// Each case's entries come from `table` (the committed T[0..n]) at the indices the
    /// library names, as the verifier would open them.
    function lutBatch(LutCase[] calldata cases, int256[] calldata table)
        external
        view
        returns (LutResult[] memory out)
    {
        out = new LutResult[](cases.length);
        for (uint256 j = 0; j < cases.length; ++j) {
            out[j] = _lutCase(cases[j], table);
        }
    }

    function reduceBatch(uint8 op, RowCase[] calldata cases)
        external
        view
        returns (Result[] memory out)
    {
        out = new Result[](cases.length);
        for (uint256 j = 0; j < cases.length; ++j) {
            try this.reduceOne(op, cases[j]) returns (int256 v) {
                out[j] = Result(true, v, "");
            } catch (bytes memory err) {
                out[j] = Result(false, 0, err);
            }
        }
    }

    // ---- single cases (revert with the library's own error) ---------------------------------

    function evalOne(uint8 kind, Case calldata c) external pure returns (int256) {
        if (kind < ADD) return _fixed(kind, c);
        if (kind <= MIN) return _arith(kind, c);
        return _other(kind, c);
    }

    function lutIndexOne(int256 a, int256 sA, int256 lo, int256 hi)
        external
        pure
        returns (uint256 i, uint256 iNext)
    {
        return Nonlinear.lutIndex(a, sA, lo, hi);
    }

    function lutOne(LutCase calldata c, int256 tI, int256 tNext) external pure returns (int256) {
        return Nonlinear.lut(c.a, c.sA, c.sOut, c.lo, c.hi, c.identity, tI, tNext);
    }

    function reduceOne(uint8 op, RowCase calldata c) external pure returns (int256) {
        int256[] memory row = c.row;
        if (op == REDUCE_SUM) return Reduce.sum(row, c.sA, c.sOut);
        if (op == REDUCE_MEAN) return Reduce.mean(row, c.sA, c.sOut);
        if (op == REDUCE_MAX) return Reduce.max(row, c.sA, c.sOut);
        revert UnknownKind(op);
    }

    function domain(uint8 fn) external pure returns (int256 lo, int256 hi, uint8 tail) {
        return Nonlinear.domain(fn);
    }

    function lastIndex(int256 lo, int256 hi) external pure returns (uint256) {
        return Nonlinear.lastIndex(lo, hi);
    }

    // ---- dispatch --------------------------------------------------------------------------

    function _lutCase(LutCase calldata c, int256[] calldata table)
        private
        view
        returns (LutResult memory r)
    {
        try this.lutIndexOne(c.a, c.sA, c.lo, c.hi) returns (uint256 i, uint256 iNext) {
            (r.i, r.iNext) = (i, iNext);
        } catch (bytes memory err) {
            r.err = err;
            return r;
        }
        try this.lutOne(c, table[r.i], table[r.iNext]) returns (int256 v) {
            (r.ok, r.value) = (true, v);
        } catch (bytes memory err) {
            r.err = err;
        }
    }

    function _fixed(uint8 kind, Case calldata c) private pure returns (int256) {
        if (kind == RSHIFT) return FixedPoint.rshiftRound(c.a, c.p0);
        if (kind == RESCALE) return FixedPoint.rescale(c.a, c.sA, c.sOut);
        if (kind == ROUND_DIV) return FixedPoint.roundDiv(c.a, c.b);
        if (kind == ISQRT) return FixedPoint.isqrt(c.a);
        if (kind == BITLEN) return int256(FixedPoint.bitlen(uint256(c.a)));
        revert UnknownKind(kind);
    }

    function _arith(uint8 kind, Case calldata c) private pure returns (int256) {
        if (kind == ADD) return Elementwise.add(c.a, c.b, c.sA, c.sB, c.sOut);
        if (kind == SUB) return Elementwise.sub(c.a, c.b, c.sA, c.sB, c.sOut);
        if (kind == MUL) return Elementwise.mul(c.a, c.b, c.sA, c.sB, c.sOut);
        if (kind == DIV) return Elementwise.div(c.a, c.b, c.sA, c.sB, c.sOut);
        if (kind == RELU) return Elementwise.relu(c.a, c.sA, c.sOut);
        if (kind == NEG) return Elementwise.neg(c.a, c.sA, c.sOut);
        if (kind == ABS) return Elementwise.abs(c.a, c.sA, c.sOut);
        if (kind == MAX) return Elementwise.max(c.a, c.b, c.sA, c.sB, c.sOut);
        return Elementwise.min(c.a, c.b, c.sA, c.sB, c.sOut);
    }

    function _other(uint8 kind, Case calldata c) private pure returns (int256) {
        if (kind == RESCALE_STEP) return Elementwise.rescale(c.a, c.sA, c.sOut);
        if (kind == CLIP) return Elementwise.clip(c.a, c.sA, c.sOut, c.p0, c.p1);
        if (kind == WHERE) return Elementwise.where(c.c, c.a, c.b, c.sA, c.sB, c.sOut);
        if (kind == COMPARE) return Elementwise.compare(c.a, c.b, c.sA, c.sB, _op(c.p0));
        if (kind == SQRT) return Nonlinear.sqrt(c.a, c.sA, c.sOut);
        revert UnknownKind(kind);
    }

    /// Op codes outside a byte would wrap in a uint8 cast; map them to an invalid code instead.
    function _op(int256 p) private pure returns (uint8) {
        return p >= 0 && p < 256 ? uint8(uint256(p)) : type(uint8).max;
    }
}
