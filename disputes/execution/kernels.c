/* Exact int64 kernels for the executor's elementwise, table and row steps (disputes/SPEC.md).
 *
 * Built by disputes/ops/native.py (or `make native`) into a shared library loaded by ctypes.
 * Each kernel computes, bit for bit, what the NumPy reference in disputes/ops/ computes, in one
 * pass over contiguous int64 arrays instead of several NumPy passes. Integer arithmetic wraps
 * like NumPy's (the library is compiled with -fwrapv); every bound the NumPy code checks is
 * checked here too and reported as a nonzero return code (the loader raises BoundsError):
 *   VI_ESHIFT (1)    a left shift (rescale to a finer scale) would leave 2**62
 *   VI_EZERO (2)     division by zero
 *   VI_ENUM (3)      a division numerator (after its shift) reaches 2**60
 *   VI_ESQRT (4)     a sqrt operand reaches 2**62
 *   VI_EFALLBACK (5) an operand so large (>= 2**62) that NumPy's own wrapping decides the result;
 *                    nothing was written and the loader runs the NumPy code instead
 * The arithmetic kernels also store max|out| in *maxabs (lut: over its identity tail only); the
 * caller checks it against 2**47 where the NumPy code does and records it as the proven bound.
 *
 * A binary kernel reads `a` as `rows` rows of `cols` and `b` in one of four layouts (VI_SAME: the
 * same shape; VI_ROW: one value per row; VI_COL: one row of `cols` repeated for every row;
 * VI_SCALAR: one value). Bounds that are powers of two are checked on the OR of the magnitudes,
 * which has the same highest bit as their maximum, so the loops stay branch-free.
 *
 * Every kernel is compiled twice, plain x86-64 (or C elsewhere) and with AVX2 through a
 * per-function target attribute; vi_select() chooses (auto: AVX2 where the CPU has it), so the
 * library runs on any x86-64 and the flags stay portable.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

typedef int64_t i64;
typedef uint64_t u64;

enum { VI_SAME = 0, VI_ROW = 1, VI_COL = 2, VI_SCALAR = 3 };
enum { VI_ESHIFT = 1, VI_EZERO = 2, VI_ENUM = 3, VI_ESQRT = 4, VI_EFALLBACK = 5 };
enum { VI_AUTO = 0, VI_PORTABLE = 1, VI_AVX2 = 2 };
enum { VI_SUM = 0, VI_MEAN = 1, VI_MAX = 2 };

#define INLINE static inline __attribute__((always_inline))

INLINE u64 uabs(i64 x) {
    u64 m = (u64)(x >> 63);
    return ((u64)x ^ m) - m; /* |INT64_MIN| = 2**63, as NumPy's max_abs sees it in Python ints */
}

INLINE u64 umax(u64 a, u64 b) { return a > b ? a : b; }

/* rshift_round(x, k) (SPEC §1) as ((x + c) >>> r << l) - s on unsigned words: for k > 0 the
 * bias 2**63 turns the arithmetic shift into a logical one (AVX2 has no 64-bit arithmetic shift),
 * s removes it again; for k < 0 it is the left shift (its bound is checked by the caller). */
typedef struct {
    u64 c, s;
    int r, l;
} rescaler;

INLINE rescaler rescaler_make(int k) {
    rescaler z = {0, 0, 0, 0};
    if (k > 0) {
        z.c = (1ULL << (k - 1)) + (1ULL << 63);
        z.r = k;
        z.s = 1ULL << (63 - k);
    } else {
        z.l = -k;
    }
    return z;
}

INLINE i64 rescale(rescaler z, i64 x) { return (i64)(((((u64)x + z.c) >> z.r) << z.l) - z.s); }

/* The largest magnitude a left shift by -k (k < 0) accepts is below 2**(62+k); no limit else. */
INLINE int shift_ok(int k, u64 or_abs) { return k >= 0 || or_abs < (1ULL << (62 + k)); }

/* The signed range of the values written; max|v| = max(|lo|, |hi|). Two compare-and-select
 * chains vectorize (AVX2 has no 64-bit abs or unsigned max). */
#define RANGE(v, lo, hi) ((lo) = (v) < (lo) ? (v) : (lo), (hi) = (v) > (hi) ? (v) : (hi))
#define RANGE_INIT(lo, hi) i64 lo = INT64_MAX, hi = INT64_MIN
INLINE u64 range_top(i64 lo, i64 hi) { return umax(uabs(lo), uabs(hi)); }

