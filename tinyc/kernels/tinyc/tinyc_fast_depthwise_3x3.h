/*
 * The 3x3 paths of tinyc_fast_depthwise_s8 (tinyc_fast_depthwise.h, whose comment describes them): one 3-wide kernel
 * row in C, and in assembly (FAST mode) the pairs of output pixels at stride 1 and 2, the 2 x 2 blocks, the odd
 * column's 4 x 1 blocks and the last pixel of a row of odd width.
 */
#ifndef TINYC_FAST_DEPTHWISE_3X3_H
#define TINYC_FAST_DEPTHWISE_3X3_H

#include "tinyc_fast_support.h"

#if TINYC_FAST_KERNELS

/* One 3-wide kernel row for 2 output pixels at stride 1: x0..x3 at r; wa = [w0 | w2], wb = [w1 | 0]. */
static inline __attribute__((always_inline)) void tinyc_fd_row3_s1(const int8_t *r, int32_t wa, int32_t wb,
                                                                    int32_t *a0, int32_t *a1)
{
    const int32_t v = tinyc_fc_load(r);
    const int32_t e = __sxtb16(v), o = tinyc_fc_sxtb16_ror8(v);
    *a0 = __smlad(e, wa, *a0);
    *a0 = __smlabb(o, wb, *a0);
    *a1 = __smlad(o, wa, *a1);
    *a1 = __smlatb(e, wb, *a1);
}

/* One 3-wide kernel row for 2 output pixels at stride 2: x0..x4 at r. */
static inline __attribute__((always_inline)) void tinyc_fd_row3_s2(const int8_t *r, int32_t wa, int32_t wb,
                                                                    int32_t *a0, int32_t *a1)
{
    const int32_t v = tinyc_fc_load(r), x4 = r[4];
    const int32_t e = __sxtb16(v), o = tinyc_fc_sxtb16_ror8(v);
    *a0 = __smlad(e, wa, *a0);
    *a0 = __smlabb(o, wb, *a0);
    *a1 = __smlatb(e, wa, *a1);
    *a1 = __smlatb(o, wb, *a1);
    *a1 = __smlabt(x4, wa, *a1);
}

/* One 3-wide kernel row for 1 output pixel: x0..x2 at r (the word's 4th byte is not used). */
static inline __attribute__((always_inline)) int32_t tinyc_fd_row3(const int8_t *r, int32_t wa, int32_t wb,
                                                                    int32_t a)
{
    const int32_t v = tinyc_fc_load(r);
    a = __smlad(__sxtb16(v), wa, a);
    return __smlabb(tinyc_fc_sxtb16_ror8(v), wb, a);
}

/* Assembly of the 3x3 pair loops (FAST mode): a0 in t5, a1 in t4, the record at q. */
#define TINYC_FD_S1_ROWS                                                                                          \
    "ldr %[t1], [%[r]], #2\n\t"                                                                                   \
    "ldr %[t4], [%[q]]\n\t"                                                                                       \
    "sxtb16 %[t2], %[t1]\n\t"                                                                                     \
    "sxtb16 %[t3], %[t1], ror #8\n\t"                                                                             \
    "smlad %[t5], %[t2], %[w0], %[t4]\n\t"                                                                        \
    "smlad %[t4], %[t3], %[w0], %[t4]\n\t"                                                                        \
    "smlabb %[t5], %[t3], %[wb], %[t5]\n\t"                                                                       \
    "smlatb %[t4], %[t2], %[wb], %[t4]\n\t"                                                                       \
    "ldr %[t1], [%[r], %[row1]]\n\t"                                                                              \
    "sxtb16 %[t2], %[t1]\n\t"                                                                                     \
    "sxtb16 %[t3], %[t1], ror #8\n\t"                                                                             \
    "smlad %[t5], %[t2], %[w1], %[t5]\n\t"                                                                        \
    "smlad %[t4], %[t3], %[w1], %[t4]\n\t"                                                                        \
    "smlabt %[t5], %[t3], %[wb], %[t5]\n\t"                                                                       \
    "smlatt %[t4], %[t2], %[wb], %[t4]\n\t"                                                                       \
    "ldr %[t1], [%[r], %[row2]]\n\t"                                                                              \
    "sxtb16 %[t2], %[t1]\n\t"                                                                                     \
    "sxtb16 %[t3], %[t1], ror #8\n\t"                                                                             \
    "smlad %[t5], %[t2], %[w2], %[t5]\n\t"                                                                        \
    "smlad %[t4], %[t3], %[w2], %[t4]\n\t"                                                                        \
    "smlabb %[t5], %[t3], %[w2b], %[t5]\n\t"                                                                      \
    "smlatb %[t4], %[t2], %[w2b], %[t4]\n\t"

