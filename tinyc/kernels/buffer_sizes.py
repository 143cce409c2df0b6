"""Scratch bytes that real CMSIS-NN v7.0.0 asks for, per kernel call (pure Python).

Each function returns what CMSIS-NN v7.0.0's ``*_get_buffer_size`` returns when compiled for a
Cortex-M4 / M7 with the DSP extension and without MVE (``ARM_MATH_DSP``, no ``ARM_MATH_MVEI``)
by GCC. tinyc reserves this much scratch in the arena so that the same generated code runs with
tinyc's portable kernels (which need no scratch) and with a real CMSIS-NN checkout.

Formulas (read from CMSIS-NN v7.0.0's documentation and get-buffer-size sources):

* convolution (``arm_convolve_wrapper_s8_get_buffer_size_dsp``):
  - 1x1 filter, no padding, dilation 1 -> ``arm_convolve_1x1_s8_fast`` (stride 1) or
    ``arm_convolve_1x1_s8`` (other strides): 0 bytes (the DSP 1x1 fast kernel asks for
    ``4 * C_in`` only when built with Arm Compiler 6, see ``armclang``);
  - otherwise (generic im2col, and the 1xN kernel which asks for the same on DSP):
    ``2 * align4(HK * WK * C_in) * sizeof(int16_t)``.
* depthwise (``arm_depthwise_conv_wrapper_s8_get_buffer_size_dsp``): when C_in == C_out,
  N == 1 and dilation 1: 0 bytes for a 3x3 filter with padding <= 1 (``arm_depthwise_conv_3x3_s8``),
  else ``C_in * HK * WK * sizeof(int16_t)`` (``arm_depthwise_conv_s8_opt``); any other case
  (channel multiplier > 1, batches, dilation) runs ``arm_depthwise_conv_s8``: 0 bytes.
* s4 convolution (``arm_convolve_wrapper_s4_get_buffer_size_dsp``): 1x1, no padding, dilation 1: 0 bytes; otherwise
  ``2 * HK * WK * C_in * sizeof(int16_t)`` (not rounded up to 4, unlike s8). tinyc's own s4 kernel
  (``tinyc_dsp_convolve_s4``) needs ``64 * (k // 8 + 1)`` bytes for its four int16 columns (``TINYC_S4_COLUMNS_BYTES``
  in tinyc_dsp.h), 1x1 convolutions too: the planner reserves the larger of the two.
* s4 depthwise (``arm_depthwise_conv_wrapper_s4_get_buffer_size_dsp``): when C_in == C_out, N == 1 and dilation 1,
  ``C_in * HK * WK * sizeof(int16_t)`` (no 3x3 exception, unlike s8); else 0 bytes.
* fully connected (``arm_fully_connected_s8_get_buffer_size_dsp``, also used for the per-channel
  and wrapper entry points): 0 bytes (kernel sums are an MVE-only buffer).
* average pooling (``arm_avgpool_s8_get_buffer_size_dsp``): ``C * sizeof(int32_t)``.

With ``helium=True`` (a Cortex-M55 board), each returns the larger of that and what the same function returns when
CMSIS-NN is built with MVE (``ARM_MATH_MVEI``, ``-mcpu=cortex-m55``), so that one plan runs tinyc's kernels and
CMSIS-NN's Helium ones alike:

* convolution: 1x1 without padding: 0; the 1xN kernel (input and filter one row high, dilation 1,
  ``stride_w * C_in % 4 == 0``): ``max(kernel_w * C_in + pad_w * C_in, ...)`` (its row with its padding, at most
  ``(kernel_w + 1 + stride_w) * C_in`` here, an upper bound); otherwise four int8 columns of
  ``align16(HK * WK * C_in)``.
* depthwise: ``C_in == 1`` and more than one output channel: the convolution's size plus the weights' bytes (the
  wrapper runs it as a convolution); ``C_in == C_out``, N == 1, dilation 1: ``arm_depthwise_conv_s8_opt`` for
  every filter (no 3x3 kernel on MVE), ``4 * 124 * HK * WK`` bytes; otherwise 0.
* fully connected: ``output_depth * sizeof(int32_t)`` (the kernel sums).
* average pooling: 0.

Keyword arguments use tinyc's NHWC conventions: ``input_nhwc=(n, h, w, c)``,
``filter_hw=(h, w)``, ``output_nhwc=(n, h, w, c)``, ``stride_hw=(h, w)``,
``padding_hw=(top, left)`` (the values that go into ``cmsis_nn_conv_params.padding``) and
``dilation_hw=(h, w)``.
"""
from __future__ import annotations

INT16_BYTES = 2
INT32_BYTES = 4
MVE_LANES_S8 = 16  # int8 lanes of one Q register
CH_IN_BLOCK_MVE = 124  # CMSIS-NN's depthwise channel block on MVE (arm_nnsupportfunctions.h)


def _align4(value: int) -> int:
    return (value + 3) // 4 * 4


