/*
 * tinyc's compile-time specialized depthwise convolution for Helium (MVE: the Cortex-M55), channel multiplier 1,
 * batch 1, dilation 1, out of place; inlined per layer by the generated step. What Python prepares
 * (tinyc/plan/specialize.py, Variant.HELIUM_DEPTHWISE):
 *
 * - 3x3 filters, channels a multiple of 4: per quad of channels one block of 52 int32 read by one pointer: the record
 *   of tinyc_helium_conv.h (16 int32: accumulator starts with the input offset folded in, multipliers, left shifts,
 *   negated right shifts), then the 9 taps' weights, the quad's 4 channels each, as int32 (36 words: a load of
 *   weights needs no widening, and the widening loads of the input need the few low registers).
 *
 * Each output pixel, 4 channels at a time, in inline asm: per tap one widening load of the input's 4 channels (at
 * immediate offsets from the row's middle tap where chans <= 127, else through address adds), one of the weights, a VMUL and a VADD (4 MACs: MVE has no integer vector-by-vector
 * multiply-accumulate), then the requantization of tinyc_helium_conv.h and a narrowing store of 4 bytes. A tap
 * outside the input reads the input zero point: with the offset folded into the start, it adds
 * (zp + input_offset) * w = 0, as TFLite Micro skips it.
 */
#ifndef TINYC_HELIUM_DEPTHWISE_H
#define TINYC_HELIUM_DEPTHWISE_H

#include "tinyc_fast_depthwise.h" /* tinyc_fast_depthwise_shape */
#include "tinyc_helium_conv.h"

#if TINYC_HELIUM_KERNELS

/* Channels of a 3x3 depthwise convolution this kernel takes: its zero-point row and a border pixel's band (3 + 9
 * pixels of chans bytes, 3 KiB at most) are on the stack, within the board's 8 KiB. */
#define TINYC_HD_MAX_CHANS 256
#define TINYC_HD_QUAD_WORDS 52 /* the record (16 int32), then 9 taps x 4 int32 weights */

/* One kernel row of one quad: its 3 taps' input channels from the row pointer r (kx = 2 and 1 through t, then kx = 0
 * with r post-incremented), their int32 weights at `w0` `w1` `w2` bytes into the quad's block, acc += x * w. The
 * widening loads need low registers (the "l" operands). */
#define TINYC_HD_ROW(r, w0, w1, w2) \
    "add %[t], %[" r "], %[c2]\n\t" \
    "vldrb.s32 q1, [%[t]]\n\t" \
    "vldrw.32 q2, [%[pw], #" w2 "]\n\t" \
    "vmul.i32 q1, q1, q2\n\t" \
    "vadd.i32 q0, q0, q1\n\t" \
    "add %[t], %[" r "], %[c1]\n\t" \
    "vldrb.s32 q1, [%[t]]\n\t" \
    "vldrw.32 q2, [%[pw], #" w1 "]\n\t" \
    "vmul.i32 q1, q1, q2\n\t" \
    "vadd.i32 q0, q0, q1\n\t" \
    "vldrb.s32 q1, [%[" r "]], #4\n\t" \
    "vldrw.32 q2, [%[pw], #" w0 "]\n\t" \
    "vmul.i32 q1, q1, q2\n\t" \
    "vadd.i32 q0, q0, q1\n\t"
/* TINYC_HD_ROW where chans <= 127: r points at the middle tap (kx = 1), the side taps at immediate offsets -chans
 * and +chans (a widening load's offset is 7 bits): no address adds. */
#define TINYC_HD_ROW_NEAR(r, w0, w1, w2) \
    "vldrb.s32 q1, [%[" r "], #%c[mc]]\n\t" \
    "vldrw.32 q2, [%[pw], #" w0 "]\n\t" \
    "vmul.i32 q1, q1, q2\n\t" \
    "vadd.i32 q0, q0, q1\n\t" \
    "vldrb.s32 q1, [%[" r "], #%c[pc]]\n\t" \
    "vldrw.32 q2, [%[pw], #" w2 "]\n\t" \
    "vmul.i32 q1, q1, q2\n\t" \
    "vadd.i32 q0, q0, q1\n\t" \
    "vldrb.s32 q1, [%[" r "]], #4\n\t" \
    "vldrw.32 q2, [%[pw], #" w1 "]\n\t" \
    "vmul.i32 q1, q1, q2\n\t" \
    "vadd.i32 q0, q0, q1\n\t"
