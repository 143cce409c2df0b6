/*
 * tinyc_dsp_depthwise_conv_inplace_s8: the DSP paths of tinyc's in-place depthwise (tinyc_depthwise_conv_inplace_s8
 * calls it first and runs its portable code when it returns 0).
 * - channels a multiple of 4: 4 channels per step from a ring of zero-point padded rows of 4-channel words on the
 *   stack (<= 2 KiB), SMLABB / SMLATT, taps unrolled for 3x3 and 5x5 (depthwise_inplace4, here);
 * - otherwise one channel at a time: tinyc_dsp_depthwise_inplace_rows_s8, else tinyc_dsp_depthwise_inplace_plane_s8
 *   (tinyc_dsp_depthwise_inplace_rows_s8.c).
 */
#include "tinyc_dsp.h"

#if TINYC_DSP_KERNELS

#include "tinyc_dsp_support.h"

#define TINYC_DW_RING4_WORDS 512 /* in-place depthwise, 4 channels: 2 * k_h padded rows on the stack (2 KiB) */

/*
 * In-place depthwise, 4 channels at a time (chans % 4 == 0): as depthwise_inplace_rows, but input rows of 4
 * channels (one word per pixel) are gathered into a ring of k_h rows, each stored twice (slots r % k_h and
 * r % k_h + k_h) so the k_h rows of any output row are contiguous, padded with the input zero point (no
 * border cases); every output pixel then takes dw_interior4 (SMLABB / SMLATT on 4 channels, the input offset
 * folded into the bias, taps unrolled for 3x3 and 5x5). Each input row is gathered before the first output
 * row that overwrites it is written (the argument of depthwise_inplace_rows, per group of channels).
 */
static inline __attribute__((always_inline)) void dw_inplace4_group(const cmsis_nn_dw_conv_params *params,
                                                                    const cmsis_nn_dims *input_dims, int8_t *buffer,
                                                                    const cmsis_nn_dims *output_dims, int32_t k_h,
                                                                    int32_t k_w, int32_t band_w, int32_t *ring,
                                                                    const int32_t *w, const int32_t *full,
                                                                    const dw_quant4 *q, const int K_H, const int K_W,
                                                                    const int MODE)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, chans = input_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    const int32_t stride_h = params->stride.h, stride_w = params->stride.w;
    const int32_t pad_h = params->padding.h, pad_w = params->padding.w;
    const uint32_t zp = (uint32_t)(uint8_t)(-params->input_offset);
    const int32_t zp4 = (int32_t)(zp * 0x01010101u);
    int32_t next = 0; /* next padded row to gather */
    for (int32_t oy = 0; oy < out_h; oy++)
    {
        const int32_t top = oy * stride_h;
        for (; next < top + k_h; next++)
        {
            const int32_t r = next - pad_h;
            int32_t *d0 = ring + (next % k_h) * band_w;
            int32_t *d1 = d0 + k_h * band_w;
            if (r < 0 || r >= in_h)
            {
                for (int32_t i = 0; i < band_w; i++)
                {
                    d0[i] = zp4;
                    d1[i] = zp4;
                }
                continue;
            }
            int32_t i = 0;
            for (; i < pad_w; i++)
            {
                d0[i] = zp4;
                d1[i] = zp4;
            }
            const int8_t *src = buffer + r * in_w * chans;
            for (int32_t x = 0; x < in_w; x++, i++, src += chans)
            {
                const int32_t v = read_s8x4(src);
                d0[i] = v;
                d1[i] = v;
            }
            for (; i < band_w; i++)
            {
                d0[i] = zp4;
                d1[i] = zp4;
            }
        }
        dw_interior4((const int8_t *)(ring + (top % k_h) * band_w), buffer + oy * out_w * chans, out_w,
                     stride_w * 4, 4, band_w * 4, chans, w, full, q, k_h, k_w, K_H, K_W, MODE);
    }
}

