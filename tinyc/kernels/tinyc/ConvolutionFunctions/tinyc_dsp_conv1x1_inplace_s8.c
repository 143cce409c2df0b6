/*
 * tinyc_dsp_conv1x1_inplace_s8: the DSP paths of tinyc's in-place 1x1 convolution (tinyc_conv1x1_inplace_s8 calls
 * it first): 2 pixels x 2 output channels per inner loop from the interleaved int16 columns of the 2 pixels on the
 * stack (in_c <= TINYC_COLS_MAX_K, 1 KiB); wider inputs on raw int8 operands, the input offset folded into the
 * bias (<= 1 KB of folded biases on the stack). Arena scratch as the portable code reserves it: one output pixel.
 */
#include "tinyc_dsp.h"

#if TINYC_DSP_KERNELS

#include "tinyc_dsp_support.h"

#define TINYC_1X1_MAX_CHANNELS 256 /* per-channel folded biases of the in-place 1x1 conv on the stack */

/*
 * Output channels of pixels p and p1 (p1 == p for a single pixel), 2 channels at a time, written at out0 and
 * out1 (out_c bytes each). FAST: requantize_fast for every channel (no clamp narrower than int8).
 */
static inline __attribute__((always_inline)) void conv1x1_pixels(const cmsis_nn_conv_params *params,
                                                                 const cmsis_nn_per_channel_quant_params *quant,
                                                                 const int8_t *x0, const int8_t *x1,
                                                                 const int8_t *filter, const int32_t *base,
                                                                 int32_t in_c, int32_t out_c, int8_t *out0,
                                                                 int8_t *out1, const int FAST)
{
    const int32_t out_offset = params->output_offset;
    const int32_t act_min = params->activation.min, act_max = params->activation.max;
    for (int32_t oc = 0; oc < out_c; oc += 2)
    {
        const int32_t oc1 = oc + 1 < out_c ? oc + 1 : oc;
        int32_t acc[4] = {base[oc], base[oc1], base[oc], base[oc1]};
        dot_s8_2x2(x0, x1, &filter[oc * in_c], &filter[oc1 * in_c], in_c, &acc[0], &acc[1], &acc[2], &acc[3]);
        const int32_t m0 = quant->multiplier[oc], s0 = quant->shift[oc];
        const int32_t m1 = quant->multiplier[oc1], s1 = quant->shift[oc1];
        if (FAST)
        {
            const int32_t h0 = (int32_t)(1u << (-s0 - 1)), h1 = (int32_t)(1u << (-s1 - 1));
            out0[oc] = (int8_t)requantize_fast(acc[0], m0, -s0, h0, out_offset);
            out0[oc1] = (int8_t)requantize_fast(acc[1], m1, -s1, h1, out_offset);
            out1[oc] = (int8_t)requantize_fast(acc[2], m0, -s0, h0, out_offset);
            out1[oc1] = (int8_t)requantize_fast(acc[3], m1, -s1, h1, out_offset);
        }
        else
        {
            out0[oc] = requantize(acc[0], m0, s0, out_offset, act_min, act_max);
            out0[oc1] = requantize(acc[1], m1, s1, out_offset, act_min, act_max);
            out1[oc] = requantize(acc[2], m0, s0, out_offset, act_min, act_max);
            out1[oc1] = requantize(acc[3], m1, s1, out_offset, act_min, act_max);
        }
    }
}

/*
 * In-place 1x1 convolution, 2 pixels x 2 output channels per inner loop, the input offset folded into
 * per-channel biases (bias + input_offset * sum(weights), on the stack). Output pixels p and p + 1 occupy
 * bytes [p * out_c, (p + 2) * out_c), below their inputs [p * in_c, (p + 2) * in_c) once
 * (p + 2) * out_c <= p * in_c: those pairs are written directly; earlier pixels (the output would overwrite
 * inputs still to be read) and an odd last pixel go one at a time through `pixel` (out_c bytes of scratch).
 */
static inline __attribute__((always_inline)) void conv1x1_inplace(const cmsis_nn_conv_params *params,
                                                                  const cmsis_nn_per_channel_quant_params *quant,
                                                                  int8_t *buffer, const int8_t *filter,
                                                                  const int32_t *base, int32_t pixels, int32_t in_c,
                                                                  int32_t out_c, int8_t *pixel, const int FAST)
{
    int32_t p = 0;
    for (; p < pixels && (p + 2 > pixels || (p + 2) * out_c > p * in_c); p++)
    {
        const int8_t *x = &buffer[p * in_c];
        conv1x1_pixels(params, quant, x, x, filter, base, in_c, out_c, pixel, pixel, FAST);
        memcpy(&buffer[p * out_c], pixel, (size_t)out_c);
    }
    for (; p + 1 < pixels; p += 2)
    {
        conv1x1_pixels(params, quant, &buffer[p * in_c], &buffer[(p + 1) * in_c], filter, base, in_c, out_c,
                       &buffer[p * out_c], &buffer[(p + 1) * out_c], FAST);
    }
    if (p < pixels)
    {
        const int8_t *x = &buffer[p * in_c];
        conv1x1_pixels(params, quant, x, x, filter, base, in_c, out_c, pixel, pixel, FAST);
        memcpy(&buffer[p * out_c], pixel, (size_t)out_c);
    }
}

