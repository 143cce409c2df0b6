/*
 * tinyc's compile-time specialized convolution (ARMv7E-M DSP): one static inline function that each generated
 * step calls with constant shapes, so that the compiler specializes it per layer (loop bounds, tails, border
 * tests and the requantization mode fold away). What Python prepares at compile time (tinyc/plan/specialize.py):
 *
 * - weights per output channel pair, per group of 4 k, channel 0 then channel 1; k rounded up to a multiple of
 *   4 and an odd channel count rounded up with zeros. Int16 (where the board's flash has room): doubled, in
 *   the lane order SXTB16 gives the input, [2*w0, 2*w2, 2*w1, 2*w3], so one LDRD feeds 4 MACs of one channel
 *   with no SXTB16 on the weights; int8 (ws8, flash-bound models): [w0, w1, w2, w3], two SXTB16 per use.
 * - one record of 4 int32 per output channel: the bias with the input offset folded in (doubled with int16
 *   weights: the accumulator's scale), the multiplier, and the requantization constants of the layer's mode.
 * - where some output channels have all-zero weights (trained networks prune whole channels; their biases may be
 *   near 2^30), their outputs are constants of the layer: those channels have no weights and no record, a row of
 *   out_c int8 (`row`, the constants in their places) is copied to every output pixel, and the `live_c` other
 *   channels, in the weights' and records' order, are stored at their channel numbers (`live`, uint16).
 *
 * Tile: 4 output pixels x 2 output channels (8 accumulators) with int16 weights where the 4 pixels' int16 columns
 * fit the stack (TINYC_FC4_STACK_BYTES: every 1x1 convolution of at most 256 input channels, k x k ones up to
 * k4 = 288), or columns 0 and 1 in the scratch and 2 and 3 on the stack (k4 up to 576): each weight word read
 * from flash feeds 4 pixels, half the flash bytes per MAC of the 2-pixel tile, and 15 (split: 17) instructions
 * per 16 MACs with loads that pipeline. A k x k window with in_c a multiple of 4 goes from the input straight to
 * int16 (tinyc_fc_im2col_words), others through a byte gather. Otherwise 2 output pixels x 2 output channels (4
 * accumulators): a 1x1 convolution reads its input pixels in place (int8, SXTB16 per use: 16 instructions per 16
 * MACs) or as int16 columns on the stack; a k x k convolution gathers the windows of 2 pixels (the input zero
 * point where the window leaves the input) into the scratch, as int16 columns in SXTB16 lane order (14
 * instructions per 16 MACs). The scratch is the two int16 columns CMSIS-NN v7.0.0's im2col convolution asks for
 * (tinyc/kernels/buffer_sizes.py): no more SRAM than the library call it replaces (the 4-pixel tile gathers a
 * window's bytes there).
 *
 * Requantization (equal to TFLite Micro's double rounding; the proofs are Python's, per channel, in
 * tinyc/plan/specialize.py): FAST: SMMULR of the doubled accumulator is the rounding doubling high multiply
 * (|accumulator| < 2^30), then the rounding divide by 2^e (half away from zero) with the output zero point
 * folded in, and SSAT to int8; FAST_CLAMP: then the activation clamp; EXACT: the 64-bit path for layers
 * whose multipliers shift left or whose bounds do not hold.
 */
#ifndef TINYC_FAST_CONV_H
#define TINYC_FAST_CONV_H

#include "tinyc_fast_support.h"
#include "tinyc_fast_tile.h"

#if TINYC_FAST_KERNELS

/* tinyc_fc_im2col for in_c a multiple of 4: each row of the window straight from the input to int16, the padding
 * as words of the input zero point in both lanes (no byte gather). */
