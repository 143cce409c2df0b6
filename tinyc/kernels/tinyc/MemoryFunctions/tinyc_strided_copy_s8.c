/*
 * tinyc_strided_copy_s8: a strided copy of an NHWC block (declared in tinyc_kernels.h).
 */
#include "tinyc_kernels.h"

#include <string.h>

#include "tinyc_support.h"

void tinyc_strided_copy_s8(const int8_t *input, const tinyc_strided_copy *shape, int8_t *output)
{
    const int32_t *dims = shape->dims;
    const int32_t *steps = shape->steps;
    for (int32_t a = 0; a < dims[0]; a++)
    {
        for (int32_t b = 0; b < dims[1]; b++)
        {
            for (int32_t c = 0; c < dims[2]; c++)
            {
                const int8_t *src = input + a * steps[0] + b * steps[1] + c * steps[2];
                if (steps[3] == 1)
                {
                    memcpy(output, src, (size_t)dims[3]);
                    output += dims[3];
                    continue;
                }
                for (int32_t d = 0; d < dims[3]; d++)
                {
                    *output++ = src[d * steps[3]];
                }
            }
        }
    }
}
