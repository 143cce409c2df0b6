/*
 * tinyc's compile-time specialized elementwise ADD (ARMv7E-M DSP). TFLite Micro's int8 ADD rescales each input
 * on its own ((x + offset) << left_shift, then a requantization) before the sum is requantized: each rescaled
 * input is a function of one int8 value, so Python tabulates both at compile time (2 x 256 int32, doubled),
 * and the kernel does one table lookup per input and one requantization per element (SMMULR, the rounding
 * divide with the output zero point folded in, SSAT, the activation clamp when narrower than int8). Python
 * checks the kernel's arithmetic against TFLite Micro's on all 65,536 input pairs before choosing it
 * (tinyc/plan/specialize.py).
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
}

#endif /* TINYC_FAST_KERNELS */

#endif /* TINYC_FAST_ADD_H */
