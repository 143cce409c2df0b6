/*
 * tinyc's compile-time specialized depthwise convolution (ARMv7E-M DSP; channel multiplier 1, batch 1,
 * dilation 1): one static inline function that each generated step calls with constant shapes, so that the
 * compiler specializes it per layer. What Python prepares at compile time (tinyc/plan/specialize.py):
 *
 * - weights as int16, doubled, per channel and kernel row: the row's taps in groups of 4 in SXTB16 lane order
 *   [w0, w2, w1, w3], k_w rounded up to 4 with zeros (a 3-wide row is the words [2*w0 | 2*w2], [2*w1 | 0]);
 * - the records of tinyc_fast_conv.h, one per channel (bias with the input offset folded in, doubled; the
 *   requantization constants of the layer's mode).
 *
 * Method: one channel at a time, its input rows are gathered (strided by the channel count in NHWC) into a band
 * of zero-point padded contiguous int8 rows on the stack (TINYC_FD_BAND_BYTES; the padding is written once per
 * band, the channels overwrite only the inside), and output pixels are computed from word loads of the band with
 * the channel's weights and constants in registers. 3x3, 2 output pixels at once, per kernel row:
 * stride 1: LDR x0..x3, SXTB16 -> (x0, x2), (x1, x3); out0 += SMLAD((x0,x2), (w0,w2)) + SMLABB((x1,x3), w1);
 * out1 += SMLAD((x1,x3), (w0,w2)) + SMLATB((x0,x2), w1): 7 instructions per 6 MACs;
 * stride 2: the same word and x4: out1 += SMLATB((x0,x2), w0) + SMLATB((x1,x3), w1) + SMLABT(x4, w2).
 * In FAST mode, rows of at least TINYC_FD_QUAD_MIN_W pixels run in blocks of 2 x 2 output pixels (stride 1: 4
 * input rows loaded once for both output rows, 68 instructions per 4 pixels against 78 for two pairs; stride 2:
 * 5 input rows, 82 against 90), at stride 1 the odd column in blocks of 4 x 1 (6 input rows, the last block
 * overlapping the one before), the last row of an odd row count in pairs; each of these has one copy of its
 * code, so that a channel's loop stays in the flash accelerator's 1 KiB instruction cache (unrolled copies made
 * the step slower with flash than without them).
 * Other sizes (C): 2 output pixels per group of 4 taps and one word, at stride 1 or 2 (tinyc_fd_row_pair: the
 * second pixel's taps from SMLADX of the halves PKHBT packs from this word and the next), one pixel at the end of
 * a row of odd width and at larger strides. The padding taps hold the input zero
 * point: they add nothing to accumulators that start from the bias with the input offset folded in. No scratch:
 * the band is the step's stack (at most TINYC_FD_BAND_BYTES; Python checks that k_h band rows fit).
 */
#ifndef TINYC_FAST_DEPTHWISE_H
#define TINYC_FAST_DEPTHWISE_H

#include "tinyc_fast_support.h"

#if TINYC_FAST_KERNELS

#define TINYC_FD_BAND_BYTES 1536 /* DW_BAND_BYTES of tinyc/plan/specialize.py */
#define TINYC_FD_ROW_SLACK 4     /* DW_ROW_SLACK_BYTES: bytes after a band row that word loads may read */

#include "tinyc_fast_depthwise_3x3.h"

/* The bottom half of a, the top half of b (PKHBT). */
static inline __attribute__((always_inline)) int32_t tinyc_fd_pack(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("pkhbt %0, %1, %2" : "=r"(r) : "r"(a), "r"(b)); /* GCC: AND, UXTH, ORR */
    return r;
}

/* One kernel row of any width (groups of 4 taps, words [w0|w2], [w1|w3]; taps past k_w zero) for 2 output pixels
 * at stride 1 or 2: x0.. at r. Per group, out0: (x0,x2).(w0,w2) + (x1,x3).(w1,w3); out1 at stride 1:
 * (x1,x3).(w0,w2) + SMLADX((x4,x2), (w1,w3)); at stride 2: SMLADX((x4,x2), (w0,w2)) + SMLADX((x5,x3), (w1,w3)),
 * x4, x5 from the next group's word; terms of zero taps left out (k_w is a constant). */
