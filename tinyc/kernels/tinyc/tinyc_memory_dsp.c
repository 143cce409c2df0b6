/*
 * DSP paths (ARMv7E-M: SXTB16, SMLAD, SADD16) of tinyc's in-place kernels, compiled when
 * __ARM_FEATURE_DSP is defined and TINYC_PORTABLE_KERNELS is not; tinyc_memory.c calls them first and
 * runs its portable code when they return 0. Same scratch as the portable code: one input channel plane
 * (depthwise), one output pixel (1x1 conv). The requantization helper repeats the one of
 * cmsis_nn/Source/tinyc_dsp_s8.c: this folder must build without tinyc's CMSIS-NN replacement.
 */
#include "tinyc_memory_dsp.h"

#if TINYC_MEMORY_DSP

#include <arm_acle.h>
#include <string.h>

static inline int32_t load_s8x4(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline int32_t sxtb16_ror8(int32_t v)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

static int32_t quant_supported(const cmsis_nn_per_channel_quant_params *quant, int32_t count)
{
    for (int32_t i = 0; i < count; i++)
    {
        if (quant->multiplier[i] == INT32_MIN || quant->shift[i] < -31 || quant->shift[i] > 31)
        {
            return 0;
        }
    }
    return 1;
}

/* arm_nn_requantize + output offset + clamp, for multiplier != INT32_MIN and shift in [-31, 31]. */
static inline int8_t requantize(int32_t acc, int32_t multiplier, int32_t shift, int32_t output_offset,
                                int32_t act_min, int32_t act_max)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    const int32_t value = (int32_t)((uint32_t)acc << left);
    int32_t high = (int32_t)(((int64_t)value * multiplier + ((int64_t)1 << 30)) >> 31);
    if (right > 0)
    {
        const uint32_t mask = (1u << right) - 1u;
        const uint32_t remainder = (uint32_t)high & mask;
        const uint32_t threshold = (mask >> 1) + (high < 0 ? 1u : 0u);
        high = (high >> right) + (remainder > threshold ? 1 : 0);
    }
    int32_t out = high + output_offset;
    out = out < act_min ? act_min : out;
    out = out > act_max ? act_max : out;
    return (int8_t)out;
}

int32_t tinyc_dsp_depthwise_conv_inplace_s8(const cmsis_nn_dw_conv_params *params,
                                            const cmsis_nn_per_channel_quant_params *quant,
                                            const cmsis_nn_dims *input_dims, int8_t *buffer,
                                            const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                                            const int32_t *bias_data, const cmsis_nn_dims *output_dims,
                                            int8_t *plane)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, chans = input_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t stride_h = params->stride.h, stride_w = params->stride.w;
    const int32_t pad_h = params->padding.h, pad_w = params->padding.w;
    const int32_t offset = params->input_offset, out_offset = params->output_offset;
    const int32_t act_min = params->activation.min, act_max = params->activation.max;
    /* a row of up to 8 taps is two words: taps [0 2], [1 3], [4 6], [5 7] */
    if (params->ch_mult != 1 || output_dims->c != chans || input_dims->n != 1 || k_w > 8 || k_h > 8 ||
        !quant_supported(quant, chans))
    {
        return 0;
    }
    const int32_t words = k_w > 4 ? 2 : 1;
    for (int32_t c = 0; c < chans; c++)
    {
        for (int32_t i = 0; i < in_h * in_w; i++)
        {
            plane[i] = buffer[i * chans + c];
        }
        int32_t w_even[8][2], w_odd[8][2]; /* per kernel row, per word */
        int32_t weight_sum = 0;
        for (int32_t ky = 0; ky < k_h; ky++)
        {
            int8_t row[8] = {0, 0, 0, 0, 0, 0, 0, 0};
            for (int32_t kx = 0; kx < k_w; kx++)
            {
                row[kx] = filter_data[(ky * k_w + kx) * chans + c];
                weight_sum += row[kx];
            }
            for (int32_t j = 0; j < 2; j++)
            {
                const int32_t v = load_s8x4(&row[4 * j]);
                w_even[ky][j] = __sxtb16(v);
                w_odd[ky][j] = sxtb16_ror8(v);
            }
        }
        const int32_t multiplier = quant->multiplier[c], shift = quant->shift[c];
        const int32_t bias = bias_data != NULL ? bias_data[c] : 0;
        const int32_t full = bias + offset * weight_sum;
        for (int32_t oy = 0; oy < out_h; oy++)
        {
            const int32_t y0 = oy * stride_h - pad_h;
            for (int32_t ox = 0; ox < out_w; ox++)
            {
                const int32_t x0 = ox * stride_w - pad_w;
                int32_t acc;
                /* the window inside the plane, and 4 * words bytes readable from each row start */
                if (y0 >= 0 && y0 + k_h <= in_h && x0 >= 0 && x0 + 4 * words <= in_w)
                {
                    acc = full;
                    const int8_t *src = &plane[y0 * in_w + x0];
                    for (int32_t ky = 0; ky < k_h; ky++, src += in_w)
                    {
                        const int32_t v = load_s8x4(src);
                        acc = __smlad(__sxtb16(v), w_even[ky][0], acc);
                        acc = __smlad(sxtb16_ror8(v), w_odd[ky][0], acc);
                        if (words == 2)
                        {
                            const int32_t u = load_s8x4(src + 4);
                            acc = __smlad(__sxtb16(u), w_even[ky][1], acc);
                            acc = __smlad(sxtb16_ror8(u), w_odd[ky][1], acc);
                        }
                    }
                }
                else
                {
                    acc = bias;
                    for (int32_t ky = 0; ky < k_h; ky++)
                    {
                        const int32_t iy = y0 + ky;
                        if (iy < 0 || iy >= in_h)
                        {
                            continue;
                        }
                        for (int32_t kx = 0; kx < k_w; kx++)
                        {
                            const int32_t ix = x0 + kx;
                            if (ix < 0 || ix >= in_w)
                            {
                                continue;
                            }
                            acc += ((int32_t)plane[iy * in_w + ix] + offset) *
                                   (int32_t)filter_data[(ky * k_w + kx) * chans + c];
                        }
                    }
                }
                buffer[(oy * out_w + ox) * chans + c] =
                    requantize(acc, multiplier, shift, out_offset, act_min, act_max);
            }
        }
    }
    return 1;
}

