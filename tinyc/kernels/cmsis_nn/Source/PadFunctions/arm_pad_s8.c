/*
 * tinyc portable reference implementation of the CMSIS-NN v7.0.0 int8 API subset: padding with a constant.
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"

arm_cmsis_nn_status arm_pad_s8(const int8_t *input,
                               int8_t *output,
                               const int8_t pad_value,
                               const cmsis_nn_dims *input_size,
                               const cmsis_nn_dims *pre_pad,
                               const cmsis_nn_dims *post_pad)
{
    const int32_t out_n = pre_pad->n + input_size->n + post_pad->n;
    const int32_t out_h = pre_pad->h + input_size->h + post_pad->h;
    const int32_t out_w = pre_pad->w + input_size->w + post_pad->w;
    const int32_t out_c = pre_pad->c + input_size->c + post_pad->c;

    for (int32_t n = 0; n < out_n; n++)
    {
        for (int32_t y = 0; y < out_h; y++)
        {
            for (int32_t x = 0; x < out_w; x++)
            {
                for (int32_t c = 0; c < out_c; c++)
                {
                    const int32_t in_n = n - pre_pad->n;
                    const int32_t in_y = y - pre_pad->h;
                    const int32_t in_x = x - pre_pad->w;
                    const int32_t in_c = c - pre_pad->c;
                    const int inside = in_n >= 0 && in_n < input_size->n && in_y >= 0 && in_y < input_size->h &&
                        in_x >= 0 && in_x < input_size->w && in_c >= 0 && in_c < input_size->c;
                    *output++ = inside
                        ? input[((in_n * input_size->h + in_y) * input_size->w + in_x) * input_size->c + in_c]
                        : pad_value;
                }
            }
        }
    }
    return ARM_CMSIS_NN_SUCCESS;
}