#define TINYC_FD_S2_ROWS                                                                                          \
    "ldr %[t1], [%[r]], #4\n\t"                                                                                   \
    "ldr %[t4], [%[q]]\n\t"                                                                                       \
    "sxtb16 %[t2], %[t1]\n\t"                                                                                     \
    "sxtb16 %[t3], %[t1], ror #8\n\t"                                                                             \
    "ldrsb %[t1], [%[r]]\n\t"                                                                                     \
    "smlad %[t5], %[t2], %[w0], %[t4]\n\t"                                                                        \
    "smlatb %[t4], %[t2], %[w0], %[t4]\n\t"                                                                       \
    "smlabb %[t5], %[t3], %[wb], %[t5]\n\t"                                                                       \
    "smlatb %[t4], %[t3], %[wb], %[t4]\n\t"                                                                       \
    "smlabt %[t4], %[t1], %[w0], %[t4]\n\t"                                                                       \
    "ldr %[t1], [%[r], %[row1]]\n\t"                                                                              \
    "sxtb16 %[t2], %[t1]\n\t"                                                                                     \
    "sxtb16 %[t3], %[t1], ror #8\n\t"                                                                             \
    "ldrsb %[t1], [%[r], %[row1x4]]\n\t"                                                                          \
    "smlad %[t5], %[t2], %[w1], %[t5]\n\t"                                                                        \
    "smlatb %[t4], %[t2], %[w1], %[t4]\n\t"                                                                       \
    "smlabt %[t5], %[t3], %[wb], %[t5]\n\t"                                                                       \
    "smlatt %[t4], %[t3], %[wb], %[t4]\n\t"                                                                       \
    "smlabt %[t4], %[t1], %[w1], %[t4]\n\t"                                                                       \
    "ldr %[t1], [%[r], %[row2]]\n\t"                                                                              \
    "sxtb16 %[t2], %[t1]\n\t"                                                                                     \
    "sxtb16 %[t3], %[t1], ror #8\n\t"                                                                             \
    "ldrsb %[t1], [%[r], %[row2x4]]\n\t"                                                                          \
    "smlad %[t5], %[t2], %[w2], %[t5]\n\t"                                                                        \
    "smlatb %[t4], %[t2], %[w2], %[t4]\n\t"                                                                       \
    "smlabb %[t5], %[t3], %[w2b], %[t5]\n\t"                                                                      \
    "smlatb %[t4], %[t3], %[w2b], %[t4]\n\t"                                                                      \
    "smlabt %[t4], %[t1], %[w2], %[t4]\n\t"

/* FAST requantization of both accumulators (a0 to t1, a1 to t5) */
#define TINYC_FD_REQUANT                                                                                          \
    "ldrd %[t1], %[t2], [%[q], #4]\n\t"                                                                           \
    "ldr %[t3], [%[q], #12]\n\t"                                                                                  \
    "smmulr %[t5], %[t5], %[t1]\n\t"                                                                              \
    "smmulr %[t4], %[t4], %[t1]\n\t"                                                                              \
    "add %[t1], %[t5], %[t2]\n\t"                                                                                 \
    "add %[t1], %[t1], %[t5], asr #31\n\t"                                                                        \
    "add %[t5], %[t4], %[t2]\n\t"                                                                                 \
    "add %[t5], %[t5], %[t4], asr #31\n\t"                                                                        \
    "asr %[t1], %[t1], %[t3]\n\t"                                                                                 \
    "asr %[t5], %[t5], %[t3]\n\t"                                                                                 \
    "ssat %[t1], #8, %[t1]\n\t"                                                                                   \
    "ssat %[t5], #8, %[t5]\n\t"

#define TINYC_FD_STORE                                                                                            \
    "strb %[t5], [%[o], %[c]]\n\t"                                                                                \
    "strb %[t1], [%[o]], %[c2]\n\t"

