/*
 * tinyc portable reference implementation of the CMSIS-NN v7.0.0 int8 API subset.
 *
 * Same function names, argument structs and semantics as CMSIS-NN v7.0.0 (written from its
 * API documentation, not from its sources), so a real CMSIS-NN checkout can replace this
 * directory with `-I CMSIS-NN/Include`. Every kernel here is a straightforward loop nest that
 * is bit-exact with TensorFlow Lite Micro's reference kernels; it is the reference path that
 * optimized kernels are tested against.
 *
 * Scratch buffers: the portable kernels need none, so every *_get_buffer_size() returns 0.
 * tinyc still reserves what real CMSIS-NN asks for (see tinyc/kernels/buffer_sizes.py).
 */
#ifndef ARM_NNFUNCTIONS_H
#define ARM_NNFUNCTIONS_H

#include "arm_nn_math_types.h"
#include "arm_nn_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Convolution ------------------------------------------------------------------------- */

/**
 * s8 convolution, NHWC.
 * input_dims [N, H, W, C_IN]; filter_dims [C_OUT, HK, WK, C_IN / groups] (grouped convolution
 * when filter_dims->c < input_dims->c); bias_dims [C_OUT] (bias_data may be NULL);
 * output_dims [N, H, W, C_OUT]. conv_params->padding is the top / left padding; positions
 * outside the input contribute nothing. Per output channel:
 *   acc = bias + sum(filter * (input + input_offset));
 *   out = clamp(requantize(acc, multiplier[c], shift[c]) + output_offset, activation).
 * Returns ARM_CMSIS_NN_ARG_ERROR on inconsistent dimensions.
 */
arm_cmsis_nn_status arm_convolve_wrapper_s8(const cmsis_nn_context *ctx,
                                            const cmsis_nn_conv_params *conv_params,
                                            const cmsis_nn_per_channel_quant_params *quant_params,
                                            const cmsis_nn_dims *input_dims,
                                            const int8_t *input_data,
                                            const cmsis_nn_dims *filter_dims,
                                            const int8_t *filter_data,
                                            const cmsis_nn_dims *bias_dims,
                                            const int32_t *bias_data,
                                            const cmsis_nn_dims *output_dims,
                                            int8_t *output_data);

/** Scratch bytes arm_convolve_wrapper_s8 needs (this portable implementation: 0). */
int32_t arm_convolve_wrapper_s8_get_buffer_size(const cmsis_nn_conv_params *conv_params,
                                                const cmsis_nn_dims *input_dims,
                                                const cmsis_nn_dims *filter_dims,
                                                const cmsis_nn_dims *output_dims);

/**
 * s8 depthwise convolution, NHWC.
 * input_dims [N, H, W, C_IN]; filter_dims [1, HK, WK, C_OUT] with C_OUT = C_IN * ch_mult;
 * output channel c reads input channel c / ch_mult. bias_data may be NULL.
 */
arm_cmsis_nn_status arm_depthwise_conv_wrapper_s8(const cmsis_nn_context *ctx,
                                                  const cmsis_nn_dw_conv_params *dw_conv_params,
                                                  const cmsis_nn_per_channel_quant_params *quant_params,
                                                  const cmsis_nn_dims *input_dims,
                                                  const int8_t *input_data,
                                                  const cmsis_nn_dims *filter_dims,
                                                  const int8_t *filter_data,
                                                  const cmsis_nn_dims *bias_dims,
                                                  const int32_t *bias_data,
                                                  const cmsis_nn_dims *output_dims,
                                                  int8_t *output_data);

/** Scratch bytes arm_depthwise_conv_wrapper_s8 needs (this portable implementation: 0). */
int32_t arm_depthwise_conv_wrapper_s8_get_buffer_size(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                      const cmsis_nn_dims *input_dims,
                                                      const cmsis_nn_dims *filter_dims,
                                                      const cmsis_nn_dims *output_dims);

/**
 * s4 convolution, NHWC: arm_convolve_wrapper_s8 with int4 weights, filter_data packed two per byte over the
 * flattened [C_OUT, HK, WK, C_IN] filter, the even element in the low nibble (TFLite's INT4 tensors).
 */
arm_cmsis_nn_status arm_convolve_wrapper_s4(const cmsis_nn_context *ctx,
                                            const cmsis_nn_conv_params *conv_params,
                                            const cmsis_nn_per_channel_quant_params *quant_params,
                                            const cmsis_nn_dims *input_dims,
                                            const int8_t *input_data,
                                            const cmsis_nn_dims *filter_dims,
                                            const int8_t *filter_data,
                                            const cmsis_nn_dims *bias_dims,
                                            const int32_t *bias_data,
                                            const cmsis_nn_dims *output_dims,
                                            int8_t *output_data);

