/*
 * The inner tiles of tinyc_fast_conv_s8 (tinyc_fast_conv.h): 2 output pixels x 2 output channels (tinyc_fc_tile) and
 * 4 output pixels x 2 output channels (tinyc_fc_tile4), in assembly where the offsets reach, in C otherwise.
 */
#ifndef TINYC_FAST_TILE_H
#define TINYC_FAST_TILE_H

#include "tinyc_fast_support.h"

#if TINYC_FAST_KERNELS

/* Columns of at most this many groups of 4 k run the assembly loop (LDRD's offset reaches 1020 bytes). */
#define TINYC_FC_ASM_GROUPS 127
/* int16 weights: up to this many groups with the pointer between the two columns (offsets of +-4 * groups bytes). */
#define TINYC_FC_ASM_GROUPS_MID 255

/* The 4 weights of group g of one channel as two int16 lane pairs [w0 w2], [w1 w3]: WS8 int8 weights (8 bytes per
 * group and channel pair, SXTB16 here), else doubled int16 weights (16 bytes, ready). */
static inline __attribute__((always_inline)) void tinyc_fc_weights(const void *weights, int32_t index, const int WS8,
                                                                    int32_t *we, int32_t *wo)
{
    if (WS8)
    {
        const int32_t v = ((const int32_t *)weights)[index];
        *we = __sxtb16(v);
        *wo = tinyc_fc_sxtb16_ror8(v);
    }
    else
    {
        *we = ((const int32_t *)weights)[2 * index];
        *wo = ((const int32_t *)weights)[2 * index + 1];
    }
}

/* acc[i][j] += column i . weights of channel j, over `groups` groups of 4 k. XS16: the columns are int16 in
 * SXTB16 lane order; else raw int8, followed by `tail` (0-3) more k read byte by byte. WS8: int8 weights. */
