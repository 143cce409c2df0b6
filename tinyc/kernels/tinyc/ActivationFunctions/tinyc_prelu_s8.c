/*
 * tinyc_prelu_s8: PRELU, alpha broadcast (declared in tinyc_kernels.h).
 */
#include "tinyc_kernels.h"

#include <string.h>

#include "tinyc_support.h"

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
