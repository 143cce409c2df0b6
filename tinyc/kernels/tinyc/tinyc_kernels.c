/*
 * tinyc's own int8 kernels (see tinyc_kernels.h). Self-contained: the requantization helper
 * below is TFLite's MultiplyByQuantizedMultiplier (double rounding, as in TFLM), so these
 * kernels behave the same whichever CMSIS-NN they are linked with.
 */
#include "tinyc_kernels.h"

#include <string.h>

#define TINYC_INT8_MIN (-128)
#define TINYC_INT8_MAX 127

static int32_t tinyc_clamp(const int32_t value, const int32_t low, const int32_t high)
{
    return value < low ? low : (value > high ? high : value);
}

/* Round(a * b / 2^31), halves away from zero, saturating INT32_MIN * INT32_MIN. */
static int32_t tinyc_doubling_high_mult(const int32_t a, const int32_t b)
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
static int32_t tinyc_divide_by_power_of_two(const int32_t value, const int32_t exponent)
{
    const int64_t mask = ((int64_t)1 << exponent) - 1;
    const int64_t remainder = (int64_t)value & mask;
    const int64_t threshold = (mask >> 1) + (value < 0 ? 1 : 0);
    return (int32_t)(((int64_t)value >> exponent) + (remainder > threshold ? 1 : 0));
}

/* TFLite MultiplyByQuantizedMultiplier; shift > 0 is a left shift (int32 wrap-around, as TFLite). */
static int32_t tinyc_requantize(const int32_t value, const int32_t multiplier, const int32_t shift)
{
    const int32_t left_shift = shift > 0 ? shift : 0;
    const int32_t right_shift = shift > 0 ? 0 : -shift;
    const int32_t shifted = (int32_t)(uint32_t)((uint32_t)value << left_shift);
    return tinyc_divide_by_power_of_two(tinyc_doubling_high_mult(shifted, multiplier), right_shift);
}

void tinyc_mean_s8(const int8_t *input,
                   const int32_t batches,
                   const int32_t height,
                   const int32_t width,
                   const int32_t channels,
                   const tinyc_mean_params *params,
                   int8_t *output)
{
    const int32_t plane = height * width;
    for (int32_t b = 0; b < batches; b++)
    {
        const int8_t *in = input + b * plane * channels;
        for (int32_t c = 0; c < channels; c++)
        {
            int32_t sum = 0;
            for (int32_t i = 0; i < plane; i++)
            {
                sum += in[i * channels + c];
            }
            const int32_t centered = sum - params->input_zero_point * params->num_elements;
            const int32_t out =
                tinyc_requantize(centered, params->multiplier, params->shift) + params->output_zero_point;
            output[b * channels + c] = (int8_t)tinyc_clamp(out, TINYC_INT8_MIN, TINYC_INT8_MAX);
        }
    }
}

void tinyc_relu_s8(const int8_t *input, const int32_t size, const tinyc_relu_params *params, int8_t *output)
{
    for (int32_t i = 0; i < size; i++)
    {
        int32_t value = input[i];
        if (params->requantize)
        {
            value = params->output_zero_point +
                tinyc_requantize(value - params->input_zero_point, params->multiplier, params->shift);
        }
        output[i] = (int8_t)tinyc_clamp(value, params->act_min, params->act_max);
    }
}

