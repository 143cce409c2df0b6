/*
 * tinyc_dsp_depthwise_conv_s8 (depth multiplier 1, up to TINYC_DW_MAX_TAPS taps): 4 channels per step (SMLABB /
 * SMLATT on SXTB16 lanes), weights unpacked once per group of 4 channels; every output row from a band of k_h
 * input rows padded with the input zero point on the stack (no border cases, the input offset folded into the
 * bias), taps unrolled for 3x3 and 5x5; rows too wide for the band: the interior straight from the input, border
 * pixels from their zero-point padded window. The requantization mode is a compile-time constant.
 * tinyc_dsp_depthwise_conv_s4: the same kernel for int4 weights (TFLite's packing), unpacked into the same
 * per-group table.
 */
#include "tinyc_dsp.h"

#if TINYC_DSP_KERNELS

#include "tinyc_dsp_support.h"

#define TINYC_DW_MAX_TAPS 64 /* 7x7 and 8x8 windows; larger ones run the portable kernel */
#define TINYC_DW_BAND_WORDS 384 /* depthwise: k_h padded input rows of 4 channels on the stack (1.5 KiB) */

/*
 * The window of output pixel (oy, ox) for the group's channels, one word of 4 channels per tap, taps outside
 * the input filled with the input zero point (x + input_offset = 0: they add nothing to the accumulators
 * that start from `full`). Lanes past the group's channel count hold any value (their weights are zero).
 */
static void dw_window4(const int8_t *in_batch, int32_t oy, int32_t ox, const cmsis_nn_dw_conv_params *params,
                       const cmsis_nn_dims *input_dims, int32_t k_h, int32_t k_w, int32_t group, int32_t *win)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, chans = input_dims->c;
    const uint32_t zp = (uint32_t)(uint8_t)(-params->input_offset);
    const int32_t zp4 = (int32_t)(zp * 0x01010101u);
    const int32_t y0 = oy * params->stride.h - params->padding.h;
    const int32_t x0 = ox * params->stride.w - params->padding.w;
    for (int32_t ky = 0; ky < k_h; ky++)
    {
        const int32_t y = y0 + ky;
        for (int32_t kx = 0; kx < k_w; kx++, win++)
        {
            const int32_t x = x0 + kx;
            if (y < 0 || y >= in_h || x < 0 || x >= in_w)
            {
                *win = zp4;
            }
            else if (group == 4)
            {
                *win = read_s8x4(in_batch + (y * in_w + x) * chans);
            }
            else
            {
                int32_t v = 0;
                memcpy(&v, in_batch + (y * in_w + x) * chans, (size_t)group);
                *win = v;
            }
        }
    }
}

/* Band width in words: the input row with its left and right padding. */
static int32_t dw_band_width(const cmsis_nn_dw_conv_params *params, const cmsis_nn_dims *input_dims,
                             const cmsis_nn_dims *output_dims, int32_t k_w)
{
    const int32_t pad_r = (output_dims->w - 1) * params->stride.w + k_w - input_dims->w - params->padding.w;
    return input_dims->w + params->padding.w + (pad_r > 0 ? pad_r : 0);
}

/*
 * Every output pixel of one group of 4 channels from a band of k_h input rows padded with the input zero
 * point (no border cases: padding taps add nothing to the accumulators that start from `full`), copied to
 * the stack once per output row. K_H x K_W constant when > 0; MODE: the requantization.
 */