/** Scratch bytes arm_convolve_wrapper_s4 needs (this implementation: 0). */
int32_t arm_convolve_wrapper_s4_get_buffer_size(const cmsis_nn_conv_params *conv_params,
                                                const cmsis_nn_dims *input_dims,
                                                const cmsis_nn_dims *filter_dims,
                                                const cmsis_nn_dims *output_dims);

/**
 * s4 depthwise convolution, NHWC: arm_depthwise_conv_wrapper_s8 with int4 weights, filter_data packed two per
 * byte over the flattened [1, HK, WK, C_OUT] filter, the even element in the low nibble.
 */
arm_cmsis_nn_status arm_depthwise_conv_wrapper_s4(const cmsis_nn_context *ctx,
                                                  const cmsis_nn_dw_conv_params *dw_conv_params,
                                                  const cmsis_nn_per_channel_quant_params *quant_params,
                                                  const cmsis_nn_dims *input_dims,
                                                  const int8_t *input_data,
                                                  const cmsis_nn_dims *filter_dims,
                                                  const int8_t *filter_data,
                                                  const cmsis_nn_dims *bias_dims,
                                                  const int32_t *bias_data,
                                                  const cmsis_nn_dims *output_dims,
                                                  int8_t *output_data);

/** Scratch bytes arm_depthwise_conv_wrapper_s4 needs (this implementation: 0). */
int32_t arm_depthwise_conv_wrapper_s4_get_buffer_size(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                      const cmsis_nn_dims *input_dims,
                                                      const cmsis_nn_dims *filter_dims,
                                                      const cmsis_nn_dims *output_dims);

/* ---- Fully connected --------------------------------------------------------------------- */

/**
 * s8 fully connected, per-tensor requantization.
 * input_dims: N batches of (H * W * C_IN) values; filter_dims [N = accumulation depth, C = C_OUT],
 * filter_data row-major [C_OUT][accumulation depth]; output_dims [N, C_OUT] (c used).
 *   acc = bias + sum((filter + filter_offset) * (input + input_offset)).
 */
arm_cmsis_nn_status arm_fully_connected_s8(const cmsis_nn_context *ctx,
                                           const cmsis_nn_fc_params *fc_params,
                                           const cmsis_nn_per_tensor_quant_params *quant_params,
                                           const cmsis_nn_dims *input_dims,
                                           const int8_t *input_data,
                                           const cmsis_nn_dims *filter_dims,
                                           const int8_t *kernel,
                                           const cmsis_nn_dims *bias_dims,
                                           const int32_t *bias_data,
                                           const cmsis_nn_dims *output_dims,
                                           int8_t *output_data);

/** As arm_fully_connected_s8, with one multiplier / shift per output channel. */
arm_cmsis_nn_status arm_fully_connected_per_channel_s8(const cmsis_nn_context *ctx,
                                                       const cmsis_nn_fc_params *fc_params,
                                                       const cmsis_nn_per_channel_quant_params *quant_params,
                                                       const cmsis_nn_dims *input_dims,
                                                       const int8_t *input_data,
                                                       const cmsis_nn_dims *filter_dims,
                                                       const int8_t *filter_data,
                                                       const cmsis_nn_dims *bias_dims,
                                                       const int32_t *bias_data,
                                                       const cmsis_nn_dims *output_dims,
                                                       int8_t *output_data);

/** Dispatches on quant_params->is_per_channel to one of the two functions above. */
arm_cmsis_nn_status arm_fully_connected_wrapper_s8(const cmsis_nn_context *ctx,
                                                   const cmsis_nn_fc_params *fc_params,
                                                   const cmsis_nn_quant_params *quant_params,
                                                   const cmsis_nn_dims *input_dims,
                                                   const int8_t *input_data,
                                                   const cmsis_nn_dims *filter_dims,
                                                   const int8_t *filter_data,
                                                   const cmsis_nn_dims *bias_dims,
                                                   const int32_t *bias_data,
                                                   const cmsis_nn_dims *output_dims,
                                                   int8_t *output_data);

/** Scratch bytes the fully connected functions need (this portable implementation: 0). */
int32_t arm_fully_connected_s8_get_buffer_size(const cmsis_nn_dims *filter_dims);

/* ---- Elementwise ------------------------------------------------------------------------- */

