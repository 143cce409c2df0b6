/*
 * tinyc_dsp_fully_connected_s8: 1 row x 2 output channels per step on raw int8 operands (dot_s8_2x2 with the row
 * twice), the input offset folded into the bias.
 */
#include "tinyc_dsp.h"

#if TINYC_DSP_KERNELS

#include "tinyc_dsp_support.h"

int32_t tinyc_dsp_fully_connected_s8(const cmsis_nn_fc_params *fc_params,
                                     const int32_t *multiplier,
                                     const int32_t *shift,
                                     int32_t quant_stride,
                                     const cmsis_nn_dims *input_dims,
                                     const int8_t *input_data,
                                     const cmsis_nn_dims *filter_dims,
                                     const int8_t *filter_data,
                                     const int32_t *bias_data,
                                     const cmsis_nn_dims *output_dims,
                                     int8_t *output_data)
{
    const int32_t k = filter_dims->n, out_c = output_dims->c;
    const int32_t offset = fc_params->input_offset, out_offset = fc_params->output_offset;
    const int32_t act_min = fc_params->activation.min, act_max = fc_params->activation.max;
    if (fc_params->filter_offset != 0 || !quant_supported(multiplier, shift, quant_stride ? out_c : 1, 1))
    {
        return 0;
    }
    for (int32_t oc = 0; oc < out_c; oc += 2)
    {
        const int32_t oc1 = oc + 1 < out_c ? oc + 1 : oc;
        const int8_t *w0 = filter_data + oc * k, *w1 = filter_data + oc1 * k;
        const int32_t sum0 = offset * sum_s8(w0, k), sum1 = offset * sum_s8(w1, k);
        for (int32_t b = 0; b < input_dims->n; b++)
        {
            const int8_t *x = input_data + b * k;
            int32_t a00 = (bias_data ? bias_data[oc] : 0) + sum0, a01 = (bias_data ? bias_data[oc1] : 0) + sum1;
            int32_t a10 = a00, a11 = a01;
            dot_s8_2x2(x, x, w0, w1, k, &a00, &a01, &a10, &a11);
            output_data[b * out_c + oc] =
                requantize(a00, multiplier[oc * quant_stride], shift[oc * quant_stride], out_offset, act_min, act_max);
            if (oc1 != oc)
            {
                output_data[b * out_c + oc1] = requantize(a01, multiplier[oc1 * quant_stride],
                                                          shift[oc1 * quant_stride], out_offset, act_min, act_max);
            }
        }
    }
    return 1;
}


#endif /* TINYC_DSP_KERNELS */
