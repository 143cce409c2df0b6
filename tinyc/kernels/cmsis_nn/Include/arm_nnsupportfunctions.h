/*
 * tinyc portable reference implementation of the CMSIS-NN v7.0.0 int8 API subset:
 * fixed-point helpers shared by the kernels in ../Source.
 *
 * Requantization follows TFLite's MultiplyByQuantizedMultiplier, double-rounding variant
 * (TFLITE_SINGLE_ROUNDING undefined, as in TFLM): a saturating rounding doubling high
 * multiply, then a rounding (half away from zero) division by a power of two.
 * Right shifts of negative values are assumed arithmetic (true for GCC, Clang and Arm
 * Compiler on every supported target).
 */
#ifndef ARM_NNSUPPORTFUNCTIONS_H
#define ARM_NNSUPPORTFUNCTIONS_H

#include "arm_nn_math_types.h"
#include "arm_nn_types.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef MAX
#define MAX(A, B) ((A) > (B) ? (A) : (B))
#endif
#ifndef MIN
#define MIN(A, B) ((A) < (B) ? (A) : (B))
#endif
#ifndef CLAMP
#define CLAMP(x, h, l) MAX(MIN((x), (h)), (l))
#endif

/** Left part of a signed shift (shift > 0 means multiply by 2^shift). */
#define LEFT_SHIFT(_shift) ((_shift) > 0 ? (_shift) : 0)
/** Right part of a signed shift (shift < 0 means divide by 2^-shift). */
#define RIGHT_SHIFT(_shift) ((_shift) > 0 ? 0 : -(_shift))

/**
 * Round(m1 * m2 / 2^31), rounding half away from zero; saturates the single overflowing
 * case INT32_MIN * INT32_MIN to INT32_MAX.
 */
static inline int32_t arm_nn_doubling_high_mult(const int32_t m1, const int32_t m2)
{
    if (m1 == INT32_MIN && m2 == INT32_MIN)
    {
        return INT32_MAX;
    }
    const int64_t product = (int64_t)m1 * (int64_t)m2;
    const int64_t nudge = product >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    /* C division truncates toward zero, as the reference requires. */
    return (int32_t)((product + nudge) / ((int64_t)1 << 31));
}

/** dividend / 2^exponent, rounding half away from zero; exponent in [0, 62]. */
static inline int32_t arm_nn_divide_by_power_of_two(const int32_t dividend, const int32_t exponent)
{
    const int64_t mask = ((int64_t)1 << exponent) - 1;
    const int64_t remainder = (int64_t)dividend & mask;
    const int64_t threshold = (mask >> 1) + (dividend < 0 ? 1 : 0);
    return (int32_t)(((int64_t)dividend >> exponent) + (remainder > threshold ? 1 : 0));
}

/** val * 2^left_shift with two's complement wrap-around (the reference's int32 multiply). */
static inline int32_t arm_nn_shift_left_wrap(const int32_t val, const int32_t left_shift)
{
    return (int32_t)(uint32_t)((uint32_t)val << left_shift);
}

/** TFLite MultiplyByQuantizedMultiplier: val * multiplier * 2^shift / 2^31, rounded. */
static inline int32_t arm_nn_requantize(const int32_t val, const int32_t multiplier, const int32_t shift)
{
    return arm_nn_divide_by_power_of_two(
        arm_nn_doubling_high_mult(arm_nn_shift_left_wrap(val, LEFT_SHIFT(shift)), multiplier), RIGHT_SHIFT(shift));
}

/** arm_nn_requantize, plus the output offset, clamped to the activation range (tinyc: shared by the wrappers). */
static inline int8_t arm_nn_requantize_clamp(const int32_t acc, const int32_t multiplier, const int32_t shift,
                                             const int32_t output_offset, const cmsis_nn_activation *activation)
{
    int32_t out = arm_nn_requantize(acc, multiplier, shift) + output_offset;
    out = MAX(out, activation->min);
    out = MIN(out, activation->max);
    return (int8_t)out;
}

/**
 * int4 weights (tinyc): value `index` of a filter packed as TFLite packs INT4 tensors: two per byte over the
 * flattened tensor, the even element in the low nibble, each a two's-complement value in [-8, 7].
 */
static inline int32_t tinyc_nn_s4_at(const int8_t *packed, const int32_t index)
{
    const int32_t byte = packed[index >> 1];
    return (index & 1) ? (byte >> 4) : (int32_t)((uint32_t)byte << 28) >> 28;
}

/** sum over i < count of s4 weight (first + i) * (input[i] + input_offset): one run of a conv's filter row. */
static inline int32_t tinyc_nn_s4_dot(const int8_t *packed, int32_t first, const int8_t *input, int32_t count,
                                      const int32_t input_offset)
{
    int32_t acc = 0;
    int32_t i = 0;
    if ((first & 1) && count > 0)
    {
        acc += tinyc_nn_s4_at(packed, first) * ((int32_t)input[0] + input_offset);
        i = 1;
    }
    const int8_t *pair = packed + ((first + i) >> 1);
    for (; i + 1 < count; i += 2)
    {
        const int32_t byte = *pair++;
        acc += ((int32_t)((uint32_t)byte << 28) >> 28) * ((int32_t)input[i] + input_offset);
        acc += (byte >> 4) * ((int32_t)input[i + 1] + input_offset);
    }
    if (i < count)
    {
        acc += tinyc_nn_s4_at(packed, first + i) * ((int32_t)input[i] + input_offset);
    }
    return acc;
}

/** A pooling window of output (out_y, out_x) clipped to the input: [y_start, y_end) x [x_start, x_end). */
typedef struct
{
    int32_t y_start;
    int32_t y_end;
    int32_t x_start;
    int32_t x_end;
} arm_nn_pool_window_t;

static inline arm_nn_pool_window_t arm_nn_pool_window(const cmsis_nn_pool_params *pool_params,
                                                      const cmsis_nn_dims *input_dims,
                                                      const cmsis_nn_dims *filter_dims,
                                                      const int32_t out_y,
                                                      const int32_t out_x)
{
    const int32_t y0 = out_y * pool_params->stride.h - pool_params->padding.h;
    const int32_t x0 = out_x * pool_params->stride.w - pool_params->padding.w;
    arm_nn_pool_window_t window;
    window.y_start = MAX(y0, 0);
    window.y_end = MIN(y0 + filter_dims->h, input_dims->h);
    window.x_start = MAX(x0, 0);
    window.x_end = MIN(x0 + filter_dims->w, input_dims->w);
    return window;
}

#ifdef __cplusplus
}
#endif

#endif /* ARM_NNSUPPORTFUNCTIONS_H */
