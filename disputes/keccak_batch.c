/* Batched keccak256 (Ethereum's Keccak, padding 0x01 ... 0x80, rate 136) for Merkle commitments.
 *
 * Built by disputes/keccak_native.py (or `make native`) into a shared library loaded by ctypes.
 * Three entry points, all hashing many equal-length messages in one call so Python pays the
 * call overhead once per batch, not once per leaf:
 *   vi_keccak256_many(msgs, n, len, out)       out[i] = keccak256(msgs[i*len .. (i+1)*len))
 *   vi_leaf_hashes_i64(rows, n, width, out)    out[i] = keccak256(0x00 || be64(row_i[0..width)))
 *   vi_node_hashes(children, n_pairs, out)     out[i] = keccak256(0x01 || c[2i] || c[2i+1])
 * Lanes are loaded little-endian as the Keccak spec requires; this file assumes a little-endian
 * host (x86-64, aarch64), which the loader checks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RATE 136

static const uint64_t RC[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

#define ROL(x, n) (((x) << (n)) | ((x) >> (64 - (n))))

/* One keccak-f[1600] round from lanes A##0..24 into E##0..24 (theta, rho, pi, chi, iota).
 * Generated (b[pi(i)] = rol(A[i] ^ d[i % 5], rho(i)), pi(x, y) = (y, 2x + 3y)) so that all 25
 * lanes stay in local variables: about twice as fast as an array-based loop. */
