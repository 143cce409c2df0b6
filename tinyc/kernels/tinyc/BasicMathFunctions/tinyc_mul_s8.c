/*
 * tinyc_mul_s8: broadcasting MUL.
 */
#include "tinyc_kernels.h"

#include <string.h>

#include "tinyc_support.h"

static int8_t tinyc_mul_one(const int32_t a, const int32_t b, const tinyc_mul_params params)
{
    const int32_t product = (a + params.input1_offset) * (b + params.input2_offset);
    const int32_t out = params.output_offset + tinyc_requantize(product, params.multiplier, params.shift);
    return (int8_t)tinyc_clamp(out, params.act_min, params.act_max);
}

void tinyc_mul_s8(const int8_t *input1,
                  const int8_t *input2,
                  const tinyc_broadcast *shape,
                  const tinyc_mul_params *params,
                  int8_t *output)
{
    const tinyc_mul_params p = *params; /* by value: not reloaded after each int8 store */
    TINYC_BROADCAST_LOOP(tinyc_mul_one(a, b, p));
}
