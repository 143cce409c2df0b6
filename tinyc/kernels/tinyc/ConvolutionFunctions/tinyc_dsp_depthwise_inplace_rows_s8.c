/*
 * Two variants of tinyc_dsp_depthwise_conv_inplace_s8, one channel at a time (any channel count):
 * - tinyc_dsp_depthwise_inplace_rows_s8: padded rows (the input zero point around), so borders take the SMLAD path
 *   too; 1, 2 or 4 adjacent output pixels share each input word, their kernel rows shifted inside the word; kernel
 *   rows unrolled for 3x3, 5x5, 7x7 (dw_choose picks the cheapest specialization);
 * - tinyc_dsp_depthwise_inplace_plane_s8: other shapes, from one channel plane in the arena scratch, scalar
 *   borders.
 * On the stack: the padded-row window when the plane scratch is smaller (<= 512 B), the weights (<= 512 B) and
 * one output row of accumulators (<= 652 B).
 */
#include "tinyc_dsp.h"

#if TINYC_DSP_KERNELS

#include "tinyc_dsp_support.h"

#define TINYC_DW_RING_STACK_BYTES 512 /* padded-row window on the stack when the plane scratch is smaller */
#define TINYC_DW_MAX_OUT_W 160        /* int32 accumulators of one output row on the stack */
/* One channel of the padded-row depthwise (depthwise_inplace_rows): its weights, folded bias and quantization. */
typedef struct
{
    const int8_t *input;    /* channel c of the NHWC buffer (read before it is overwritten) */
    int8_t *output;         /* the same buffer, channel c */
    int8_t *ring;           /* 2 * k_h rows of row_bytes */
    const int32_t *weights; /* [k_h][words][pixels][even, odd] */
    int32_t row_bytes, k_h, in_h, in_w, chans, out_h, out_w, stride_h, stride_w, pad_h, pad_w;
    int32_t full, multiplier, shift, exponent, half, out_offset, act_min, act_max;
    int8_t zero_point;
    int fast, narrow;
} dw_channel_args;

/* Requantizes and stores one output row of accumulators, `count` pixels `stride` bytes apart. */
static void dw_store_row(const dw_channel_args *a, const int32_t *acc, int32_t count, int8_t *out)
{
    const int32_t stride = a->chans, out_offset = a->out_offset;
    const int32_t act_min = a->act_min, act_max = a->act_max;
    const int32_t multiplier = a->multiplier;
    if (a->fast)
    {
        const int32_t exponent = a->exponent, half = a->half;
        if (!a->narrow)
        {
            for (int32_t i = 0; i < count; i++, out += stride)
            {
                *out = (int8_t)requantize_fast(acc[i], multiplier, exponent, half, out_offset);
            }
            return;
        }
        for (int32_t i = 0; i < count; i++, out += stride)
        {
            int32_t v = requantize_fast(acc[i], multiplier, exponent, half, out_offset);
            v = v < act_min ? act_min : (v > act_max ? act_max : v);
            *out = (int8_t)v;
        }
        return;
    }
    for (int32_t i = 0; i < count; i++, out += stride)
    {
        *out = requantize(acc[i], multiplier, a->shift, out_offset, act_min, act_max);
    }
}

static inline __attribute__((always_inline)) void load_pair(const int32_t *p, int32_t *even, int32_t *odd)
{
    int64_t v;
    memcpy(&v, p, sizeof(v)); /* LDRD */
    *even = (int32_t)v;
    *odd = (int32_t)(v >> 32);
}

/*
 * One channel, P adjacent output pixels per step: per kernel row, W words of input (4 bytes each, SXTB16
 * into even and odd lanes) are shared by the P pixels; pixel i's kernel row sits shifted by i * stride
 * bytes inside those words, zero beyond the kernel, so each pixel needs 2 SMLAD per word (weights as
 * [even, odd] pairs: one LDRD). KH > 0 unrolls the kernel rows (k_h == KH); KH == 0 loops over a->k_h.
 * Each output row's accumulators go to `acc` (groups * P), then dw_store_row requantizes them.
 */