static inline __attribute__((always_inline)) void tinyc_fd_row_pair(const int8_t *r, const int32_t *wt,
                                                                     const int32_t k_w, const int32_t stride,
                                                                     int32_t *a0, int32_t *a1)
{
    const int32_t groups = (k_w + 3) >> 2;
    int32_t v = tinyc_fc_load(r);
    int32_t e = __sxtb16(v), o = tinyc_fc_sxtb16_ror8(v);
#pragma GCC unroll 4
    for (int32_t g = 0; g < groups; g++)
    {
        const int32_t tail = k_w - 4 * g; /* taps from this group on */
        const int32_t we = wt[2 * g], wo = wt[2 * g + 1];
        int32_t en = 0, on = 0;
        if (stride == 1 ? tail >= 4 : tail >= 3)
        {
            v = tinyc_fc_load(r + 4 * g + 4);
            en = __sxtb16(v);
            on = tinyc_fc_sxtb16_ror8(v);
        }
        *a0 = __smlad(e, we, *a0);
        if (tail >= 2)
        {
            *a0 = __smlad(o, wo, *a0);
        }
        if (stride == 1)
        {
            *a1 = __smlad(o, we, *a1);
            if (tail >= 4)
            {
                *a1 = __smladx(tinyc_fd_pack(en, e), wo, *a1);
            }
            else if (tail >= 2)
            {
                *a1 = __smlatb(e, wo, *a1);
            }
        }
        else
        {
            *a1 = tail >= 3 ? __smladx(tinyc_fd_pack(en, e), we, *a1) : __smlatb(e, we, *a1);
            if (tail >= 4)
            {
                *a1 = __smladx(tinyc_fd_pack(on, o), wo, *a1);
            }
            else if (tail >= 2)
            {
                *a1 = __smlatb(o, wo, *a1);
            }
        }
        e = en;
        o = on;
    }
}

/* One kernel row of any width for 1 output pixel. */
static inline __attribute__((always_inline)) int32_t tinyc_fd_row_one(const int8_t *r, const int32_t *wt,
                                                                       const int32_t k_w, int32_t a)
{
#pragma GCC unroll 4
    for (int32_t g = 0; g < ((k_w + 3) >> 2); g++)
    {
        const int32_t v = tinyc_fc_load(r + 4 * g);
        a = __smlad(__sxtb16(v), wt[2 * g], a);
        if (k_w - 4 * g >= 2)
        {
            a = __smlad(tinyc_fc_sxtb16_ror8(v), wt[2 * g + 1], a);
        }
    }
    return a;
}

/* The output rows [0, n) of one channel from its band (rows band_w bytes apart); out: the channel's first
 * output of the band's first row (pixels chans bytes apart); w: the channel's weights (words); q: its record. */