/**
 * s8 elementwise add of two equally shaped blocks (TFLite int8 ADD):
 *   a = requantize((in1 + input_1_offset) << left_shift, input_1_mult, input_1_shift), b likewise;
 *   out = clamp(requantize(a + b, out_mult, out_shift) + out_offset, activation).
 */
arm_cmsis_nn_status arm_elementwise_add_s8(const int8_t *input_1_vect,
                                           const int8_t *input_2_vect,
                                           const int32_t input_1_offset,
                                           const int32_t input_1_mult,
                                           const int32_t input_1_shift,
                                           const int32_t input_2_offset,
                                           const int32_t input_2_mult,
                                           const int32_t input_2_shift,
                                           const int32_t left_shift,
                                           int8_t *output,
                                           const int32_t out_offset,
                                           const int32_t out_mult,
                                           const int32_t out_shift,
                                           const int32_t out_activation_min,
                                           const int32_t out_activation_max,
                                           const int32_t block_size);

/* ---- Pooling ----------------------------------------------------------------------------- */

/**
 * s8 average pooling, NHWC; input and output share quantization. filter_dims: h and w used.
 * Each output is the rounded (half away from zero) mean of the window's in-bounds elements.
 */
arm_cmsis_nn_status arm_avgpool_s8(const cmsis_nn_context *ctx,
                                   const cmsis_nn_pool_params *pool_params,
                                   const cmsis_nn_dims *input_dims,
                                   const int8_t *input_data,
                                   const cmsis_nn_dims *filter_dims,
                                   const cmsis_nn_dims *output_dims,
                                   int8_t *output_data);

/** Scratch bytes arm_avgpool_s8 needs (this portable implementation: 0). */
int32_t arm_avgpool_s8_get_buffer_size(const int dim_dst_width, const int ch_src);

/** s8 max pooling, NHWC; maximum over the window's in-bounds elements, then clamp. */
arm_cmsis_nn_status arm_max_pool_s8(const cmsis_nn_context *ctx,
                                    const cmsis_nn_pool_params *pool_params,
                                    const cmsis_nn_dims *input_dims,
                                    const int8_t *input_data,
                                    const cmsis_nn_dims *filter_dims,
                                    const cmsis_nn_dims *output_dims,
                                    int8_t *output_data);

/* ---- Softmax ----------------------------------------------------------------------------- */

/**
 * s8 softmax over each of num_rows rows of row_size values (TFLite int8 SOFTMAX, output
 * scale 1/256, zero point -128). mult / shift: input_beta multiplier and left shift;
 * diff_min: differences to the row maximum below it give output -128.
 */
void arm_softmax_s8(const int8_t *input,
                    const int32_t num_rows,
                    const int32_t row_size,
                    const int32_t mult,
                    const int32_t shift,
                    const int32_t diff_min,
                    int8_t *output);

/* ---- Concatenation / pad ----------------------------------------------------------------- */

/**
 * Copy one input into the output along the x axis. Layout (innermost first): x, y, z, w;
 * each output row holds output_x elements. Call once per input with offset_x = sum of input_x
 * of the previous inputs. For NHWC concatenation along channels: x = C_in, y = W, z = H,
 * w = N, output_x = C_out.
 */
void arm_concatenation_s8_x(const int8_t *input,
                            const uint16_t input_x,
                            const uint16_t input_y,
                            const uint16_t input_z,
                            const uint16_t input_w,
                            int8_t *output,
                            const uint16_t output_x,
                            const uint32_t offset_x);

/**
 * Copy one input into the output along the z axis. Layout (innermost first): x, y, z, w;
 * the output has output_z planes of input_x * input_y elements per w. Call once per input
 * with offset_z = sum of input_z of the previous inputs.
 * For NHWC concatenation along channels: input_x = 1, input_y = 1, input_z = C_in,
 * input_w = N * H * W, output_z = C_out.
 */
void arm_concatenation_s8_z(const int8_t *input,
                            const uint16_t input_x,
                            const uint16_t input_y,
                            const uint16_t input_z,
                            const uint16_t input_w,
                            int8_t *output,
                            const uint16_t output_z,
                            const uint32_t offset_z);

/**
 * 4-D constant pad: output has pre_pad + input_size + post_pad elements in each of n, h, w, c;
 * padding positions hold pad_value.
 */
arm_cmsis_nn_status arm_pad_s8(const int8_t *input,
                               int8_t *output,
                               const int8_t pad_value,
                               const cmsis_nn_dims *input_size,
                               const cmsis_nn_dims *pre_pad,
                               const cmsis_nn_dims *post_pad);

#ifdef __cplusplus
}
#endif

#endif /* ARM_NNFUNCTIONS_H */