static inline __attribute__((always_inline)) void dw_channel(const dw_channel_args *a, int32_t *acc, const int P,
                                                             const int W, const int KH)
{
    const int32_t k_h = KH > 0 ? KH : a->k_h;
    const int32_t row_bytes = a->row_bytes, in_w = a->in_w, chans = a->chans, out_w = a->out_w;
    const int32_t step = P * a->stride_w, full = a->full;
    const int32_t *const weights = a->weights;
    int32_t next = 0; /* next padded row to gather */
    memset(a->ring, a->zero_point, (size_t)(2 * k_h * row_bytes));
    for (int32_t oy = 0; oy < a->out_h; oy++)
    {
        const int32_t top = oy * a->stride_h; /* padded row index of the window's first row */
        for (; next < top + k_h; next++)
        {
            const int32_t r = next - a->pad_h;
            int8_t *d0 = a->ring + (next % k_h) * row_bytes + a->pad_w;
            int8_t *d1 = d0 + k_h * row_bytes;
            if (r >= 0 && r < a->in_h)
            {
                const int8_t *src = a->input + r * in_w * chans;
                for (int32_t x = 0; x < in_w; x++, src += chans)
                {
                    const int8_t v = *src;
                    d0[x] = v;
                    d1[x] = v;
                }
            }
            else
            {
                memset(d0, a->zero_point, (size_t)in_w);
                memset(d1, a->zero_point, (size_t)in_w);
            }
        }
        const int8_t *window = a->ring + (top % k_h) * row_bytes;
        int32_t *dst = acc;
        for (int32_t ox = 0; ox < out_w; ox += P, window += step, dst += P)
        {
            int32_t a0 = full, a1 = full, a2 = full, a3 = full;
            const int8_t *src = window;
            const int32_t *w = weights;
#pragma GCC unroll 8
            for (int32_t ky = 0; ky < k_h; ky++, src += row_bytes, w += 2 * P * W)
            {
#pragma GCC unroll 4
                for (int j = 0; j < W; j++)
                {
                    const int32_t v = read_s8x4(src + 4 * j);
                    const int32_t e = __sxtb16(v), o = sxtb16_ror8(v);
                    const int32_t *k = w + 2 * P * j;
                    int32_t ke, ko;
                    load_pair(k, &ke, &ko);
                    a0 = __smlad(e, ke, a0);
                    a0 = __smlad(o, ko, a0);
                    if (P > 1)
                    {
                        load_pair(k + 2, &ke, &ko);
                        a1 = __smlad(e, ke, a1);
                        a1 = __smlad(o, ko, a1);
                    }
                    if (P > 2)
                    {
                        load_pair(k + 4, &ke, &ko);
                        a2 = __smlad(e, ke, a2);
                        a2 = __smlad(o, ko, a2);
                        load_pair(k + 6, &ke, &ko);
                        a3 = __smlad(e, ke, a3);
                        a3 = __smlad(o, ko, a3);
                    }
                }
            }
            dst[0] = a0;
            if (P > 1)
            {
                dst[1] = a1;
            }
            if (P > 2)
            {
                dst[2] = a2;
                dst[3] = a3;
            }
        }
        dw_store_row(a, acc, out_w, a->output + oy * out_w * chans);
    }
}

typedef void (*dw_channel_fn)(const dw_channel_args *, int32_t *);
#define TINYC_DW_CHANNEL(P, W, KH)                                                                             \
    static void dw_channel_##P##_##W##_##KH(const dw_channel_args *a, int32_t *acc)                            \
    {                                                                                                          \
        dw_channel(a, acc, P, W, KH);                                                                          \
    }
