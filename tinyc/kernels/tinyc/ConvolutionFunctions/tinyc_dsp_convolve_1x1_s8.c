/*
 * tinyc_dsp_convolve_s8's variant for a 1x1 convolution over inputs wider than TINYC_COLS_MAX_K channels: 2 pixels x
 * 2 output channels per step on raw int8 operands (dot_s8_2x2), the input offset folded into the bias
 * (offset * sum of the weights); any stride, no padding.
 */
#include "tinyc_dsp.h"

#if TINYC_DSP_KERNELS

#include "tinyc_dsp_support.h"

/* One output channel pair of a 1x1 convolution over all pixels; MODE: how both channels are requantized. */
static inline __attribute__((always_inline)) void convolve_1x1_pair(
    const cmsis_nn_conv_params *params, const cmsis_nn_dims *input_dims, const int8_t *input,
    const cmsis_nn_dims *output_dims, int8_t *output, const int8_t *w0, const int8_t *w1, int32_t base0,
    int32_t base1, int32_t m0, int32_t s0, int32_t m1, int32_t s1, int32_t oc, int32_t oc1, const int MODE)
{
    const int32_t in_c = input_dims->c, out_c = output_dims->c;
    const int32_t out_hw = output_dims->h * output_dims->w;
    const int32_t pixels = input_dims->n * out_hw;
    const int32_t out_offset = params->output_offset;
    const int32_t act_min = params->activation.min, act_max = params->activation.max;
    const int32_t h0 = half_of(s0), h1 = half_of(s1), e0 = -s0, e1 = -s1;
    const int contiguous = params->stride.h == 1 && params->stride.w == 1 && output_dims->w == input_dims->w;
    for (int32_t p = 0; p < pixels; p += 2)
    {
        const int32_t p1 = p + 1 < pixels ? p + 1 : p;
        const int8_t *x0, *x1;
        if (contiguous)
        {
            x0 = input + p * in_c;
            x1 = input + p1 * in_c;
        }
        else
        {
            x0 = pixel_1x1(input, p, out_hw, output_dims->w, input_dims->h, input_dims->w, in_c, params->stride.h,
                           params->stride.w);
            x1 = pixel_1x1(input, p1, out_hw, output_dims->w, input_dims->h, input_dims->w, in_c, params->stride.h,
                           params->stride.w);
        }
        int32_t a00 = base0, a01 = base1, a10 = base0, a11 = base1;
        dot_s8_2x2(x0, x1, w0, w1, in_c, &a00, &a01, &a10, &a11);
        int8_t *o0 = output + p * out_c + oc, *o1 = output + p1 * out_c + oc;
        o0[0] = requantize_mode(a00, m0, s0, e0, h0, out_offset, act_min, act_max, MODE);
        o1[0] = requantize_mode(a10, m0, s0, e0, h0, out_offset, act_min, act_max, MODE);
        o0[oc1 - oc] = requantize_mode(a01, m1, s1, e1, h1, out_offset, act_min, act_max, MODE);
        o1[oc1 - oc] = requantize_mode(a11, m1, s1, e1, h1, out_offset, act_min, act_max, MODE);
    }
}

void tinyc_dsp_convolve_1x1_s8(const cmsis_nn_conv_params *params, const cmsis_nn_per_channel_quant_params *quant,
                         const cmsis_nn_dims *input_dims, const int8_t *input, const int8_t *filter,
                         const int32_t *bias, const cmsis_nn_dims *output_dims, int8_t *output)
{
    const int32_t in_c = input_dims->c, out_c = output_dims->c;
    const int32_t offset = params->input_offset;
    const int32_t act_min = params->activation.min, act_max = params->activation.max;

    for (int32_t oc = 0; oc < out_c; oc += 2)
    {
        /* an odd last channel is computed twice and written twice, the same value */
        const int32_t oc1 = oc + 1 < out_c ? oc + 1 : oc;
        const int8_t *w0 = filter + oc * in_c, *w1 = filter + oc1 * in_c;
        const int32_t b0 = bias ? bias[oc] : 0, b1 = bias ? bias[oc1] : 0;
        const int32_t base0 = b0 + offset * sum_s8(w0, in_c);
        const int32_t base1 = b1 + offset * sum_s8(w1, in_c);
        const int32_t m0 = quant->multiplier[oc], s0 = quant->shift[oc];
        const int32_t m1 = quant->multiplier[oc1], s1 = quant->shift[oc1];
        const int32_t mode = fast_requant_ok(s0, b0, in_c) && fast_requant_ok(s1, b1, in_c)
                                 ? fast_mode(act_min, act_max) : REQUANT_EXACT;
        if (mode == REQUANT_FAST)
        {
            convolve_1x1_pair(params, input_dims, input, output_dims, output, w0, w1, base0, base1, m0, s0, m1, s1,
                              oc, oc1, REQUANT_FAST);
        }
        else if (mode == REQUANT_FAST_CLAMP)
        {
            convolve_1x1_pair(params, input_dims, input, output_dims, output, w0, w1, base0, base1, m0, s0, m1, s1,
                              oc, oc1, REQUANT_FAST_CLAMP);
        }
        else
        {
            convolve_1x1_pair(params, input_dims, input, output_dims, output, w0, w1, base0, base1, m0, s0, m1, s1,
                              oc, oc1, REQUANT_EXACT);
        }
    }
}


#endif /* TINYC_DSP_KERNELS */