int32_t tinyc_dsp_conv1x1_inplace_s8(const cmsis_nn_conv_params *params,
                                     const cmsis_nn_per_channel_quant_params *quant,
                                     const cmsis_nn_dims *input_dims, int8_t *buffer,
                                     const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                                     const int32_t *bias_data, const cmsis_nn_dims *output_dims,
                                     int8_t *pixel)
{
    const int32_t in_c = input_dims->c, out_c = output_dims->c;
    const int32_t pixels = input_dims->h * input_dims->w;
    const int32_t offset = params->input_offset, out_offset = params->output_offset;
    const int32_t act_min = params->activation.min, act_max = params->activation.max;
    const int32_t offset2 = (int32_t)(((uint32_t)offset & 0xFFFFu) | ((uint32_t)offset << 16));
    if (filter_dims->c != in_c || !quant_supported(quant, out_c))
    {
        return 0;
    }
    for (int32_t p = 0; p < pixels; p++)
    {
        const int8_t *in = &buffer[p * in_c];
        for (int32_t oc = 0; oc < out_c; oc += 2)
        {
            const int32_t oc1 = oc + 1 < out_c ? oc + 1 : oc;
            const int8_t *w0 = &filter_data[oc * in_c], *w1 = &filter_data[oc1 * in_c];
            const int8_t *x = in;
            int32_t a0 = bias_data != NULL ? bias_data[oc] : 0, a1 = bias_data != NULL ? bias_data[oc1] : 0;
            int32_t n = in_c >> 2;
            while (n-- > 0)
            {
                const int32_t vx = load_s8x4(x), v0 = load_s8x4(w0), v1 = load_s8x4(w1);
                x += 4;
                w0 += 4;
                w1 += 4;
                const int32_t xe = __sadd16(__sxtb16(vx), offset2), xo = __sadd16(sxtb16_ror8(vx), offset2);
                a0 = __smlad(xe, __sxtb16(v0), a0);
                a0 = __smlad(xo, sxtb16_ror8(v0), a0);
                a1 = __smlad(xe, __sxtb16(v1), a1);
                a1 = __smlad(xo, sxtb16_ror8(v1), a1);
            }
            for (n = in_c & 3; n > 0; n--)
            {
                const int32_t xv = *x++ + offset;
                a0 += xv * *w0++;
                a1 += xv * *w1++;
            }
            pixel[oc] = requantize(a0, quant->multiplier[oc], quant->shift[oc], out_offset, act_min, act_max);
            pixel[oc1] = requantize(a1, quant->multiplier[oc1], quant->shift[oc1], out_offset, act_min, act_max);
        }
        memcpy(&buffer[p * out_c], pixel, (size_t)out_c);
    }
    return 1;
}

#endif /* TINYC_MEMORY_DSP */
