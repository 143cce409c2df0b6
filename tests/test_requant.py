"""tinyc.ir.requant: TFLM's quantization arithmetic, pinned with exact numbers (no TF needed)."""
from __future__ import annotations

import struct

import pytest

from tinyc.ir import requant
from tinyc.kernels import buffer_sizes


def f32(value: float) -> float:
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


@pytest.mark.parametrize("real, expected", [
    (0.0, (0, 0)),                              # zero multiplier
    (0.5, (1 << 30, 0)),
    (1.0, (1 << 30, 1)),
    (0.75, (1610612736, 0)),
    (0.3, (1288490189, -1)),                    # 0.6 * 2^31 = 1288490188.8 rounds up
    (2.0 ** -32, (1 << 30, -31)),               # smallest representable shift
    (2.0 ** -33, (0, 0)),                       # shift < -31 flushes to zero
    (1.0 - 2.0 ** -40, (1 << 30, 1)),           # mantissa rounds to exactly 2^31: halve, shift + 1
    (1234.5, (1294467072, 11)),
    (-0.75, (-1610612736, 0)),
])
def test_quantize_multiplier(real: float, expected: tuple[int, int]) -> None:
    assert requant.quantize_multiplier(real) == expected


def test_quantize_multiplier_round_trip_is_close() -> None:
    for real in (1e-9, 3.7e-5, 0.0123, 0.999999, 7.25, 1e6):
        multiplier, shift = requant.quantize_multiplier(real)
        assert (1 << 30) <= multiplier < (1 << 31)
        assert abs(multiplier * 2.0 ** (shift - 31) - real) <= real * 2.0 ** -30


def test_conv_multipliers_per_channel_in_double() -> None:
    mults, shifts = requant.conv_multipliers(f32(0.02), [f32(0.004), f32(0.5), f32(1e-12)], f32(0.05))
    # ~0.0016 = 0.8192 * 2^-9 and ~0.2 = 0.8 * 2^-2 (float32 scales); the tiny channel flushes to (0, 0).
    assert mults == (1759218622, 1717986854, 0)
    assert shifts == (-9, -2, 0)


def test_conv_multipliers_per_tensor_gives_one_pair() -> None:
    assert requant.conv_multipliers(0.5, [0.25], 0.125) == ((1 << 30,), (1,))


def test_fully_connected_multiplier_multiplies_scales_in_float32() -> None:
    # Scales whose float32 product loses bits the double product keeps: the multipliers differ.
    in_scale, w_scale, out_scale = 0.014302060008049011, 0.008489593863487244, 0.1551171839237213
    assert requant.fully_connected_multiplier(in_scale, w_scale, out_scale) == (1721295405, -10)
    assert requant.conv_multipliers(in_scale, [w_scale], out_scale) == ((1721295450,), (-10,))


@pytest.mark.parametrize("activation, scale, zero_point, expected", [
    ("NONE", 0.1, 3, (-128, 127)),
    ("RELU", 0.1, 5, (5, 127)),
    ("RELU", 0.1, -130, (-128, 127)),                  # bound below int8 clamps
    ("RELU6", f32(6.0 / 255), -128, (-128, 127)),
    ("RELU6", f32(0.05), -10, (-10, 110)),
    ("RELU6", f32(2.4), 0, (0, 3)),                    # 6 / 2.4f is 2.5 in float32: rounds away from zero
    ("RELU_N1_TO_1", f32(1.0 / 128), 0, (-128, 127)),
    ("RELU_N1_TO_1", f32(0.1), 0, (-10, 10)),
])
def test_activation_range(activation: str, scale: float, zero_point: int, expected: tuple[int, int]) -> None:
    assert requant.activation_range(activation, scale, zero_point) == expected


def test_activation_range_rejects_unknown_activation() -> None:
    with pytest.raises(ValueError, match="activation 'TANH' is not one of NONE, RELU, RELU6, RELU_N1_TO_1"):
        requant.activation_range("TANH", 0.1, 0)


def test_add_params_equal_scales() -> None:
    assert requant.add_params(0.1, 3, 0.1, -4, 0.1, 7) == requant.AddParams(
        input1_offset=-3, input1_mult=1 << 30, input1_shift=0, input2_offset=4, input2_mult=1 << 30,
        input2_shift=0, left_shift=20, output_offset=7, output_mult=1 << 30, output_shift=-18)


def test_add_params_different_scales() -> None:
    p = requant.add_params(f32(0.02), 0, f32(0.05), 0, f32(0.06), 0)
    assert (p.input1_mult, p.input1_shift) == requant.quantize_multiplier(f32(0.02) / (2 * f32(0.05)))
    assert (p.input2_mult, p.input2_shift) == (1 << 30, 0)
    assert (p.output_mult, p.output_shift) == requant.quantize_multiplier(2 * f32(0.05) / (2 ** 20 * f32(0.06)))
    assert p.input1_shift <= 0 and p.output_shift <= 0


def test_softmax_params() -> None:
    assert requant.softmax_params(0.0625, 1.0) == requant.SoftmaxParams(mult=1 << 30, shift=23, diff_min=-248)
    # 0.1 * 2^26 = 0.8 * 2^23; radius floor(31 * 2^26 / 2^23) = 248.
    assert requant.softmax_params(0.1, 1.0) == requant.SoftmaxParams(mult=1717986918, shift=23, diff_min=-248)
    assert requant.softmax_params(f32(1.0 / 256), 1.0) == requant.SoftmaxParams(mult=1 << 30, shift=19, diff_min=-3968)


