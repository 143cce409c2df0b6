/*
 * tinyc_resize_bilinear_s8: RESIZE_BILINEAR (declared in tinyc_kernels.h).
 */
#include "tinyc_kernels.h"

#include <string.h>

#include "tinyc_support.h"

void tinyc_resize_bilinear_s8(const int8_t *input,
                              const int32_t input_w,
                              const int32_t channels,
                              const int32_t output_h,
                              const int32_t output_w,
                              const int16_t *taps,
                              int8_t *output)
{
    const int16_t *column_taps = taps + 3 * output_h;
    const int32_t one = 1 << 10;
    for (int32_t y = 0; y < output_h; y++)
    {
        const int8_t *top = input + (int32_t)taps[3 * y] * input_w * channels;
        const int8_t *bottom = input + (int32_t)taps[3 * y + 1] * input_w * channels;
        const int32_t wy = taps[3 * y + 2];
        for (int32_t x = 0; x < output_w; x++)
        {
            const int32_t left = (int32_t)column_taps[3 * x] * channels;
            const int32_t right = (int32_t)column_taps[3 * x + 1] * channels;
            const int32_t wx = column_taps[3 * x + 2];
            /* in 64 bits: with half_pixel_centers an edge weight can lie outside [0, 1024] */
            const int32_t w_tl = (one - wy) * (one - wx);
            const int32_t w_bl = wy * (one - wx);
            const int32_t w_tr = (one - wy) * wx;
            const int32_t w_br = wy * wx;
            for (int32_t c = 0; c < channels; c++)
            {
                const int64_t sum = (int64_t)top[left + c] * w_tl + (int64_t)bottom[left + c] * w_bl +
                                    (int64_t)top[right + c] * w_tr + (int64_t)bottom[right + c] * w_br;
                const int64_t round = sum > 0 ? (1 << 19) : -(1 << 19);
                *output++ = (int8_t)((sum + round) / (1 << 20));
            }
        }
    }
}
