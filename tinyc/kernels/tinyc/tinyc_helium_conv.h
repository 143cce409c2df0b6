/*
 * tinyc's compile-time specialized convolution for Helium (MVE: the Cortex-M55): 1x1 and k x k convolutions and
 * fully connected layers as one int8 matrix product, inlined per layer by the generated step (its shape is a
 * compile-time constant, so the loops, tails and border tests fold away). What Python prepares at compile time
 * (tinyc/plan/specialize.py, Variant.HELIUM_CONV):
 *
 * - one int8 array of blocks, one per quad of output channels (the count rounded up to 4 with zero channels): the
 *   quad's record of 16 int32 (little-endian): 4 accumulator starts (the bias with the input offset folded in:
 *   bias + input_offset * sum(w); in int32 arithmetic this equals TFLite Micro's sum of (x + input_offset) * w for
 *   every input, wrap-around included), 4 multipliers, 4 left shifts, 4 negated right shifts; then its weights per
 *   chunk of 16 k (k = k_h * k_w * in_c rounded up to 16 with zeros: k16), channel 0 to 3, 16 bytes each (one
 *   quad's chunk is 64 contiguous bytes). One pointer walks the whole array.
 *
 * Tile: 2 output pixels x 4 output channels, 8 scalar accumulators; per chunk of 16 k, 2 input and 4 weight vector
 * loads and 8 VMLADAVA (each 16 MACs): 14 instructions per 128 MACs. The 8 sums become two vectors (4 channels of one
 * pixel each) and are requantized 4 at a time, as TFLite Micro's MultiplyByQuantizedMultiplier: the left shift
 * (VSHL, wrapping like the int32 product), the saturating rounding doubling high multiply (VQRDMULH computes exactly
 * SaturatingRoundingDoublingHighMul), the rounding divide by 2^right with ties away from zero (1 subtracted from
 * negative values before VRSHL's round-half-up, where right > 0), the output offset, the activation clamp, then a
 * narrowing store of 4 bytes (predicated for the last quad). A k x k convolution first gathers the windows of 2
 * pixels into the scratch (2 * k16 bytes: int8, the input zero point where the window leaves the input: with the
 * offset folded into the bias, a padding tap then adds (zp + input_offset) * w = 0, as TFLite Micro skips it).
 */
#ifndef TINYC_HELIUM_CONV_H
#define TINYC_HELIUM_CONV_H

#include "tinyc_fast_conv.h" /* tinyc_fast_conv_shape */
#include "tinyc_fast_support.h"

#if TINYC_HELIUM_KERNELS /* tinyc_fast_support.h */

/* The pair tile's asm needs all 8 even registers (VMLADAVA's accumulators) including lr: GCC must not keep a
 * low-overhead loop's counter in lr around it (DLS/LE, the "branch count register" loops), or the asm's operands have
 * impossible constraints where a caller's loop is made one (har_conv1d's 1x9 convolution). For the functions of the
 * file that includes this header after it: model.c's steps. */
#pragma GCC optimize("no-branch-count-reg")

#define TINYC_HELIUM_QUAD_WORDS 16 /* int32 per quad of output channels: starts, multipliers, left, -right */

/* The int8 outputs of 4 accumulators (one quad of channels of one pixel); q: the quad's record. */
static inline __attribute__((always_inline)) void tinyc_hc_requant4(int8_t *out, int32x4_t acc, const int32_t *q,
                                                                    const int32_t out_offset, const int32_t act_min,
                                                                    const int32_t act_max, const int32_t n)
{
    const int32x4_t neg_right = vldrwq_s32(q + 12);
    int32x4_t v = vshlq_s32(acc, vldrwq_s32(q + 8));
    v = vqrdmulhq_s32(v, vldrwq_s32(q + 4));
    v = vqaddq_s32(v, vshrq_n_s32(vandq_s32(v, neg_right), 31)); /* -1 where v < 0 and right > 0 */
    v = vrshlq_s32(v, neg_right);
    v = vaddq_n_s32(v, out_offset);
    v = vmaxq_s32(v, vdupq_n_s32(act_min));
    v = vminq_s32(v, vdupq_n_s32(act_max));
    if (n == 4)
    {
        vstrbq_s32(out, v);
    }
    else
    {
        vstrbq_p_s32(out, v, vctp32q((uint32_t)n));
    }
}