/* The b operand of a row: a vector (VI_SAME, VI_COL) or one value (VI_ROW, VI_SCALAR). */
INLINE const i64 *b_row(const i64 *b, int mode, i64 r, i64 cols) {
    return mode == VI_SAME ? b + r * cols : mode == VI_COL ? b : mode == VI_ROW ? b + r : b;
}

INLINE i64 b_count(int mode, i64 rows, i64 cols) {
    return mode == VI_SAME ? rows * cols : mode == VI_ROW ? rows : mode == VI_COL ? cols : 1;
}

INLINE u64 or_abs(const i64 *x, i64 n) {
    u64 acc = 0;
    for (i64 i = 0; i < n; i++)
        acc |= uabs(x[i]);
    return acc;
}

/* Eight or sixteen specialisations of one loop, chosen per row by a 3- or 4-bit code: the bits are compile-time
 * constants inside each case, so every combination compiles to its own tight loop. */
#define CASE(n, call) \
    case n: \
        call(n);      \
        break;
#define CASES8(call) \
    CASE(0, call) CASE(1, call) CASE(2, call) CASE(3, call) CASE(4, call) CASE(5, call) \
    CASE(6, call) CASE(7, call)
#define CASES16(call) \
    CASES8(call) CASE(8, call) CASE(9, call) CASE(10, call) CASE(11, call) CASE(12, call) \
    CASE(13, call) CASE(14, call) CASE(15, call)

/* ---- add / sub: out = ±rescale(a, ka) ± rescale(b, kb) ---------------------------------------
 * `plain` (both shifts 0, a not negated) is the common case: a bare add or subtract. `track`
 * keeps the output's range; without it (the caller has proven the bound) the loop is as short
 * as NumPy's and *maxabs is 0. */

INLINE i64 term(rescaler z, u64 m, i64 x) { return (i64)(((u64)rescale(z, x) ^ m) - m); }

INLINE void addsub_loop(const i64 *a, const i64 *b, i64 *o, i64 n, int bvec, rescaler ra,
                        rescaler rb, u64 ma, u64 mb, int plain, int sub, int track, i64 *lo,
                        i64 *hi) {
    i64 l = *lo, h = *hi, bs = b[0];
    for (i64 c = 0; c < n; c++) {
        i64 y = bvec ? b[c] : bs, v;
        if (plain)
            v = sub ? a[c] - y : a[c] + y;
        else
            v = (i64)((u64)term(ra, ma, a[c]) + (u64)term(rb, mb, y));
        if (track)
            RANGE(v, l, h);
        o[c] = v;
    }
    *lo = l;
    *hi = h;
}

#define ADDSUB(n) \
    addsub_loop(ar, br, o, cols, (n) & 1, ra, rb, ma, mb, (n) >> 1 & 1, (n) >> 2 & 1, (n) >> 3, \
                &lo, &hi)

INLINE int addsub_body(const i64 *a, const i64 *b, i64 *out, i64 rows, i64 cols, int mode,
                       int ka, int kb, int neg_a, int neg_b, int track, u64 *maxabs) {
    if (ka < 0 && !shift_ok(ka, or_abs(a, rows * cols)))
        return VI_ESHIFT;
    if (kb < 0 && !shift_ok(kb, or_abs(b, b_count(mode, rows, cols))))
        return VI_ESHIFT;
    rescaler ra = rescaler_make(ka), rb = rescaler_make(kb);
    u64 ma = neg_a ? ~0ULL : 0, mb = neg_b ? ~0ULL : 0; /* (x ^ m) - m negates when m = ~0 */
    int plain = ka == 0 && kb == 0 && !neg_a, bvec = mode == VI_SAME || mode == VI_COL;
    int code = bvec | plain << 1 | (plain && neg_b) << 2 | (track != 0) << 3;
    RANGE_INIT(lo, hi);
    for (i64 r = 0; r < rows; r++) {
        const i64 *ar = a + r * cols, *br = b_row(b, mode, r, cols);
        i64 *o = out + r * cols;
        switch (code) { CASES16(ADDSUB) }
    }
    *maxabs = track ? range_top(lo, hi) : 0;
    return 0;
}

/* ---- mul: out = rshift_round(a * b, k) (the product bound is proven by the caller) -----------
 * Specialised on the shift (none, right, left; only a left shift has a bound to check) and on
 * `track` (as in add). */