static inline __attribute__((always_inline)) void tinyc_fc_im2col_words(
    const int8_t *input, int32_t *out, int32_t oy, int32_t ox, const int32_t in_h, const int32_t in_w,
    const int32_t in_c, const int32_t k_h, const int32_t k_w, const int32_t stride_h, const int32_t stride_w,
    const int32_t pad_h, const int32_t pad_w, const int32_t pad_value)
{
    const int32_t words = in_c >> 2; /* input words per pixel; 2 * words column words */
    const int32_t pad2 = (int32_t)(((uint32_t)pad_value & 0xFFFFu) | ((uint32_t)pad_value << 16));
    const int32_t y0 = oy * stride_h - pad_h, x0 = ox * stride_w - pad_w;
    for (int32_t ky = 0; ky < k_h; ky++, out += 2 * k_w * words)
    {
        const int32_t y = y0 + ky;
        if (y < 0 || y >= in_h)
        {
            tinyc_fc_fill_words(out, pad2, 2 * k_w * words);
        }
        else if (x0 >= 0 && x0 + k_w <= in_w)
        {
            tinyc_fc_widen(input + (y * in_w + x0) * in_c, out, k_w * words);
        }
        else
        {
            for (int32_t kx = 0; kx < k_w; kx++)
            {
                const int32_t x = x0 + kx;
                if (x < 0 || x >= in_w)
                {
                    tinyc_fc_fill_words(out + 2 * kx * words, pad2, 2 * words);
                }
                else
                {
                    tinyc_fc_widen(input + (y * in_w + x) * in_c, out + 2 * kx * words, words);
                }
            }
        }
    }
}

/* The window of output pixel (oy, ox) as an int16 column in SXTB16 lane order at `col` (k4 entries), gathered
 * through `bytes` (k4 int8, which may be the upper half of the column itself: the conversion never overtakes
 * the gather). */
static inline __attribute__((always_inline)) void tinyc_fc_im2col(
    const int8_t *input, int16_t *col, int8_t *bytes, int32_t oy, int32_t ox, const int32_t in_h,
    const int32_t in_w, const int32_t in_c, const int32_t k_h, const int32_t k_w, const int32_t stride_h,
    const int32_t stride_w, const int32_t pad_h, const int32_t pad_w, const int32_t pad_value, const int32_t k4)
{
    if ((in_c & 3) == 0)
    {
        tinyc_fc_im2col_words(input, (int32_t *)(void *)col, oy, ox, in_h, in_w, in_c, k_h, k_w, stride_h, stride_w,
                              pad_h, pad_w, pad_value);
        return;
    }
    const int32_t row = k_w * in_c;
    const int32_t y0 = oy * stride_h - pad_h, x0 = ox * stride_w - pad_w;
    int8_t *dst = bytes;
    for (int32_t ky = 0; ky < k_h; ky++, dst += row)
    {
        const int32_t y = y0 + ky;
        if (y < 0 || y >= in_h)
        {
            tinyc_fc_fill(dst, pad_value, row);
        }
        else if (x0 >= 0 && x0 + k_w <= in_w)
        {
            tinyc_fc_copy(dst, input + (y * in_w + x0) * in_c, row);
        }
        else
        {
            for (int32_t kx = 0; kx < k_w; kx++)
            {
                const int32_t x = x0 + kx;
                if (x < 0 || x >= in_w)
                {
                    tinyc_fc_fill(dst + kx * in_c, pad_value, in_c);
                }
                else
                {
                    tinyc_fc_copy(dst + kx * in_c, input + (y * in_w + x) * in_c, in_c);
                }
            }
        }
    }
    tinyc_fc_fill(bytes + k_h * row, 0, k4 - k_h * row);
    int32_t *out = (int32_t *)(void *)col;
    for (int32_t g = 0; g < k4; g += 4)
    {
        const int32_t v = tinyc_fc_load(bytes + g);
        out[0] = __sxtb16(v);
        out[1] = tinyc_fc_sxtb16_ror8(v);
        out += 2;
    }
}

/* 1x1 convolutions with at most this many input channels convert the input of 2 pixels to int16 columns on the
 * stack (4 * in_c bytes, 1 KiB at most); wider ones read the input pixels as int8. */
#define TINYC_FC_STACK_CHANNELS 256

/* The 4-pixel tile runs where its 4 int16 columns (8 * k4 bytes) fit the stack within this many bytes (every
 * 1x1 convolution of at most TINYC_FC_STACK_CHANNELS input channels, k x k ones up to k4 = 288); the others run
 * the 2-pixel tile from the scratch. */
#define TINYC_FC4_STACK_BYTES 2304

