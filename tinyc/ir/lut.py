"""Int8 ops whose output is a function of the int8 input alone, as 256-entry lookup tables.

Each builder reproduces TFLite Micro's reference kernel for one int8 value (its Prepare in float32 / double
exactly as TFLM computes it, its Eval in the kernel's own integer arithmetic: gemmlowp's fixed point for
LOGISTIC and TANH, 16-bit fixed point for HARD_SWISH, MultiplyByQuantizedMultiplier for LEAKY_RELU, ADD and
MUL with a constant scalar operand), and evaluates it on all 256 inputs. The firmware then runs one generic
kernel, `tinyc_lut_s8`: out[i] = table[in[i] + 128]. Pure Python integers; no TF.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from tinyc.ir.requant import (ADD_LEFT_SHIFT_INT8, INT8_MAX, INT8_MIN, _f32, _round_half_away, activation_range,
                              add_params, quantize_multiplier, sub_params)

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1
INT8_VALUES = range(INT8_MIN, INT8_MAX + 1)

Table = tuple[int, ...]  # 256 int8 values: table[x + 128] is the output for input x


def _wrap32(x: int) -> int:
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _wrap16(x: int) -> int:
    return ((x + (1 << 15)) & 0xFFFF) - (1 << 15)


def _trunc_div(a: int, b: int) -> int:
    """C integer division (toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _clamp(x: int, low: int, high: int) -> int:
    return max(low, min(high, x))


# --- gemmlowp / TFLite integer primitives ------------------------------------------------------------

def srdhm32(a: int, b: int) -> int:
    """gemmlowp SaturatingRoundingDoublingHighMul on int32."""
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    return _wrap32(_trunc_div(ab + nudge, 1 << 31))


def srdhm16(a: int, b: int) -> int:
    """gemmlowp SaturatingRoundingDoublingHighMul on int16."""
    if a == b == INT16_MIN:
        return INT16_MAX
    ab = a * b
    nudge = (1 << 14) if ab >= 0 else 1 - (1 << 14)
    return _wrap16(_trunc_div(ab + nudge, 1 << 15))


def sdhm16(a: int, b: int) -> int:
    """TFLite's SaturatingDoublingHighMul on int16 (rounds toward zero)."""
    if a == b == INT16_MIN:
        return INT16_MAX
    return _wrap16(_trunc_div(a * b, 1 << 15))


def rounding_divide_by_pot(x: int, exponent: int) -> int:
    """gemmlowp RoundingDivideByPOT: x / 2^exponent, halves away from zero."""
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def multiply_by_quantized_multiplier(x: int, multiplier: int, shift: int) -> int:
    """TFLite MultiplyByQuantizedMultiplier (double rounding; shift > 0 is a left shift)."""
    left, right = max(shift, 0), max(-shift, 0)
    return rounding_divide_by_pot(srdhm32(_wrap32(x * (1 << left)), multiplier), right)


def _saturating_mul_pot32(x: int, exponent: int) -> int:
    """gemmlowp SaturatingRoundingMultiplyByPOT<exponent> on int32."""
    if exponent == 0:
        return x
    if exponent < 0:
        return rounding_divide_by_pot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    if x > threshold:
        return INT32_MAX
    if x < -threshold:
        return INT32_MIN
    return _wrap32(x << exponent)


def _rescale(x: int, src_integer_bits: int, dst_integer_bits: int) -> int:
    return _saturating_mul_pot32(x, src_integer_bits - dst_integer_bits)


def _rounding_half_sum(a: int, b: int) -> int:
    s = a + b
    return _wrap32(_trunc_div(s + (1 if s >= 0 else -1), 2))


def _const(raw_int32: int) -> int:
    return raw_int32  # GEMMLOWP_CHECKED_FIXEDPOINT_CONSTANT for 32-bit raw values


def _exp_on_interval_between_negative_one_quarter_and_0_excl(a: int) -> int:
    """exp(a) for a in [-1/4, 0), Q0.31 in and out."""
    constant_term = _const(1895147668)
    constant_1_over_3 = _const(715827883)
    x = _wrap32(a + (1 << 28))
    x2 = srdhm32(x, x)
    x3 = srdhm32(x2, x)
    x4 = srdhm32(x2, x2)
    x4_over_4 = _saturating_mul_pot32(x4, -2)
    inner = _saturating_mul_pot32(_wrap32(srdhm32(_wrap32(x4_over_4 + x3), constant_1_over_3) + x2), -1)
    return _wrap32(constant_term + srdhm32(constant_term, _wrap32(x + inner)))


_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308), (2, 39332535), (3, 720401),
               (4, 242))