INLINE void mul_loop(const i64 *a, const i64 *b, i64 *o, i64 n, int bvec, rescaler z, int kind,
                     int track, u64 *or_p, i64 *lo, i64 *hi) {
    i64 l = *lo, h = *hi;
    u64 acc = *or_p, bs = (u64)b[0];
    for (i64 c = 0; c < n; c++) {
        u64 p = (u64)a[c] * (bvec ? (u64)b[c] : bs);
        i64 v = kind == 0 ? (i64)p : kind == 1 ? (i64)(((p + z.c) >> z.r) - z.s) : (i64)(p << z.l);
        if (kind == 2)
            acc |= uabs((i64)p);
        if (track)
            RANGE(v, l, h);
        o[c] = v;
    }
    *or_p = acc;
    *lo = l;
    *hi = h;
}

/* code bits: 0 bvec, 1 right shift, 2 track; a left shift (rare) takes the general loop. */
#define MUL(n) mul_loop(ar, br, o, cols, (n) & 1, z, (n) >> 1 & 1, (n) >> 2 & 1, &or_p, &lo, &hi)

INLINE int mul_body(const i64 *a, const i64 *b, i64 *out, i64 rows, i64 cols, int mode, int k,
                    int track, u64 *maxabs) {
    rescaler z = rescaler_make(k);
    int bvec = mode == VI_SAME || mode == VI_COL;
    int code = bvec | (k > 0) << 1 | (track != 0) << 2;
    u64 or_p = 0;
    RANGE_INIT(lo, hi);
    for (i64 r = 0; r < rows; r++) {
        const i64 *ar = a + r * cols, *br = b_row(b, mode, r, cols);
        i64 *o = out + r * cols;
        if (k < 0)
            mul_loop(ar, br, o, cols, bvec, z, 2, 1, &or_p, &lo, &hi);
        else
            switch (code) { CASES8(MUL) }
    }
    *maxabs = track || k < 0 ? range_top(lo, hi) : 0;
    return shift_ok(k, or_p) ? 0 : VI_ESHIFT;
}

/* ---- div: round_div(a << nsh, b << dsh) (one of the shifts is 0) -------------------------------
 * round_div(n, d) = sign(n)·sign(d)·floor(N / D) with N = 2|n| + |d|, D = 2|d|. For a divisor per
 * row with N, D < 2**51 everything below is exact in doubles: c = fl(N · fl(1/D)) is within
 * 2**-52·N/D < 1/4 of N/D, so q = round(c) is floor(N/D) or one more, and the exact remainder
 * N - q·D (q·D <= N + D < 2**52) is negative exactly in the second case. Otherwise (and for a
 * divisor per element) it is an exact integer division. */

typedef i64 v4i __attribute__((vector_size(32), aligned(8)));
typedef double v4d __attribute__((vector_size(32), aligned(8)));
#define MAGIC 6755399441055744.0   /* 2**52 + 2**51: x + MAGIC has x's integer in its low bits */
#define MAGIC_BITS 0x4338000000000000LL
#define SIGN_BIT ((i64)1 << 63)

INLINE u64 div_exact(u64 n_abs, u64 ad) { return (2 * n_abs + ad) / (2 * ad); }

INLINE u64 div_row_exact(const i64 *a, i64 *o, i64 cols, i64 d, int nsh) {
    u64 mx = 0;
    for (i64 c = 0; c < cols; c++) {
        u64 s = (u64)((a[c] ^ d) >> 63), q = div_exact(uabs(a[c]) << nsh, uabs(d));
        mx = umax(mx, q);
        o[c] = (i64)((q ^ s) - s);
    }
    return mx;
}

/* The per-row constants of the float path, as vectors: N = |a|·nscale + ad, D = df, 1/D = rd. */
typedef struct {
    v4d nscale, ad, df, rd;
} div_row;

/* o[0..4) = round_div of a[0..4) by the row's divisor d; |a| << (nsh + 1) + |d| < 2**51
 * (checked per row by the caller). *mx keeps the largest |quotient|. */
INLINE void div4(const i64 *a, i64 *o, const div_row *p, i64 d, v4d *mx) {
    v4i x;
    memcpy(&x, a, 32);
    v4d af = (v4d)(x + MAGIC_BITS) - MAGIC; /* exact int64 -> double for |x| < 2**51 */
    v4d nf = (v4d)((v4i)af & ~SIGN_BIT) * p->nscale + p->ad;
    v4d q = (nf * p->rd + 0x1p52) - 0x1p52; /* round to nearest integer */
    v4d rem = nf - q * p->df;
    q -= (v4d)((v4i)(rem < 0.0) & (v4i)((v4d){1.0, 1.0, 1.0, 1.0}));
    v4i qi = (v4i)q, bigger = (v4i)(q > *mx); /* a double compare: SSE2 has no 64-bit one */
    *mx = (v4d)((qi & bigger) | ((v4i)*mx & ~bigger));
    v4i out = (v4i)((v4d)(qi ^ ((x ^ d) & SIGN_BIT)) + MAGIC) - MAGIC_BITS;
    memcpy(o, &out, 32);
}

