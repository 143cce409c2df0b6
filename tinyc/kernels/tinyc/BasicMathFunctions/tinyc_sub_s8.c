/*
 * tinyc_sub_s8: broadcasting SUB.
 */
#include "tinyc_kernels.h"

#include <string.h>

#include "tinyc_support.h"

static int8_t tinyc_sub_one(const int32_t a, const int32_t b, const tinyc_sub_params params)
{
    const int32_t scaled1 = tinyc_requantize((a + params.input1_offset) * (1 << params.left_shift),
                                             params.input1_mult, params.input1_shift);
    const int32_t scaled2 = tinyc_requantize((b + params.input2_offset) * (1 << params.left_shift),
                                             params.input2_mult, params.input2_shift);
    const int32_t out =
        tinyc_requantize(scaled1 - scaled2, params.output_mult, params.output_shift) + params.output_offset;
    return (int8_t)tinyc_clamp(out, params.act_min, params.act_max);
}

void tinyc_sub_s8(const int8_t *input1,
                  const int8_t *input2,
                  const tinyc_broadcast *shape,
                  const tinyc_sub_params *params,
                  int8_t *output)
{
    const tinyc_sub_params p = *params; /* by value: not reloaded after each int8 store */
    TINYC_BROADCAST_LOOP(tinyc_sub_one(a, b, p));
}
