/*
 * tinyc_dsp_convolve_s8: which DSP variant runs a convolution, or none (0: the portable kernel runs it).
 * - 1x1, no padding, up to TINYC_COLS_MAX_K input channels: tinyc_dsp_convolve_1x1_cols_s8 (int16 columns);
 * - 1x1, no padding, wider: tinyc_dsp_convolve_1x1_s8 (raw int8, offset in the bias);
 * - any other kernel or padding, with a context buffer of 2 columns: tinyc_dsp_convolve_im2col_s8;
 * - grouped or dilated convolutions, unusual multipliers, no buffer: none.
 */
#include "tinyc_dsp.h"

#if TINYC_DSP_KERNELS

#include "tinyc_dsp_support.h"

int32_t tinyc_dsp_convolve_s8(const cmsis_nn_context *ctx,
                              const cmsis_nn_conv_params *conv_params,
                              const cmsis_nn_per_channel_quant_params *quant_params,
                              const cmsis_nn_dims *input_dims,
                              const int8_t *input_data,
                              const cmsis_nn_dims *filter_dims,
                              const int8_t *filter_data,
                              const int32_t *bias_data,
                              const cmsis_nn_dims *output_dims,
                              int8_t *output_data)
{
    const int32_t out_c = output_dims->c;
    if (filter_dims->c != input_dims->c || filter_dims->n != out_c || conv_params->dilation.h != 1 ||
        conv_params->dilation.w != 1 || !quant_supported(quant_params->multiplier, quant_params->shift, out_c, 1))
    {
        return 0; /* grouped or dilated convolution, or an unusual multiplier: portable kernel */
    }
    if (filter_dims->h == 1 && filter_dims->w == 1 && conv_params->padding.h == 0 && conv_params->padding.w == 0)
    {
        if (input_dims->c <= TINYC_COLS_MAX_K)
        {
            tinyc_dsp_convolve_1x1_cols_s8(conv_params, quant_params, input_dims, input_data, filter_data, bias_data,
                                           output_dims, output_data);
        }
        else
        {
            tinyc_dsp_convolve_1x1_s8(conv_params, quant_params, input_dims, input_data, filter_data, bias_data,
                                      output_dims, output_data);
        }
        return 1;
    }
    const int32_t k4 = (filter_dims->h * filter_dims->w * input_dims->c + 3) & ~3;
    const int32_t needed_bytes = 2 * k4 * (int32_t)sizeof(int16_t);
    if (ctx == NULL || ctx->buf == NULL || ctx->size < needed_bytes || ((uintptr_t)ctx->buf & 3u) != 0u)
    {
        return 0;
    }
    tinyc_dsp_convolve_im2col_s8(conv_params, quant_params, input_dims, input_data, filter_dims, filter_data, bias_data,
                    output_dims, output_data, (int16_t *)ctx->buf);
    return 1;
}

#endif /* TINYC_DSP_KERNELS */