static inline __attribute__((always_inline)) int32x4_t tinyc_hc_vector(const int32_t a0, const int32_t a1,
                                                                       const int32_t a2, const int32_t a3)
{
    int32x4_t v = vdupq_n_s32(a0);
    v = vsetq_lane_s32(a1, v, 1);
    v = vsetq_lane_s32(a2, v, 2);
    return vsetq_lane_s32(a3, v, 3);
}

/* One chunk of 16 k of one quad: 4 weight vectors (post-incremented pw), 1 or 2 input vectors (p0, p1), 4 or 8
 * VMLADAVA. The accumulators are in even registers (VMLADAVA's Rda: the "Te" constraint). */
#define TINYC_HC_CHUNK2 \
    "vldrb.8 q0, [%[p0]], #16\n\t" \
    "vldrb.8 q2, [%[pw]], #64\n\t" \
    "vldrb.8 q1, [%[p1]], #16\n\t" \
    "vmladava.s8 %[a00], q0, q2\n\t" \
    "vldrb.8 q3, [%[pw], #-48]\n\t" \
    "vmladava.s8 %[a10], q1, q2\n\t" \
    "vmladava.s8 %[a01], q0, q3\n\t" \
    "vldrb.8 q2, [%[pw], #-32]\n\t" \
    "vmladava.s8 %[a11], q1, q3\n\t" \
    "vmladava.s8 %[a02], q0, q2\n\t" \
    "vldrb.8 q3, [%[pw], #-16]\n\t" \
    "vmladava.s8 %[a12], q1, q2\n\t" \
    "vmladava.s8 %[a03], q0, q3\n\t" \
    "vmladava.s8 %[a13], q1, q3\n\t"
#define TINYC_HC_CHUNK1 \
    "vldrb.8 q0, [%[p0]], #16\n\t" \
    "vldrb.8 q2, [%[pw]], #64\n\t" \
    "vldrb.8 q3, [%[pw], #-48]\n\t" \
    "vmladava.s8 %[a00], q0, q2\n\t" \
    "vldrb.8 q2, [%[pw], #-32]\n\t" \
    "vmladava.s8 %[a01], q0, q3\n\t" \
    "vldrb.8 q3, [%[pw], #-16]\n\t" \
    "vmladava.s8 %[a02], q0, q2\n\t" \
    "vmladava.s8 %[a03], q0, q3\n\t"
/* The requantization of acc vector q (q0, q1) with the record at a00 (popped: tinyc_hc_requant4's arithmetic), q2
 * and q3 scratch: the multiplier, then the negated right shift. */
#define TINYC_HC_MUL(q) "vqrdmulh.s32 " q ", " q ", q2\n\t"
#define TINYC_HC_DIVIDE(q) \
    "vand q3, " q ", q2\n\t" \
    "vshr.s32 q3, q3, #31\n\t" \
    "vqadd.s32 " q ", " q ", q3\n\t" \
    "vrshl.s32 " q ", " q ", q2\n\t"
#define TINYC_HC_OUT(q, o) \
    "vadd.i32 " q ", " q ", %q[off]\n\t" \
    "vmax.s32 " q ", " q ", %q[lo]\n\t" \
    "vmin.s32 " q ", " q ", %q[hi]\n\t" \
    "vstrb.32 " q ", [%[" o "]], #4\n\t"
/* (VMOV Qd[2], Qd[0], Rt, Rt2 as GNU as takes it: lane 0 from Rt, lane 2 from Rt2, checked in QEMU.) */
/* The accumulators from the record's starts (at pw, whose address is pushed for the requantization), pw past it. */
#define TINYC_HC_START2 \
    "push {%[pw]}\n\t" \
    "ldrd %[a00], %[a01], [%[pw]]\n\t" \
    "ldrd %[a02], %[a03], [%[pw], #8]\n\t" \
    "mov %[a10], %[a00]\n\t" \
    "mov %[a11], %[a01]\n\t" \
    "mov %[a12], %[a02]\n\t" \
    "mov %[a13], %[a03]\n\t" \
    "adds %[pw], %[pw], #64\n\t"