def exp_on_negative_values(a: int, integer_bits: int) -> int:
    """gemmlowp exp_on_negative_values: a in Q(integer_bits), result in Q0.31."""
    fractional_bits = 31 - integer_bits
    one_quarter = 1 << (fractional_bits - 2)
    mask = one_quarter - 1
    a_mod_quarter_minus_one_quarter = _wrap32((a & mask) - one_quarter)
    result = _exp_on_interval_between_negative_one_quarter_and_0_excl(
        _rescale(a_mod_quarter_minus_one_quarter, integer_bits, 0))
    remainder = _wrap32(a_mod_quarter_minus_one_quarter - a)
    for exponent, multiplier in _EXP_BARREL:
        if integer_bits > exponent:
            shift = fractional_bits + exponent
            if remainder & (1 << shift):
                result = srdhm32(result, _const(multiplier))
    if integer_bits > 5:
        clamp = -(1 << (36 - integer_bits))
        if a < clamp:
            result = 0
    if a == 0:
        result = INT32_MAX
    return result


def _newton_reciprocal_half(a: int) -> int:
    """The Newton-Raphson iterate x ~ 1 / ((1 + a) / 2) in Q2.29 of gemmlowp's one_over_one_plus_x_for_x_in_0_1."""
    half_denominator = _rounding_half_sum(a, INT32_MAX)
    constant_48_over_17 = _const(1515870810)
    constant_neg_32_over_17 = _const(-1010580540)
    x = _wrap32(constant_48_over_17 + srdhm32(half_denominator, constant_neg_32_over_17))
    one_f2 = 1 << 29
    for _ in range(3):
        half_denominator_times_x = srdhm32(half_denominator, x)
        one_minus = _wrap32(one_f2 - half_denominator_times_x)
        x = _wrap32(x + _rescale(srdhm32(x, one_minus), 2 + 2, 2))
    return x


def one_over_one_plus_x_for_x_in_0_1(a: int) -> int:
    x = _newton_reciprocal_half(a)
    return _rescale(x, 2 - 1, 0)  # ExactMulByPot<-1> then Rescale<0>


def one_minus_x_over_one_plus_x_for_x_in_0_1(a: int) -> int:
    x = _newton_reciprocal_half(a)
    return _rescale(_wrap32(x - (1 << 29)), 2, 0)


def gemmlowp_logistic(a: int, integer_bits: int) -> int:
    """gemmlowp::logistic on a Q(integer_bits) int32; result Q0.31."""
    if a == 0:
        return 1 << 30
    abs_input = a if a > 0 else _wrap32(-a)
    result_if_positive = one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(_wrap32(-abs_input), integer_bits))
    return result_if_positive if a > 0 else _wrap32(INT32_MAX - result_if_positive)


def gemmlowp_tanh(a: int, integer_bits: int) -> int:
    """gemmlowp::tanh on a Q(integer_bits) int32; result Q0.31."""
    if a == 0:
        return 0
    negative = a < 0
    n = a if negative else _wrap32(-a)
    t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(n, integer_bits + 1))  # ExactMulByPot<1>
    return _wrap32(-t) if negative else t


def calculate_input_radius(input_integer_bits: int, input_left_shift: int, total_signed_bits: int = 31) -> int:
    max_input_rescaled = (1.0 * ((1 << input_integer_bits) - 1) * (1 << (total_signed_bits - input_integer_bits))
                          / (1 << input_left_shift))
    return math.floor(max_input_rescaled)


def _frexp_multiplier(real: float) -> tuple[int, int]:
    """TFLM's `q = frexp(real, &shift); multiplier = round(q * 2^31)` (no renormalization)."""
    q, shift = math.frexp(real)
    return _round_half_away(q * (1 << 31)), shift


# --- the tables ---------------------------------------------------------------------------------------

def _table(function: Callable[[int], int]) -> Table:
    return tuple(_clamp(function(x), INT8_MIN, INT8_MAX) for x in INT8_VALUES)


