/*
 * tinyc_dsp_convolve_s4: a convolution with int4 weights (TFLite's packing: two per byte over the flattened
 * [C_OUT, HK, WK, C_IN] filter, the even element in the low nibble), 4 output pixels at a time. The windows of
 * the 4 pixels become int16 im2col columns (input + offset) in the context buffer, k in groups of 8 laid out as
 * [k0 k4 k2 k6 k1 k5 k3 k7] per pixel; one word of 8 weights then gives the 4 SMLAD operands of all 4 pixels
 * with 3 ALU instructions and 4 SXTB16: (w << 4) & 0xF0F0F0F0 holds the even nibbles, w & 0xF0F0F0F0 the odd
 * ones, each in the high half of a byte, so SXTB16 sign-extends 16 x the weight and the sum is shifted down by 4
 * at the end (exact: every product is a multiple of 16). A row that starts at an odd nibble (k odd) is shifted
 * into place; the last k % 8 run by scalar code. 0 (the portable kernel runs it): grouped or dilated
 * convolutions, an unusual multiplier, k over 16384, or a context buffer smaller than TINYC_S4_COLUMNS_BYTES(k).
 */
#include "tinyc_dsp.h"

#if TINYC_DSP_KERNELS

#include "tinyc_dsp_support.h"

#define TINYC_S4_MAX_K 16384 /* 16 x |w| x |x| x k stays below 2^31 */
#define TINYC_S4_PIXELS 4    /* columns per pass */

/* Weights 8g .. 8g + 7 of a row (`row` = the byte holding its first nibble; `odd`: the high one): one word, the
 * first weight in the lowest nibble. */
static inline __attribute__((always_inline)) uint32_t s4_word(const int8_t *row, int32_t g, const int odd)
{
    const uint32_t w = (uint32_t)read_s8x4(row + 4 * g);
    return odd ? (w >> 4) | ((uint32_t)(uint8_t)row[4 * g + 4] << 28) : w;
}

static inline int32_t s4_nibble(const int8_t *filter, int32_t index)
{
    const int32_t byte = filter[index >> 1];
    return (index & 1) ? (byte >> 4) : (int32_t)((uint32_t)byte << 28) >> 28;
}

/* The window of output pixel (n, oy, ox) into column `slot` (0 to 3): group g of 8 at int16 32 * g + 8 * slot,
 * permuted; the last k % 8 in order at 32 * (k / 8) + 8 * slot. */
static void s4_column(const cmsis_nn_conv_params *params, const cmsis_nn_dims *input_dims, const int8_t *input,
                      const cmsis_nn_dims *filter_dims, int32_t n, int32_t oy, int32_t ox, int32_t slot,
                      int16_t *cols)
{
    static const int8_t slot_of[8] = {0, 4, 2, 6, 1, 5, 3, 7};
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t k8 = (k_h * k_w * in_c) & ~7;
    const int32_t offset = params->input_offset;
    const int32_t offset2 = (int32_t)(((uint32_t)offset & 0xFFFFu) | ((uint32_t)offset << 16));
    const int32_t y0 = oy * params->stride.h - params->padding.h;
    const int32_t x0 = ox * params->stride.w - params->padding.w;
    int16_t *own = cols + 8 * slot;
    int16_t *tail = own + 4 * k8;
    int32_t i = 0;
    for (int32_t ky = 0; ky < k_h; ky++)
    {
        const int32_t y = y0 + ky;
        for (int32_t kx = 0; kx < k_w; kx++)
        {
            const int32_t x = x0 + kx;
            const int inside = y >= 0 && y < in_h && x >= 0 && x < in_w;
            const int8_t *src = input + ((n * in_h + y) * in_w + x) * in_c;
            if (inside && (in_c & 7) == 0)
            {
                /* i is a multiple of 8 here and k has no tail: whole groups, 8 channels per 2 word loads */
                for (int32_t c = 0; c < in_c; c += 8, i += 8)
                {
                    const int32_t v0 = read_s8x4(src + c), v1 = read_s8x4(src + c + 4);
                    const uint32_t e0 = (uint32_t)__sadd16(__sxtb16(v0), offset2);
                    const uint32_t o0 = (uint32_t)__sadd16(sxtb16_ror8(v0), offset2);
                    const uint32_t e1 = (uint32_t)__sadd16(__sxtb16(v1), offset2);
                    const uint32_t o1 = (uint32_t)__sadd16(sxtb16_ror8(v1), offset2);
                    const uint32_t words[4] = {(e0 & 0xFFFFu) | (e1 << 16), (e1 & 0xFFFF0000u) | (e0 >> 16),
                                               (o0 & 0xFFFFu) | (o1 << 16), (o1 & 0xFFFF0000u) | (o0 >> 16)};
                    memcpy(&own[4 * i], words, sizeof(words));
                }
                continue;
            }
            for (int32_t c = 0; c < in_c; c++, i++)
            {
                const int16_t value = (int16_t)(inside ? src[c] + offset : 0);
                if (i < k8)
                {
                    own[4 * (i & ~7) + slot_of[i & 7]] = value;
                }
                else
                {
                    tail[i - k8] = value;
                }
            }
        }
    }
}