#define TINYC_HC_START1 \
    "push {%[pw]}\n\t" \
    "ldrd %[a00], %[a01], [%[pw]]\n\t" \
    "ldrd %[a02], %[a03], [%[pw], #8]\n\t" \
    "adds %[pw], %[pw], #64\n\t"
#define TINYC_HC_REQUANT2(left) \
    "vmov q0[2], q0[0], %[a00], %[a02]\n\t" \
    "vmov q0[3], q0[1], %[a01], %[a03]\n\t" \
    "vmov q1[2], q1[0], %[a10], %[a12]\n\t" \
    "vmov q1[3], q1[1], %[a11], %[a13]\n\t" \
    "pop {%[a00]}\n\t" \
    left \
    "vldrw.32 q2, [%[a00], #16]\n\t" TINYC_HC_MUL("q0") TINYC_HC_MUL("q1") \
    "vldrw.32 q2, [%[a00], #48]\n\t" TINYC_HC_DIVIDE("q0") TINYC_HC_DIVIDE("q1") \
    TINYC_HC_OUT("q0", "o0") \
    "addw %[o0], %[o0], %[oc4]\n\t" \
    TINYC_HC_OUT("q1", "o0") \
    "subw %[o0], %[o0], %[oc]\n\t"
#define TINYC_HC_LEFT2 "vldrw.32 q2, [%[a00], #32]\n\tvshl.s32 q0, q0, q2\n\tvshl.s32 q1, q1, q2\n\t"
#define TINYC_HC_REQUANT1(left) \
    "vmov q0[2], q0[0], %[a00], %[a02]\n\t" \
    "vmov q0[3], q0[1], %[a01], %[a03]\n\t" \
    "pop {%[a00]}\n\t" \
    left \
    "vldrw.32 q2, [%[a00], #16]\n\t" TINYC_HC_MUL("q0") \
    "vldrw.32 q2, [%[a00], #48]\n\t" TINYC_HC_DIVIDE("q0") \
    TINYC_HC_OUT("q0", "o0")
#define TINYC_HC_LEFT1 "vldrw.32 q2, [%[a00], #32]\n\tvshl.s32 q0, q0, q2\n\t"
/* The chunks of a quad: `rem` unrolled, then (where there are more than TINYC_HC_UNROLLED) `it` iterations of 8, the
 * counter in the output pointer's register (pushed: no other register is free). The asm stays under 1 KiB of code. */
#define TINYC_HC_UNROLLED 16
#define TINYC_HC_MAC(chunk) \
    ".rept %c[rem]\n\t" chunk ".endr\n\t" \
    ".if %c[it]\n\t" \
    "push {%[o0]}\n\t" \
    "movw %[o0], #%c[it]\n\t" \
    "1:\n\t" \
    ".rept 8\n\t" chunk ".endr\n\t" \
    "subs %[o0], %[o0], #1\n\t" \
    "bne 1b\n\t" \
    "pop {%[o0]}\n\t" \
    ".endif\n\t"
#define TINYC_HC_OPERANDS2 \
    : [a00] "=&Te"(a00), [a01] "=&Te"(a01), [a02] "=&Te"(a02), [a03] "=&Te"(a03), [a10] "=&Te"(a10), \
      [a11] "=&Te"(a11), [a12] "=&Te"(a12), [a13] "=&Te"(a13), [p0] "+r"(p0), [p1] "+r"(p1), [pw] "+r"(pw), \
      [o0] "+l"(q0) \
    : [off] "w"(voff), [lo] "w"(vlo), [hi] "w"(vhi), [oc] "n"(out_c), [oc4] "n"(out_c - 4), [rem] "n"(rem), \
      [it] "n"(it) \
    : "q0", "q1", "q2", "q3", "cc", "memory"
