#ifndef TINYC_FAST_FC_H
#define TINYC_FAST_FC_H

#include "tinyc_fast_support.h"

#if TINYC_FAST_KERNELS

/*
 * Fully connected layers: each input row is used once per output channel, so there is no pixel to pair with. Per
 * row, the row as an int16 column in SXTB16 lane order on the stack (in_c <= TINYC_FF_STACK_CHANNELS), then 4
 * output channels at a time from int8 weights (SXTB16 here: each weight is read once, and int8 halves the flash
 * it streams): 19.5 instructions per 16 MACs. Weights per quad of output channels, per group of 4 k, channel 0 to
 * 3, [w0 w1 w2 w3] (k rounded up to 4, the channels to a multiple of 4, with zeros); the records as the
 * convolution's, with int8 (undoubled) biases; live_c, live and row as the convolution's.
 */
#define TINYC_FF_STACK_CHANNELS 768

/* acc[j] += column . weights of channel j (j = 0..3), over `groups` groups of 4 k. */
static inline __attribute__((always_inline)) void tinyc_ff_quad(const int32_t *col, const int32_t *weights,
                                                                 const int32_t groups, int32_t *a0, int32_t *a1,
                                                                 int32_t *a2, int32_t *a3)
{
    int32_t s0 = *a0, s1 = *a1, s2 = *a2, s3 = *a3;
    const int32_t *px = col, *pw = weights;
#if defined(__OPTIMIZE__)
    const int32_t *end = px + 2 * groups;
    int32_t xe, xo, w0, w1, t;
    /* four groups per iteration where their count allows (19.5 instructions per 16 MACs), else two (20) or
       one (21) */
#define TINYC_FF_GROUP \
        "ldrd %[xe], %[xo], [%[px]], #8\n\t" \
        "ldrd %[w0], %[w1], [%[pw]], #8\n\t" \
        "sxtb16 %[t], %[w0]\n\t" \
        "sxtb16 %[w0], %[w0], ror #8\n\t" \
        "smlad %[s0], %[xe], %[t], %[s0]\n\t" \
        "smlad %[s0], %[xo], %[w0], %[s0]\n\t" \
        "sxtb16 %[t], %[w1]\n\t" \
        "sxtb16 %[w1], %[w1], ror #8\n\t" \
        "smlad %[s1], %[xe], %[t], %[s1]\n\t" \
        "smlad %[s1], %[xo], %[w1], %[s1]\n\t" \
        "ldrd %[w0], %[w1], [%[pw]], #8\n\t" \
        "sxtb16 %[t], %[w0]\n\t" \
        "sxtb16 %[w0], %[w0], ror #8\n\t" \
        "smlad %[s2], %[xe], %[t], %[s2]\n\t" \
        "smlad %[s2], %[xo], %[w0], %[s2]\n\t" \
        "sxtb16 %[t], %[w1]\n\t" \
        "sxtb16 %[w1], %[w1], ror #8\n\t" \
        "smlad %[s3], %[xe], %[t], %[s3]\n\t" \
        "smlad %[s3], %[xo], %[w1], %[s3]\n\t"
#define TINYC_FF_OPERANDS \
        : [s0] "+r"(s0), [s1] "+r"(s1), [s2] "+r"(s2), [s3] "+r"(s3), [px] "+r"(px), [pw] "+r"(pw), \
          [xe] "=&r"(xe), [xo] "=&r"(xo), [w0] "=&r"(w0), [w1] "=&r"(w1), [t] "=&r"(t) \
        : [end] "r"(end) \
        : "cc", "memory"
    if ((groups & 3) == 0)
    {
        __asm__ volatile("1:\n\t" TINYC_FF_GROUP TINYC_FF_GROUP TINYC_FF_GROUP TINYC_FF_GROUP
                         "cmp %[px], %[end]\n\tbne 1b\n\t" TINYC_FF_OPERANDS);
    }
    else if ((groups & 1) == 0)
    {
        __asm__ volatile("1:\n\t" TINYC_FF_GROUP TINYC_FF_GROUP "cmp %[px], %[end]\n\tbne 1b\n\t" TINYC_FF_OPERANDS);
    }
    else
    {
        __asm__ volatile("1:\n\t" TINYC_FF_GROUP "cmp %[px], %[end]\n\tbne 1b\n\t" TINYC_FF_OPERANDS);
    }
#undef TINYC_FF_GROUP
#undef TINYC_FF_OPERANDS
#else
    for (int32_t g = 0; g < groups; g++, px += 2, pw += 4)
    {
        s0 = __smlad(px[0], __sxtb16(pw[0]), s0);
        s0 = __smlad(px[1], tinyc_fc_sxtb16_ror8(pw[0]), s0);
        s1 = __smlad(px[0], __sxtb16(pw[1]), s1);
        s1 = __smlad(px[1], tinyc_fc_sxtb16_ror8(pw[1]), s1);
        s2 = __smlad(px[0], __sxtb16(pw[2]), s2);
        s2 = __smlad(px[1], tinyc_fc_sxtb16_ror8(pw[2]), s2);
        s3 = __smlad(px[0], __sxtb16(pw[3]), s3);
        s3 = __smlad(px[1], tinyc_fc_sxtb16_ror8(pw[3]), s3);
    }
#endif
    /* int8 weights are not doubled: the requantization reads doubled accumulators */
    *a0 = s0 << 1;
    *a1 = s1 << 1;
    *a2 = s2 << 1;
    *a3 = s3 << 1;
}

