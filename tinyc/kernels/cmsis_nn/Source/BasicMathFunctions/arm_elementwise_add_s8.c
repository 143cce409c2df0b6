/*
 * tinyc portable reference implementation of the CMSIS-NN v7.0.0 int8 API subset:
 * elementwise add.
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"
#include "tinyc_dsp.h"

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
                                           const int32_t block_size)
{
#if TINYC_DSP_KERNELS
    if (tinyc_dsp_elementwise_add_s8(input_1_vect, input_2_vect, input_1_offset, input_1_mult, input_1_shift,
                                     input_2_offset, input_2_mult, input_2_shift, left_shift, output, out_offset,
                                     out_mult, out_shift, out_activation_min, out_activation_max, block_size))
    {
        return ARM_CMSIS_NN_SUCCESS;
    }
#endif
    for (int32_t i = 0; i < block_size; i++)
    {
        const int32_t a = arm_nn_shift_left_wrap((int32_t)input_1_vect[i] + input_1_offset, left_shift);
        const int32_t b = arm_nn_shift_left_wrap((int32_t)input_2_vect[i] + input_2_offset, left_shift);
        const int32_t sum = arm_nn_requantize(a, input_1_mult, input_1_shift) +
            arm_nn_requantize(b, input_2_mult, input_2_shift);
        int32_t out = arm_nn_requantize(sum, out_mult, out_shift) + out_offset;
        out = MAX(out, out_activation_min);
        out = MIN(out, out_activation_max);
        output[i] = (int8_t)out;
    }
    return ARM_CMSIS_NN_SUCCESS;
}