#define TINYC_FD_STORE_WIDE                                                                                       \
    "strb %[t5], [%[o], %[c]]\n\t"                                                                                \
    "strb %[t1], [%[o]]\n\t"                                                                                      \
    "add %[o], %[o], %[c2]\n\t"

/* the loop's end is in memory: the body takes every register */
#define TINYC_FD_LOOP_HEAD "1:\n\t"
#define TINYC_FD_LOOP_TAIL "ldr %[t2], %[end]\n\t" "cmp %[r], %[t2]\n\t" "bne 1b\n\t"

#define TINYC_FD_ASM_OPERANDS                                                                                     \
    : [r] "+r"(r), [o] "+r"(o), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4), [t5] "=&r"(t5)     \
    : [q] "r"(q), [w0] "r"(w0), [w1] "r"(w1), [w2] "r"(w2), [wb] "r"(wb), [w2b] "r"(w2b),                          \
      [row1] "n"(band_w - 2 * stride), [row2] "n"(2 * band_w - 2 * stride), [row1x4] "n"(band_w),                  \
      [row2x4] "n"(2 * band_w), [c] "n"(chans), [c2] "n"(2 * chans)

/* One pair (no loop: no end operand to keep in memory), or the loop over the row's pairs. */
#define TINYC_FD_ASM(BODY) __asm__ volatile(BODY TINYC_FD_ASM_OPERANDS : "cc", "memory")
#define TINYC_FD_ASM_LOOP(BODY) __asm__ volatile(BODY TINYC_FD_ASM_OPERANDS, [end] "m"(end) : "cc", "memory")

/* Rows of few pairs (a constant count) unrolled without a loop; longer rows loop in the assembly. */
#define TINYC_FD_UNROLL_PAIRS 4
#define TINYC_FD_ASM_ROWS(ROWS, STORE)                                                                            \
    if (unroll && __builtin_constant_p(pairs) && pairs <= TINYC_FD_UNROLL_PAIRS)                                  \
    {                                                                                                             \
        _Pragma("GCC unroll 4") for (int32_t i = 0; i < pairs; i++)                                               \
        {                                                                                                         \
            TINYC_FD_ASM(ROWS TINYC_FD_REQUANT STORE);                                                               \
        }                                                                                                         \
    }                                                                                                             \
    else                                                                                                          \
    {                                                                                                             \
        TINYC_FD_ASM_LOOP(TINYC_FD_LOOP_HEAD ROWS TINYC_FD_REQUANT STORE TINYC_FD_LOOP_TAIL);                                   \
    }

/* `pairs` (> 0) pairs of output pixels of one row of a 3x3 kernel at stride 1 or 2 (FAST mode) from
 * the band at r; out at o (pixels chans bytes apart); returns the band position after the pairs. */
static inline __attribute__((always_inline)) const int8_t *tinyc_fd_pairs_asm(
    const int8_t *r, int8_t *o, const int32_t pairs, const int32_t *q, int32_t w0, int32_t w1, int32_t w2,
    int32_t wb, int32_t w2b, const int32_t band_w, const int32_t chans, const int32_t stride, const int unroll)
{
    const int8_t *end = r + 2 * stride * pairs;
    int32_t t1, t2, t3, t4, t5;
    if (stride == 1 && 2 * chans <= 255)
    {
        TINYC_FD_ASM_ROWS(TINYC_FD_S1_ROWS, TINYC_FD_STORE)
    }
    else if (stride == 1)
    {
        TINYC_FD_ASM_ROWS(TINYC_FD_S1_ROWS, TINYC_FD_STORE_WIDE)
    }
    else if (2 * chans <= 255)
    {
        TINYC_FD_ASM_ROWS(TINYC_FD_S2_ROWS, TINYC_FD_STORE)
    }
    else
    {
        TINYC_FD_ASM_ROWS(TINYC_FD_S2_ROWS, TINYC_FD_STORE_WIDE)
    }
    return r;
}

/* Assembly of the 3x3 stride-1 block of 2 x 2 output pixels (FAST mode): input rows 0..3 each loaded once,
 * row 1 and 2 feeding both output rows; a00 a01 the top row's pair, a10 a11 the bottom's. The record is copied to
 * the stack (k: bias, multiplier, 2 constants): the block takes all 14 registers. */
