/*
 * tinyc_depthwise_conv_inplace_s8 (tinyc_memory.h): the output written over the input, channel by channel through
 * one channel plane of arena scratch; the DSP variants first (tinyc_dsp_depthwise_conv_inplace_s8), this portable
 * loop nest otherwise.
 */
#include "tinyc_memory.h"

#include <string.h>

#include "arm_nnsupportfunctions.h"
#include "tinyc_dsp.h"

arm_cmsis_nn_status tinyc_depthwise_conv_inplace_s8(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                    const cmsis_nn_per_channel_quant_params *quant_params,
                                                    const cmsis_nn_dims *input_dims,
                                                    int8_t *buffer,
                                                    const cmsis_nn_dims *filter_dims,
                                                    const int8_t *filter_data,
                                                    const int32_t *bias_data,
                                                    const cmsis_nn_dims *output_dims,
                                                    int8_t *plane_scratch)
{
    const int32_t in_h = input_dims->h;
    const int32_t in_w = input_dims->w;
    const int32_t channels = input_dims->c;
    const int32_t out_h = output_dims->h;
    const int32_t out_w = output_dims->w;
    const int32_t k_h = filter_dims->h;
    const int32_t k_w = filter_dims->w;
    const int32_t stride_h = dw_conv_params->stride.h;
    const int32_t stride_w = dw_conv_params->stride.w;
    const int32_t pad_h = dw_conv_params->padding.h;
    const int32_t pad_w = dw_conv_params->padding.w;
    const int32_t input_offset = dw_conv_params->input_offset;
    const int32_t output_offset = dw_conv_params->output_offset;
    const int32_t act_min = dw_conv_params->activation.min;
    const int32_t act_max = dw_conv_params->activation.max;

    if (dw_conv_params->ch_mult != 1 || output_dims->c != channels || input_dims->n != 1)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
#if TINYC_DSP_KERNELS
    if (tinyc_dsp_depthwise_conv_inplace_s8(dw_conv_params, quant_params, input_dims, buffer, filter_dims, filter_data,
                                            bias_data, output_dims, plane_scratch))
    {
        return ARM_CMSIS_NN_SUCCESS;
    }
#endif
    for (int32_t c = 0; c < channels; c++)
    {
        for (int32_t i = 0; i < in_h * in_w; i++)
        {
            plane_scratch[i] = buffer[i * channels + c];
        }
        const int32_t multiplier = quant_params->multiplier[c];
        const int32_t shift = quant_params->shift[c];
        const int32_t bias = bias_data != NULL ? bias_data[c] : 0;
        for (int32_t oy = 0; oy < out_h; oy++)
        {
            for (int32_t ox = 0; ox < out_w; ox++)
            {
                int32_t acc = 0;
                for (int32_t ky = 0; ky < k_h; ky++)
                {
                    const int32_t iy = oy * stride_h - pad_h + ky;
                    if (iy < 0 || iy >= in_h)
                    {
                        continue;
                    }
                    for (int32_t kx = 0; kx < k_w; kx++)
                    {
                        const int32_t ix = ox * stride_w - pad_w + kx;
                        if (ix < 0 || ix >= in_w)
                        {
                            continue;
                        }
                        acc += ((int32_t)plane_scratch[iy * in_w + ix] + input_offset) *
                            (int32_t)filter_data[(ky * k_w + kx) * channels + c];
                    }
                }
                acc = arm_nn_requantize(acc + bias, multiplier, shift) + output_offset;
                acc = acc < act_min ? act_min : (acc > act_max ? act_max : acc);
                buffer[(oy * out_w + ox) * channels + c] = (int8_t)acc;
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}
