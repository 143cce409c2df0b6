/*
 * tinyc_copy_block_s8 (tinyc_memory.h): a block of rows x cols pixels from one NHWC buffer into another (patch
 * stages: the input patch with its halo, the output patch into the stage's output).
 */
#include "tinyc_memory.h"

#include <string.h>

void tinyc_copy_block_s8(const int8_t *src, int32_t src_w, int32_t src_y, int32_t src_x,
                         int8_t *dst, int32_t dst_w, int32_t dst_y, int32_t dst_x,
                         int32_t rows, int32_t cols, int32_t channels)
{
    const size_t row_bytes = (size_t)(cols * channels);
    for (int32_t r = 0; r < rows; r++)
    {
        memcpy(&dst[((dst_y + r) * dst_w + dst_x) * channels], &src[((src_y + r) * src_w + src_x) * channels],
               row_bytes);
    }
}
