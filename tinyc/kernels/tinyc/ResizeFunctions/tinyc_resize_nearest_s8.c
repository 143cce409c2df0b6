/*
 * tinyc_resize_nearest_s8: RESIZE_NEAREST_NEIGHBOR (declared in tinyc_kernels.h).
 */
#include "tinyc_kernels.h"

#include <string.h>

#include "tinyc_support.h"

void tinyc_resize_nearest_s8(const int8_t *input,
                             const int32_t input_w,
                             const int32_t channels,
                             const int32_t output_h,
                             const int32_t output_w,
                             const int16_t *index,
                             int8_t *output)
{
    const int16_t *column = index + output_h;
    for (int32_t y = 0; y < output_h; y++)
    {
        const int8_t *row = input + (int32_t)index[y] * input_w * channels;
        for (int32_t x = 0; x < output_w; x++)
        {
            const int8_t *pixel = row + (int32_t)column[x] * channels;
            for (int32_t c = 0; c < channels; c++)
            {
                *output++ = pixel[c];
            }
        }
    }
}