#define TINYC_FD_QUAD_ROWS                                                                                        \
    "ldr %[a00], %[kb]\n\t"                                                                                       \
    "ldr %[t1], [%[r]], #2\n\t"                                                                                   \
    "ldr %[a10], %[kb]\n\t"                                                                                       \
    "sxtb16 %[t2], %[t1]\n\t"                                                                                     \
    "sxtb16 %[t3], %[t1], ror #8\n\t"                                                                             \
    "smlad %[a01], %[t3], %[w0], %[a00]\n\t"                                                                      \
    "smlad %[a00], %[t2], %[w0], %[a00]\n\t"                                                                      \
    "smlabb %[a00], %[t3], %[wb], %[a00]\n\t"                                                                     \
    "smlatb %[a01], %[t2], %[wb], %[a01]\n\t"                                                                     \
    "ldr %[t1], [%[r], %[row1]]\n\t"                                                                              \
    "sxtb16 %[t2], %[t1]\n\t"                                                                                     \
    "sxtb16 %[t3], %[t1], ror #8\n\t"                                                                             \
    "smlad %[a00], %[t2], %[w1], %[a00]\n\t"                                                                      \
    "smlad %[a01], %[t3], %[w1], %[a01]\n\t"                                                                      \
    "smlabt %[a00], %[t3], %[wb], %[a00]\n\t"                                                                     \
    "smlatt %[a01], %[t2], %[wb], %[a01]\n\t"                                                                     \
    "smlad %[a11], %[t3], %[w0], %[a10]\n\t"                                                                      \
    "smlad %[a10], %[t2], %[w0], %[a10]\n\t"                                                                      \
    "smlabb %[a10], %[t3], %[wb], %[a10]\n\t"                                                                     \
    "smlatb %[a11], %[t2], %[wb], %[a11]\n\t"                                                                     \
    "ldr %[t1], [%[r], %[row2]]\n\t"                                                                              \
    "sxtb16 %[t2], %[t1]\n\t"                                                                                     \
    "sxtb16 %[t3], %[t1], ror #8\n\t"                                                                             \
    "smlad %[a00], %[t2], %[w2], %[a00]\n\t"                                                                      \
    "smlad %[a01], %[t3], %[w2], %[a01]\n\t"                                                                      \
    "smlabb %[a00], %[t3], %[w2b], %[a00]\n\t"                                                                    \
    "smlatb %[a01], %[t2], %[w2b], %[a01]\n\t"                                                                    \
    "smlad %[a10], %[t2], %[w1], %[a10]\n\t"                                                                      \
    "smlad %[a11], %[t3], %[w1], %[a11]\n\t"                                                                      \
    "smlabt %[a10], %[t3], %[wb], %[a10]\n\t"                                                                     \
    "smlatt %[a11], %[t2], %[wb], %[a11]\n\t"                                                                     \
    "ldr %[t1], [%[r], %[row3]]\n\t"                                                                              \
    "sxtb16 %[t2], %[t1]\n\t"                                                                                     \
    "sxtb16 %[t3], %[t1], ror #8\n\t"                                                                             \
    "smlad %[a10], %[t2], %[w2], %[a10]\n\t"                                                                      \
    "smlad %[a11], %[t3], %[w2], %[a11]\n\t"                                                                      \
    "smlabb %[a10], %[t3], %[w2b], %[a10]\n\t"                                                                    \
    "smlatb %[a11], %[t2], %[w2b], %[a11]\n\t"                                                                    \
    "ldr %[t1], %[km]\n\t"                                                                                        \
    "ldr %[t2], %[ka]\n\t"                                                                                        \
    "ldr %[t3], %[ks]\n\t"                                                                                        \
    TINYC_FD_QUAD_REQUANT(a00) TINYC_FD_QUAD_REQUANT(a01) TINYC_FD_QUAD_REQUANT(a10) TINYC_FD_QUAD_REQUANT(a11)   \
    "strb %[a01], [%[o], %[c]]\n\t"                                                                               \
    "strb %[a10], [%[o], %[oc]]\n\t"                                                                              \
    "strb %[a11], [%[o], %[oc1]]\n\t"