static inline __attribute__((always_inline)) void tinyc_fc_tile(const void *col0, const void *col1,
                                                                 const void *weights, const int32_t groups,
                                                                 const int32_t tail, const int XS16, const int WS8,
                                                                 int32_t *a00, int32_t *a01, int32_t *a10,
                                                                 int32_t *a11)
{
    int32_t s00 = *a00, s01 = *a01, s10 = *a10, s11 = *a11;
    const int32_t *w = (const int32_t *)weights;
#if defined(__OPTIMIZE__)
    if (XS16 && __builtin_constant_p(groups) && groups <= TINYC_FC_ASM_GROUPS &&
        (const int16_t *)col1 == (const int16_t *)col0 + 4 * groups)
    {
        /* column 1 right after column 0: one pointer, column 1 at a constant offset; 14 instructions per 16 MACs
         * with int16 weights, 18 with int8 weights */
        const int32_t *px = (const int32_t *)col0, *end = px + 2 * groups;
        int32_t x0e, x0o, x1e, x1o, we, wo;
        if (WS8)
        {
            __asm__ volatile(
                "1:\n\t"
                "ldrd %[x1e], %[x1o], [%[px], %[off]]\n\t"
                "ldrd %[x0e], %[x0o], [%[px]], #8\n\t"
                "ldr %[wo], [%[pw]], #4\n\t"
                "sxtb16 %[we], %[wo]\n\t"
                "sxtb16 %[wo], %[wo], ror #8\n\t"
                "smlad %[s00], %[x0e], %[we], %[s00]\n\t"
                "smlad %[s00], %[x0o], %[wo], %[s00]\n\t"
                "smlad %[s10], %[x1e], %[we], %[s10]\n\t"
                "smlad %[s10], %[x1o], %[wo], %[s10]\n\t"
                "ldr %[wo], [%[pw]], #4\n\t"
                "sxtb16 %[we], %[wo]\n\t"
                "sxtb16 %[wo], %[wo], ror #8\n\t"
                "smlad %[s01], %[x0e], %[we], %[s01]\n\t"
                "smlad %[s01], %[x0o], %[wo], %[s01]\n\t"
                "smlad %[s11], %[x1e], %[we], %[s11]\n\t"
                "smlad %[s11], %[x1o], %[wo], %[s11]\n\t"
                "cmp %[px], %[end]\n\t"
                "bne 1b\n\t"
                : [s00] "+r"(s00), [s01] "+r"(s01), [s10] "+r"(s10), [s11] "+r"(s11), [px] "+r"(px), [pw] "+r"(w),
                  [x0e] "=&r"(x0e), [x0o] "=&r"(x0o), [x1e] "=&r"(x1e), [x1o] "=&r"(x1o), [we] "=&r"(we),
                  [wo] "=&r"(wo)
                : [end] "r"(end), [off] "n"(8 * groups)
                : "cc", "memory");
        }
        else
        {
            __asm__ volatile(
                "1:\n\t"
                "ldrd %[x1e], %[x1o], [%[px], %[off]]\n\t"
                "ldrd %[x0e], %[x0o], [%[px]], #8\n\t"
                "ldrd %[we], %[wo], [%[pw]], #8\n\t"
                "smlad %[s00], %[x0e], %[we], %[s00]\n\t"
                "smlad %[s00], %[x0o], %[wo], %[s00]\n\t"
                "smlad %[s10], %[x1e], %[we], %[s10]\n\t"
                "smlad %[s10], %[x1o], %[wo], %[s10]\n\t"
                "ldrd %[we], %[wo], [%[pw]], #8\n\t"
                "smlad %[s01], %[x0e], %[we], %[s01]\n\t"
                "smlad %[s01], %[x0o], %[wo], %[s01]\n\t"
                "smlad %[s11], %[x1e], %[we], %[s11]\n\t"
                "smlad %[s11], %[x1o], %[wo], %[s11]\n\t"
                "cmp %[px], %[end]\n\t"
                "bne 1b\n\t"
                : [s00] "+r"(s00), [s01] "+r"(s01), [s10] "+r"(s10), [s11] "+r"(s11), [px] "+r"(px), [pw] "+r"(w),
                  [x0e] "=&r"(x0e), [x0o] "=&r"(x0o), [x1e] "=&r"(x1e), [x1o] "=&r"(x1o), [we] "=&r"(we),
                  [wo] "=&r"(wo)
                : [end] "r"(end), [off] "n"(8 * groups)
                : "cc", "memory");
        }
    }
    else if (XS16 && !WS8 && __builtin_constant_p(groups) && groups <= TINYC_FC_ASM_GROUPS_MID &&
             (const int16_t *)col1 == (const int16_t *)col0 + 4 * groups)
    {
        /* columns too long for one offset (ResNet-8's k = 576): the pointer half way between the two columns,
         * column 0 at -4 * groups bytes, column 1 at +4 * groups; 15 instructions per 16 MACs */
        const int32_t *px = (const int32_t *)col0 + groups, *end = px + 2 * groups;
        int32_t x0e, x0o, x1e, x1o, we, wo;
        __asm__ volatile(
            "1:\n\t"
            "ldrd %[x1e], %[x1o], [%[px], %[off]]\n\t"
            "ldrd %[x0e], %[x0o], [%[px], %[neg]]\n\t"
            "ldrd %[we], %[wo], [%[pw]], #8\n\t"
            "add %[px], %[px], #8\n\t"
            "smlad %[s00], %[x0e], %[we], %[s00]\n\t"
            "smlad %[s00], %[x0o], %[wo], %[s00]\n\t"
            "smlad %[s10], %[x1e], %[we], %[s10]\n\t"
            "smlad %[s10], %[x1o], %[wo], %[s10]\n\t"
            "ldrd %[we], %[wo], [%[pw]], #8\n\t"
            "smlad %[s01], %[x0e], %[we], %[s01]\n\t"
            "smlad %[s01], %[x0o], %[wo], %[s01]\n\t"
            "smlad %[s11], %[x1e], %[we], %[s11]\n\t"
            "smlad %[s11], %[x1o], %[wo], %[s11]\n\t"
            "cmp %[px], %[end]\n\t"
            "bne 1b\n\t"
            : [s00] "+r"(s00), [s01] "+r"(s01), [s10] "+r"(s10), [s11] "+r"(s11), [px] "+r"(px), [pw] "+r"(w),
              [x0e] "=&r"(x0e), [x0o] "=&r"(x0o), [x1e] "=&r"(x1e), [x1o] "=&r"(x1o), [we] "=&r"(we),
              [wo] "=&r"(wo)
            : [end] "r"(end), [off] "n"(4 * groups), [neg] "n"(-4 * groups)
            : "cc", "memory");
    }
    else
#endif
    {
        const int32_t *x0w = (const int32_t *)col0, *x1w = (const int32_t *)col1;
        const int8_t *x0b = (const int8_t *)col0, *x1b = (const int8_t *)col1;
        const int32_t step = WS8 ? 2 : 4; /* words of weights per group and channel pair */
        for (int32_t g = 0; g < groups + (tail > 0 ? 1 : 0); g++)
        {
            int32_t x0e, x0o, x1e, x1o;
            if (XS16)
            {
                x0e = x0w[2 * g];
                x0o = x0w[2 * g + 1];
                x1e = x1w[2 * g];
                x1o = x1w[2 * g + 1];
            }
            else
            {
                int32_t v0, v1;
                if (g < groups)
                {
                    v0 = tinyc_fc_load(x0b + 4 * g);
                    v1 = tinyc_fc_load(x1b + 4 * g);
                }
                else
                {
                    /* the last k: bytes 0..tail-1 of a group whose other weights are zero */
                    const int8_t *t0 = x0b + 4 * g, *t1 = x1b + 4 * g;
                    uint32_t u0 = (uint8_t)t0[0], u1 = (uint8_t)t1[0];
                    if (tail > 1)
                    {
                        u0 |= (uint32_t)(uint8_t)t0[1] << 8;
                        u1 |= (uint32_t)(uint8_t)t1[1] << 8;
                    }
                    if (tail > 2)
                    {
                        u0 |= (uint32_t)(uint8_t)t0[2] << 16;
                        u1 |= (uint32_t)(uint8_t)t1[2] << 16;
                    }
                    v0 = (int32_t)u0;
                    v1 = (int32_t)u1;
                }
                x0e = __sxtb16(v0);
                x0o = tinyc_fc_sxtb16_ror8(v0);
                x1e = __sxtb16(v1);
                x1o = tinyc_fc_sxtb16_ror8(v1);
            }
            int32_t we, wo;
            tinyc_fc_weights(w + step * g, 0, WS8, &we, &wo);
            s00 = __smlad(x0e, we, s00);
            s00 = __smlad(x0o, wo, s00);
            s10 = __smlad(x1e, we, s10);
            s10 = __smlad(x1o, wo, s10);
            tinyc_fc_weights(w + step * g, 1, WS8, &we, &wo);
            s01 = __smlad(x0e, we, s01);
            s01 = __smlad(x0o, wo, s01);
            s11 = __smlad(x1e, we, s11);
            s11 = __smlad(x1o, wo, s11);
        }
    }
    if (WS8)
    {
        /* int8 weights are not doubled: the requantization reads doubled accumulators */
        s00 <<= 1;
        s01 <<= 1;
        s10 <<= 1;
        s11 <<= 1;
    }
    *a00 = s00;
    *a01 = s01;
    *a10 = s10;
    *a11 = s11;
}