def logistic_table(input_scale: float, input_zero_point: int) -> Table:
    """TFLM int8 LOGISTIC (reference_integer_ops::Logistic; output scale 1/256, zero point -128)."""
    integer_bits = 4
    multiplier, left_shift = _frexp_multiplier(input_scale * float(1 << (31 - integer_bits)))
    radius = calculate_input_radius(integer_bits, left_shift)

    def one(x: int) -> int:
        v = x - input_zero_point
        if v <= -radius:
            return INT8_MIN
        if v >= radius:
            return INT8_MAX
        q4 = multiply_by_quantized_multiplier(v, multiplier, left_shift)
        return rounding_divide_by_pot(gemmlowp_logistic(q4, integer_bits), 31 - 8) - 128
    return _table(one)


def tanh_table(input_scale: float, input_zero_point: int) -> Table:
    """TFLM int8 TANH (reference_integer_ops::Tanh; output scale 1/128, zero point 0)."""
    integer_bits = 4
    multiplier, left_shift = _frexp_multiplier(input_scale * float(1 << (31 - integer_bits)))
    radius = calculate_input_radius(integer_bits, left_shift)

    def one(x: int) -> int:
        v = x - input_zero_point
        if v <= -radius:
            return INT8_MIN
        if v >= radius:
            return INT8_MAX
        q4 = multiply_by_quantized_multiplier(v, multiplier, left_shift)
        return rounding_divide_by_pot(gemmlowp_tanh(q4, integer_bits), 31 - 7)
    return _table(one)


def _downscale_to_int16_multiplier(multiplier: int) -> int:
    """TFLite DownScaleInt32ToInt16Multiplier."""
    if multiplier >= INT32_MAX - (1 << 15):
        return INT16_MAX
    return (multiplier + (1 << 15)) >> 16


def _saturating_left_shift16(value: int, amount: int) -> int:
    return _clamp(value * (1 << amount), INT16_MIN, INT16_MAX)


def hard_swish_table(input_scale: float, input_zero_point: int, output_scale: float, output_zero_point: int) -> Table:
    """TFLM int8 HARD_SWISH (HardSwishPrepare in float32, reference_ops::HardSwish in 16-bit fixed point)."""
    hires_input_scale = _f32(_f32(1.0 / 128.0) * input_scale)
    reluish_scale = _f32(3.0 / 32768.0)
    out_mult32, out_exponent = quantize_multiplier(_f32(hires_input_scale / output_scale))
    out_mult = _downscale_to_int16_multiplier(out_mult32)
    relu_mult32, relu_exponent = quantize_multiplier(_f32(hires_input_scale / reluish_scale))
    relu_mult = _downscale_to_int16_multiplier(relu_mult32)
    if out_exponent > 0:
        raise ValueError(f"HARD_SWISH output multiplier exponent {out_exponent} > 0 (TFLite refuses the model)")

    def one(x: int) -> int:
        value = _wrap16(x - input_zero_point)
        hires = _wrap16(value * (1 << 7))
        preshift_out = srdhm16(hires, out_mult)
        reluish = hires
        if relu_exponent > 0:
            reluish = _saturating_left_shift16(reluish, relu_exponent - 1)
        reluish = srdhm16(reluish, relu_mult)
        if relu_exponent > 0:
            reluish = _saturating_left_shift16(reluish, 1)
        if relu_exponent < 0:
            reluish = rounding_divide_by_pot(reluish, -relu_exponent)
        reluish = _wrap16((reluish + (1 << 15)) >> 1)
        preshift_value = sdhm16(reluish, preshift_out)
        out = _wrap16(rounding_divide_by_pot(preshift_value, -out_exponent) + output_zero_point)
        return out
    return _table(one)


def leaky_relu_table(input_scale: float, input_zero_point: int, output_scale: float, output_zero_point: int,
                     alpha: float) -> Table:
    """TFLM int8 LEAKY_RELU (multipliers from float32 products, as its Prepare)."""
    alpha_mult, alpha_shift = quantize_multiplier(_f32(_f32(input_scale * alpha) / output_scale))
    identity_mult, identity_shift = quantize_multiplier(_f32(input_scale / output_scale))

    def one(x: int) -> int:
        v = x - input_zero_point
        if v >= 0:
            return output_zero_point + multiply_by_quantized_multiplier(v, identity_mult, identity_shift)
        return output_zero_point + multiply_by_quantized_multiplier(v, alpha_mult, alpha_shift)
    return _table(one)


