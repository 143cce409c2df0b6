/*
 * tinyc optimized int8 kernels for ARMv7E-M with the DSP extension (see Include/tinyc_dsp.h).
 *
 * - 1x1 convolution (any stride, no padding; in_c <= 256) and general convolution: the input of 2 output
 *   pixels as int16 columns with the input offset added (SADD16), interleaved per group of 4 k (one pointer)
 *   as [x0 x2 x1 x3] to match SXTB16 on the int8 weights; 2 pixels x 2 output channels per inner loop in
 *   assembly (LDRD, SXTB16, SMLAD: 18 instructions per 16 MACs). 1x1 columns on the stack (1 KiB), im2col
 *   columns in the context buffer. Wider 1x1 inputs: 2 x 2 tiles on raw int8 operands, offset folded into
 *   the bias.
 * - depthwise (depth multiplier 1, up to 64 taps): 4 channels per step (SMLABB / SMLATT on SXTB16 lanes),
 *   weights unpacked once per group of 4 channels; every output row from a band of k_h input rows padded
 *   with the input zero point on the stack (no border cases, the input offset folded into the bias), taps
 *   unrolled for 3x3 and 5x5; rows too wide for the band: the interior straight from the input, border
 *   pixels from their zero-point padded window. The requantization mode is a compile-time constant.
 * - fully connected: 1 row x 2 output channels, SADD16 adds the input offset to the unpacked input.
 * - elementwise add: three SMMULR requantizations per element.
 * - requantization: TFLite's double rounding in 32/64-bit integer steps (SMULL), bit-exact with
 *   arm_nn_requantize for every multiplier != INT32_MIN and shift in [-31, 31] (checked per call;
 *   other values fall back to the portable kernels); requantize_fast (SMMULR, SSAT; ~8 instructions, then
 *   the activation clamp when narrower than int8) where it is provably equal: shift <= -1, |accumulator|
 *   < 2^30 from the bias and the tap count (convolution, depthwise).
 */
#include "tinyc_dsp.h"

#if TINYC_DSP_KERNELS

#include <arm_acle.h>
#include <string.h>

#include "arm_nnsupportfunctions.h"

#define TINYC_DW_MAX_TAPS 64 /* 7x7 and 8x8 windows; larger ones run the portable kernel */
#define TINYC_DW_BAND_WORDS 384 /* depthwise: k_h padded input rows of 4 channels on the stack (1.5 KiB) */

static inline int32_t read_s8x4(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof(v)); /* LDR: ARMv7-M allows unaligned word loads */
    return v;
}