static inline __attribute__((always_inline)) void tinyc_fd_channel(
    const int8_t *band, int8_t *out, const int32_t *w, const int32_t *q, const int32_t n, const int32_t band_w,
    const int32_t chans, const int32_t out_w, const int32_t k_h, const int32_t k_w, const int32_t stride_h,
    const int32_t stride_w, const int32_t out_offset, const int32_t act_min, const int32_t act_max, const int mode)
{
    const int32_t bias = q[0];
    if (k_h == 3 && k_w == 3 && (stride_w == 1 || stride_w == 2))
    {
        const int32_t w0a = w[0], w0b = w[1], w1a = w[2], w1b = w[3], w2a = w[4], w2b = w[5];
#if defined(__OPTIMIZE__)
        if (mode == TINYC_REQUANT_FAST && __builtin_constant_p(band_w) && __builtin_constant_p(chans) &&
            __builtin_constant_p(out_w) && stride_h == stride_w && out_w >= TINYC_FD_QUAD_MIN_W &&
            (2 * stride_w + 1) * band_w <= 4095 && (out_w + 1) * chans <= 4095)
        {
            /* Pairs of rows in 2 x 2 blocks, the last row of odd n in pairs, then the odd column in blocks of 4
             * rows: each piece's code once, so that they fit the flash accelerator's instruction cache together. */
            const int32_t k[TINYC_QUANT_WORDS] = {q[0], q[1], q[2], q[3]}; /* the blocks' record on the stack */
            const int32_t wb = (int32_t)(((uint32_t)w0b & 0xffffu) | ((uint32_t)w1b << 16));
            int32_t oy = 0;
#pragma GCC unroll 1
            for (; oy + 1 < n; oy += 2)
            {
                tinyc_fd_quads_asm(band + oy * stride_h * band_w, out + oy * out_w * chans, out_w >> 1, k, w0a, w1a,
                                   w2a, wb, w2b, band_w, chans, out_w, stride_w);
            }
            if (oy < n)
            {
                tinyc_fd_pairs_asm(band + oy * stride_h * band_w, out + oy * out_w * chans, out_w >> 1, q, w0a, w1a,
                                   w2a, wb, w2b, band_w, chans, stride_w, 0);
            }
            if ((out_w & 1) && stride_w == 1 && n >= 4 && 5 * band_w <= 4095 && 4 * out_w * chans <= 4095)
            {
                /* the odd column: blocks of 4 rows, then one more ending at row n - 1 where 4 does not divide n
                 * (it recomputes up to 3 pixels, the same bytes, in the same code) */
                int32_t y = 0, blocks = n >> 2, passes = 1 + ((n & 3) != 0);
                __asm__("" : "+r"(passes)); /* a count GCC cannot see: the loop stays a loop, one copy of its code */
                for (;;)
                {
                    tinyc_fd_column_asm(band + y * band_w + out_w - 1, out + (y * out_w + out_w - 1) * chans, blocks,
                                        k, w0a, w1a, w2a, wb, w2b, band_w, chans, out_w);
                    if (--passes == 0)
                    {
                        break;
                    }
                    y = n - 4;
                    blocks = 1;
                }
            }
            else if (out_w & 1)
            {
#pragma GCC unroll 1
                for (oy = 0; oy < n; oy++)
                {
                    tinyc_fd_single_asm(band + oy * stride_h * band_w + (out_w - 1) * stride_w,
                                        out + (oy * out_w + out_w - 1) * chans, q, w0a, w1a, w2a, wb, w2b, band_w);
                }
            }
            return;
        }
#endif
        for (int32_t oy = 0; oy < n; oy++)
        {
            const int8_t *r = band + oy * stride_h * band_w;
            int8_t *o = out + oy * out_w * chans;
            int32_t ox = 0;
#if defined(__OPTIMIZE__)
            if (mode == TINYC_REQUANT_FAST && __builtin_constant_p(band_w) && __builtin_constant_p(chans) &&
                2 * band_w <= 4095)
            {
                const int32_t wb = (int32_t)(((uint32_t)w0b & 0xffffu) | ((uint32_t)w1b << 16));
                if (out_w > 1)
                {
                    r = tinyc_fd_pairs_asm(r, o, out_w >> 1, q, w0a, w1a, w2a, wb, w2b, band_w, chans, stride_w, 1);
                }
                if (out_w & 1)
                {
                    tinyc_fd_single_asm(r, o + (out_w & ~1) * chans, q, w0a, w1a, w2a, wb, w2b, band_w);
                }
                continue;
            }
#endif
            for (; ox + 1 < out_w; ox += 2, r += 2 * stride_w, o += 2 * chans)
            {
                int32_t a0 = bias, a1 = bias;
                if (stride_w == 1)
                {
                    tinyc_fd_row3_s1(r, w0a, w0b, &a0, &a1);
                    tinyc_fd_row3_s1(r + band_w, w1a, w1b, &a0, &a1);
                    tinyc_fd_row3_s1(r + 2 * band_w, w2a, w2b, &a0, &a1);
                }
                else
                {
                    tinyc_fd_row3_s2(r, w0a, w0b, &a0, &a1);
                    tinyc_fd_row3_s2(r + band_w, w1a, w1b, &a0, &a1);
                    tinyc_fd_row3_s2(r + 2 * band_w, w2a, w2b, &a0, &a1);
                }
                o[0] = tinyc_fc_requant(a0, q, mode, out_offset, act_min, act_max);
                o[chans] = tinyc_fc_requant(a1, q, mode, out_offset, act_min, act_max);
            }
            if (out_w & 1)
            {
                int32_t a = tinyc_fd_row3(r, w0a, w0b, bias);
                a = tinyc_fd_row3(r + band_w, w1a, w1b, a);
                a = tinyc_fd_row3(r + 2 * band_w, w2a, w2b, a);
                o[0] = tinyc_fc_requant(a, q, mode, out_offset, act_min, act_max);
            }
        }
        return;
    }
    const int32_t row_words = ((k_w + 3) >> 2) * 2;
    for (int32_t oy = 0; oy < n; oy++)
    {
        const int8_t *r = band + oy * stride_h * band_w;
        int8_t *o = out + oy * out_w * chans;
        int32_t ox = 0;
        if (stride_w <= 2)
        {
            for (; ox + 1 < out_w; ox += 2, r += 2 * stride_w, o += 2 * chans)
            {
                int32_t a0 = bias, a1 = bias;
#pragma GCC unroll 7
                for (int32_t ky = 0; ky < k_h; ky++)
                {
                    tinyc_fd_row_pair(r + ky * band_w, w + ky * row_words, k_w, stride_w, &a0, &a1);
                }
                o[0] = tinyc_fc_requant(a0, q, mode, out_offset, act_min, act_max);
                o[chans] = tinyc_fc_requant(a1, q, mode, out_offset, act_min, act_max);
            }
        }
        for (; ox < out_w; ox++, r += stride_w, o += chans)
        {
            int32_t a = bias;
#pragma GCC unroll 7
            for (int32_t ky = 0; ky < k_h; ky++)
            {
                a = tinyc_fd_row_one(r + ky * band_w, w + ky * row_words, k_w, a);
            }
            o[0] = tinyc_fc_requant(a, q, mode, out_offset, act_min, act_max);
        }
    }
}

