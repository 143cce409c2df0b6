/*
 * tinyc portable reference implementation of the CMSIS-NN v7.0.0 int8 API subset: concatenation along x and z.
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