static inline int32_t read_s16x2(const int16_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* Bytes 1 and 3 sign-extended to two int16 lanes (SXTB16 with ROR #8). */
static inline int32_t sxtb16_ror8(int32_t v)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

static int32_t quant_supported(const int32_t *multiplier, const int32_t *shift, int32_t count, int32_t stride)
{
    for (int32_t i = 0; i < count; i++)
    {
        const int32_t m = multiplier[i * stride];
        const int32_t s = shift[i * stride];
        if (m == INT32_MIN || s < -31 || s > 31)
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
    /* round(value * multiplier / 2^31) half away from zero == floor((p + 2^30) / 2^31) for both signs */
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
 * zero) is (x + 2^(e-1) - (x < 0)) >> e, which cannot overflow for |x| < 2^30. SSAT saturates to int8;
 * a narrower activation clamp follows it (requantize_fast_clamp): clamp(ssat8(v)) == clamp(v) because the
 * activation range lies inside [-128, 127].
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

static inline int8_t requantize_fast(int32_t acc, int32_t multiplier, int32_t exponent, int32_t half,
                                     int32_t output_offset)
{
    int32_t x = smmulr(acc << 1, multiplier);
    x = (x + half + (x >> 31)) >> exponent;
    return (int8_t)ssat8(x + output_offset);
}

/* requantize_fast, then the activation clamp (act_min >= -128, act_max <= 127). */
static inline int8_t requantize_fast_clamp(int32_t acc, int32_t multiplier, int32_t exponent, int32_t half,
                                           int32_t output_offset, int32_t act_min, int32_t act_max)
{
    int32_t x = smmulr(acc << 1, multiplier);
    x = (x + half + (x >> 31)) >> exponent;
    x = ssat8(x + output_offset);
    x = x < act_min ? act_min : x;
    return (int8_t)(x > act_max ? act_max : x);
}

/* How an output channel is requantized: the exact 64-bit path, requantize_fast, or requantize_fast_clamp. */
enum
{
    REQUANT_EXACT = 0,
    REQUANT_FAST = 1,
    REQUANT_FAST_CLAMP = 2
};

/* 1 when requantize_fast() equals requantize() for every accumulator of an output channel (up to the clamp):
 * shift <= -1, |bias| + taps * 255 * 128 < 2^30 (|input + input_offset| <= 255, |w| <= 128). */
static inline int32_t fast_requant_ok(int32_t shift, int32_t bias, int32_t taps)
{
    const int64_t bound = (int64_t)(bias < 0 ? -(int64_t)bias : bias) + (int64_t)taps * 255 * 128;
    return shift <= -1 && bound < ((int64_t)1 << 30);
}

/* REQUANT_FAST when the clamp is the whole int8 range, else REQUANT_FAST_CLAMP. */
static inline int32_t fast_mode(int32_t act_min, int32_t act_max)
{
    return act_min <= -128 && act_max >= 127 ? REQUANT_FAST : REQUANT_FAST_CLAMP;
}

/* One requantization in the given mode (a compile-time constant at every call site). */
static inline __attribute__((always_inline)) int8_t requantize_mode(int32_t acc, int32_t multiplier, int32_t shift,
                                                                     int32_t exponent, int32_t half,
                                                                     int32_t output_offset, int32_t act_min,
                                                                     int32_t act_max, const int MODE)
{
    if (MODE == REQUANT_FAST)
    {
        return requantize_fast(acc, multiplier, exponent, half, output_offset);
    }
    if (MODE == REQUANT_FAST_CLAMP)
    {
        return requantize_fast_clamp(acc, multiplier, exponent, half, output_offset, act_min, act_max);
    }
    return requantize(acc, multiplier, shift, output_offset, act_min, act_max);
}

static inline int32_t half_of(int32_t shift)
{
    return shift <= -1 ? (int32_t)(1u << (-shift - 1)) : 0;
}

/* sum of k int8 values */
static int32_t sum_s8(const int8_t *w, int32_t k)
{
    int32_t sum = 0;
    int32_t n = k >> 2;
    while (n-- > 0)
    {
        const int32_t v = read_s8x4(w);
        w += 4;
        sum = __smlad(__sxtb16(v), 0x00010001, sum);
        sum = __smlad(sxtb16_ror8(v), 0x00010001, sum);
    }
    for (n = k & 3; n > 0; n--)
    {
        sum += *w++;
    }
    return sum;
}

/* acc[i][j] += sum_k x_i[k] * w_j[k], raw int8 operands (offsets are the caller's). */
static inline void dot_s8_2x2(const int8_t *x0, const int8_t *x1, const int8_t *w0, const int8_t *w1, int32_t k,
                              int32_t *a00, int32_t *a01, int32_t *a10, int32_t *a11)
{
    /* second pixel and second channel as offsets from the first: fewer live registers, no spills */
    const int32_t dx = x1 - x0, dw = w1 - w0;
    int32_t s00 = *a00, s01 = *a01, s10 = *a10, s11 = *a11;
    const int8_t *end = x0 + (k & ~3);
    while (x0 != end)
    {
        const int32_t vx0 = read_s8x4(x0), vx1 = read_s8x4(x0 + dx);
        const int32_t x0e = __sxtb16(vx0), x0o = sxtb16_ror8(vx0);
        const int32_t x1e = __sxtb16(vx1), x1o = sxtb16_ror8(vx1);
        const int32_t vw0 = read_s8x4(w0);
        const int32_t w0e = __sxtb16(vw0), w0o = sxtb16_ror8(vw0);
        s00 = __smlad(x0e, w0e, s00);
        s00 = __smlad(x0o, w0o, s00);
        s10 = __smlad(x1e, w0e, s10);
        s10 = __smlad(x1o, w0o, s10);
        const int32_t vw1 = read_s8x4(w0 + dw);
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
    *a00 = s00;
    *a01 = s01;
    *a10 = s10;
    *a11 = s11;
}

/* Input pixel p (output raster order, batches included) of a 1x1 convolution. */
static inline const int8_t *pixel_1x1(const int8_t *input, int32_t p, int32_t out_hw, int32_t out_w, int32_t in_h,
                                      int32_t in_w, int32_t in_c, int32_t stride_h, int32_t stride_w)
{
    if (stride_h == 1 && stride_w == 1 && out_w == in_w)
    {
        return input + p * in_c;
    }
    const int32_t n = p / out_hw, r = p - n * out_hw;
    const int32_t y = r / out_w, x = r - y * out_w;
    return input + ((n * in_h + y * stride_h) * in_w + x * stride_w) * in_c;
}

/* One output channel pair of a 1x1 convolution over all pixels; MODE: how both channels are requantized. */
static inline __attribute__((always_inline)) void convolve_1x1_pair(
    const cmsis_nn_conv_params *params, const cmsis_nn_dims *input_dims, const int8_t *input,
    const cmsis_nn_dims *output_dims, int8_t *output, const int8_t *w0, const int8_t *w1, int32_t base0,
    int32_t base1, int32_t m0, int32_t s0, int32_t m1, int32_t s1, int32_t oc, int32_t oc1, const int MODE)
{
    const int32_t in_c = input_dims->c, out_c = output_dims->c;
    const int32_t out_hw = output_dims->h * output_dims->w;
    const int32_t pixels = input_dims->n * out_hw;
    const int32_t out_offset = params->output_offset;
    const int32_t act_min = params->activation.min, act_max = params->activation.max;
    const int32_t h0 = half_of(s0), h1 = half_of(s1), e0 = -s0, e1 = -s1;
    const int contiguous = params->stride.h == 1 && params->stride.w == 1 && output_dims->w == input_dims->w;
    for (int32_t p = 0; p < pixels; p += 2)
    {
        const int32_t p1 = p + 1 < pixels ? p + 1 : p;
        const int8_t *x0, *x1;
        if (contiguous)
        {
            x0 = input + p * in_c;
            x1 = input + p1 * in_c;
        }
        else
        {
            x0 = pixel_1x1(input, p, out_hw, output_dims->w, input_dims->h, input_dims->w, in_c, params->stride.h,
                           params->stride.w);
            x1 = pixel_1x1(input, p1, out_hw, output_dims->w, input_dims->h, input_dims->w, in_c, params->stride.h,
                           params->stride.w);
        }
        int32_t a00 = base0, a01 = base1, a10 = base0, a11 = base1;
        dot_s8_2x2(x0, x1, w0, w1, in_c, &a00, &a01, &a10, &a11);
        int8_t *o0 = output + p * out_c + oc, *o1 = output + p1 * out_c + oc;
        o0[0] = requantize_mode(a00, m0, s0, e0, h0, out_offset, act_min, act_max, MODE);
        o1[0] = requantize_mode(a10, m0, s0, e0, h0, out_offset, act_min, act_max, MODE);
        o0[oc1 - oc] = requantize_mode(a01, m1, s1, e1, h1, out_offset, act_min, act_max, MODE);
        o1[oc1 - oc] = requantize_mode(a11, m1, s1, e1, h1, out_offset, act_min, act_max, MODE);
    }
}

static void convolve_1x1(const cmsis_nn_conv_params *params, const cmsis_nn_per_channel_quant_params *quant,
                         const cmsis_nn_dims *input_dims, const int8_t *input, const int8_t *filter,
                         const int32_t *bias, const cmsis_nn_dims *output_dims, int8_t *output)
{
    const int32_t in_c = input_dims->c, out_c = output_dims->c;
    const int32_t offset = params->input_offset;
    const int32_t act_min = params->activation.min, act_max = params->activation.max;

    for (int32_t oc = 0; oc < out_c; oc += 2)
    {
        /* an odd last channel is computed twice and written twice, the same value */
        const int32_t oc1 = oc + 1 < out_c ? oc + 1 : oc;
        const int8_t *w0 = filter + oc * in_c, *w1 = filter + oc1 * in_c;
        const int32_t b0 = bias ? bias[oc] : 0, b1 = bias ? bias[oc1] : 0;
        const int32_t base0 = b0 + offset * sum_s8(w0, in_c);
        const int32_t base1 = b1 + offset * sum_s8(w1, in_c);
        const int32_t m0 = quant->multiplier[oc], s0 = quant->shift[oc];
        const int32_t m1 = quant->multiplier[oc1], s1 = quant->shift[oc1];
        const int32_t mode = fast_requant_ok(s0, b0, in_c) && fast_requant_ok(s1, b1, in_c)
                                 ? fast_mode(act_min, act_max) : REQUANT_EXACT;
        if (mode == REQUANT_FAST)
        {
            convolve_1x1_pair(params, input_dims, input, output_dims, output, w0, w1, base0, base1, m0, s0, m1, s1,
                              oc, oc1, REQUANT_FAST);
        }
        else if (mode == REQUANT_FAST_CLAMP)
        {
            convolve_1x1_pair(params, input_dims, input, output_dims, output, w0, w1, base0, base1, m0, s0, m1, s1,
                              oc, oc1, REQUANT_FAST_CLAMP);
        }
        else
        {
            convolve_1x1_pair(params, input_dims, input, output_dims, output, w0, w1, base0, base1, m0, s0, m1, s1,
                              oc, oc1, REQUANT_EXACT);
        }
    }
}

/* One im2col column: the window of output pixel (n, oy, ox) as int16 with the input offset added, zeros for
 * padding and for the rounding of k up to a multiple of 4, into slot `slot` of the interleaved columns
 * (pixel_to_cols). */
static void im2col_column(const cmsis_nn_conv_params *params, const cmsis_nn_dims *input_dims, const int8_t *input,
                          const cmsis_nn_dims *filter_dims, int32_t n, int32_t oy, int32_t ox, int32_t slot,
                          int16_t *col)
{
    static const int8_t order[4] = {0, 2, 1, 3};
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t k = k_h * k_w * in_c;
    const int32_t offset = params->input_offset;
    const int32_t offset2 = (int32_t)(((uint32_t)offset & 0xFFFFu) | ((uint32_t)offset << 16));
    const int32_t y0 = oy * params->stride.h - params->padding.h;
    const int32_t x0 = ox * params->stride.w - params->padding.w;
    col += 4 * slot;
    int32_t i = 0;
    for (int32_t ky = 0; ky < k_h; ky++)
    {
        const int32_t y = y0 + ky;
        for (int32_t kx = 0; kx < k_w; kx++)
        {
            const int32_t x = x0 + kx;
            const int inside = y >= 0 && y < in_h && x >= 0 && x < in_w;
            const int8_t *src = input + ((n * in_h + y) * in_w + x) * in_c;
            if (inside && (in_c & 3) == 0)
            {
                /* i is a multiple of 4 here: whole groups */
                for (int32_t c = 0; c < in_c; c += 4, i += 4)
                {
                    const int32_t v = read_s8x4(src + c);
                    const int32_t even = __sadd16(__sxtb16(v), offset2), odd = __sadd16(sxtb16_ror8(v), offset2);
                    memcpy(&col[2 * i], &even, sizeof(even));
                    memcpy(&col[2 * i + 2], &odd, sizeof(odd));
                }
            }
            else
            {
                for (int32_t c = 0; c < in_c; c++, i++)
                {
                    col[2 * (i & ~3) + order[i & 3]] = (int16_t)(inside ? src[c] + offset : 0);
                }
            }
        }
    }
    for (; i < ((k + 3) & ~3); i++)
    {
        col[2 * (i & ~3) + order[i & 3]] = 0;
    }
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
        const int32_t v = read_s8x4(x + c);
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
        const int32_t va = read_s8x4(w0), vb = read_s8x4(w1);
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

static void convolve_im2col(const cmsis_nn_conv_params *params, const cmsis_nn_per_channel_quant_params *quant,
                            const cmsis_nn_dims *input_dims, const int8_t *input, const cmsis_nn_dims *filter_dims,
                            const int8_t *filter, const int32_t *bias, const cmsis_nn_dims *output_dims,
                            int8_t *output, int16_t *columns)
{
    const int32_t k = filter_dims->h * filter_dims->w * input_dims->c;
    const int32_t out_c = output_dims->c, out_h = output_dims->h, out_w = output_dims->w;
    const int32_t out_hw = out_h * out_w;
    const int32_t pixels = output_dims->n * out_hw;
    const int32_t act_min = params->activation.min, act_max = params->activation.max;
    int32_t all_fast = 1;
    for (int32_t oc = 0; oc < out_c; oc++)
    {
        all_fast &= fast_requant_ok(quant->shift[oc], bias ? bias[oc] : 0, k);
    }
    const int32_t mode = all_fast ? fast_mode(act_min, act_max) : REQUANT_EXACT;

    for (int32_t p = 0; p < pixels; p += 2)
    {
        const int32_t p1 = p + 1 < pixels ? p + 1 : p;
        const int32_t n0 = p / out_hw, r0 = p - n0 * out_hw;
        const int32_t n1 = p1 / out_hw, r1 = p1 - n1 * out_hw;
        im2col_column(params, input_dims, input, filter_dims, n0, r0 / out_w, r0 % out_w, 0, columns);
        im2col_column(params, input_dims, input, filter_dims, n1, r1 / out_w, r1 % out_w, 1, columns);
        int8_t *o0 = output + p * out_c, *o1 = output + p1 * out_c;
        if (mode == REQUANT_FAST)
        {
            cols_outputs(params, quant, columns, filter, bias, k, out_c, o0, o1, REQUANT_FAST);
        }
        else if (mode == REQUANT_FAST_CLAMP)
        {
            cols_outputs(params, quant, columns, filter, bias, k, out_c, o0, o1, REQUANT_FAST_CLAMP);
        }
        else
        {
            cols_outputs(params, quant, columns, filter, bias, k, out_c, o0, o1, REQUANT_EXACT);
        }
    }
}

/* 1x1 convolution (in_c <= TINYC_COLS_MAX_K) through the interleaved int16 columns of 2 pixels on the stack. */
static void convolve_1x1_cols(const cmsis_nn_conv_params *params, const cmsis_nn_per_channel_quant_params *quant,
                              const cmsis_nn_dims *input_dims, const int8_t *input, const int8_t *filter,
                              const int32_t *bias, const cmsis_nn_dims *output_dims, int8_t *output)
{
    const int32_t in_c = input_dims->c, out_c = output_dims->c;
    const int32_t out_hw = output_dims->h * output_dims->w;
    const int32_t pixels = input_dims->n * out_hw;
    const int32_t act_min = params->activation.min, act_max = params->activation.max;
    int16_t cols[2 * TINYC_COLS_MAX_K] __attribute__((aligned(4)));
    int32_t all_fast = 1;
    for (int32_t oc = 0; oc < out_c; oc++)
    {
        all_fast &= fast_requant_ok(quant->shift[oc], bias ? bias[oc] : 0, in_c);
    }
    const int32_t mode = all_fast ? fast_mode(act_min, act_max) : REQUANT_EXACT;
    for (int32_t p = 0; p < pixels; p += 2)
    {
        const int32_t p1 = p + 1 < pixels ? p + 1 : p;
        pixel_to_cols(pixel_1x1(input, p, out_hw, output_dims->w, input_dims->h, input_dims->w, in_c,
                                params->stride.h, params->stride.w),
                      in_c, params->input_offset, 0, cols);
        pixel_to_cols(pixel_1x1(input, p1, out_hw, output_dims->w, input_dims->h, input_dims->w, in_c,
                                params->stride.h, params->stride.w),
                      in_c, params->input_offset, 1, cols);
        int8_t *o0 = output + p * out_c, *o1 = output + p1 * out_c;
        if (mode == REQUANT_FAST)
        {
            cols_outputs(params, quant, cols, filter, bias, in_c, out_c, o0, o1, REQUANT_FAST);
        }
        else if (mode == REQUANT_FAST_CLAMP)
        {
            cols_outputs(params, quant, cols, filter, bias, in_c, out_c, o0, o1, REQUANT_FAST_CLAMP);
        }
        else
        {
            cols_outputs(params, quant, cols, filter, bias, in_c, out_c, o0, o1, REQUANT_EXACT);
        }
    }
}

int32_t tinyc_dsp_convolve_s8(const cmsis_nn_context *ctx,
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
    if (filter_dims->c != input_dims->c || filter_dims->n != out_c || conv_params->dilation.h != 1 ||
        conv_params->dilation.w != 1 || !quant_supported(quant_params->multiplier, quant_params->shift, out_c, 1))
    {
        return 0; /* grouped or dilated convolution, or an unusual multiplier: portable kernel */
    }
    if (filter_dims->h == 1 && filter_dims->w == 1 && conv_params->padding.h == 0 && conv_params->padding.w == 0)
    {
        if (input_dims->c <= TINYC_COLS_MAX_K)
        {
            convolve_1x1_cols(conv_params, quant_params, input_dims, input_data, filter_data, bias_data, output_dims,
                              output_data);
        }
        else
        {
            convolve_1x1(conv_params, quant_params, input_dims, input_data, filter_data, bias_data, output_dims,
                         output_data);
        }
        return 1;
    }
    const int32_t k4 = (filter_dims->h * filter_dims->w * input_dims->c + 3) & ~3;
    const int32_t needed_bytes = 2 * k4 * (int32_t)sizeof(int16_t);
    if (ctx == NULL || ctx->buf == NULL || ctx->size < needed_bytes || ((uintptr_t)ctx->buf & 3u) != 0u)
    {
        return 0;
    }
    convolve_im2col(conv_params, quant_params, input_dims, input_data, filter_dims, filter_data, bias_data,
                    output_dims, output_data, (int16_t *)ctx->buf);
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
    const int32_t v = read_s8x4(x);
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
                wb[j] = filter_data[t * chans + c + j];
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

int32_t tinyc_dsp_fully_connected_s8(const cmsis_nn_fc_params *fc_params,
                                     const int32_t *multiplier,
                                     const int32_t *shift,
                                     int32_t quant_stride,
                                     const cmsis_nn_dims *input_dims,
                                     const int8_t *input_data,
                                     const cmsis_nn_dims *filter_dims,
                                     const int8_t *filter_data,
                                     const int32_t *bias_data,
                                     const cmsis_nn_dims *output_dims,
                                     int8_t *output_data)
{
    const int32_t k = filter_dims->n, out_c = output_dims->c;
    const int32_t offset = fc_params->input_offset, out_offset = fc_params->output_offset;
    const int32_t act_min = fc_params->activation.min, act_max = fc_params->activation.max;
    if (fc_params->filter_offset != 0 || !quant_supported(multiplier, shift, quant_stride ? out_c : 1, 1))
    {
        return 0;
    }
    for (int32_t oc = 0; oc < out_c; oc += 2)
    {
        const int32_t oc1 = oc + 1 < out_c ? oc + 1 : oc;
        const int8_t *w0 = filter_data + oc * k, *w1 = filter_data + oc1 * k;
        const int32_t sum0 = offset * sum_s8(w0, k), sum1 = offset * sum_s8(w1, k);
        for (int32_t b = 0; b < input_dims->n; b++)
        {
            const int8_t *x = input_data + b * k;
            int32_t a00 = (bias_data ? bias_data[oc] : 0) + sum0, a01 = (bias_data ? bias_data[oc1] : 0) + sum1;
            int32_t a10 = a00, a11 = a01;
            dot_s8_2x2(x, x, w0, w1, k, &a00, &a01, &a10, &a11);
            output_data[b * out_c + oc] =
                requantize(a00, multiplier[oc * quant_stride], shift[oc * quant_stride], out_offset, act_min, act_max);
            if (oc1 != oc)
            {
                output_data[b * out_c + oc1] = requantize(a01, multiplier[oc1 * quant_stride],
                                                          shift[oc1 * quant_stride], out_offset, act_min, act_max);
            }
        }
    }
    return 1;
}

/*
 * Elementwise add (arm_elementwise_add_s8): ((x + offset) << left_shift) requantized per input, summed,
 * requantized to the output; each requantization as requantize_fast, which is exact here: input and output
 * shifts in [-31, 0], left_shift <= 21 (|(x + offset) << left_shift| <= 256 * 2^21 = 2^29, so its double fits;
 * each requantized input is at most that, the sum below 2^30), no multiplier INT32_MIN. A shift of 0 divides
 * by 1: the rounding term is masked off (neg = 0). Element by element: output may alias an input (in-place
 * residual add).
 */
static inline __attribute__((always_inline)) int32_t divide_pot(int32_t x, int32_t exponent, int32_t half,
                                                                 int32_t neg)
{
    return (x + half + ((x >> 31) & neg)) >> exponent;
}

static inline __attribute__((always_inline)) void add_s8(const int8_t *in1, const int8_t *in2, int32_t off1,
                                                          int32_t m1, int32_t s1, int32_t off2, int32_t m2,
                                                          int32_t s2, int32_t left_shift, int8_t *out,
                                                          int32_t out_offset, int32_t out_m, int32_t out_s,
                                                          int32_t act_min, int32_t act_max, int32_t count,
                                                          const int NARROW)
{
    const int32_t e1 = -s1, e2 = -s2, eo = -out_s;
    const int32_t h1 = half_of(s1), h2 = half_of(s2), ho = half_of(out_s);
    const int32_t n1 = e1 > 0 ? -1 : 0, n2 = e2 > 0 ? -1 : 0, no = eo > 0 ? -1 : 0;
    const int32_t shift = left_shift + 1; /* requantize_fast's doubling folded into the left shift */
    for (int32_t i = 0; i < count; i++)
    {
        const int32_t a = divide_pot(smmulr(((int32_t)in1[i] + off1) << shift, m1), e1, h1, n1);
        const int32_t b = divide_pot(smmulr(((int32_t)in2[i] + off2) << shift, m2), e2, h2, n2);
        int32_t v = divide_pot(smmulr((a + b) << 1, out_m), eo, ho, no) + out_offset;
        v = ssat8(v);
        if (NARROW)
        {
            v = v < act_min ? act_min : (v > act_max ? act_max : v);
        }
        out[i] = (int8_t)v;
    }
}

int32_t tinyc_dsp_elementwise_add_s8(const int8_t *input_1_vect, const int8_t *input_2_vect, int32_t input_1_offset,
                                     int32_t input_1_mult, int32_t input_1_shift, int32_t input_2_offset,
                                     int32_t input_2_mult, int32_t input_2_shift, int32_t left_shift, int8_t *output,
                                     int32_t out_offset, int32_t out_mult, int32_t out_shift,
                                     int32_t out_activation_min, int32_t out_activation_max, int32_t block_size)
{
    if (input_1_shift > 0 || input_2_shift > 0 || out_shift > 0 || input_1_shift < -31 || input_2_shift < -31 ||
        out_shift < -31 || left_shift < 0 || left_shift > 21 || input_1_mult == INT32_MIN ||
        input_2_mult == INT32_MIN || out_mult == INT32_MIN || input_1_offset < -128 || input_1_offset > 128 ||
        input_2_offset < -128 || input_2_offset > 128)
    {
        return 0;
    }
    if (out_activation_min <= -128 && out_activation_max >= 127)
    {
        add_s8(input_1_vect, input_2_vect, input_1_offset, input_1_mult, input_1_shift, input_2_offset, input_2_mult,
               input_2_shift, left_shift, output, out_offset, out_mult, out_shift, out_activation_min,
               out_activation_max, block_size, 0);
    }
    else
    {
        add_s8(input_1_vect, input_2_vect, input_1_offset, input_1_mult, input_1_shift, input_2_offset, input_2_mult,
               input_2_shift, left_shift, output, out_offset, out_mult, out_shift, out_activation_min,
               out_activation_max, block_size, 1);
    }
    return 1;
}

#endif /* TINYC_DSP_KERNELS */