INLINE u64 div_row_float(const i64 *a, i64 *o, i64 cols, i64 d, int nsh) {
    double ad = (double)uabs(d), df = 2.0 * ad, rd = 1.0 / df, ns = (double)(2ULL << nsh);
    v4d zero = {0, 0, 0, 0};
    div_row p = {zero + ns, zero + ad, zero + df, zero + rd};
    v4d mx = zero;
    i64 c = 0;
#pragma GCC unroll 4
    for (; c + 4 <= cols; c += 4)
        div4(a + c, o + c, &p, d, &mx);
    double m[4];
    memcpy(m, &mx, 32);
    u64 top = umax((u64)(m[0] > m[1] ? m[0] : m[1]), (u64)(m[2] > m[3] ? m[2] : m[3]));
    if (c < cols)
        top = umax(top, div_row_exact(a + c, o + c, cols - c, d, nsh));
    return top;
}

INLINE u64 div_elementwise(const i64 *a, const i64 *b, i64 *o, i64 cols, int nsh, int dsh) {
    u64 mx = 0;
    for (i64 c = 0; c < cols; c++) {
        i64 d = (i64)((u64)b[c] << dsh);
        u64 s = (u64)((a[c] ^ d) >> 63), q = div_exact(uabs(a[c]) << nsh, uabs(d));
        mx = umax(mx, q);
        o[c] = (i64)((q ^ s) - s);
    }
    return mx;
}

INLINE int any_zero(const i64 *x, i64 n) {
    int z = 0;
    for (i64 i = 0; i < n; i++)
        z |= x[i] == 0;
    return z;
}

INLINE int div_body(const i64 *a, const i64 *b, i64 *out, i64 rows, i64 cols, int mode, int sh,
                    u64 *maxabs) {
    int nsh = sh > 0 ? sh : 0, dsh = sh < 0 ? -sh : 0; /* |sh| <= 60, checked by the caller */
    i64 nb = b_count(mode, rows, cols);
    u64 top = or_abs(a, rows * cols), bor = or_abs(b, nb);
    if (top >= (1ULL << 62) || bor >= (1ULL << 62))
        return VI_EFALLBACK; /* np.abs(INT64_MIN) and 2·|d| wrap there */
    if (any_zero(b, nb))
        return VI_EZERO;
    if (dsh && bor >= (1ULL << (62 - dsh)))
        return VI_ESHIFT;
    if (top >= (1ULL << (60 - nsh))) /* covers the left shift's own bound 2**(62-nsh) too */
        return VI_ENUM;
    u64 mx = 0, n_max = 2 * (top << nsh); /* the OR bounds max|a| (same highest bit) */
    for (i64 r = 0; r < rows; r++) {
        const i64 *ar = a + r * cols;
        i64 *o = out + r * cols;
        if (mode == VI_SAME || mode == VI_COL) {
            mx = umax(mx, div_elementwise(ar, b_row(b, mode, r, cols), o, cols, nsh, dsh));
            continue;
        }
        i64 d = (i64)((u64)b_row(b, mode, r, cols)[0] << dsh);
        u64 ad = uabs(d);
        int fits = n_max + ad < (1ULL << 51) && 2 * ad < (1ULL << 51);
        mx = umax(mx, fits ? div_row_float(ar, o, cols, d, nsh) : div_row_exact(ar, o, cols, d, nsh));
    }
    *maxabs = mx;
    return 0;
}

/* ---- lut: SPEC §5.1 at scale 12 (the same integers as nonlinear._lut_dense) --------------------
 * t = (a + c) >> k = rescale(a, s_a, 12) - lo, j = clamp(t, 0, span), i = j >> fb, f = j & (2**fb - 1):
 * out = T[i] + rshift_round(slope[i] · f, fb), read from a packed table of 8-byte entries
 * (T[i] + 2**31) << 32 | (u32)slope[i] (the caller checks both fit 32 bits), about 8 KiB, so it
 * stays in L1 where the dense 512 KiB table of every t fell out of cache between steps. For an
 * identity tail and t > span: rescale(t + lo, 12, s_out) (shift ko = 12 - s_out). Table values
 * need no range pass (the caller knows the table's largest entry): *maxabs is max|out| over the
 * tail only (0 without one). */

