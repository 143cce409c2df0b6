#include "tinyc_memory.h"

#include <string.h>

#include "arm_nnsupportfunctions.h"
#include "tinyc_memory_dsp.h"

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
#if TINYC_MEMORY_DSP
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

void tinyc_copy_block_s8(const int8_t *src, int32_t src_w, int32_t src_y, int32_t src_x,
                         int8_t *dst, int32_t dst_w, int32_t dst_y, int32_t dst_x,
                         int32_t rows, int32_t cols, int32_t channels)
{
    const size_t row_bytes = (size_t)(cols * channels);
    for (int32_t r = 0; r < rows; r++)
    {
        memcpy(&dst[((dst_y + r) * dst_w + dst_x) * channels], &src[((src_y + r) * src_w + src_x) * channels],
               row_bytes);
    }
}

arm_cmsis_nn_status tinyc_conv1x1_inplace_s8(const cmsis_nn_conv_params *conv_params,
                                             const cmsis_nn_per_channel_quant_params *quant_params,
                                             const cmsis_nn_dims *input_dims,
                                             int8_t *buffer,
                                             const cmsis_nn_dims *filter_dims,
                                             const int8_t *filter_data,
                                             const int32_t *bias_data,
                                             const cmsis_nn_dims *output_dims,
                                             int8_t *pixel_scratch)
{
    const int32_t in_c = input_dims->c;
    const int32_t out_c = output_dims->c;
    const int32_t pixels = input_dims->h * input_dims->w;
    if (filter_dims->h != 1 || filter_dims->w != 1 || filter_dims->c != in_c || out_c > in_c ||
        output_dims->h != input_dims->h || output_dims->w != input_dims->w || input_dims->n != 1 ||
        conv_params->stride.h != 1 || conv_params->stride.w != 1 || conv_params->padding.h != 0 ||
        conv_params->padding.w != 0)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }
#if TINYC_MEMORY_DSP
    if (tinyc_dsp_conv1x1_inplace_s8(conv_params, quant_params, input_dims, buffer, filter_dims, filter_data, bias_data,
                                     output_dims, pixel_scratch))
    {
        return ARM_CMSIS_NN_SUCCESS;
    }
#endif
    for (int32_t p = 0; p < pixels; p++)
    {
        const int8_t *in = &buffer[p * in_c];
        for (int32_t oc = 0; oc < out_c; oc++)
        {
            const int8_t *w = &filter_data[oc * in_c];
            int32_t acc = 0;
            for (int32_t ic = 0; ic < in_c; ic++)
            {
                acc += ((int32_t)in[ic] + conv_params->input_offset) * (int32_t)w[ic];
            }
            if (bias_data != NULL)
            {
                acc += bias_data[oc];
            }
            acc = arm_nn_requantize(acc, quant_params->multiplier[oc], quant_params->shift[oc]) + conv_params->output_offset;
            acc = acc < conv_params->activation.min ? conv_params->activation.min
                                                    : (acc > conv_params->activation.max ? conv_params->activation.max : acc);
            pixel_scratch[oc] = (int8_t)acc;
        }
        memcpy(&buffer[p * out_c], pixel_scratch, (size_t)out_c);
    }
    return ARM_CMSIS_NN_SUCCESS;
}
