/*
 * DSP paths (ARMv7E-M: SXTB16, SMLAD, SMMULR, SSAT) of tinyc's in-place kernels, compiled when
 * __ARM_FEATURE_DSP is defined and TINYC_PORTABLE_KERNELS is not; tinyc_memory.c calls them first and
 * runs its portable code when they return 0. Arena scratch as the portable code reserves it: one input
 * channel plane (depthwise), one output pixel (1x1 conv); on the stack besides: the depthwise's padded-row
 * window when the plane is smaller (<= 512 B), its weights (<= 512 B) and one output row of accumulators
 * (<= 652 B); the 1x1 conv's folded biases (<= 1 KB). The requantization helpers repeat those of
 * cmsis_nn/Source/tinyc_dsp_s8.c: this folder must build without tinyc's CMSIS-NN replacement.
 *
 * - depthwise in place, channels a multiple of 4 (depthwise_inplace4): 4 channels per step from a ring of
 *   zero-point padded rows of 4-channel words on the stack (<= 2 KiB), SMLABB / SMLATT, taps unrolled for
 *   3x3 and 5x5. Otherwise one channel at a time:
 * - depthwise in place: padded rows (the input zero point around), so borders take the SMLAD path too;
 *   1, 2 or 4 adjacent output pixels share each input word, their kernel rows shifted inside the word;
 *   kernel rows unrolled for 3x3, 5x5, 7x7 (depthwise_inplace_rows). Other shapes: one channel plane,
 *   scalar borders (depthwise_inplace_plane).
 * - 1x1 in place: 2 pixels x 2 output channels per inner loop from interleaved int16 columns of the 2
 *   pixels on the stack (in_c <= 256, 1 KiB); wider inputs on raw int8 operands, input offset folded into
 *   the bias.
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

/*
 * Fast requantization, equal to requantize() when shift <= -1 (no left shift) and |acc| < 2^30:
 * then 2 * acc fits in 32 bits and SMMULR(2 * acc, m) = floor((acc * m + 2^30) / 2^31), the rounded
 * doubling high multiply for both signs; the rounding divide by 2^e (e = -shift >= 1, half away from
 * zero) is (x + 2^(e-1) - (x < 0)) >> e, which cannot overflow for |x| < 2^30. SSAT saturates to int8,
 * the activation clamp is then applied only when it is narrower than [-128, 127].
 */
