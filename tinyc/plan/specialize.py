"""Kernel specialization: which steps run tinyc's compile-time specialized kernels, with which constant layouts.

A compiler knows every shape, zero point and weight at compile time; a library does not. For each step this stage
decides whether a specialized kernel applies and prepares what it reads from flash
(`tinyc/kernels/tinyc/tinyc_fast_conv.h` and `tinyc_fast_depthwise.h` document the layouts): the weights re-laid out as doubled int16 in
SXTB16 lane order, and one record per output channel with the input offset folded into the bias and the
requantization constants of the fastest mode that is provably equal to TFLite Micro's arithmetic for every
accumulator the layer can produce. Every proof is an integer bound computed here from the layer's own weights, per
live channel: a channel whose weights are all zero (trained networks prune them) is a constant of the layer,
computed here with TFLite Micro's arithmetic. Convolutions run `tinyc_fast_conv_s8`, fully connected layers
`tinyc_fast_fc_s8` (one row, int8 weights), out-of-place depthwise convolutions
`tinyc_fast_depthwise_s8` (no scratch: its zero-point padded band of input rows is on the stack, `DW_BAND_BYTES`,
which must hold k_h rows), ADD `tinyc_fast_add_s8`, an average pooling whose one window is whole input rows from the first
`tinyc_fast_avgpool_global_s8` (no constants).

On a Helium board (the Cortex-M55) convolutions and fully connected layers run `tinyc_helium_conv_s8` and 3x3
depthwise layers `tinyc_helium_depthwise_s8` (tinyc_helium_conv.h and tinyc_helium_depthwise.h document the layouts:
int8 weights by quads of output channels, a record of 16 int32 per quad). Their requantization is TFLite Micro's
exactly for every accumulator, so they need no proof; the other depthwise layers keep the DSP kernel.

The generic call stays in the generated code beside the specialized one (portable builds and builds against Arm's
CMSIS-NN run it); the linker keeps only the constants the build uses. The specialized layouts cost flash (int16
weights are twice the bytes): layers are specialized in order of MACs per extra byte while the board's flash keeps
`FLASH_HEADROOM_FRACTION` free, so a model that fit before still fits.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from tinyc.boards import Board
from tinyc.ir.lower import AddCall, ConstArray, ConvCall, FullyConnectedCall, KernelKind, PoolCall
from tinyc.ir.lut import multiply_by_quantized_multiplier
from tinyc.plan.report import code_estimate_bytes
from tinyc.plan.schedule import Schedule, Step

FLASH_HEADROOM_FRACTION = 0.10  # of the board's flash, kept free when choosing specialized layouts
QUANT_WORDS = 4  # int32 per output channel in the specialized record
INT8_MAX_ABS = 128  # |x| of a raw int8 input value
DW_BAND_BYTES = 1536  # TINYC_FD_BAND_BYTES of tinyc_fast_depthwise.h: the zero-point padded rows on the stack
DW_ROW_SLACK_BYTES = 4  # bytes after each band row that word loads may read
STEP_CODE_BYTES = 1024  # code of one step's inlined specialized kernel (measured 0.5-0.7 KiB per step on the zoo)
FF_STACK_CHANNELS = 768  # TINYC_FF_STACK_CHANNELS of tinyc_fast_fc.h: the int16 input row on the stack
ACC_LIMIT = 1 << 30  # |accumulator| below this: its double fits int32 and SMMULR is the doubling high multiply




class Variant(enum.Enum):
    GENERIC = "generic"  # the CMSIS-NN API call
    FAST_CONV = "fast-conv"  # tinyc_fast_conv_s8, specialized per layer
    FAST_DEPTHWISE = "fast-depthwise"  # tinyc_fast_depthwise_s8, specialized per layer
    FAST_ADD = "fast-add"  # tinyc_fast_add_s8: a table per input, one requantization
    FAST_FC = "fast-fc"  # tinyc_fast_fc_s8: fully connected, one row, int8 weights
    FAST_AVGPOOL = "fast-avgpool"  # tinyc_fast_avgpool_global_s8: one window of whole rows, no constants
    HELIUM_CONV = "helium-conv"  # tinyc_helium_conv_s8 (Helium/MVE): convolutions and fully connected layers
    HELIUM_DEPTHWISE = "helium-depthwise"  # tinyc_helium_depthwise_s8 (Helium/MVE): depthwise, multiplier 1


class WeightFormat(enum.Enum):
    """How tinyc_fast_conv_s8 reads its weights (its `ws8` argument)."""
    S16 = "int16"  # doubled int16 in SXTB16 lane order: the fastest, twice the flash
    S8 = "int8"  # int8 in group order, SXTB16 in the kernel: the generic call's flash


class RequantMode(enum.IntEnum):
    """The C constants TINYC_REQUANT_* of tinyc_fast_support.h."""
    FAST = 0
    FAST_CLAMP = 1
    EXACT = 2


@dataclass(frozen=True)
class KernelChoice:
    variant: Variant
    consts: tuple[ConstArray, ...] = ()  # the specialized layouts (weights, quant[, live channels, constant row])
    mode: RequantMode = RequantMode.EXACT
    weight_format: WeightFormat = WeightFormat.S16
    extra_flash_bytes: int = 0  # flash beyond the generic call's: constant layouts, and code (STEP_CODE_BYTES a step)
    reason: str = ""
    add: tuple[int, int, int] = (0, 0, 0)  # FAST_ADD: multiplier, folded constant, exponent
    live_channels: int = 0  # FAST_CONV: the output channels computed at run time (the others are constants)
    left_shift: bool = False  # HELIUM_*: some channel's requantization shifts left (the kernels' slower path)

    @property
    def clamp(self) -> int:
        return int(self.mode is RequantMode.FAST_CLAMP)

    @property
    def ws8(self) -> int:
        return int(self.weight_format is WeightFormat.S8)

    @property
    def weights(self) -> ConstArray:
        return self.consts[0]

    @property
    def quant(self) -> ConstArray:
        return self.consts[1]

    @property
    def live(self) -> ConstArray | None:
        """FAST_CONV with constant channels: the live channels' numbers (uint16), else None."""
        return self.consts[2] if len(self.consts) > 2 else None

    @property
    def row(self) -> ConstArray | None:
        """FAST_CONV with constant channels: one output pixel with every constant channel's value, else None."""
        return self.consts[3] if len(self.consts) > 3 else None


