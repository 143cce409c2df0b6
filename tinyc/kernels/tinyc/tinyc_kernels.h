/*
 * tinyc's own int8 kernels, for TFLite ops that CMSIS-NN v7.0.0 does not provide.
 * Always compiled, also when a real CMSIS-NN replaces tinyc/kernels/cmsis_nn; they depend on
 * no CMSIS-NN header. Each is bit-exact with TFLite Micro's reference kernel; the parameter
 * structs are filled by tinyc/quant.py (mean_params, relu_params).
 */
#ifndef TINYC_KERNELS_H
#define TINYC_KERNELS_H

#include <stdint.h>

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

#ifdef __cplusplus
}
#endif

#endif /* TINYC_KERNELS_H */
