/*
 * tinyc portable reference implementation of the CMSIS-NN v7.0.0 int8 API subset:
 * fully connected, per-tensor and per-channel requantization.
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"
#include "tinyc_dsp.h"

/* multiplier / shift advance by quant_stride per output channel: 0 per-tensor, 1 per-channel. */
static void fully_connected(const cmsis_nn_fc_params *fc_params,
                            const int32_t *multiplier,
                            const int32_t *shift,
                            const int32_t quant_stride,
                            const cmsis_nn_dims *input_dims,
                            const int8_t *input_data,
                            const cmsis_nn_dims *filter_dims,
                            const int8_t *filter_data,
                            const int32_t *bias_data,
                            const cmsis_nn_dims *output_dims,
                            int8_t *output_data)
{
#if TINYC_DSP_KERNELS
    if (tinyc_dsp_fully_connected_s8(fc_params, multiplier, shift, quant_stride, input_dims, input_data, filter_dims,
                                     filter_data, bias_data, output_dims, output_data))
    {
        return;
    }
#endif
    const int32_t accum_depth = filter_dims->n;
    const int32_t out_c = output_dims->c;

    for (int32_t b = 0; b < input_dims->n; b++)
    {
        const int8_t *in = input_data + b * accum_depth;
        for (int32_t oc = 0; oc < out_c; oc++)
        {
            const int8_t *w = filter_data + oc * accum_depth;
            int32_t acc = 0;
            for (int32_t d = 0; d < accum_depth; d++)
            {
                acc += ((int32_t)w[d] + fc_params->filter_offset) * ((int32_t)in[d] + fc_params->input_offset);
            }
            if (bias_data != NULL)
            {
                acc += bias_data[oc];
            }
            int32_t out = arm_nn_requantize(acc, multiplier[oc * quant_stride], shift[oc * quant_stride]);
            out += fc_params->output_offset;
            out = MAX(out, fc_params->activation.min);
            out = MIN(out, fc_params->activation.max);
            output_data[b * out_c + oc] = (int8_t)out;
        }
    }
}

arm_cmsis_nn_status arm_fully_connected_s8(const cmsis_nn_context *ctx,
                                           const cmsis_nn_fc_params *fc_params,
                                           const cmsis_nn_per_tensor_quant_params *quant_params,
                                           const cmsis_nn_dims *input_dims,
                                           const int8_t *input_data,
                                           const cmsis_nn_dims *filter_dims,
                                           const int8_t *kernel,
                                           const cmsis_nn_dims *bias_dims,
                                           const int32_t *bias_data,
                                           const cmsis_nn_dims *output_dims,
                                           int8_t *output_data)
{
    (void)ctx;
    (void)bias_dims;
    fully_connected(fc_params, &quant_params->multiplier, &quant_params->shift, 0, input_dims, input_data,
                    filter_dims, kernel, bias_data, output_dims, output_data);
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_fully_connected_per_channel_s8(const cmsis_nn_context *ctx,
                                                       const cmsis_nn_fc_params *fc_params,
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
    fully_connected(fc_params, quant_params->multiplier, quant_params->shift, 1, input_dims, input_data,
                    filter_dims, filter_data, bias_data, output_dims, output_data);
    return ARM_CMSIS_NN_SUCCESS;
}

arm_cmsis_nn_status arm_fully_connected_wrapper_s8(const cmsis_nn_context *ctx,
                                                   const cmsis_nn_fc_params *fc_params,
                                                   const cmsis_nn_quant_params *quant_params,
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
    fully_connected(fc_params, quant_params->multiplier, quant_params->shift, quant_params->is_per_channel ? 1 : 0,
                    input_dims, input_data, filter_dims, filter_data, bias_data, output_dims, output_data);
    return ARM_CMSIS_NN_SUCCESS;
}

int32_t arm_fully_connected_s8_get_buffer_size(const cmsis_nn_dims *filter_dims)
{
    (void)filter_dims;
    return 0;
}
