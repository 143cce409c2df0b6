/*
 * Helpers of tinyc's own portable int8 kernels (the *Functions/tinyc_*_s8.c sources beside tinyc_kernels.h),
 * internal: the requantization is TFLite's MultiplyByQuantizedMultiplier (double rounding, as in TFLM), written here
 * so that these kernels behave the same whichever CMSIS-NN they are linked with; the broadcasting loop of the
 * binary ops.
 */
#ifndef TINYC_SUPPORT_H
#define TINYC_SUPPORT_H

#include <stdint.h>

#include "tinyc_kernels.h"

#define TINYC_INT8_MIN (-128)
#define TINYC_INT8_MAX 127

static __attribute__((unused)) int32_t tinyc_clamp(const int32_t value, const int32_t low, const int32_t high)
{
    return value < low ? low : (value > high ? high : value);
}

/* Round(a * b / 2^31), halves away from zero, saturating INT32_MIN * INT32_MIN. */
static __attribute__((unused)) int32_t tinyc_doubling_high_mult(const int32_t a, const int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN)
    {
        return INT32_MAX;
    }
    const int64_t product = (int64_t)a * (int64_t)b;
    const int64_t nudge = product >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    return (int32_t)((product + nudge) / ((int64_t)1 << 31));
}

/* value / 2^exponent, halves away from zero; exponent in [0, 62]. */
static __attribute__((unused)) int32_t tinyc_divide_by_power_of_two(const int32_t value, const int32_t exponent)
{
    const int64_t mask = ((int64_t)1 << exponent) - 1;
    const int64_t remainder = (int64_t)value & mask;
    const int64_t threshold = (mask >> 1) + (value < 0 ? 1 : 0);
    return (int32_t)(((int64_t)value >> exponent) + (remainder > threshold ? 1 : 0));
}

/* TFLite MultiplyByQuantizedMultiplier; shift > 0 is a left shift (int32 wrap-around, as TFLite). */
static __attribute__((unused)) int32_t tinyc_requantize(const int32_t value, const int32_t multiplier, const int32_t shift)
{
    const int32_t left_shift = shift > 0 ? shift : 0;
    const int32_t right_shift = shift > 0 ? 0 : -shift;
    const int32_t shifted = (int32_t)(uint32_t)((uint32_t)value << left_shift);
    return tinyc_divide_by_power_of_two(tinyc_doubling_high_mult(shifted, multiplier), right_shift);
}

/*
 * The output in NHWC order; operand k is read at its own strides (0 along broadcast axes). `ELEMENT(a, b)` is the
 * int8 result for operand values a and b (int32). Dims and strides are copied to locals first: the int8 stores
 * may alias anything, and would otherwise force every one of them to be reloaded per element.
 */
#define TINYC_BROADCAST_LOOP(ELEMENT)                                                                   \
    do                                                                                                 \
    {                                                                                                  \
        const int32_t d0 = shape->dims[0], d1 = shape->dims[1], d2 = shape->dims[2], d3 = shape->dims[3]; \
        const int32_t a0 = shape->input1_strides[0], a1 = shape->input1_strides[1];                    \
        const int32_t a2 = shape->input1_strides[2], a3 = shape->input1_strides[3];                    \
        const int32_t b0 = shape->input2_strides[0], b1 = shape->input2_strides[1];                    \
        const int32_t b2 = shape->input2_strides[2], b3 = shape->input2_strides[3];                    \
        int8_t *out = output;                                                                          \
        for (int32_t n = 0; n < d0; n++)                                                               \
        {                                                                                              \
            for (int32_t h = 0; h < d1; h++)                                                           \
            {                                                                                          \
                for (int32_t w = 0; w < d2; w++)                                                       \
                {                                                                                      \
                    const int8_t *in1 = input1 + n * a0 + h * a1 + w * a2;                             \
                    const int8_t *in2 = input2 + n * b0 + h * b1 + w * b2;                             \
                    for (int32_t c = 0; c < d3; c++)                                                   \
                    {                                                                                  \
                        const int32_t a = *in1;                                                        \
                        const int32_t b = *in2;                                                        \
                        in1 += a3;                                                                     \
                        in2 += b3;                                                                     \
                        *out++ = (ELEMENT);                                                            \
                    }                                                                                  \
                }                                                                                      \
            }                                                                                          \
        }                                                                                              \
    } while (0)

#endif /* TINYC_SUPPORT_H */
