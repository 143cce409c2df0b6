/*
 * tinyc_lut_s8: an int8 lookup table of 256 entries (declared in tinyc_kernels.h).
 */
#include "tinyc_kernels.h"

#include <string.h>

#include "tinyc_support.h"

void tinyc_lut_s8(const int8_t *input, const int32_t size, const int8_t *table, int8_t *output)
{
    for (int32_t i = 0; i < size; i++)
    {
        output[i] = table[(int32_t)input[i] + 128];
    }
}
