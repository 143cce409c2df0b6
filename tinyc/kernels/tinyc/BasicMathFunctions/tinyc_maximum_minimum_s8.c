/*
 * tinyc_maximum_s8 and tinyc_minimum_s8: broadcasting MAXIMUM and MINIMUM (one scale: no requantization).
 */
#include "tinyc_kernels.h"

#include <string.h>

#include "tinyc_support.h"

void tinyc_maximum_s8(const int8_t *input1, const int8_t *input2, const tinyc_broadcast *shape, int8_t *output)
{
    TINYC_BROADCAST_LOOP((int8_t)(a > b ? a : b));
}

void tinyc_minimum_s8(const int8_t *input1, const int8_t *input2, const tinyc_broadcast *shape, int8_t *output)
{
    TINYC_BROADCAST_LOOP((int8_t)(a < b ? a : b));
}
