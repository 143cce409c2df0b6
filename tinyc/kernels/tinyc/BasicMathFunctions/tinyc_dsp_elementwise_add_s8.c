/*
 * tinyc_dsp_elementwise_add_s8: three SMMULR requantizations per element (see the proof below).
 */
#include "tinyc_dsp.h"

#if TINYC_DSP_KERNELS

#include "tinyc_dsp_support.h"

/*
 * Elementwise add (arm_elementwise_add_s8): ((x + offset) << left_shift) requantized per input, summed,
 * requantized to the output; each requantization as requantize_fast, which is exact here: input and output
 * shifts in [-31, 0], left_shift <= 21 (|(x + offset) << left_shift| <= 256 * 2^21 = 2^29, so its double fits;
 * each requantized input is at most that, the sum below 2^30), no multiplier INT32_MIN. A shift of 0 divides
 * by 1: the rounding term is masked off (neg = 0). Element by element: output may alias an input (in-place
 * residual add).
 */
static inline __attribute__((always_inline)) int32_t divide_pot(int32_t x, int32_t exponent, int32_t half,
                                                                 int32_t neg)
{
    return (x + half + ((x >> 31) & neg)) >> exponent;
}

static inline __attribute__((always_inline)) void add_s8(const int8_t *in1, const int8_t *in2, int32_t off1,
                                                          int32_t m1, int32_t s1, int32_t off2, int32_t m2,
                                                          int32_t s2, int32_t left_shift, int8_t *out,
                                                          int32_t out_offset, int32_t out_m, int32_t out_s,
                                                          int32_t act_min, int32_t act_max, int32_t count,
                                                          const int NARROW)
{
    const int32_t e1 = -s1, e2 = -s2, eo = -out_s;
    const int32_t h1 = half_of(s1), h2 = half_of(s2), ho = half_of(out_s);
    const int32_t n1 = e1 > 0 ? -1 : 0, n2 = e2 > 0 ? -1 : 0, no = eo > 0 ? -1 : 0;
    const int32_t shift = left_shift + 1; /* requantize_fast's doubling folded into the left shift */
    for (int32_t i = 0; i < count; i++)
    {
        const int32_t a = divide_pot(smmulr(((int32_t)in1[i] + off1) << shift, m1), e1, h1, n1);
        const int32_t b = divide_pot(smmulr(((int32_t)in2[i] + off2) << shift, m2), e2, h2, n2);
        int32_t v = divide_pot(smmulr((a + b) << 1, out_m), eo, ho, no) + out_offset;
        v = ssat8(v);
        if (NARROW)
        {
            v = v < act_min ? act_min : (v > act_max ? act_max : v);
        }
        out[i] = (int8_t)v;
    }
}

int32_t tinyc_dsp_elementwise_add_s8(const int8_t *input_1_vect, const int8_t *input_2_vect, int32_t input_1_offset,
                                     int32_t input_1_mult, int32_t input_1_shift, int32_t input_2_offset,
                                     int32_t input_2_mult, int32_t input_2_shift, int32_t left_shift, int8_t *output,
                                     int32_t out_offset, int32_t out_mult, int32_t out_shift,
                                     int32_t out_activation_min, int32_t out_activation_max, int32_t block_size)
{
    if (input_1_shift > 0 || input_2_shift > 0 || out_shift > 0 || input_1_shift < -31 || input_2_shift < -31 ||
        out_shift < -31 || left_shift < 0 || left_shift > 21 || input_1_mult == INT32_MIN ||
        input_2_mult == INT32_MIN || out_mult == INT32_MIN || input_1_offset < -128 || input_1_offset > 128 ||
        input_2_offset < -128 || input_2_offset > 128)
    {
        return 0;
    }
    if (out_activation_min <= -128 && out_activation_max >= 127)
    {
        add_s8(input_1_vect, input_2_vect, input_1_offset, input_1_mult, input_1_shift, input_2_offset, input_2_mult,
               input_2_shift, left_shift, output, out_offset, out_mult, out_shift, out_activation_min,
               out_activation_max, block_size, 0);
    }
    else
    {
        add_s8(input_1_vect, input_2_vect, input_1_offset, input_1_mult, input_1_shift, input_2_offset, input_2_mult,
               input_2_shift, left_shift, output, out_offset, out_mult, out_shift, out_activation_min,
               out_activation_max, block_size, 1);
    }
    return 1;
}


#endif /* TINYC_DSP_KERNELS */