/* sum over the row's groups of 8 of 16 x weight x column, for the 4 pixels. */
static inline __attribute__((always_inline)) void s4_dot4(const int16_t *cols, const int8_t *row, const int odd,
                                                          int32_t groups, int32_t *acc)
{
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
#ifdef __OPTIMIZE__
    if (!odd && groups > 0)
    {
        /* 35 instructions per 32 MACs. LDRD needs word alignment: the columns are word aligned, 64 bytes per
         * group; the weights are read by LDR (unaligned allowed). */
        const int16_t *end = cols + 32 * groups;
        int32_t w, e, t, x, y;
        __asm__ volatile("1:\n\t"
                         "ldr %[w], [%[row]], #4\n\t"
                         "lsl %[e], %[w], #4\n\t"
                         "and %[e], %[e], #0xF0F0F0F0\n\t"
                         "and %[w], %[w], #0xF0F0F0F0\n\t"
                         "sxtb16 %[t], %[e]\n\t"
                         "sxtb16 %[e], %[e], ror #8\n\t"
                         "ldrd %[x], %[y], [%[c]]\n\t"
                         "smlad %[a0], %[x], %[t], %[a0]\n\t"
                         "smlad %[a0], %[y], %[e], %[a0]\n\t"
                         "ldrd %[x], %[y], [%[c], #16]\n\t"
                         "smlad %[a1], %[x], %[t], %[a1]\n\t"
                         "smlad %[a1], %[y], %[e], %[a1]\n\t"
                         "ldrd %[x], %[y], [%[c], #32]\n\t"
                         "smlad %[a2], %[x], %[t], %[a2]\n\t"
                         "smlad %[a2], %[y], %[e], %[a2]\n\t"
                         "ldrd %[x], %[y], [%[c], #48]\n\t"
                         "smlad %[a3], %[x], %[t], %[a3]\n\t"
                         "smlad %[a3], %[y], %[e], %[a3]\n\t"
                         "sxtb16 %[t], %[w]\n\t"
                         "sxtb16 %[w], %[w], ror #8\n\t"
                         "ldrd %[x], %[y], [%[c], #8]\n\t"
                         "smlad %[a0], %[x], %[t], %[a0]\n\t"
                         "smlad %[a0], %[y], %[w], %[a0]\n\t"
                         "ldrd %[x], %[y], [%[c], #24]\n\t"
                         "smlad %[a1], %[x], %[t], %[a1]\n\t"
                         "smlad %[a1], %[y], %[w], %[a1]\n\t"
                         "ldrd %[x], %[y], [%[c], #40]\n\t"
                         "smlad %[a2], %[x], %[t], %[a2]\n\t"
                         "smlad %[a2], %[y], %[w], %[a2]\n\t"
                         "ldrd %[x], %[y], [%[c], #56]\n\t"
                         "smlad %[a3], %[x], %[t], %[a3]\n\t"
                         "smlad %[a3], %[y], %[w], %[a3]\n\t"
                         "add %[c], %[c], #64\n\t"
                         "cmp %[c], %[end]\n\t"
                         "bne 1b"
                         : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [c] "+r"(cols),
                           [row] "+r"(row), [w] "=&r"(w), [e] "=&r"(e), [t] "=&r"(t), [x] "=&r"(x), [y] "=&r"(y)
                         : [end] "r"(end)
                         : "cc", "memory");
        acc[0] = a0;
        acc[1] = a1;
        acc[2] = a2;
        acc[3] = a3;
        return;
    }
#endif
    for (int32_t g = 0; g < groups; g++, cols += 32)
    {
        const uint32_t w = s4_word(row, g, odd);
        const int32_t even = (int32_t)((w << 4) & 0xF0F0F0F0u), oddn = (int32_t)(w & 0xF0F0F0F0u);
        const int32_t w04 = __sxtb16(even), w26 = sxtb16_ror8(even), w15 = __sxtb16(oddn), w37 = sxtb16_ror8(oddn);
        a0 = __smlad(read_s16x2(cols + 6), w37, __smlad(read_s16x2(cols + 4), w15,
             __smlad(read_s16x2(cols + 2), w26, __smlad(read_s16x2(cols), w04, a0))));
        a1 = __smlad(read_s16x2(cols + 14), w37, __smlad(read_s16x2(cols + 12), w15,
             __smlad(read_s16x2(cols + 10), w26, __smlad(read_s16x2(cols + 8), w04, a1))));
        a2 = __smlad(read_s16x2(cols + 22), w37, __smlad(read_s16x2(cols + 20), w15,
             __smlad(read_s16x2(cols + 18), w26, __smlad(read_s16x2(cols + 16), w04, a2))));
        a3 = __smlad(read_s16x2(cols + 30), w37, __smlad(read_s16x2(cols + 28), w15,
             __smlad(read_s16x2(cols + 26), w26, __smlad(read_s16x2(cols + 24), w04, a3))));
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* Every output channel of the 4 pixels (`outs`; repeated pixels for a short last pass write twice). */
static inline __attribute__((always_inline)) void s4_outputs(const cmsis_nn_conv_params *params,
                                                             const cmsis_nn_per_channel_quant_params *quant,
                                                             const int16_t *cols, const int8_t *filter,
                                                             const int32_t *bias, int32_t k, int32_t out_c,
                                                             int8_t *const *outs, const int MODE)
{
    const int32_t out_offset = params->output_offset;
    const int32_t act_min = params->activation.min, act_max = params->activation.max;
    const int32_t k8 = k & ~7, groups = k >> 3;
    const int16_t *tail = cols + 4 * k8;
    for (int32_t oc = 0; oc < out_c; oc++)
    {
        const int32_t first = oc * k;
        int32_t acc[TINYC_S4_PIXELS];
        if (first & 1)
        {
            s4_dot4(cols, filter + (first >> 1), 1, groups, acc);
        }
        else
        {
            s4_dot4(cols, filter + (first >> 1), 0, groups, acc);
        }
        const int32_t b = bias ? bias[oc] : 0;
        for (int32_t q = 0; q < TINYC_S4_PIXELS; q++)
        {
            acc[q] = (acc[q] >> 4) + b;
        }
        for (int32_t j = k8; j < k; j++)
        {
            const int32_t w = s4_nibble(filter, first + j);
            for (int32_t q = 0; q < TINYC_S4_PIXELS; q++)
            {
                acc[q] += w * tail[8 * q + j - k8];
            }
        }
        const int32_t m = quant->multiplier[oc], s = quant->shift[oc], e = -s, h = half_of(s);
        for (int32_t q = 0; q < TINYC_S4_PIXELS; q++)
        {
            outs[q][oc] = requantize_mode(acc[q], m, s, e, h, out_offset, act_min, act_max, MODE);
        }
    }
}

int32_t tinyc_dsp_convolve_s4(const cmsis_nn_context *ctx,
                              const cmsis_nn_conv_params *conv_params,
                              const cmsis_nn_per_channel_quant_params *quant_params,
                              const cmsis_nn_dims *input_dims,
                              const int8_t *input_data,
                              const cmsis_nn_dims *filter_dims,
                              const int8_t *filter_data,
                              const int32_t *bias_data,
                              const cmsis_nn_dims *output_dims,
                              int8_t *output_data)
{
    const int32_t out_c = output_dims->c;
    const int32_t k = filter_dims->h * filter_dims->w * input_dims->c;
    if (filter_dims->c != input_dims->c || filter_dims->n != out_c || conv_params->dilation.h != 1 ||
        conv_params->dilation.w != 1 || k > TINYC_S4_MAX_K ||
        !quant_supported(quant_params->multiplier, quant_params->shift, out_c, 1))
    {
        return 0;
    }
    if (ctx == NULL || ctx->buf == NULL || ctx->size < TINYC_S4_COLUMNS_BYTES(k) || ((uintptr_t)ctx->buf & 3u) != 0u)
    {
        return 0;
    }
    int16_t *cols = (int16_t *)ctx->buf;
    const int32_t out_hw = output_dims->h * output_dims->w;
    const int32_t out_w = output_dims->w;
    const int32_t pixels = output_dims->n * out_hw;
    const int32_t act_min = conv_params->activation.min, act_max = conv_params->activation.max;
    int32_t all_fast = 1;
    for (int32_t oc = 0; oc < out_c; oc++)
    {
        all_fast &= fast_requant_ok(quant_params->shift[oc], bias_data ? bias_data[oc] : 0, k);
    }
    const int32_t mode = all_fast ? fast_mode(act_min, act_max) : REQUANT_EXACT;
    for (int32_t p = 0; p < pixels; p += TINYC_S4_PIXELS)
    {
        int8_t *outs[TINYC_S4_PIXELS];
        for (int32_t q = 0; q < TINYC_S4_PIXELS; q++)
        {
            const int32_t pq = p + q < pixels ? p + q : pixels - 1; /* a short last pass repeats its last pixel */
            const int32_t n = pq / out_hw, r = pq - n * out_hw;
            s4_column(conv_params, input_dims, input_data, filter_dims, n, r / out_w, r % out_w, q, cols);
            outs[q] = output_data + pq * out_c;
        }
        if (mode == REQUANT_FAST)
        {
            s4_outputs(conv_params, quant_params, cols, filter_data, bias_data, k, out_c, outs, REQUANT_FAST);
        }
        else if (mode == REQUANT_FAST_CLAMP)
        {
            s4_outputs(conv_params, quant_params, cols, filter_data, bias_data, k, out_c, outs, REQUANT_FAST_CLAMP);
        }
        else
        {
            s4_outputs(conv_params, quant_params, cols, filter_data, bias_data, k, out_c, outs, REQUANT_EXACT);
        }
    }
    return 1;
}

#endif /* TINYC_DSP_KERNELS */