/* The same block at stride 2: input rows 0..4, row 2 feeding both output rows; per kernel row the left pixel
 * (x0..x2) SMLAD + SMLAxB of the middle tap, the right one (x2..x4) SMLATB, SMLATx, SMLABT of x4 (LDRSB). */
#define TINYC_FD_QUAD_S2_LEFT(A, W, HALVES, WM, B)                                                                \
    "smlad %[" #A "], %[t2], %[" #W "], %[" #B "]\n\t"                                                            \
    "smlab" HALVES " %[" #A "], %[t3], %[" #WM "], %[" #A "]\n\t"
#define TINYC_FD_QUAD_S2_RIGHT(A, W, HALVES, WM, B)                                                               \
    "smlatb %[" #A "], %[t2], %[" #W "], %[" #B "]\n\t"                                                           \
    "smlat" HALVES " %[" #A "], %[t3], %[" #WM "], %[" #A "]\n\t"                                                 \
    "smlabt %[" #A "], %[t1], %[" #W "], %[" #A "]\n\t"
#define TINYC_FD_QUAD_S2_LOAD(ROW)                                                                                \
    "ldr %[t1], [%[r], %[" ROW "]]\n\t"                                                                           \
    "sxtb16 %[t2], %[t1]\n\t"                                                                                     \
    "sxtb16 %[t3], %[t1], ror #8\n\t"                                                                             \
    "ldrsb %[t1], [%[r], %[" ROW "]+4]\n\t"

#define TINYC_FD_QUAD_S2_ROWS                                                                                     \
    "ldr %[a00], %[kb]\n\t"                                                                                       \
    "ldr %[t1], [%[r]], #4\n\t"                                                                                   \
    "ldr %[a10], %[kb]\n\t"                                                                                       \
    "sxtb16 %[t2], %[t1]\n\t"                                                                                     \
    "sxtb16 %[t3], %[t1], ror #8\n\t"                                                                             \
    "ldrsb %[t1], [%[r]]\n\t"                                                                                     \
    TINYC_FD_QUAD_S2_RIGHT(a01, w0, "b", wb, a00)                                                                 \
    TINYC_FD_QUAD_S2_LEFT(a00, w0, "b", wb, a00)                                                                  \
    TINYC_FD_QUAD_S2_LOAD("row1")                                                                                 \
    TINYC_FD_QUAD_S2_LEFT(a00, w1, "t", wb, a00)                                                                  \
    TINYC_FD_QUAD_S2_RIGHT(a01, w1, "t", wb, a01)                                                                 \
    TINYC_FD_QUAD_S2_LOAD("row2")                                                                                 \
    TINYC_FD_QUAD_S2_LEFT(a00, w2, "b", w2b, a00)                                                                 \
    TINYC_FD_QUAD_S2_RIGHT(a01, w2, "b", w2b, a01)                                                                \
    TINYC_FD_QUAD_S2_RIGHT(a11, w0, "b", wb, a10)                                                                 \
    TINYC_FD_QUAD_S2_LEFT(a10, w0, "b", wb, a10)                                                                  \
    TINYC_FD_QUAD_S2_LOAD("row3")                                                                                 \
    TINYC_FD_QUAD_S2_LEFT(a10, w1, "t", wb, a10)                                                                  \
    TINYC_FD_QUAD_S2_RIGHT(a11, w1, "t", wb, a11)                                                                 \
    TINYC_FD_QUAD_S2_LOAD("row4")                                                                                 \
    TINYC_FD_QUAD_S2_LEFT(a10, w2, "b", w2b, a10)                                                                 \
    TINYC_FD_QUAD_S2_RIGHT(a11, w2, "b", w2b, a11)                                                                \
    "ldr %[t1], %[km]\n\t"                                                                                        \
    "ldr %[t2], %[ka]\n\t"                                                                                        \
    "ldr %[t3], %[ks]\n\t"                                                                                        \
    TINYC_FD_QUAD_REQUANT(a00) TINYC_FD_QUAD_REQUANT(a01) TINYC_FD_QUAD_REQUANT(a10) TINYC_FD_QUAD_REQUANT(a11)   \
    "strb %[a01], [%[o], %[c]]\n\t"                                                                               \
    "strb %[a10], [%[o], %[oc]]\n\t"                                                                              \
    "strb %[a11], [%[o], %[oc1]]\n\t"