#define LUT_BIAS ((i64)1 << 31)

typedef struct {
    rescaler zt, zo;
    i64 span, lo;
    int fb;
    const i64 *packed;
} lut_spec;

INLINE i64 lut_point(const lut_spec *p, i64 j) {
    u64 e = (u64)p->packed[j >> p->fb];
    i64 slope = (int32_t)(uint32_t)e, f = j & ((1 << p->fb) - 1);
    return (i64)(e >> 32) - LUT_BIAS + ((slope * f + (1 << (p->fb - 1))) >> p->fb);
}

INLINE void lut_loop(const i64 *a, i64 *out, i64 n, const lut_spec *p, int identity, u64 *or_x,
                     u64 *top) {
    u64 acc = *or_x, mx = *top;
    for (i64 i = 0; i < n; i++) {
        i64 t = rescale(p->zt, a[i]);
        i64 v = lut_point(p, t < 0 ? 0 : t > p->span ? p->span : t);
        if (identity && t > p->span) {
            i64 x = t + p->lo;
            acc |= uabs(x);
            v = rescale(p->zo, x);
            mx = umax(mx, uabs(v));
        }
        out[i] = v;
    }
    *or_x = acc;
    *top = mx;
}

INLINE lut_spec lut_make(int k, i64 c, i64 span, int fb, const i64 *packed, i64 lo, int ko) {
    lut_spec p = {rescaler_make(k), rescaler_make(ko), span, lo, fb, packed};
    p.zt.c += (u64)c - ((u64)1 << (k - 1)); /* c already holds the rounding half */
    return p;
}

INLINE int lut_body(const i64 *a, i64 *out, i64 n, int k, i64 c, i64 span, int fb,
                    const i64 *packed, int identity, i64 lo, int ko, u64 *maxabs) {
    lut_spec p = lut_make(k, c, span, fb, packed, lo, ko);
    u64 or_x = 0, top = 0;
    if (identity)
        lut_loop(a, out, n, &p, 1, &or_x, &top);
    else
        lut_loop(a, out, n, &p, 0, &or_x, &top);
    *maxabs = top;
    return shift_ok(ko, or_x) ? 0 : VI_ESHIFT;
}

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

/* Four points: t in 64-bit lanes, j narrowed to 32 bits for the gather index, the product of the
 * 32-bit slope and f with one vpmuldq, the rounding shift with the 2**63 bias (no 64-bit
 * arithmetic shift in AVX2). Fours with a tail element are redone in scalar. */
__attribute__((target("avx2"))) static int lut_avx2_body(const i64 *a, i64 *out, i64 n, int k,
                                                         i64 c, i64 span, int fb,
                                                         const i64 *packed, int identity, i64 lo,
                                                         int ko, u64 *maxabs) {
    lut_spec p = lut_make(k, c, span, fb, packed, lo, ko);
    u64 or_x = 0, top = 0;
    __m128i kt = _mm_cvtsi32_si128(k), fbv = _mm_cvtsi32_si128(fb);
    __m128i fmask = _mm_set1_epi32((1 << fb) - 1);
    __m256i sp = _mm256_set1_epi64x(span), zero = _mm256_setzero_si256();
    __m256i bias = _mm256_set1_epi64x((i64)p.zt.c), unbias = _mm256_set1_epi64x((i64)p.zt.s);
    __m256i low32 = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    __m256i rbias = _mm256_set1_epi64x((i64)((1ULL << (fb - 1)) + (1ULL << 63)));
    __m256i runbias = _mm256_set1_epi64x((i64)(1ULL << (63 - fb)));
    __m256i tbias = _mm256_set1_epi64x(LUT_BIAS);
    i64 i = 0;
    for (; i + 4 <= n; i += 4) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(a + i));
        __m256i t = _mm256_sub_epi64(_mm256_srl_epi64(_mm256_add_epi64(x, bias), kt), unbias);
        __m256i j = _mm256_and_si256(t, _mm256_cmpgt_epi64(t, zero));
        __m256i big = _mm256_cmpgt_epi64(j, sp);
        j = _mm256_blendv_epi8(j, sp, big);
        __m128i j32 = _mm256_castsi256_si128(_mm256_permutevar8x32_epi32(j, low32));
        __m256i e = _mm256_i32gather_epi64((const long long *)packed, _mm_srl_epi32(j32, fbv), 8);
        __m256i f = _mm256_cvtepu32_epi64(_mm_and_si128(j32, fmask));
        __m256i r = _mm256_add_epi64(_mm256_mul_epi32(e, f), rbias);
        r = _mm256_sub_epi64(_mm256_srl_epi64(r, fbv), runbias);
        __m256i base = _mm256_sub_epi64(_mm256_srli_epi64(e, 32), tbias);
        _mm256_storeu_si256((__m256i *)(out + i), _mm256_add_epi64(base, r));
        if (identity && !_mm256_testz_si256(big, big))
            lut_loop(a + i, out + i, 4, &p, 1, &or_x, &top);
    }
    lut_loop(a + i, out + i, n - i, &p, identity, &or_x, &top);
    *maxabs = top;
    return shift_ok(ko, or_x) ? 0 : VI_ESHIFT;
}
#endif