/* Columns of at most this many groups of 4 k run the 4-pixel assembly loop (column 3 at 24 * groups - 4 bytes: LDR's
 * offset reaches 4095). */
#define TINYC_FC4_ASM_GROUPS 170

/* The 4-pixel tile: acc[2 * i + j] += column i . weights of channel j (i = 0..3, j = 0..1), over `groups` groups of
 * 4 k, from 4 int16 columns in SXTB16 lane order one after another at `col` (4 * groups words each) and the doubled
 * int16 weights of one channel pair. Each weight word feeds 4 pixels: half the flash bytes per MAC of the 2-pixel
 * tile, and 14 instructions per 16 MACs with single-word loads that pipeline (the loop's end is read from the stack:
 * the 8 accumulators, 2 pointers, 2 weights and 2 column words take the 14 registers). */
static inline __attribute__((always_inline)) void tinyc_fc_tile4(const int16_t *col, const int16_t *hi,
                                                                  const int split, const void *weights,
                                                                  const int32_t groups, int32_t *acc)
{
    int32_t s00 = acc[0], s01 = acc[1], s10 = acc[2], s11 = acc[3], s20 = acc[4], s21 = acc[5], s30 = acc[6],
            s31 = acc[7];
    const int32_t *w = (const int32_t *)weights;
#if defined(__OPTIMIZE__)
    if (__builtin_constant_p(groups) && groups <= TINYC_FC4_ASM_GROUPS && split)
    {
        /* columns 2 and 3 elsewhere (the stack; 0 and 1 in the scratch): a pointer each, one column word in a
         * register (17 instructions per 16 MACs); two groups per iteration where their count is even */
        const int32_t *px = (const int32_t *)(const void *)col, *py = (const int32_t *)(const void *)hi;
        const int32_t *const end = px + 2 * groups;
        int32_t w0, w1, x;
#define TINYC_FC4_HALF(E) \
    "ldr %[x], [%[px], #(" E ")]\n\t" \
    "smlad %[s00], %[x], %[w0], %[s00]\n\t" \
    "smlad %[s01], %[x], %[w1], %[s01]\n\t" \
    "ldr %[x], [%[px], #(%c[cb] + " E ")]\n\t" \
    "smlad %[s10], %[x], %[w0], %[s10]\n\t" \
    "smlad %[s11], %[x], %[w1], %[s11]\n\t" \
    "ldr %[x], [%[py], #(" E ")]\n\t" \
    "smlad %[s20], %[x], %[w0], %[s20]\n\t" \
    "smlad %[s21], %[x], %[w1], %[s21]\n\t" \
    "ldr %[x], [%[py], #(%c[cb] + " E ")]\n\t" \
    "smlad %[s30], %[x], %[w0], %[s30]\n\t" \
    "smlad %[s31], %[x], %[w1], %[s31]\n\t"
        /* per group: weights ch0 e (+0), ch0 o (+4), ch1 e (+8), ch1 o (+12) */
#define TINYC_FC4_SPLIT_GROUP(E, O) \
    "ldr %[w0], [%[pw]], #16\n\t" \
    "ldr %[w1], [%[pw], #-8]\n\t" \
    TINYC_FC4_HALF(E) \
    "ldr %[w0], [%[pw], #-12]\n\t" \
    "ldr %[w1], [%[pw], #-4]\n\t" \
    TINYC_FC4_HALF(O)
#define TINYC_FC4_SPLIT_OPERANDS \
            : [s00] "+r"(s00), [s01] "+r"(s01), [s10] "+r"(s10), [s11] "+r"(s11), [s20] "+r"(s20), [s21] "+r"(s21), \
              [s30] "+r"(s30), [s31] "+r"(s31), [px] "+r"(px), [py] "+r"(py), [pw] "+r"(w), [w0] "=&r"(w0), \
              [w1] "=&r"(w1), [x] "=&r"(x) \
            : [end] "m"(end), [cb] "n"(8 * groups) /* bytes from column 0 to 1 and from 2 to 3 */ \
            : "cc", "memory"
        if ((groups & 1) == 0)
        {
            __asm__ volatile("1:\n\t" TINYC_FC4_SPLIT_GROUP("0", "4") TINYC_FC4_SPLIT_GROUP("8", "12")
                             "add %[px], %[px], #16\n\tadd %[py], %[py], #16\n\t"
                             "ldr %[x], %[end]\n\tcmp %[px], %[x]\n\tbne 1b\n\t" TINYC_FC4_SPLIT_OPERANDS);
        }
        else
        {
            __asm__ volatile("1:\n\t" TINYC_FC4_SPLIT_GROUP("0", "4")
                             "add %[px], %[px], #8\n\tadd %[py], %[py], #8\n\t"
                             "ldr %[x], %[end]\n\tcmp %[px], %[x]\n\tbne 1b\n\t" TINYC_FC4_SPLIT_OPERANDS);
        }
#undef TINYC_FC4_SPLIT_GROUP
#undef TINYC_FC4_SPLIT_OPERANDS
#undef TINYC_FC4_HALF
    }
    else if (__builtin_constant_p(groups) && groups <= TINYC_FC4_ASM_GROUPS)
    {
        const int32_t *px = (const int32_t *)(const void *)col;
        const int32_t *const end = px + 2 * groups;
        int32_t w0, w1, xa, xb;
        /* per group: weights ch0 e (+0), ch0 o (+4), ch1 e (+8), ch1 o (+12); column i's words e, o at 8 * groups * i */
        /* four groups per iteration where their count allows (117 instructions per 128 MACs), else two (60 per
         * 64) or one (31 per 32) */
#define TINYC_FC4_GROUP \
    "ldr %[w0], [%[pw]], #16\n\t" \
    "ldr %[w1], [%[pw], #-8]\n\t" \
    "ldr %[xa], [%[px]], #8\n\t" \
    "ldr %[xb], [%[px], #(%c[cb] - 8)]\n\t" \
    "smlad %[s00], %[xa], %[w0], %[s00]\n\t" \
    "smlad %[s01], %[xa], %[w1], %[s01]\n\t" \
    "smlad %[s10], %[xb], %[w0], %[s10]\n\t" \
    "smlad %[s11], %[xb], %[w1], %[s11]\n\t" \
    "ldr %[xa], [%[px], #(2 * %c[cb] - 8)]\n\t" \
    "ldr %[xb], [%[px], #(3 * %c[cb] - 8)]\n\t" \
    "smlad %[s20], %[xa], %[w0], %[s20]\n\t" \
    "smlad %[s21], %[xa], %[w1], %[s21]\n\t" \
    "smlad %[s30], %[xb], %[w0], %[s30]\n\t" \
    "smlad %[s31], %[xb], %[w1], %[s31]\n\t" \
    "ldr %[w0], [%[pw], #-12]\n\t" \
    "ldr %[w1], [%[pw], #-4]\n\t" \
    "ldr %[xa], [%[px], #-4]\n\t" \
    "ldr %[xb], [%[px], #(%c[cb] - 4)]\n\t" \
    "smlad %[s00], %[xa], %[w0], %[s00]\n\t" \
    "smlad %[s01], %[xa], %[w1], %[s01]\n\t" \
    "smlad %[s10], %[xb], %[w0], %[s10]\n\t" \
    "smlad %[s11], %[xb], %[w1], %[s11]\n\t" \
    "ldr %[xa], [%[px], #(2 * %c[cb] - 4)]\n\t" \
    "ldr %[xb], [%[px], #(3 * %c[cb] - 4)]\n\t" \
    "smlad %[s20], %[xa], %[w0], %[s20]\n\t" \
    "smlad %[s21], %[xa], %[w1], %[s21]\n\t" \
    "smlad %[s30], %[xb], %[w0], %[s30]\n\t" \
    "smlad %[s31], %[xb], %[w1], %[s31]\n\t"
#define TINYC_FC4_OPERANDS \
            : [s00] "+r"(s00), [s01] "+r"(s01), [s10] "+r"(s10), [s11] "+r"(s11), [s20] "+r"(s20), [s21] "+r"(s21), \
              [s30] "+r"(s30), [s31] "+r"(s31), [px] "+r"(px), [pw] "+r"(w), [w0] "=&r"(w0), [w1] "=&r"(w1), \
              [xa] "=&r"(xa), [xb] "=&r"(xb) \
            : [end] "m"(end), [cb] "n"(8 * groups) /* bytes from one column to the next */ \
            : "cc", "memory"
#define TINYC_FC4_LOOP_END "ldr %[xa], %[end]\n\tcmp %[px], %[xa]\n\tbne 1b\n\t"
        if ((groups & 3) == 0)
        {
            __asm__ volatile("1:\n\t" TINYC_FC4_GROUP TINYC_FC4_GROUP TINYC_FC4_GROUP TINYC_FC4_GROUP
                             TINYC_FC4_LOOP_END TINYC_FC4_OPERANDS);
        }
        else if ((groups & 1) == 0)
        {
            __asm__ volatile("1:\n\t" TINYC_FC4_GROUP TINYC_FC4_GROUP TINYC_FC4_LOOP_END TINYC_FC4_OPERANDS);
        }
        else
        {
            __asm__ volatile("1:\n\t" TINYC_FC4_GROUP TINYC_FC4_LOOP_END TINYC_FC4_OPERANDS);
        }
#undef TINYC_FC4_GROUP
#undef TINYC_FC4_OPERANDS
#undef TINYC_FC4_LOOP_END
    }
    else
#endif
    {
        const int32_t *x = (const int32_t *)(const void *)col, *y = (const int32_t *)(const void *)hi;
        const int32_t stride = 2 * groups; /* words from one column to the next */
        for (int32_t g = 0; g < groups; g++, w += 4, x += 2, y += 2)
        {
            for (int32_t h = 0; h < 2; h++)
            {
                const int32_t w0 = w[h], w1 = w[2 + h];
                const int32_t x0 = x[h], x1 = x[stride + h], x2 = y[h], x3 = y[stride + h];
                s00 = __smlad(x0, w0, s00);
                s01 = __smlad(x0, w1, s01);
                s10 = __smlad(x1, w0, s10);
                s11 = __smlad(x1, w1, s11);
                s20 = __smlad(x2, w0, s20);
                s21 = __smlad(x2, w1, s21);
                s30 = __smlad(x3, w0, s30);
                s31 = __smlad(x3, w1, s31);
            }
        }
    }
    acc[0] = s00;
    acc[1] = s01;
    acc[2] = s10;
    acc[3] = s11;
    acc[4] = s20;
    acc[5] = s21;
    acc[6] = s30;
    acc[7] = s31;
}

#endif /* TINYC_FAST_KERNELS */

#endif /* TINYC_FAST_TILE_H */
