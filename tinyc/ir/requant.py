"""Quantization math of TFLite Micro's int8 kernels, in pure Python (no TF, no numpy).

Every function reproduces what a TFLM kernel computes in its Prepare step, with TFLM's exact
float / double handling, so that the kernel parameters tinyc bakes into C are the ones TFLM
would use at run time:

* scales arrive as Python floats holding float32 values (as read from the flatbuffer);
* where TFLM computes in double (``static_cast<double>(scale)``) we compute in Python floats,
  which are IEEE doubles;
* where TFLM computes in float32 we round every intermediate result to float32 with
  :func:`_f32` (a double-precision +, -, *, / rounded once to float32 is the correctly rounded
  float32 result, so the emulation is exact);
* ``std::round`` / ``roundf`` round half away from zero (:func:`_round_half_away`), unlike
  Python's ``round``.

A multiplier is the pair ``(multiplier, shift)`` of TFLite's ``QuantizeMultiplier``: a Q31
int32 in [2^30, 2^31) (or 0) and a power-of-two exponent, ``shift > 0`` meaning left shift,
so that ``real ~= multiplier * 2^shift / 2^31``.
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Sequence

INT8_MIN = -128
INT8_MAX = 127

# TFLM's int8 ADD works on inputs shifted left by 20 bits (15 for int16).
ADD_LEFT_SHIFT_INT8 = 20
# Integer bits of the scaled input difference in TFLite's quantized softmax.
SOFTMAX_SCALED_DIFF_INTEGER_BITS = 5

ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")


def _f32(value: float) -> float:
    """Round a Python float to the nearest float32 (what a C ``float`` would hold)."""
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


def _round_half_away(value: float) -> int:
    """C's ``round`` / ``roundf``: nearest integer, halves away from zero."""
    magnitude = math.floor(abs(value) + 0.5)
    return int(magnitude) if value >= 0 else -int(magnitude)


def quantize_multiplier(real_multiplier: float) -> tuple[int, int]:
    """TFLite ``QuantizeMultiplier``: (int32 multiplier, shift), shift > 0 = left.

    Multipliers too small to represent (shift < -31) are flushed to (0, 0), as TFLite does.
    TFLITE_SINGLE_ROUNDING is not defined in TFLM, so shifts above 30 are not saturated.
    """
    if real_multiplier == 0.0:
        return 0, 0
    fraction, shift = math.frexp(real_multiplier)
    q_fixed = _round_half_away(fraction * (1 << 31))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q_fixed, shift


def _quantize_multiplier_smaller_than_one(real_multiplier: float) -> tuple[int, int]:
    """TFLite ``QuantizeMultiplierSmallerThanOneExp``: requires 0 < real < 1; shift <= 0."""
    if not 0.0 < real_multiplier < 1.0:
        raise ValueError(f"multiplier {real_multiplier!r} must be in (0, 1)")
    multiplier, shift = quantize_multiplier(real_multiplier)
    assert shift <= 0
    return multiplier, shift


def _quantize_multiplier_greater_than_one(real_multiplier: float) -> tuple[int, int]:
    """TFLite ``QuantizeMultiplierGreaterThanOne``: requires real > 1; shift >= 0."""
    if not real_multiplier > 1.0:
        raise ValueError(f"multiplier {real_multiplier!r} must be > 1")
    multiplier, shift = quantize_multiplier(real_multiplier)
    assert shift >= 0
    return multiplier, shift