/* ---- reductions along rows: sum, round_div(sum, cols), max; then rescale by k ---------------- */

INLINE i64 row_sum(const i64 *x, i64 cols) {
    u64 s = 0;
    for (i64 c = 0; c < cols; c++)
        s += (u64)x[c];
    return (i64)s;
}

INLINE i64 row_max(const i64 *x, i64 cols) {
    i64 m = x[0];
    for (i64 c = 1; c < cols; c++)
        m = x[c] > m ? x[c] : m;
    return m;
}

INLINE int reduce_body(const i64 *x, i64 *out, i64 rows, i64 cols, int op, int k, u64 *maxabs) {
    rescaler z = rescaler_make(k);
    u64 or_v = 0, or_s = 0, mx = 0;
    for (i64 r = 0; r < rows; r++) {
        const i64 *xr = x + r * cols;
        i64 v = op == VI_MAX ? row_max(xr, cols) : row_sum(xr, cols);
        if (op == VI_MEAN) {
            u64 s = (u64)(v >> 63), m = div_exact(uabs(v), (u64)cols);
            or_s |= uabs(v);
            v = (i64)((m ^ s) - s);
        }
        or_v |= uabs(v);
        v = rescale(z, v);
        mx = umax(mx, uabs(v));
        out[r] = v;
    }
    *maxabs = mx;
    if (or_s >= (1ULL << 60))
        return VI_ENUM;
    return shift_ok(k, or_v) ? 0 : VI_ESHIFT;
}

/* ---- sqrt: isqrt(max(a, 0) · 2**sh) (a rounding right shift when sh < 0) --------------------- */

INLINE u64 isqrt_u(u64 n) { /* exact floor(sqrt(n)) for n < 2**62 */
    u64 r = (u64)sqrt((double)n);
    while (r * r > n)
        r--;
    while ((r + 1) * (r + 1) <= n)
        r++;
    return r;
}

INLINE int sqrt_body(const i64 *a, i64 *out, i64 n, int sh, u64 *maxabs) {
    rescaler z = rescaler_make(-sh);
    u64 or_q = 0, or_n = 0, mx = 0;
    for (i64 i = 0; i < n; i++) {
        i64 q = a[i] > 0 ? a[i] : 0;
        or_q |= (u64)q;
        or_n |= (u64)rescale(z, q);
    }
    if (!shift_ok(-sh, or_q))
        return VI_ESHIFT;
    if (or_n >= (1ULL << 62))
        return VI_ESQRT;
    for (i64 i = 0; i < n; i++) {
        u64 r = isqrt_u((u64)rescale(z, a[i] > 0 ? a[i] : 0));
        mx = umax(mx, r);
        out[i] = (i64)r;
    }
    *maxabs = mx;
    return 0;
}

/* ---- transpose: out[b, j, i, :] = x[b, i, j, :] for x of shape (nb, ni, nj, nc) -------------
 * Every permutation that swaps two adjacent groups of axes is this (MiniLM's heads split and
 * merge, K transposed). Runs of nc > 1 elements are copied whole; single elements go in 8x8
 * tiles (AVX2: 4x4 register blocks) so reads and writes stay within a few cache lines. */

#define TILE 8

INLINE void transpose_tile(const i64 *x, i64 *o, i64 ni, i64 nj, i64 i0, i64 j0) {
    i64 ie = i0 + TILE < ni ? i0 + TILE : ni, je = j0 + TILE < nj ? j0 + TILE : nj;
    for (i64 j = j0; j < je; j++)
        for (i64 i = i0; i < ie; i++)
            o[j * ni + i] = x[i * nj + j];
}

