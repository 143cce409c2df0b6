/* DSP paths of tinyc's in-place kernels (tinyc_memory_dsp.c): 1 when computed, 0 to run the portable code. */
#ifndef TINYC_MEMORY_DSP_H
#define TINYC_MEMORY_DSP_H

#include <stdint.h>

#include "arm_nn_types.h"

#if defined(__ARM_FEATURE_DSP) && !defined(TINYC_PORTABLE_KERNELS)
#define TINYC_MEMORY_DSP 1
#else
#define TINYC_MEMORY_DSP 0
#endif

#if TINYC_MEMORY_DSP
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
#endif

#endif /* TINYC_MEMORY_DSP_H */
