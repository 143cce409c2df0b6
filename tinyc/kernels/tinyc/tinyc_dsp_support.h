/*
 * tinyc's DSP primitives (ARMv7E-M: SXTB16, SMLAD, SMMULR, SSAT), shared by every DSP kernel variant of
 * the tinyc_dsp_*.c sources of tinyc_kernels/: word loads, the requantizations (exact, fast, fast with clamp) and the
 * proof of when the fast one is exact, the 2x2 dot products on raw int8 operands, the interleaved int16 columns of
 * two pixels (1x1 and im2col convolution), and the 4-channel depthwise taps. Internal: included only by those
 * sources, inside their `#if TINYC_DSP_KERNELS`; everything here is static (inline, or marked unused where it
 * is a plain static function as it was beside its callers): one copy per variant that uses it, none in a build
 * without the DSP extension.
 *
 * Requantization: TFLite's double rounding in 32/64-bit integer steps (SMULL), bit-exact with arm_nn_requantize
 * for every multiplier != INT32_MIN and shift in [-31, 31] (quant_supported: callers check and fall back to the
 * portable kernels otherwise); requantize_fast (SMMULR, SSAT; ~8 instructions; requantize_mode adds the activation
 * clamp when narrower than int8) where it is provably equal: shift <= -1, |accumulator| < 2^30 from the bias and
 * the tap count (fast_requant_ok).
 */
#ifndef TINYC_DSP_SUPPORT_H
#define TINYC_DSP_SUPPORT_H

#include <arm_acle.h>
#include <stdint.h>
#include <string.h>

#include "arm_nn_types.h"

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

static __attribute__((unused)) int32_t quant_supported(const int32_t *multiplier, const int32_t *shift, int32_t count,
                                                       int32_t stride)
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
 * a narrower activation clamp follows it (requantize_mode, REQUANT_FAST_CLAMP): clamp(ssat8(v)) == clamp(v) because the
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

static inline int32_t requantize_fast(int32_t acc, int32_t multiplier, int32_t exponent, int32_t half,
                                      int32_t output_offset)
{
    int32_t x = smmulr(acc << 1, multiplier);
    x = (x + half + (x >> 31)) >> exponent;
    return ssat8(x + output_offset);
}

/* How an output channel is requantized: the exact 64-bit path, requantize_fast, or requantize_fast and the clamp. */
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

/* One requantization in the given mode (a compile-time constant at every call site); REQUANT_FAST_CLAMP applies
 * the activation clamp after SSAT (act_min >= -128, act_max <= 127: clamp(ssat8(v)) == clamp(v)). */
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

static inline int32_t half_of(int32_t shift)
{
    return shift <= -1 ? (int32_t)(1u << (-shift - 1)) : 0;
}

/* sum of k int8 values */
static __attribute__((unused)) int32_t sum_s8(const int8_t *w, int32_t k)
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
static inline __attribute__((always_inline)) void dot_s8_2x2(const int8_t *x0, const int8_t *x1, const int8_t *w0,
                                                             const int8_t *w1, int32_t k,
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


/*
 * Two im2col / 1x1 columns interleaved per group of 4 k: pixel 0's 4 values then pixel 1's, as int16 with
 * the input offset added (|x + offset| <= 255), each group as [x0 x2 x1 x3] to match SXTB16 on the weights;
 * zeros past k up to the next multiple of 4. One pointer walks both columns, so the inner loop below keeps
 * its 4 accumulators, 4 input pairs, 2 weight pairs and 3 pointers in registers.
 */
#define TINYC_COLS_MAX_K 256 /* 1x1 convolution: columns of up to 256 input channels on the stack (1 KiB) */

/* Pixel x (in_c channels) into slot `slot` (0 or 1) of the interleaved columns. */
static __attribute__((unused)) void pixel_to_cols(const int8_t *x, int32_t in_c, int32_t offset, int32_t slot,
                                                  int16_t *cols)
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


#endif /* TINYC_DSP_SUPPORT_H */
