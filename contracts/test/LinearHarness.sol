// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Linear} from "./Linear.sol";

/// @title LinearHarness: the Linear library behind external functions, for tests and gas.
/// @notice Single-case functions call the library directly (eth_estimateGas on them measures
/// one element with its calldata); `*Gas` ones return the gas the library call itself took;
/// `*Many` ones run many cases in one eth_call, each in its own external self-call so one
/// case's revert is returned (as its revert data) instead of failing the batch.
contract LinearHarness {
    struct MatmulCase {
        bytes a;
        bytes b;
        int256 bias;
        bool hasBias;
        int256 shift;
    }

    struct QmatmulCase {
        bytes a;
        bytes q;
        int256 t;
        int256 bias;
        bool hasBias;
        uint256 amag;
        int256 shift;
    }

    struct ConvCase {
        bytes[] rows;
        bytes w;
        Linear.Conv g;
        int256 bias;
        bool hasBias;
        int256 shift;
    }

    // ---- single cases ---------------------------------------------------------------------

    function dot(bytes calldata a, bytes calldata b) external pure returns (int256) {
        return Linear.dot(a, b);
    }

    function matmulElement(bytes calldata a, bytes calldata b, int256 bias, bool hasBias, int256 shift)
        external
        pure
        returns (int256)
    {
        return Linear.matmulElement(a, b, bias, hasBias, shift);
    }

    function qmatmulElement(
        bytes calldata a,
        bytes calldata q,
        int256 t,
        int256 bias,
        bool hasBias,
        uint256 amag,
        int256 shift
    ) external pure returns (int256) {
        return Linear.qmatmulElement(a, q, t, bias, hasBias, amag, shift);
    }

    function convElement(
        bytes[] calldata rows,
        bytes calldata w,
        Linear.Conv calldata g,
        int256 bias,
        bool hasBias,
        int256 shift
    ) external pure returns (int256) {
        return Linear.convElement(rows, w, g, bias, hasBias, shift);
    }

    function rowExponent(bytes calldata a, uint256 amag) external pure returns (uint256) {
        return Linear.rowExponent(a, amag);
    }

    function patchLeaf(Linear.Conv calldata g, uint256 n, uint256 index) external pure returns (bool, uint256) {
        return Linear.patchLeaf(g, n, index);
    }

    // ---- gas of the library call alone ----------------------------------------------------

    function matmulGas(MatmulCase calldata c) external view returns (int256 out, uint256 used) {
        uint256 g0 = gasleft();
        out = Linear.matmulElement(c.a, c.b, c.bias, c.hasBias, c.shift);
        used = g0 - gasleft();
    }

    function qmatmulGas(QmatmulCase calldata c) external view returns (int256 out, uint256 used) {
        uint256 g0 = gasleft();
        out = Linear.qmatmulElement(c.a, c.q, c.t, c.bias, c.hasBias, c.amag, c.shift);
        used = g0 - gasleft();
    }

    function convGas(ConvCase calldata c) external view returns (int256 out, uint256 used) {
        uint256 g0 = gasleft();
        out = Linear.convElement(c.rows, c.w, c.g, c.bias, c.hasBias, c.shift);
        used = g0 - gasleft();
    }

    /// @notice The baseline: a plain checked Solidity loop decoding each value (the ~350 gas
    /// per element figure Linear is compared with). Narrow rows only.
    function plainDotGas(bytes calldata a, bytes calldata b) external view returns (int256 acc, uint256 used) {
        uint256 g0 = gasleft();
        uint256 n = (a.length - 1) / 4;
        require(b.length == a.length, "length");
        for (uint256 i = 0; i < n; i++) {
            int256 x = int32(uint32(bytes4(a[1 + 4 * i:5 + 4 * i])));
            int256 y = int32(uint32(bytes4(b[1 + 4 * i:5 + 4 * i])));
            acc += x * y;
        }
        used = g0 - gasleft();
    }

    // ---- batches ----------------------------------------------------------------------------

    function dots(bytes[] calldata a, bytes[] calldata b) external pure returns (int256[] memory out) {
        out = new int256[](a.length);
        for (uint256 i; i < a.length; ++i) {
            out[i] = Linear.dot(a[i], b[i]);
        }
    }

    function matmulOne(MatmulCase calldata c) external pure returns (int256) {
        return Linear.matmulElement(c.a, c.b, c.bias, c.hasBias, c.shift);
    }

    function qmatmulOne(QmatmulCase calldata c) external pure returns (int256) {
        return Linear.qmatmulElement(c.a, c.q, c.t, c.bias, c.hasBias, c.amag, c.shift);
    }

    function convOne(ConvCase calldata c) external pure returns (int256) {
        return Linear.convElement(c.rows, c.w, c.g, c.bias, c.hasBias, c.shift);
    }

    function matmulMany(MatmulCase[] calldata cs)
        external
        view
        returns (bool[] memory ok, int256[] memory values, bytes[] memory errs)
    {
        (ok, values, errs) = _outcomes(cs.length);
        for (uint256 i; i < cs.length; ++i) {
            uint256 mark = _freeMemory();
            try this.matmulOne(cs[i]) returns (int256 v) {
                (ok[i], values[i]) = (true, v);
                _release(mark);
            } catch (bytes memory err) {
                errs[i] = err;
            }
        }
    }

    function qmatmulMany(QmatmulCase[] calldata cs)
        external
        view
        returns (bool[] memory ok, int256[] memory values, bytes[] memory errs)
    {
        (ok, values, errs) = _outcomes(cs.length);
        for (uint256 i; i < cs.length; ++i) {
            uint256 mark = _freeMemory();
            try this.qmatmulOne(cs[i]) returns (int256 v) {
                (ok[i], values[i]) = (true, v);
                _release(mark);
            } catch (bytes memory err) {
                errs[i] = err;
            }
        }
    }

    function convMany(ConvCase[] calldata cs)
        external
        view
        returns (bool[] memory ok, int256[] memory values, bytes[] memory errs)
    {
        (ok, values, errs) = _outcomes(cs.length);
        for (uint256 i; i < cs.length; ++i) {
            uint256 mark = _freeMemory();
            try this.convOne(cs[i]) returns (int256 v) {
                (ok[i], values[i]) = (true, v);
                _release(mark);
            } catch (bytes memory err) {
                errs[i] = err;
            }
        }
    }

    function _outcomes(uint256 n) private pure returns (bool[] memory, int256[] memory, bytes[] memory) {
        return (new bool[](n), new int256[](n), new bytes[](n));
    }

    function _freeMemory() private pure returns (uint256 p) {
        assembly {
            p := mload(0x40)
        }
    }

    /// @dev Each self-call encodes its case into fresh memory; a success keeps nothing of it,
    /// so handing that memory back keeps a large batch from paying quadratic memory gas.
    function _release(uint256 p) private pure {
        assembly {
            mstore(0x40, p)
        }
    }
}