def conv_multipliers(input_scale: float, filter_scales: Sequence[float],
                     output_scale: float) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Per-channel (multipliers, shifts) as TFLM's ``PopulateConvolutionQuantizationParams``.

    Used by CONV_2D, DEPTHWISE_CONV_2D and per-channel FULLY_CONNECTED: for each channel,
    ``double(input_scale) * double(filter_scale) / double(output_scale)`` in double.
    A per-tensor filter passes its one scale (one pair comes back). For a per-tensor
    FULLY_CONNECTED, TFLM multiplies the two scales in float32 first: use
    :func:`fully_connected_multiplier`.
    """
    mults, shifts = [], []
    for filter_scale in filter_scales:
        multiplier, shift = quantize_multiplier(input_scale * filter_scale / output_scale)
        mults.append(multiplier)
        shifts.append(shift)
    return tuple(mults), tuple(shifts)


def fully_connected_multiplier(input_scale: float, filter_scale: float, output_scale: float) -> tuple[int, int]:
    """Per-tensor FULLY_CONNECTED (multiplier, shift), as TFLM's ``GetQuantizedConvolutionMultipler``.

    The input and filter scales are multiplied in float32, then divided in double.
    """
    product = _f32(input_scale * filter_scale)
    return quantize_multiplier(product / output_scale)


def activation_range(activation: str, output_scale: float, output_zero_point: int) -> tuple[int, int]:
    """TFLite ``CalculateActivationRangeQuantized`` for an int8 output: (act_min, act_max).

    ``activation`` is one of NONE, RELU, RELU6, RELU_N1_TO_1. Each bound is
    ``zero_point + round(f / scale)`` computed in float32, clamped to [-128, 127].
    """
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation {activation!r} is not one of {', '.join(ACTIVATIONS)}")

    def quantize(value: float) -> int:
        return output_zero_point + _round_half_away(_f32(value / output_scale))

    if activation == "RELU":
        return max(INT8_MIN, quantize(0.0)), INT8_MAX
    if activation == "RELU6":
        return max(INT8_MIN, quantize(0.0)), min(INT8_MAX, quantize(6.0))
    if activation == "RELU_N1_TO_1":
        return max(INT8_MIN, quantize(-1.0)), min(INT8_MAX, quantize(1.0))
    return INT8_MIN, INT8_MAX


@dataclass(frozen=True)
class AddParams:
    """Exactly the integer arguments ``arm_elementwise_add_s8`` takes (activation aside)."""
    input1_offset: int  # negative of input 1's zero point
    input1_mult: int
    input1_shift: int
    input2_offset: int  # negative of input 2's zero point
    input2_mult: int
    input2_shift: int
    left_shift: int
    output_offset: int  # output zero point
    output_mult: int
    output_shift: int


def add_params(input1_scale: float, input1_zp: int, input2_scale: float, input2_zp: int,
               output_scale: float, output_zp: int) -> AddParams:
    """TFLM int8 ADD's Prepare: inputs rescaled to twice the larger input scale, in double."""
    twice_max_input_scale = 2.0 * max(input1_scale, input2_scale)
    input1_mult, input1_shift = _quantize_multiplier_smaller_than_one(input1_scale / twice_max_input_scale)
    input2_mult, input2_shift = _quantize_multiplier_smaller_than_one(input2_scale / twice_max_input_scale)
    output_mult, output_shift = _quantize_multiplier_smaller_than_one(
        twice_max_input_scale / ((1 << ADD_LEFT_SHIFT_INT8) * output_scale))
    return AddParams(input1_offset=-input1_zp, input1_mult=input1_mult, input1_shift=input1_shift,
                     input2_offset=-input2_zp, input2_mult=input2_mult, input2_shift=input2_shift,
                     left_shift=ADD_LEFT_SHIFT_INT8, output_offset=output_zp,
                     output_mult=output_mult, output_shift=output_shift)


@dataclass(frozen=True)
class PreluParams:
    """Arguments of ``tinyc_prelu_s8`` (TFLM int8 PRELU): x = in + input_offset; out = output_offset +
    (x >= 0 ? MBQM(x, multiplier_1, shift_1) : MBQM(x * (alpha + alpha_offset), multiplier_2, shift_2)), clamped to
    int8."""
    input_offset: int
    alpha_offset: int
    output_offset: int
    multiplier_1: int
    shift_1: int
    multiplier_2: int
    shift_2: int


def prelu_params(*, input_scale: float, input_zero_point: int, alpha_scale: float, alpha_zero_point: int,
                 output_scale: float, output_zero_point: int) -> PreluParams:
    """TFLM PRELU's Prepare: input / output and input * alpha / output scales, in double."""
    m1, s1 = quantize_multiplier(float(input_scale) / float(output_scale))
    m2, s2 = quantize_multiplier(float(input_scale) * float(alpha_scale) / float(output_scale))
    return PreluParams(input_offset=-input_zero_point, alpha_offset=-alpha_zero_point,
                       output_offset=output_zero_point, multiplier_1=m1, shift_1=s1, multiplier_2=m2, shift_2=s2)