INLINE int transpose_body(const i64 *x, i64 *out, i64 nb, i64 ni, i64 nj, i64 nc) {
    for (i64 b = 0; b < nb; b++) {
        const i64 *xb = x + b * ni * nj * nc;
        i64 *ob = out + b * ni * nj * nc;
        if (nc > 1) {
            for (i64 j = 0; j < nj; j++)
                for (i64 i = 0; i < ni; i++)
                    memcpy(ob + (j * ni + i) * nc, xb + (i * nj + j) * nc, (size_t)nc * 8);
            continue;
        }
        for (i64 i0 = 0; i0 < ni; i0 += TILE)
            for (i64 j0 = 0; j0 < nj; j0 += TILE)
                transpose_tile(xb, ob, ni, nj, i0, j0);
    }
    return 0;
}

#if defined(__x86_64__) || defined(__i386__)
/* o[0..4)[0..4) (rows ni apart) = the transpose of x[0..4)[0..4) (rows nj apart), in registers:
 * 64-bit unpacks, then 128-bit lane permutes. */
__attribute__((target("avx2"), always_inline)) static inline void transpose4(const i64 *x, i64 nj,
                                                                             i64 *o, i64 ni) {
    __m256i r0 = _mm256_loadu_si256((const __m256i *)x);
    __m256i r1 = _mm256_loadu_si256((const __m256i *)(x + nj));
    __m256i r2 = _mm256_loadu_si256((const __m256i *)(x + 2 * nj));
    __m256i r3 = _mm256_loadu_si256((const __m256i *)(x + 3 * nj));
    __m256i t0 = _mm256_unpacklo_epi64(r0, r1), t1 = _mm256_unpackhi_epi64(r0, r1);
    __m256i t2 = _mm256_unpacklo_epi64(r2, r3), t3 = _mm256_unpackhi_epi64(r2, r3);
    _mm256_storeu_si256((__m256i *)o, _mm256_permute2x128_si256(t0, t2, 0x20));
    _mm256_storeu_si256((__m256i *)(o + ni), _mm256_permute2x128_si256(t1, t3, 0x20));
    _mm256_storeu_si256((__m256i *)(o + 2 * ni), _mm256_permute2x128_si256(t0, t2, 0x31));
    _mm256_storeu_si256((__m256i *)(o + 3 * ni), _mm256_permute2x128_si256(t1, t3, 0x31));
}

/* Single elements in 4x4 register blocks, four output rows at a time written front to back
 * (measured: 25 us for 128x384 against 43 us row-major over the input and 170 us scalar). */
__attribute__((target("avx2"))) static int transpose_avx2_body(const i64 *x, i64 *out, i64 nb,
                                                               i64 ni, i64 nj, i64 nc) {
    if (nc > 1 || ni % 4 || nj % 4)
        return transpose_body(x, out, nb, ni, nj, nc);
    for (i64 b = 0; b < nb; b++) {
        const i64 *xb = x + b * ni * nj;
        i64 *ob = out + b * ni * nj;
        for (i64 j = 0; j < nj; j += 4)
            for (i64 i = 0; i < ni; i += 4)
                transpose4(xb + i * nj + j, nj, ob + j * ni + i, ni);
    }
    return 0;
}
#endif

/* ---- qmatmul's row rounding and rounding epilogue (SPEC §3 qmatmul) ------------------------ */

/* e[r] = max(0, bitlen(max_k |a[r, k]|) - amag) (the OR of the magnitudes has the max's bit
 * length), out[r, k] = (float)((a + 2**e/2) & -2**e): row r rounded to a multiple of 2**e_r,
 * exact in float32 (at most amag + 1 significant bits). */
static int qrows_body(const i64 *a, float *out, i64 *e, i64 rows, i64 cols, int amag) {
    for (i64 r = 0; r < rows; r++) {
        const i64 *x = a + r * cols;
        u64 m = 0;
        for (i64 k = 0; k < cols; k++) m |= uabs(x[k]);
        int bits = m ? 64 - __builtin_clzll(m) : 0;
        int sh = bits > amag ? bits - amag : 0;
        i64 half = sh ? (i64)1 << (sh - 1) : 0, mask = (i64)((u64)-1 << sh);
        float *o = out + r * cols;
        e[r] = sh;
        for (i64 k = 0; k < cols; k++) o[k] = (float)((x[k] + half) & mask);
    }
    return 0;
}