static int32_t depthwise_inplace4(const cmsis_nn_dw_conv_params *params,
                                  const cmsis_nn_per_channel_quant_params *quant, const cmsis_nn_dims *input_dims,
                                  int8_t *buffer, const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                                  const int32_t *bias_data, const cmsis_nn_dims *output_dims)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, chans = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t pad_h = params->padding.h, pad_w = params->padding.w;
    const int32_t offset = params->input_offset;
    const int32_t act_min = params->activation.min, act_max = params->activation.max;
    const int32_t pad_r = (output_dims->w - 1) * params->stride.w + k_w - in_w - pad_w;
    const int32_t band_w = in_w + pad_w + (pad_r > 0 ? pad_r : 0);
    if ((chans & 3) != 0 || pad_h >= k_h || pad_w >= k_w || output_dims->w > in_w || output_dims->h > in_h ||
        params->stride.h < 1 || params->stride.w < 1 || k_h * k_w > 64 || 2 * k_h * band_w > TINYC_DW_RING4_WORDS)
    {
        return 0;
    }
    int32_t ring[TINYC_DW_RING4_WORDS];
    int32_t w[2 * 64]; /* [tap][even, odd]: [w_c0 w_c2], [w_c1 w_c3] as int16 pairs */
    const int32_t taps = k_h * k_w;
    for (int32_t c = 0; c < chans; c += 4)
    {
        int32_t full[4] = {0, 0, 0, 0}; /* bias + offset * sum of the channel's weights */
        for (int32_t t = 0; t < taps; t++)
        {
            const int32_t v = read_s8x4(&filter_data[t * chans + c]);
            w[2 * t] = __sxtb16(v);
            w[2 * t + 1] = sxtb16_ror8(v);
            full[0] += (int8_t)v;
            full[1] += (int8_t)(v >> 8);
            full[2] += (int8_t)(v >> 16);
            full[3] += (int8_t)(v >> 24);
        }
        dw_quant4 q = {.out_offset = params->output_offset, .act_min = act_min, .act_max = act_max,
                       .mode = fast_mode(act_min, act_max), .group = 4};
        for (int32_t j = 0; j < 4; j++)
        {
            const int32_t bias = bias_data != NULL ? bias_data[c + j] : 0;
            full[j] = bias + offset * full[j];
            q.multiplier[j] = quant->multiplier[c + j];
            q.shift[j] = quant->shift[c + j];
            q.exponent[j] = -q.shift[j];
            q.half[j] = half_of(q.shift[j]);
            if (!fast_requant_ok(q.shift[j], bias, taps))
            {
                q.mode = REQUANT_EXACT;
            }
        }
        int8_t *buf = buffer + c;
        const int fast = q.mode == REQUANT_FAST, clamp = q.mode == REQUANT_FAST_CLAMP;
        if (k_h == 3 && k_w == 3 && fast)
        {
            dw_inplace4_group(params, input_dims, buf, output_dims, k_h, k_w, band_w, ring, w, full, &q, 3, 3,
                              REQUANT_FAST);
        }
        else if (k_h == 3 && k_w == 3 && clamp)
        {
            dw_inplace4_group(params, input_dims, buf, output_dims, k_h, k_w, band_w, ring, w, full, &q, 3, 3,
                              REQUANT_FAST_CLAMP);
        }
        else if (k_h == 5 && k_w == 5 && fast)
        {
            dw_inplace4_group(params, input_dims, buf, output_dims, k_h, k_w, band_w, ring, w, full, &q, 5, 5,
                              REQUANT_FAST);
        }
        else if (k_h == 5 && k_w == 5 && clamp)
        {
            dw_inplace4_group(params, input_dims, buf, output_dims, k_h, k_w, band_w, ring, w, full, &q, 5, 5,
                              REQUANT_FAST_CLAMP);
        }
        else if (q.mode != REQUANT_EXACT)
        {
            dw_inplace4_group(params, input_dims, buf, output_dims, k_h, k_w, band_w, ring, w, full, &q, 0, 0,
                              REQUANT_FAST_CLAMP);
        }
        else
        {
            dw_inplace4_group(params, input_dims, buf, output_dims, k_h, k_w, band_w, ring, w, full, &q, 0, 0,
                              REQUANT_EXACT);
        }
    }
    return 1;
}

int32_t tinyc_dsp_depthwise_conv_inplace_s8(const cmsis_nn_dw_conv_params *params,
                                            const cmsis_nn_per_channel_quant_params *quant,
                                            const cmsis_nn_dims *input_dims, int8_t *buffer,
                                            const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                                            const int32_t *bias_data, const cmsis_nn_dims *output_dims,
                                            int8_t *plane)
{
    if (params->ch_mult != 1 || output_dims->c != input_dims->c || input_dims->n != 1 || filter_dims->w > 8 ||
        filter_dims->h > 8 || !quant_supported(quant->multiplier, quant->shift, input_dims->c, 1))
    {
        return 0;
    }
    if (depthwise_inplace4(params, quant, input_dims, buffer, filter_dims, filter_data, bias_data, output_dims))
    {
        return 1;
    }
    if (tinyc_dsp_depthwise_inplace_rows_s8(params, quant, input_dims, buffer, filter_dims, filter_data, bias_data,
                                            output_dims, plane))
    {
        return 1;
    }
    return tinyc_dsp_depthwise_inplace_plane_s8(params, quant, input_dims, buffer, filter_dims, filter_data, bias_data,
                                                output_dims, plane);
}

#endif /* TINYC_DSP_KERNELS */