/* acc -> int8: TFLite Micro's MultiplyByQuantizedMultiplier (as tinyc_hc_requant4), the offset, the clamp. */
#define TINYC_HD_REQUANT(left) \
    left \
    "vldrw.32 q1, [%[pw], #16]\n\t" \
    "vqrdmulh.s32 q0, q0, q1\n\t" \
    "vldrw.32 q1, [%[pw], #48]\n\t" \
    "vand q2, q0, q1\n\t" \
    "vshr.s32 q2, q2, #31\n\t" \
    "vqadd.s32 q0, q0, q2\n\t" \
    "vrshl.s32 q0, q0, q1\n\t" \
    "vadd.i32 q0, q0, %q[off]\n\t" \
    "vmax.s32 q0, q0, %q[lo]\n\t" \
    "vmin.s32 q0, q0, %q[hi]\n\t" \
    "vstrb.32 q0, [%[o]], #4\n\t" \
    "add %[pw], %[pw], #208\n\t"
#define TINYC_HD_LEFT "vldrw.32 q1, [%[pw], #32]\n\tvshl.s32 q0, q0, q1\n\t"
#define TINYC_HD_BODY \
    "vldrw.32 q0, [%[pw]]\n\t" \
    TINYC_HD_ROW("r0", "64", "80", "96") TINYC_HD_ROW("r1", "112", "128", "144") TINYC_HD_ROW("r2", "160", "176", "192")
#define TINYC_HD_BODY_NEAR \
    "vldrw.32 q0, [%[pw]]\n\t" \
    TINYC_HD_ROW_NEAR("r0", "64", "80", "96") TINYC_HD_ROW_NEAR("r1", "112", "128", "144") \
    TINYC_HD_ROW_NEAR("r2", "160", "176", "192")
#define TINYC_HD_OPERANDS_NEAR \
    : [r0] "+l"(r0), [r1] "+l"(r1), [r2] "+l"(r2), [o] "+l"(o), [pw] "+r"(pw), [n] "+r"(n) \
    : [mc] "n"(-chans), [pc] "n"(chans), [off] "w"(voff), [lo] "w"(vlo), [hi] "w"(vhi) \
    : "q0", "q1", "q2", "cc", "memory"
#define TINYC_HD_OPERANDS \
    : [r0] "+l"(r0), [r1] "+l"(r1), [r2] "+l"(r2), [t] "=&l"(t), [o] "+l"(o), [pw] "+r"(pw), [n] "+r"(n) \
    : [c1] "r"(c1), [c2] "r"(c2), [off] "w"(voff), [lo] "w"(vlo), [hi] "w"(vhi) \
    : "q0", "q1", "q2", "cc", "memory"

/*
 * A 3x3 depthwise convolution (chans a multiple of 4, at most TINYC_HD_MAX_CHANS). `packed`: per quad of channels its
 * record and int32 weights (TINYC_HD_QUAD_WORDS words). Per output pixel, the input pointers of its 3 kernel rows (a
 * row of the input zero point where the row leaves the input; a row that starts left of the input or ends right of
 * it is gathered into a 3-pixel band of the zero point on the stack), then every quad: 9 x (a widening load, a
 * weight load, VMUL, VADD) and 6 address adds, the requantization and a 4-byte store. left: some channel's shift is
 * a left shift.
 */
