// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Linear: one output element of a matmul, qmatmul or conv step (disputes/SPEC.md §3)
/// @notice The arithmetic half of the one-step verifier for linear steps. Operand rows arrive
/// as leaf messages in calldata, exactly the bytes whose keccak256 is the Merkle leaf
/// (disputes/commitments/merkle.py rule 2): `0x02 ‖ be32 values` (narrow, int32) or `0x00 ‖ be64 values`
/// (wide, int64), two's complement. Values are read straight from calldata, 8 to a block, in
/// unchecked assembly: no copy into memory. Authenticating a row (its Merkle proof, and that a
/// 0x00 leaf holds some value outside int32) is the caller's job (LeafCodec / Merkle); this
/// library only checks the message's shape.
///
/// Results follow the SPEC's integer definitions exactly (int256 arithmetic, never wrapping);
/// where the executor would have raised instead of producing a value this library reverts:
/// |out| >= 2**47 (OutOfBounds) and rounding shifts the executor cannot run (ShiftOutOfRange,
/// ShiftOverflow). Error signatures match LeafCodec's and FixedPoint's, so a revert decodes the
/// same whichever library raised it.
///
/// Usage (after authenticating the rows):
///     int256 v = Linear.matmulElement(aRow, bRow, bias, hasBias, shift);
library Linear {
    /// @notice A leaf message that is empty, or whose body is not whole values for its prefix.
    error BadLeaf(uint256 length);
    /// @notice A leaf message whose first byte is neither 0x00 (wide) nor 0x02 (narrow).
    error UnknownPrefix(uint8 prefix);
    /// @notice Two rows of a product (or a patch row and the input width) differ in length.
    error LengthMismatch(uint256 na, uint256 nb);
    /// @notice The element breaks |value| < 2**47 (SPEC §1): the executor raises there.
    error OutOfBounds(int256 value);
    /// @notice A rounding right shift the executor cannot run: k >= 64 for matmul/conv (its
    /// rounding constant 2**(k-1) leaves int64), k >= 63 for qmatmul (its round_shift refuses).
    error ShiftOutOfRange(int256 k);
    /// @notice A left shift by k that fixedpoint.lshift / qmatmul's round_shift refuse:
    /// |q| >= 2**62 >> k, which for k >= 63 is every q (even 0).
    error ShiftOverflow(int256 q, int256 k);
    /// @notice A conv kernel or stride of 0, or a kernel larger than the padded input.
    error BadKernel(uint256 kernel, uint256 stride, uint256 padded);
    /// @notice The output coordinate is outside the conv output's extent along one axis.
    error OutsideOutput(uint256 index, uint256 extent);
    /// @notice A conv patch must list exactly C·kh rows.
    error PatchSize(uint256 rows, uint256 expected);
    /// @notice Patch entry `index` lies in the zero padding, so it must be empty.
    error PaddingRow(uint256 index);

    uint8 internal constant WIDE = 0x00;
    uint8 internal constant NARROW = 0x02;
    int256 internal constant VALUE_BOUND = 2 ** 47;
    /// A left shift by k needs |q| < INT64_SAFE >> k (fixedpoint.lshift), so k <= 62.
    int256 internal constant INT64_SAFE = 2 ** 62;
    int256 internal constant MAX_LEFT_SHIFT = 62;
    /// matmul/conv round with np.int64(1 << (k - 1)), which raises from k = 64.
    int256 internal constant MAX_RIGHT_SHIFT = 63;
    /// qmatmul's round_shift raises for a shift above 62.
    int256 internal constant MAX_QMATMUL_RIGHT_SHIFT = 62;

    /// @notice Geometry of one conv output element (SPEC §3 conv), all given by the caller from
    /// the committed step (`kernel`, `pads` = top, left, bottom, right, `strides`) and the input
    /// shape (N, C, H, W); (y, x) is the output element's position.
    /// @dev Calldata layout of `convElement`: `rows[c·kh + dy]` (c < C, dy < kh) is the leaf
    /// message of input row (n, c, iy) with iy = y·strideY + dy - padTop, a full row of W values;
    /// where iy lies outside [0, H) (zero padding) the entry must be empty (`""`). `patchLeaf`
    /// tells the caller which entries to authenticate and their leaf indices. `wRow` is row o of
    /// the weights (C·kh·kw values, row-major over c, dy, dx).
    struct Conv {
        uint256 channels;
        uint256 height;
        uint256 width;
        uint256 kh;
        uint256 kw;
        uint256 padTop;
        uint256 padLeft;
        uint256 padBottom;
        uint256 padRight;
        uint256 strideY;
        uint256 strideX;
        uint256 y;
        uint256 x;
    }

    /// @dev What a patch reads, from the geometry: kernel rows dy in [dyLo, dyHi) fall inside
    /// the input; in each such row, `cnt` values from input column `col` meet kernel columns
    /// from `dx0` (the window's other columns are padding). The field order is read by offset
    /// in `_patchSum`'s assembly (kh 0x00, kw 0x20, width 0x40, ..., wStep 0x120).
    struct Window {
        uint256 kh;
        uint256 kw;
        uint256 width;
        uint256 dyLo;
        uint256 dyHi;
        uint256 col;
        uint256 dx0;
        uint256 cnt;
        uint256 wPtr; // calldata offset of entry 0's first used weight
        uint256 wStep; // bytes per weight: 4 (narrow) or 8 (wide)
    }

    // ---- the element functions -----------------------------------------------------------

    /// @notice Σ_k a[k]·b[k] over two leaf messages of equal length (any narrow/wide mix).
    function dot(bytes calldata a, bytes calldata b) internal pure returns (int256) {
        (uint256 pa, uint256 na, bool wa) = leafValues(a);
        (uint256 pb, uint256 nb, bool wb) = leafValues(b);
        if (na != nb) revert LengthMismatch(na, nb);
        return _sum(pa, wa, pb, wb, na, 0);
    }

    /// @notice matmul's out[r, c] = rshift_round(Σ_k a[r, k]·bT[c, k] (+ bias[c]), shift), from
    /// row r of a and row c of bT. `bias` is ignored unless `hasBias`.
    function matmulElement(bytes calldata aRow, bytes calldata bRow, int256 bias, bool hasBias, int256 shift)
        internal
        pure
        returns (int256)
    {
        return _epilogue(dot(aRow, bRow), bias, hasBias, shift);
    }

    /// @notice qmatmul's out[r, c] = rshift_round(Σ_k a'[r, k]·q[c, k], shift - e_r + t[c]) (+ bias[c])
    /// with e_r = max(0, bitlen(max_k |a[r, k]|) - amag) from the row itself and
    /// a' = rshift_round(a, e_r). `bias` is ignored unless `hasBias`.
    function qmatmulElement(
        bytes calldata aRow,
        bytes calldata qRow,
        int256 t,
        int256 bias,
        bool hasBias,
        uint256 amag,
        int256 shift
    ) internal pure returns (int256 out) {
        (int256 p, uint256 e) = _qsum(aRow, qRow, amag);
        out = _rshiftRound(p, shift - int256(e) + t, MAX_QMATMUL_RIGHT_SHIFT);
        if (hasBias) out += bias;
        _checkBound(out);
    }

    /// @notice conv's out[n, o, y, x] = rshift_round(Σ_{c,dy,dx} xp[n, c, y·sy+dy, x·sx+dx]·
    /// w[o, (c·kh+dy)·kw+dx] (+ bias[o]), shift), xp zero-padded; calldata layout at `Conv`.
    function convElement(
        bytes[] calldata rows,
        bytes calldata wRow,
        Conv calldata g,
        int256 bias,
        bool hasBias,
        int256 shift
    ) internal pure returns (int256) {
        return _epilogue(_convSum(rows, wRow, g), bias, hasBias, shift);
    }

    // ---- helpers a verifier may call ------------------------------------------------------

    /// @notice Where a leaf message's values start in calldata, how many, and their width.
    function leafValues(bytes calldata leaf) internal pure returns (uint256 p, uint256 n, bool wide) {
        uint256 len = leaf.length;
        if (len == 0) revert BadLeaf(0);
        uint8 prefix = uint8(leaf[0]);
        // len % 4 == 1: one prefix byte and whole 4-byte values, and then (len - 1) / 4 == len >> 2.
        if (prefix == NARROW) {
            if (len % 4 != 1) revert BadLeaf(len);
            return (_offset(leaf) + 1, len >> 2, false);
        }
        if (prefix == WIDE) {
            if (len % 8 != 1) revert BadLeaf(len);
            return (_offset(leaf) + 1, len >> 3, true);
        }
        revert UnknownPrefix(prefix);
    }

    /// @notice qmatmul's row exponent e_r = max(0, bitlen(max_k |a[k]|) - amag).
    function rowExponent(bytes calldata aRow, uint256 amag) internal pure returns (uint256) {
        (uint256 p, uint256 n, bool wide) = leafValues(aRow);
        return _exponent(p, n, wide, amag);
    }

    /// @notice Which input row patch entry `index` (= c·kh + dy) of batch item `n` is: whether
    /// it lies inside the input (else the entry must be empty) and its leaf index in the input
    /// tensor (N, C, H, W), ((n·C + c)·H + iy). The caller authenticates exactly those rows.
    function patchLeaf(Conv calldata g, uint256 n, uint256 index) internal pure returns (bool inside, uint256 leaf) {
        uint256 c = index / g.kh;
        uint256 iy = g.y * g.strideY + (index % g.kh); // in padded coordinates
        if (iy < g.padTop || iy >= g.padTop + g.height) return (false, 0);
        return (true, (n * g.channels + c) * g.height + (iy - g.padTop));
    }

    // ---- rounding and bounds --------------------------------------------------------------

    function _checkBound(int256 v) private pure {
        if (v >= VALUE_BOUND || v <= -VALUE_BOUND) revert OutOfBounds(v);
    }

    /// @dev matmul/conv: the bias joins the exact sum before the one rounding shift.
    function _epilogue(int256 acc, int256 bias, bool hasBias, int256 shift) private pure returns (int256 out) {
        if (hasBias) acc += bias;
        out = _rshiftRound(acc, shift, MAX_RIGHT_SHIFT);
        _checkBound(out);
    }

    /// @dev SPEC §1 rshift_round: (q + 2**(k-1)) >> k for k > 0 (Solidity's signed >> floors, so
    /// ties go up), q for k = 0, the exact q·2**-k for k < 0; refused where the executor raises.
    /// Checked arithmetic: q is an exact sum (< 2**155, see _sum) plus a caller's bias.
    function _rshiftRound(int256 q, int256 k, int256 maxRight) private pure returns (int256) {
        if (k == 0) return q;
        if (k < 0) return _lshift(q, -k);
        if (k > maxRight) revert ShiftOutOfRange(k);
        return (q + (int256(1) << uint256(k - 1))) >> uint256(k);
    }

    /// @dev Both executor paths check |q| < 2**62 >> k over the whole tensor before shifting;
    /// this element's q failing it means the executor raised.
    function _lshift(int256 q, int256 k) private pure returns (int256) {
        if (k > MAX_LEFT_SHIFT) revert ShiftOverflow(q, k);
        int256 lim = INT64_SAFE >> uint256(k);
        if (q >= lim || q <= -lim) revert ShiftOverflow(q, k);
        return q << uint256(k);
    }

    // ---- qmatmul --------------------------------------------------------------------------

    function _qsum(bytes calldata aRow, bytes calldata qRow, uint256 amag) private pure returns (int256 p, uint256 e) {
        (uint256 pa, uint256 na, bool wa) = leafValues(aRow);
        (uint256 pq, uint256 nq, bool wq) = leafValues(qRow);
        if (na != nq) revert LengthMismatch(na, nq);
        e = _exponent(pa, na, wa, amag);
        p = _sum(pa, wa, pq, wq, na, e);
    }

    function _exponent(uint256 p, uint256 n, bool wide, uint256 amag) private pure returns (uint256) {
        uint256 bits = _bitLength(wide ? _magnitudesWide(p, n) : _magnitudesNarrow(p, n));
        return bits > amag ? bits - amag : 0;
    }

    /// @dev The OR of |a[k]| over a narrow row: it has the bit length of max|a[k]| (as in
    /// kernels.c), and an OR is lane-parallel. Per word of 8 lanes: s = each lane's sign bit at
    /// the lane's bottom, then |v| = (v xor 0xffffffff·s) + s lane by lane, since ~L + 1 = |v|
    /// <= 2**31 for a negative lane L never carries into the next lane.
    function _magnitudesNarrow(uint256 p, uint256 n) private pure returns (uint256 m) {
        assembly ("memory-safe") {
            let ones := 0x0000000100000001000000010000000100000001000000010000000100000001
            for { let end := add(p, shl(5, shr(3, n))) } lt(p, end) { p := add(p, 32) } {
                let x := calldataload(p)
                let s := and(shr(31, x), ones)
                m := or(m, add(xor(x, mul(s, 0xffffffff)), s))
            }
            m := or(m, shr(128, m))
            m := or(m, shr(64, m))
            m := and(or(m, shr(32, m)), 0xffffffff)
            for { let end := add(p, shl(2, and(n, 7))) } lt(p, end) { p := add(p, 4) } {
                let v := sar(224, calldataload(p))
                let s := sar(255, v)
                m := or(m, sub(xor(v, s), s))
            }
        }
    }

    /// @dev `_magnitudesNarrow` for a wide row: 4 lanes of 64 bits a word (|v| <= 2**63 fits).
    function _magnitudesWide(uint256 p, uint256 n) private pure returns (uint256 m) {
        assembly ("memory-safe") {
            let ones := 0x0000000000000001000000000000000100000000000000010000000000000001
            for { let end := add(p, shl(5, shr(2, n))) } lt(p, end) { p := add(p, 32) } {
                let x := calldataload(p)
                let s := and(shr(63, x), ones)
                m := or(m, add(xor(x, mul(s, 0xffffffffffffffff)), s))
            }
            m := or(m, shr(128, m))
            m := and(or(m, shr(64, m)), 0xffffffffffffffff)
            for { let end := add(p, shl(3, and(n, 3))) } lt(p, end) { p := add(p, 8) } {
                let v := sar(192, calldataload(p))
                let s := sar(255, v)
                m := or(m, sub(xor(v, s), s))
            }
        }
    }

    function _bitLength(uint256 x) private pure returns (uint256 n) {
        unchecked {
            if (x >> 128 != 0) (x, n) = (x >> 128, 128);
            if (x >> 64 != 0) (x, n) = (x >> 64, n + 64);
            if (x >> 32 != 0) (x, n) = (x >> 32, n + 32);
            if (x >> 16 != 0) (x, n) = (x >> 16, n + 16);
            if (x >> 8 != 0) (x, n) = (x >> 8, n + 8);
            if (x >> 4 != 0) (x, n) = (x >> 4, n + 4);
            if (x >> 2 != 0) (x, n) = (x >> 2, n + 2);
            if (x >> 1 != 0) (x, n) = (x >> 1, n + 1);
            n += x; // x is 0 or 1 here
        }
    }

    // ---- conv -----------------------------------------------------------------------------

    function _convSum(bytes[] calldata rows, bytes calldata wRow, Conv calldata g) private pure returns (int256 acc) {
        Window memory win = _window(g);
        uint256 nRows = g.channels * win.kh;
        if (rows.length != nRows) revert PatchSize(rows.length, nRows);
        (uint256 pw, uint256 nw, bool ww) = leafValues(wRow);
        if (nw != nRows * win.kw) revert LengthMismatch(nw, nRows * win.kw);
        win.wStep = ww ? 8 : 4;
        win.wPtr = pw + win.dx0 * win.wStep;
        uint256 bad;
        (acc, bad) = _patchSum(_offset(rows), nRows, win);
        if (bad != 0) _badRow(rows[bad - 1], bad - 1, win);
    }

    /// @dev The patch in one assembly loop (a row through Solidity's bytes[] access, leafValues
    /// and _sum cost ~2,500 gas; here ~840 with its 3 products): for entry i = c·kh + dy,
    /// the row's `cnt` values from column `col` against the kernel's from i·kw + dx0. `base` is
    /// the bytes[]'s offset table (ABI offsets are relative to it). An entry that is not what
    /// the layout asks (a padding entry not empty, a row not a well-formed leaf of W values inside
    /// calldata) stops the loop with bad = i + 1, and `_badRow` reverts with the named error.
    /// Stack slots are scarce here: the window's fields are read from memory where used, and
    /// `p` / `end` first hold the entry's position and length. The unchecked accumulator is
    /// exact for the reason given at `_sum` (values <= 2**63, fewer than 2**28 products).
    function _patchSum(uint256 base, uint256 nRows, Window memory win) private pure returns (int256 acc, uint256 bad) {
        assembly ("memory-safe") {
            let wp := mload(add(win, 0x100))
            let ws := mload(add(win, 0x120))
            let sw := sub(256, shl(3, ws)) // a weight's sar: 224 (narrow) or 192 (wide)
            let dy := 0
            for { let i := 0 } lt(i, nRows) { i := add(i, 1) } {
                // An offset and a length below calldatasize keep the sums here from wrapping.
                let p := calldataload(add(base, shl(5, i)))
                if iszero(lt(p, calldatasize())) {
                    bad := add(i, 1)
                    break
                }
                p := add(add(base, p), 32) // the entry's bytes
                let end := calldataload(sub(p, 32)) // its length, for now
                if gt(add(p, end), calldatasize()) {
                    bad := add(i, 1)
                    break
                }
                switch and(iszero(lt(dy, mload(add(win, 0x60)))), lt(dy, mload(add(win, 0x80))))
                case 0 {
                    if end {
                        bad := add(i, 1)
                        break
                    }
                }
                default {
                    let step := shl(iszero(shr(248, calldataload(p))), 4) // prefix 0x00: 8 bytes
                    // A leaf of W values: prefix 0x00 or 0x02 and 1 + W·step bytes (so never empty).
                    let prefixOk := eq(or(shr(248, calldataload(p)), 2), 2)
                    if iszero(and(prefixOk, eq(end, add(1, mul(mload(add(win, 0x40)), step))))) {
                        bad := add(i, 1)
                        break
                    }
                    let s := sub(256, shl(3, step))
                    p := add(add(p, 1), mul(mload(add(win, 0xa0)), step))
                    end := add(p, mul(mload(add(win, 0xe0)), step))
                    for { let q := wp } lt(p, end) {
                        p := add(p, step)
                        q := add(q, ws)
                    } { acc := add(acc, mul(sar(s, calldataload(p)), sar(sw, calldataload(q)))) }
                }
                wp := add(wp, mul(mload(add(win, 0x20)), ws)) // the next entry's kw weights
                dy := add(dy, 1)
                if eq(dy, mload(win)) { dy := 0 }
            }
        }
    }

    /// @dev Reverts with the reason `_patchSum` stopped at entry `index` (Solidity's own bytes[]
    /// access first rejects a malformed ABI offset or length).
    function _badRow(bytes calldata row, uint256 index, Window memory win) private pure {
        uint256 dy = index % win.kh;
        if (dy < win.dyLo || dy >= win.dyHi) revert PaddingRow(index);
        (, uint256 n,) = leafValues(row);
        if (n != win.width) revert LengthMismatch(n, win.width);
        revert BadLeaf(row.length); // unreachable for a well-formed ABI encoding
    }

    function _window(Conv calldata g) private pure returns (Window memory win) {
        (win.kh, win.kw, win.width) = (g.kh, g.kw, g.width);
        uint256 start;
        (win.dyLo, win.dyHi, ) = _axis(g.y, g.strideY, g.padTop, g.padBottom, g.height, g.kh);
        (win.dx0, win.cnt, start) = _axis(g.x, g.strideX, g.padLeft, g.padRight, g.width, g.kw);
        win.col = start + win.dx0 - g.padLeft; // the first used value lies inside: >= padLeft
        win.cnt -= win.dx0;
    }

    /// @dev One axis of the window: output index `o`, its window starts at padded coordinate
    /// start = o·stride and kernel offsets d in [lo, hi) land inside the input [padLo, padLo + size).
    /// Checks what im2col's sliding windows imply: k, stride >= 1, k <= padded size, o < extent.
    function _axis(uint256 o, uint256 stride, uint256 padLo, uint256 padHi, uint256 size, uint256 k)
        private
        pure
        returns (uint256 lo, uint256 hi, uint256 start)
    {
        uint256 padded = size + padLo + padHi;
        if (k == 0 || stride == 0 || k > padded) revert BadKernel(k, stride, padded);
        uint256 extent = (padded - k) / stride + 1;
        if (o >= extent) revert OutsideOutput(o, extent);
        start = o * stride;
        lo = padLo > start ? padLo - start : 0;
        uint256 end = padLo + size; // one past the last input coordinate
        hi = end > start ? end - start : 0;
        if (hi > k) hi = k;
        if (hi < lo) hi = lo; // the window misses the input (all padding)
    }

    // ---- the dot-product kernel -----------------------------------------------------------

    /// @dev Σ_k a'[k]·b[k] over n values at calldata offsets pa, pb (wide: 8 bytes a value, else
    /// 4), with a' = rshift_round(a, e) (e = 0: a itself): full blocks of 8, then the rest.
    ///
    /// Why the unchecked int256 accumulator cannot overflow: every value read is a sign-extended
    /// 4- or 8-byte integer, so |v| <= 2**63, and a rounded a' = floor((a + 2**(e-1)) / 2**e)
    /// is no larger; each product is at most 2**126 in magnitude. n is below 2**28: calldata
    /// costs at least 4 gas a byte, and no block holds 2**30 gas. So every partial sum stays
    /// below 2**28 · 2**126 = 2**154 < 2**255, and EVM mul/add (mod 2**256) equal the exact
    /// two's-complement results. SPEC §1's proven bounds (products < 2**62, sums < 2**63) are far
    /// inside this, and not needed for exactness.
    function _sum(uint256 pa, bool wa, uint256 pb, bool wb, uint256 n, uint256 e)
        private
        pure
        returns (int256 acc)
    {
        unchecked {
            uint256 h = e == 0 ? 0 : 1 << (e - 1);
            if (e == 0 && wa && !wb) (pa, wa, pb, wb) = (pb, wb, pa, wa); // a·b = b·a: narrow first
            uint256 blocks = n >> 3;
            acc = _blocks(pa, wa, pb, wb, blocks, e, h);
            acc += _tail(pa + blocks * (wa ? 64 : 32), wa, pb + blocks * (wb ? 64 : 32), wb, n & 7, e, h);
        }
    }

    /// @dev Full blocks: one specialised loop per width pair (and for a rounded a), so the lane
    /// shifts are constants. Without rounding a wide-narrow pair was swapped to narrow-wide.
    function _blocks(uint256 pa, bool wa, uint256 pb, bool wb, uint256 blocks, uint256 e, uint256 h)
        private
        pure
        returns (int256)
    {
        if (blocks == 0) return 0;
        if (e == 0) {
            if (!wa) return wb ? _blocksNarrowWide(pa, pb, blocks) : _blocksNarrowNarrow(pa, pb, blocks);
            return _blocksWideWide(pa, pb, blocks);
        }
        if (!wa) {
            return wb
                ? _blocksRoundedNarrowWide(pa, pb, blocks, e, h)
                : _blocksRoundedNarrowNarrow(pa, pb, blocks, e, h);
        }
        return wb ? _blocksRoundedWideWide(pa, pb, blocks, e, h) : _blocksRoundedWideNarrow(pa, pb, blocks, e, h);
    }

    /// @dev The last n < 8 values (or a whole short conv segment), one at a time: a word read at
    /// a value's own offset holds it in its top 4 or 8 bytes, and sar drops whatever follows
    /// (the next values, or other calldata past the row's end).
    function _tail(uint256 pa, bool wa, uint256 pb, bool wb, uint256 n, uint256 e, uint256 h)
        private
        pure
        returns (int256 acc)
    {
        assembly ("memory-safe") {
            let sa := sub(224, shl(5, wa))
            let sb := sub(224, shl(5, wb))
            let stepA := shl(wa, 4)
            let stepB := shl(wb, 4)
            for { let end := add(pa, mul(n, stepA)) } lt(pa, end) {
                pa := add(pa, stepA)
                pb := add(pb, stepB)
            } {
                acc := add(acc, mul(sar(e, add(sar(sa, calldataload(pa)), h)), sar(sb, calldataload(pb))))
            }
        }
    }

    /// @dev Lanes of a block: a narrow word holds 8 values, lane i = sar(224, shl(32i, w)) (the
    /// last one signextend(3, w)); a wide word 4, lane j = sar(192, shl(64j, w)).

    /// @dev Sum over `blocks` blocks of 8 values: a narrow (32 bytes a block), b narrow (32).
    function _blocksNarrowNarrow(uint256 pa, uint256 pb, uint256 blocks) private pure returns (int256 acc) {
        assembly ("memory-safe") {
            for { let end := add(pa, mul(blocks, 32)) } lt(pa, end) {
                pa := add(pa, 32)
                pb := add(pb, 32)
            } {
                let x := calldataload(pa)
                let y := calldataload(pb)
                acc := add(
                    acc,
                    add(mul(sar(224, x), sar(224, y)),
                    add(mul(sar(224, shl(32, x)), sar(224, shl(32, y))),
                    add(mul(sar(224, shl(64, x)), sar(224, shl(64, y))),
                    add(mul(sar(224, shl(96, x)), sar(224, shl(96, y))),
                    add(mul(sar(224, shl(128, x)), sar(224, shl(128, y))),
                    add(mul(sar(224, shl(160, x)), sar(224, shl(160, y))),
                    add(mul(sar(224, shl(192, x)), sar(224, shl(192, y))),
                    mul(signextend(3, x), signextend(3, y)))))))))
                )
            }
        }
    }

    /// @dev Sum over `blocks` blocks of 8 values: a narrow (32 bytes a block), b wide (64).
    function _blocksNarrowWide(uint256 pa, uint256 pb, uint256 blocks) private pure returns (int256 acc) {
        assembly ("memory-safe") {
            for { let end := add(pa, mul(blocks, 32)) } lt(pa, end) {
                pa := add(pa, 32)
                pb := add(pb, 64)
            } {
                let x := calldataload(pa)
                let y0 := calldataload(pb)
                let y1 := calldataload(add(pb, 32))
                acc := add(
                    acc,
                    add(mul(sar(224, x), sar(192, y0)),
                    add(mul(sar(224, shl(32, x)), sar(192, shl(64, y0))),
                    add(mul(sar(224, shl(64, x)), sar(192, shl(128, y0))),
                    add(mul(sar(224, shl(96, x)), signextend(7, y0)),
                    add(mul(sar(224, shl(128, x)), sar(192, y1)),
                    add(mul(sar(224, shl(160, x)), sar(192, shl(64, y1))),
                    add(mul(sar(224, shl(192, x)), sar(192, shl(128, y1))),
                    mul(signextend(3, x), signextend(7, y1)))))))))
                )
            }
        }
    }

    /// @dev Sum over `blocks` blocks of 8 values: a wide (64 bytes a block), b wide (64).
    function _blocksWideWide(uint256 pa, uint256 pb, uint256 blocks) private pure returns (int256 acc) {
        assembly ("memory-safe") {
            for { let end := add(pa, mul(blocks, 64)) } lt(pa, end) {
                pa := add(pa, 64)
                pb := add(pb, 64)
            } {
                let x0 := calldataload(pa)
                let x1 := calldataload(add(pa, 32))
                let y0 := calldataload(pb)
                let y1 := calldataload(add(pb, 32))
                acc := add(
                    acc,
                    add(mul(sar(192, x0), sar(192, y0)),
                    add(mul(sar(192, shl(64, x0)), sar(192, shl(64, y0))),
                    add(mul(sar(192, shl(128, x0)), sar(192, shl(128, y0))),
                    add(mul(signextend(7, x0), signextend(7, y0)),
                    add(mul(sar(192, x1), sar(192, y1)),
                    add(mul(sar(192, shl(64, x1)), sar(192, shl(64, y1))),
                    add(mul(sar(192, shl(128, x1)), sar(192, shl(128, y1))),
                    mul(signextend(7, x1), signextend(7, y1)))))))))
                )
            }
        }
    }

    /// @dev The same blocks (a narrow, b narrow), each a value rounded first: sar(e, a + h).
    function _blocksRoundedNarrowNarrow(uint256 pa, uint256 pb, uint256 blocks, uint256 e, uint256 h) private pure returns (int256 acc) {
        assembly ("memory-safe") {
            for { let end := add(pa, mul(blocks, 32)) } lt(pa, end) {
                pa := add(pa, 32)
                pb := add(pb, 32)
            } {
                let x := calldataload(pa)
                let y := calldataload(pb)
                acc := add(
                    acc,
                    add(mul(sar(e, add(sar(224, x), h)), sar(224, y)),
                    add(mul(sar(e, add(sar(224, shl(32, x)), h)), sar(224, shl(32, y))),
                    add(mul(sar(e, add(sar(224, shl(64, x)), h)), sar(224, shl(64, y))),
                    add(mul(sar(e, add(sar(224, shl(96, x)), h)), sar(224, shl(96, y))),
                    add(mul(sar(e, add(sar(224, shl(128, x)), h)), sar(224, shl(128, y))),
                    add(mul(sar(e, add(sar(224, shl(160, x)), h)), sar(224, shl(160, y))),
                    add(mul(sar(e, add(sar(224, shl(192, x)), h)), sar(224, shl(192, y))),
                    mul(sar(e, add(signextend(3, x), h)), signextend(3, y)))))))))
                )
            }
        }
    }

    /// @dev The same blocks (a narrow, b wide), each a value rounded first: sar(e, a + h).
    function _blocksRoundedNarrowWide(uint256 pa, uint256 pb, uint256 blocks, uint256 e, uint256 h) private pure returns (int256 acc) {
        assembly ("memory-safe") {
            for { let end := add(pa, mul(blocks, 32)) } lt(pa, end) {
                pa := add(pa, 32)
                pb := add(pb, 64)
            } {
                let x := calldataload(pa)
                let y0 := calldataload(pb)
                let y1 := calldataload(add(pb, 32))
                acc := add(
                    acc,
                    add(mul(sar(e, add(sar(224, x), h)), sar(192, y0)),
                    add(mul(sar(e, add(sar(224, shl(32, x)), h)), sar(192, shl(64, y0))),
                    add(mul(sar(e, add(sar(224, shl(64, x)), h)), sar(192, shl(128, y0))),
                    add(mul(sar(e, add(sar(224, shl(96, x)), h)), signextend(7, y0)),
                    add(mul(sar(e, add(sar(224, shl(128, x)), h)), sar(192, y1)),
                    add(mul(sar(e, add(sar(224, shl(160, x)), h)), sar(192, shl(64, y1))),
                    add(mul(sar(e, add(sar(224, shl(192, x)), h)), sar(192, shl(128, y1))),
                    mul(sar(e, add(signextend(3, x), h)), signextend(7, y1)))))))))
                )
            }
        }
    }

    /// @dev The same blocks (a wide, b narrow), each a value rounded first: sar(e, a + h).
    function _blocksRoundedWideNarrow(uint256 pa, uint256 pb, uint256 blocks, uint256 e, uint256 h) private pure returns (int256 acc) {
        assembly ("memory-safe") {
            for { let end := add(pa, mul(blocks, 64)) } lt(pa, end) {
                pa := add(pa, 64)
                pb := add(pb, 32)
            } {
                let x0 := calldataload(pa)
                let x1 := calldataload(add(pa, 32))
                let y := calldataload(pb)
                acc := add(
                    acc,
                    add(mul(sar(e, add(sar(192, x0), h)), sar(224, y)),
                    add(mul(sar(e, add(sar(192, shl(64, x0)), h)), sar(224, shl(32, y))),
                    add(mul(sar(e, add(sar(192, shl(128, x0)), h)), sar(224, shl(64, y))),
                    add(mul(sar(e, add(signextend(7, x0), h)), sar(224, shl(96, y))),
                    add(mul(sar(e, add(sar(192, x1), h)), sar(224, shl(128, y))),
                    add(mul(sar(e, add(sar(192, shl(64, x1)), h)), sar(224, shl(160, y))),
                    add(mul(sar(e, add(sar(192, shl(128, x1)), h)), sar(224, shl(192, y))),
                    mul(sar(e, add(signextend(7, x1), h)), signextend(3, y)))))))))
                )
            }
        }
    }

    /// @dev The same blocks (a wide, b wide), each a value rounded first: sar(e, a + h).
    function _blocksRoundedWideWide(uint256 pa, uint256 pb, uint256 blocks, uint256 e, uint256 h) private pure returns (int256 acc) {
        assembly ("memory-safe") {
            for { let end := add(pa, mul(blocks, 64)) } lt(pa, end) {
                pa := add(pa, 64)
                pb := add(pb, 64)
            } {
                let x0 := calldataload(pa)
                let x1 := calldataload(add(pa, 32))
                let y0 := calldataload(pb)
                let y1 := calldataload(add(pb, 32))
                acc := add(
                    acc,
                    add(mul(sar(e, add(sar(192, x0), h)), sar(192, y0)),
                    add(mul(sar(e, add(sar(192, shl(64, x0)), h)), sar(192, shl(64, y0))),
                    add(mul(sar(e, add(sar(192, shl(128, x0)), h)), sar(192, shl(128, y0))),
                    add(mul(sar(e, add(signextend(7, x0), h)), signextend(7, y0)),
                    add(mul(sar(e, add(sar(192, x1), h)), sar(192, y1)),
                    add(mul(sar(e, add(sar(192, shl(64, x1)), h)), sar(192, shl(64, y1))),
                    add(mul(sar(e, add(sar(192, shl(128, x1)), h)), sar(192, shl(128, y1))),
                    mul(sar(e, add(signextend(7, x1), h)), signextend(7, y1)))))))))
                )
            }
        }
    }

    function _offset(bytes calldata b) private pure returns (uint256 off) {
        assembly ("memory-safe") {
            off := b.offset
        }
    }

    function _offset(bytes[] calldata b) private pure returns (uint256 off) {
        assembly ("memory-safe") {
            off := b.offset
        }
    }
}
