/*
 * tinyc_dsp_convolve_s8's variant for a 1x1 convolution of up to TINYC_COLS_MAX_K input channels: the 2 pixels of a
 * step as interleaved int16 columns on the stack (1 KiB) with the input offset added (pixel_to_cols), 2 pixels x 2
 * output channels per inner loop in assembly (dot_cols_2x2: LDRD, SXTB16, SMLAD, 18 instructions per 16 MACs).
 */
#include "tinyc_dsp.h"

#if TINYC_DSP_KERNELS

#include "tinyc_dsp_support.h"

/* 1x1 convolution (in_c <= TINYC_COLS_MAX_K) through the interleaved int16 columns of 2 pixels on the stack. */
void tinyc_dsp_convolve_1x1_cols_s8(const cmsis_nn_conv_params *params, const cmsis_nn_per_channel_quant_params *quant,
                              const cmsis_nn_dims *input_dims, const int8_t *input, const int8_t *filter,
                              const int32_t *bias, const cmsis_nn_dims *output_dims, int8_t *output)
{
    const int32_t in_c = input_dims->c, out_c = output_dims->c;
    const int32_t out_hw = output_dims->h * output_dims->w;
    const int32_t pixels = input_dims->n * out_hw;
    const int32_t act_min = params->activation.min, act_max = params->activation.max;
    int16_t cols[2 * TINYC_COLS_MAX_K] __attribute__((aligned(4)));
    int32_t all_fast = 1;
    for (int32_t oc = 0; oc < out_c; oc++)
    {
        all_fast &= fast_requant_ok(quant->shift[oc], bias ? bias[oc] : 0, in_c);
    }
    const int32_t mode = all_fast ? fast_mode(act_min, act_max) : REQUANT_EXACT;
    for (int32_t p = 0; p < pixels; p += 2)
    {
        const int32_t p1 = p + 1 < pixels ? p + 1 : p;
        pixel_to_cols(pixel_1x1(input, p, out_hw, output_dims->w, input_dims->h, input_dims->w, in_c,
                                params->stride.h, params->stride.w),
                      in_c, params->input_offset, 0, cols);
        pixel_to_cols(pixel_1x1(input, p1, out_hw, output_dims->w, input_dims->h, input_dims->w, in_c,
                                params->stride.h, params->stride.w),
                      in_c, params->input_offset, 1, cols);
        int8_t *o0 = output + p * out_c, *o1 = output + p1 * out_c;
        if (mode == REQUANT_FAST)
        {
            cols_outputs(params, quant, cols, filter, bias, in_c, out_c, o0, o1, REQUANT_FAST);
        }
        else if (mode == REQUANT_FAST_CLAMP)
        {
            cols_outputs(params, quant, cols, filter, bias, in_c, out_c, o0, o1, REQUANT_FAST_CLAMP);
        }
        else
        {
            cols_outputs(params, quant, cols, filter, bias, in_c, out_c, o0, o1, REQUANT_EXACT);
        }
    }
}


#endif /* TINYC_DSP_KERNELS */