def broadcast_add_params(*, input1_scale: float, input1_zero_point: int, input2_scale: float, input2_zero_point: int,
                         output_scale: float, output_zero_point: int, activation: str) -> "SubParams":
    """TFLM int8 ADD's Prepare (in double, as `add_params`) with the activation range: tinyc_add_s8's arguments,
    which have SUB's fields."""
    p = add_params(input1_scale, input1_zero_point, input2_scale, input2_zero_point, output_scale, output_zero_point)
    act_min, act_max = activation_range(activation, output_scale, output_zero_point)
    return SubParams(input1_offset=p.input1_offset, input1_mult=p.input1_mult, input1_shift=p.input1_shift,
                     input2_offset=p.input2_offset, input2_mult=p.input2_mult, input2_shift=p.input2_shift,
                     left_shift=p.left_shift, output_offset=p.output_offset, output_mult=p.output_mult,
                     output_shift=p.output_shift, act_min=act_min, act_max=act_max)


@dataclass(frozen=True)
class SoftmaxParams:
    """The ``mult``, ``shift`` (left shift) and ``diff_min`` arguments of ``arm_softmax_s8``."""
    mult: int
    shift: int
    diff_min: int


def softmax_params(input_scale: float, beta: float) -> SoftmaxParams:
    """TFLM int8 SOFTMAX's Prepare (``PreprocessSoftmaxScaling``, ``CalculateInputRadius``).

    ``beta`` is the float32 from the op's options; everything is computed in double.
    """
    integer_bits = SOFTMAX_SCALED_DIFF_INTEGER_BITS
    real_multiplier = min(beta * input_scale * (1 << (31 - integer_bits)), (1 << 31) - 1.0)
    mult, shift = _quantize_multiplier_greater_than_one(real_multiplier)
    max_input_rescaled = 1.0 * ((1 << integer_bits) - 1) * (1 << (31 - integer_bits)) / (1 << shift)
    diff_min = -math.floor(max_input_rescaled)
    return SoftmaxParams(mult=mult, shift=shift, diff_min=diff_min)


@dataclass(frozen=True)
class MeanParams:
    """Arguments of ``tinyc_mean_s8`` (int8 MEAN over H and W of NHWC).

    ``multiplier`` / ``shift`` are TFLite's input_scale / output_scale multiplier with the
    division by ``num_elements`` folded in, as TFLite's integer mean does.
    """
    input_zero_point: int
    output_zero_point: int
    num_elements: int
    multiplier: int
    shift: int


def mean_params(*, input_scale: float, input_zero_point: int, output_scale: float,
                output_zero_point: int, num_elements: int) -> MeanParams:
    """TFLM int8 MEAN: QuantizeMultiplier(double(in_scale) / double(out_scale)), then fold 1/n.

    The fold is TFLite's: ``s = min(floor(log2(n)), 32, 31 + shift)``,
    ``multiplier = (multiplier << s) // n``, ``shift -= s``.
    """
    if num_elements <= 0:
        raise ValueError(f"num_elements must be positive, got {num_elements}")
    multiplier, shift = quantize_multiplier(input_scale / output_scale)
    fold = min(num_elements.bit_length() - 1, 32, 31 + shift)
    multiplier = (multiplier << fold) // num_elements
    return MeanParams(input_zero_point=input_zero_point, output_zero_point=output_zero_point,
                      num_elements=num_elements, multiplier=multiplier, shift=shift - fold)


@dataclass(frozen=True)
class ReluParams:
    """Arguments of ``tinyc_relu_s8``.

    ``requantize`` false (TFLM RELU6): out = clamp(in, act_min, act_max) in the input's
    quantization. ``requantize`` true (TFLM RELU):
    out = clamp(output_zero_point + MBQM(in - input_zero_point, multiplier, shift), act_min, act_max).
    """
    requantize: bool
    input_zero_point: int
    output_zero_point: int
    multiplier: int
    shift: int
    act_min: int
    act_max: int