def conv_scratch_bytes(*, input_nhwc: tuple[int, int, int, int], filter_hw: tuple[int, int],
                       output_nhwc: tuple[int, int, int, int], stride_hw: tuple[int, int],
                       padding_hw: tuple[int, int], dilation_hw: tuple[int, int] = (1, 1),
                       armclang: bool = False, helium: bool = False) -> int:
    """``arm_convolve_wrapper_s8_get_buffer_size`` (DSP; with ``helium`` also MVE): bytes of scratch for one CONV_2D.

    ``armclang``: CMSIS-NN built with Arm Compiler 6 (its 1x1 stride-1 kernel then needs
    ``4 * C_in`` bytes); tinyc builds with GCC.
    """
    c_in = input_nhwc[3]
    kernel_h, kernel_w = filter_hw
    is_1x1 = filter_hw == (1, 1) and padding_hw == (0, 0) and dilation_hw == (1, 1)
    if is_1x1:
        if stride_hw == (1, 1) and armclang:
            return 2 * c_in * INT16_BYTES
        return 0
    dsp = 2 * _align4(kernel_h * kernel_w * c_in) * INT16_BYTES
    if not helium:
        return dsp
    mve = 4 * -(-kernel_h * kernel_w * c_in // MVE_LANES_S8) * MVE_LANES_S8
    if input_nhwc[1] == 1 and kernel_h == 1 and dilation_hw[1] == 1 and stride_hw[1] * c_in % 4 == 0:
        mve = max(mve, (kernel_w + 1 + stride_hw[1] + padding_hw[1]) * c_in)  # the 1xN kernel's padded row, bounded
    del output_nhwc
    return max(dsp, mve)


def depthwise_scratch_bytes(*, input_nhwc: tuple[int, int, int, int], filter_hw: tuple[int, int],
                            output_nhwc: tuple[int, int, int, int], stride_hw: tuple[int, int],
                            padding_hw: tuple[int, int], dilation_hw: tuple[int, int] = (1, 1),
                            helium: bool = False) -> int:
    """``arm_depthwise_conv_wrapper_s8_get_buffer_size`` (DSP; with ``helium`` also MVE): bytes for one
    DEPTHWISE_CONV_2D."""
    batches, c_in = input_nhwc[0], input_nhwc[3]
    mve = 0
    if helium and c_in == 1 and output_nhwc[3] > 1:  # run as a convolution, its weights re-laid out in the scratch
        mve = conv_scratch_bytes(input_nhwc=input_nhwc, filter_hw=filter_hw, output_nhwc=output_nhwc,
                                 stride_hw=stride_hw, padding_hw=padding_hw, dilation_hw=dilation_hw, helium=True) \
            + filter_hw[0] * filter_hw[1] * output_nhwc[3]
    elif helium and c_in == output_nhwc[3] and batches == 1 and dilation_hw == (1, 1):
        mve = 4 * CH_IN_BLOCK_MVE * filter_hw[0] * filter_hw[1]
    if c_in != output_nhwc[3] or batches != 1 or dilation_hw != (1, 1):
        return mve
    if filter_hw == (3, 3) and padding_hw[0] <= 1 and padding_hw[1] <= 1:
        return mve
    return max(mve, c_in * filter_hw[0] * filter_hw[1] * INT16_BYTES)


def conv_s4_scratch_bytes(*, input_nhwc: tuple[int, int, int, int], filter_hw: tuple[int, int],
                          output_nhwc: tuple[int, int, int, int], stride_hw: tuple[int, int],
                          padding_hw: tuple[int, int], dilation_hw: tuple[int, int] = (1, 1)) -> int:
    """Bytes of scratch for one CONV_2D with int4 weights: the larger of ``arm_convolve_wrapper_s4_get_buffer_size``
    (DSP) and tinyc_dsp_convolve_s4's four columns."""
    del output_nhwc, stride_hw
    k = filter_hw[0] * filter_hw[1] * input_nhwc[3]
    tinyc_columns = 64 * (k // 8 + 1)
    if filter_hw == (1, 1) and padding_hw == (0, 0) and dilation_hw == (1, 1):
        return tinyc_columns
    return max(2 * k * INT16_BYTES, tinyc_columns)


def depthwise_s4_scratch_bytes(*, input_nhwc: tuple[int, int, int, int], filter_hw: tuple[int, int],
                               output_nhwc: tuple[int, int, int, int], stride_hw: tuple[int, int],
                               padding_hw: tuple[int, int], dilation_hw: tuple[int, int] = (1, 1)) -> int:
    """``arm_depthwise_conv_wrapper_s4_get_buffer_size`` (DSP): bytes for one DEPTHWISE_CONV_2D with int4 weights."""
    del stride_hw, padding_hw
    if input_nhwc[3] != output_nhwc[3] or input_nhwc[0] != 1 or dilation_hw != (1, 1):
        return 0
    return input_nhwc[3] * filter_hw[0] * filter_hw[1] * INT16_BYTES


def fully_connected_scratch_bytes(*, accum_depth: int, output_depth: int, helium: bool = False) -> int:
    """``arm_fully_connected_s8_get_buffer_size``: 0 bytes on DSP, one int32 per output on MVE."""
    del accum_depth
    return output_depth * INT32_BYTES if helium else 0


def avgpool_scratch_bytes(*, output_w: int, channels: int) -> int:
    """``arm_avgpool_s8_get_buffer_size(dim_dst_width, ch_src)`` (DSP): one int32 per channel."""
    del output_w
    return channels * INT32_BYTES