/* n (1-4) output pixels from pixel p on, 4 at a time: their columns at `cols` (n gathered; the rest hold stale
 * columns whose sums are not stored), then every live channel pair. The arguments as tinyc_fast_conv_s8's. */
static inline __attribute__((always_inline)) void tinyc_fc_quad_pixels(
    const int8_t *input, int8_t *output, int16_t *cols, int16_t *hi, const void *weights, const int32_t *quant,
    const uint16_t *live, const int8_t *row, const int32_t live_c, const int32_t p, const int32_t n, int32_t *oy,
    int32_t *ox, const int32_t in_h, const int32_t in_w, const int32_t in_c, const int32_t out_w, const int32_t out_c,
    const int32_t k_h, const int32_t k_w, const int32_t stride_h, const int32_t stride_w, const int32_t pad_h,
    const int32_t pad_w, const int32_t pad_value, const int32_t out_offset, const int32_t act_min,
    const int32_t act_max, const int mode, const int pointwise, const int32_t k4, const int split)
{
    const int mapped = live_c < out_c;
    const int32_t pairs = (live_c + 1) >> 1;
    for (int32_t i = 0; i < n; i++)
    {
        int16_t *col = !split ? cols + i * k4 : i < 2 ? cols + i * k4 : hi + (i - 2) * k4;
        if (pointwise)
        {
            tinyc_fc_pixel_col(input + (*oy * stride_h * in_w + *ox * stride_w) * in_c, col, in_c);
        }
        else
        {
            /* the bytes of the window in the column's upper half (the conversion never overtakes them) */
            tinyc_fc_im2col(input, col, (int8_t *)(void *)col + k4, *oy, *ox, in_h, in_w, in_c, k_h, k_w, stride_h, stride_w,
                            pad_h, pad_w, pad_value, k4);
        }
        if (mapped)
        {
            tinyc_fc_copy_row(output + (p + i) * out_c, row, out_c);
        }
        if (++*ox == out_w)
        {
            *ox = 0;
            ++*oy;
        }
    }
    int8_t *o = output + p * out_c;
    const int8_t *w = (const int8_t *)weights;
    const int32_t *q = quant;
    const uint16_t *ch = live;
    for (int32_t j = 0; j < pairs; j++)
    {
        int32_t acc[8];
#pragma GCC unroll 4
        for (int32_t i = 0; i < 4; i++)
        {
            acc[2 * i] = q[0];
            acc[2 * i + 1] = q[TINYC_QUANT_WORDS];
        }
        if (n <= 2)
        {
            /* the last 1 or 2 pixels: the 2-pixel tile (columns 0 and 1 one after the other; 1 pixel: column 1
             * stale) */
            tinyc_fc_tile(cols, cols + k4, w, k4 >> 2, 0, 1, 0, &acc[0], &acc[1], &acc[2], &acc[3]);
        }
        else
        {
            tinyc_fc_tile4(cols, hi, split, w, k4 >> 2, acc);
        }
        const int second = !((live_c & 1) && j == pairs - 1);
        const int32_t n0 = mapped ? ch[0] : 0, n1 = mapped ? (second ? ch[1] : 0) : 1;
        /* the records copied (the int8 stores cannot alias a local), the loops unrolled (the accumulators stay in
         * registers) */
        const int32_t r0[TINYC_QUANT_WORDS] = {q[0], q[1], q[2], q[3]};
        const int32_t r1[TINYC_QUANT_WORDS] = {q[4], q[5], q[6], q[7]};
#pragma GCC unroll 4
        for (int32_t i = 0; i < n; i++)
        {
            o[i * out_c + n0] = tinyc_fc_requant(acc[2 * i], r0, mode, out_offset, act_min, act_max);
        }
        if (second)
        {
#pragma GCC unroll 4
            for (int32_t i = 0; i < n; i++)
            {
                o[i * out_c + n1] = tinyc_fc_requant(acc[2 * i + 1], r1, mode, out_offset, act_min, act_max);
            }
        }
        if (mapped)
        {
            ch += 2;
        }
        else
        {
            o += 2;
        }
        w += 4 * k4;
        q += 2 * TINYC_QUANT_WORDS;
    }
}

