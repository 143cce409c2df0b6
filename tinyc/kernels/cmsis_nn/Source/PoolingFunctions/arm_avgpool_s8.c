/*
 * tinyc portable reference implementation of the CMSIS-NN v7.0.0 int8 API subset: average pooling, NHWC, any
 * window, stride and padding (the average over the window clipped to the input, as TFLite's).
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"

arm_cmsis_nn_status arm_avgpool_s8(const cmsis_nn_context *ctx,
                                   const cmsis_nn_pool_params *pool_params,
                                   const cmsis_nn_dims *input_dims,
                                   const int8_t *input_data,
                                   const cmsis_nn_dims *filter_dims,
                                   const cmsis_nn_dims *output_dims,
                                   int8_t *output_data)
{
    (void)ctx;
    const int32_t channels = input_dims->c;
    for (int32_t n = 0; n < input_dims->n; n++)
    {
        const int8_t *in = input_data + n * input_dims->h * input_dims->w * channels;
        for (int32_t out_y = 0; out_y < output_dims->h; out_y++)
        {
            for (int32_t out_x = 0; out_x < output_dims->w; out_x++)
            {
                const arm_nn_pool_window_t win = arm_nn_pool_window(pool_params, input_dims, filter_dims, out_y, out_x);
                const int32_t count = (win.y_end - win.y_start) * (win.x_end - win.x_start);
                if (count <= 0)
                {
                    return ARM_CMSIS_NN_ARG_ERROR;
                }
                for (int32_t c = 0; c < channels; c++)
                {
                    int32_t sum = 0;
                    for (int32_t y = win.y_start; y < win.y_end; y++)
                    {
                        for (int32_t x = win.x_start; x < win.x_end; x++)
                        {
                            sum += in[(y * input_dims->w + x) * channels + c];
                        }
                    }
                    /* Divide rounding half away from zero (C division truncates). */
                    int32_t avg = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                    avg = MAX(avg, pool_params->activation.min);
                    avg = MIN(avg, pool_params->activation.max);
                    output_data[((n * output_dims->h + out_y) * output_dims->w + out_x) * channels + c] =
                        (int8_t)avg;
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}

int32_t arm_avgpool_s8_get_buffer_size(const int dim_dst_width, const int ch_src)
{
    (void)dim_dst_width;
    (void)ch_src;
    return 0;
}
