/*
 * tinyc optimized int8 kernels for ARMv7E-M (Cortex-M4 / M7) with the DSP extension: SMLAD, SXTB16,
 * SMLABB / SMLATT, SADD16 through the ACLE intrinsics of <arm_acle.h>.
 *
 * Compiled when the compiler defines __ARM_FEATURE_DSP, unless TINYC_PORTABLE_KERNELS is defined:
 * then every CMSIS-NN entry point runs tinyc's portable reference code, which stays the reference the
 * optimized paths are tested against, byte for byte. Each tinyc_dsp_* function returns 1 when it
 * computed the result and 0 when the case is outside what it handles (the caller then runs the
 * portable code). They use no scratch beyond what CMSIS-NN v7.0.0 asks for on DSP builds
 * (tinyc/kernels/buffer_sizes.py): none for 1x1 convolution, depthwise and fully connected; the
 * context buffer, two im2col columns of int16, for the general convolution. tinyc_dsp_elementwise_add_s8 has
 * arm_elementwise_add_s8's arguments.
 */
#ifndef TINYC_DSP_H
#define TINYC_DSP_H

#include "arm_nn_types.h"

#if defined(__ARM_FEATURE_DSP) && !defined(TINYC_PORTABLE_KERNELS)
#define TINYC_DSP_KERNELS 1
#else
#define TINYC_DSP_KERNELS 0
#endif

#if TINYC_DSP_KERNELS
int32_t tinyc_dsp_convolve_s8(const cmsis_nn_context *ctx,
                              const cmsis_nn_conv_params *conv_params,
                              const cmsis_nn_per_channel_quant_params *quant_params,
                              const cmsis_nn_dims *input_dims,
                              const int8_t *input_data,
                              const cmsis_nn_dims *filter_dims,
                              const int8_t *filter_data,
                              const int32_t *bias_data,
                              const cmsis_nn_dims *output_dims,
                              int8_t *output_data);

int32_t tinyc_dsp_depthwise_conv_s8(const cmsis_nn_dw_conv_params *dw_conv_params,
                                    const cmsis_nn_per_channel_quant_params *quant_params,
                                    const cmsis_nn_dims *input_dims,
                                    const int8_t *input_data,
                                    const cmsis_nn_dims *filter_dims,
                                    const int8_t *filter_data,
                                    const int32_t *bias_data,
                                    const cmsis_nn_dims *output_dims,
                                    int8_t *output_data);

/* int4 weights (TFLite's packing); the convolution's context buffer holds TINYC_S4_COLUMNS_BYTES(k) bytes of int16
 * columns for 4 pixels (k = HK * WK * C_IN; tinyc/kernels/buffer_sizes.py reserves them). */
#define TINYC_S4_COLUMNS_BYTES(k) (64 * ((k) / 8 + 1))
int32_t tinyc_dsp_convolve_s4(const cmsis_nn_context *ctx,
                              const cmsis_nn_conv_params *conv_params,
                              const cmsis_nn_per_channel_quant_params *quant_params,
                              const cmsis_nn_dims *input_dims,
                              const int8_t *input_data,
                              const cmsis_nn_dims *filter_dims,
                              const int8_t *filter_data,
                              const int32_t *bias_data,
                              const cmsis_nn_dims *output_dims,
                              int8_t *output_data);

int32_t tinyc_dsp_depthwise_conv_s4(const cmsis_nn_dw_conv_params *dw_conv_params,
                                    const cmsis_nn_per_channel_quant_params *quant_params,
                                    const cmsis_nn_dims *input_dims,
                                    const int8_t *input_data,
                                    const cmsis_nn_dims *filter_dims,
                                    const int8_t *filter_data,
                                    const int32_t *bias_data,
                                    const cmsis_nn_dims *output_dims,
                                    int8_t *output_data);