def test_mean_params_folds_the_element_count() -> None:
    assert requant.mean_params(input_scale=0.1, input_zero_point=2, output_scale=0.1, output_zero_point=-3,
                             num_elements=16) == requant.MeanParams(2, -3, 16, 1 << 30, -3)
    p = requant.mean_params(input_scale=0.1, input_zero_point=0, output_scale=0.1, output_zero_point=0,
                          num_elements=15)
    assert (p.multiplier, p.shift) == ((1 << 33) // 15, -2)


def test_mean_params_fold_limited_by_shift() -> None:
    # A tiny ratio leaves little room: fold = min(log2(n), 32, 31 + shift), so shift stays >= -31.
    p = requant.mean_params(input_scale=2.0 ** -30, input_zero_point=0, output_scale=1.0, output_zero_point=0,
                          num_elements=1 << 10)  # ratio (2^30, -29): fold 2
    assert (p.multiplier, p.shift) == (1 << 22, -31)
    p = requant.mean_params(input_scale=2.0 ** -31, input_zero_point=0, output_scale=1.0, output_zero_point=0,
                          num_elements=1 << 10)  # ratio (2^30, -30): fold 1
    assert (p.multiplier, p.shift) == (1 << 21, -31)


def test_relu_params() -> None:
    relu = requant.relu_params(activation="RELU", input_scale=0.1, input_zero_point=-3, output_scale=0.05,
                             output_zero_point=-128)
    assert relu == requant.ReluParams(requantize=True, input_zero_point=-3, output_zero_point=-128,
                                    multiplier=1 << 30, shift=2, act_min=-128, act_max=127)
    relu6 = requant.relu_params(activation="RELU6", input_scale=f32(0.05), input_zero_point=-10,
                              output_scale=f32(0.05), output_zero_point=-10)
    assert relu6 == requant.ReluParams(requantize=False, input_zero_point=-10, output_zero_point=-10,
                                     multiplier=0, shift=0, act_min=-10, act_max=110)


# --- buffer_sizes: CMSIS-NN v7.0.0 DSP get_buffer_size values -----------------------------------

@pytest.mark.parametrize("geometry, expected_bytes", [
    (dict(input_nhwc=(1, 8, 8, 3), filter_hw=(3, 3), output_nhwc=(1, 8, 8, 8), stride_hw=(1, 1),
          padding_hw=(1, 1)), 2 * 28 * 2),          # 27 columns aligned to 28, two int16 im2col rows
    (dict(input_nhwc=(1, 49, 10, 1), filter_hw=(10, 4), output_nhwc=(1, 25, 5, 64), stride_hw=(2, 2),
          padding_hw=(4, 1)), 2 * 40 * 2),
    (dict(input_nhwc=(1, 8, 8, 16), filter_hw=(1, 1), output_nhwc=(1, 8, 8, 32), stride_hw=(1, 1),
          padding_hw=(0, 0)), 0),                    # 1x1 fast kernel (GCC build)
    (dict(input_nhwc=(1, 8, 8, 16), filter_hw=(1, 1), output_nhwc=(1, 4, 4, 32), stride_hw=(2, 2),
          padding_hw=(0, 0)), 0),                    # 1x1 strided kernel
    (dict(input_nhwc=(1, 1, 20, 8), filter_hw=(1, 3), output_nhwc=(1, 1, 20, 8), stride_hw=(1, 1),
          padding_hw=(0, 1)), 2 * 24 * 2),          # 1xN kernel asks the same as the generic one on DSP
])
def test_conv_scratch_bytes(geometry: dict, expected_bytes: int) -> None:
    assert buffer_sizes.conv_scratch_bytes(**geometry) == expected_bytes


def test_conv_scratch_bytes_armclang_1x1() -> None:
    assert buffer_sizes.conv_scratch_bytes(input_nhwc=(1, 8, 8, 16), filter_hw=(1, 1), output_nhwc=(1, 8, 8, 32),
                                           stride_hw=(1, 1), padding_hw=(0, 0), armclang=True) == 64


@pytest.mark.parametrize("geometry, expected_bytes", [
    (dict(input_nhwc=(1, 8, 8, 16), filter_hw=(3, 3), output_nhwc=(1, 8, 8, 16), stride_hw=(1, 1),
          padding_hw=(1, 1)), 0),                    # arm_depthwise_conv_3x3_s8
    (dict(input_nhwc=(1, 8, 8, 16), filter_hw=(5, 5), output_nhwc=(1, 8, 8, 16), stride_hw=(1, 1),
          padding_hw=(2, 2)), 16 * 25 * 2),          # arm_depthwise_conv_s8_opt
    (dict(input_nhwc=(1, 9, 9, 5), filter_hw=(3, 3), output_nhwc=(1, 5, 5, 5), stride_hw=(2, 2),
          padding_hw=(2, 2)), 5 * 9 * 2),            # 3x3 with padding 2: not the 3x3 kernel
    (dict(input_nhwc=(1, 8, 8, 4), filter_hw=(3, 3), output_nhwc=(1, 8, 8, 8), stride_hw=(1, 1),
          padding_hw=(1, 1)), 0),                    # channel multiplier 2: arm_depthwise_conv_s8
])
def test_depthwise_scratch_bytes(geometry: dict, expected_bytes: int) -> None:
    assert buffer_sizes.depthwise_scratch_bytes(**geometry) == expected_bytes


def test_fully_connected_and_avgpool_scratch_bytes() -> None:
    assert buffer_sizes.fully_connected_scratch_bytes(accum_depth=640, output_depth=12) == 0
    assert buffer_sizes.avgpool_scratch_bytes(output_w=5, channels=64) == 256
