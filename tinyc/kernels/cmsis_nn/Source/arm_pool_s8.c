/*
 * tinyc portable reference implementation of the CMSIS-NN v7.0.0 int8 API subset:
 * average and max pooling, NHWC, any window, stride and padding.
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"

/* The window of output (out_y, out_x) clipped to the input: [y_start, y_end) x [x_start, x_end). */
typedef struct
{
    int32_t y_start;
    int32_t y_end;
    int32_t x_start;
    int32_t x_end;
} pool_window;

static pool_window clipped_window(const cmsis_nn_pool_params *pool_params,
                                  const cmsis_nn_dims *input_dims,
                                  const cmsis_nn_dims *filter_dims,
                                  const int32_t out_y,
                                  const int32_t out_x)
{
    const int32_t y0 = out_y * pool_params->stride.h - pool_params->padding.h;
    const int32_t x0 = out_x * pool_params->stride.w - pool_params->padding.w;
    pool_window window;
    window.y_start = MAX(y0, 0);
    window.y_end = MIN(y0 + filter_dims->h, input_dims->h);
    window.x_start = MAX(x0, 0);
    window.x_end = MIN(x0 + filter_dims->w, input_dims->w);
    return window;
}

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
                const pool_window win = clipped_window(pool_params, input_dims, filter_dims, out_y, out_x);
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

arm_cmsis_nn_status arm_max_pool_s8(const cmsis_nn_context *ctx,
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
                const pool_window win = clipped_window(pool_params, input_dims, filter_dims, out_y, out_x);
                for (int32_t c = 0; c < channels; c++)
                {
                    int32_t max = INT8_MIN;
                    for (int32_t y = win.y_start; y < win.y_end; y++)
                    {
                        for (int32_t x = win.x_start; x < win.x_end; x++)
                        {
                            max = MAX(max, (int32_t)in[(y * input_dims->w + x) * channels + c]);
                        }
                    }
                    max = MAX(max, pool_params->activation.min);
                    max = MIN(max, pool_params->activation.max);
                    output_data[((n * output_dims->h + out_y) * output_dims->w + out_x) * channels + c] =
                        (int8_t)max;
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}
