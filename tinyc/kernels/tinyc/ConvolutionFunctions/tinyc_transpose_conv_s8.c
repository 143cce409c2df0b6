/*
 * tinyc_transpose_conv_s8: TRANSPOSE_CONV (declared in tinyc_kernels.h).
 */
#include "tinyc_kernels.h"

#include <string.h>

#include "tinyc_support.h"

void tinyc_transpose_conv_s8(const int8_t *input,
                             const int8_t *filter,
                             const int32_t *bias,
                             const int32_t *multiplier,
                             const int32_t *shift,
                             const tinyc_transpose_conv_params *params,
                             int8_t *output)
{
    const tinyc_transpose_conv_params p = *params;
    for (int32_t oy = 0; oy < p.output_h; oy++)
    {
        for (int32_t ox = 0; ox < p.output_w; ox++)
        {
            for (int32_t oc = 0; oc < p.output_c; oc++)
            {
                int32_t acc = bias[oc]; /* lowering gives zeros where the model has no bias */
                for (int32_t ky = 0; ky < p.filter_h; ky++)
                {
                    const int32_t ty = oy + p.pad_h - ky; /* = input row * stride_h */
                    if (ty < 0 || ty % p.stride_h != 0 || ty / p.stride_h >= p.input_h)
                    {
                        continue;
                    }
                    for (int32_t kx = 0; kx < p.filter_w; kx++)
                    {
                        const int32_t tx = ox + p.pad_w - kx;
                        if (tx < 0 || tx % p.stride_w != 0 || tx / p.stride_w >= p.input_w)
                        {
                            continue;
                        }
                        const int8_t *in = input + ((ty / p.stride_h) * p.input_w + tx / p.stride_w) * p.input_c;
                        const int8_t *w = filter + ((oc * p.filter_h + ky) * p.filter_w + kx) * p.input_c;
                        for (int32_t ic = 0; ic < p.input_c; ic++)
                        {
                            acc += ((int32_t)in[ic] + p.input_offset) * (int32_t)w[ic];
                        }
                    }
                }
                const int32_t out = tinyc_requantize(acc, multiplier[oc], shift[oc]) + p.output_offset;
                *output++ = (int8_t)tinyc_clamp(out, p.act_min, p.act_max);
            }
        }
    }
}