static inline __attribute__((always_inline)) void dw_group4_band(const cmsis_nn_dw_conv_params *params,
                                                                 const cmsis_nn_dims *input_dims, const int8_t *input,
                                                                 const cmsis_nn_dims *output_dims, int8_t *output,
                                                                 int32_t k_h, int32_t k_w, const int32_t *w,
                                                                 const int32_t *full, const dw_quant4 *q,
                                                                 const int K_H, const int K_W, const int MODE)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, chans = input_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    const int32_t stride_h = params->stride.h, stride_w = params->stride.w;
    const int32_t pad_h = params->padding.h, pad_w = params->padding.w;
    const int32_t band_w = dw_band_width(params, input_dims, output_dims, k_w);
    int32_t band[TINYC_DW_BAND_WORDS];
    const uint32_t zp = (uint32_t)(uint8_t)(-params->input_offset);
    const int32_t zp4 = (int32_t)(zp * 0x01010101u);
    for (int32_t b = 0; b < input_dims->n; b++)
    {
        const int8_t *in_batch = input + b * in_h * in_w * chans;
        int8_t *out_row = output + b * out_h * out_w * chans;
        for (int32_t oy = 0; oy < out_h; oy++, out_row += out_w * chans)
        {
            const int32_t y0 = oy * stride_h - pad_h;
            int32_t *dst = band;
            for (int32_t ky = 0; ky < k_h; ky++)
            {
                const int32_t y = y0 + ky;
                if (y < 0 || y >= in_h)
                {
                    for (int32_t i = 0; i < band_w; i++)
                    {
                        *dst++ = zp4;
                    }
                    continue;
                }
                for (int32_t i = 0; i < pad_w; i++)
                {
                    *dst++ = zp4;
                }
                const int8_t *src = in_batch + y * in_w * chans;
                for (int32_t x = 0; x < in_w; x++, src += chans)
                {
                    *dst++ = read_s8x4(src);
                }
                for (int32_t i = in_w + pad_w; i < band_w; i++)
                {
                    *dst++ = zp4;
                }
            }
            dw_interior4((const int8_t *)band, out_row, out_w, stride_w * 4, 4, band_w * 4, chans, w, full, q, k_h,
                         k_w, K_H, K_W, MODE);
        }
    }
}

/* Any group (also the last one of fewer than 4 channels) and any width: the interior run of each row straight
 * from the input, border pixels from their zero-point padded window (dw_window4); runtime requantization mode. */
static void dw_group4_any(const cmsis_nn_dw_conv_params *params, const cmsis_nn_dims *input_dims,
                          const int8_t *input, const cmsis_nn_dims *output_dims, int8_t *output, int32_t k_h,
                          int32_t k_w, const int32_t *w, const int32_t *full, const dw_quant4 *q)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, chans = input_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    const int32_t stride_h = params->stride.h, stride_w = params->stride.w;
    const int32_t pad_h = params->padding.h, pad_w = params->padding.w;
    const int mode = q->group == 4 ? q->mode : REQUANT_EXACT;
    int32_t win[TINYC_DW_MAX_TAPS]; /* a border pixel's window, zero-point padded */
    /* interior columns: x0 = ox * stride_w - pad_w >= 0 and x0 + k_w <= in_w */
    int32_t ox_lo = (pad_w + stride_w - 1) / stride_w;
    int32_t ox_hi = in_w - k_w + pad_w >= 0 ? (in_w - k_w + pad_w) / stride_w + 1 : 0;
    ox_hi = ox_hi > out_w ? out_w : ox_hi;
    ox_lo = ox_lo > ox_hi ? ox_hi : ox_lo;
    for (int32_t b = 0; b < input_dims->n; b++)
    {
        const int8_t *in_batch = input + b * in_h * in_w * chans;
        int8_t *out_batch = output + b * out_h * out_w * chans;
        for (int32_t oy = 0; oy < out_h; oy++)
        {
            const int32_t y0 = oy * stride_h - pad_h;
            int8_t *out_row = out_batch + oy * out_w * chans;
            const int row_inside = y0 >= 0 && y0 + k_h <= in_h && mode != REQUANT_EXACT;
            const int32_t lo = row_inside ? ox_lo : out_w, hi = row_inside ? ox_hi : out_w;
            for (int32_t ox = 0; ox < out_w; ox++)
            {
                if (ox == lo && hi > lo)
                {
                    const int8_t *src = in_batch + (y0 * in_w + lo * stride_w - pad_w) * chans;
                    if (mode == REQUANT_FAST)
                    {
                        dw_interior4(src, out_row + lo * chans, hi - lo, stride_w * chans, chans, in_w * chans, chans,
                                     w, full, q, k_h, k_w, 0, 0, REQUANT_FAST);
                    }
                    else
                    {
                        dw_interior4(src, out_row + lo * chans, hi - lo, stride_w * chans, chans, in_w * chans, chans,
                                     w, full, q, k_h, k_w, 0, 0, REQUANT_FAST_CLAMP);
                    }
                    ox = hi - 1;
                    continue;
                }
                dw_window4(in_batch, oy, ox, params, input_dims, k_h, k_w, q->group, win);
                if (mode == REQUANT_EXACT)
                {
                    dw_interior4((const int8_t *)win, out_row + ox * chans, 1, 0, 4, 4 * k_w, chans, w, full, q, k_h,
                                 k_w, 0, 0, REQUANT_EXACT);
                }
                else
                {
                    dw_interior4((const int8_t *)win, out_row + ox * chans, 1, 0, 4, 4 * k_w, chans, w, full, q, k_h,
                                 k_w, 0, 0, REQUANT_FAST_CLAMP);
                }
            }
        }
    }
}

