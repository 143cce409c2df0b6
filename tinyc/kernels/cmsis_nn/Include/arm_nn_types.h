/*
 * tinyc portable reference implementation of the CMSIS-NN v7.0.0 int8 API subset.
 * Written from the CMSIS-NN API documentation: same header name, type names and field
 * order, so that `-I CMSIS-NN/Include` of a real checkout can replace it.
 */
#ifndef ARM_NN_TYPES_H
#define ARM_NN_TYPES_H

#include <stdint.h>

#include "tinyc_nn_names.h" /* tinyc_nn_* symbols, not arm_* (see there) */

/** Status returned by most API functions. */
typedef enum
{
    ARM_CMSIS_NN_SUCCESS = 0,        /**< No error */
    ARM_CMSIS_NN_ARG_ERROR = -1,     /**< One or more arguments are incorrect */
    ARM_CMSIS_NN_NO_IMPL_ERROR = -2, /**< No implementation available */
    ARM_CMSIS_NN_FAILURE = -3,       /**< Logical error */
} arm_cmsis_nn_status;

/** A 2-D size: width and height. */
typedef struct
{
    int32_t w;
    int32_t h;
} cmsis_nn_tile;

/** Clamp range applied to the (requantized) output. */
typedef struct
{
    int32_t min;
    int32_t max;
} cmsis_nn_activation;

/** Tensor dimensions; the meaning of each field is given per function. */
typedef struct
{
    int32_t n;
    int32_t h;
    int32_t w;
    int32_t c;
} cmsis_nn_dims;

/** Scratch buffer handed to a function; size in bytes. */
typedef struct
{
    void *buf;
    int32_t size;
} cmsis_nn_context;

typedef struct
{
    int32_t *multiplier; /**< One multiplier per output channel */
    int32_t *shift;      /**< One shift per output channel (> 0: left) */
} cmsis_nn_per_channel_quant_params;

typedef struct
{
    int32_t multiplier;
    int32_t shift;
} cmsis_nn_per_tensor_quant_params;

/** Per-tensor (one value behind each pointer) or per-channel quantization. */
typedef struct
{
    int32_t *multiplier;
    int32_t *shift;
    int32_t is_per_channel;
} cmsis_nn_quant_params;

typedef struct
{
    int32_t input_offset;  /**< Negative of the input zero point */
    int32_t output_offset; /**< Output zero point */
    cmsis_nn_tile stride;
    cmsis_nn_tile padding;
    cmsis_nn_tile dilation;
    cmsis_nn_activation activation;
} cmsis_nn_conv_params;

typedef struct
{
    int32_t input_offset;  /**< Negative of the input zero point */
    int32_t output_offset; /**< Output zero point */
    int32_t ch_mult;       /**< Channel multiplier: output channels per input channel */
    cmsis_nn_tile stride;
    cmsis_nn_tile padding;
    cmsis_nn_tile dilation;
    cmsis_nn_activation activation;
} cmsis_nn_dw_conv_params;

typedef struct
{
    cmsis_nn_tile stride;
    cmsis_nn_tile padding;
    cmsis_nn_activation activation;
} cmsis_nn_pool_params;

typedef struct
{
    int32_t input_offset;  /**< Negative of the input zero point */
    int32_t filter_offset; /**< Negative of the filter zero point */
    int32_t output_offset; /**< Output zero point */
    cmsis_nn_activation activation;
} cmsis_nn_fc_params;

#endif /* ARM_NN_TYPES_H */
