/*
 * tinyc's names for the CMSIS-NN functions it implements.
 *
 * tinyc's kernels keep CMSIS-NN's API (argument structs, semantics) but not its symbols: every function
 * below is compiled, and called by the generated model code, as tinyc_nn_*, so a firmware that also links
 * Arm's CMSIS-NN (arm_*) gets no duplicate symbols. Included by arm_nn_types.h, which every tinyc source
 * reaches; with Arm's own headers (`tinyc compile --kernels cmsis-nn`) nothing is renamed and the model
 * calls Arm's arm_* functions. A test builds the library and asserts that no arm_* symbol is defined.
 */
#ifndef TINYC_NN_NAMES_H
#define TINYC_NN_NAMES_H

#define arm_avgpool_s8                                tinyc_nn_avgpool_s8
#define arm_avgpool_s8_get_buffer_size                tinyc_nn_avgpool_s8_get_buffer_size
#define arm_concatenation_s8_x                        tinyc_nn_concatenation_s8_x
#define arm_concatenation_s8_z                        tinyc_nn_concatenation_s8_z
#define arm_convolve_wrapper_s4                       tinyc_nn_convolve_wrapper_s4
#define arm_convolve_wrapper_s4_get_buffer_size       tinyc_nn_convolve_wrapper_s4_get_buffer_size
#define arm_convolve_wrapper_s8                       tinyc_nn_convolve_wrapper_s8
#define arm_convolve_wrapper_s8_get_buffer_size       tinyc_nn_convolve_wrapper_s8_get_buffer_size
#define arm_depthwise_conv_wrapper_s4                 tinyc_nn_depthwise_conv_wrapper_s4
#define arm_depthwise_conv_wrapper_s4_get_buffer_size tinyc_nn_depthwise_conv_wrapper_s4_get_buffer_size
#define arm_depthwise_conv_wrapper_s8                 tinyc_nn_depthwise_conv_wrapper_s8
#define arm_depthwise_conv_wrapper_s8_get_buffer_size tinyc_nn_depthwise_conv_wrapper_s8_get_buffer_size
#define arm_elementwise_add_s8                        tinyc_nn_elementwise_add_s8
#define arm_fully_connected_per_channel_s8            tinyc_nn_fully_connected_per_channel_s8
#define arm_fully_connected_s8                        tinyc_nn_fully_connected_s8
#define arm_fully_connected_s8_get_buffer_size        tinyc_nn_fully_connected_s8_get_buffer_size
#define arm_fully_connected_wrapper_s8                tinyc_nn_fully_connected_wrapper_s8
#define arm_max_pool_s8                               tinyc_nn_max_pool_s8
#define arm_pad_s8                                    tinyc_nn_pad_s8
#define arm_softmax_s8                                tinyc_nn_softmax_s8

#endif /* TINYC_NN_NAMES_H */
