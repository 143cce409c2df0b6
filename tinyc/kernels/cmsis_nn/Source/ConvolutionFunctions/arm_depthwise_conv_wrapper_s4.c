/*
 * tinyc's implementation of CMSIS-NN v7.0.0's s4 depthwise convolution API: arm_depthwise_conv_wrapper_s8's loop
 * nest with int4 weights unpacked from their nibbles as they are read (TFLite's INT4 packing over the flattened
 * [1, HK, WK, C_OUT] filter, the even element in the low nibble), bit-exact with TFLite Micro's reference
 * DEPTHWISE_CONV_2D. With the DSP extension the wrapper first offers the layer to tinyc_dsp_depthwise_conv_s4.
 * Any kernel size, stride, padding, dilation and channel multiplier.
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"
#include "tinyc_dsp.h"

arm_cmsis_nn_status arm_depthwise_conv_wrapper_s4(const cmsis_nn_context *ctx,
                                                  const cmsis_nn_dw_conv_params *dw_conv_params,
                                                  const cmsis_nn_per_channel_quant_params *quant_params,
                                                  const cmsis_nn_dims *input_dims,
                                                  const int8_t *input_data,
                                                  const cmsis_nn_dims *filter_dims,
                                                  const int8_t *filter_data,
                                                  const cmsis_nn_dims *bias_dims,
                                                  const int32_t *bias_data,
                                                  const cmsis_nn_dims *output_dims,
                                                  int8_t *output_data)
{
    (void)ctx;
    (void)bias_dims;
#if TINYC_DSP_KERNELS
    if (tinyc_dsp_depthwise_conv_s4(dw_conv_params, quant_params, input_dims, input_data, filter_dims, filter_data,
                                    bias_data, output_dims, output_data))
    {
        return ARM_CMSIS_NN_SUCCESS;
    }
#endif
    const int32_t in_h = input_dims->h;
    const int32_t in_w = input_dims->w;
    const int32_t in_c = input_dims->c;
    const int32_t k_h = filter_dims->h;
    const int32_t k_w = filter_dims->w;
    const int32_t out_h = output_dims->h;
    const int32_t out_w = output_dims->w;
    const int32_t out_c = output_dims->c;
    const int32_t ch_mult = dw_conv_params->ch_mult;
    const int32_t input_offset = dw_conv_params->input_offset;

    if (ch_mult <= 0 || out_c != in_c * ch_mult || filter_dims->c != out_c)
    {
        return ARM_CMSIS_NN_ARG_ERROR;
    }

    for (int32_t n = 0; n < input_dims->n; n++)
    {
        const int8_t *input_batch = input_data + n * in_h * in_w * in_c;
        for (int32_t out_y = 0; out_y < out_h; out_y++)
        {
            const int32_t in_y0 = out_y * dw_conv_params->stride.h - dw_conv_params->padding.h;
            for (int32_t out_x = 0; out_x < out_w; out_x++)
            {
                const int32_t in_x0 = out_x * dw_conv_params->stride.w - dw_conv_params->padding.w;
                int8_t *out = output_data + ((n * out_h + out_y) * out_w + out_x) * out_c;
                for (int32_t oc = 0; oc < out_c; oc++)
                {
                    const int32_t ic = oc / ch_mult;
                    int32_t acc = 0;
                    for (int32_t ky = 0; ky < k_h; ky++)
                    {
                        const int32_t in_y = in_y0 + ky * dw_conv_params->dilation.h;
                        if (in_y < 0 || in_y >= in_h)
                        {
                            continue;
                        }
                        for (int32_t kx = 0; kx < k_w; kx++)
                        {
                            const int32_t in_x = in_x0 + kx * dw_conv_params->dilation.w;
                            if (in_x < 0 || in_x >= in_w)
                            {
                                continue;
                            }
                            const int32_t in = input_batch[(in_y * in_w + in_x) * in_c + ic];
                            acc += tinyc_nn_s4_at(filter_data, (ky * k_w + kx) * out_c + oc) * (in + input_offset);
                        }
                    }
                    if (bias_data != NULL)
                    {
                        acc += bias_data[oc];
                    }
                    out[oc] = arm_nn_requantize_clamp(acc,
                                                      quant_params->multiplier[oc],
                                                      quant_params->shift[oc],
                                                      dw_conv_params->output_offset,
                                                      &dw_conv_params->activation);
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

int32_t arm_depthwise_conv_wrapper_s4_get_buffer_size(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                      const cmsis_nn_dims *input_dims,
                                                      const cmsis_nn_dims *filter_dims,
                                                      const cmsis_nn_dims *output_dims)
{
    (void)dw_conv_params;
    (void)input_dims;
    (void)filter_dims;
    (void)output_dims;
    return 0;
}