/* out[r, c] = floor(y[r, c] * scale + 1/2) + bias[c] (bias may be NULL). The caller proved
 * |out| < 2**47, and y * scale + 1/2 is exact in double, so the magic-number conversion of the
 * integer-valued floor is exact. */
static int qepi_body(const float *y, const i64 *bias, i64 *out, i64 rows, i64 cols,
                     double scale) {
    for (i64 r = 0; r < rows; r++) {
        const float *yr = y + r * cols;
        i64 *o = out + r * cols;
        for (i64 c = 0; c < cols; c++) {
            double v = floor((double)yr[c] * scale + 0.5) + MAGIC;
            i64 bitsv;
            memcpy(&bitsv, &v, 8);
            o[c] = (bitsv - MAGIC_BITS) + (bias ? bias[c] : 0);
        }
    }
    return 0;
}

/* ---- the exported entry points: each body twice (portable, AVX2), chosen by vi_select -------- */

static int impl_avx2 = -1; /* -1: not chosen yet */

#if defined(__x86_64__) || defined(__i386__)
#define AVX2_OK() __builtin_cpu_supports("avx2")
#define AVX2_VARIANT(name, params, args) \
    __attribute__((target("avx2"))) static int name##_avx2 params { return name##_avx2_body args; }
#define CALL_AVX2(name, args) name##_avx2 args
#else
#define AVX2_OK() 0
#define AVX2_VARIANT(name, params, args)
#define CALL_AVX2(name, args) name##_body args
#endif

#define ENTRY(name, params, args) \
    static int name##_portable params { return name##_body args; } \
    AVX2_VARIANT(name, params, args) \
    int vi_##name params { \
        if (impl_avx2 < 0) \
            impl_avx2 = AVX2_OK() ? 1 : 0; \
        return impl_avx2 ? CALL_AVX2(name, args) : name##_portable args; \
    }

/* Choose the code path (VI_AUTO, VI_PORTABLE, VI_AVX2); returns the path taken, or -1 when the
 * CPU cannot run the one asked for. */
int vi_select(int impl) {
    int avx2 = AVX2_OK() ? 1 : 0;
    if (impl == VI_AVX2 && !avx2)
        return -1;
    impl_avx2 = impl == VI_PORTABLE ? 0 : avx2;
    return impl_avx2 ? VI_AVX2 : VI_PORTABLE;
}

/* The AVX2 variants are the same C compiled for AVX2, except lut's and transpose's loops. */
#define addsub_avx2_body addsub_body
#define mul_avx2_body mul_body
#define div_avx2_body div_body
#define reduce_avx2_body reduce_body
#define sqrt_avx2_body sqrt_body
#define qrows_avx2_body qrows_body
#define qepi_avx2_body qepi_body

ENTRY(addsub,
      (const i64 *a, const i64 *b, i64 *out, i64 rows, i64 cols, int mode, int ka, int kb,
       int neg_a, int neg_b, int track, u64 *maxabs),
      (a, b, out, rows, cols, mode, ka, kb, neg_a, neg_b, track, maxabs))
ENTRY(mul,
      (const i64 *a, const i64 *b, i64 *out, i64 rows, i64 cols, int mode, int k, int track,
       u64 *maxabs),
      (a, b, out, rows, cols, mode, k, track, maxabs))
ENTRY(div, (const i64 *a, const i64 *b, i64 *out, i64 rows, i64 cols, int mode, int sh, u64 *maxabs),
      (a, b, out, rows, cols, mode, sh, maxabs))
ENTRY(lut,
      (const i64 *a, i64 *out, i64 n, int k, i64 c, i64 span, int fb, const i64 *packed,
       int identity, i64 lo, int ko, u64 *maxabs),
      (a, out, n, k, c, span, fb, packed, identity, lo, ko, maxabs))
ENTRY(reduce, (const i64 *x, i64 *out, i64 rows, i64 cols, int op, int k, u64 *maxabs),
      (x, out, rows, cols, op, k, maxabs))
ENTRY(sqrt, (const i64 *a, i64 *out, i64 n, int sh, u64 *maxabs), (a, out, n, sh, maxabs))
ENTRY(transpose, (const i64 *x, i64 *out, i64 nb, i64 ni, i64 nj, i64 nc), (x, out, nb, ni, nj, nc))
ENTRY(qrows, (const i64 *a, float *out, i64 *e, i64 rows, i64 cols, int amag),
      (a, out, e, rows, cols, amag))
ENTRY(qepi, (const float *y, const i64 *bias, i64 *out, i64 rows, i64 cols, double scale),
      (y, bias, out, rows, cols, scale))