/* FAST requantization in place: x = SMMULR(acc, mult); (x + (x >> 31) + q[2]) >> q[3], saturated */
#define TINYC_FD_QUAD_REQUANT(A)                                                                                  \
    "smmulr %[" #A "], %[" #A "], %[t1]\n\t"                                                                      \
    "add %[" #A "], %[" #A "], %[" #A "], asr #31\n\t"                                                            \
    "add %[" #A "], %[" #A "], %[t2]\n\t"                                                                         \
    "asr %[" #A "], %[" #A "], %[t3]\n\t"                                                                         \
    "ssat %[" #A "], #8, %[" #A "]\n\t"

#define TINYC_FD_QUAD_STORE "strb %[a00], [%[o]], %[c2]\n\t"
#define TINYC_FD_QUAD_STORE_WIDE "strb %[a00], [%[o]]\n\t" "add %[o], %[o], %[c2]\n\t"
#define TINYC_FD_QUAD_LOOP_TAIL "ldr %[t1], %[end]\n\t" "cmp %[r], %[t1]\n\t" "bne 1b\n\t"

#define TINYC_FD_QUAD_OPERANDS                                                                                    \
    : [r] "+r"(r), [o] "+r"(o), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [a00] "=&r"(a00),                 \
      [a01] "=&r"(a01), [a10] "=&r"(a10), [a11] "=&r"(a11)                                                        \
    : [w0] "r"(w0), [w1] "r"(w1), [w2] "r"(w2), [wb] "r"(wb), [w2b] "r"(w2b), [kb] "m"(k[0]), [km] "m"(k[1]),       \
      [ka] "m"(k[2]), [ks] "m"(k[3]), [row1] "n"(band_w - 2 * stride), [row2] "n"(2 * band_w - 2 * stride),      \
      [row3] "n"(3 * band_w - 2 * stride), [row4] "n"(4 * band_w - 2 * stride), [c] "n"(chans),                   \
      [c2] "n"(2 * chans), [oc] "n"(out_w * chans), [oc1] "n"((out_w + 1) * chans)

#define TINYC_FD_QUAD_ASM_LOOP(BODY)                                                                              \
    __asm__ volatile("1:\n\t" BODY TINYC_FD_QUAD_LOOP_TAIL TINYC_FD_QUAD_OPERANDS, [end] "m"(end) : "cc", "memory")

#define TINYC_FD_QUAD_MIN_W 4 /* narrower rows: each row's pairs (3 wide: fewer instructions than the blocks) */

/* Always the loop: the unrolled blocks would not fit the flash accelerator's instruction cache beside the rest. */
#define TINYC_FD_QUAD_ROWS_ASM(ROWS, STORE) TINYC_FD_QUAD_ASM_LOOP(ROWS STORE);

/* `pairs` (> 0) blocks of 2 x 2 output pixels of two rows of a 3x3 kernel at stride 1 (FAST mode) from the band
 * at r (rows band_w bytes apart); out at o (pixels chans bytes apart, rows out_w pixels); k: the channel's record
 * on the stack; returns the band position after the blocks. */
static inline __attribute__((always_inline)) const int8_t *tinyc_fd_quads_asm(
    const int8_t *r, int8_t *o, const int32_t pairs, const int32_t *k, int32_t w0, int32_t w1, int32_t w2,
    int32_t wb, int32_t w2b, const int32_t band_w, const int32_t chans, const int32_t out_w, const int32_t stride)
{
    const int8_t *end = r + 2 * stride * pairs;
    int32_t t1, t2, t3, a00, a01, a10, a11;
    if (stride == 1 && 2 * chans <= 255)
    {
        TINYC_FD_QUAD_ROWS_ASM(TINYC_FD_QUAD_ROWS, TINYC_FD_QUAD_STORE)
    }
    else if (stride == 1)
    {
        TINYC_FD_QUAD_ROWS_ASM(TINYC_FD_QUAD_ROWS, TINYC_FD_QUAD_STORE_WIDE)
    }
    else if (2 * chans <= 255)
    {
        TINYC_FD_QUAD_ROWS_ASM(TINYC_FD_QUAD_S2_ROWS, TINYC_FD_QUAD_STORE)
    }
    else
    {
        TINYC_FD_QUAD_ROWS_ASM(TINYC_FD_QUAD_S2_ROWS, TINYC_FD_QUAD_STORE_WIDE)
    }
    return r;
}