/* quant_stride: 0 per-tensor (one multiplier and shift), 1 per-channel. */
int32_t tinyc_dsp_fully_connected_s8(const cmsis_nn_fc_params *fc_params,
                                     const int32_t *multiplier,
                                     const int32_t *shift,
                                     int32_t quant_stride,
                                     const cmsis_nn_dims *input_dims,
                                     const int8_t *input_data,
                                     const cmsis_nn_dims *filter_dims,
                                     const int8_t *filter_data,
                                     const int32_t *bias_data,
                                     const cmsis_nn_dims *output_dims,
                                     int8_t *output_data);

int32_t tinyc_dsp_elementwise_add_s8(const int8_t *input_1_vect, const int8_t *input_2_vect, int32_t input_1_offset,
                                     int32_t input_1_mult, int32_t input_1_shift, int32_t input_2_offset,
                                     int32_t input_2_mult, int32_t input_2_shift, int32_t left_shift, int8_t *output,
                                     int32_t out_offset, int32_t out_mult, int32_t out_shift,
                                     int32_t out_activation_min, int32_t out_activation_max, int32_t block_size);

/* In place (tinyc_memory.h's kernels call these first; the arena scratch as the portable code reserves it). */
int32_t tinyc_dsp_depthwise_conv_inplace_s8(const cmsis_nn_dw_conv_params *params,
                                            const cmsis_nn_per_channel_quant_params *quant,
                                            const cmsis_nn_dims *input_dims, int8_t *buffer,
                                            const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                                            const int32_t *bias_data, const cmsis_nn_dims *output_dims,
                                            int8_t *plane);

int32_t tinyc_dsp_conv1x1_inplace_s8(const cmsis_nn_conv_params *params,
                                     const cmsis_nn_per_channel_quant_params *quant,
                                     const cmsis_nn_dims *input_dims, int8_t *buffer,
                                     const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                                     const int32_t *bias_data, const cmsis_nn_dims *output_dims,
                                     int8_t *pixel);

/* The variants the dispatchers above choose among (ConvolutionFunctions/; each file says what it takes). */
void tinyc_dsp_convolve_1x1_s8(const cmsis_nn_conv_params *params, const cmsis_nn_per_channel_quant_params *quant,
                               const cmsis_nn_dims *input_dims, const int8_t *input, const int8_t *filter,
                               const int32_t *bias, const cmsis_nn_dims *output_dims, int8_t *output);
void tinyc_dsp_convolve_1x1_cols_s8(const cmsis_nn_conv_params *params,
                                    const cmsis_nn_per_channel_quant_params *quant, const cmsis_nn_dims *input_dims,
                                    const int8_t *input, const int8_t *filter, const int32_t *bias,
                                    const cmsis_nn_dims *output_dims, int8_t *output);
void tinyc_dsp_convolve_im2col_s8(const cmsis_nn_conv_params *params, const cmsis_nn_per_channel_quant_params *quant,
                                  const cmsis_nn_dims *input_dims, const int8_t *input, const cmsis_nn_dims *filter_dims,
                                  const int8_t *filter, const int32_t *bias, const cmsis_nn_dims *output_dims,
                                  int8_t *output, int16_t *cols);
int32_t tinyc_dsp_depthwise_inplace_rows_s8(const cmsis_nn_dw_conv_params *params,
                                            const cmsis_nn_per_channel_quant_params *quant,
                                            const cmsis_nn_dims *input_dims, int8_t *buffer,
                                            const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                                            const int32_t *bias_data, const cmsis_nn_dims *output_dims,
                                            int8_t *plane);
int32_t tinyc_dsp_depthwise_inplace_plane_s8(const cmsis_nn_dw_conv_params *params,
                                             const cmsis_nn_per_channel_quant_params *quant,
                                             const cmsis_nn_dims *input_dims, int8_t *buffer,
                                             const cmsis_nn_dims *filter_dims, const int8_t *filter_data,
                                             const int32_t *bias_data, const cmsis_nn_dims *output_dims,
                                             int8_t *plane);
#endif

#endif /* TINYC_DSP_H */