def add_constant_table(input_scale: float, input_zero_point: int, constant: int, constant_scale: float,
                       constant_zero_point: int, output_scale: float, output_zero_point: int,
                       activation: str, *, constant_first: bool = False) -> Table:
    """TFLM int8 ADD of an activation and a constant scalar (with its fused activation)."""
    if constant_first:
        p = add_params(constant_scale, constant_zero_point, input_scale, input_zero_point, output_scale,
                       output_zero_point)
    else:
        p = add_params(input_scale, input_zero_point, constant_scale, constant_zero_point, output_scale,
                       output_zero_point)
    act_min, act_max = activation_range(activation, output_scale, output_zero_point)

    def one(x: int) -> int:
        a, b = (constant, x) if constant_first else (x, constant)
        sa = multiply_by_quantized_multiplier((a + p.input1_offset) * (1 << ADD_LEFT_SHIFT_INT8), p.input1_mult,
                                              p.input1_shift)
        sb = multiply_by_quantized_multiplier((b + p.input2_offset) * (1 << ADD_LEFT_SHIFT_INT8), p.input2_mult,
                                              p.input2_shift)
        raw = multiply_by_quantized_multiplier(_wrap32(sa + sb), p.output_mult, p.output_shift) + p.output_offset
        return _clamp(raw, act_min, act_max)
    return _table(one)


def sub_constant_table(input_scale: float, input_zero_point: int, constant: int, constant_scale: float,
                       constant_zero_point: int, output_scale: float, output_zero_point: int,
                       activation: str, *, constant_first: bool = False) -> Table:
    """TFLM int8 SUB of an activation and a constant scalar (either order, with its fused activation)."""
    if constant_first:
        p = sub_params(input1_scale=constant_scale, input1_zero_point=constant_zero_point, input2_scale=input_scale,
                       input2_zero_point=input_zero_point, output_scale=output_scale,
                       output_zero_point=output_zero_point, activation=activation)
    else:
        p = sub_params(input1_scale=input_scale, input1_zero_point=input_zero_point, input2_scale=constant_scale,
                       input2_zero_point=constant_zero_point, output_scale=output_scale,
                       output_zero_point=output_zero_point, activation=activation)

    def one(x: int) -> int:
        a, b = (constant, x) if constant_first else (x, constant)
        sa = multiply_by_quantized_multiplier((a + p.input1_offset) * (1 << p.left_shift), p.input1_mult,
                                              p.input1_shift)
        sb = multiply_by_quantized_multiplier((b + p.input2_offset) * (1 << p.left_shift), p.input2_mult,
                                              p.input2_shift)
        raw = multiply_by_quantized_multiplier(_wrap32(sa - sb), p.output_mult, p.output_shift) + p.output_offset
        return _clamp(raw, p.act_min, p.act_max)
    return _table(one)


def mul_constant_table(input_scale: float, input_zero_point: int, constant: int, constant_scale: float,
                       constant_zero_point: int, output_scale: float, output_zero_point: int,
                       activation: str) -> Table:
    """TFLM int8 MUL of an activation and a constant scalar (with its fused activation)."""
    multiplier, shift = quantize_multiplier(input_scale * constant_scale / output_scale)
    act_min, act_max = activation_range(activation, output_scale, output_zero_point)

    def one(x: int) -> int:
        product = (x - input_zero_point) * (constant - constant_zero_point)
        return _clamp(output_zero_point + multiply_by_quantized_multiplier(product, multiplier, shift), act_min, act_max)
    return _table(one)


def requantize_table(input_scale: float, input_zero_point: int, output_scale: float, output_zero_point: int) -> Table:
    """TFLM int8 -> int8 QUANTIZE (reference_ops::Requantize: QuantizeMultiplier(double(s_in) / double(s_out)))."""
    multiplier, shift = quantize_multiplier(input_scale / output_scale)
    return _table(lambda x: multiply_by_quantized_multiplier(x - input_zero_point, multiplier, shift) + output_zero_point)