/* Assembly of the odd column's blocks of 4 x 1 output pixels (3x3, stride 1, FAST mode): input rows 0..5 each
 * loaded once, feeding up to 3 of the outputs a0..a3 (rows 0..3); registers and record as the 2 x 2 blocks. */
#define TINYC_FD_COLUMN_TAP(A, W, HALVES, WM, B)                                                                  \
    "smlad %[" #A "], %[t2], %[" #W "], %[" #B "]\n\t"                                                            \
    "smla" HALVES " %[" #A "], %[t3], %[" #WM "], %[" #A "]\n\t"

#define TINYC_FD_COLUMN_LOAD(ROW)                                                                                 \
    "ldr %[t1], [%[r], %[" ROW "]]\n\t"                                                                           \
    "sxtb16 %[t2], %[t1]\n\t"                                                                                     \
    "sxtb16 %[t3], %[t1], ror #8\n\t"

#define TINYC_FD_COLUMN_BODY                                                                                      \
    "1:\n\t"                                                                                                      \
    "ldr %[a0], %[kb]\n\t"                                                                                        \
    "ldr %[a2], %[kb]\n\t"                                                                                        \
    "ldr %[t1], [%[r]]\n\t"                                                                                       \
    "sxtb16 %[t2], %[t1]\n\t"                                                                                     \
    "sxtb16 %[t3], %[t1], ror #8\n\t"                                                                             \
    TINYC_FD_COLUMN_TAP(a0, w0, "bb", wb, a0)                                                    \
    TINYC_FD_COLUMN_LOAD("row1")                                                                                  \
    TINYC_FD_COLUMN_TAP(a1, w0, "bb", wb, a2)                                                    \
    TINYC_FD_COLUMN_TAP(a0, w1, "bt", wb, a0)                                                    \
    TINYC_FD_COLUMN_LOAD("row2")                                                                                  \
    TINYC_FD_COLUMN_TAP(a0, w2, "bb", w2b, a0)                                                   \
    TINYC_FD_COLUMN_TAP(a1, w1, "bt", wb, a1)                                                    \
    TINYC_FD_COLUMN_TAP(a2, w0, "bb", wb, a2)                                                    \
    "ldr %[a3], %[kb]\n\t"                                                                                        \
    TINYC_FD_COLUMN_LOAD("row3")                                                                                  \
    TINYC_FD_COLUMN_TAP(a1, w2, "bb", w2b, a1)                                                   \
    TINYC_FD_COLUMN_TAP(a2, w1, "bt", wb, a2)                                                    \
    TINYC_FD_COLUMN_TAP(a3, w0, "bb", wb, a3)                                                    \
    TINYC_FD_COLUMN_LOAD("row4")                                                                                  \
    TINYC_FD_COLUMN_TAP(a2, w2, "bb", w2b, a2)                                                   \
    TINYC_FD_COLUMN_TAP(a3, w1, "bt", wb, a3)                                                    \
    TINYC_FD_COLUMN_LOAD("row5")                                                                                  \
    TINYC_FD_COLUMN_TAP(a3, w2, "bb", w2b, a3)                                                   \
    "ldr %[t1], %[km]\n\t"                                                                                        \
    "ldr %[t2], %[ka]\n\t"                                                                                        \
    "ldr %[t3], %[ks]\n\t"                                                                                        \
    TINYC_FD_QUAD_REQUANT(a0) TINYC_FD_QUAD_REQUANT(a1) TINYC_FD_QUAD_REQUANT(a2) TINYC_FD_QUAD_REQUANT(a3)       \
    "strb %[a0], [%[o]]\n\t"                                                                                      \
    "strb %[a1], [%[o], %[oc]]\n\t"                                                                               \
    "strb %[a2], [%[o], %[oc2]]\n\t"                                                                              \
    "strb %[a3], [%[o], %[oc3]]\n\t"                                                                              \
    "add %[r], %[r], %[row4]\n\t"                                                                                 \
    "add %[o], %[o], %[oc4]\n\t"                                                                                  \
    "ldr %[t1], %[end]\n\t"                                                                                       \
    "cmp %[r], %[t1]\n\t"                                                                                         \
    "bne 1b\n\t"