/*
 * Convolution of one NHWC image (batch 1, dilation 1) with the compile-time layouts above. scratch: 4 * k4
 * bytes (k4 = k_h * k_w * in_c rounded up to 4), 4-byte aligned, for k x k convolutions; unused for 1x1
 * convolutions without padding. live_c < out_c: `row` and `live` give the constant channels' outputs and the
 * live channels' numbers (above); live_c == out_c: both unused (NULL).
 */
static inline __attribute__((always_inline)) void tinyc_fc_convolve(
    const int8_t *input, int8_t *output, int8_t *scratch, const void *weights, const int32_t *quant,
    const uint16_t *live, const int8_t *row, const int32_t live_c, const int32_t in_h, const int32_t in_w, const int32_t in_c, const int32_t out_h, const int32_t out_w,
    const int32_t out_c, const int32_t k_h, const int32_t k_w, const int32_t stride_h, const int32_t stride_w,
    const int32_t pad_h, const int32_t pad_w, const int32_t pad_value, const int32_t out_offset,
    const int32_t act_min, const int32_t act_max, const int mode, const int ws8)
{
    const int pointwise = k_h == 1 && k_w == 1 && pad_h == 0 && pad_w == 0;
    const int stack_cols = pointwise && in_c <= TINYC_FC_STACK_CHANNELS;
    const int32_t k4 = (k_h * k_w * in_c + 3) & ~3;
    const int32_t groups = pointwise && !stack_cols ? in_c >> 2 : k4 >> 2;
    const int32_t tail = pointwise && !stack_cols ? in_c & 3 : 0;
    const int32_t pair_bytes = ws8 ? 2 * k4 : 4 * k4; /* weights of one channel pair */
    const int32_t pairs = (live_c + 1) >> 1;
    const int mapped = live_c < out_c;
    const int32_t pixels = out_h * out_w;
    if (!ws8 && (!pointwise || stack_cols) && 4 * k4 <= TINYC_FC4_STACK_BYTES)
    {
        /* 4 int16 columns here, or (8 * k4 over the bytes) columns 2 and 3 here, 0 and 1 in the scratch; a fixed
         * size: no frame pointer to take r7 */
        int32_t stack4[TINYC_FC4_STACK_BYTES / 4];
        const int split = 8 * k4 > TINYC_FC4_STACK_BYTES;
        int16_t *lo = split ? (int16_t *)(void *)scratch : (int16_t *)(void *)stack4;
        int16_t *hi = split ? (int16_t *)(void *)stack4 : lo + 2 * k4;
        int32_t oy = 0, ox = 0;
        const int32_t p = pixels & ~3; /* the pixels of whole quads, then the last 0-3 */
        for (int32_t i = 0; i < p; i += 4)
        {
            tinyc_fc_quad_pixels(input, output, lo, hi, weights, quant, live, row, live_c,
                                 i, 4, &oy, &ox, in_h, in_w, in_c, out_w, out_c, k_h, k_w, stride_h, stride_w, pad_h,
                                 pad_w, pad_value, out_offset, act_min, act_max, mode, pointwise, k4, split);
        }
        if (p < pixels)
        {
            tinyc_fc_quad_pixels(input, output, lo, hi, weights, quant, live, row, live_c,
                                 p, pixels - p, &oy, &ox, in_h, in_w, in_c, out_w, out_c, k_h, k_w, stride_h,
                                 stride_w, pad_h, pad_w, pad_value, out_offset, act_min, act_max, mode, pointwise,
                                 k4, split);
        }
        return;
    }
    int32_t stack[stack_cols ? TINYC_FC_STACK_CHANNELS : 1]; /* two int16 columns of a 1x1 convolution */
    int16_t *col0 = stack_cols ? (int16_t *)(void *)stack : (int16_t *)(void *)scratch, *col1 = col0 + k4;
    int8_t *gather = scratch + 3 * k4;
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
        const void *c0, *c1;
        if (pointwise)
        {
            const int8_t *x0 = input + (oy * stride_h * in_w + ox * stride_w) * in_c;
            const int8_t *x1 = last ? x0 : input + (oy1 * stride_h * in_w + ox1 * stride_w) * in_c;
            if (stack_cols)
            {
                tinyc_fc_pixel_col(x0, col0, in_c);
                tinyc_fc_pixel_col(x1, col1, in_c);
                c0 = col0;
                c1 = col1;
            }
            else
            {
                c0 = x0;
                c1 = x1;
            }
        }
        else
        {
            tinyc_fc_im2col(input, col0, gather, oy, ox, in_h, in_w, in_c, k_h, k_w, stride_h, stride_w, pad_h,
                            pad_w, pad_value, k4);
            if (!last)
            {
                tinyc_fc_im2col(input, col1, gather, oy1, ox1, in_h, in_w, in_c, k_h, k_w, stride_h, stride_w,
                                pad_h, pad_w, pad_value, k4);
            }
            c0 = col0;
            c1 = last ? col0 : col1;
        }
        int8_t *o0 = output + p * out_c, *o1 = o0 + out_c;
        if (mapped)
        {
            tinyc_fc_copy_row(o0, row, out_c);
            if (!last)
            {
                tinyc_fc_copy_row(o1, row, out_c);
            }
        }
        const int8_t *w = (const int8_t *)weights;
        const int32_t *q = quant;
        const uint16_t *ch = live;
        for (int32_t j = 0; j < pairs; j++)
        {
            int32_t a00 = q[0], a01 = q[TINYC_QUANT_WORDS], a10 = q[0], a11 = q[TINYC_QUANT_WORDS];
            tinyc_fc_tile(c0, c1, w, groups, tail, !pointwise || stack_cols, ws8, &a00, &a01, &a10, &a11);
            const int second = !((live_c & 1) && j == pairs - 1);
            const int32_t n0 = mapped ? ch[0] : 0, n1 = mapped ? (second ? ch[1] : 0) : 1;
            o0[n0] = tinyc_fc_requant(a00, q, mode, out_offset, act_min, act_max);
            if (second)
            {
                o0[n1] = tinyc_fc_requant(a01, q + TINYC_QUANT_WORDS, mode, out_offset, act_min, act_max);
            }
            if (!last)
            {
                o1[n0] = tinyc_fc_requant(a10, q, mode, out_offset, act_min, act_max);
                if (second)
                {
                    o1[n1] = tinyc_fc_requant(a11, q + TINYC_QUANT_WORDS, mode, out_offset, act_min, act_max);
                }
            }
            if (mapped)
            {
                ch += 2;
            }
            else
            {
                o0 += 2;
                o1 += 2;
            }
            w += pair_bytes;
            q += 2 * TINYC_QUANT_WORDS;
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

/* A specialized convolution's shape and output quantization by name: model.c prints it with designated initializers
 * (`(tinyc_fast_conv_shape){.in_h = 49, ...}`), a compile-time constant that the inlined kernel folds away, so the
 * names cost no instruction. A fully connected layer through this kernel: a 1x1 convolution over its input rows. */
typedef struct
{
    int32_t in_h, in_w, in_c;
    int32_t out_h, out_w, out_c;
    int32_t k_h, k_w, stride_h, stride_w, pad_h, pad_w;
    int32_t pad_value; /* the input zero point: what padding holds */
    int32_t out_offset, act_min, act_max;
} tinyc_fast_conv_shape;

/* tinyc_fc_convolve with its shape named; mode: TINYC_REQUANT_*, ws8: 1 for int8 weights (WeightFormat.S8). */
static inline __attribute__((always_inline)) void tinyc_fast_conv_s8(
    const int8_t *input, int8_t *output, int8_t *scratch, const void *weights, const int32_t *quant,
    const uint16_t *live, const int8_t *row, const int32_t live_c, const tinyc_fast_conv_shape s, const int mode,
    const int ws8)
{
    tinyc_fc_convolve(input, output, scratch, weights, quant, live, row, live_c, s.in_h, s.in_w, s.in_c, s.out_h,
                      s.out_w, s.out_c, s.k_h, s.k_w, s.stride_h, s.stride_w, s.pad_h, s.pad_w, s.pad_value,
                      s.out_offset, s.act_min, s.act_max, mode, ws8);
}

#endif /* TINYC_FAST_KERNELS */

#endif /* TINYC_FAST_CONV_H */