static inline __attribute__((always_inline)) void tinyc_hd_depthwise3x3(
    const int8_t *input, int8_t *output, const int32_t *packed, const int32_t in_h, const int32_t in_w,
    const int32_t chans, const int32_t out_h, const int32_t out_w, const int32_t stride_h, const int32_t stride_w,
    const int32_t pad_h, const int32_t pad_w, const int32_t pad_value, const int32_t out_offset,
    const int32_t act_min, const int32_t act_max, const int left)
{
    int32_t zp_words[3 * TINYC_HD_MAX_CHANS / 4]; /* 3 pixels of the zero point */
    int32_t band_words[3][3 * TINYC_HD_MAX_CHANS / 4]; /* a border pixel's 3 rows, 3 pixels each */
    int8_t *zp = (int8_t *)zp_words;
    tinyc_hc_fill(zp, pad_value, 3 * chans);
    const int32x4_t voff = vdupq_n_s32(out_offset), vlo = vdupq_n_s32(act_min), vhi = vdupq_n_s32(act_max);
    const int32_t c1 = chans, c2 = 2 * chans;
    int8_t *o = output;
    for (int32_t oy = 0; oy < out_h; oy++)
    {
        const int32_t iy0 = oy * stride_h - pad_h;
        for (int32_t ox = 0; ox < out_w; ox++)
        {
            const int32_t ix0 = ox * stride_w - pad_w;
            const int inside_x = ix0 >= 0 && ix0 + 3 <= in_w;
            const int8_t *row[3];
#pragma GCC unroll 3
            for (int32_t ky = 0; ky < 3; ky++)
            {
                const int32_t y = iy0 + ky;
                if (y < 0 || y >= in_h)
                {
                    row[ky] = zp;
                }
                else if (inside_x)
                {
                    row[ky] = input + (y * in_w + ix0) * chans;
                }
                else
                {
                    int8_t *band = (int8_t *)band_words[ky];
                    for (int32_t kx = 0; kx < 3; kx++)
                    {
                        const int32_t x = ix0 + kx;
                        if (x < 0 || x >= in_w)
                        {
                            tinyc_hc_fill(band + kx * chans, pad_value, chans);
                        }
                        else
                        {
                            tinyc_hc_copy(band + kx * chans, input + (y * in_w + x) * chans, chans);
                        }
                    }
                    row[ky] = band;
                }
            }
            const int near = chans <= 127; /* the side taps at immediate offsets from the middle one */
            const int8_t *r0 = row[0] + (near ? chans : 0), *r1 = row[1] + (near ? chans : 0),
                         *r2 = row[2] + (near ? chans : 0), *t;
            const int32_t *pw = packed;
            int32_t n = chans >> 2;
            if (near && left)
            {
                __asm__ volatile("1:\n\t" TINYC_HD_BODY_NEAR TINYC_HD_REQUANT(TINYC_HD_LEFT)
                                 "subs %[n], %[n], #1\n\tbne 1b\n\t" TINYC_HD_OPERANDS_NEAR);
            }
            else if (near)
            {
                __asm__ volatile("1:\n\t" TINYC_HD_BODY_NEAR TINYC_HD_REQUANT("")
                                 "subs %[n], %[n], #1\n\tbne 1b\n\t" TINYC_HD_OPERANDS_NEAR);
            }
            else if (left)
            {
                __asm__ volatile("1:\n\t" TINYC_HD_BODY TINYC_HD_REQUANT(TINYC_HD_LEFT)
                                 "subs %[n], %[n], #1\n\tbne 1b\n\t" TINYC_HD_OPERANDS);
            }
            else
            {
                __asm__ volatile("1:\n\t" TINYC_HD_BODY TINYC_HD_REQUANT("")
                                 "subs %[n], %[n], #1\n\tbne 1b\n\t" TINYC_HD_OPERANDS);
            }
        }
    }
}
#undef TINYC_HD_ROW
#undef TINYC_HD_ROW_NEAR
#undef TINYC_HD_BODY_NEAR
#undef TINYC_HD_OPERANDS_NEAR
#undef TINYC_HD_REQUANT
#undef TINYC_HD_LEFT
#undef TINYC_HD_BODY
#undef TINYC_HD_OPERANDS

/* tinyc_hd_depthwise3x3 with its shape named (tinyc_fast_depthwise_shape of tinyc_fast_depthwise.h; k_h = k_w = 3). */
static inline __attribute__((always_inline)) void tinyc_helium_depthwise_s8(
    const int8_t *input, int8_t *output, const int32_t *packed, const tinyc_fast_depthwise_shape s, const int left)
{
    tinyc_hd_depthwise3x3(input, output, packed, s.in_h, s.in_w, s.chans, s.out_h, s.out_w, s.stride_h, s.stride_w,
                          s.pad_h, s.pad_w, s.pad_value, s.out_offset, s.act_min, s.act_max, left);
}

#endif /* TINYC_HELIUM_KERNELS */

#endif /* TINYC_HELIUM_DEPTHWISE_H */
