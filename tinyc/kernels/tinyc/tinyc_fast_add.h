/*
 * tinyc's compile-time specialized elementwise ADD (ARMv7E-M DSP). TFLite Micro's int8 ADD rescales each input
 * on its own ((x + offset) << left_shift, then a requantization) before the sum is requantized: each rescaled
 * input is a function of one int8 value, so Python tabulates both at compile time (2 x 256 int32, doubled),
 * and the kernel does one table lookup per input and one requantization per element (SMMULR, the rounding
 * divide with the output zero point folded in, SSAT, the activation clamp when narrower than int8). Python
 * checks the kernel's arithmetic against TFLite Micro's on all 65,536 input pairs before choosing it
 * (tinyc/plan/specialize.py). On Helium (the Cortex-M55) the same arithmetic 4 elements a vector, the lookups by
 * gathers.
 */
#ifndef TINYC_FAST_ADD_H
#define TINYC_FAST_ADD_H

#include <stdint.h>

#include "tinyc_fast_support.h"

#if TINYC_FAST_KERNELS

/* out[i] = requantized(table[128 + a[i]] + table[384 + b[i]]); out may be a or b (each element is read first). */
static inline __attribute__((always_inline)) void tinyc_fast_add_s8(const int8_t *a, const int8_t *b, int8_t *out,
                                                                    const int32_t size, const int32_t *table,
                                                                    const int32_t multiplier, const int32_t folded,
                                                                    const int32_t exponent, const int32_t act_min,
                                                                    const int32_t act_max, const int clamp)
{
#if TINYC_HELIUM_KERNELS
    /* 4 elements a vector: each input's bytes as table indices (x + 128: the sign bit flipped), gathered from its
     * table; VRMULH is SMMULR lane by lane; the last vector predicated */
    const uint32x4_t flip = vdupq_n_u32(0x80u);
    const int32x4_t m = vdupq_n_s32(multiplier), shift = vdupq_n_s32(-exponent);
    const int32x4_t lo = vdupq_n_s32(clamp ? act_min : -128), hi = vdupq_n_s32(clamp ? act_max : 127);
    for (int32_t i = 0; i < size; i += 4)
    {
        const mve_pred16_t p = vctp32q((uint32_t)(size - i));
        const uint32x4_t ia = veorq_u32(vldrbq_z_u32((const uint8_t *)(a + i), p), flip);
        const uint32x4_t ib = veorq_u32(vldrbq_z_u32((const uint8_t *)(b + i), p), flip);
        const int32x4_t sum = vaddq_s32(vldrwq_gather_shifted_offset_z_s32(table, ia, p),
                                        vldrwq_gather_shifted_offset_z_s32(table + 256, ib, p));
        int32x4_t x = vrmulhq_s32(sum, m);
        x = vshlq_s32(vaddq_n_s32(vaddq_s32(x, vshrq_n_s32(x, 31)), folded), shift);
        vstrbq_p_s32(out + i, vminq_s32(vmaxq_s32(x, lo), hi), p);
    }
#else
    const int32_t *t1 = table + 128, *t2 = table + 384;
    for (int32_t i = 0; i < size; i++)
    {
        int32_t x = tinyc_fc_smmulr(t1[a[i]] + t2[b[i]], multiplier);
        x = tinyc_fc_ssat8((x + folded + (x >> 31)) >> exponent);
        if (clamp)
        {
            x = x < act_min ? act_min : x;
            x = x > act_max ? act_max : x;
        }
        out[i] = (int8_t)x;
    }
#endif
}

#endif /* TINYC_FAST_KERNELS */

#endif /* TINYC_FAST_ADD_H */
