/*
 * tinyc's own int8 kernels, for TFLite ops that CMSIS-NN v7.0.0 does not provide.
 * Always compiled, also when a real CMSIS-NN replaces tinyc/kernels/cmsis_nn; they depend on
 * no CMSIS-NN header. Each is bit-exact with TFLite Micro's reference kernel; the parameter
 * structs are filled by tinyc/quant.py (mean_params, relu_params).
 */
#ifndef TINYC_KERNELS_H
#define TINYC_KERNELS_H

#include <stdint.h>

#include "tinyc_lstm.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Arguments of tinyc_mean_s8 (tinyc.quant.MeanParams). */
typedef struct
{
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t num_elements; /* H * W: elements averaged into one output */
    int32_t multiplier;   /* input_scale / output_scale / num_elements, Q31 mantissa */
    int32_t shift;        /* exponent of that multiplier, > 0: left */
} tinyc_mean_params;

/**
 * int8 MEAN over H and W of an NHWC tensor [batches, height, width, channels] -> [batches, channels]
 * (GlobalAveragePooling2D), as TFLM's reference integer mean:
 *   out = clamp(requantize(sum(in) - input_zero_point * num_elements, multiplier, shift)
 *               + output_zero_point, -128, 127).
 * num_elements must equal height * width.
 */
void tinyc_mean_s8(const int8_t *input,
                   int32_t batches,
                   int32_t height,
                   int32_t width,
                   int32_t channels,
                   const tinyc_mean_params *params,
                   int8_t *output);

/** Arguments of tinyc_relu_s8 (tinyc.quant.ReluParams). */
typedef struct
{
    int32_t requantize; /* 0: clamp the raw input (TFLM RELU6); 1: requantize then clamp (TFLM RELU) */
    int32_t input_zero_point;
    int32_t output_zero_point;
    int32_t multiplier;
    int32_t shift;
    int32_t act_min;
    int32_t act_max;
} tinyc_relu_params;

/**
 * Standalone int8 RELU / RELU6 over size elements, as TFLM's activations.cc:
 *   requantize: out = clamp(output_zero_point + requantize(in - input_zero_point, multiplier, shift),
 *                           act_min, act_max)
 *   otherwise:  out = clamp(in, act_min, act_max).
 * May run in place (output == input).
 */
void tinyc_relu_s8(const int8_t *input, int32_t size, const tinyc_relu_params *params, int8_t *output);

/**
 * Any int8 op whose output is a function of the int8 input alone (LEAKY_RELU, LOGISTIC, TANH, HARD_SWISH, int8
 * QUANTIZE, and ADD / SUB / MUL / MAXIMUM / MINIMUM with a constant scalar operand), over size elements:
 *   out[i] = table[in[i] + 128].
 * The 256-entry table is computed at compile time from TFLM's reference arithmetic (tinyc.ir.lut).
 * May run in place (output == input).
 */
void tinyc_lut_s8(const int8_t *input, int32_t size, const int8_t *table, int8_t *output);

/** Broadcasting of a binary op over NHWC: the output's dims and each operand's element stride per axis (0 along
 * an axis the operand broadcasts, e.g. the H and W of a [1, 1, 1, C] per-channel scale). */
typedef struct
{
    int32_t dims[4];
    int32_t input1_strides[4];
    int32_t input2_strides[4];
} tinyc_broadcast;

/** Arguments of tinyc_mul_s8 (tinyc.ir.requant.MulParams). */
typedef struct
{
    int32_t input1_offset; /* negative of input 1's zero point */
    int32_t input2_offset; /* negative of input 2's zero point */
    int32_t output_offset; /* output zero point */
    int32_t multiplier;
    int32_t shift; /* > 0: left */
    int32_t act_min;
    int32_t act_max;
} tinyc_mul_params;

/**
 * int8 MUL with broadcasting, as TFLM's reference integer Mul / BroadcastMul:
 *   out = clamp(output_offset + requantize((in1 + input1_offset) * (in2 + input2_offset), multiplier, shift),
 *               act_min, act_max).
 * May run in place over an operand of the output's size.
 */
void tinyc_mul_s8(const int8_t *input1,
                  const int8_t *input2,
                  const tinyc_broadcast *shape,
                  const tinyc_mul_params *params,
                  int8_t *output);

/** Arguments of tinyc_sub_s8 (tinyc.ir.requant.SubParams). */
typedef struct
{
    int32_t input1_offset;
    int32_t input1_mult;
    int32_t input1_shift;
    int32_t input2_offset;
    int32_t input2_mult;
    int32_t input2_shift;
    int32_t left_shift;
    int32_t output_offset;
    int32_t output_mult;
    int32_t output_shift;
    int32_t act_min;
    int32_t act_max;
} tinyc_sub_params;

/**
 * int8 SUB with broadcasting, as TFLM's reference integer Sub:
 *   s_k = requantize((in_k + input_k_offset) << left_shift, input_k_mult, input_k_shift),
 *   out = clamp(requantize(s_1 - s_2, output_mult, output_shift) + output_offset, act_min, act_max).
 * May run in place over an operand of the output's size.
 */
void tinyc_sub_s8(const int8_t *input1,
                  const int8_t *input2,
                  const tinyc_broadcast *shape,
                  const tinyc_sub_params *params,
                  int8_t *output);