/* `rows` input rows of one channel (n pixels chans bytes apart) to band rows (band_w bytes apart): LDRB and STRB
 * per pixel, both post-indexed (GCC would merge the bytes into words with 2 more instructions per pixel). */
static inline __attribute__((always_inline)) void tinyc_fd_gather(const int8_t *src, int8_t *dst, const int32_t rows,
                                                                   const int32_t n, const int32_t chans,
                                                                   const int32_t band_w)
{
#if defined(__OPTIMIZE__)
    if (__builtin_constant_p(chans) && chans <= 255 && __builtin_constant_p(n))
    {
        for (int32_t y = 0; y < rows; y++, dst += band_w - n)
        {
#pragma GCC unroll 8
            for (int32_t x = 0; x < n; x++)
            {
                int32_t t;
                __asm__ volatile("ldrb %[t], [%[s]], %[c]\n\t"
                                 "strb %[t], [%[d]], #1\n\t"
                                 : [t] "=&r"(t), [s] "+r"(src), [d] "+r"(dst)
                                 : [c] "n"(chans)
                                 : "memory");
            }
        }
        return;
    }
#endif
    for (int32_t y = 0; y < rows; y++, dst += band_w, src += n * chans)
    {
        for (int32_t x = 0; x < n; x++)
        {
            dst[x] = src[x * chans];
        }
    }
}

/*
 * Depthwise convolution of one NHWC image with the compile-time layouts above; chunks of output rows whose
 * k_h + (rows - 1) * stride_h input rows fit the band, in chunk-major order (the padding written once per chunk).
 */