static void conv1x1_inplace_fast(const cmsis_nn_conv_params *params, const cmsis_nn_per_channel_quant_params *quant,
                                 int8_t *buffer, const int8_t *filter, const int32_t *base, int32_t pixels,
                                 int32_t in_c, int32_t out_c, int8_t *pixel)
{
    conv1x1_inplace(params, quant, buffer, filter, base, pixels, in_c, out_c, pixel, 1);
}

static void conv1x1_inplace_exact(const cmsis_nn_conv_params *params, const cmsis_nn_per_channel_quant_params *quant,
                                  int8_t *buffer, const int8_t *filter, const int32_t *base, int32_t pixels,
                                  int32_t in_c, int32_t out_c, int8_t *pixel)
{
    conv1x1_inplace(params, quant, buffer, filter, base, pixels, in_c, out_c, pixel, 0);
}



/*
 * In-place 1x1 convolution (in_c <= TINYC_COLS_MAX_K) through the interleaved int16 columns of 2 pixels on the
 * stack: both pixels are converted before any of their outputs is written, and the outputs of pixels p, p + 1,
 * bytes [p * out_c, (p + 2) * out_c), lie below the inputs still to be read, from (p + 2) * in_c (out_c <= in_c).
 */
static inline __attribute__((always_inline)) void conv1x1_cols_inplace(const cmsis_nn_conv_params *params,
                                                                       const cmsis_nn_per_channel_quant_params *quant,
                                                                       int8_t *buffer, const int8_t *filter,
                                                                       const int32_t *bias, int32_t pixels,
                                                                       int32_t in_c, int32_t out_c, const int MODE)
{
    int16_t cols[2 * TINYC_COLS_MAX_K] __attribute__((aligned(4)));
    for (int32_t p = 0; p < pixels; p += 2)
    {
        const int32_t p1 = p + 1 < pixels ? p + 1 : p;
        pixel_to_cols(&buffer[p * in_c], in_c, params->input_offset, 0, cols);
        pixel_to_cols(&buffer[p1 * in_c], in_c, params->input_offset, 1, cols);
        cols_outputs(params, quant, cols, filter, bias, in_c, out_c, &buffer[p * out_c], &buffer[p1 * out_c], MODE);
    }
}

static void conv1x1_cols_inplace_any(const cmsis_nn_conv_params *params, const cmsis_nn_per_channel_quant_params *quant,
                                     int8_t *buffer, const int8_t *filter, const int32_t *bias, int32_t pixels,
                                     int32_t in_c, int32_t out_c, int32_t mode)
{
    if (mode == REQUANT_FAST)
    {
        conv1x1_cols_inplace(params, quant, buffer, filter, bias, pixels, in_c, out_c, REQUANT_FAST);
    }
    else if (mode == REQUANT_FAST_CLAMP)
    {
        conv1x1_cols_inplace(params, quant, buffer, filter, bias, pixels, in_c, out_c, REQUANT_FAST_CLAMP);
    }
    else
    {
        conv1x1_cols_inplace(params, quant, buffer, filter, bias, pixels, in_c, out_c, REQUANT_EXACT);
    }
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
    const int32_t offset = params->input_offset;
    if (filter_dims->c != in_c || out_c > TINYC_1X1_MAX_CHANNELS || out_c > in_c ||
        !quant_supported(quant->multiplier, quant->shift, out_c, 1))
    {
        return 0;
    }
    if (in_c <= TINYC_COLS_MAX_K)
    {
        int all_fast = 1;
        for (int32_t oc = 0; oc < out_c; oc++)
        {
            all_fast = all_fast && fast_requant_ok(quant->shift[oc], bias_data != NULL ? bias_data[oc] : 0, in_c);
        }
        conv1x1_cols_inplace_any(params, quant, buffer, filter_data, bias_data, pixels, in_c, out_c,
                                 all_fast ? fast_mode(params->activation.min, params->activation.max)
                                          : REQUANT_EXACT);
        return 1;
    }
    int32_t base[TINYC_1X1_MAX_CHANNELS];
    int fast = params->activation.min <= -128 && params->activation.max >= 127;
    for (int32_t oc = 0; oc < out_c; oc++)
    {
        const int32_t sum = sum_s8(&filter_data[oc * in_c], in_c);
        const int32_t bias = bias_data != NULL ? bias_data[oc] : 0;
        base[oc] = bias + offset * sum;
        fast = fast && fast_requant_ok(quant->shift[oc], bias, in_c);
    }
    if (fast)
    {
        conv1x1_inplace_fast(params, quant, buffer, filter_data, base, pixels, in_c, out_c, pixel);
    }
    else
    {
        conv1x1_inplace_exact(params, quant, buffer, filter_data, base, pixels, in_c, out_c, pixel);
    }
    return 1;
}


#endif /* TINYC_DSP_KERNELS */