#define TINYC_HC_OPERANDS1 \
    : [a00] "=&Te"(a00), [a01] "=&Te"(a01), [a02] "=&Te"(a02), [a03] "=&Te"(a03), [p0] "+r"(p0), [pw] "+r"(pw), \
      [o0] "+l"(q0) \
    : [off] "w"(voff), [lo] "w"(vlo), [hi] "w"(vhi), [rem] "n"(rem), [it] "n"(it) \
    : "q0", "q2", "q3", "cc", "memory"

/* One or two rows (x0, x1; pair = 0: x1 unused) times every quad: out_c int8 outputs per row at o0 (and o1 = o0 +
 * out_c: out_c is a compile-time constant, an immediate of the asm). `chunks`
 * whole chunks of 16, then `tail` (0-15) more k whose loads are predicated (a 1x1 convolution whose in_c is not a
 * multiple of 16; the gathered columns are padded to k16). A quad's block: its record (64 bytes), then its weights
 * (chunks + (tail > 0) chunks of 64 bytes). Whole quads without a tail run in inline asm to the stores, up to
 * TINYC_HC_UNROLLED chunks unrolled (`chunks` is a compile-time constant), more in a loop of 8 (TINYC_HC_MAC: the 8
 * accumulators, 3 pointers and the output take every register); a tail or a last partial quad goes through the
 * intrinsics. left: some
 * channel's shift is a left shift. */
static inline __attribute__((always_inline)) void tinyc_hc_rows(
    const int8_t *x0, const int8_t *x1, int8_t *o0, const int8_t *blocks, const int32_t chunks,
    const int32_t tail, const int32_t out_c, const int32_t out_offset, const int32_t act_min, const int32_t act_max,
    const int pair, const int left)
{
    const int32_t quads = (out_c + 3) >> 2;
    const int32_t rem = chunks <= TINYC_HC_UNROLLED ? chunks : chunks & 7;
    const int32_t it = chunks <= TINYC_HC_UNROLLED ? 0 : chunks >> 3;
    const int32x4_t voff = vdupq_n_s32(out_offset), vlo = vdupq_n_s32(act_min), vhi = vdupq_n_s32(act_max);
    const int8_t *pw = blocks;
    for (int32_t j = 0; j < quads; j++)
    {
        int32_t a00, a01, a02, a03, a10, a11, a12, a13;
        const int8_t *p0 = x0, *p1 = x1;
        int8_t *q0 = o0 + 4 * j, *q1 = o0 + out_c + 4 * j;
        const int whole = tail == 0 && chunks > 0 && (j < quads - 1 || (out_c & 3) == 0);
        if (whole && pair && left)
        {
            __asm__ volatile(TINYC_HC_START2 TINYC_HC_MAC(TINYC_HC_CHUNK2)
                             TINYC_HC_REQUANT2(TINYC_HC_LEFT2) TINYC_HC_OPERANDS2);
        }
        else if (whole && pair)
        {
            __asm__ volatile(TINYC_HC_START2 TINYC_HC_MAC(TINYC_HC_CHUNK2) TINYC_HC_REQUANT2("")
                             TINYC_HC_OPERANDS2);
        }
        else if (whole && left)
        {
            __asm__ volatile(TINYC_HC_START1 TINYC_HC_MAC(TINYC_HC_CHUNK1)
                             TINYC_HC_REQUANT1(TINYC_HC_LEFT1) TINYC_HC_OPERANDS1);
        }
        else if (whole)
        {
            __asm__ volatile(TINYC_HC_START1 TINYC_HC_MAC(TINYC_HC_CHUNK1) TINYC_HC_REQUANT1("")
                             TINYC_HC_OPERANDS1);
        }
        else
        {
            const int32_t *rec = (const int32_t *)(const void *)pw;
            a00 = rec[0], a01 = rec[1], a02 = rec[2], a03 = rec[3];
            a10 = a00, a11 = a01, a12 = a02, a13 = a03;
            pw += 64;
            for (int32_t c = 0; c < chunks + (tail > 0); c++, p0 += 16, p1 += 16, pw += 64)
            {
                const mve_pred16_t p = vctp8q((uint32_t)(c < chunks ? 16 : tail));
                const int8x16_t v0 = vldrbq_z_s8(p0, p);
                const int8x16_t w0 = vldrbq_s8(pw), w1 = vldrbq_s8(pw + 16), w2 = vldrbq_s8(pw + 32),
                                w3 = vldrbq_s8(pw + 48);
                a00 = vmladavaq_s8(a00, v0, w0);
                a01 = vmladavaq_s8(a01, v0, w1);
                a02 = vmladavaq_s8(a02, v0, w2);
                a03 = vmladavaq_s8(a03, v0, w3);
                if (pair)
                {
                    const int8x16_t v1 = vldrbq_z_s8(p1, p);
                    a10 = vmladavaq_s8(a10, v1, w0);
                    a11 = vmladavaq_s8(a11, v1, w1);
                    a12 = vmladavaq_s8(a12, v1, w2);
                    a13 = vmladavaq_s8(a13, v1, w3);
                }
            }
            const int32_t m = j == quads - 1 && (out_c & 3) ? out_c & 3 : 4;
            tinyc_hc_requant4(q0, tinyc_hc_vector(a00, a01, a02, a03), rec, out_offset, act_min, act_max, m);
            if (pair)
            {
                tinyc_hc_requant4(q1, tinyc_hc_vector(a10, a11, a12, a13), rec, out_offset, act_min, act_max, m);
            }
        }
    }
}
#undef TINYC_HC_CHUNK2
#undef TINYC_HC_CHUNK1
#undef TINYC_HC_MUL
#undef TINYC_HC_DIVIDE
#undef TINYC_HC_OUT
#undef TINYC_HC_REQUANT2
#undef TINYC_HC_LEFT2
#undef TINYC_HC_REQUANT1
#undef TINYC_HC_LEFT1
#undef TINYC_HC_START2
#undef TINYC_HC_START1
#undef TINYC_HC_MAC
#undef TINYC_HC_UNROLLED
#undef TINYC_HC_OPERANDS2
#undef TINYC_HC_OPERANDS1