GENERIC = KernelChoice(Variant.GENERIC)


def _const(call: ConvCall | FullyConnectedCall, role: str) -> np.ndarray:
    return next(a.values for a in call.consts if a.name.endswith(f"_{role}"))


def _pointwise(call: ConvCall) -> bool:
    return call.filter_dims.h == 1 and call.filter_dims.w == 1 and call.pad_h == 0 and call.pad_w == 0


def conv_weights_layout(weights: np.ndarray, out_c: int, k: int, fmt: WeightFormat) -> np.ndarray:
    """Per output channel pair and group of 4 k, channel 0 then 1: S16 doubled [w0, w2, w1, w3], S8 [w0 .. w3]."""
    w = np.asarray(weights, dtype=np.int32).reshape(out_c, k)
    groups = -(-k // 4)
    padded = np.zeros((out_c + (out_c & 1), groups * 4), dtype=np.int32)
    padded[:out_c, :k] = w
    lanes = padded.reshape(-1, 2, groups, 4)  # pair, channel, group, lane
    if fmt is WeightFormat.S8:
        return lanes.transpose(0, 2, 1, 3).reshape(-1).astype(np.int8)
    return (2 * lanes[..., [0, 2, 1, 3]]).transpose(0, 2, 1, 3).reshape(-1).astype(np.int16)


def depthwise_weights_layout(weights: np.ndarray, channels: int, k_h: int, k_w: int) -> np.ndarray:
    """Doubled int16 weights, per channel and kernel row: the row's taps in groups of 4 in SXTB16 lane order
    [w0, w2, w1, w3] (k_w rounded up to 4 with zeros): a 3-wide row is [2*w0, 2*w2, 2*w1, 0]."""
    groups = -(-k_w // 4)
    w = np.asarray(weights, dtype=np.int32).reshape(k_h, k_w, channels).transpose(2, 0, 1)  # channel, row, tap
    padded = np.zeros((channels, k_h, groups * 4), dtype=np.int32)
    padded[:, :, :k_w] = 2 * w
    lanes = padded.reshape(channels, k_h, groups, 4)[..., [0, 2, 1, 3]]
    return lanes.reshape(-1).astype(np.int16)


@dataclass(frozen=True)
class GemmLayer:
    """What a specialized kernel computes per output channel, from a CONV_2D, DEPTHWISE_CONV_2D or
    FULLY_CONNECTED call."""
    op_index: int
    weights: np.ndarray  # out_c x k, int8 (the taps of each output channel)
    bias: np.ndarray
    multipliers: list[int]
    shifts: list[int]
    input_offset: int
    output_offset: int
    act_min: int
    act_max: int


def _gemm_layer(call: ConvCall | FullyConnectedCall) -> GemmLayer:
    out_c = call.output_dims.c
    if isinstance(call, FullyConnectedCall) and not call.per_channel:
        mults, shifts = [call.multiplier] * out_c, [call.shift] * out_c
    else:
        mults, shifts = [int(v) for v in _const(call, "multiplier")], [int(v) for v in _const(call, "shift")]
    w = np.asarray(_const(call, "weights"), dtype=np.int64)
    per_channel = w.reshape(-1, out_c).T if call.kind is KernelKind.DEPTHWISE_CONV else w.reshape(out_c, -1)
    return GemmLayer(call.op_index, per_channel,
                     np.asarray(_const(call, "bias"), dtype=np.int64), mults, shifts, call.input_offset,
                     call.output_offset, call.act_min, call.act_max)


def _channels(layer: GemmLayer, channels: np.ndarray) -> GemmLayer:
    """The layer restricted to these output channels, in this order."""
    return replace(layer, weights=layer.weights[channels], bias=layer.bias[channels],
                   multipliers=[layer.multipliers[c] for c in channels], shifts=[layer.shifts[c] for c in channels])


def constant_channel_output(layer: GemmLayer, channel: int) -> int:
    """The output of a channel whose weights are all zero, as TFLite Micro computes it for every input: the
    accumulator is the bias (each tap adds (x + input offset) * 0, padding or not), then
    MultiplyByQuantizedMultiplier in int32, the output offset and the activation clamp."""
    assert not layer.weights[channel].any()
    acc = int(layer.bias[channel])
    out = multiply_by_quantized_multiplier(acc, layer.multipliers[channel], layer.shifts[channel])
    return max(layer.act_min, min(layer.act_max, out + layer.output_offset))


def _split_pays(out_c: int, k: int, constant: int) -> bool:
    """Whether computing the constant channels at compile time saves instructions per output pixel: their MACs
    (about 13 instructions per 16 in the tile loop) against a channel number load per live output and a word
    copy of the constant row."""
    return constant * k * 13 > 16 * (out_c - constant + out_c // 2)


def _requant_records(layer: GemmLayer, fmt: WeightFormat) -> tuple[np.ndarray, RequantMode] | None:
    """The per-channel records and the layer's mode, or None when an accumulator could reach 2^30."""
    w, mults, shifts = layer.weights, layer.multipliers, layer.shifts
    out_c = w.shape[0]
    base = layer.bias + layer.input_offset * w.sum(axis=1)
    bounds = [INT8_MAX_ABS * int(np.abs(w[c]).sum()) + abs(int(base[c])) for c in range(out_c)]
    if max(bounds) >= ACC_LIMIT:
        return None
    fast = all(s <= -1 and 0 <= m < (1 << 31) for m, s in zip(mults, shifts))
    consts: list[tuple[int, int]] = []
    if fast:
        for c in range(out_c):
            e = -shifts[c]
            folded = (1 << (e - 1)) + (layer.output_offset << e)
            high = bounds[c] * mults[c] // (1 << 31) + 1  # |SMMULR result| <= this
            if high + abs(folded) + 1 >= (1 << 31) or e > 31:
                fast = False
                break
            consts.append((folded, e))
    if fast:
        mode = RequantMode.FAST if layer.act_min <= -128 and layer.act_max >= 127 else RequantMode.FAST_CLAMP
    else:
        if any(not -31 <= s <= 31 or m == -(1 << 31) for m, s in zip(mults, shifts)):
            return None
        mode, consts = RequantMode.EXACT, [(s, 0) for s in shifts]
    records = np.zeros((out_c + (out_c & 1), QUANT_WORDS), dtype=np.int64)
    records[:out_c, 0] = 2 * base if fmt is WeightFormat.S16 else base  # the accumulator's start
    records[:out_c, 1] = mults
    records[:out_c, 2] = [c[0] for c in consts]
    records[:out_c, 3] = [c[1] for c in consts]
    assert np.abs(records).max() < (1 << 31)
    return records.reshape(-1).astype(np.int32), mode


def _matrix_product_reason(step: Step) -> str:
    """Why this step is no matrix product a specialized convolution kernel (DSP or Helium) takes ("" when it is)."""
    call = step.call
    if isinstance(call, FullyConnectedCall):
        return "" if call.filter_dims.n == call.input_dims.c else "input rows of another length"
    assert isinstance(call, ConvCall)
    if step.in_place:
        return "in place: tinyc's in-place 1x1 kernel"
    if call.input_dims.n != 1 or call.filter_dims.c != call.input_dims.c:
        return "batches or grouped convolution"
    if (call.dilation_h, call.dilation_w) != (1, 1):
        return "dilation"
    return ""


def _eligible(step: Step) -> str:
    """Why this step cannot run the specialized convolution ("" when it can)."""
    call = step.call
    reason = _matrix_product_reason(step)
    if reason or isinstance(call, FullyConnectedCall):
        return reason
    assert isinstance(call, ConvCall)
    k4 = -(-call.filter_dims.h * call.filter_dims.w * call.filter_dims.c // 4) * 4
    if not _pointwise(call) and call.scratch_bytes < 4 * k4:
        return "no room for two int16 columns"
    return ""


def dw_band_row_bytes(call: ConvCall) -> int:
    """A band row of the specialized depthwise: the padded input row and the slack, rounded up to a word."""
    pad_r = max(0, (call.output_dims.w - 1) * call.stride_w + call.filter_dims.w - call.input_dims.w - call.pad_w)
    return (call.pad_w + call.input_dims.w + pad_r + DW_ROW_SLACK_BYTES + 3) // 4 * 4


def _channelwise_reason(step: Step) -> str:
    """Why this depthwise step is no one-channel-at-a-time filter a specialized depthwise kernel (DSP or Helium)
    takes ("" when it is)."""
    call = step.call
    assert isinstance(call, ConvCall)
    if step.in_place:
        return "in place: tinyc's in-place depthwise kernel"
    if call.input_dims.n != 1 or call.ch_mult != 1 or call.output_dims.c != call.input_dims.c:
        return "batches or a channel multiplier"
    if (call.dilation_h, call.dilation_w) != (1, 1):
        return "dilation"
    return ""


def _eligible_depthwise(step: Step) -> str:
    """Why this step cannot run the specialized depthwise convolution ("" when it can)."""
    call = step.call
    assert isinstance(call, ConvCall)
    reason = _channelwise_reason(step)
    if reason:
        return reason
    if call.filter_dims.h * dw_band_row_bytes(call) > DW_BAND_BYTES:
        return f"rows too wide for the {DW_BAND_BYTES}-byte band on the stack"
    return ""


def _fast_depthwise(call: ConvCall | FullyConnectedCall, fmt: WeightFormat) -> KernelChoice:
    """Int16 weights only: where the flash has no room for them, the generic call."""
    assert isinstance(call, ConvCall)
    if fmt is not WeightFormat.S16:
        return KernelChoice(Variant.GENERIC, reason="flash: no room for its int16 weights")
    records = _requant_records(_gemm_layer(call), fmt)
    if records is None:
        return KernelChoice(Variant.GENERIC, reason="accumulators may reach 2^30")
    quant, mode = records
    name = f"op{call.op_index}_fast"
    weights = depthwise_weights_layout(_const(call, "weights"), call.output_dims.c, call.filter_dims.h,
                                       call.filter_dims.w)
    consts = (ConstArray(f"{name}_weights", "int16_t", weights), ConstArray(f"{name}_quant", "int32_t", quant))
    generic = sum(a.size_bytes for a in call.consts)
    return KernelChoice(Variant.FAST_DEPTHWISE, consts, mode, WeightFormat.S16,
                        sum(a.size_bytes for a in consts) - generic)


def _split_channels(layer: GemmLayer, fmt: WeightFormat) -> tuple[np.ndarray, tuple[np.ndarray, RequantMode] | None,
                                                                  np.ndarray | None]:
    """The channels computed at run time, their records and mode (None: no proof), and the row of the constant
    channels' outputs (None: every channel live).

    Channels whose weights are all zero are constants of the layer, computed here (`constant_channel_output`)
    where that saves instructions or where their accumulators (bias near 2^30) would keep the layer off the fast
    kernel; the bounds are then proved for the live channels alone."""
    out_c, k = layer.weights.shape
    constant = ~layer.weights.any(axis=1)
    records = _requant_records(layer, fmt)
    if not constant.any():
        return np.arange(out_c), records, None
    live = np.flatnonzero(~constant)
    live_records = _requant_records(_channels(layer, live), fmt) if live.size else \
        (np.zeros(2 * QUANT_WORDS, dtype=np.int32), RequantMode.FAST)  # no channel to compute
    if records is not None and (live_records is None or live_records[1] >= records[1]) \
            and not _split_pays(out_c, k, int(constant.sum())):
        return np.arange(out_c), records, None
    row = np.zeros(out_c, dtype=np.int8)
    for c in np.flatnonzero(constant):
        row[c] = constant_channel_output(layer, int(c))
    return live, live_records, row


def _choice(call: ConvCall | FullyConnectedCall, variant: Variant, fmt: WeightFormat, weights: np.ndarray,
            quant: np.ndarray, mode: RequantMode, live: np.ndarray, row: np.ndarray | None) -> KernelChoice:
    name = f"op{call.op_index}_fast"
    consts: tuple[ConstArray, ...] = (ConstArray(f"{name}_weights", weights.dtype.name + "_t", weights),
                                      ConstArray(f"{name}_quant", "int32_t", quant))
    if row is not None:
        assert row.size <= 0xFFFF
        consts += (ConstArray(f"{name}_live", "uint16_t", np.append(live, 0).astype(np.uint16)),
                   ConstArray(f"{name}_row", "int8_t", row))
    generic = sum(a.size_bytes for a in call.consts)
    return KernelChoice(variant, consts, mode, fmt, sum(a.size_bytes for a in consts) - generic,
                        live_channels=int(live.size))


def _fast_conv(call: ConvCall | FullyConnectedCall, fmt: WeightFormat) -> KernelChoice:
    layer = _gemm_layer(call)
    live, records, row = _split_channels(layer, fmt)
    if records is None:
        return KernelChoice(Variant.GENERIC, reason="accumulators may reach 2^30")
    k = layer.weights.shape[1]
    weights = conv_weights_layout(layer.weights[live] if live.size else np.zeros((1, k)), max(live.size, 1), k, fmt)
    return _choice(call, Variant.FAST_CONV, fmt, weights, records[0], records[1], live, row)


def fc_weights_layout(weights: np.ndarray, out_c: int, k: int) -> np.ndarray:
    """Int8, per quad of output channels and group of 4 k, channels 0 to 3 [w0 .. w3] (tinyc_fast_fc_s8)."""
    w = np.asarray(weights, dtype=np.int32).reshape(out_c, k)
    groups = -(-k // 4)
    padded = np.zeros((-(-out_c // 4) * 4, groups * 4), dtype=np.int32)
    padded[:out_c, :k] = w
    return padded.reshape(-1, 4, groups, 4).transpose(0, 2, 1, 3).reshape(-1).astype(np.int8)


def _fast_fully_connected(call: ConvCall | FullyConnectedCall, fmt: WeightFormat) -> KernelChoice:
    """tinyc_fast_fc_s8 (int8 weights, whatever the flash) where the input row fits the stack as int16, else the
    convolution's kernel."""
    layer = _gemm_layer(call)
    k = layer.weights.shape[1]
    if -(-k // 4) * 4 > FF_STACK_CHANNELS:
        return _fast_conv(call, fmt)
    live, records, row = _split_channels(layer, WeightFormat.S8)
    if records is None:
        return KernelChoice(Variant.GENERIC, reason="accumulators may reach 2^30")
    weights = fc_weights_layout(layer.weights[live] if live.size else np.zeros((1, k)), max(live.size, 1), k)
    quant = np.zeros(-(-max(live.size, 1) // 4) * 4 * QUANT_WORDS, dtype=np.int32)  # a whole last quad
    quant[:records[0].size] = records[0][:quant.size]
    return _choice(call, Variant.FAST_FC, WeightFormat.S8, weights, quant, records[1], live, row)


def _srdhm(a: np.ndarray, b: int) -> np.ndarray:
    """TFLite's SaturatingRoundingDoublingHighMul, elementwise (int64 arrays; a * b never both INT32_MIN here)."""
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    total = ab + nudge
    result: np.ndarray = np.sign(total) * (np.abs(total) // (1 << 31))  # C's division truncates toward zero
    return result


def _rdbpot(x: np.ndarray, exponent: int) -> np.ndarray:
    """TFLite's RoundingDivideByPOT."""
    mask = (1 << exponent) - 1
    threshold = (mask >> 1) + (x < 0)
    result: np.ndarray = (x >> exponent) + ((x & mask) > threshold)
    return result


def _requantize(v: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """arm_nn_requantize / MultiplyByQuantizedMultiplier (shift < 0: right)."""
    return _rdbpot(_srdhm(v * (1 << max(shift, 0)), multiplier), max(-shift, 0))


def _fast_add(call: AddCall) -> KernelChoice:
    """Tables of each input's rescaled value; the kernel's arithmetic checked on every input pair."""
    p = call.params
    if p.output_shift > -1 or p.input1_shift > 0 or p.input2_shift > 0:
        return KernelChoice(Variant.GENERIC, reason="shifts outside the fast requantization")
    x = np.arange(-128, 128, dtype=np.int64)
    t1 = _requantize((x + p.input1_offset) << p.left_shift, p.input1_mult, p.input1_shift)
    t2 = _requantize((x + p.input2_offset) << p.left_shift, p.input2_mult, p.input2_shift)
    sums = (t1[:, None] + t2[None, :]).reshape(-1)
    if np.abs(sums).max() >= ACC_LIMIT:
        return KernelChoice(Variant.GENERIC, reason="sums may reach 2^30")
    reference = np.clip(_requantize(sums, p.output_mult, p.output_shift) + p.output_offset, call.act_min, call.act_max)
    e = -p.output_shift
    folded = (1 << (e - 1)) + (p.output_offset << e)
    if abs(folded) >= (1 << 31):
        return KernelChoice(Variant.GENERIC, reason="the folded output zero point overflows")
    high = (2 * sums * p.output_mult + (1 << 31)) >> 32  # SMMULR of the doubled sum
    fast = np.clip(np.clip((high + folded + (high >> 63)) >> e, -128, 127), call.act_min, call.act_max)
    if np.abs(high + folded).max() >= (1 << 31) or not np.array_equal(fast, reference):
        return KernelChoice(Variant.GENERIC, reason="the fast requantization differs")
    table = ConstArray(f"op{call.op_index}_fast_table", "int32_t", (2 * np.concatenate([t1, t2])).astype(np.int32))
    clamp = int(call.act_min > -128 or call.act_max < 127)
    return KernelChoice(Variant.FAST_ADD, (table,), RequantMode.FAST_CLAMP if clamp else RequantMode.FAST,
                        extra_flash_bytes=table.size_bytes, add=(p.output_mult, folded, e))


def _eligible_avgpool(call: PoolCall) -> str:
    """Average pooling runs tinyc's global kernel when its one window is a run of whole input rows from the first
    (output 1x1, no padding, the window as wide as the input: KWS DS-CNN's 24x5 window over its 25x5 map too)."""
    if call.input_dims.n != 1:
        return "batches"
    if (call.output_dims.h, call.output_dims.w) != (1, 1) or (call.pad_h, call.pad_w) != (0, 0):
        return "more than one window, or padding"
    if call.filter_dims.w != call.input_dims.w or call.filter_dims.h > call.input_dims.h:
        return "the window is not whole input rows"
    return ""


def _fast_avgpool(call: PoolCall) -> KernelChoice:
    reason = _eligible_avgpool(call)
    return KernelChoice(Variant.GENERIC, reason=reason) if reason else KernelChoice(Variant.FAST_AVGPOOL)


HELIUM_LANES = 16  # int8 lanes of one MVE vector: tinyc_helium_conv.h's chunk of k
HELIUM_QUAD_WORDS = 16  # TINYC_HELIUM_QUAD_WORDS: int32 per quad of output channels


def helium_weights_layout(weights: np.ndarray, out_c: int, k: int) -> np.ndarray:
    """Int8, per quad of output channels, per chunk of 16 k, channel 0 to 3 (16 bytes each); k rounded up to 16
    and the channels to 4 with zeros (tinyc_helium_conv.h)."""
    w = np.asarray(weights, dtype=np.int32).reshape(out_c, k)
    k16 = -(-k // HELIUM_LANES) * HELIUM_LANES
    padded = np.zeros((-(-out_c // 4) * 4, k16), dtype=np.int32)
    padded[:out_c, :k] = w
    return padded.reshape(-1, 4, k16 // HELIUM_LANES, HELIUM_LANES).transpose(0, 2, 1, 3).reshape(-1).astype(np.int8)


def helium_records(layer: GemmLayer) -> np.ndarray:
    """Per quad of output channels: 4 accumulator starts (bias + input offset * sum(w), wrapped to int32 as TFLite
    Micro's int32 sums wrap), 4 multipliers, 4 left shifts, 4 negated right shifts (zero channels pad the last)."""
    out_c = layer.weights.shape[0]
    quads = -(-out_c // 4)
    start = (layer.bias + layer.input_offset * layer.weights.sum(axis=1)).astype(np.int64)
    start = (start + (1 << 31)) % (1 << 32) - (1 << 31)
    fields = np.zeros((4, quads * 4), dtype=np.int64)
    fields[0, :out_c] = start
    fields[1, :out_c] = layer.multipliers
    fields[2, :out_c] = [max(s, 0) for s in layer.shifts]
    fields[3, :out_c] = [min(s, 0) for s in layer.shifts]  # -right
    return fields.reshape(4, quads, 4).transpose(1, 0, 2).reshape(-1).astype(np.int32)


def _eligible_helium(step: Step) -> str:
    """Why this step cannot run tinyc's Helium convolution ("" when it can)."""
    call = step.call
    reason = _matrix_product_reason(step)
    if reason or isinstance(call, FullyConnectedCall):
        return reason
    assert isinstance(call, ConvCall)
    k16 = -(-call.filter_dims.h * call.filter_dims.w * call.filter_dims.c // HELIUM_LANES) * HELIUM_LANES
    if not _pointwise(call) and call.scratch_bytes < 2 * k16:
        return "no room for two int8 columns"
    return ""


def helium_conv_blocks(layer: GemmLayer) -> np.ndarray:
    """Int8, per quad of output channels: its record (helium_records' 16 int32, little-endian bytes), then its weights
    (helium_weights_layout's quad): tinyc_helium_conv.h's blocks, one pointer walks them."""
    out_c, k = layer.weights.shape
    quads = -(-out_c // 4)
    weights = helium_weights_layout(layer.weights, out_c, k).reshape(quads, -1)
    records = helium_records(layer).astype("<i4").view(np.int8).reshape(quads, -1)
    return np.concatenate([records, weights], axis=1).reshape(-1)


def _helium_conv(call: ConvCall | FullyConnectedCall, fmt: WeightFormat) -> KernelChoice:
    """Every output channel computed (no proof needed: the int32 sums wrap as TFLite Micro's do)."""
    del fmt  # int8 weights only
    layer = _gemm_layer(call)
    consts = (ConstArray(f"op{call.op_index}_helium_blocks", "int8_t", helium_conv_blocks(layer)),)
    generic = sum(a.size_bytes for a in call.consts)
    return KernelChoice(Variant.HELIUM_CONV, consts, RequantMode.EXACT, WeightFormat.S8,
                        sum(a.size_bytes for a in consts) - generic, live_channels=layer.weights.shape[0],
                        left_shift=any(sh > 0 for sh in layer.shifts))


HELIUM_DW_MAX_CHANNELS = 256  # TINYC_HD_MAX_CHANS of tinyc_helium_depthwise.h: 12 pixels of it on the stack
HELIUM_DW_TAPS = 9  # 3x3 filters only


def helium_depthwise_layout(weights: np.ndarray, records: np.ndarray, channels: int) -> np.ndarray:
    """Int32, per quad of channels: its record (HELIUM_QUAD_WORDS, as helium_records), then per tap the quad's 4
    weights as int32 (tinyc_helium_depthwise.h); `weights` in TFLite's order, tap-major with the channel innermost;
    channels a multiple of 4."""
    w = np.asarray(weights, dtype=np.int32).reshape(HELIUM_DW_TAPS, channels // 4, 4).transpose(1, 0, 2)
    return np.concatenate([records.reshape(channels // 4, HELIUM_QUAD_WORDS), w.reshape(channels // 4, -1)],
                          axis=1).reshape(-1).astype(np.int32)


def _eligible_helium_depthwise(step: Step) -> str:
    """Why this step cannot run tinyc's Helium depthwise convolution ("" when it can)."""
    call = step.call
    assert isinstance(call, ConvCall)
    reason = _channelwise_reason(step)
    if reason:
        return reason
    if (call.filter_dims.h, call.filter_dims.w) != (3, 3):
        return "not a 3x3 filter"
    if call.output_dims.c % 4 or call.output_dims.c > HELIUM_DW_MAX_CHANNELS:
        return f"channels not a multiple of 4 up to {HELIUM_DW_MAX_CHANNELS}"
    return ""


def _helium_depthwise(call: ConvCall | FullyConnectedCall, fmt: WeightFormat) -> KernelChoice:
    del fmt  # int8 weights only
    assert isinstance(call, ConvCall)
    layer = _gemm_layer(call)
    packed = helium_depthwise_layout(_const(call, "weights"), helium_records(layer), call.output_dims.c)
    consts = (ConstArray(f"op{call.op_index}_helium_packed", "int32_t", packed),)
    generic = sum(a.size_bytes for a in call.consts)
    return KernelChoice(Variant.HELIUM_DEPTHWISE, consts, RequantMode.EXACT, WeightFormat.S8,
                        sum(a.size_bytes for a in consts) - generic, live_channels=call.output_dims.c,
                        left_shift=any(sh > 0 for sh in layer.shifts))



def _helium_or_dsp_depthwise_eligible(step: Step) -> str:
    return "" if not _eligible_helium_depthwise(step) else _eligible_depthwise(step)


def _helium_or_dsp_depthwise(call: ConvCall | FullyConnectedCall, fmt: WeightFormat) -> KernelChoice:
    """3x3 layers of channels a multiple of 4: tinyc's Helium kernel; the others the DSP one."""
    assert isinstance(call, ConvCall)
    helium = call.filter_dims.h == call.filter_dims.w == 3 and call.output_dims.c % 4 == 0 \
        and call.output_dims.c <= HELIUM_DW_MAX_CHANNELS and call.ch_mult == 1
    return _helium_depthwise(call, fmt) if helium else _fast_depthwise(call, fmt)


HELIUM: dict[KernelKind, tuple[Callable[[Step], str],
                               Callable[[ConvCall | FullyConnectedCall, WeightFormat], KernelChoice]]] = {
    KernelKind.CONV: (_eligible_helium, _helium_conv),
    KernelKind.FULLY_CONNECTED: (_eligible_helium, _helium_conv),
    KernelKind.DEPTHWISE_CONV: (_helium_or_dsp_depthwise_eligible, _helium_or_dsp_depthwise),
}


SPECIALIZED: dict[KernelKind, tuple[Callable[[Step], str],
                                    Callable[[ConvCall | FullyConnectedCall, WeightFormat], KernelChoice]]] = {
    KernelKind.CONV: (_eligible, _fast_conv),
    KernelKind.FULLY_CONNECTED: (_eligible, _fast_fully_connected),
    KernelKind.DEPTHWISE_CONV: (_eligible_depthwise, _fast_depthwise),
}


def _int4_reason(call: ConvCall | FullyConnectedCall) -> str:
    """int4 weights run the s4 kernels: the specialized kernels' layouts are int8 or int16 (twice or four times the
    flash int4 saves)."""
    return "int4 weights (the s4 kernel)" if isinstance(call, ConvCall) and call.weight_bits == 4 else ""


def choose_kernels(schedule: Schedule, board: Board) -> tuple[KernelChoice, ...]:
    """One choice per step; the steps of one op (its patches) share it and its constants. On a Helium board
    (Cortex-M55) convolutions and fully connected layers take tinyc's Helium kernel, the others the DSP ones."""
    table = {**SPECIALIZED, **HELIUM} if board.helium else SPECIALIZED
    reasons: dict[int, str] = {}
    calls: dict[int, ConvCall | FullyConnectedCall] = {}
    macs: dict[int, int] = {}
    for step in schedule.steps:
        call = step.call
        if call.kind in table and isinstance(call, (ConvCall, FullyConnectedCall)):
            calls.setdefault(call.op_index, call)
            macs[call.op_index] = macs.get(call.op_index, 0) + call.macs
            reasons[call.op_index] = reasons.get(call.op_index) or _int4_reason(call) or table[call.kind][0](step)
    by_op = {op: table[call.kind][1](call, WeightFormat.S16) if not reasons[op]
             else KernelChoice(Variant.GENERIC, reason=reasons[op]) for op, call in calls.items()}
    steps = Counter(s.call.op_index for s in schedule.steps)  # an op's steps: one inlined kernel each
    by_op = {op: replace(c, extra_flash_bytes=c.extra_flash_bytes + STEP_CODE_BYTES * steps[op])
             if c.variant is not Variant.GENERIC else c for op, c in by_op.items()}
    budget = int((1 - FLASH_HEADROOM_FRACTION) * board.flash.size_bytes) - schedule.weights_bytes \
        - code_estimate_bytes(schedule)
    fast = sorted((op for op, c in by_op.items() if c.variant is not Variant.GENERIC),
                  key=lambda op: (-macs[op] / max(by_op[op].extra_flash_bytes, 1), op))
    for op in fast:
        extra = by_op[op].extra_flash_bytes
        if extra > budget:  # int8 weights: about the generic call's flash
            by_op[op] = table[calls[op].kind][1](calls[op], WeightFormat.S8)
            if by_op[op].variant is not Variant.GENERIC:
                code = STEP_CODE_BYTES * steps[op]
                by_op[op] = replace(by_op[op], extra_flash_bytes=by_op[op].extra_flash_bytes + code)
            extra = by_op[op].extra_flash_bytes
            if extra > budget:
                by_op[op] = KernelChoice(Variant.GENERIC, reason=f"flash: its layout needs {extra:,} more bytes")
                continue
        budget -= extra
    adds: dict[int, KernelChoice] = {}
    for step in schedule.steps:
        if isinstance(step.call, AddCall) and step.call.op_index not in adds:
            choice = _fast_add(step.call)
            if choice.variant is not Variant.GENERIC:
                code = STEP_CODE_BYTES * steps[step.call.op_index]
                choice = replace(choice, extra_flash_bytes=choice.extra_flash_bytes + code)
            adds[step.call.op_index] = choice
            if adds[step.call.op_index].extra_flash_bytes > budget:
                adds[step.call.op_index] = KernelChoice(Variant.GENERIC, reason="flash: no room for its tables")
            budget -= adds[step.call.op_index].extra_flash_bytes
    return tuple(by_op.get(s.call.op_index, GENERIC) if s.call.kind in SPECIALIZED
                 else adds.get(s.call.op_index, GENERIC) if s.call.kind is KernelKind.ADD
                 else _fast_avgpool(s.call) if isinstance(s.call, PoolCall) and s.call.kind is KernelKind.AVGPOOL
                 else GENERIC for s in schedule.steps)  # a patch's block copies carry their op's index


def extra_flash_bytes(choices: tuple[KernelChoice, ...]) -> int:
    """Flash the specialized layouts add (each op's once)."""
    seen: dict[str, int] = {}
    for c in choices:
        if c.consts:
            seen[c.consts[0].name] = c.extra_flash_bytes
    return sum(seen.values())
