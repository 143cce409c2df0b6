/*
 * tinyc kernels for memory-saving schedules. In-place depthwise convolution (TinyEngine's memory trick), int8, NHWC, depth multiplier 1.
 *
 * The output is written over the input. Channel by channel, the input plane of channel c is first
 * copied to `plane_scratch` (input h * w bytes); output channel c is then computed from that copy and
 * written at the output's NHWC positions of channel c. Output channel c only overwrites bytes of
 * input channel c (both have the same channel count), which the copy has already saved, so the
 * result equals the out-of-place kernel's, bit for bit, at any stride and padding.
 */
#ifndef TINYC_MEMORY_H
#define TINYC_MEMORY_H

#include <stdint.h>

#include "arm_nn_types.h"

arm_cmsis_nn_status tinyc_depthwise_conv_inplace_s8(const cmsis_nn_dw_conv_params *dw_conv_params,
                                                    const cmsis_nn_per_channel_quant_params *quant_params,
                                                    const cmsis_nn_dims *input_dims,
                                                    int8_t *buffer,
                                                    const cmsis_nn_dims *filter_dims,
                                                    const int8_t *filter_data,
                                                    const int32_t *bias_data,
                                                    const cmsis_nn_dims *output_dims,
                                                    int8_t *plane_scratch);

/*
 * In-place 1x1 convolution (stride 1, no padding) with no more output than input channels, int8, NHWC.
 *
 * Pixel by pixel, the output pixel is computed into `pixel_scratch` (output channels bytes) from the
 * input pixel, then written at the output's position. Output pixel p occupies bytes below the end of
 * input pixel p, so it only overwrites input pixels already consumed: the result equals
 * arm_convolve_wrapper_s8's, bit for bit. (The project conv of an inverted residual block.)
 */
arm_cmsis_nn_status tinyc_conv1x1_inplace_s8(const cmsis_nn_conv_params *conv_params,
                                             const cmsis_nn_per_channel_quant_params *quant_params,
                                             const cmsis_nn_dims *input_dims,
                                             int8_t *buffer,
                                             const cmsis_nn_dims *filter_dims,
                                             const int8_t *filter_data,
                                             const int32_t *bias_data,
                                             const cmsis_nn_dims *output_dims,
                                             int8_t *pixel_scratch);

/*
 * Copies a rows x cols x channels block between two NHWC buffers: from (src_y, src_x) of a buffer
 * src_w pixels wide to (dst_y, dst_x) of a buffer dst_w pixels wide (patch-based execution: input
 * patches cut from the frame, output tiles assembled into the stage output, crops between patches).
 */
void tinyc_copy_block_s8(const int8_t *src, int32_t src_w, int32_t src_y, int32_t src_x,
                         int8_t *dst, int32_t dst_w, int32_t dst_y, int32_t dst_x,
                         int32_t rows, int32_t cols, int32_t channels);

#endif /* TINYC_MEMORY_H */