/* n bytes from src to dst, 16 at a time (the last predicated). */
static inline __attribute__((always_inline)) void tinyc_hc_copy(int8_t *dst, const int8_t *src, const int32_t n)
{
    for (int32_t i = 0; i < n; i += 16)
    {
        const mve_pred16_t p = vctp8q((uint32_t)(n - i));
        vstrbq_p_s8(dst + i, vldrbq_z_s8(src + i, p), p);
    }
}

static inline __attribute__((always_inline)) void tinyc_hc_fill(int8_t *dst, const int32_t value, const int32_t n)
{
    const int8x16_t v = vdupq_n_s8((int8_t)value);
    for (int32_t i = 0; i < n; i += 16)
    {
        vstrbq_p_s8(dst + i, v, vctp8q((uint32_t)(n - i)));
    }
}

/* The window of output pixel (oy, ox) as k int8 at col: the input zero point where it leaves the input. */
static inline __attribute__((always_inline)) void tinyc_hc_im2col(
    const int8_t *input, int8_t *col, const int32_t oy, const int32_t ox, const int32_t in_h, const int32_t in_w,
    const int32_t in_c, const int32_t k_h, const int32_t k_w, const int32_t stride_h, const int32_t stride_w,
    const int32_t pad_h, const int32_t pad_w, const int32_t pad_value)
{
    const int32_t row = k_w * in_c;
    const int32_t y0 = oy * stride_h - pad_h, x0 = ox * stride_w - pad_w;
    for (int32_t ky = 0; ky < k_h; ky++, col += row)
    {
        const int32_t y = y0 + ky;
        if (y < 0 || y >= in_h)
        {
            tinyc_hc_fill(col, pad_value, row);
        }
        else if (x0 >= 0 && x0 + k_w <= in_w)
        {
            tinyc_hc_copy(col, input + (y * in_w + x0) * in_c, row);
        }
        else
        {
            for (int32_t kx = 0; kx < k_w; kx++)
            {
                const int32_t x = x0 + kx;
                if (x < 0 || x >= in_w)
                {
                    tinyc_hc_fill(col + kx * in_c, pad_value, in_c);
                }
                else
                {
                    tinyc_hc_copy(col + kx * in_c, input + (y * in_w + x) * in_c, in_c);
                }
            }
        }
    }
}

