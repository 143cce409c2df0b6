/*
 * tinyc_mean_s8: MEAN (declared in tinyc_kernels.h).
 */
#include "tinyc_kernels.h"

#include <string.h>

#include "tinyc_support.h"

void tinyc_mean_s8(const int8_t *input,
                   const int32_t batches,
                   const int32_t height,
                   const int32_t width,
                   const int32_t channels,
                   const tinyc_mean_params *params,
                   int8_t *output)
{
    const int32_t plane = height * width;
    for (int32_t b = 0; b < batches; b++)
    {
        const int8_t *in = input + b * plane * channels;
        for (int32_t c = 0; c < channels; c++)
        {
            int32_t sum = 0;
            for (int32_t i = 0; i < plane; i++)
            {
                sum += in[i * channels + c];
            }
            const int32_t centered = sum - params->input_zero_point * params->num_elements;
            const int32_t out =
                tinyc_requantize(centered, params->multiplier, params->shift) + params->output_zero_point;
            output[b * channels + c] = (int8_t)tinyc_clamp(out, TINYC_INT8_MIN, TINYC_INT8_MAX);
        }
    }
}