/* Weight `index` of the flattened filter: int8, or int4 (TFLite's packing, the even element in the low nibble). */
static inline int32_t dw_weight(const int8_t *filter, int32_t index, int32_t int4)
{
    if (!int4)
    {
        return filter[index];
    }
    const int32_t byte = filter[index >> 1];
    return (index & 1) ? (byte >> 4) : (int32_t)((uint32_t)byte << 28) >> 28;
}

static int32_t dw_dsp(const cmsis_nn_dw_conv_params *dw_conv_params,
                      const cmsis_nn_per_channel_quant_params *quant_params,
                      const cmsis_nn_dims *input_dims,
                      const int8_t *input_data,
                      const cmsis_nn_dims *filter_dims,
                      const int8_t *filter_data,
                      const int32_t *bias_data,
                      const cmsis_nn_dims *output_dims,
                      int8_t *output_data,
                      int32_t int4)
{
    const int32_t chans = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t offset = dw_conv_params->input_offset;
    const int32_t act_min = dw_conv_params->activation.min, act_max = dw_conv_params->activation.max;
    if (dw_conv_params->ch_mult != 1 || output_dims->c != chans || filter_dims->c != chans ||
        dw_conv_params->dilation.h != 1 || dw_conv_params->dilation.w != 1 || k_h * k_w > TINYC_DW_MAX_TAPS ||
        !quant_supported(quant_params->multiplier, quant_params->shift, chans, 1))
    {
        return 0;
    }
    int32_t w[2 * TINYC_DW_MAX_TAPS]; /* [tap][even, odd]: [w_c0 w_c2], [w_c1 w_c3] as int16 pairs */
    const int32_t taps = k_h * k_w;
    const int band = k_h * dw_band_width(dw_conv_params, input_dims, output_dims, k_w) <= TINYC_DW_BAND_WORDS;

    for (int32_t c = 0; c < chans; c += 4)
    {
        const int32_t group = chans - c < 4 ? chans - c : 4;
        int32_t full[4] = {0, 0, 0, 0}; /* bias + offset * sum of the channel's weights */
        for (int32_t t = 0; t < taps; t++)
        {
            int8_t wb[4] = {0, 0, 0, 0};
            for (int32_t j = 0; j < group; j++)
            {
                wb[j] = (int8_t)dw_weight(filter_data, t * chans + c + j, int4);
                full[j] += wb[j];
            }
            int32_t v;
            memcpy(&v, wb, sizeof(v));
            w[2 * t] = __sxtb16(v);
            w[2 * t + 1] = sxtb16_ror8(v);
        }
        dw_quant4 q = {.out_offset = dw_conv_params->output_offset, .act_min = act_min, .act_max = act_max,
                       .mode = fast_mode(act_min, act_max), .group = group};
        for (int32_t j = 0; j < 4; j++)
        {
            const int32_t ch = c + (j < group ? j : 0);
            const int32_t bias = bias_data && j < group ? bias_data[ch] : 0;
            full[j] = bias + offset * full[j];
            q.multiplier[j] = quant_params->multiplier[ch];
            q.shift[j] = quant_params->shift[ch];
            q.exponent[j] = -q.shift[j];
            q.half[j] = half_of(q.shift[j]);
            if (!fast_requant_ok(q.shift[j], bias, taps))
            {
                q.mode = REQUANT_EXACT;
            }
        }
        const int8_t *in = input_data + c;
        int8_t *out = output_data + c;
        const int32_t kind = !band || group != 4 || q.mode == REQUANT_EXACT ? 0
                             : k_h == 3 && k_w == 3                          ? 3
                             : k_h == 5 && k_w == 5                          ? 5
                                                                              : 1;
        const int fast = q.mode == REQUANT_FAST;
        if (kind == 3 && fast)
        {
            dw_group4_band(dw_conv_params, input_dims, in, output_dims, out, k_h, k_w, w, full, &q, 3, 3, REQUANT_FAST);
        }
        else if (kind == 3)
        {
            dw_group4_band(dw_conv_params, input_dims, in, output_dims, out, k_h, k_w, w, full, &q, 3, 3,
                           REQUANT_FAST_CLAMP);
        }
        else if (kind == 5 && fast)
        {
            dw_group4_band(dw_conv_params, input_dims, in, output_dims, out, k_h, k_w, w, full, &q, 5, 5, REQUANT_FAST);
        }
        else if (kind == 5)
        {
            dw_group4_band(dw_conv_params, input_dims, in, output_dims, out, k_h, k_w, w, full, &q, 5, 5,
                           REQUANT_FAST_CLAMP);
        }
        else if (kind == 1)
        {
            dw_group4_band(dw_conv_params, input_dims, in, output_dims, out, k_h, k_w, w, full, &q, 0, 0,
                           REQUANT_FAST_CLAMP);
        }
        else
        {
            dw_group4_any(dw_conv_params, input_dims, in, output_dims, out, k_h, k_w, w, full, &q);
        }
    }
    return 1;
}