static inline __attribute__((always_inline)) void tinyc_fd_depthwise(
    const int8_t *input, int8_t *output, const int16_t *weights, const int32_t *quant, const int32_t in_h,
    const int32_t in_w, const int32_t chans, const int32_t out_h, const int32_t out_w, const int32_t k_h,
    const int32_t k_w, const int32_t stride_h, const int32_t stride_w, const int32_t pad_h, const int32_t pad_w,
    const int32_t pad_value, const int32_t out_offset, const int32_t act_min, const int32_t act_max, const int mode)
{
    const int32_t pad_r = (out_w - 1) * stride_w + k_w - in_w - pad_w;
    const int32_t band_w = (pad_w + in_w + (pad_r > 0 ? pad_r : 0) + TINYC_FD_ROW_SLACK + 3) & ~3;
    const int32_t fit = (TINYC_FD_BAND_BYTES / band_w - k_h) / stride_h + 1;
    const int32_t chunk = fit < out_h ? fit : out_h;
    const int32_t channel_words = k_h * ((k_w + 3) >> 2) * 2;
    const int32_t zp4 = (int32_t)((uint32_t)(uint8_t)pad_value * 0x01010101u);
    int32_t band_words[TINYC_FD_BAND_BYTES / 4];
    int8_t *band = (int8_t *)(void *)band_words;
    for (int32_t oy0 = 0; oy0 < out_h; oy0 += chunk)
    {
        const int32_t n = out_h - oy0 < chunk ? out_h - oy0 : chunk;
        const int32_t rows = (n - 1) * stride_h + k_h;
        const int32_t y_first = oy0 * stride_h - pad_h;
        const int32_t y_lo = y_first > 0 ? y_first : 0;
        const int32_t y_hi = y_first + rows < in_h ? y_first + rows : in_h;
        for (int32_t i = 0; i < rows * band_w / 4; i++)
        {
            band_words[i] = zp4;
        }
        const int32_t *w = (const int32_t *)(const void *)weights;
        const int32_t *q = quant;
        for (int32_t c = 0; c < chans; c++, w += channel_words, q += TINYC_QUANT_WORDS)
        {
            const int8_t *src = input + y_lo * in_w * chans + c;
            int8_t *dst = band + (y_lo - y_first) * band_w + pad_w;
            tinyc_fd_gather(src, dst, y_hi - y_lo, in_w, chans, band_w);
            tinyc_fd_channel(band, output + oy0 * out_w * chans + c, w, q, n, band_w, chans, out_w, k_h, k_w,
                             stride_h, stride_w, out_offset, act_min, act_max, mode);
        }
    }
}

/* A specialized depthwise convolution's shape and output quantization by name (as tinyc_fast_conv_shape: a
 * compile-time constant of model.c, with designated initializers, that the inlined kernel folds away). */
typedef struct
{
    int32_t in_h, in_w, chans, out_h, out_w;
    int32_t k_h, k_w, stride_h, stride_w, pad_h, pad_w;
    int32_t pad_value; /* the input zero point */
    int32_t out_offset, act_min, act_max;
} tinyc_fast_depthwise_shape;

/* tinyc_fd_depthwise with its shape named; mode: TINYC_REQUANT_*. */
static inline __attribute__((always_inline)) void tinyc_fast_depthwise_s8(
    const int8_t *input, int8_t *output, const int16_t *weights, const int32_t *quant,
    const tinyc_fast_depthwise_shape s, const int mode)
{
    tinyc_fd_depthwise(input, output, weights, quant, s.in_h, s.in_w, s.chans, s.out_h, s.out_w, s.k_h, s.k_w,
                       s.stride_h, s.stride_w, s.pad_h, s.pad_w, s.pad_value, s.out_offset, s.act_min, s.act_max, mode);
}

#endif /* TINYC_FAST_KERNELS */

#endif /* TINYC_FAST_DEPTHWISE_H */