void tinyc_lut_s8(const int8_t *input, const int32_t size, const int8_t *table, int8_t *output)
{
    for (int32_t i = 0; i < size; i++)
    {
        output[i] = table[(int32_t)input[i] + 128];
    }
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

static int8_t tinyc_mul_one(const int32_t a, const int32_t b, const tinyc_mul_params params)
{
    const int32_t product = (a + params.input1_offset) * (b + params.input2_offset);
    const int32_t out = params.output_offset + tinyc_requantize(product, params.multiplier, params.shift);
    return (int8_t)tinyc_clamp(out, params.act_min, params.act_max);
}

static int8_t tinyc_sub_one(const int32_t a, const int32_t b, const tinyc_sub_params params)
{
    const int32_t scaled1 = tinyc_requantize((a + params.input1_offset) * (1 << params.left_shift),
                                             params.input1_mult, params.input1_shift);
    const int32_t scaled2 = tinyc_requantize((b + params.input2_offset) * (1 << params.left_shift),
                                             params.input2_mult, params.input2_shift);
    const int32_t out =
        tinyc_requantize(scaled1 - scaled2, params.output_mult, params.output_shift) + params.output_offset;
    return (int8_t)tinyc_clamp(out, params.act_min, params.act_max);
}

void tinyc_mul_s8(const int8_t *input1,
                  const int8_t *input2,
                  const tinyc_broadcast *shape,
                  const tinyc_mul_params *params,
                  int8_t *output)
{
    const tinyc_mul_params p = *params; /* by value: not reloaded after each int8 store */
    TINYC_BROADCAST_LOOP(tinyc_mul_one(a, b, p));
}

void tinyc_sub_s8(const int8_t *input1,
                  const int8_t *input2,
                  const tinyc_broadcast *shape,
                  const tinyc_sub_params *params,
                  int8_t *output)
{
    const tinyc_sub_params p = *params; /* by value: not reloaded after each int8 store */
    TINYC_BROADCAST_LOOP(tinyc_sub_one(a, b, p));
}

static int8_t tinyc_add_one(const int32_t a, const int32_t b, const tinyc_sub_params params)
{
    const int32_t scaled1 = tinyc_requantize((a + params.input1_offset) * (1 << params.left_shift),
                                             params.input1_mult, params.input1_shift);
    const int32_t scaled2 = tinyc_requantize((b + params.input2_offset) * (1 << params.left_shift),
                                             params.input2_mult, params.input2_shift);
    const int32_t out =
        tinyc_requantize(scaled1 + scaled2, params.output_mult, params.output_shift) + params.output_offset;
    return (int8_t)tinyc_clamp(out, params.act_min, params.act_max);
}

void tinyc_add_s8(const int8_t *input1,
                  const int8_t *input2,
                  const tinyc_broadcast *shape,
                  const tinyc_sub_params *params,
                  int8_t *output)
{
    const tinyc_sub_params p = *params; /* by value: not reloaded after each int8 store */
    TINYC_BROADCAST_LOOP(tinyc_add_one(a, b, p));
}

static int8_t tinyc_prelu_one(const int32_t a, const int32_t b, const tinyc_prelu_params params)
{
    const int32_t x = a + params.input_offset;
    const int32_t scaled = x >= 0 ? tinyc_requantize(x, params.multiplier_1, params.shift_1)
                                  : tinyc_requantize(x * (b + params.alpha_offset), params.multiplier_2, params.shift_2);
    return (int8_t)tinyc_clamp(scaled + params.output_offset, TINYC_INT8_MIN, TINYC_INT8_MAX);
}

void tinyc_prelu_s8(const int8_t *input,
                    const int8_t *alpha,
                    const tinyc_broadcast *shape,
                    const tinyc_prelu_params *params,
                    int8_t *output)
{
    const int8_t *input1 = input;
    const int8_t *input2 = alpha;
    const tinyc_prelu_params p = *params; /* by value: not reloaded after each int8 store */
    TINYC_BROADCAST_LOOP(tinyc_prelu_one(a, b, p));
}

void tinyc_maximum_s8(const int8_t *input1, const int8_t *input2, const tinyc_broadcast *shape, int8_t *output)
{
    TINYC_BROADCAST_LOOP((int8_t)(a > b ? a : b));
}

void tinyc_minimum_s8(const int8_t *input1, const int8_t *input2, const tinyc_broadcast *shape, int8_t *output)
{
    TINYC_BROADCAST_LOOP((int8_t)(a < b ? a : b));
}

void tinyc_resize_nearest_s8(const int8_t *input,
                             const int32_t input_w,
                             const int32_t channels,
                             const int32_t output_h,
                             const int32_t output_w,
                             const int16_t *index,
                             int8_t *output)
{
    const int16_t *column = index + output_h;
    for (int32_t y = 0; y < output_h; y++)
    {
        const int8_t *row = input + (int32_t)index[y] * input_w * channels;
        for (int32_t x = 0; x < output_w; x++)
        {
            const int8_t *pixel = row + (int32_t)column[x] * channels;
            for (int32_t c = 0; c < channels; c++)
            {
                *output++ = pixel[c];
            }
        }
    }
}

void tinyc_resize_bilinear_s8(const int8_t *input,
                              const int32_t input_w,
                              const int32_t channels,
                              const int32_t output_h,
                              const int32_t output_w,
                              const int16_t *taps,
                              int8_t *output)
{
    const int16_t *column_taps = taps + 3 * output_h;
    const int32_t one = 1 << 10;
    for (int32_t y = 0; y < output_h; y++)
    {
        const int8_t *top = input + (int32_t)taps[3 * y] * input_w * channels;
        const int8_t *bottom = input + (int32_t)taps[3 * y + 1] * input_w * channels;
        const int32_t wy = taps[3 * y + 2];
        for (int32_t x = 0; x < output_w; x++)
        {
            const int32_t left = (int32_t)column_taps[3 * x] * channels;
            const int32_t right = (int32_t)column_taps[3 * x + 1] * channels;
            const int32_t wx = column_taps[3 * x + 2];
            /* in 64 bits: with half_pixel_centers an edge weight can lie outside [0, 1024] */
            const int32_t w_tl = (one - wy) * (one - wx);
            const int32_t w_bl = wy * (one - wx);
            const int32_t w_tr = (one - wy) * wx;
            const int32_t w_br = wy * wx;
            for (int32_t c = 0; c < channels; c++)
            {
                const int64_t sum = (int64_t)top[left + c] * w_tl + (int64_t)bottom[left + c] * w_bl +
                                    (int64_t)top[right + c] * w_tr + (int64_t)bottom[right + c] * w_br;
                const int64_t round = sum > 0 ? (1 << 19) : -(1 << 19);
                *output++ = (int8_t)((sum + round) / (1 << 20));
            }
        }
    }
}

void tinyc_transpose_conv_s8(const int8_t *input,
                             const int8_t *filter,
                             const int32_t *bias,
                             const int32_t *multiplier,
                             const int32_t *shift,
                             const tinyc_transpose_conv_params *params,
                             int8_t *output)
{
    const tinyc_transpose_conv_params p = *params;
    for (int32_t oy = 0; oy < p.output_h; oy++)
    {
        for (int32_t ox = 0; ox < p.output_w; ox++)
        {
            for (int32_t oc = 0; oc < p.output_c; oc++)
            {
                int32_t acc = bias[oc]; /* lowering gives zeros where the model has no bias */
                for (int32_t ky = 0; ky < p.filter_h; ky++)
                {
                    const int32_t ty = oy + p.pad_h - ky; /* = input row * stride_h */
                    if (ty < 0 || ty % p.stride_h != 0 || ty / p.stride_h >= p.input_h)
                    {
                        continue;
                    }
                    for (int32_t kx = 0; kx < p.filter_w; kx++)
                    {
                        const int32_t tx = ox + p.pad_w - kx;
                        if (tx < 0 || tx % p.stride_w != 0 || tx / p.stride_w >= p.input_w)
                        {
                            continue;
                        }
                        const int8_t *in = input + ((ty / p.stride_h) * p.input_w + tx / p.stride_w) * p.input_c;
                        const int8_t *w = filter + ((oc * p.filter_h + ky) * p.filter_w + kx) * p.input_c;
                        for (int32_t ic = 0; ic < p.input_c; ic++)
                        {
                            acc += ((int32_t)in[ic] + p.input_offset) * (int32_t)w[ic];
                        }
                    }
                }
                const int32_t out = tinyc_requantize(acc, multiplier[oc], shift[oc]) + p.output_offset;
                *output++ = (int8_t)tinyc_clamp(out, p.act_min, p.act_max);
            }
        }
    }
}

void tinyc_strided_copy_s8(const int8_t *input, const tinyc_strided_copy *shape, int8_t *output)
{
    const int32_t *dims = shape->dims;
    const int32_t *steps = shape->steps;
    for (int32_t a = 0; a < dims[0]; a++)
    {
        for (int32_t b = 0; b < dims[1]; b++)
        {
            for (int32_t c = 0; c < dims[2]; c++)
            {
                const int8_t *src = input + a * steps[0] + b * steps[1] + c * steps[2];
                if (steps[3] == 1)
                {
                    memcpy(output, src, (size_t)dims[3]);
                    output += dims[3];
                    continue;
                }
                for (int32_t d = 0; d < dims[3]; d++)
                {
                    *output++ = src[d * steps[3]];
                }
            }
        }
    }
}
