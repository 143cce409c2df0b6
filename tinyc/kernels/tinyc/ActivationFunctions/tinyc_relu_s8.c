/*
 * tinyc_relu_s8: a standalone ReLU-family activation (declared in tinyc_kernels.h).
 */
#include "tinyc_kernels.h"

#include <string.h>

#include "tinyc_support.h"

void tinyc_relu_s8(const int8_t *input, const int32_t size, const tinyc_relu_params *params, int8_t *output)
{
    for (int32_t i = 0; i < size; i++)
    {
        int32_t value = input[i];
        if (params->requantize)
        {
            value = params->output_zero_point +
                tinyc_requantize(value - params->input_zero_point, params->multiplier, params->shift);
        }
        output[i] = (int8_t)tinyc_clamp(value, params->act_min, params->act_max);
    }
}