/*
 * Convolution of one NHWC image (batch 1, dilation 1), or a fully connected layer (a 1x1 convolution over its
 * input rows), with the layouts above. scratch: 2 * k16 bytes for k x k convolutions (within what CMSIS-NN's MVE
 * im2col asks for, tinyc/kernels/buffer_sizes.py); unused for 1x1 convolutions without padding.
 */
static inline __attribute__((always_inline)) void tinyc_hc_convolve(
    const int8_t *input, int8_t *output, int8_t *scratch, const int8_t *blocks,
    const int32_t in_h, const int32_t in_w, const int32_t in_c, const int32_t out_h, const int32_t out_w,
    const int32_t out_c, const int32_t k_h, const int32_t k_w, const int32_t stride_h, const int32_t stride_w,
    const int32_t pad_h, const int32_t pad_w, const int32_t pad_value, const int32_t out_offset,
    const int32_t act_min, const int32_t act_max, const int left)
{
    const int pointwise = k_h == 1 && k_w == 1 && pad_h == 0 && pad_w == 0;
    const int32_t k = k_h * k_w * in_c;
    const int32_t k16 = (k + 15) & ~15;
    /* a 1x1 convolution reads its input rows in place (a predicated tail); gathered columns are padded to k16 */
    const int32_t chunks = pointwise ? k >> 4 : k16 >> 4, tail = pointwise ? k & 15 : 0;
    const int32_t pixels = out_h * out_w;
    int32_t oy = 0, ox = 0;
    for (int32_t p = 0; p < pixels; p += 2)
    {
        const int last = p + 1 >= pixels;
        int32_t oy1 = oy, ox1 = ox + 1;
        if (ox1 == out_w)
        {
            ox1 = 0;
            oy1++;
        }
        const int8_t *x0, *x1;
        if (pointwise)
        {
            x0 = input + (oy * stride_h * in_w + ox * stride_w) * in_c;
            x1 = input + (oy1 * stride_h * in_w + ox1 * stride_w) * in_c;
        }
        else
        {
            tinyc_hc_im2col(input, scratch, oy, ox, in_h, in_w, in_c, k_h, k_w, stride_h, stride_w, pad_h, pad_w,
                            pad_value);
            if (!last)
            {
                tinyc_hc_im2col(input, scratch + k16, oy1, ox1, in_h, in_w, in_c, k_h, k_w, stride_h, stride_w,
                                pad_h, pad_w, pad_value);
            }
            x0 = scratch;
            x1 = scratch + k16;
        }
        int8_t *o0 = output + p * out_c;
        if (last)
        {
            tinyc_hc_rows(x0, x0, o0, blocks, chunks, tail, out_c, out_offset, act_min, act_max, 0, left);
        }
        else
        {
            tinyc_hc_rows(x0, x1, o0, blocks, chunks, tail, out_c, out_offset, act_min, act_max, 1,
                          left);
        }
        ox = ox1 + 1;
        oy = oy1;
        if (ox == out_w)
        {
            ox = 0;
            oy++;
        }
    }
}

/* tinyc_hc_convolve with its shape named (tinyc_fast_conv_shape of tinyc_fast_conv.h, printed by model.c). */
static inline __attribute__((always_inline)) void tinyc_helium_conv_s8(
    const int8_t *input, int8_t *output, int8_t *scratch, const int8_t *blocks, const tinyc_fast_conv_shape s,
    const int left)
{
    tinyc_hc_convolve(input, output, scratch, blocks, s.in_h, s.in_w, s.in_c, s.out_h, s.out_w, s.out_c, s.k_h,
                      s.k_w, s.stride_h, s.stride_w, s.pad_h, s.pad_w, s.pad_value, s.out_offset, s.act_min,
                      s.act_max, left);
}

#endif /* TINYC_HELIUM_KERNELS */

#endif /* TINYC_HELIUM_CONV_H */
