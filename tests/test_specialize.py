"""Kernel specialization (tinyc/plan/specialize.py): the weight layouts the C kernel reads, the requantization
mode each layer may use (proved from its own weights), the flash budget; no emulator (test_dsp_kernels.py runs the
specialized kernels against the portable ones, byte for byte)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tinyc.ir.lower import ConstArray, ConvCall, Dims, FullyConnectedCall, KernelKind, PoolCall
from tinyc.plan import specialize as sp


def conv_call(weights: np.ndarray, *, bias: int = 0, shift: int = -8, multiplier: int = 1 << 30,
              act: tuple[int, int] = (-128, 127), output_offset: int = -3) -> ConvCall:
    out_c, k = weights.shape
    consts = (ConstArray("op0_weights", "int8_t", weights.reshape(-1).astype(np.int8)),
              ConstArray("op0_bias", "int32_t", np.full(out_c, bias, dtype=np.int32)),
              ConstArray("op0_multiplier", "int32_t", np.full(out_c, multiplier, dtype=np.int32)),
              ConstArray("op0_shift", "int32_t", np.full(out_c, shift, dtype=np.int32)))
    return ConvCall(kind=KernelKind.CONV, op_index=0, layer="conv", inputs=(0,), output=1, macs=out_c * k,
                    scratch_bytes=0, consts=consts, input_dims=Dims(1, 2, 2, k), filter_dims=Dims(out_c, 1, 1, k),
                    bias_dims=Dims(1, 1, 1, out_c), output_dims=Dims(1, 2, 2, out_c), input_offset=5,
                    output_offset=output_offset, stride_h=1, stride_w=1, pad_h=0, pad_w=0, act_min=act[0],
                    act_max=act[1], ch_mult=1)


def test_int16_layout_is_doubled_in_sxtb16_lane_order() -> None:
    w = np.arange(3 * 6).reshape(3, 6)  # 3 channels (padded to 4), k 6 (padded to 8)
    lay = sp.conv_weights_layout(w, 3, 6, sp.WeightFormat.S16).reshape(2, 2, 2, 4)  # pair, group, channel, lane
    assert lay.dtype == np.int16
    assert lay[0, 0, 0].tolist() == [0, 4, 2, 6]  # channel 0, k 0..3: 2 * [w0, w2, w1, w3]
    assert lay[0, 0, 1].tolist() == [12, 16, 14, 18]  # channel 1
    assert lay[0, 1, 0].tolist() == [8, 0, 10, 0]  # k 4, 5 and two zeros
    assert lay[1, 0, 1].tolist() == [0, 0, 0, 0]  # the padding channel


def test_int8_layout_keeps_group_order() -> None:
    w = np.arange(2 * 5).reshape(2, 5) - 5
    lay = sp.conv_weights_layout(w, 2, 5, sp.WeightFormat.S8).reshape(1, 2, 2, 4)
    assert lay.dtype == np.int8
    assert lay[0, 0, 0].tolist() == [-5, -4, -3, -2] and lay[0, 0, 1].tolist() == [0, 1, 2, 3]
    assert lay[0, 1, 0].tolist() == [-1, 0, 0, 0] and lay[0, 1, 1].tolist() == [4, 0, 0, 0]


def test_records_fold_the_input_offset_and_output_zero_point() -> None:
    w = np.array([[1, -2, 3, 4], [0, 0, 1, 1]])
    quant, mode = sp._requant_records(sp._gemm_layer(conv_call(w, bias=10)), sp.WeightFormat.S16) or (None, None)
    assert mode is sp.RequantMode.FAST
    rec = np.asarray(quant).reshape(2, 4)
    assert rec[:, 0].tolist() == [2 * (10 + 5 * 6), 2 * (10 + 5 * 2)]  # doubled: bias + input offset * sum(w)
    assert rec[0, 2] == (1 << 7) + (-3 << 8) and rec[0, 3] == 8  # half + zero point << e, e
    s8, _ = sp._requant_records(sp._gemm_layer(conv_call(w, bias=10)), sp.WeightFormat.S8) or (None, None)
    assert np.asarray(s8).reshape(2, 4)[:, 0].tolist() == [40, 20]  # int8 weights: not doubled


def test_mode_follows_what_can_be_proved() -> None:
    w = np.ones((2, 8), dtype=np.int64)
    assert sp._requant_records(sp._gemm_layer(conv_call(w, act=(-128, 5))), sp.WeightFormat.S16)[1] \
        is sp.RequantMode.FAST_CLAMP  # type: ignore[index]
    # a left shift: the exact 64-bit path
    assert sp._requant_records(sp._gemm_layer(conv_call(w, shift=2)), sp.WeightFormat.S16)[1] \
        is sp.RequantMode.EXACT  # type: ignore[index]
    # a zero point shifted by a large exponent could overflow the folded constant: exact
    assert sp._requant_records(sp._gemm_layer(conv_call(w, shift=-25, output_offset=-128)), sp.WeightFormat.S16)[1] \
        is sp.RequantMode.EXACT  # type: ignore[index]
    # an accumulator that could reach 2^30: no specialized kernel
    assert sp._requant_records(sp._gemm_layer(conv_call(w, bias=1 << 30)), sp.WeightFormat.S16) is None


def test_depthwise_weights_layout_3x3() -> None:
    """Per channel and kernel row: [2*w0, 2*w2, 2*w1, 0] (SXTB16 lane order, the row padded to 4 taps)."""
    channels, k = 2, 3
    w = np.arange(k * k * channels, dtype=np.int8).reshape(1, k, k, channels)  # TFLite [1, k_h, k_w, C]
    out = sp.depthwise_weights_layout(w.reshape(-1), channels, k, k)
    assert out.dtype == np.int16 and out.size == channels * k * 4
    rows = out.reshape(channels, k, 4)
    for c in range(channels):
        for ky in range(k):
            w0, w1, w2 = (int(w[0, ky, kx, c]) for kx in range(k))
            assert rows[c, ky].tolist() == [2 * w0, 2 * w2, 2 * w1, 0]


def test_depthwise_weights_layout_5_wide_groups() -> None:
    """A 5-wide row: two groups of 4 taps, [w0, w2, w1, w3], [w4, 0, 0, 0]; -128 doubles to -256 (int16)."""
    w = np.array([-128, 1, 2, 3, 127], dtype=np.int8)
    out = sp.depthwise_weights_layout(w, 1, 1, 5)
    assert out.tolist() == [-256, 4, 2, 6, 254, 0, 0, 0]


def test_the_bound_is_per_channel_and_zero_weight_channels_are_constants() -> None:
    """Trained networks prune channels (vww_96_int8: 41.8% of its MACs): all-zero weights, a bias clamped near 2^30.
    The bound is proved for the live channels alone; each pruned channel's output is a constant of the layer."""
    w = np.array([[1, -2, 3, 4], [0, 0, 0, 0], [2, 2, -1, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    call = conv_call(w, shift=-20)
    bias = np.array([7, 1 << 30, -9, -(1 << 30), 120_000_000], dtype=np.int32)
    call = replace(call, consts=(call.consts[0], ConstArray("op0_bias", "int32_t", bias), *call.consts[2:]))
    layer = sp._gemm_layer(call)
    assert sp._requant_records(layer, sp.WeightFormat.S16) is None  # the whole layer breaks the bound
    choice = sp._fast_conv(call, sp.WeightFormat.S16)
    assert choice.variant is sp.Variant.FAST_CONV and choice.mode is sp.RequantMode.FAST
    assert choice.live_channels == 2 and choice.live is not None and choice.row is not None
    assert choice.live.values[:2].tolist() == [0, 2]
    assert np.asarray(choice.quant.values).reshape(-1, 4)[:2, 0].tolist() == [2 * (7 + 5 * 6), 2 * (-9 + 5 * 3)]
    # the constants: MultiplyByQuantizedMultiplier(bias, 2^30, -20) - 3, clamped: 2^30 / 2 / 2^20 = 512: 127
    assert choice.row.values.tolist() == [0, 127, 0, -128, 57 - 3]  # 1.2e8 / 2 / 2^20 = 57.2
    # a live channel that breaks the bound still keeps the layer off the fast kernel
    bias[0] = 1 << 30
    call = replace(call, consts=(call.consts[0], ConstArray("op0_bias", "int32_t", bias), *call.consts[2:]))
    assert sp._fast_conv(call, sp.WeightFormat.S16).variant is sp.Variant.GENERIC


def test_constant_channel_output_is_tflite_micro_arithmetic() -> None:
    """requantize(bias) + zero point, clamped, with TFLite's double rounding and a left shift wrapping in int32."""
    w = np.zeros((1, 4), dtype=np.int64)
    for bias, multiplier, shift, act, expected in [
            (1000, 1 << 30, -3, (-128, 127), (1000 // 2 + 4) // 8 - 3),  # 500 / 8 = 62.5: halves away from zero
            (-1000, 1 << 30, -3, (-128, 127), -63 - 3),
            (1 << 30, 1 << 30, 0, (-128, 127), 127),
            (200, 1 << 30, 1, (-128, 5), 5),  # the activation clamp
            (-(1 << 30), 1395864371, -31, (-128, 127), -3)]:  # 2^30 * 0.65 / 2^31: -0.325 -> 0
        call = conv_call(w, bias=bias, shift=shift, multiplier=multiplier, act=act)
        assert sp.constant_channel_output(sp._gemm_layer(call), 0) == expected, (bias, shift)


def fc_call(weights: np.ndarray, *, bias: int = 0) -> FullyConnectedCall:
    out_c, k = weights.shape
    consts = (ConstArray("op0_weights", "int8_t", weights.reshape(-1).astype(np.int8)),
              ConstArray("op0_bias", "int32_t", np.full(out_c, bias, dtype=np.int32)))
    return FullyConnectedCall(kind=KernelKind.FULLY_CONNECTED, op_index=0, layer="dense", inputs=(0,), output=1,
                              macs=out_c * k, scratch_bytes=0, consts=consts, input_dims=Dims(1, 1, 1, k),
                              filter_dims=Dims(k, 1, 1, out_c), bias_dims=Dims(1, 1, 1, out_c),
                              output_dims=Dims(1, 1, 1, out_c), input_offset=5, output_offset=-3, act_min=-128,
                              act_max=127, per_channel=False, multiplier=1 << 30, shift=-8)


def test_fully_connected_reads_int8_weights_by_quads_of_channels() -> None:
    """tinyc_fast_fc_s8: per quad of output channels and group of 4 k, channels 0 to 3; the last quad and the k
    padded with zeros; records for a whole last quad, biases not doubled."""
    w = np.arange(5 * 6).reshape(5, 6) - 15  # 5 channels (2 quads), k 6 (2 groups)
    lay = sp.fc_weights_layout(w, 5, 6).reshape(2, 2, 4, 4)  # quad, group, channel, lane
    assert lay.dtype == np.int8
    assert lay[0, 0, 1].tolist() == [-9, -8, -7, -6] and lay[0, 1, 1].tolist() == [-5, -4, 0, 0]
    assert lay[1, 0, 0].tolist() == [9, 10, 11, 12] and lay[1, 0, 1].tolist() == [0, 0, 0, 0]
    choice = sp._fast_fully_connected(fc_call(w, bias=10), sp.WeightFormat.S16)
    assert choice.variant is sp.Variant.FAST_FC and choice.weight_format is sp.WeightFormat.S8
    assert choice.live_channels == 5 and choice.row is None
    rec = np.asarray(choice.quant.values).reshape(8, 4)
    assert rec[:5, 0].tolist() == [10 + 5 * int(c.sum()) for c in w] and not rec[5:].any()
    # an input row wider than the stack's int16 column: the convolution's kernel
    wide = np.ones((3, sp.FF_STACK_CHANNELS + 1), dtype=np.int64)
    assert sp._fast_fully_connected(fc_call(wide), sp.WeightFormat.S16).variant is sp.Variant.FAST_CONV


def pool_call(in_hw: tuple[int, int], filter_hw: tuple[int, int], out_hw: tuple[int, int], pad: int = 0) -> PoolCall:
    return PoolCall(kind=KernelKind.AVGPOOL, op_index=0, layer="pool", inputs=(0,), output=1, macs=0,
                    scratch_bytes=0, consts=(), input_dims=Dims(1, *in_hw, 6), filter_dims=Dims(1, *filter_hw, 1),
                    output_dims=Dims(1, *out_hw, 6), stride_h=1, stride_w=1, pad_h=pad, pad_w=pad, act_min=-128,
                    act_max=127)


def test_average_pooling_over_the_whole_input_is_specialized() -> None:
    assert sp._fast_avgpool(pool_call((25, 5), (25, 5), (1, 1))).variant is sp.Variant.FAST_AVGPOOL
    assert sp._fast_avgpool(pool_call((3, 3), (3, 3), (1, 1))).variant is sp.Variant.FAST_AVGPOOL
    several = sp._fast_avgpool(pool_call((6, 6), (3, 3), (4, 4)))
    assert (several.variant, several.reason) == (sp.Variant.GENERIC, "more than one window, or padding")
    padded = sp._fast_avgpool(pool_call((2, 2), (3, 3), (1, 1), pad=1))
    assert (padded.variant, padded.reason) == (sp.Variant.GENERIC, "more than one window, or padding")
    # whole rows from the first (KWS DS-CNN's 24x5 window over its 25x5 map): contiguous pixels
    assert sp._fast_avgpool(pool_call((25, 5), (24, 5), (1, 1))).variant is sp.Variant.FAST_AVGPOOL
    part = sp._fast_avgpool(pool_call((5, 5), (4, 4), (1, 1)))
    assert (part.variant, part.reason) == (sp.Variant.GENERIC, "the window is not whole input rows")
