/*
 * tinyc_conv1x1_inplace_s8 (tinyc_memory.h): a 1x1 convolution whose output overwrites its input pixel by pixel
 * (out_c <= in_c), through one output pixel of arena scratch; the DSP variant first (tinyc_dsp_conv1x1_inplace_s8),
 * this portable loop otherwise.
 */
#include "tinyc_memory.h"

#include <string.h>

#include "arm_nnsupportfunctions.h"
#include "tinyc_dsp.h"

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
#if TINYC_DSP_KERNELS
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