TINYC_DW_CHANNEL(1, 1, 0)
TINYC_DW_CHANNEL(1, 2, 0)
TINYC_DW_CHANNEL(1, 1, 3)
TINYC_DW_CHANNEL(2, 1, 3)
TINYC_DW_CHANNEL(2, 2, 5)
TINYC_DW_CHANNEL(4, 2, 5)
TINYC_DW_CHANNEL(1, 2, 7)
TINYC_DW_CHANNEL(2, 2, 7)

/* Instructions per pixel and kernel row, roughly W * (3 + 3 * P) / P (per input word LDR + 2 SXTB16, shared
 * by the P pixels; per pixel and word LDRD + 2 SMLAD): the cheapest specialized (P, W, k_h) that covers the
 * window, else one pixel per step with the kernel rows in a loop. */
static dw_channel_fn dw_choose(int32_t k_h, int32_t k_w, int32_t stride_w, int32_t *pixels, int32_t *words)
{
    static const struct
    {
        int8_t p, w, kh;
        dw_channel_fn fn;
    } options[] = {{1, 1, 3, dw_channel_1_1_3}, {2, 1, 3, dw_channel_2_1_3}, {2, 2, 5, dw_channel_2_2_5},
                   {4, 2, 5, dw_channel_4_2_5}, {1, 2, 7, dw_channel_1_2_7}, {2, 2, 7, dw_channel_2_2_7}};
    dw_channel_fn best = NULL;
    int32_t best_cost = 0;
    for (uint32_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
    {
        const int32_t p = options[i].p, w = options[i].w;
        if (options[i].kh != k_h || k_w + stride_w * (p - 1) > 4 * w)
        {
            continue;
        }
        const int32_t cost = w * (3 + 3 * p) * 4 / p; /* x4: exact for p in {1, 2, 4} */
        if (best == NULL || cost < best_cost)
        {
            best = options[i].fn, best_cost = cost, *pixels = p, *words = w;
        }
    }
    if (best == NULL)
    {
        *pixels = 1;
        *words = k_w > 4 ? 2 : 1;
        best = k_w > 4 ? dw_channel_1_2_0 : dw_channel_1_1_0;
    }
    return best;
}

/*
 * In-place depthwise through a window of padded rows: channel by channel, input rows are gathered from the
 * NHWC buffer into a ring of k_h rows, each stored twice (slots r % k_h and r % k_h + k_h) so the k_h rows
 * of any output row are contiguous; pad columns and rows outside the input hold the input zero point
 * (-input_offset), whose products with the folded offset cancel, so every pixel takes the same SMLAD path
 * with bias + input_offset * sum(weights). Output row oy overwrites, in channel c, input pixels of rows <= oy
 * (out_w <= in_w), and input row r is gathered before output row ceil((r + pad_h - k_h + 1) / stride) <= r
 * is written (pad_h < k_h): every input byte is read before it is overwritten.
 */
int32_t tinyc_dsp_depthwise_inplace_rows_s8(const cmsis_nn_dw_conv_params *params,
                                      const cmsis_nn_per_channel_quant_params *quant,
                                      const cmsis_nn_dims *input_dims, int8_t *buffer,
                                      const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                                      const int32_t *bias_data, const cmsis_nn_dims *output_dims, int8_t *plane)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, chans = input_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t stride_h = params->stride.h, stride_w = params->stride.w;
    const int32_t pad_h = params->padding.h, pad_w = params->padding.w;
    const int32_t offset = params->input_offset;
    if (pad_h >= k_h || pad_w >= k_w || out_w > in_w || out_h > in_h || offset < -127 || offset > 128 ||
        stride_h < 1 || stride_w < 1 || stride_w > 4)
    {
        return 0;
    }
    int32_t pixels = 1, words = 1;
    const dw_channel_fn fn = dw_choose(k_h, k_w, stride_w, &pixels, &words);
    if ((pixels - 1) * stride_w > 8)
    {
        return 0; /* the weight shifts below reach 8 bytes at most (not reached by the options above) */
    }
    const int32_t groups = (out_w + pixels - 1) / pixels;
    int32_t row_bytes = (groups - 1) * pixels * stride_w + 4 * words;
    row_bytes = row_bytes > pad_w + in_w ? row_bytes : pad_w + in_w;
    const int32_t ring_bytes = 2 * k_h * row_bytes;
    int8_t stack_ring[TINYC_DW_RING_STACK_BYTES];
    int8_t *ring = plane;
    if (ring_bytes > in_h * in_w)
    {
        if (ring_bytes > TINYC_DW_RING_STACK_BYTES)
        {
            return 0;
        }
        ring = stack_ring;
    }
    if (out_w > TINYC_DW_MAX_OUT_W)
    {
        return 0;
    }
    int32_t w[8 * 2 * 4 * 2] __attribute__((aligned(8))); /* [k_h][words][pixels][even, odd] */
    int32_t acc[TINYC_DW_MAX_OUT_W + 3];                  /* one output row, rounded up to whole steps */
    dw_channel_args a = {.ring = ring, .weights = w, .row_bytes = row_bytes, .k_h = k_h, .in_h = in_h,
                         .in_w = in_w, .chans = chans, .out_h = out_h, .out_w = out_w, .stride_h = stride_h,
                         .stride_w = stride_w, .pad_h = pad_h, .pad_w = pad_w, .out_offset = params->output_offset,
                         .act_min = params->activation.min, .act_max = params->activation.max,
                         .zero_point = (int8_t)(-offset),
                         .narrow = params->activation.min > -128 || params->activation.max < 127};
    for (int32_t c = 0; c < chans; c++)
    {
        int32_t weight_sum = 0;
        for (int32_t ky = 0; ky < k_h; ky++)
        {
            int8_t ext[20] = {0}; /* the kernel row at [8, 8 + k_w), zeros around: shifts of up to 8 bytes */
            for (int32_t kx = 0; kx < k_w; kx++)
            {
                ext[8 + kx] = filter_data[(ky * k_w + kx) * chans + c];
                weight_sum += ext[8 + kx];
            }
            int32_t *q = &w[ky * words * pixels * 2];
            for (int32_t j = 0; j < words; j++)
            {
                for (int32_t i = 0; i < pixels; i++, q += 2)
                {
                    const int32_t v = read_s8x4(&ext[8 + 4 * j - i * stride_w]);
                    q[0] = __sxtb16(v);
                    q[1] = sxtb16_ror8(v);
                }
            }
        }
        const int32_t bias = bias_data != NULL ? bias_data[c] : 0;
        a.input = buffer + c;
        a.output = buffer + c;
        a.full = bias + offset * weight_sum;
        a.multiplier = quant->multiplier[c];
        a.shift = quant->shift[c];
        a.fast = fast_requant_ok(a.shift, bias, k_h * k_w);
        a.exponent = -a.shift;
        a.half = a.fast ? (int32_t)(1u << (a.exponent - 1)) : 0;
        fn(&a, acc);
    }
    return 1;
}

int32_t tinyc_dsp_depthwise_inplace_plane_s8(const cmsis_nn_dw_conv_params *params,
                                       const cmsis_nn_per_channel_quant_params *quant,
                                       const cmsis_nn_dims *input_dims, int8_t *buffer,
                                       const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                                       const int32_t *bias_data, const cmsis_nn_dims *output_dims, int8_t *plane)
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
        !quant_supported(quant->multiplier, quant->shift, chans, 1))
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
                const int32_t v = read_s8x4(&row[4 * j]);
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
                        const int32_t v = read_s8x4(src);
                        acc = __smlad(__sxtb16(v), w_even[ky][0], acc);
                        acc = __smlad(sxtb16_ror8(v), w_odd[ky][0], acc);
                        if (words == 2)
                        {
                            const int32_t u = read_s8x4(src + 4);
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

#endif /* TINYC_DSP_KERNELS */