#define ROUND(A, E, rc) do { \
    c0 = A##0 ^ A##5 ^ A##10 ^ A##15 ^ A##20; \
    c1 = A##1 ^ A##6 ^ A##11 ^ A##16 ^ A##21; \
    c2 = A##2 ^ A##7 ^ A##12 ^ A##17 ^ A##22; \
    c3 = A##3 ^ A##8 ^ A##13 ^ A##18 ^ A##23; \
    c4 = A##4 ^ A##9 ^ A##14 ^ A##19 ^ A##24; \
    d0 = c4 ^ ROL(c1, 1); \
    d1 = c0 ^ ROL(c2, 1); \
    d2 = c1 ^ ROL(c3, 1); \
    d3 = c2 ^ ROL(c4, 1); \
    d4 = c3 ^ ROL(c0, 1); \
    b0 = (A##0 ^ d0); \
    b1 = ROL(A##6 ^ d1, 44); \
    b2 = ROL(A##12 ^ d2, 43); \
    b3 = ROL(A##18 ^ d3, 21); \
    b4 = ROL(A##24 ^ d4, 14); \
    b5 = ROL(A##3 ^ d3, 28); \
    b6 = ROL(A##9 ^ d4, 20); \
    b7 = ROL(A##10 ^ d0, 3); \
    b8 = ROL(A##16 ^ d1, 45); \
    b9 = ROL(A##22 ^ d2, 61); \
    b10 = ROL(A##1 ^ d1, 1); \
    b11 = ROL(A##7 ^ d2, 6); \
    b12 = ROL(A##13 ^ d3, 25); \
    b13 = ROL(A##19 ^ d4, 8); \
    b14 = ROL(A##20 ^ d0, 18); \
    b15 = ROL(A##4 ^ d4, 27); \
    b16 = ROL(A##5 ^ d0, 36); \
    b17 = ROL(A##11 ^ d1, 10); \
    b18 = ROL(A##17 ^ d2, 15); \
    b19 = ROL(A##23 ^ d3, 56); \
    b20 = ROL(A##2 ^ d2, 62); \
    b21 = ROL(A##8 ^ d3, 55); \
    b22 = ROL(A##14 ^ d4, 39); \
    b23 = ROL(A##15 ^ d0, 41); \
    b24 = ROL(A##21 ^ d1, 2); \
    E##0 = b0 ^ (~b1 & b2) ^ (rc); \
    E##1 = b1 ^ (~b2 & b3); \
    E##2 = b2 ^ (~b3 & b4); \
    E##3 = b3 ^ (~b4 & b0); \
    E##4 = b4 ^ (~b0 & b1); \
    E##5 = b5 ^ (~b6 & b7); \
    E##6 = b6 ^ (~b7 & b8); \
    E##7 = b7 ^ (~b8 & b9); \
    E##8 = b8 ^ (~b9 & b5); \
    E##9 = b9 ^ (~b5 & b6); \
    E##10 = b10 ^ (~b11 & b12); \
    E##11 = b11 ^ (~b12 & b13); \
    E##12 = b12 ^ (~b13 & b14); \
    E##13 = b13 ^ (~b14 & b10); \
    E##14 = b14 ^ (~b10 & b11); \
    E##15 = b15 ^ (~b16 & b17); \
    E##16 = b16 ^ (~b17 & b18); \
    E##17 = b17 ^ (~b18 & b19); \
    E##18 = b18 ^ (~b19 & b15); \
    E##19 = b19 ^ (~b15 & b16); \
    E##20 = b20 ^ (~b21 & b22); \
    E##21 = b21 ^ (~b22 & b23); \
    E##22 = b22 ^ (~b23 & b24); \
    E##23 = b23 ^ (~b24 & b20); \
    E##24 = b24 ^ (~b20 & b21); \
} while (0)

/* The keccak-f[1600] permutation: two rounds per iteration, ping-ponging a -> e -> a. */
static void keccak_f(uint64_t s[25]) {
    uint64_t a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15, a16, a17, a18, a19, a20, a21, a22, a23, a24;
    uint64_t e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11, e12, e13, e14, e15, e16, e17, e18, e19, e20, e21, e22, e23, e24;
    uint64_t b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16, b17, b18, b19, b20, b21, b22, b23, b24;
    uint64_t c0, c1, c2, c3, c4, d0, d1, d2, d3, d4;
    a0 = s[0];
    a1 = s[1];
    a2 = s[2];
    a3 = s[3];
    a4 = s[4];
    a5 = s[5];
    a6 = s[6];
    a7 = s[7];
    a8 = s[8];
    a9 = s[9];
    a10 = s[10];
    a11 = s[11];
    a12 = s[12];
    a13 = s[13];
    a14 = s[14];
    a15 = s[15];
    a16 = s[16];
    a17 = s[17];
    a18 = s[18];
    a19 = s[19];
    a20 = s[20];
    a21 = s[21];
    a22 = s[22];
    a23 = s[23];
    a24 = s[24];
    for (int r = 0; r < 24; r += 2) {
        ROUND(a, e, RC[r]);
        ROUND(e, a, RC[r + 1]);
    }
    s[0] = a0;
    s[1] = a1;
    s[2] = a2;
    s[3] = a3;
    s[4] = a4;
    s[5] = a5;
    s[6] = a6;
    s[7] = a7;
    s[8] = a8;
    s[9] = a9;
    s[10] = a10;
    s[11] = a11;
    s[12] = a12;
    s[13] = a13;
    s[14] = a14;
    s[15] = a15;
    s[16] = a16;
    s[17] = a17;
    s[18] = a18;
    s[19] = a19;
    s[20] = a20;
    s[21] = a21;
    s[22] = a22;
    s[23] = a23;
    s[24] = a24;
}

static void absorb_block(uint64_t s[25], const uint8_t *p) {
    uint64_t lane;
    for (int i = 0; i < RATE / 8; i++) {
        memcpy(&lane, p + 8 * i, 8);
        s[i] ^= lane;
    }
    keccak_f(s);
}

/* keccak256 of one message; out receives 32 bytes. */
static void keccak256(const uint8_t *msg, size_t len, uint8_t *out) {
    uint64_t s[25] = {0};
    uint8_t last[RATE];
    while (len >= RATE) {
        absorb_block(s, msg);
        msg += RATE;
        len -= RATE;
    }
    memset(last, 0, RATE);
    memcpy(last, msg, len);
    last[len] ^= 0x01;
    last[RATE - 1] ^= 0x80;
    absorb_block(s, last);
    memcpy(out, s, 32);
}

void vi_keccak256_many(const uint8_t *msgs, size_t n, size_t len, uint8_t *out) {
    for (size_t i = 0; i < n; i++) keccak256(msgs + i * len, len, out + 32 * i);
}

static uint64_t bswap64(uint64_t v) { return __builtin_bswap64(v); }

/* Returns 0 on success, -1 if the row buffer cannot be allocated. */
int vi_leaf_hashes_i64(const int64_t *rows, size_t n, size_t width, uint8_t *out) {
    size_t len = 1 + 8 * width;
    uint8_t *buf = malloc(len);
    if (buf == NULL) return -1;
    buf[0] = 0x00;
    for (size_t i = 0; i < n; i++) {
        const int64_t *row = rows + i * width;
        for (size_t j = 0; j < width; j++) {
            uint64_t be = bswap64((uint64_t)row[j]);
            memcpy(buf + 1 + 8 * j, &be, 8);
        }
        keccak256(buf, len, out + 32 * i);
    }
    free(buf);
    return 0;
}

void vi_node_hashes(const uint8_t *children, size_t n_pairs, uint8_t *out) {
    uint8_t buf[65];
    buf[0] = 0x01;
    for (size_t i = 0; i < n_pairs; i++) {
        memcpy(buf + 1, children + 64 * i, 64);
        keccak256(buf, 65, out + 32 * i);
    }
}
