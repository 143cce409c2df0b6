/*
 * tinyc portable reference implementation of the CMSIS-NN v7.0.0 int8 API subset:
 * data movement (concatenation along x or z, constant pad).
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"

void arm_concatenation_s8_x(const int8_t *input,
                            const uint16_t input_x,
                            const uint16_t input_y,
                            const uint16_t input_z,
                            const uint16_t input_w,
                            int8_t *output,
                            const uint16_t output_x,
                            const uint32_t offset_x)
{
    const uint32_t rows = (uint32_t)input_y * input_z * input_w;
    output += offset_x;
    for (uint32_t row = 0; row < rows; row++)
    {
        memcpy(output, input, input_x);
        input += input_x;
        output += output_x;
    }
}

void arm_concatenation_s8_z(const int8_t *input,
                            const uint16_t input_x,
                            const uint16_t input_y,
                            const uint16_t input_z,
                            const uint16_t input_w,
                            int8_t *output,
                            const uint16_t output_z,
                            const uint32_t offset_z)
{
    const uint32_t plane = (uint32_t)input_x * input_y;
    const uint32_t input_block = plane * input_z;
    const uint32_t output_block = plane * output_z;
    output += offset_z * plane;
    for (uint32_t w = 0; w < input_w; w++)
    {
        memcpy(output, input, input_block);
        input += input_block;
        output += output_block;
    }
}

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