/**
 * int8 ADD with broadcasting (or a constant operand, e.g. the bias the converter leaves after a dilated
 * convolution), as TFLM's reference integer Add: the fields of tinyc_sub_params (computed as TFLM's ADD Prepare),
 *   out = clamp(requantize(s_1 + s_2, output_mult, output_shift) + output_offset, act_min, act_max).
 * May run in place over an operand of the output's size.
 */
void tinyc_add_s8(const int8_t *input1,
                  const int8_t *input2,
                  const tinyc_broadcast *shape,
                  const tinyc_sub_params *params,
                  int8_t *output);

/**
 * Bilinear resize of one NHWC image (batch 1), as TFLite's integer ResizeBilinear: `taps` holds, per output row,
 * (y0, y1, wy) and then, per output column, (x0, x1, wx), computed by tinyc; with the weights in 1/1024,
 *   s = in[y0][x0] (1024 - wy)(1024 - wx) + in[y1][x0] wy (1024 - wx) + in[y0][x1] (1024 - wy) wx + in[y1][x1] wy wx,
 *   out = s / 2^20 rounded half away from zero.
 */
void tinyc_resize_bilinear_s8(const int8_t *input,
                              int32_t input_w,
                              int32_t channels,
                              int32_t output_h,
                              int32_t output_w,
                              const int16_t *taps,
                              int8_t *output);

/** Arguments of tinyc_transpose_conv_s8 (tinyc.ir.lower.TransposeConvCall). */
typedef struct
{
    int32_t input_h, input_w, input_c;
    int32_t output_h, output_w, output_c;
    int32_t filter_h, filter_w;
    int32_t stride_h, stride_w;
    int32_t pad_h, pad_w; /* TFLM's: input pixel (y, x) lands on output (y * stride_h - pad_h + ky, ...) */
    int32_t input_offset; /* negative of the input's zero point */
    int32_t output_offset;
    int32_t act_min, act_max;
} tinyc_transpose_conv_params;

/**
 * int8 TRANSPOSE_CONV of one NHWC image, as TFLM's reference: input pixel (y, x) times filter tap (ky, kx) adds to
 * output (y * stride_h - pad_h + ky, x * stride_w - pad_w + kx). Computed per output (no int32 scratch map): the taps
 * whose input row and column are whole and inside the input, summed in int32, plus bias, requantized per channel.
 * Filter layout (output_c, filter_h, filter_w, input_c).
 */
void tinyc_transpose_conv_s8(const int8_t *input,
                             const int8_t *filter,
                             const int32_t *bias,
                             const int32_t *multiplier,
                             const int32_t *shift,
                             const tinyc_transpose_conv_params *params,
                             int8_t *output);

/** Arguments of tinyc_prelu_s8 (tinyc.ir.requant.PreluParams). */
typedef struct
{
    int32_t input_offset; /* negative of the input's zero point */
    int32_t alpha_offset; /* negative of alpha's zero point */
    int32_t output_offset;
    int32_t multiplier_1; /* input scale / output scale */
    int32_t shift_1;
    int32_t multiplier_2; /* input scale * alpha scale / output scale */
    int32_t shift_2;
} tinyc_prelu_params;

/**
 * int8 PRELU as TFLM's reference (alpha broadcast over the input, e.g. one slope per channel):
 *   x = in + input_offset;
 *   out = clamp(output_offset + (x >= 0 ? requantize(x, multiplier_1, shift_1)
 *                                       : requantize(x * (alpha + alpha_offset), multiplier_2, shift_2)), -128, 127).
 * May run in place over the input.
 */
void tinyc_prelu_s8(const int8_t *input,
                    const int8_t *alpha,
                    const tinyc_broadcast *shape,
                    const tinyc_prelu_params *params,
                    int8_t *output);

/** int8 MAXIMUM / MINIMUM with broadcasting (raw int8 values, as TFLM; operands and output share quantization). */
void tinyc_maximum_s8(const int8_t *input1, const int8_t *input2, const tinyc_broadcast *shape, int8_t *output);
void tinyc_minimum_s8(const int8_t *input1, const int8_t *input2, const tinyc_broadcast *shape, int8_t *output);

/**
 * Nearest-neighbour resize of one NHWC image (batch 1): output row y, column x is input row index[y], column
 * index[out_h + x]. `index` holds out_h row indices then out_w column indices, computed by tinyc (TFLite's
 * coordinate rule, or exact repetition for UpSampling2D), so the kernel only copies channel vectors.
 */
void tinyc_resize_nearest_s8(const int8_t *input,
                             int32_t input_w,
                             int32_t channels,
                             int32_t output_h,
                             int32_t output_w,
                             const int16_t *index,
                             int8_t *output);

/** The walk of tinyc_strided_copy_s8: the output's four dimensions and, per dimension, the input step in elements. */
typedef struct
{
    int32_t dims[4];
    int32_t steps[4]; /* negative: the axis runs backwards through the input */
} tinyc_strided_copy;

/**
 * Copy int8 elements in any strided order: output element (a, b, c, d), dense in `shape->dims`, is
 * input[a * steps[0] + b * steps[1] + c * steps[2] + d * steps[3]]. `input` points at the first element read
 * (tinyc adds the slice's start). SPLIT parts, TRANSPOSE and STRIDED_SLICE are this copy with different steps;
 * a unit innermost step copies whole rows.
 */
void tinyc_strided_copy_s8(const int8_t *input, const tinyc_strided_copy *shape, int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TINYC_KERNELS_H */
