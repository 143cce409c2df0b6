/*
 * tinyc's global average pooling (ARMv7E-M DSP): the AVERAGE_POOL_2D whose one window is whole input rows from the
 * first (output 1x1, no padding: `pixels` contiguous NHWC pixels; tinyc/plan/specialize.py chooses it), the ending
 * of KWS DS-CNN (24 of its 25 rows), ResNet-8 and MobileNetV1.
 *
 * Method: 4 channels at a time, one word load per pixel and two SXTAB16 into 16-bit lane sums (channels c, c+2 and
 * c+1, c+3), which cannot wrap over at most TINYC_FAP_CHUNK pixels (255 * 128 < 2^15); longer inputs add their
 * chunks' sums in 32 bits. Then TFLite Micro's rounding division by the pixel count (a constant: a multiply) and
 * clamp. The channels past the last multiple of 4 sum byte by byte. No scratch.
 */
#ifndef TINYC_FAST_AVGPOOL_H
#define TINYC_FAST_AVGPOOL_H

#include "tinyc_fast_support.h"

#if TINYC_FAST_KERNELS

#define TINYC_FAP_CHUNK 255 /* pixels whose int8 sum fits an int16 lane */

static inline __attribute__((always_inline)) int32_t tinyc_fap_sxtab16_ror8(int32_t acc, int32_t v)
{
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(v));
    return r;
}

/* TFLite Micro's AveragePool: the sum rounded half away from zero by the count, then the activation. */
static inline __attribute__((always_inline)) int8_t tinyc_fap_average(int32_t sum, const int32_t count,
                                                                       const int32_t act_min, const int32_t act_max)
{
    int32_t x = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
    x = x < act_min ? act_min : x;
    return (int8_t)(x > act_max ? act_max : x);
}

/* The average over `pixels` NHWC pixels (chans bytes apart) of each channel of in, to out[0 .. chans). */
static inline __attribute__((always_inline)) void tinyc_fast_avgpool_global_s8(const int8_t *in, int8_t *out,
                                                                               const int32_t pixels,
                                                                               const int32_t chans,
                                                                               const int32_t act_min,
                                                                               const int32_t act_max)
{
    int32_t c = 0;
    for (; c + 3 < chans; c += 4)
    {
        int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        const int8_t *p = in + c;
        for (int32_t p0 = 0; p0 < pixels; p0 += TINYC_FAP_CHUNK)
        {
            const int32_t n = pixels - p0 < TINYC_FAP_CHUNK ? pixels - p0 : TINYC_FAP_CHUNK;
            int32_t e = 0, o = 0;
#pragma GCC unroll 4
            for (int32_t i = 0; i < n; i++, p += chans)
            {
                const int32_t v = tinyc_fc_load(p);
                e = __sxtab16(e, v);
                o = tinyc_fap_sxtab16_ror8(o, v);
            }
            s0 += (int16_t)e;
            s2 += e >> 16;
            s1 += (int16_t)o;
            s3 += o >> 16;
        }
        out[c] = tinyc_fap_average(s0, pixels, act_min, act_max);
        out[c + 1] = tinyc_fap_average(s1, pixels, act_min, act_max);
        out[c + 2] = tinyc_fap_average(s2, pixels, act_min, act_max);
        out[c + 3] = tinyc_fap_average(s3, pixels, act_min, act_max);
    }
    for (; c < chans; c++)
    {
        int32_t s = 0;
        const int8_t *p = in + c;
        for (int32_t i = 0; i < pixels; i++, p += chans)
        {
            s += *p;
        }
        out[c] = tinyc_fap_average(s, pixels, act_min, act_max);
    }
}

#endif /* TINYC_FAST_KERNELS */

#endif /* TINYC_FAST_AVGPOOL_H */
