/*
 * tinyc_dsp_convolve_s8's variant for any other convolution (kernel larger than 1x1, or padded): the windows of 2
 * output pixels as int16 im2col columns in the context buffer, then the 1x1 variant's 2x2 inner loop.
 */
#include "tinyc_dsp.h"

#if TINYC_DSP_KERNELS

#include "tinyc_dsp_support.h"

/* One im2col column: the window of output pixel (n, oy, ox) as int16 with the input offset added, zeros for
 * padding and for the rounding of k up to a multiple of 4, into slot `slot` of the interleaved columns
 * (pixel_to_cols). */
static void im2col_column(const cmsis_nn_conv_params *params, const cmsis_nn_dims *input_dims, const int8_t *input,
                          const cmsis_nn_dims *filter_dims, int32_t n, int32_t oy, int32_t ox, int32_t slot,
                          int16_t *col)
{
    static const int8_t order[4] = {0, 2, 1, 3};
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t k = k_h * k_w * in_c;
    const int32_t offset = params->input_offset;
    const int32_t offset2 = (int32_t)(((uint32_t)offset & 0xFFFFu) | ((uint32_t)offset << 16));
    const int32_t y0 = oy * params->stride.h - params->padding.h;
    const int32_t x0 = ox * params->stride.w - params->padding.w;
    col += 4 * slot;
    int32_t i = 0;
    for (int32_t ky = 0; ky < k_h; ky++)
    {
        const int32_t y = y0 + ky;
        for (int32_t kx = 0; kx < k_w; kx++)
        {
            const int32_t x = x0 + kx;
            const int inside = y >= 0 && y < in_h && x >= 0 && x < in_w;
            const int8_t *src = input + ((n * in_h + y) * in_w + x) * in_c;
            if (inside && (in_c & 3) == 0)
            {
                /* i is a multiple of 4 here: whole groups */
                for (int32_t c = 0; c < in_c; c += 4, i += 4)
                {
                    const int32_t v = read_s8x4(src + c);
                    const int32_t even = __sadd16(__sxtb16(v), offset2), odd = __sadd16(sxtb16_ror8(v), offset2);
                    memcpy(&col[2 * i], &even, sizeof(even));
                    memcpy(&col[2 * i + 2], &odd, sizeof(odd));
                }
            }
            else
            {
                for (int32_t c = 0; c < in_c; c++, i++)
                {
                    col[2 * (i & ~3) + order[i & 3]] = (int16_t)(inside ? src[c] + offset : 0);
                }
            }
        }
    }
    for (; i < ((k + 3) & ~3); i++)
    {
        col[2 * (i & ~3) + order[i & 3]] = 0;
    }
}


void tinyc_dsp_convolve_im2col_s8(const cmsis_nn_conv_params *params, const cmsis_nn_per_channel_quant_params *quant,
                            const cmsis_nn_dims *input_dims, const int8_t *input, const cmsis_nn_dims *filter_dims,
                            const int8_t *filter, const int32_t *bias, const cmsis_nn_dims *output_dims,
                            int8_t *output, int16_t *columns)
{
    const int32_t k = filter_dims->h * filter_dims->w * input_dims->c;
    const int32_t out_c = output_dims->c, out_h = output_dims->h, out_w = output_dims->w;
    const int32_t out_hw = out_h * out_w;
    const int32_t pixels = output_dims->n * out_hw;
    const int32_t act_min = params->activation.min, act_max = params->activation.max;
    int32_t all_fast = 1;
    for (int32_t oc = 0; oc < out_c; oc++)
    {
        all_fast &= fast_requant_ok(quant->shift[oc], bias ? bias[oc] : 0, k);
    }
    const int32_t mode = all_fast ? fast_mode(act_min, act_max) : REQUANT_EXACT;

    for (int32_t p = 0; p < pixels; p += 2)
    {
        const int32_t p1 = p + 1 < pixels ? p + 1 : p;
        const int32_t n0 = p / out_hw, r0 = p - n0 * out_hw;
        const int32_t n1 = p1 / out_hw, r1 = p1 - n1 * out_hw;
        im2col_column(params, input_dims, input, filter_dims, n0, r0 / out_w, r0 % out_w, 0, columns);
        im2col_column(params, input_dims, input, filter_dims, n1, r1 / out_w, r1 % out_w, 1, columns);
        int8_t *o0 = output + p * out_c, *o1 = output + p1 * out_c;
        if (mode == REQUANT_FAST)
        {
            cols_outputs(params, quant, columns, filter, bias, k, out_c, o0, o1, REQUANT_FAST);
        }
        else if (mode == REQUANT_FAST_CLAMP)
        {
            cols_outputs(params, quant, columns, filter, bias, k, out_c, o0, o1, REQUANT_FAST_CLAMP);
        }
        else
        {
            cols_outputs(params, quant, columns, filter, bias, k, out_c, o0, o1, REQUANT_EXACT);
        }
    }
}


#endif /* TINYC_DSP_KERNELS */