/* `blocks` (> 0) blocks of 4 output rows of the odd column (band at r, out at o): see TINYC_FD_COLUMN_BODY. */
static inline __attribute__((always_inline)) void tinyc_fd_column_asm(
    const int8_t *r, int8_t *o, const int32_t blocks, const int32_t *k, int32_t w0, int32_t w1, int32_t w2,
    int32_t wb, int32_t w2b, const int32_t band_w, const int32_t chans, const int32_t out_w)
{
    const int8_t *end = r + 4 * band_w * blocks;
    int32_t t1, t2, t3, a0, a1, a2, a3;
    __asm__ volatile(TINYC_FD_COLUMN_BODY
                     : [r] "+r"(r), [o] "+r"(o), [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [a0] "=&r"(a0),
                       [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3)
                     : [w0] "r"(w0), [w1] "r"(w1), [w2] "r"(w2), [wb] "r"(wb), [w2b] "r"(w2b), [kb] "m"(k[0]),
                       [km] "m"(k[1]), [ka] "m"(k[2]), [ks] "m"(k[3]), [end] "m"(end),
                       [row1] "n"(band_w), [row2] "n"(2 * band_w), [row3] "n"(3 * band_w), [row4] "n"(4 * band_w),
                       [row5] "n"(5 * band_w), [oc] "n"(out_w * chans), [oc2] "n"(2 * out_w * chans),
                       [oc3] "n"(3 * out_w * chans), [oc4] "n"(4 * out_w * chans)
                     : "cc", "memory");
}

/* The last output pixel of a row of odd width (3x3, FAST mode): x0..x2 of each kernel row at r. */
static inline __attribute__((always_inline)) void tinyc_fd_single_asm(const int8_t *r, int8_t *o, const int32_t *q,
                                                                       int32_t w0, int32_t w1, int32_t w2,
                                                                       int32_t wb, int32_t w2b, const int32_t band_w)
{
    int32_t t1, t2, t3, t4;
    __asm__ volatile("ldr %[t1], [%[r]]\n\t"
                     "ldr %[t4], [%[q]]\n\t"
                     "sxtb16 %[t2], %[t1]\n\t"
                     "sxtb16 %[t3], %[t1], ror #8\n\t"
                     "smlad %[t4], %[t2], %[w0], %[t4]\n\t"
                     "smlabb %[t4], %[t3], %[wb], %[t4]\n\t"
                     "ldr %[t1], [%[r], %[row1]]\n\t"
                     "sxtb16 %[t2], %[t1]\n\t"
                     "sxtb16 %[t3], %[t1], ror #8\n\t"
                     "smlad %[t4], %[t2], %[w1], %[t4]\n\t"
                     "smlabt %[t4], %[t3], %[wb], %[t4]\n\t"
                     "ldr %[t1], [%[r], %[row2]]\n\t"
                     "sxtb16 %[t2], %[t1]\n\t"
                     "sxtb16 %[t3], %[t1], ror #8\n\t"
                     "smlad %[t4], %[t2], %[w2], %[t4]\n\t"
                     "smlabb %[t4], %[t3], %[w2b], %[t4]\n\t"
                     "ldrd %[t1], %[t2], [%[q], #4]\n\t"
                     "ldr %[t3], [%[q], #12]\n\t"
                     "smmulr %[t4], %[t4], %[t1]\n\t"
                     "add %[t1], %[t4], %[t2]\n\t"
                     "add %[t1], %[t1], %[t4], asr #31\n\t"
                     "asr %[t1], %[t1], %[t3]\n\t"
                     "ssat %[t1], #8, %[t1]\n\t"
                     "strb %[t1], [%[o]]\n\t"
                     : [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4)
                     : [r] "r"(r), [o] "r"(o), [q] "r"(q), [w0] "r"(w0), [w1] "r"(w1), [w2] "r"(w2), [wb] "r"(wb),
                       [w2b] "r"(w2b), [row1] "n"(band_w), [row2] "n"(2 * band_w)
                     : "memory");
}

#endif /* TINYC_FAST_KERNELS */

#endif /* TINYC_FAST_DEPTHWISE_3X3_H */
