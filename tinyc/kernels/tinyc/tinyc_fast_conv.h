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

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_DSP) && !defined(TINYC_PORTABLE_KERNELS) && !defined(TINYC_ARM_CMSIS_NN)
#define TINYC_FAST_KERNELS 1
#else
#define TINYC_FAST_KERNELS 0
#endif

#if TINYC_FAST_KERNELS

#include <arm_acle.h>

#define TINYC_REQUANT_FAST 0
#define TINYC_REQUANT_FAST_CLAMP 1
#define TINYC_REQUANT_EXACT 2
#define TINYC_QUANT_WORDS 4 /* int32 per output channel: bias, multiplier, 2 mode constants */

static inline __attribute__((always_inline)) int32_t tinyc_fc_load(const void *p)
{
    int32_t v;
    memcpy(&v, p, sizeof(v)); /* LDR: ARMv7-M allows unaligned word loads */
    return v;
}

static inline __attribute__((always_inline)) int32_t tinyc_fc_sxtb16_ror8(int32_t v)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

static inline __attribute__((always_inline)) int32_t tinyc_fc_smmulr(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

static inline __attribute__((always_inline)) int32_t tinyc_fc_ssat8(int32_t a)
{
    int32_t r;
    __asm__("ssat %0, #8, %1" : "=r"(r) : "r"(a));
    return r;
}

/* The int8 output of one doubled accumulator; q: the channel's record. */
static inline __attribute__((always_inline)) int8_t tinyc_fc_requant(int32_t acc2, const int32_t *q, const int mode,
                                                                       int32_t out_offset, int32_t act_min,
                                                                       int32_t act_max)
{
    if (mode == TINYC_REQUANT_EXACT)
    {
        /* q[1] multiplier, q[2] shift in [-31, 31]: arm_nn_requantize, then the offset and the clamp */
        const int32_t shift = q[2];
        const int32_t left = shift > 0 ? shift : 0, right = shift > 0 ? 0 : -shift;
        const int32_t value = (int32_t)((uint32_t)(acc2 >> 1) << left);
        int32_t high = (int32_t)(((int64_t)value * q[1] + ((int64_t)1 << 30)) >> 31);
        if (right > 0)
        {
            const uint32_t mask = (1u << right) - 1u;
            const uint32_t remainder = (uint32_t)high & mask;
            const uint32_t threshold = (mask >> 1) + (high < 0 ? 1u : 0u);
            high = (high >> right) + (remainder > threshold ? 1 : 0);
        }
        int32_t out = high + out_offset;
        out = out < act_min ? act_min : out;
        return (int8_t)(out > act_max ? act_max : out);
    }
    /* q[2] = 2^(e-1) + (output offset << e), q[3] = e >= 1 */
    int32_t x = tinyc_fc_smmulr(acc2, q[1]);
    x = tinyc_fc_ssat8((x + q[2] + (x >> 31)) >> q[3]);
    if (mode == TINYC_REQUANT_FAST_CLAMP)
    {
        x = x < act_min ? act_min : x;
        x = x > act_max ? act_max : x;
    }
    return (int8_t)x;
}

/* Columns of at most this many groups of 4 k run the assembly loop (LDRD's offset reaches 1020 bytes). */
#define TINYC_FC_ASM_GROUPS 127
/* int16 weights: up to this many groups with the pointer between the two columns (offsets of +-4 * groups bytes). */
#define TINYC_FC_ASM_GROUPS_MID 255

/* The 4 weights of group g of one channel as two int16 lane pairs [w0 w2], [w1 w3]: WS8 int8 weights (8 bytes per
 * group and channel pair, SXTB16 here), else doubled int16 weights (16 bytes, ready). */
static inline __attribute__((always_inline)) void tinyc_fc_weights(const void *weights, int32_t index, const int WS8,
                                                                    int32_t *we, int32_t *wo)
{
    if (WS8)
    {
        const int32_t v = ((const int32_t *)weights)[index];
        *we = __sxtb16(v);
        *wo = tinyc_fc_sxtb16_ror8(v);
    }
    else
    {
        *we = ((const int32_t *)weights)[2 * index];
        *wo = ((const int32_t *)weights)[2 * index + 1];
    }
}

/* acc[i][j] += column i . weights of channel j, over `groups` groups of 4 k. XS16: the columns are int16 in
 * SXTB16 lane order; else raw int8, followed by `tail` (0-3) more k read byte by byte. WS8: int8 weights. */
static inline __attribute__((always_inline)) void tinyc_fc_tile(const void *col0, const void *col1,
                                                                 const void *weights, const int32_t groups,
                                                                 const int32_t tail, const int XS16, const int WS8,
                                                                 int32_t *a00, int32_t *a01, int32_t *a10,
                                                                 int32_t *a11)
{
    int32_t s00 = *a00, s01 = *a01, s10 = *a10, s11 = *a11;
    const int32_t *w = (const int32_t *)weights;
#if defined(__OPTIMIZE__)
    if (XS16 && __builtin_constant_p(groups) && groups <= TINYC_FC_ASM_GROUPS &&
        (const int16_t *)col1 == (const int16_t *)col0 + 4 * groups)
    {
        /* column 1 right after column 0: one pointer, column 1 at a constant offset; 14 instructions per 16 MACs
         * with int16 weights, 18 with int8 weights */
        const int32_t *px = (const int32_t *)col0, *end = px + 2 * groups;
        int32_t x0e, x0o, x1e, x1o, we, wo;
        if (WS8)
        {
            __asm__ volatile(
                "1:\n\t"
                "ldrd %[x1e], %[x1o], [%[px], %[off]]\n\t"
                "ldrd %[x0e], %[x0o], [%[px]], #8\n\t"
                "ldr %[wo], [%[pw]], #4\n\t"
                "sxtb16 %[we], %[wo]\n\t"
                "sxtb16 %[wo], %[wo], ror #8\n\t"
                "smlad %[s00], %[x0e], %[we], %[s00]\n\t"
                "smlad %[s00], %[x0o], %[wo], %[s00]\n\t"
                "smlad %[s10], %[x1e], %[we], %[s10]\n\t"
                "smlad %[s10], %[x1o], %[wo], %[s10]\n\t"
                "ldr %[wo], [%[pw]], #4\n\t"
                "sxtb16 %[we], %[wo]\n\t"
                "sxtb16 %[wo], %[wo], ror #8\n\t"
                "smlad %[s01], %[x0e], %[we], %[s01]\n\t"
                "smlad %[s01], %[x0o], %[wo], %[s01]\n\t"
                "smlad %[s11], %[x1e], %[we], %[s11]\n\t"
                "smlad %[s11], %[x1o], %[wo], %[s11]\n\t"
                "cmp %[px], %[end]\n\t"
                "bne 1b\n\t"
                : [s00] "+r"(s00), [s01] "+r"(s01), [s10] "+r"(s10), [s11] "+r"(s11), [px] "+r"(px), [pw] "+r"(w),
                  [x0e] "=&r"(x0e), [x0o] "=&r"(x0o), [x1e] "=&r"(x1e), [x1o] "=&r"(x1o), [we] "=&r"(we),
                  [wo] "=&r"(wo)
                : [end] "r"(end), [off] "n"(8 * groups)
                : "cc", "memory");
        }
        else
        {
            __asm__ volatile(
                "1:\n\t"
                "ldrd %[x1e], %[x1o], [%[px], %[off]]\n\t"
                "ldrd %[x0e], %[x0o], [%[px]], #8\n\t"
                "ldrd %[we], %[wo], [%[pw]], #8\n\t"
                "smlad %[s00], %[x0e], %[we], %[s00]\n\t"
                "smlad %[s00], %[x0o], %[wo], %[s00]\n\t"
                "smlad %[s10], %[x1e], %[we], %[s10]\n\t"
                "smlad %[s10], %[x1o], %[wo], %[s10]\n\t"
                "ldrd %[we], %[wo], [%[pw]], #8\n\t"
                "smlad %[s01], %[x0e], %[we], %[s01]\n\t"
                "smlad %[s01], %[x0o], %[wo], %[s01]\n\t"
                "smlad %[s11], %[x1e], %[we], %[s11]\n\t"
                "smlad %[s11], %[x1o], %[wo], %[s11]\n\t"
                "cmp %[px], %[end]\n\t"
                "bne 1b\n\t"
                : [s00] "+r"(s00), [s01] "+r"(s01), [s10] "+r"(s10), [s11] "+r"(s11), [px] "+r"(px), [pw] "+r"(w),
                  [x0e] "=&r"(x0e), [x0o] "=&r"(x0o), [x1e] "=&r"(x1e), [x1o] "=&r"(x1o), [we] "=&r"(we),
                  [wo] "=&r"(wo)
                : [end] "r"(end), [off] "n"(8 * groups)
                : "cc", "memory");
        }
    }
    else if (XS16 && !WS8 && __builtin_constant_p(groups) && groups <= TINYC_FC_ASM_GROUPS_MID &&
             (const int16_t *)col1 == (const int16_t *)col0 + 4 * groups)
    {
        /* columns too long for one offset (ResNet-8's k = 576): the pointer half way between the two columns,
         * column 0 at -4 * groups bytes, column 1 at +4 * groups; 15 instructions per 16 MACs */
        const int32_t *px = (const int32_t *)col0 + groups, *end = px + 2 * groups;
        int32_t x0e, x0o, x1e, x1o, we, wo;
        __asm__ volatile(
            "1:\n\t"
            "ldrd %[x1e], %[x1o], [%[px], %[off]]\n\t"
            "ldrd %[x0e], %[x0o], [%[px], %[neg]]\n\t"
            "ldrd %[we], %[wo], [%[pw]], #8\n\t"
            "add %[px], %[px], #8\n\t"
            "smlad %[s00], %[x0e], %[we], %[s00]\n\t"
            "smlad %[s00], %[x0o], %[wo], %[s00]\n\t"
            "smlad %[s10], %[x1e], %[we], %[s10]\n\t"
            "smlad %[s10], %[x1o], %[wo], %[s10]\n\t"
            "ldrd %[we], %[wo], [%[pw]], #8\n\t"
            "smlad %[s01], %[x0e], %[we], %[s01]\n\t"
            "smlad %[s01], %[x0o], %[wo], %[s01]\n\t"
            "smlad %[s11], %[x1e], %[we], %[s11]\n\t"
            "smlad %[s11], %[x1o], %[wo], %[s11]\n\t"
            "cmp %[px], %[end]\n\t"
            "bne 1b\n\t"
            : [s00] "+r"(s00), [s01] "+r"(s01), [s10] "+r"(s10), [s11] "+r"(s11), [px] "+r"(px), [pw] "+r"(w),
              [x0e] "=&r"(x0e), [x0o] "=&r"(x0o), [x1e] "=&r"(x1e), [x1o] "=&r"(x1o), [we] "=&r"(we),
              [wo] "=&r"(wo)
            : [end] "r"(end), [off] "n"(4 * groups), [neg] "n"(-4 * groups)
            : "cc", "memory");
    }
    else
#endif
    {
        const int32_t *x0w = (const int32_t *)col0, *x1w = (const int32_t *)col1;
        const int8_t *x0b = (const int8_t *)col0, *x1b = (const int8_t *)col1;
        const int32_t step = WS8 ? 2 : 4; /* words of weights per group and channel pair */
        for (int32_t g = 0; g < groups + (tail > 0 ? 1 : 0); g++)
        {
            int32_t x0e, x0o, x1e, x1o;
            if (XS16)
            {
                x0e = x0w[2 * g];
                x0o = x0w[2 * g + 1];
                x1e = x1w[2 * g];
                x1o = x1w[2 * g + 1];
            }
            else
            {
                int32_t v0, v1;
                if (g < groups)
                {
                    v0 = tinyc_fc_load(x0b + 4 * g);
                    v1 = tinyc_fc_load(x1b + 4 * g);
                }
                else
                {
                    /* the last k: bytes 0..tail-1 of a group whose other weights are zero */
                    const int8_t *t0 = x0b + 4 * g, *t1 = x1b + 4 * g;
                    uint32_t u0 = (uint8_t)t0[0], u1 = (uint8_t)t1[0];
                    if (tail > 1)
                    {
                        u0 |= (uint32_t)(uint8_t)t0[1] << 8;
                        u1 |= (uint32_t)(uint8_t)t1[1] << 8;
                    }
                    if (tail > 2)
                    {
                        u0 |= (uint32_t)(uint8_t)t0[2] << 16;
                        u1 |= (uint32_t)(uint8_t)t1[2] << 16;
                    }
                    v0 = (int32_t)u0;
                    v1 = (int32_t)u1;
                }
                x0e = __sxtb16(v0);
                x0o = tinyc_fc_sxtb16_ror8(v0);
                x1e = __sxtb16(v1);
                x1o = tinyc_fc_sxtb16_ror8(v1);
            }
            int32_t we, wo;
            tinyc_fc_weights(w + step * g, 0, WS8, &we, &wo);
            s00 = __smlad(x0e, we, s00);
            s00 = __smlad(x0o, wo, s00);
            s10 = __smlad(x1e, we, s10);
            s10 = __smlad(x1o, wo, s10);
            tinyc_fc_weights(w + step * g, 1, WS8, &we, &wo);
            s01 = __smlad(x0e, we, s01);
            s01 = __smlad(x0o, wo, s01);
            s11 = __smlad(x1e, we, s11);
            s11 = __smlad(x1o, wo, s11);
        }
    }
    if (WS8)
    {
        /* int8 weights are not doubled: the requantization reads doubled accumulators */
        s00 <<= 1;
        s01 <<= 1;
        s10 <<= 1;
        s11 <<= 1;
    }
    *a00 = s00;
    *a01 = s01;
    *a10 = s10;
    *a11 = s11;
}

/* Columns of at most this many groups of 4 k run the 4-pixel assembly loop (column 3 at 24 * groups - 4 bytes: LDR's
 * offset reaches 4095). */
#define TINYC_FC4_ASM_GROUPS 170

/* The 4-pixel tile: acc[2 * i + j] += column i . weights of channel j (i = 0..3, j = 0..1), over `groups` groups of
 * 4 k, from 4 int16 columns in SXTB16 lane order one after another at `col` (4 * groups words each) and the doubled
 * int16 weights of one channel pair. Each weight word feeds 4 pixels: half the flash bytes per MAC of the 2-pixel
 * tile, and 14 instructions per 16 MACs with single-word loads that pipeline (the loop's end is read from the stack:
 * the 8 accumulators, 2 pointers, 2 weights and 2 column words take the 14 registers). */
static inline __attribute__((always_inline)) void tinyc_fc_tile4(const int16_t *col, const int16_t *hi,
                                                                  const int split, const void *weights,
                                                                  const int32_t groups, int32_t *acc)
{
    int32_t s00 = acc[0], s01 = acc[1], s10 = acc[2], s11 = acc[3], s20 = acc[4], s21 = acc[5], s30 = acc[6],
            s31 = acc[7];
    const int32_t *w = (const int32_t *)weights;
#if defined(__OPTIMIZE__)
    if (__builtin_constant_p(groups) && groups <= TINYC_FC4_ASM_GROUPS && split)
    {
        /* columns 2 and 3 elsewhere (the stack; 0 and 1 in the scratch): a pointer each, one column word in a
         * register (17 instructions per 16 MACs); two groups per iteration where their count is even */
        const int32_t *px = (const int32_t *)(const void *)col, *py = (const int32_t *)(const void *)hi;
        const int32_t *const end = px + 2 * groups;
        int32_t w0, w1, x;
#define TINYC_FC4_HALF(E) \
    "ldr %[x], [%[px], #(" E ")]\n\t" \
    "smlad %[s00], %[x], %[w0], %[s00]\n\t" \
    "smlad %[s01], %[x], %[w1], %[s01]\n\t" \
    "ldr %[x], [%[px], #(%c[cb] + " E ")]\n\t" \
    "smlad %[s10], %[x], %[w0], %[s10]\n\t" \
    "smlad %[s11], %[x], %[w1], %[s11]\n\t" \
    "ldr %[x], [%[py], #(" E ")]\n\t" \
    "smlad %[s20], %[x], %[w0], %[s20]\n\t" \
    "smlad %[s21], %[x], %[w1], %[s21]\n\t" \
    "ldr %[x], [%[py], #(%c[cb] + " E ")]\n\t" \
    "smlad %[s30], %[x], %[w0], %[s30]\n\t" \
    "smlad %[s31], %[x], %[w1], %[s31]\n\t"
        /* per group: weights ch0 e (+0), ch0 o (+4), ch1 e (+8), ch1 o (+12) */
#define TINYC_FC4_SPLIT_GROUP(E, O) \
    "ldr %[w0], [%[pw]], #16\n\t" \
    "ldr %[w1], [%[pw], #-8]\n\t" \
    TINYC_FC4_HALF(E) \
    "ldr %[w0], [%[pw], #-12]\n\t" \
    "ldr %[w1], [%[pw], #-4]\n\t" \
    TINYC_FC4_HALF(O)
#define TINYC_FC4_SPLIT_OPERANDS \
            : [s00] "+r"(s00), [s01] "+r"(s01), [s10] "+r"(s10), [s11] "+r"(s11), [s20] "+r"(s20), [s21] "+r"(s21), \
              [s30] "+r"(s30), [s31] "+r"(s31), [px] "+r"(px), [py] "+r"(py), [pw] "+r"(w), [w0] "=&r"(w0), \
              [w1] "=&r"(w1), [x] "=&r"(x) \
            : [end] "m"(end), [cb] "n"(8 * groups) /* bytes from column 0 to 1 and from 2 to 3 */ \
            : "cc", "memory"
        if ((groups & 1) == 0)
        {
            __asm__ volatile("1:\n\t" TINYC_FC4_SPLIT_GROUP("0", "4") TINYC_FC4_SPLIT_GROUP("8", "12")
                             "add %[px], %[px], #16\n\tadd %[py], %[py], #16\n\t"
                             "ldr %[x], %[end]\n\tcmp %[px], %[x]\n\tbne 1b\n\t" TINYC_FC4_SPLIT_OPERANDS);
        }
        else
        {
            __asm__ volatile("1:\n\t" TINYC_FC4_SPLIT_GROUP("0", "4")
                             "add %[px], %[px], #8\n\tadd %[py], %[py], #8\n\t"
                             "ldr %[x], %[end]\n\tcmp %[px], %[x]\n\tbne 1b\n\t" TINYC_FC4_SPLIT_OPERANDS);
        }
#undef TINYC_FC4_SPLIT_GROUP
#undef TINYC_FC4_SPLIT_OPERANDS
#undef TINYC_FC4_HALF
    }
    else if (__builtin_constant_p(groups) && groups <= TINYC_FC4_ASM_GROUPS)
    {
        const int32_t *px = (const int32_t *)(const void *)col;
        const int32_t *const end = px + 2 * groups;
        int32_t w0, w1, xa, xb;
        /* per group: weights ch0 e (+0), ch0 o (+4), ch1 e (+8), ch1 o (+12); column i's words e, o at 8 * groups * i */
        /* four groups per iteration where their count allows (117 instructions per 128 MACs), else two (60 per
         * 64) or one (31 per 32) */
#define TINYC_FC4_GROUP \
    "ldr %[w0], [%[pw]], #16\n\t" \
    "ldr %[w1], [%[pw], #-8]\n\t" \
    "ldr %[xa], [%[px]], #8\n\t" \
    "ldr %[xb], [%[px], #(%c[cb] - 8)]\n\t" \
    "smlad %[s00], %[xa], %[w0], %[s00]\n\t" \
    "smlad %[s01], %[xa], %[w1], %[s01]\n\t" \
    "smlad %[s10], %[xb], %[w0], %[s10]\n\t" \
    "smlad %[s11], %[xb], %[w1], %[s11]\n\t" \
    "ldr %[xa], [%[px], #(2 * %c[cb] - 8)]\n\t" \
    "ldr %[xb], [%[px], #(3 * %c[cb] - 8)]\n\t" \
    "smlad %[s20], %[xa], %[w0], %[s20]\n\t" \
    "smlad %[s21], %[xa], %[w1], %[s21]\n\t" \
    "smlad %[s30], %[xb], %[w0], %[s30]\n\t" \
    "smlad %[s31], %[xb], %[w1], %[s31]\n\t" \
    "ldr %[w0], [%[pw], #-12]\n\t" \
    "ldr %[w1], [%[pw], #-4]\n\t" \
    "ldr %[xa], [%[px], #-4]\n\t" \
    "ldr %[xb], [%[px], #(%c[cb] - 4)]\n\t" \
    "smlad %[s00], %[xa], %[w0], %[s00]\n\t" \
    "smlad %[s01], %[xa], %[w1], %[s01]\n\t" \
    "smlad %[s10], %[xb], %[w0], %[s10]\n\t" \
    "smlad %[s11], %[xb], %[w1], %[s11]\n\t" \
    "ldr %[xa], [%[px], #(2 * %c[cb] - 4)]\n\t" \
    "ldr %[xb], [%[px], #(3 * %c[cb] - 4)]\n\t" \
    "smlad %[s20], %[xa], %[w0], %[s20]\n\t" \
    "smlad %[s21], %[xa], %[w1], %[s21]\n\t" \
    "smlad %[s30], %[xb], %[w0], %[s30]\n\t" \
    "smlad %[s31], %[xb], %[w1], %[s31]\n\t"
#define TINYC_FC4_OPERANDS \
            : [s00] "+r"(s00), [s01] "+r"(s01), [s10] "+r"(s10), [s11] "+r"(s11), [s20] "+r"(s20), [s21] "+r"(s21), \
              [s30] "+r"(s30), [s31] "+r"(s31), [px] "+r"(px), [pw] "+r"(w), [w0] "=&r"(w0), [w1] "=&r"(w1), \
              [xa] "=&r"(xa), [xb] "=&r"(xb) \
            : [end] "m"(end), [cb] "n"(8 * groups) /* bytes from one column to the next */ \
            : "cc", "memory"
#define TINYC_FC4_LOOP_END "ldr %[xa], %[end]\n\tcmp %[px], %[xa]\n\tbne 1b\n\t"
        if ((groups & 3) == 0)
        {
            __asm__ volatile("1:\n\t" TINYC_FC4_GROUP TINYC_FC4_GROUP TINYC_FC4_GROUP TINYC_FC4_GROUP
                             TINYC_FC4_LOOP_END TINYC_FC4_OPERANDS);
        }
        else if ((groups & 1) == 0)
        {
            __asm__ volatile("1:\n\t" TINYC_FC4_GROUP TINYC_FC4_GROUP TINYC_FC4_LOOP_END TINYC_FC4_OPERANDS);
        }
        else
        {
            __asm__ volatile("1:\n\t" TINYC_FC4_GROUP TINYC_FC4_LOOP_END TINYC_FC4_OPERANDS);
        }
#undef TINYC_FC4_GROUP
#undef TINYC_FC4_OPERANDS
#undef TINYC_FC4_LOOP_END
    }
    else
#endif
    {
        const int32_t *x = (const int32_t *)(const void *)col, *y = (const int32_t *)(const void *)hi;
        const int32_t stride = 2 * groups; /* words from one column to the next */
        for (int32_t g = 0; g < groups; g++, w += 4, x += 2, y += 2)
        {
            for (int32_t h = 0; h < 2; h++)
            {
                const int32_t w0 = w[h], w1 = w[2 + h];
                const int32_t x0 = x[h], x1 = x[stride + h], x2 = y[h], x3 = y[stride + h];
                s00 = __smlad(x0, w0, s00);
                s01 = __smlad(x0, w1, s01);
                s10 = __smlad(x1, w0, s10);
                s11 = __smlad(x1, w1, s11);
                s20 = __smlad(x2, w0, s20);
                s21 = __smlad(x2, w1, s21);
                s30 = __smlad(x3, w0, s30);
                s31 = __smlad(x3, w1, s31);
            }
        }
    }
    acc[0] = s00;
    acc[1] = s01;
    acc[2] = s10;
    acc[3] = s11;
    acc[4] = s20;
    acc[5] = s21;
    acc[6] = s30;
    acc[7] = s31;
}

static inline __attribute__((always_inline)) void tinyc_fc_copy(int8_t *dst, const int8_t *src, int32_t n)
{
    for (; n >= 4; n -= 4, dst += 4, src += 4)
    {
        memcpy(dst, src, 4);
    }
    for (; n > 0; n--)
    {
        *dst++ = *src++;
    }
}

/* n bytes, a word at a time (unaligned words: ARMv7-M allows them), then the last 0-3 bytes. */
static inline __attribute__((always_inline)) void tinyc_fc_copy_row(int8_t *dst, const int8_t *src, const int32_t n)
{
#pragma GCC unroll 4
    for (int32_t i = 0; i < (n & ~3); i += 4)
    {
        memcpy(dst + i, src + i, 4);
    }
    for (int32_t i = n & ~3; i < n; i++)
    {
        dst[i] = src[i];
    }
}

static inline __attribute__((always_inline)) void tinyc_fc_fill(int8_t *dst, int32_t value, int32_t n)
{
    for (; n > 0; n--)
    {
        *dst++ = (int8_t)value;
    }
}

/* One input pixel as an int16 column in SXTB16 lane order (in_c rounded up to 4 with zeros). */
static inline __attribute__((always_inline)) void tinyc_fc_pixel_col(const int8_t *x, int16_t *col, const int32_t in_c)
{
    int32_t *out = (int32_t *)(void *)col;
#pragma GCC unroll 4
    for (int32_t g = 0; g < (in_c >> 2); g++)
    {
        const int32_t v = tinyc_fc_load(x + 4 * g);
        out[2 * g] = __sxtb16(v);
        out[2 * g + 1] = tinyc_fc_sxtb16_ror8(v);
    }
    if (in_c & 3)
    {
        const int8_t *t = x + (in_c & ~3);
        uint32_t v = (uint8_t)t[0];
        if ((in_c & 3) > 1)
        {
            v |= (uint32_t)(uint8_t)t[1] << 8;
        }
        if ((in_c & 3) > 2)
        {
            v |= (uint32_t)(uint8_t)t[2] << 16;
        }
        out[2 * (in_c >> 2)] = __sxtb16((int32_t)v);
        out[2 * (in_c >> 2) + 1] = tinyc_fc_sxtb16_ror8((int32_t)v);
    }
}

/* n words of int8 (4 values each) as int16 in SXTB16 lane order: 2 words each. */
static inline __attribute__((always_inline)) void tinyc_fc_widen(const int8_t *x, int32_t *out, const int32_t n)
{
#pragma GCC unroll 4
    for (int32_t g = 0; g < n; g++)
    {
        const int32_t v = tinyc_fc_load(x + 4 * g);
        out[2 * g] = __sxtb16(v);
        out[2 * g + 1] = tinyc_fc_sxtb16_ror8(v);
    }
}

static inline __attribute__((always_inline)) void tinyc_fc_fill_words(int32_t *out, const int32_t value,
                                                                      const int32_t n)
{
#pragma GCC unroll 4
    for (int32_t i = 0; i < n; i++)
    {
        out[i] = value;
    }
}

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

/*
 * Fully connected layers: each input row is used once per output channel, so there is no pixel to pair with. Per
 * row, the row as an int16 column in SXTB16 lane order on the stack (in_c <= TINYC_FF_STACK_CHANNELS), then 4
 * output channels at a time from int8 weights (SXTB16 here: each weight is read once, and int8 halves the flash
 * it streams): 20 instructions per 16 MACs. Weights per quad of output channels, per group of 4 k, channel 0 to
 * 3, [w0 w1 w2 w3] (k rounded up to 4, the channels to a multiple of 4, with zeros); the records as the
 * convolution's, with int8 (undoubled) biases; live_c, live and row as the convolution's.
 */
#define TINYC_FF_STACK_CHANNELS 768

/* acc[j] += column . weights of channel j (j = 0..3), over `groups` groups of 4 k. */
static inline __attribute__((always_inline)) void tinyc_ff_quad(const int32_t *col, const int32_t *weights,
                                                                 const int32_t groups, int32_t *a0, int32_t *a1,
                                                                 int32_t *a2, int32_t *a3)
{
    int32_t s0 = *a0, s1 = *a1, s2 = *a2, s3 = *a3;
    const int32_t *px = col, *pw = weights;
#if defined(__OPTIMIZE__)
    const int32_t *end = px + 2 * groups;
    int32_t xe, xo, w0, w1, t;
    /* two groups per iteration where their count is even (20 instructions per 16 MACs), else one (21) */
#define TINYC_FF_GROUP \
        "ldrd %[xe], %[xo], [%[px]], #8\n\t" \
        "ldrd %[w0], %[w1], [%[pw]], #8\n\t" \
        "sxtb16 %[t], %[w0]\n\t" \
        "sxtb16 %[w0], %[w0], ror #8\n\t" \
        "smlad %[s0], %[xe], %[t], %[s0]\n\t" \
        "smlad %[s0], %[xo], %[w0], %[s0]\n\t" \
        "sxtb16 %[t], %[w1]\n\t" \
        "sxtb16 %[w1], %[w1], ror #8\n\t" \
        "smlad %[s1], %[xe], %[t], %[s1]\n\t" \
        "smlad %[s1], %[xo], %[w1], %[s1]\n\t" \
        "ldrd %[w0], %[w1], [%[pw]], #8\n\t" \
        "sxtb16 %[t], %[w0]\n\t" \
        "sxtb16 %[w0], %[w0], ror #8\n\t" \
        "smlad %[s2], %[xe], %[t], %[s2]\n\t" \
        "smlad %[s2], %[xo], %[w0], %[s2]\n\t" \
        "sxtb16 %[t], %[w1]\n\t" \
        "sxtb16 %[w1], %[w1], ror #8\n\t" \
        "smlad %[s3], %[xe], %[t], %[s3]\n\t" \
        "smlad %[s3], %[xo], %[w1], %[s3]\n\t"
#define TINYC_FF_OPERANDS \
        : [s0] "+r"(s0), [s1] "+r"(s1), [s2] "+r"(s2), [s3] "+r"(s3), [px] "+r"(px), [pw] "+r"(pw), \
          [xe] "=&r"(xe), [xo] "=&r"(xo), [w0] "=&r"(w0), [w1] "=&r"(w1), [t] "=&r"(t) \
        : [end] "r"(end) \
        : "cc", "memory"
    if ((groups & 1) == 0)
    {
        __asm__ volatile("1:\n\t" TINYC_FF_GROUP TINYC_FF_GROUP "cmp %[px], %[end]\n\tbne 1b\n\t" TINYC_FF_OPERANDS);
    }
    else
    {
        __asm__ volatile("1:\n\t" TINYC_FF_GROUP "cmp %[px], %[end]\n\tbne 1b\n\t" TINYC_FF_OPERANDS);
    }
#undef TINYC_FF_GROUP
#undef TINYC_FF_OPERANDS
#else
    for (int32_t g = 0; g < groups; g++, px += 2, pw += 4)
    {
        s0 = __smlad(px[0], __sxtb16(pw[0]), s0);
        s0 = __smlad(px[1], tinyc_fc_sxtb16_ror8(pw[0]), s0);
        s1 = __smlad(px[0], __sxtb16(pw[1]), s1);
        s1 = __smlad(px[1], tinyc_fc_sxtb16_ror8(pw[1]), s1);
        s2 = __smlad(px[0], __sxtb16(pw[2]), s2);
        s2 = __smlad(px[1], tinyc_fc_sxtb16_ror8(pw[2]), s2);
        s3 = __smlad(px[0], __sxtb16(pw[3]), s3);
        s3 = __smlad(px[1], tinyc_fc_sxtb16_ror8(pw[3]), s3);
    }
#endif
    /* int8 weights are not doubled: the requantization reads doubled accumulators */
    *a0 = s0 << 1;
    *a1 = s1 << 1;
    *a2 = s2 << 1;
    *a3 = s3 << 1;
}

/* `n` (1-4) channels of a quad: requantized and stored at their channel numbers. */
static inline __attribute__((always_inline)) void tinyc_ff_store(int8_t *o, const int32_t *acc, const int32_t *q,
                                                                  const uint16_t *ch, const int mapped,
                                                                  const int32_t n, const int mode,
                                                                  const int32_t out_offset, const int32_t act_min,
                                                                  const int32_t act_max)
{
    for (int32_t i = 0; i < n; i++)
    {
        o[mapped ? ch[i] : i] = tinyc_fc_requant(acc[i], q + i * TINYC_QUANT_WORDS, mode, out_offset, act_min,
                                                 act_max);
    }
}

static inline __attribute__((always_inline)) void tinyc_ff_fully_connected(
    const int8_t *input, int8_t *output, const int8_t *weights, const int32_t *quant, const uint16_t *live,
    const int8_t *row, const int32_t live_c, const int32_t rows, const int32_t in_c, const int32_t out_c,
    const int32_t out_offset, const int32_t act_min, const int32_t act_max, const int mode)
{
    const int32_t k4 = (in_c + 3) & ~3;
    const int mapped = live_c < out_c;
    int32_t col[k4 >> 1]; /* the int16 column: k4 <= TINYC_FF_STACK_CHANNELS (tinyc/plan/specialize.py) */
    for (int32_t r = 0; r < rows; r++)
    {
        tinyc_fc_pixel_col(input + r * in_c, (int16_t *)(void *)col, in_c);
        int8_t *o = output + r * out_c;
        if (mapped)
        {
            tinyc_fc_copy_row(o, row, out_c);
        }
        const int32_t *w = (const int32_t *)(const void *)weights;
        const int32_t *q = quant;
        const uint16_t *ch = live;
        for (int32_t j = 0; j < (live_c >> 2); j++)
        {
            int32_t acc[4] = {q[0], q[TINYC_QUANT_WORDS], q[2 * TINYC_QUANT_WORDS], q[3 * TINYC_QUANT_WORDS]};
            tinyc_ff_quad(col, w, k4 >> 2, &acc[0], &acc[1], &acc[2], &acc[3]);
            tinyc_ff_store(o, acc, q, ch, mapped, 4, mode, out_offset, act_min, act_max);
            if (mapped)
            {
                ch += 4;
            }
            else
            {
                o += 4;
            }
            w += k4;
            q += 4 * TINYC_QUANT_WORDS;
        }
        if (live_c & 3)
        {
            int32_t acc[4] = {q[0], q[TINYC_QUANT_WORDS], q[2 * TINYC_QUANT_WORDS], q[3 * TINYC_QUANT_WORDS]};
            tinyc_ff_quad(col, w, k4 >> 2, &acc[0], &acc[1], &acc[2], &acc[3]);
            tinyc_ff_store(o, acc, q, ch, mapped, live_c & 3, mode, out_offset, act_min, act_max);
        }
    }
}

/* A specialized fully connected layer's shape and output quantization by name (as tinyc_fast_conv_shape). */
typedef struct
{
    int32_t rows, in_c, out_c;
    int32_t out_offset, act_min, act_max;
} tinyc_fast_fc_shape;

/* tinyc_ff_fully_connected with its shape named; mode: TINYC_REQUANT_*. */
static inline __attribute__((always_inline)) void tinyc_fast_fc_s8(
    const int8_t *input, int8_t *output, const int8_t *weights, const int32_t *quant, const uint16_t *live,
    const int8_t *row, const int32_t live_c, const tinyc_fast_fc_shape s, const int mode)
{
    tinyc_ff_fully_connected(input, output, weights, quant, live, row, live_c, s.rows, s.in_c, s.out_c,
                             s.out_offset, s.act_min, s.act_max, mode);
}

#endif /* TINYC_FAST_KERNELS */

#endif /* TINYC_FAST_CONV_H */