/* `n` (1-4) channels of a quad: requantized and stored at their channel numbers. */
static inline __attribute__((always_inline)) void tinyc_ff_store(int8_t *o, const int32_t *acc, const int32_t *q,
                                                                  const uint16_t *ch, const int mapped,
                                                                  const int32_t n, const int mode,
                                                                  const int32_t out_offset, const int32_t act_min,
                                                                  const int32_t act_max)
{
#pragma GCC unroll 4
    for (int32_t i = 0; i < n; i++) /* unrolled: the accumulators stay in registers */
    {
        o[mapped ? ch[i] : i] = tinyc_fc_requant(acc[i], q + i * TINYC_QUANT_WORDS, mode, out_offset, act_min,
                                                 act_max);
    }
}

static inline __attribute__((always_inline)) void tinyc_ff_fully_connected(
    const int8_t *input, int8_t *output, const int8_t *weights, const int32_t *quant, const uint16_t *live,
    const int8_t *row, const int32_t live_c, const int32_t rows, const int32_t in_c, const int32_t out_c,
    const int32_t out_offset, const int32_t act_min, const int32_t act_max, const int mode)
{
    const int32_t k4 = (in_c + 3) & ~3;
    const int mapped = live_c < out_c;
    int32_t col[k4 >> 1]; /* the int16 column: k4 <= TINYC_FF_STACK_CHANNELS (tinyc/plan/specialize.py) */
    for (int32_t r = 0; r < rows; r++)
    {
        tinyc_fc_pixel_col(input + r * in_c, (int16_t *)(void *)col, in_c);
        int8_t *o = output + r * out_c;
        if (mapped)
        {
            tinyc_fc_copy_row(o, row, out_c);
        }
        const int32_t *w = (const int32_t *)(const void *)weights;
        const int32_t *q = quant;
        const uint16_t *ch = live;
        for (int32_t j = 0; j < (live_c >> 2); j++)
        {
            int32_t acc[4] = {q[0], q[TINYC_QUANT_WORDS], q[2 * TINYC_QUANT_WORDS], q[3 * TINYC_QUANT_WORDS]};
            tinyc_ff_quad(col, w, k4 >> 2, &acc[0], &acc[1], &acc[2], &acc[3]);
            tinyc_ff_store(o, acc, q, ch, mapped, 4, mode, out_offset, act_min, act_max);
            if (mapped)
            {
                ch += 4;
            }
            else
            {
                o += 4;
            }
            w += k4;
            q += 4 * TINYC_QUANT_WORDS;
        }
        if (live_c & 3)
        {
            int32_t acc[4] = {q[0], q[TINYC_QUANT_WORDS], q[2 * TINYC_QUANT_WORDS], q[3 * TINYC_QUANT_WORDS]};
            tinyc_ff_quad(col, w, k4 >> 2, &acc[0], &acc[1], &acc[2], &acc[3]);
            tinyc_ff_store(o, acc, q, ch, mapped, live_c & 3, mode, out_offset, act_min, act_max);
        }
    }
}

/* A specialized fully connected layer's shape and output quantization by name (as tinyc_fast_conv_shape). */
typedef struct
{
    int32_t rows, in_c, out_c;
    int32_t out_offset, act_min, act_max;
} tinyc_fast_fc_shape;

/* tinyc_ff_fully_connected with its shape named; mode: TINYC_REQUANT_*. */
static inline __attribute__((always_inline)) void tinyc_fast_fc_s8(
    const int8_t *input, int8_t *output, const int8_t *weights, const int32_t *quant, const uint16_t *live,
    const int8_t *row, const int32_t live_c, const tinyc_fast_fc_shape s, const int mode)
{
    tinyc_ff_fully_connected(input, output, weights, quant, live, row, live_c, s.rows, s.in_c, s.out_c,
                             s.out_offset, s.act_min, s.act_max, mode);
}

#endif /* TINYC_FAST_KERNELS */

#endif /* TINYC_FAST_FC_H */
