/* Batched keccak256 (Ethereum's Keccak, padding 0x01 ... 0x80, rate 136) for Merkle commitments.
 *
 * Built by disputes/keccak_native.py (or `make native`) into a shared library loaded by ctypes.
 * Every entry point hashes many messages in one call so Python pays the call overhead once per
 * batch, not once per leaf, and takes an `impl` argument choosing the code path:
 *   VI_AUTO (0)      the fastest this CPU supports (AVX2 4-way if available, else scalar)
 *   VI_SCALAR (1)    one message at a time, the best scalar permutation for this CPU
 *                    (BMI1/BMI2 andn/rorx where available, else portable x86-64 / C)
 *   VI_AVX2 (2)      4 equal-length messages at once in AVX2 (remainder < 4 by VI_SCALAR)
 *   VI_PORTABLE (3)  scalar, plain C without any ISA extension
 * All paths give identical digests (tests/disputes/test_merkle.py checks them against each other
 * and against eth_hash). Entry points return 0, or VI_EUNSUPPORTED / VI_ENOMEM:
 *   vi_keccak256_many(msgs, n, len, impl, out)     out[i] = keccak256(msgs[i*len .. (i+1)*len))
 *   vi_leaf_hashes_i64(rows, n, width, impl, out)  out[i] = leaf hash of row i (merkle.py rule 2:
 *                                                  0x02 || be32 values if all fit int32,
 *                                                  else 0x00 || be64 values)
 *   vi_node_hashes(children, n_pairs, impl, out)   out[i] = keccak256(0x01 || c[2i] || c[2i+1])
 *   vi_merkle_root(leaves, n, impl, out)           Merkle root over n leaf hashes (merkle.py
 *                                                  rule 4; n = 0 gives bytes32(0))
 *   vi_tensor_roots_i64(rows[], n_rows[], widths[], count, impl, out)
 *                                                  out[t] = root of tensor t's rows (rules 1-4)
 * Leaves and nodes are "one prefix byte + 8-byte words" messages. Their lanes are built straight
 * from the words: lane_k = (x_k << 8) | (x_{k-1} >> 56), x_k = word k as little-endian
 * (bswap of the int64 for big-endian leaves), x_{-1} = prefix << 56, so no packed copy is made.
 * Lanes are loaded little-endian as the Keccak spec requires; this file assumes a little-endian
 * host (x86-64, aarch64), which the loader checks. The AVX2 code is compiled only for x86 and
 * only with a per-function target attribute, chosen at run time: the library runs on any x86-64.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define VI_X86 1
#include <immintrin.h>
#else
#define VI_X86 0
#endif

#define RATE 136
#define RATE_LANES 17

enum { VI_AUTO = 0, VI_SCALAR = 1, VI_AVX2 = 2, VI_PORTABLE = 3 };
enum { VI_EUNSUPPORTED = -2, VI_ENOMEM = -1 };

static const uint64_t RC[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* One keccak-f[1600] round from lanes A##0..24 into E##0..24 (theta, rho, pi, chi, iota), generic
 * in the lane type through XOR / ROL / ANDN (ANDN(a, b) = ~a & b) / RCV (the round constant as a
 * lane). Generated (b[pi(i)] = rol(A[i] ^ d[i % 5], rho(i)), pi(x, y) = (y, 2x + 3y)) so that all
 * 25 lanes stay in local variables (XKCP opt64 style). */
