/*
 * The primitives of tinyc's compile-time specialized kernels (tinyc_fast_conv.h, tinyc_fast_fc.h,
 * tinyc_fast_depthwise.h, tinyc_fast_avgpool.h): TINYC_FAST_KERNELS, the requantization modes and the per-channel
 * record (see tinyc_fast_conv.h), word loads, SXTB16 / SMMULR / SSAT, the requantization of one accumulator, and
 * the byte and column moves the kernels share.
 */
#ifndef TINYC_FAST_SUPPORT_H
#define TINYC_FAST_SUPPORT_H

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_DSP) && !defined(TINYC_PORTABLE_KERNELS) && !defined(TINYC_ARM_CMSIS_NN)
#define TINYC_FAST_KERNELS 1
#else
#define TINYC_FAST_KERNELS 0
#endif

/* Helium (MVE, the Cortex-M55): tinyc_helium_conv.h, tinyc_helium_depthwise.h and the vector paths of the fast
 * kernels. Their inline asm takes the layer's shape as immediates and needs the registers an optimizing build frees:
 * without optimization (a library user's -O0 build) the other kernels run. */
#if TINYC_FAST_KERNELS && defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1) && defined(__OPTIMIZE__)
#define TINYC_HELIUM_KERNELS 1
#include <arm_mve.h>
#else
#define TINYC_HELIUM_KERNELS 0
#endif

#if TINYC_FAST_KERNELS

#include <arm_acle.h>

#define TINYC_REQUANT_FAST 0
#define TINYC_REQUANT_FAST_CLAMP 1
#define TINYC_REQUANT_EXACT 2
#define TINYC_QUANT_WORDS 4 /* int32 per output channel: bias, multiplier, 2 mode constants */

static inline __attribute__((always_inline)) int32_t tinyc_fc_load(const void *p)
{
    int32_t v;
    memcpy(&v, p, sizeof(v)); /* LDR: ARMv7-M allows unaligned word loads */
    return v;
}

static inline __attribute__((always_inline)) int32_t tinyc_fc_sxtb16_ror8(int32_t v)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

static inline __attribute__((always_inline)) int32_t tinyc_fc_smmulr(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

static inline __attribute__((always_inline)) int32_t tinyc_fc_ssat8(int32_t a)
{
    int32_t r;
    __asm__("ssat %0, #8, %1" : "=r"(r) : "r"(a));
    return r;
}

/* The int8 output of one doubled accumulator; q: the channel's record. */
static inline __attribute__((always_inline)) int8_t tinyc_fc_requant(int32_t acc2, const int32_t *q, const int mode,
                                                                       int32_t out_offset, int32_t act_min,
                                                                       int32_t act_max)
{
    if (mode == TINYC_REQUANT_EXACT)
    {
        /* q[1] multiplier, q[2] shift in [-31, 31]: arm_nn_requantize, then the offset and the clamp */
        const int32_t shift = q[2];
        const int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
        const int32_t value = (int32_t)((uint32_t)(acc2 >> 1) << left);
        int32_t high = (int32_t)(((int64_t)value * q[1] + ((int64_t)1 << 30)) >> 31);
        if (right > 0)
        {
            const uint32_t mask = (1u << right) - 1u;
            const uint32_t remainder = (uint32_t)high & mask;
            const uint32_t threshold = (mask >> 1) + (high < 0 ? 1u : 0u);
            high = (high >> right) + (remainder > threshold ? 1 : 0);
        }
        int32_t out = high + out_offset;
        out = out < act_min ? act_min : out;
        return (int8_t)(out > act_max ? act_max : out);
    }
    /* q[2] = 2^(e-1) + (output offset << e), q[3] = e >= 1 */
    int32_t x = tinyc_fc_smmulr(acc2, q[1]);
    x = tinyc_fc_ssat8((x + q[2] + (x >> 31)) >> q[3]);
    if (mode == TINYC_REQUANT_FAST_CLAMP)
    {
        x = x < act_min ? act_min : x;
        x = x > act_max ? act_max : x;
    }
    return (int8_t)x;
}

static inline __attribute__((always_inline)) void tinyc_fc_copy(int8_t *dst, const int8_t *src, int32_t n)
{
    for (; n >= 4; n -= 4, dst += 4, src += 4)
    {
        memcpy(dst, src, 4);
    }
    for (; n > 0; n--)
    {
        *dst++ = *src++;
    }
}

/* n bytes, a word at a time (unaligned words: ARMv7-M allows them), then the last 0-3 bytes. */
static inline __attribute__((always_inline)) void tinyc_fc_copy_row(int8_t *dst, const int8_t *src, const int32_t n)
{
#pragma GCC unroll 4
    for (int32_t i = 0; i < (n & ~3); i += 4)
    {
        memcpy(dst + i, src + i, 4);
    }
    for (int32_t i = n & ~3; i < n; i++)
    {
        dst[i] = src[i];
    }
}

static inline __attribute__((always_inline)) void tinyc_fc_fill(int8_t *dst, int32_t value, int32_t n)
{
    for (; n > 0; n--)
    {
        *dst++ = (int8_t)value;
    }
}

/* One input pixel as an int16 column in SXTB16 lane order (in_c rounded up to 4 with zeros). */
static inline __attribute__((always_inline)) void tinyc_fc_pixel_col(const int8_t *x, int16_t *col, const int32_t in_c)
{
    int32_t *out = (int32_t *)(void *)col;
#pragma GCC unroll 4
    for (int32_t g = 0; g < (in_c >> 2); g++)
    {
        const int32_t v = tinyc_fc_load(x + 4 * g);
        out[2 * g] = __sxtb16(v);
        out[2 * g + 1] = tinyc_fc_sxtb16_ror8(v);
    }
    if (in_c & 3)
    {
        const int8_t *t = x + (in_c & ~3);
        uint32_t v = (uint8_t)t[0];
        if ((in_c & 3) > 1)
        {
            v |= (uint32_t)(uint8_t)t[1] << 8;
        }
        if ((in_c & 3) > 2)
        {
            v |= (uint32_t)(uint8_t)t[2] << 16;
        }
        out[2 * (in_c >> 2)] = __sxtb16((int32_t)v);
        out[2 * (in_c >> 2) + 1] = tinyc_fc_sxtb16_ror8((int32_t)v);
    }
}

/* n words of int8 (4 values each) as int16 in SXTB16 lane order: 2 words each. */
static inline __attribute__((always_inline)) void tinyc_fc_widen(const int8_t *x, int32_t *out, const int32_t n)
{
#pragma GCC unroll 4
    for (int32_t g = 0; g < n; g++)
    {
        const int32_t v = tinyc_fc_load(x + 4 * g);
        out[2 * g] = __sxtb16(v);
        out[2 * g + 1] = tinyc_fc_sxtb16_ror8(v);
    }
}

static inline __attribute__((always_inline)) void tinyc_fc_fill_words(int32_t *out, const int32_t value,
                                                                      const int32_t n)
{
#pragma GCC unroll 4
    for (int32_t i = 0; i < n; i++)
    {
        out[i] = value;
    }
}

#endif /* TINYC_FAST_KERNELS */

#endif /* TINYC_FAST_SUPPORT_H */