int32_t tinyc_dsp_depthwise_conv_s8(const cmsis_nn_dw_conv_params *dw_conv_params,
                                    const cmsis_nn_per_channel_quant_params *quant_params,
                                    const cmsis_nn_dims *input_dims,
                                    const int8_t *input_data,
                                    const cmsis_nn_dims *filter_dims,
                                    const int8_t *filter_data,
                                    const int32_t *bias_data,
                                    const cmsis_nn_dims *output_dims,
                                    int8_t *output_data)
{
    return dw_dsp(dw_conv_params, quant_params, input_dims, input_data, filter_dims, filter_data, bias_data,
                  output_dims, output_data, 0);
}

/* The same with int4 weights: only the unpacking of each group's weight table differs. */
int32_t tinyc_dsp_depthwise_conv_s4(const cmsis_nn_dw_conv_params *dw_conv_params,
                                    const cmsis_nn_per_channel_quant_params *quant_params,
                                    const cmsis_nn_dims *input_dims,
                                    const int8_t *input_data,
                                    const cmsis_nn_dims *filter_dims,
                                    const int8_t *filter_data,
                                    const int32_t *bias_data,
                                    const cmsis_nn_dims *output_dims,
                                    int8_t *output_data)
{
    return dw_dsp(dw_conv_params, quant_params, input_dims, input_data, filter_dims, filter_data, bias_data,
                  output_dims, output_data, 1);
}

#endif /* TINYC_DSP_KERNELS */