#define ROUND(A, E, rc) do { \
    c0 = XOR(XOR(XOR(A##0, A##5), XOR(A##10, A##15)), A##20); \
    c1 = XOR(XOR(XOR(A##1, A##6), XOR(A##11, A##16)), A##21); \
    c2 = XOR(XOR(XOR(A##2, A##7), XOR(A##12, A##17)), A##22); \
    c3 = XOR(XOR(XOR(A##3, A##8), XOR(A##13, A##18)), A##23); \
    c4 = XOR(XOR(XOR(A##4, A##9), XOR(A##14, A##19)), A##24); \
    d0 = XOR(c4, ROL(c1, 1)); \
    d1 = XOR(c0, ROL(c2, 1)); \
    d2 = XOR(c1, ROL(c3, 1)); \
    d3 = XOR(c2, ROL(c4, 1)); \
    d4 = XOR(c3, ROL(c0, 1)); \
    b0 = XOR(A##0, d0); \
    b1 = ROL(XOR(A##6, d1), 44); \
    b2 = ROL(XOR(A##12, d2), 43); \
    b3 = ROL(XOR(A##18, d3), 21); \
    b4 = ROL(XOR(A##24, d4), 14); \
    E##0 = XOR(XOR(b0, ANDN(b1, b2)), RCV(rc)); \
    E##1 = XOR(b1, ANDN(b2, b3)); \
    E##2 = XOR(b2, ANDN(b3, b4)); \
    E##3 = XOR(b3, ANDN(b4, b0)); \
    E##4 = XOR(b4, ANDN(b0, b1)); \
    b0 = ROL(XOR(A##3, d3), 28); \
    b1 = ROL(XOR(A##9, d4), 20); \
    b2 = ROL(XOR(A##10, d0), 3); \
    b3 = ROL(XOR(A##16, d1), 45); \
    b4 = ROL(XOR(A##22, d2), 61); \
    E##5 = XOR(b0, ANDN(b1, b2)); \
    E##6 = XOR(b1, ANDN(b2, b3)); \
    E##7 = XOR(b2, ANDN(b3, b4)); \
    E##8 = XOR(b3, ANDN(b4, b0)); \
    E##9 = XOR(b4, ANDN(b0, b1)); \
    b0 = ROL(XOR(A##1, d1), 1); \
    b1 = ROL(XOR(A##7, d2), 6); \
    b2 = ROL(XOR(A##13, d3), 25); \
    b3 = ROL(XOR(A##19, d4), 8); \
    b4 = ROL(XOR(A##20, d0), 18); \
    E##10 = XOR(b0, ANDN(b1, b2)); \
    E##11 = XOR(b1, ANDN(b2, b3)); \
    E##12 = XOR(b2, ANDN(b3, b4)); \
    E##13 = XOR(b3, ANDN(b4, b0)); \
    E##14 = XOR(b4, ANDN(b0, b1)); \
    b0 = ROL(XOR(A##4, d4), 27); \
    b1 = ROL(XOR(A##5, d0), 36); \
    b2 = ROL(XOR(A##11, d1), 10); \
    b3 = ROL(XOR(A##17, d2), 15); \
    b4 = ROL(XOR(A##23, d3), 56); \
    E##15 = XOR(b0, ANDN(b1, b2)); \
    E##16 = XOR(b1, ANDN(b2, b3)); \
    E##17 = XOR(b2, ANDN(b3, b4)); \
    E##18 = XOR(b3, ANDN(b4, b0)); \
    E##19 = XOR(b4, ANDN(b0, b1)); \
    b0 = ROL(XOR(A##2, d2), 62); \
    b1 = ROL(XOR(A##8, d3), 55); \
    b2 = ROL(XOR(A##14, d4), 39); \
    b3 = ROL(XOR(A##15, d0), 41); \
    b4 = ROL(XOR(A##21, d1), 2); \
    E##20 = XOR(b0, ANDN(b1, b2)); \
    E##21 = XOR(b1, ANDN(b2, b3)); \
    E##22 = XOR(b2, ANDN(b3, b4)); \
    E##23 = XOR(b3, ANDN(b4, b0)); \
    E##24 = XOR(b4, ANDN(b0, b1)); \
} while (0)

#define LOAD_STATE(T, s) \
    T a0 = s[0], a1 = s[1], a2 = s[2], a3 = s[3], a4 = s[4], a5 = s[5], a6 = s[6], a7 = s[7], \
      a8 = s[8], a9 = s[9], a10 = s[10], a11 = s[11], a12 = s[12], a13 = s[13], a14 = s[14], \
      a15 = s[15], a16 = s[16], a17 = s[17], a18 = s[18], a19 = s[19], a20 = s[20], a21 = s[21], \
      a22 = s[22], a23 = s[23], a24 = s[24]; \
    T e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11, e12, e13, e14, e15, e16, e17, e18, e19, \
      e20, e21, e22, e23, e24; \
    T b0, b1, b2, b3, b4, c0, c1, c2, c3, c4, d0, d1, d2, d3, d4

#define STORE_STATE(s) do { \
    s[0] = a0; s[1] = a1; s[2] = a2; s[3] = a3; s[4] = a4; s[5] = a5; s[6] = a6; s[7] = a7; \
    s[8] = a8; s[9] = a9; s[10] = a10; s[11] = a11; s[12] = a12; s[13] = a13; s[14] = a14; \
    s[15] = a15; s[16] = a16; s[17] = a17; s[18] = a18; s[19] = a19; s[20] = a20; s[21] = a21; \
    s[22] = a22; s[23] = a23; s[24] = a24; \
} while (0)

/* Scalar permutation, fully unrolled (24 rounds ping-ponging a -> e -> a). */
#define XOR(x, y) ((x) ^ (y))
#define ROL(x, n) (((x) << (n)) | ((x) >> (64 - (n))))
#define ANDN(x, y) (~(x) & (y))
#define RCV(rc) (rc)
#define KECCAK_F_SCALAR_BODY(s) do { \
    LOAD_STATE(uint64_t, s); \
    ROUND(a, e, RC[0]); ROUND(e, a, RC[1]); ROUND(a, e, RC[2]); ROUND(e, a, RC[3]); \
    ROUND(a, e, RC[4]); ROUND(e, a, RC[5]); ROUND(a, e, RC[6]); ROUND(e, a, RC[7]); \
    ROUND(a, e, RC[8]); ROUND(e, a, RC[9]); ROUND(a, e, RC[10]); ROUND(e, a, RC[11]); \
    ROUND(a, e, RC[12]); ROUND(e, a, RC[13]); ROUND(a, e, RC[14]); ROUND(e, a, RC[15]); \
    ROUND(a, e, RC[16]); ROUND(e, a, RC[17]); ROUND(a, e, RC[18]); ROUND(e, a, RC[19]); \
    ROUND(a, e, RC[20]); ROUND(e, a, RC[21]); ROUND(a, e, RC[22]); ROUND(e, a, RC[23]); \
    STORE_STATE(s); \
} while (0)

typedef void (*permute_fn)(uint64_t s[25]);

static void keccak_f_portable(uint64_t s[25]) { KECCAK_F_SCALAR_BODY(s); }

#if VI_X86
/* The same C with andn (BMI1) and rorx (BMI2), which save the NOTs and register copies. */
__attribute__((target("bmi,bmi2"))) static void keccak_f_bmi(uint64_t s[25]) {
    KECCAK_F_SCALAR_BODY(s);
}
#endif
#undef XOR
#undef ROL
#undef ANDN
#undef RCV

static int have_avx2(void) {
#if VI_X86
    return __builtin_cpu_supports("avx2");
#else
    return 0;
#endif
}

static permute_fn scalar_permutation(int impl) {
#if VI_X86
    if (impl != VI_PORTABLE && __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2"))
        return keccak_f_bmi;
#endif
    (void)impl;
    return keccak_f_portable;
}

/* Whether impl can run here: 1 or 0. */
int vi_impl_supported(int impl) {
    if (impl == VI_AVX2) return have_avx2();
    return impl == VI_AUTO || impl == VI_SCALAR || impl == VI_PORTABLE;
}

/* VI_AUTO resolved: the path that impl selects on this CPU, or VI_EUNSUPPORTED. */
static int resolve(int impl) {
    if (!vi_impl_supported(impl)) return VI_EUNSUPPORTED;
    if (impl == VI_AUTO) return have_avx2() ? VI_AVX2 : VI_SCALAR;
    return impl;
}

/* VI_AUTO resolved as above (for the loader to report which path runs). */
int vi_impl_resolved(int impl) { return resolve(impl); }

static uint64_t load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void squeeze32(const uint64_t s[25], uint8_t *out) { memcpy(out, s, 32); }

/* ---- scalar drivers ---------------------------------------------------------------------- */

/* keccak256 of one byte message. */
static void keccak256_1(permute_fn f, const uint8_t *msg, size_t len, uint8_t *out) {
    uint64_t s[25] = {0};
    uint8_t last[RATE];
    while (len >= RATE) {
        for (int i = 0; i < RATE_LANES; i++) s[i] ^= load64(msg + 8 * i);
        f(s);
        msg += RATE;
        len -= RATE;
    }
    memset(last, 0, RATE);
    memcpy(last, msg, len);
    last[len] ^= 0x01;
    last[RATE - 1] ^= 0x80;
    for (int i = 0; i < RATE_LANES; i++) s[i] ^= load64(last + 8 * i);
    f(s);
    squeeze32(s, out);
}

/* The x_k of a prefixed-words message: word k little-endian, or byte-swapped (big-endian int64). */
static inline uint64_t word_at(const uint8_t *words, size_t k, int be) {
    uint64_t v = load64(words + 8 * k);
    return be ? __builtin_bswap64(v) : v;
}

/* keccak256 of the first len bytes of prefix || words[0 .. 8n), each word taken as x_k (see
 * word_at); len is 1 + 8n, or less when the tail of the last word is zero (narrow odd rows). */
#define ALWAYS_INLINE inline __attribute__((always_inline))
static ALWAYS_INLINE void prefixed_1(permute_fn f, uint8_t prefix, const uint8_t *words, size_t n,
                                     size_t len, int be, uint8_t *out) {
    uint64_t s[25] = {0};
    uint64_t prev = (uint64_t)prefix << 56;
    size_t nblocks = len / RATE + 1;
    size_t k = 0;
    for (size_t b = 0; b < nblocks; b++, k += RATE_LANES) {
        if (k + RATE_LANES <= n) {
            for (int i = 0; i < RATE_LANES; i++) {
                uint64_t x = word_at(words, k + i, be);
                s[i] ^= (x << 8) | (prev >> 56);
                prev = x;
            }
        } else {
            for (int i = 0; i < RATE_LANES; i++) {
                uint64_t x = k + i < n ? word_at(words, k + i, be) : 0;
                s[i] ^= (x << 8) | (prev >> 56);
                prev = x;
            }
        }
        if (b + 1 == nblocks) {
            size_t end = len - RATE * b; /* the message ends here within the last block */
            s[end / 8] ^= 0x01ULL << (8 * (end % 8));
            s[RATE_LANES - 1] ^= 0x80ULL << 56;
        }
        f(s);
    }
    squeeze32(s, out);
}

/* ---- AVX2 4-way -------------------------------------------------------------------------- */
#if VI_X86
#define AVX2 __attribute__((target("avx2")))

#define XOR(x, y) _mm256_xor_si256((x), (y))
#define ANDN(x, y) _mm256_andnot_si256((x), (y))
#define RCV(rc) _mm256_set1_epi64x((long long)(rc))
#define ROL(x, n) vrol((x), (n))

AVX2 static inline __m256i vrol(__m256i x, int n) {
    if (n == 8)
        return _mm256_shuffle_epi8(
            x, _mm256_setr_epi8(7, 0, 1, 2, 3, 4, 5, 6, 15, 8, 9, 10, 11, 12, 13, 14, 7, 0, 1, 2,
                                3, 4, 5, 6, 15, 8, 9, 10, 11, 12, 13, 14));
    if (n == 56)
        return _mm256_shuffle_epi8(
            x, _mm256_setr_epi8(1, 2, 3, 4, 5, 6, 7, 0, 9, 10, 11, 12, 13, 14, 15, 8, 1, 2, 3, 4,
                                5, 6, 7, 0, 9, 10, 11, 12, 13, 14, 15, 8));
    if (n == 1) return _mm256_or_si256(_mm256_add_epi64(x, x), _mm256_srli_epi64(x, 63));
    return _mm256_or_si256(_mm256_slli_epi64(x, n), _mm256_srli_epi64(x, 64 - n));
}

/* keccak-f[1600] on 4 interleaved states: s[i] holds lane i of states 0..3. */
AVX2 static void keccak_f4(__m256i s[25]) {
    LOAD_STATE(__m256i, s);
    for (int r = 0; r < 24; r += 2) {
        ROUND(a, e, RC[r]);
        ROUND(e, a, RC[r + 1]);
    }
    STORE_STATE(s);
}
#undef XOR
#undef ANDN
#undef RCV
#undef ROL

/* Digest j of the 4 states goes to outs[j]. */
AVX2 static void squeeze4(const __m256i s[25], uint8_t *const outs[4]) {
    uint64_t t[4][4];
    for (int i = 0; i < 4; i++) _mm256_storeu_si256((__m256i *)t[i], s[i]);
    for (int j = 0; j < 4; j++)
        for (int i = 0; i < 4; i++) memcpy(outs[j] + 8 * i, &t[i][j], 8);
}

AVX2 static inline __m256i gather4(const uint8_t *const p[4], size_t off) {
    return _mm256_set_epi64x((long long)load64(p[3] + off), (long long)load64(p[2] + off),
                             (long long)load64(p[1] + off), (long long)load64(p[0] + off));
}

/* keccak256 of 4 byte messages of the same length. */
AVX2 static void keccak256_4(const uint8_t *const msgs[4], size_t len, uint8_t *const outs[4]) {
    __m256i s[25];
    for (int i = 0; i < 25; i++) s[i] = _mm256_setzero_si256();
    size_t off = 0;
    for (; len - off >= RATE; off += RATE) {
        for (int i = 0; i < RATE_LANES; i++)
            s[i] = _mm256_xor_si256(s[i], gather4(msgs, off + 8 * i));
        keccak_f4(s);
    }
    uint8_t last[4][RATE];
    const uint8_t *lp[4] = {last[0], last[1], last[2], last[3]};
    for (int j = 0; j < 4; j++) {
        memset(last[j], 0, RATE);
        memcpy(last[j], msgs[j] + off, len - off);
        last[j][len - off] ^= 0x01;
        last[j][RATE - 1] ^= 0x80;
    }
    for (int i = 0; i < RATE_LANES; i++) s[i] = _mm256_xor_si256(s[i], gather4(lp, 8 * i));
    keccak_f4(s);
    squeeze4(s, outs);
}

/* keccak256(prefix || words) of 4 word arrays of n words each (see prefixed_1). */
AVX2 static ALWAYS_INLINE void prefixed_4(uint8_t prefix, const uint8_t *const words[4], size_t n,
                                          size_t len, int be, uint8_t *const outs[4]) {
    const __m256i bswap = _mm256_setr_epi8(7, 6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8, 7,
                                           6, 5, 4, 3, 2, 1, 0, 15, 14, 13, 12, 11, 10, 9, 8);
    __m256i s[25];
    for (int i = 0; i < 25; i++) s[i] = _mm256_setzero_si256();
    __m256i prev = _mm256_set1_epi64x((long long)((uint64_t)prefix << 56));
    size_t nblocks = len / RATE + 1;
    size_t k = 0;
    for (size_t b = 0; b < nblocks; b++, k += RATE_LANES) {
        for (int i = 0; i < RATE_LANES; i++) {
            __m256i x = _mm256_setzero_si256();
            if (k + i < n) {
                x = gather4(words, 8 * (k + i));
                if (be) x = _mm256_shuffle_epi8(x, bswap);
            }
            __m256i lane = _mm256_or_si256(_mm256_slli_epi64(x, 8), _mm256_srli_epi64(prev, 56));
            s[i] = _mm256_xor_si256(s[i], lane);
            prev = x;
        }
        if (b + 1 == nblocks) {
            size_t end = len - RATE * b;
            s[end / 8] = _mm256_xor_si256(s[end / 8],
                                          _mm256_set1_epi64x((long long)(0x01ULL << (8 * (end % 8)))));
            s[RATE_LANES - 1] = _mm256_xor_si256(s[RATE_LANES - 1],
                                                 _mm256_set1_epi64x((long long)(0x80ULL << 56)));
        }
        keccak_f4(s);
    }
    squeeze4(s, outs);
}

/* keccak256(prefix || words_j) for m word arrays of n words each, 4 at a time. */
AVX2 static void group_avx2(uint8_t prefix, const uint8_t *const *words, uint8_t *const *outs,
                            size_t m4, size_t n, size_t len) {
    for (size_t i = 0; i < m4; i += 4) prefixed_4(prefix, words + i, n, len, 1, outs + i);
}

/* In place (out == children) is allowed: each group reads its 4 pairs before writing. */
AVX2 static void nodes_avx2(const uint8_t *children, size_t n4, uint8_t *out) {
    for (size_t i = 0; i < n4; i += 4) {
        const uint8_t *w[4] = {children + 64 * i, children + 64 * (i + 1), children + 64 * (i + 2),
                               children + 64 * (i + 3)};
        uint8_t *o[4] = {out + 32 * i, out + 32 * (i + 1), out + 32 * (i + 2), out + 32 * (i + 3)};
        prefixed_4(0x01, w, 8, 65, 0, o);
    }
}

AVX2 static void bytes_avx2(const uint8_t *msgs, size_t n4, size_t len, uint8_t *out) {
    for (size_t i = 0; i < n4; i += 4) {
        const uint8_t *m[4] = {msgs + i * len, msgs + (i + 1) * len, msgs + (i + 2) * len,
                               msgs + (i + 3) * len};
        uint8_t *o[4] = {out + 32 * i, out + 32 * (i + 1), out + 32 * (i + 2), out + 32 * (i + 3)};
        keccak256_4(m, len, o);
    }
}
#endif /* VI_X86 */

/* ---- entry points ------------------------------------------------------------------------ */

/* How many leading messages go to the 4-way path (the rest, < 4, to scalar). */
static size_t wide_count(int path, size_t n) { return path == VI_AVX2 ? n - n % 4 : 0; }

/* keccak256 of the first len bytes of prefix || be64(words_j[..n)), m messages by pointers. */
static void group(int path, uint8_t prefix, const uint8_t *const *words, uint8_t *const *outs,
                  size_t m, size_t n, size_t len) {
    size_t done = wide_count(path, m);
#if VI_X86
    if (done) group_avx2(prefix, words, outs, done, n, len);
#endif
    permute_fn f = scalar_permutation(path);
    for (size_t i = done; i < m; i++) prefixed_1(f, prefix, words[i], n, len, 1, outs[i]);
}

/* Branch-free so it vectorizes: x fits int32 iff x + 2**31 < 2**32 as an unsigned word. */
static int fits_i32(const int64_t *row, size_t width) {
    uint64_t out = 0;
    for (size_t k = 0; k < width; k++) out |= ((uint64_t)row[k] + 0x80000000u) >> 32;
    return out == 0;
}

/* Word j of a narrow row: be64 of it is be32(x_2j) || be32(x_2j+1); an odd row's last word
 * ends in 4 zero bytes that are not part of the message (len = 1 + 4 * width). */
static void pack_i32(const int64_t *row, size_t width, uint64_t *words) {
    for (size_t j = 0; 2 * j < width; j++) {
        uint64_t hi = (uint32_t)row[2 * j];
        uint64_t lo = 2 * j + 1 < width ? (uint32_t)row[2 * j + 1] : 0;
        words[j] = (hi << 32) | lo;
    }
}

/* Leaf hashes (merkle.py rule 2): rows whose values all fit int32 hash as 0x02 || be32 values,
 * the others as 0x00 || be64 values. Narrow rows are packed, then each kind goes 4 at a time. */
static int leaves(int path, const int64_t *rows, size_t n, size_t width, uint8_t *out) {
    size_t nw = (width + 1) / 2;
    uint64_t *packed = malloc(8 * nw * n + 8);
    const uint8_t **in = malloc(2 * n * sizeof(*in) + 1);
    uint8_t **outs = malloc(2 * n * sizeof(*outs) + 1);
    if (packed == NULL || in == NULL || outs == NULL) {
        free(packed);
        free(in);
        free(outs);
        return VI_ENOMEM;
    }
    size_t n32 = 0, n64 = 0; /* narrow rows fill in[0..), wide rows in[n..) */
    for (size_t i = 0; i < n; i++) {
        const int64_t *row = rows + width * i;
        if (fits_i32(row, width)) {
            pack_i32(row, width, packed + nw * n32);
            in[n32] = (const uint8_t *)(packed + nw * n32);
            outs[n32++] = out + 32 * i;
        } else {
            in[n + n64] = (const uint8_t *)row;
            outs[n + n64++] = out + 32 * i;
        }
    }
    group(path, 0x02, in, outs, n32, nw, 1 + 4 * width);
    group(path, 0x00, in + n, outs + n, n64, width, 1 + 8 * width);
    free(packed);
    free(in);
    free(outs);
    return 0;
}

static void nodes(int path, const uint8_t *children, size_t n_pairs, uint8_t *out) {
    size_t done = wide_count(path, n_pairs);
#if VI_X86
    if (done) nodes_avx2(children, done, out);
#endif
    permute_fn f = scalar_permutation(path);
    for (size_t i = done; i < n_pairs; i++)
        prefixed_1(f, 0x01, children + 64 * i, 8, 65, 0, out + 32 * i);
}

int vi_keccak256_many(const uint8_t *msgs, size_t n, size_t len, int impl, uint8_t *out) {
    int path = resolve(impl);
    if (path < 0) return path;
    size_t done = wide_count(path, n);
#if VI_X86
    if (done) bytes_avx2(msgs, done, len, out);
#endif
    permute_fn f = scalar_permutation(path);
    for (size_t i = done; i < n; i++) keccak256_1(f, msgs + i * len, len, out + 32 * i);
    return 0;
}

int vi_leaf_hashes_i64(const int64_t *rows, size_t n, size_t width, int impl, uint8_t *out) {
    int path = resolve(impl);
    if (path < 0) return path;
    return leaves(path, rows, n, width, out);
}

/* children and out may be the same buffer (hashing a level in place). */
int vi_node_hashes(const uint8_t *children, size_t n_pairs, int impl, uint8_t *out) {
    int path = resolve(impl);
    if (path < 0) return path;
    nodes(path, children, n_pairs, out);
    return 0;
}

/* Reduces buf[0 .. n) (n >= 1 hashes, room for n + 1) to its root in buf[0]. */
static void reduce_in_place(int path, uint8_t *buf, size_t n) {
    uint8_t zero[32] = {0}; /* Z_h, the all-padding subtree hash at the current height */
    while (n > 1) {
        if (n % 2) {
            memcpy(buf + 32 * n, zero, 32);
            n++;
        }
        nodes(path, buf, n / 2, buf);
        n /= 2;
        uint8_t pair[64];
        memcpy(pair, zero, 32);
        memcpy(pair + 32, zero, 32);
        nodes(path, pair, 1, zero);
    }
}

int vi_merkle_root(const uint8_t *leaves_in, size_t n, int impl, uint8_t *out) {
    int path = resolve(impl);
    if (path < 0) return path;
    if (n == 0) {
        memset(out, 0, 32);
        return 0;
    }
    uint8_t *buf = malloc(32 * (n + 1));
    if (buf == NULL) return VI_ENOMEM;
    memcpy(buf, leaves_in, 32 * n);
    reduce_in_place(path, buf, n);
    memcpy(out, buf, 32);
    free(buf);
    return 0;
}

int vi_tensor_roots_i64(const int64_t *const *rows, const size_t *n_rows, const size_t *widths,
                        size_t count, int impl, uint8_t *out) {
    int path = resolve(impl);
    if (path < 0) return path;
    size_t cap = 0;
    for (size_t t = 0; t < count; t++)
        if (n_rows[t] + 1 > cap) cap = n_rows[t] + 1;
    uint8_t *buf = malloc(32 * cap);
    if (buf == NULL) return VI_ENOMEM;
    for (size_t t = 0; t < count; t++) {
        if (n_rows[t] == 0) {
            memset(out + 32 * t, 0, 32);
            continue;
        }
        if (leaves(path, rows[t], n_rows[t], widths[t], buf) != 0) {
            free(buf);
            return VI_ENOMEM;
        }
        reduce_in_place(path, buf, n_rows[t]);
        memcpy(out + 32 * t, buf, 32);
    }
    free(buf);
    return 0;
}