def relu_params(*, activation: str, input_scale: float, input_zero_point: int,
                output_scale: float, output_zero_point: int) -> ReluParams:
    """TFLM's standalone int8 RELU / RELU6 (activations.cc).

    RELU requantizes by double(in_scale) / double(out_scale) and clamps to
    [max(-128, out_zp + roundf(0 / out_scale)), 127]. RELU6 does not requantize: it clamps
    the raw input to [in_zp, quantize(6.0)] in the *input* quantization (TFLM's
    ``FloatToQuantizedType``), as TFLM does whatever the output quantization.
    """
    if activation == "RELU":
        multiplier, shift = quantize_multiplier(input_scale / output_scale)
        act_min = max(INT8_MIN, output_zero_point + _round_half_away(_f32(0.0 / output_scale)))
        return ReluParams(requantize=True, input_zero_point=input_zero_point, output_zero_point=output_zero_point,
                          multiplier=multiplier, shift=shift, act_min=act_min, act_max=INT8_MAX)
    if activation == "RELU6":
        six = _round_half_away(_f32(6.0 / input_scale)) + input_zero_point
        return ReluParams(requantize=False, input_zero_point=input_zero_point, output_zero_point=output_zero_point,
                          multiplier=0, shift=0, act_min=max(INT8_MIN, min(INT8_MAX, input_zero_point)),
                          act_max=max(INT8_MIN, min(INT8_MAX, six)))
    raise ValueError(f"activation {activation!r} is not RELU or RELU6")


@dataclass(frozen=True)
class MulParams:
    """Arguments of ``tinyc_mul_s8``: out = clamp(output_offset + MBQM((in1 + input1_offset) * (in2 +
    input2_offset), multiplier, shift), act_min, act_max)."""
    input1_offset: int  # negative of input 1's zero point
    input2_offset: int  # negative of input 2's zero point
    output_offset: int  # output zero point
    multiplier: int
    shift: int
    act_min: int
    act_max: int


def mul_params(*, input1_scale: float, input1_zero_point: int, input2_scale: float, input2_zero_point: int,
               output_scale: float, output_zero_point: int, activation: str) -> MulParams:
    """TFLM int8 MUL's Prepare: QuantizeMultiplier(double(s1) * double(s2) / double(s_out)), the fused activation's
    range."""
    multiplier, shift = quantize_multiplier(input1_scale * input2_scale / output_scale)
    act_min, act_max = activation_range(activation, output_scale, output_zero_point)
    return MulParams(input1_offset=-input1_zero_point, input2_offset=-input2_zero_point,
                     output_offset=output_zero_point, multiplier=multiplier, shift=shift, act_min=act_min,
                     act_max=act_max)


@dataclass(frozen=True)
class SubParams:
    """Arguments of ``tinyc_sub_s8``: TFLM's int8 SUB (ADD's arithmetic with the scaled second input subtracted)."""
    input1_offset: int
    input1_mult: int
    input1_shift: int
    input2_offset: int
    input2_mult: int
    input2_shift: int
    left_shift: int
    output_offset: int
    output_mult: int
    output_shift: int
    act_min: int
    act_max: int


def sub_params(*, input1_scale: float, input1_zero_point: int, input2_scale: float, input2_zero_point: int,
               output_scale: float, output_zero_point: int, activation: str) -> SubParams:
    """TFLM int8 SUB's Prepare: unlike ADD's, the multipliers are computed in float32 and then widened."""
    twice_max_input_scale = _f32(2.0 * max(input1_scale, input2_scale))
    input1_mult, input1_shift = _quantize_multiplier_smaller_than_one(_f32(input1_scale / twice_max_input_scale))
    input2_mult, input2_shift = _quantize_multiplier_smaller_than_one(_f32(input2_scale / twice_max_input_scale))
    output_mult, output_shift = _quantize_multiplier_smaller_than_one(
        _f32(twice_max_input_scale / _f32((1 << ADD_LEFT_SHIFT_INT8) * output_scale)))
    act_min, act_max = activation_range(activation, output_scale, output_zero_point)
    return SubParams(input1_offset=-input1_zero_point, input1_mult=input1_mult, input1_shift=input1_shift,
                     input2_offset=-input2_zero_point, input2_mult=input2_mult, input2_shift=input2_shift,
                     left_shift=ADD_LEFT_SHIFT_INT8, output_offset=output_zero_point, output_mult=output_mult,
                     output_shift=output_shift, act_min=act_min, act_max=act_max)