static inline int32_t smmulr(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

/* Saturate to int8 (SSAT #8). arm_acle.h's __ssat converts through unsigned inside its macro, which
 * -Wsign-conversion reports at every use, so the instruction is written out here. */
static inline int32_t ssat8(int32_t a)
{
    int32_t r;
    __asm__("ssat %0, #8, %1" : "=r"(r) : "r"(a));
    return r;
}

static inline int32_t requantize_fast(int32_t acc, int32_t multiplier, int32_t exponent, int32_t half,
                                      int32_t output_offset)
{
    int32_t x = smmulr(acc << 1, multiplier);
    x = (x + half + (x >> 31)) >> exponent;
    return ssat8(x + output_offset);
}

/* 1 when requantize_fast() is exact for every accumulator of this channel: shift <= -1 and
 * |bias| + taps * 255 * 128 < 2^30 (|input + input_offset| <= 255, |weight| <= 128). */
static inline int32_t fast_requant_ok(int32_t shift, int32_t bias, int32_t taps)
{
    const int64_t bound = (int64_t)(bias < 0 ? -(int64_t)bias : bias) + (int64_t)taps * 255 * 128;
    return shift <= -1 && bound < ((int64_t)1 << 30);
}

static inline int32_t read_s16x2(const int16_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* How an output channel is requantized: the exact 64-bit path, requantize_fast, or requantize_fast and the
 * activation clamp (act_min >= -128, act_max <= 127: clamp(ssat8(v)) == clamp(v)). */
enum
{
    REQUANT_EXACT = 0,
    REQUANT_FAST = 1,
    REQUANT_FAST_CLAMP = 2
};

static inline int32_t fast_mode(int32_t act_min, int32_t act_max)
{
    return act_min <= -128 && act_max >= 127 ? REQUANT_FAST : REQUANT_FAST_CLAMP;
}

static inline int32_t half_of(int32_t shift)
{
    return shift <= -1 ? (int32_t)(1u << (-shift - 1)) : 0;
}

static inline __attribute__((always_inline)) int8_t requantize_mode(int32_t acc, int32_t multiplier, int32_t shift,
                                                                     int32_t exponent, int32_t half,
                                                                     int32_t output_offset, int32_t act_min,
                                                                     int32_t act_max, const int MODE)
{
    if (MODE == REQUANT_EXACT)
    {
        return requantize(acc, multiplier, shift, output_offset, act_min, act_max);
    }
    int32_t v = requantize_fast(acc, multiplier, exponent, half, output_offset);
    if (MODE == REQUANT_FAST_CLAMP)
    {
        v = v < act_min ? act_min : (v > act_max ? act_max : v);
    }
    return (int8_t)v;
}

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
                    const int32_t v = load_s8x4(src + 4 * j);
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
static int32_t depthwise_inplace_rows(const cmsis_nn_dw_conv_params *params,
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
                    const int32_t v = load_s8x4(&ext[8 + 4 * j - i * stride_w]);
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

static int32_t depthwise_inplace_plane(const cmsis_nn_dw_conv_params *params,
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

/* Requantization of one group of 4 depthwise channels (lanes past the channel count unused). */
typedef struct
{
    int32_t multiplier[4], shift[4], exponent[4], half[4];
    int32_t out_offset, act_min, act_max, mode, group;
} dw_quant4;

/* Requantizes and stores the group's channels; MODE (a constant) says how; a group of fewer than 4
 * channels (REQUANT_EXACT only) stores only its own. */
static inline __attribute__((always_inline)) void dw_store4(int8_t *out, int32_t a0, int32_t a1, int32_t a2,
                                                            int32_t a3, const dw_quant4 *q, const int MODE)
{
    const int32_t off = q->out_offset, lo = q->act_min, hi = q->act_max;
    if (MODE != REQUANT_EXACT)
    {
        out[0] = requantize_mode(a0, q->multiplier[0], 0, q->exponent[0], q->half[0], off, lo, hi, MODE);
        out[1] = requantize_mode(a1, q->multiplier[1], 0, q->exponent[1], q->half[1], off, lo, hi, MODE);
        out[2] = requantize_mode(a2, q->multiplier[2], 0, q->exponent[2], q->half[2], off, lo, hi, MODE);
        out[3] = requantize_mode(a3, q->multiplier[3], 0, q->exponent[3], q->half[3], off, lo, hi, MODE);
        return;
    }
    const int32_t acc[4] = {a0, a1, a2, a3};
    for (int32_t j = 0; j < q->group; j++)
    {
        out[j] = requantize(acc[j], q->multiplier[j], q->shift[j], off, lo, hi);
    }
}

/* One tap of 4 channels: raw input (the offset is in the accumulators' start), weights [even, odd]. */
static inline __attribute__((always_inline)) void dw_tap(const int8_t *x, const int32_t *wt, int32_t *a0,
                                                         int32_t *a1, int32_t *a2, int32_t *a3)
{
    const int32_t v = load_s8x4(x);
    const int32_t xe = __sxtb16(v), xo = sxtb16_ror8(v);
    *a0 = __smlabb(xe, wt[0], *a0);
    *a2 = __smlatt(xe, wt[0], *a2);
    *a1 = __smlabb(xo, wt[1], *a1);
    *a3 = __smlatt(xo, wt[1], *a3);
}

/*
 * `count` output pixels of 4 channels (`out_step` output bytes apart) whose windows lie inside `src`
 * (`step` bytes apart; taps `chans` bytes apart, rows `row_bytes`): the input offset is in `full`
 * (bias + offset * sum of weights), so no SADD16 per tap. K_H, K_W > 0 make the window a compile-time
 * constant (fully unrolled taps, weights at constant stack offsets). w: [tap][even, odd] with
 * even = [w_c0 w_c2], odd = [w_c1 w_c3].
 */
static inline __attribute__((always_inline)) void dw_interior4(const int8_t *src, int8_t *out, int32_t count,
                                                               int32_t step, int32_t chans, int32_t row_bytes,
                                                               int32_t out_step, const int32_t *w,
                                                               const int32_t *full, const dw_quant4 *q,
                                                               int32_t k_h, int32_t k_w, const int K_H,
                                                               const int K_W, const int MODE)
{
    for (int32_t i = 0; i < count; i++, src += step, out += out_step)
    {
        int32_t a0 = full[0], a1 = full[1], a2 = full[2], a3 = full[3];
        if (K_H > 0 && K_W > 0)
        {
#pragma GCC unroll 7
            for (int32_t ky = 0; ky < K_H; ky++)
            {
#pragma GCC unroll 7
                for (int32_t kx = 0; kx < K_W; kx++)
                {
                    dw_tap(src + ky * row_bytes + kx * chans, w + 2 * (ky * K_W + kx), &a0, &a1, &a2, &a3);
                }
            }
        }
        else
        {
            const int8_t *row = src;
            const int32_t *wt = w;
            for (int32_t ky = 0; ky < k_h; ky++, row += row_bytes)
            {
                for (int32_t kx = 0; kx < k_w; kx++, wt += 2)
                {
                    dw_tap(row + kx * chans, wt, &a0, &a1, &a2, &a3);
                }
            }
        }
        dw_store4(out, a0, a1, a2, a3, q, MODE);
    }
}

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
                const int32_t v = load_s8x4(src);
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
            const int32_t v = load_s8x4(&filter_data[t * chans + c]);
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
        filter_dims->h > 8 || !quant_supported(quant, input_dims->c))
    {
        return 0;
    }
    if (depthwise_inplace4(params, quant, input_dims, buffer, filter_dims, filter_data, bias_data, output_dims))
    {
        return 1;
    }
    if (depthwise_inplace_rows(params, quant, input_dims, buffer, filter_dims, filter_data, bias_data, output_dims,
                               plane))
    {
        return 1;
    }
    return depthwise_inplace_plane(params, quant, input_dims, buffer, filter_dims, filter_data, bias_data,
                                   output_dims, plane);
}

#define TINYC_1X1_MAX_CHANNELS 256 /* per-channel folded biases of the in-place 1x1 conv on the stack */

/* acc[i][j] += sum_k x_i[k] * w_j[k] over raw int8 operands (the input offset is in the bias). */
static inline __attribute__((always_inline)) void dot_2x2(const int8_t *x0, const int8_t *x1, const int8_t *w0,
                                                          const int8_t *w1, int32_t k, int32_t *acc)
{
    /* second pixel and second channel as offsets from the first: fewer live registers, no spills */
    const int32_t dx = x1 - x0, dw = w1 - w0;
    int32_t s00 = acc[0], s01 = acc[1], s10 = acc[2], s11 = acc[3];
    const int8_t *end = x0 + (k & ~3);
    while (x0 != end)
    {
        const int32_t vx0 = load_s8x4(x0), vx1 = load_s8x4(x0 + dx);
        const int32_t x0e = __sxtb16(vx0), x0o = sxtb16_ror8(vx0);
        const int32_t x1e = __sxtb16(vx1), x1o = sxtb16_ror8(vx1);
        const int32_t vw0 = load_s8x4(w0);
        const int32_t w0e = __sxtb16(vw0), w0o = sxtb16_ror8(vw0);
        s00 = __smlad(x0e, w0e, s00);
        s00 = __smlad(x0o, w0o, s00);
        s10 = __smlad(x1e, w0e, s10);
        s10 = __smlad(x1o, w0o, s10);
        const int32_t vw1 = load_s8x4(w0 + dw);
        const int32_t w1e = __sxtb16(vw1), w1o = sxtb16_ror8(vw1);
        s01 = __smlad(x0e, w1e, s01);
        s01 = __smlad(x0o, w1o, s01);
        s11 = __smlad(x1e, w1e, s11);
        s11 = __smlad(x1o, w1o, s11);
        x0 += 4;
        w0 += 4;
    }
    for (int32_t n = k & 3; n > 0; n--, x0++, w0++)
    {
        const int32_t v0 = x0[0], v1 = x0[dx], c0 = w0[0], c1 = w0[dw];
        s00 += v0 * c0;
        s01 += v0 * c1;
        s10 += v1 * c0;
        s11 += v1 * c1;
    }
    acc[0] = s00;
    acc[1] = s01;
    acc[2] = s10;
    acc[3] = s11;
}

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
        dot_2x2(x0, x1, &filter[oc * in_c], &filter[oc1 * in_c], in_c, acc);
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
 * Two im2col / 1x1 columns interleaved per group of 4 k: pixel 0's 4 values then pixel 1's, as int16 with
 * the input offset added (|x + offset| <= 255), each group as [x0 x2 x1 x3] to match SXTB16 on the weights;
 * zeros past k up to the next multiple of 4. One pointer walks both columns, so the inner loop below keeps
 * its 4 accumulators, 4 input pairs, 2 weight pairs and 3 pointers in registers.
 */
#define TINYC_COLS_MAX_K 256 /* 1x1 convolution: columns of up to 256 input channels on the stack (1 KiB) */

/* Pixel x (in_c channels) into slot `slot` (0 or 1) of the interleaved columns. */
static void pixel_to_cols(const int8_t *x, int32_t in_c, int32_t offset, int32_t slot, int16_t *cols)
{
    const int32_t offset2 = (int32_t)(((uint32_t)offset & 0xFFFFu) | ((uint32_t)offset << 16));
    int16_t *dst = cols + 4 * slot;
    int32_t c = 0;
    for (; c + 4 <= in_c; c += 4, dst += 8)
    {
        const int32_t v = load_s8x4(x + c);
        const int32_t even = __sadd16(__sxtb16(v), offset2), odd = __sadd16(sxtb16_ror8(v), offset2);
        memcpy(dst, &even, sizeof(even));
        memcpy(dst + 2, &odd, sizeof(odd));
    }
    if (c < in_c)
    {
        static const int8_t order[4] = {0, 2, 1, 3};
        for (int32_t j = 0; j < 4; j++)
        {
            dst[order[j]] = (int16_t)(c + j < in_c ? x[c + j] + offset : 0);
        }
    }
}

/* acc[i][j] += sum_k col_i[k] * w_j[k] over `groups` groups of 4 k (interleaved columns, pixel_to_cols).
 * The weights of the last group past k meet zero columns: read (within the filter array but for the last
 * row's up to 3 bytes past it), multiplied by 0. */
static inline __attribute__((always_inline)) void dot_cols_2x2(const int16_t *cols, const int8_t *w0,
                                                               const int8_t *w1, int32_t groups, int32_t *a00,
                                                               int32_t *a01, int32_t *a10, int32_t *a11)
{
    int32_t s00 = *a00, s01 = *a01, s10 = *a10, s11 = *a11;
#ifndef __OPTIMIZE__
    /* unoptimized builds keep a frame pointer: too few registers for the assembly below */
    for (int32_t g = 0; g < groups; g++, cols += 8, w0 += 4, w1 += 4)
    {
        const int32_t x0e = read_s16x2(cols), x0o = read_s16x2(cols + 2);
        const int32_t x1e = read_s16x2(cols + 4), x1o = read_s16x2(cols + 6);
        const int32_t va = load_s8x4(w0), vb = load_s8x4(w1);
        s00 = __smlad(x0o, sxtb16_ror8(va), __smlad(x0e, __sxtb16(va), s00));
        s10 = __smlad(x1o, sxtb16_ror8(va), __smlad(x1e, __sxtb16(va), s10));
        s01 = __smlad(x0o, sxtb16_ror8(vb), __smlad(x0e, __sxtb16(vb), s01));
        s11 = __smlad(x1o, sxtb16_ror8(vb), __smlad(x1e, __sxtb16(vb), s11));
    }
#else
    if (groups > 0)
    {
        /* 18 instructions per 16 MACs: the compiler's allocation spilled here. LDRD needs word alignment: the
         * columns are word aligned and 16 bytes per group; the weights are read by LDR (unaligned allowed). */
        const int16_t *end = cols + 8 * groups;
        int32_t x0e, x0o, x1e, x1o, wa, wb;
        __asm__ volatile("1:\n\t"
                         "ldr %[wa], [%[w0]], #4\n\t"
                         "ldrd %[x0e], %[x0o], [%[c]], #16\n\t"
                         "ldrd %[x1e], %[x1o], [%[c], #-8]\n\t"
                         "sxtb16 %[wb], %[wa]\n\t"
                         "sxtb16 %[wa], %[wa], ror #8\n\t"
                         "smlad %[s00], %[x0e], %[wb], %[s00]\n\t"
                         "smlad %[s10], %[x1e], %[wb], %[s10]\n\t"
                         "smlad %[s00], %[x0o], %[wa], %[s00]\n\t"
                         "smlad %[s10], %[x1o], %[wa], %[s10]\n\t"
                         "ldr %[wa], [%[w1]], #4\n\t"
                         "sxtb16 %[wb], %[wa]\n\t"
                         "sxtb16 %[wa], %[wa], ror #8\n\t"
                         "smlad %[s01], %[x0e], %[wb], %[s01]\n\t"
                         "smlad %[s11], %[x1e], %[wb], %[s11]\n\t"
                         "smlad %[s01], %[x0o], %[wa], %[s01]\n\t"
                         "smlad %[s11], %[x1o], %[wa], %[s11]\n\t"
                         "cmp %[c], %[end]\n\t"
                         "bne 1b"
                         : [s00] "+r"(s00), [s01] "+r"(s01), [s10] "+r"(s10), [s11] "+r"(s11), [c] "+r"(cols),
                           [w0] "+r"(w0), [w1] "+r"(w1), [x0e] "=&r"(x0e), [x0o] "=&r"(x0o), [x1e] "=&r"(x1e),
                           [x1o] "=&r"(x1o), [wa] "=&r"(wa), [wb] "=&r"(wb)
                         : [end] "r"(end)
                         : "cc", "memory");
    }
#endif
    *a00 = s00;
    *a01 = s01;
    *a10 = s10;
    *a11 = s11;
}

/* dot_cols_2x2 over k values: whole groups, then the last k % 4 from the columns' last group. */
static inline __attribute__((always_inline)) void dot_cols_k(const int16_t *cols, const int8_t *w0, const int8_t *w1,
                                                             int32_t k, int32_t *a00, int32_t *a01, int32_t *a10,
                                                             int32_t *a11)
{
    const int32_t groups = k >> 2;
    dot_cols_2x2(cols, w0, w1, groups, a00, a01, a10, a11);
    if (k & 3)
    {
        static const int8_t order[4] = {0, 2, 1, 3};
        const int16_t *last = cols + 8 * groups;
        for (int32_t j = 0; j < (k & 3); j++)
        {
            const int32_t v0 = last[order[j]], v1 = last[4 + order[j]];
            const int32_t q0 = w0[4 * groups + j], q1 = w1[4 * groups + j];
            *a00 += v0 * q0;
            *a01 += v0 * q1;
            *a10 += v1 * q0;
            *a11 += v1 * q1;
        }
    }
}

/* Every output channel of two pixels (o0, o1; the same pixel twice for an odd last one) from their
 * interleaved columns, 2 channels at a time; MODE: the requantization (a constant). */
static inline __attribute__((always_inline)) void cols_outputs(const cmsis_nn_conv_params *params,
                                                               const cmsis_nn_per_channel_quant_params *quant,
                                                               const int16_t *cols, const int8_t *filter,
                                                               const int32_t *bias, int32_t k, int32_t out_c,
                                                               int8_t *o0, int8_t *o1, const int MODE)
{
    const int32_t out_offset = params->output_offset;
    const int32_t act_min = params->activation.min, act_max = params->activation.max;
    for (int32_t oc = 0; oc < out_c; oc += 2)
    {
        const int32_t oc1 = oc + 1 < out_c ? oc + 1 : oc;
        int32_t a00 = bias ? bias[oc] : 0, a01 = bias ? bias[oc1] : 0;
        int32_t a10 = a00, a11 = a01;
        dot_cols_k(cols, filter + oc * k, filter + oc1 * k, k, &a00, &a01, &a10, &a11);
        const int32_t m0 = quant->multiplier[oc], s0 = quant->shift[oc];
        const int32_t m1 = quant->multiplier[oc1], s1 = quant->shift[oc1];
        const int32_t e0 = -s0, h0 = half_of(s0), e1 = -s1, h1 = half_of(s1);
        /* an odd last channel writes its value twice */
        o0[oc] = requantize_mode(a00, m0, s0, e0, h0, out_offset, act_min, act_max, MODE);
        o1[oc] = requantize_mode(a10, m0, s0, e0, h0, out_offset, act_min, act_max, MODE);
        o0[oc1] = requantize_mode(a01, m1, s1, e1, h1, out_offset, act_min, act_max, MODE);
        o1[oc1] = requantize_mode(a11, m1, s1, e1, h1, out_offset, act_min, act_max, MODE);
    }
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
    if (filter_dims->c != in_c || out_c > TINYC_1X1_MAX_CHANNELS || out_c > in_c || !quant_supported(quant, out_c))
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
        const int8_t *w = &filter_data[oc * in_c];
        int32_t sum = 0;
        int32_t n = in_c >> 2;
        for (; n > 0; n--, w += 4)
        {
            const int32_t v = load_s8x4(w);
            sum = __smlad(__sxtb16(v), 0x00010001, sum);
            sum = __smlad(sxtb16_ror8(v), 0x00010001, sum);
        }
        for (n = in_c & 3; n > 0; n--)
        {
            sum += *w++;
        }
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

#endif /* TINYC_MEMORY_DSP */
