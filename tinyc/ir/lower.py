"""Lowering: each op of a supported `Graph` → one typed kernel call with every parameter computed.

Python decides every number here (requantization multipliers and shifts per channel, offsets,
activation clamps, padding, scratch sizes); the templates only print them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import enum
from dataclasses import dataclass, field, replace

import numpy as np

from tinyc.ir import lut, requant
from tinyc.ir.int4 import pack_int4
from tinyc.ir.lstm import LstmParams, lstm_constants_and_params, lstm_scratch_bytes
from tinyc.ir.graph import (Activation, ActivationOptions, ConvOptions, DType, Graph, LeakyReluOptions, MeanOptions, Op, OpKind,
                            Padding, PoolOptions, ResizeOptions, SliceOptions, SoftmaxOptions, SplitPartOptions, Tensor)
from tinyc.kernels import buffer_sizes
from tinyc.ir.support import (MAX_COPY_RANK, check_graph, constant_scalar_index, layer_name, slice_start, spatial_crop,
                              strided_slice_axes)


class KernelKind(enum.Enum):
    CONV = "conv"
    DEPTHWISE_CONV = "depthwise_conv"
    FULLY_CONNECTED = "fully_connected"
    ADD = "add"
    AVGPOOL = "avgpool"
    MAXPOOL = "maxpool"
    MEAN = "mean"
    SOFTMAX = "softmax"
    PAD = "pad"
    CONCAT = "concat"
    RELU = "relu"
    RESHAPE = "reshape"  # no code: the output aliases the input
    COPY = "copy"  # a block copy between buffers (patch-based schedules)
    LUT = "lut"  # a 256-entry table: any int8 op whose output depends on the int8 input alone
    MUL = "mul"
    MAXIMUM = "maximum"
    MINIMUM = "minimum"
    SUB = "sub"
    ADD_BROADCAST = "add_broadcast"  # tinyc_add_s8: ADD with broadcasting or a constant operand
    RESIZE_NEAREST = "resize_nearest"
    RESIZE_BILINEAR = "resize_bilinear"  # per axis: two indices and a 10-bit weight; 4-tap interpolation
    TRANSPOSE_CONV = "transpose_conv"  # tinyc_transpose_conv_s8: each output gathers the inputs that reach it
    LSTM = "lstm"  # tinyc_lstm_s8: a whole int8 UNIDIRECTIONAL_SEQUENCE_LSTM (tinyc.ir.lstm)
    PRELU = "prelu"  # tinyc_prelu_s8: alpha broadcast over the input (per channel)
    STRIDED_COPY = "strided_copy"  # tinyc_strided_copy_s8: SPLIT parts, TRANSPOSE, STRIDED_SLICE


@dataclass(frozen=True)
class Dims:
    """cmsis_nn_dims."""
    n: int
    h: int
    w: int
    c: int


CTYPE_BYTES = {"int8_t": 1, "int16_t": 2, "uint16_t": 2, "int32_t": 4}


@dataclass(frozen=True)
class ConstArray:
    """A constant placed in flash."""
    name: str
    ctype: str  # "int8_t", "int16_t" or "int32_t"
    values: np.ndarray = field(compare=False, repr=False)

    @property
    def size_bytes(self) -> int:
        return int(self.values.size) * CTYPE_BYTES[self.ctype]


@dataclass(frozen=True)
class Call:
    """What every kernel call has: where it came from and which activation tensors it touches."""
    kind: KernelKind
    op_index: int
    layer: str
    inputs: tuple[int, ...]  # activation tensors read
    output: int  # activation tensor written
    macs: int
    scratch_bytes: int
    consts: tuple[ConstArray, ...]

    @property
    def weights_bytes(self) -> int:
        return sum(c.size_bytes for c in self.consts)


@dataclass(frozen=True)
class ConvCall(Call):
    """arm_convolve_wrapper_s8 or arm_depthwise_conv_wrapper_s8 (kind tells which); with `weight_bits` 4, the s4
    wrappers, whose weights const holds TFLite's packed INT4 bytes (tinyc.ir.int4)."""
    input_dims: Dims
    filter_dims: Dims
    bias_dims: Dims
    output_dims: Dims
    input_offset: int
    output_offset: int
    stride_h: int
    stride_w: int
    pad_h: int
    pad_w: int
    act_min: int
    act_max: int
    ch_mult: int
    dilation_h: int = 1
    dilation_w: int = 1
    weight_bits: int = 8


@dataclass(frozen=True)
class TransposeConvCall(Call):
    """tinyc_transpose_conv_s8 (TFLM's TRANSPOSE_CONV): consts weights (out_c, kh, kw, in_c), bias, multiplier, shift."""
    input_dims: Dims
    filter_dims: Dims
    output_dims: Dims
    input_offset: int
    output_offset: int
    stride_h: int
    stride_w: int
    pad_h: int
    pad_w: int
    act_min: int
    act_max: int


@dataclass(frozen=True)
class FullyConnectedCall(Call):
    input_dims: Dims
    filter_dims: Dims
    bias_dims: Dims
    output_dims: Dims
    input_offset: int
    output_offset: int
    act_min: int
    act_max: int
    per_channel: bool
    multiplier: int  # per-tensor only
    shift: int  # per-tensor only


@dataclass(frozen=True)
class AddCall(Call):
    params: requant.AddParams
    act_min: int
    act_max: int
    block_size: int


@dataclass(frozen=True)
class PoolCall(Call):
    """arm_avgpool_s8 or arm_max_pool_s8."""
    input_dims: Dims
    filter_dims: Dims
    output_dims: Dims
    stride_h: int
    stride_w: int
    pad_h: int
    pad_w: int
    act_min: int
    act_max: int


@dataclass(frozen=True)
class MeanCall(Call):
    input_dims: Dims
    output_dims: Dims
    params: requant.MeanParams


@dataclass(frozen=True)
class SoftmaxCall(Call):
    num_rows: int
    row_size: int
    params: requant.SoftmaxParams


@dataclass(frozen=True)
class PadCall(Call):
    input_dims: Dims
    pre_pad: Dims
    post_pad: Dims
    pad_value: int


@dataclass(frozen=True)
class ConcatPart:
    tensor: int
    dims: Dims
    offset_c: int


@dataclass(frozen=True)
class ConcatCall(Call):
    parts: tuple[ConcatPart, ...]
    output_c: int


@dataclass(frozen=True)
class ReluCall(Call):
    size: int
    params: requant.ReluParams


@dataclass(frozen=True)
class LutCall(Call):
    """tinyc_lut_s8 over `size` elements: out[i] = table[in[i] + 128]; the table is the call's one constant."""
    size: int


@dataclass(frozen=True)
class BinaryCall(Call):
    """tinyc_add_s8 / tinyc_mul_s8 / tinyc_sub_s8 / tinyc_maximum_s8 / tinyc_minimum_s8 with broadcasting: the
    output's NHWC dims and, per operand, the element stride of each NHWC axis (0 where the operand broadcasts along
    it). A constant operand (a per-channel bias, a normalization) is the call's `_operand` constant, at position
    `constant_position` (0 or 1; -1: both operands are activations, in `inputs`)."""
    output_dims: Dims
    input1_strides: Dims
    input2_strides: Dims
    params: requant.MulParams | requant.SubParams | requant.PreluParams | None  # None for MAXIMUM, MINIMUM
    constant_position: int = -1

    @property
    def operands(self) -> tuple[int | None, int | None]:
        """The activation tensor of each operand position, None for the constant one."""
        if self.constant_position < 0:
            return self.inputs[0], self.inputs[1]
        return (None, self.inputs[0]) if self.constant_position == 0 else (self.inputs[0], None)


@dataclass(frozen=True)
class ResizeCall(Call):
    """tinyc_resize_nearest_s8: the call's one constant holds output_dims.h row then output_dims.w column indices;
    tinyc_resize_bilinear_s8: output_dims.h (y0, y1, wy) then output_dims.w (x0, x1, wx) triples (`bilinear_taps`)."""
    input_dims: Dims
    output_dims: Dims


@dataclass(frozen=True)
class StridedCopyCall(Call):
    """tinyc_strided_copy_s8: output element (a, b, c, d) of `output_dims` (dense) is input element
    base + a*steps.n + b*steps.h + c*steps.w + d*steps.c (steps in elements, negative for a reversed axis)."""
    output_dims: Dims
    base: int
    steps: Dims


@dataclass(frozen=True)
class ReshapeCall(Call):
    pass


@dataclass(frozen=True)
class LstmCall(Call):
    """tinyc_lstm_s8: consts weights, bias, multiplier, shift, table (tinyc.ir.lstm.LstmConstants)."""
    params: LstmParams


@dataclass(frozen=True)
class CopyCall(Call):
    """rows x cols x channels from (src_y, src_x) of a src_w-wide buffer to (dst_y, dst_x) of a dst_w-wide one."""
    src_w: int
    src_y: int
    src_x: int
    dst_w: int
    dst_y: int
    dst_x: int
    rows: int
    cols: int
    channels: int


@dataclass(frozen=True)
class LoweredModel:
    graph: Graph
    calls: tuple[Call, ...]
    input: int
    output: int
    helium: bool = False  # the scratch reserved also covers CMSIS-NN's Helium (MVE) kernels (a Cortex-M55 board)

    @property
    def weights_bytes(self) -> int:
        return sum(c.weights_bytes for c in self.calls)

    @property
    def macs(self) -> int:
        return sum(c.macs for c in self.calls)


# --- helpers ---------------------------------------------------------------------------------------

def _nhwc(t: Tensor) -> Dims:
    s = t.shape
    if len(s) == 4:
        return Dims(*s)
    if len(s) == 2:
        return Dims(s[0], 1, 1, s[1])
    flat = int(np.prod(s[1:])) if len(s) > 1 else int(np.prod(s))
    return Dims(1, 1, 1, flat)


def _pad(padding: Padding, stride: int, in_size: int, filter_size: int, out_size: int, dilation: int = 1) -> int:
    """TFLite's ComputePadding: the top / left padding; bottom / right follows from sizes."""
    if padding is Padding.VALID:
        return 0
    return max(0, ((out_size - 1) * stride + (filter_size - 1) * dilation + 1 - in_size) // 2)


def _act(activation: Activation, out: Tensor) -> tuple[int, int]:
    return requant.activation_range(activation.value, out.scale, out.zero_point)


def conv_scratch_bytes(*, depthwise: bool, input_dims: Dims, filter_hw: tuple[int, int], output_dims: Dims,
                       stride_hw: tuple[int, int], padding_hw: tuple[int, int],
                       dilation_hw: tuple[int, int] = (1, 1), int4: bool = False, helium: bool = False) -> int:
    """The scratch CMSIS-NN's conv / depthwise wrapper asks for (what the planner reserves); `int4`: the s4
    wrappers'; `helium`: the larger of its DSP and its MVE build's (int8 weights)."""
    nhwc_in = (input_dims.n, input_dims.h, input_dims.w, input_dims.c)
    nhwc_out = (output_dims.n, output_dims.h, output_dims.w, output_dims.c)
    if int4:
        s4 = buffer_sizes.depthwise_s4_scratch_bytes if depthwise else buffer_sizes.conv_s4_scratch_bytes
        return s4(input_nhwc=nhwc_in, filter_hw=filter_hw, output_nhwc=nhwc_out, stride_hw=stride_hw,
                  padding_hw=padding_hw, dilation_hw=dilation_hw)
    scratch = buffer_sizes.depthwise_scratch_bytes if depthwise else buffer_sizes.conv_scratch_bytes
    return scratch(input_nhwc=nhwc_in, filter_hw=filter_hw, output_nhwc=nhwc_out, stride_hw=stride_hw,
                   padding_hw=padding_hw, dilation_hw=dilation_hw, helium=helium)


def helium_scratch(call: Call) -> Call:
    """The call with the scratch CMSIS-NN's kernels ask for when built for MVE too (the larger of the two)."""
    if isinstance(call, ConvCall) and call.kind in (KernelKind.CONV, KernelKind.DEPTHWISE_CONV):
        scratch = conv_scratch_bytes(depthwise=call.kind is KernelKind.DEPTHWISE_CONV, input_dims=call.input_dims,
                                     filter_hw=(call.filter_dims.h, call.filter_dims.w), output_dims=call.output_dims,
                                     stride_hw=(call.stride_h, call.stride_w), padding_hw=(call.pad_h, call.pad_w),
                                     dilation_hw=(call.dilation_h, call.dilation_w), helium=True)
    elif isinstance(call, FullyConnectedCall):
        scratch = buffer_sizes.fully_connected_scratch_bytes(accum_depth=call.filter_dims.n,
                                                             output_depth=call.output_dims.c, helium=True)
    else:
        return call
    return replace(call, scratch_bytes=max(call.scratch_bytes, scratch))


def _bias(graph: Graph, op: Op, channels: int, name: str) -> ConstArray:
    """The bias, or zeros when the converter dropped an all-zero bias (input index -1)."""
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        values = np.asarray(graph.tensor(op.inputs[2]).data, dtype=np.int32).reshape(-1)
    else:
        values = np.zeros(channels, dtype=np.int32)
    return ConstArray(f"{name}_bias", "int32_t", values)


def _requant_arrays(graph: Graph, op: Op, name: str, channels: int) -> tuple[ConstArray, ConstArray]:
    w = graph.tensor(op.inputs[1])
    assert w.quant is not None
    scales = w.quant.scales if w.quant.per_channel else w.quant.scales * channels
    mults, shifts = requant.conv_multipliers(graph.tensor(op.inputs[0]).scale, scales, graph.tensor(op.outputs[0]).scale)
    return (ConstArray(f"{name}_multiplier", "int32_t", np.asarray(mults, dtype=np.int32)),
            ConstArray(f"{name}_shift", "int32_t", np.asarray(shifts, dtype=np.int32)))


def _base(graph: Graph, op: Op, kind: KernelKind, *, inputs: tuple[int, ...] | None = None,
          scratch_bytes: int = 0, consts: tuple[ConstArray, ...] = ()) -> dict[str, Any]:
    return dict(kind=kind, op_index=op.index, layer=layer_name(graph, op),
                inputs=inputs if inputs is not None else op.inputs[:1], output=op.outputs[0],
                macs=graph.op_macs(op), scratch_bytes=scratch_bytes, consts=consts)


# --- one function per op kind ----------------------------------------------------------------------

def _conv(graph: Graph, op: Op) -> Call:
    assert isinstance(op.options, ConvOptions)
    o = op.options
    depthwise = op.kind is OpKind.DEPTHWISE_CONV_2D
    x, w, y = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    name = f"op{op.index}"
    in_dims, out_dims = _nhwc(x), _nhwc(y)
    kh, kw = w.shape[1], w.shape[2]
    filter_dims = Dims(1, kh, kw, out_dims.c) if depthwise else Dims(out_dims.c, kh, kw, in_dims.c)
    int4 = w.dtype is DType.INT4
    values = pack_int4(np.asarray(w.data)).view(np.int8) if int4 else np.asarray(w.data, dtype=np.int8).reshape(-1)
    weights = ConstArray(f"{name}_weights", "int8_t", values)
    mults, shifts = _requant_arrays(graph, op, name, out_dims.c)
    pad_h = _pad(o.padding, o.stride_h, in_dims.h, kh, out_dims.h, o.dilation_h)
    pad_w = _pad(o.padding, o.stride_w, in_dims.w, kw, out_dims.w, o.dilation_w)
    scratch = conv_scratch_bytes(depthwise=depthwise, input_dims=in_dims, filter_hw=(kh, kw), output_dims=out_dims,
                                 stride_hw=(o.stride_h, o.stride_w), padding_hw=(pad_h, pad_w),
                                 dilation_hw=(o.dilation_h, o.dilation_w), int4=int4)
    act_min, act_max = _act(o.activation, y)
    kind = KernelKind.DEPTHWISE_CONV if depthwise else KernelKind.CONV
    return ConvCall(**_base(graph, op, kind, scratch_bytes=scratch,
                            consts=(weights, _bias(graph, op, out_dims.c, name), mults, shifts)),
                    input_dims=in_dims, filter_dims=filter_dims, bias_dims=Dims(1, 1, 1, out_dims.c),
                    output_dims=out_dims, input_offset=-x.zero_point, output_offset=y.zero_point,
                    stride_h=o.stride_h, stride_w=o.stride_w, pad_h=pad_h, pad_w=pad_w,
                    act_min=act_min, act_max=act_max, ch_mult=out_dims.c // in_dims.c if depthwise else 1,
                    dilation_h=o.dilation_h, dilation_w=o.dilation_w, weight_bits=4 if int4 else 8)


def _transpose_pad(padding: Padding, stride: int, in_size: int, filter_size: int, out_size: int) -> int:
    """TFLM's TRANSPOSE_CONV padding: ComputePaddingHeightWidth run from the output (the larger map) back to the
    size a convolution of it would have."""
    conv_size = (out_size + stride - 1) // stride if padding is Padding.SAME else (out_size - filter_size + stride) // stride
    return max(0, (conv_size - 1) * stride + filter_size - out_size) // 2


def _transpose_conv(graph: Graph, op: Op) -> Call:
    assert isinstance(op.options, ConvOptions)
    o = op.options
    x, w, y = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    name = f"op{op.index}"
    in_dims, out_dims = _nhwc(x), _nhwc(y)
    out_c, kh, kw, _ = w.shape
    weights = ConstArray(f"{name}_weights", "int8_t", np.asarray(w.data, dtype=np.int8).reshape(-1))
    mults, shifts = _requant_arrays(graph, op, name, out_c)
    act_min, act_max = _act(o.activation, y)
    return TransposeConvCall(**_base(graph, op, KernelKind.TRANSPOSE_CONV,
                                     consts=(weights, _bias(graph, op, out_c, name), mults, shifts)),
                             input_dims=in_dims, filter_dims=Dims(out_c, kh, kw, in_dims.c), output_dims=out_dims,
                             input_offset=-x.zero_point, output_offset=y.zero_point, stride_h=o.stride_h,
                             stride_w=o.stride_w, pad_h=_transpose_pad(o.padding, o.stride_h, in_dims.h, kh, out_dims.h),
                             pad_w=_transpose_pad(o.padding, o.stride_w, in_dims.w, kw, out_dims.w), act_min=act_min,
                             act_max=act_max)


def _fully_connected(graph: Graph, op: Op) -> Call:
    x, w, y = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    out_c, accum = w.shape
    name = f"op{op.index}"
    assert w.quant is not None
    per_channel = w.quant.per_channel
    weights = ConstArray(f"{name}_weights", "int8_t", np.asarray(w.data, dtype=np.int8).reshape(-1))
    consts: tuple[ConstArray, ...] = (weights, _bias(graph, op, out_c, name))
    multiplier = shift = 0
    if per_channel:
        consts += _requant_arrays(graph, op, name, out_c)
    else:
        multiplier, shift = requant.fully_connected_multiplier(x.scale, w.quant.scales[0], y.scale)
    act_min, act_max = _act(op.options.activation, y)  # type: ignore[union-attr]
    batches = x.num_elements // accum
    scratch = buffer_sizes.fully_connected_scratch_bytes(accum_depth=accum, output_depth=out_c)
    return FullyConnectedCall(**_base(graph, op, KernelKind.FULLY_CONNECTED, scratch_bytes=scratch, consts=consts),
                              input_dims=Dims(batches, 1, 1, accum), filter_dims=Dims(accum, 1, 1, out_c),
                              bias_dims=Dims(1, 1, 1, out_c), output_dims=Dims(batches, 1, 1, out_c),
                              input_offset=-x.zero_point, output_offset=y.zero_point, act_min=act_min,
                              act_max=act_max, per_channel=per_channel, multiplier=multiplier, shift=shift)


def _add(graph: Graph, op: Op) -> Call:
    assert isinstance(op.options, ActivationOptions)
    position = constant_scalar_index(graph, op)
    if position is not None:
        return _lut_call(graph, op, _constant_scalar_table(graph, op, position), op.inputs[1 - position])
    a, b, y = (graph.tensor(i) for i in (*op.inputs[:2], op.outputs[0]))
    if a.shape != y.shape or b.shape != y.shape or a.is_constant or b.is_constant:
        return _binary(graph, op)
    params = requant.add_params(a.scale, a.zero_point, b.scale, b.zero_point, y.scale, y.zero_point)
    act_min, act_max = _act(op.options.activation, y)
    return AddCall(**_base(graph, op, KernelKind.ADD, inputs=op.inputs[:2]), params=params,
                   act_min=act_min, act_max=act_max, block_size=y.num_elements)


def _pool(graph: Graph, op: Op) -> Call:
    assert isinstance(op.options, PoolOptions)
    o = op.options
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    in_dims, out_dims = _nhwc(x), _nhwc(y)
    average = op.kind is OpKind.AVERAGE_POOL_2D
    scratch = buffer_sizes.avgpool_scratch_bytes(output_w=out_dims.w, channels=in_dims.c) if average else 0
    act_min, act_max = _act(o.activation, y)
    return PoolCall(**_base(graph, op, KernelKind.AVGPOOL if average else KernelKind.MAXPOOL, scratch_bytes=scratch),
                    input_dims=in_dims, filter_dims=Dims(1, o.filter_h, o.filter_w, 1), output_dims=out_dims,
                    stride_h=o.stride_h, stride_w=o.stride_w,
                    pad_h=_pad(o.padding, o.stride_h, in_dims.h, o.filter_h, out_dims.h),
                    pad_w=_pad(o.padding, o.stride_w, in_dims.w, o.filter_w, out_dims.w),
                    act_min=act_min, act_max=act_max)


def _mean(graph: Graph, op: Op) -> Call:
    assert isinstance(op.options, MeanOptions)
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    in_dims = Dims(x.shape[0], x.shape[1], 1, x.shape[2]) if len(x.shape) == 3 else _nhwc(x)  # NWC: W as H
    params = requant.mean_params(input_scale=x.scale, input_zero_point=x.zero_point, output_scale=y.scale,
                               output_zero_point=y.zero_point, num_elements=in_dims.h * in_dims.w)
    return MeanCall(**_base(graph, op, KernelKind.MEAN), input_dims=in_dims,
                    output_dims=Dims(1, 1, 1, in_dims.c), params=params)


def _softmax(graph: Graph, op: Op) -> Call:
    assert isinstance(op.options, SoftmaxOptions)
    x = graph.tensor(op.inputs[0])
    row_size = x.shape[-1]
    return SoftmaxCall(**_base(graph, op, KernelKind.SOFTMAX), num_rows=x.num_elements // row_size,
                       row_size=row_size, params=requant.softmax_params(x.scale, op.options.beta))


def _pad_op(graph: Graph, op: Op) -> Call:
    """A 3-D NWC tensor (Conv1D's) pads as the 4-D (N, 1, W, C)."""
    x, p, y = graph.tensor(op.inputs[0]), graph.tensor(op.inputs[1]), graph.tensor(op.outputs[0])
    pads = np.asarray(p.data).tolist()
    if len(x.shape) == 3:
        x, pads = replace(x, shape=(x.shape[0], 1, *x.shape[1:])), [pads[0], [0, 0], *pads[1:]]
    return PadCall(**_base(graph, op, KernelKind.PAD), input_dims=_nhwc(x),
                   pre_pad=Dims(*(int(b) for b, _ in pads)), post_pad=Dims(*(int(a) for _, a in pads)),
                   pad_value=y.zero_point)


def _concat(graph: Graph, op: Op) -> Call:
    parts, offset = [], 0
    for i in op.inputs:
        dims = _nhwc(graph.tensor(i))
        parts.append(ConcatPart(tensor=i, dims=dims, offset_c=offset))
        offset += dims.c
    return ConcatCall(**_base(graph, op, KernelKind.CONCAT, inputs=op.inputs), parts=tuple(parts), output_c=offset)


def _relu(graph: Graph, op: Op) -> Call:
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    params = requant.relu_params(activation="RELU6" if op.kind is OpKind.RELU6 else "RELU",
                               input_scale=x.scale, input_zero_point=x.zero_point,
                               output_scale=y.scale, output_zero_point=y.zero_point)
    return ReluCall(**_base(graph, op, KernelKind.RELU), size=y.num_elements, params=params)


def _table_const(op: Op, table: lut.Table) -> ConstArray:
    return ConstArray(f"op{op.index}_table", "int8_t", np.asarray(table, dtype=np.int8))


def _lut_call(graph: Graph, op: Op, table: lut.Table, data_input: int) -> Call:
    return LutCall(**_base(graph, op, KernelKind.LUT, inputs=(data_input,), consts=(_table_const(op, table),)),
                   size=graph.tensor(op.outputs[0]).num_elements)


def _leaky_relu_table(x: Tensor, y: Tensor, op: Op) -> lut.Table:
    assert isinstance(op.options, LeakyReluOptions)
    return lut.leaky_relu_table(x.scale, x.zero_point, y.scale, y.zero_point, op.options.alpha)


# One-input ops whose int8 output depends on the int8 input alone: (input, output, op) -> the op's table.
_ACTIVATION_TABLES: dict[OpKind, Callable[[Tensor, Tensor, Op], lut.Table]] = {
    OpKind.LOGISTIC: lambda x, y, op: lut.logistic_table(x.scale, x.zero_point),
    OpKind.TANH: lambda x, y, op: lut.tanh_table(x.scale, x.zero_point),
    OpKind.HARD_SWISH: lambda x, y, op: lut.hard_swish_table(x.scale, x.zero_point, y.scale, y.zero_point),
    OpKind.QUANTIZE: lambda x, y, op: lut.requantize_table(x.scale, x.zero_point, y.scale, y.zero_point),
    OpKind.LEAKY_RELU: _leaky_relu_table,
}


def _lut_activation(graph: Graph, op: Op) -> Call:
    table = _ACTIVATION_TABLES[op.kind](graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0]), op)
    return _lut_call(graph, op, table, op.inputs[0])


def _raw_pick(pick: Callable[[int, int], int]) -> Callable[..., lut.Table]:
    """MAXIMUM / MINIMUM with a constant: TFLM compares the raw int8 values."""
    return lambda x_scale, x_zero_point, value, *rest, **flags: tuple(pick(v, value) for v in lut.INT8_VALUES)


# Binary ops with a constant scalar operand -> the table builder of tinyc.ir.lut (input scale and zero point, the
# constant's value, scale and zero point, output scale and zero point, fused activation, constant_first=...).
_CONSTANT_SCALAR_TABLES: dict[OpKind, Callable[..., lut.Table]] = {
    OpKind.ADD: lut.add_constant_table,
    OpKind.SUB: lut.sub_constant_table,
    OpKind.MUL: lambda *args, constant_first: lut.mul_constant_table(*args),  # commutative
    OpKind.MAXIMUM: _raw_pick(max),
    OpKind.MINIMUM: _raw_pick(min),
}


def _constant_scalar_table(graph: Graph, op: Op, position: int) -> lut.Table:
    """The table of a binary op whose operand at `position` is a constant scalar."""
    c, x, y = graph.tensor(op.inputs[position]), graph.tensor(op.inputs[1 - position]), graph.tensor(op.outputs[0])
    value = int(np.asarray(c.data).reshape(-1)[0])
    activation = getattr(op.options, "activation", Activation.NONE).value
    return _CONSTANT_SCALAR_TABLES[op.kind](x.scale, x.zero_point, value, c.scale, c.zero_point, y.scale,
                                            y.zero_point, activation, constant_first=position == 0)


def _strides(shape: tuple[int, ...], out: Dims) -> Dims:
    """Element strides of each NHWC axis of an operand of `shape` broadcast to `out` (0 along broadcast axes)."""
    padded = (1,) * (4 - len(shape)) + tuple(shape)
    strides, step = [0, 0, 0, 0], 1
    for axis in range(3, -1, -1):
        strides[axis] = step if padded[axis] != 1 or (out.n, out.h, out.w, out.c)[axis] == 1 else 0
        step *= padded[axis]
    return Dims(*strides)


_BINARY_KINDS = {OpKind.PRELU: KernelKind.PRELU, OpKind.ADD: KernelKind.ADD_BROADCAST, OpKind.MUL: KernelKind.MUL, OpKind.SUB: KernelKind.SUB, OpKind.MAXIMUM: KernelKind.MAXIMUM,
                 OpKind.MINIMUM: KernelKind.MINIMUM}
# The requantization parameters of the binary kernels that rescale (MAXIMUM and MINIMUM compare raw values).
_BINARY_PARAMS: dict[OpKind, Callable[..., requant.MulParams | requant.SubParams]] = {
    OpKind.MUL: requant.mul_params, OpKind.SUB: requant.sub_params, OpKind.ADD: requant.broadcast_add_params}


def _binary(graph: Graph, op: Op) -> Call:
    """ADD, MUL, SUB, MAXIMUM, MINIMUM: a table when one operand is a constant scalar, else the broadcasting kernel
    (an operand may be a constant tensor: it is placed in flash)."""
    position = constant_scalar_index(graph, op)
    if position is not None and op.kind in _CONSTANT_SCALAR_TABLES:
        return _lut_call(graph, op, _constant_scalar_table(graph, op, position), op.inputs[1 - position])
    a, b, y = (graph.tensor(i) for i in (*op.inputs[:2], op.outputs[0]))
    padded = (1,) * (4 - len(y.shape)) + tuple(y.shape)
    out_dims = Dims(*padded)
    params: requant.MulParams | requant.SubParams | requant.PreluParams | None = None
    if op.kind is OpKind.PRELU:
        params = requant.prelu_params(input_scale=a.scale, input_zero_point=a.zero_point, alpha_scale=b.scale,
                                      alpha_zero_point=b.zero_point, output_scale=y.scale,
                                      output_zero_point=y.zero_point)
    elif op.kind in _BINARY_PARAMS:
        params = _BINARY_PARAMS[op.kind](
            input1_scale=a.scale, input1_zero_point=a.zero_point, input2_scale=b.scale, input2_zero_point=b.zero_point,
            output_scale=y.scale, output_zero_point=y.zero_point,
            activation=getattr(op.options, "activation", Activation.NONE).value)
    constant = 0 if a.is_constant else 1 if b.is_constant else -1
    consts: tuple[ConstArray, ...] = ()
    if constant >= 0:
        values = np.asarray(graph.tensor(op.inputs[constant]).data, dtype=np.int8).reshape(-1)
        consts = (ConstArray(f"op{op.index}_operand", "int8_t", values),)
    activations = tuple(i for k, i in enumerate(op.inputs[:2]) if k != constant)
    return BinaryCall(**_base(graph, op, _BINARY_KINDS[op.kind], inputs=activations, consts=consts),
                      output_dims=out_dims, input1_strides=_strides(a.shape, out_dims),
                      input2_strides=_strides(b.shape, out_dims), params=params, constant_position=constant)


def nearest_indices(in_size: int, out_size: int, options: ResizeOptions) -> list[int]:
    """The input row (or column) each output row reads: exact repetition for a folded UpSampling2D, else TFLite's
    GetNearestNeighbor in float32 (scale = in / out, or (in - 1) / (out - 1) with align_corners; + 0.5 with
    half_pixel_centers; floor, or round half away from zero with align_corners; clamped to the input)."""
    if options.repeat:
        return [y * in_size // out_size for y in range(out_size)]
    f32 = np.float32
    if options.align_corners and out_size > 1:
        scale = f32(in_size - 1) / f32(out_size - 1)
    else:
        scale = f32(in_size) / f32(out_size)
    offset = f32(0.5) if options.half_pixel_centers else f32(0.0)
    indices = []
    for y in range(out_size):
        value = f32(f32(y) + offset) * scale
        index = int(np.sign(value) * np.floor(abs(value) + 0.5)) if options.align_corners else int(np.floor(value))
        index = min(index, in_size - 1)
        indices.append(max(0, index) if options.half_pixel_centers else index)
    return indices


def _resize_nearest(graph: Graph, op: Op) -> Call:
    assert isinstance(op.options, ResizeOptions)
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    in_dims, out_dims = _nhwc(x), _nhwc(y)
    index = (nearest_indices(in_dims.h, out_dims.h, op.options) + nearest_indices(in_dims.w, out_dims.w, op.options))
    table = ConstArray(f"op{op.index}_table", "int16_t", np.asarray(index, dtype=np.int16))
    return ResizeCall(**_base(graph, op, KernelKind.RESIZE_NEAREST, consts=(table,)), input_dims=in_dims,
                      output_dims=out_dims)


def _trunc_div(a: int, b: int) -> int:
    """C's integer division (toward zero)."""
    q = abs(a) // b
    return q if a >= 0 else -q


def bilinear_taps(in_size: int, out_size: int, options: ResizeOptions) -> list[tuple[int, int, int]]:
    """Per output row (or column): the two input rows read and the weight of the second in 1/1024 (TFLite's
    ResizeBilinearInteger: a 10-bit fixed-point scale, rounded to nearest; half_pixel_centers shifts by half a pixel;
    the lower index clamped at 0, the upper at the last row)."""
    if options.align_corners and out_size > 1:
        scale_10 = ((1 << 10) * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    else:
        scale_10 = ((1 << 10) * in_size + out_size // 2) // out_size
    taps = []
    for y in range(out_size):
        scaled = y * scale_10 + (scale_10 // 2 - (1 << 9) if options.half_pixel_centers else 0)
        low = max(_trunc_div(scaled, 1 << 10), 0)
        high = min(_trunc_div(scaled + (1 << 10) - 1, 1 << 10), in_size - 1)
        taps.append((low, high, scaled - (1 << 10) * low))
    return taps


def _resize_bilinear(graph: Graph, op: Op) -> Call:
    assert isinstance(op.options, ResizeOptions)
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    in_dims, out_dims = _nhwc(x), _nhwc(y)
    taps = bilinear_taps(in_dims.h, out_dims.h, op.options) + bilinear_taps(in_dims.w, out_dims.w, op.options)
    table = ConstArray(f"op{op.index}_table", "int16_t", np.asarray(taps, dtype=np.int16).reshape(-1))
    return ResizeCall(**_base(graph, op, KernelKind.RESIZE_BILINEAR, consts=(table,)), input_dims=in_dims,
                      output_dims=out_dims)


def _crop(graph: Graph, op: Op) -> Call:
    """Cropping2D's STRIDED_SLICE: one block copy from where the slice starts."""
    x, y = _nhwc(graph.tensor(op.inputs[0])), _nhwc(graph.tensor(op.outputs[0]))
    start = slice_start(graph, op)
    assert start is not None
    return CopyCall(**_base(graph, op, KernelKind.COPY), src_w=x.w, src_y=start[1], src_x=start[2], dst_w=y.w,
                    dst_y=0, dst_x=0, rows=y.h, cols=y.w, channels=y.c)


def _element_strides(shape: tuple[int, ...]) -> list[int]:
    """Row-major element strides of `shape`, with leading unit axes up to four dimensions."""
    padded = [1] * (MAX_COPY_RANK - len(shape)) + list(shape)
    strides, step = [0] * MAX_COPY_RANK, 1
    for k in range(MAX_COPY_RANK - 1, -1, -1):
        strides[k], step = step, step * padded[k]
    return strides


def _strided_copy(graph: Graph, op: Op, counts: list[int], base: int, steps: list[int]) -> Call:
    lead = MAX_COPY_RANK - len(counts)
    return StridedCopyCall(**_base(graph, op, KernelKind.STRIDED_COPY), output_dims=Dims(*([1] * lead + counts)),
                           base=base, steps=Dims(*([0] * lead + steps)))


def _split_part(graph: Graph, op: Op) -> Call:
    """One output of a split: the input block from the part's offset along its axis."""
    assert isinstance(op.options, SplitPartOptions)
    x = graph.tensor(op.inputs[0]).shape
    strides = _element_strides(x)[MAX_COPY_RANK - len(x):]
    return _strided_copy(graph, op, list(graph.tensor(op.outputs[0]).shape),
                         op.options.offset * strides[op.options.axis], strides)


def _transpose(graph: Graph, op: Op) -> Call:
    """Output axis k walks input axis perm[k]."""
    x = graph.tensor(op.inputs[0]).shape
    perm = [int(v) for v in np.asarray(graph.tensor(op.inputs[1]).data).reshape(-1)]
    strides = _element_strides(x)[MAX_COPY_RANK - len(x):]
    return _strided_copy(graph, op, [x[k] for k in perm], 0, [strides[k] for k in perm])


def _strided_slice(graph: Graph, op: Op) -> Call:
    """A crop of height and width: one block copy; any other slice: a strided copy (shrink axes count 1)."""
    if spatial_crop(graph, op)[0]:
        return _crop(graph, op)
    axes = strided_slice_axes(graph, op)
    assert axes is not None and isinstance(op.options, SliceOptions)
    strides = _element_strides(graph.tensor(op.inputs[0]).shape)[MAX_COPY_RANK - len(axes):]
    return _strided_copy(graph, op, [a.count for a in axes], sum(a.start * s for a, s in zip(axes, strides)),
                         [a.stride * s for a, s in zip(axes, strides)])


def _reshape(graph: Graph, op: Op) -> Call:
    return ReshapeCall(**_base(graph, op, KernelKind.RESHAPE))


def _lstm(graph: Graph, op: Op) -> Call:
    params, c = lstm_constants_and_params(graph, op)
    name = f"op{op.index}"
    consts = (ConstArray(f"{name}_weights", "int8_t", c.weights), ConstArray(f"{name}_bias", "int32_t", c.bias),
              ConstArray(f"{name}_multiplier", "int32_t", c.multiplier), ConstArray(f"{name}_shift", "int32_t", c.shift),
              ConstArray(f"{name}_table", "int16_t", c.table))
    return LstmCall(**_base(graph, op, KernelKind.LSTM, scratch_bytes=lstm_scratch_bytes(params.features, params.units), consts=consts),
                    params=params)


_LOWERINGS = {
    OpKind.CONV_2D: _conv, OpKind.DEPTHWISE_CONV_2D: _conv, OpKind.FULLY_CONNECTED: _fully_connected,
    OpKind.ADD: _add, OpKind.AVERAGE_POOL_2D: _pool, OpKind.MAX_POOL_2D: _pool, OpKind.MEAN: _mean,
    OpKind.SOFTMAX: _softmax, OpKind.PAD: _pad_op, OpKind.CONCATENATION: _concat, OpKind.RELU: _relu,
    OpKind.RELU6: _relu, OpKind.RESHAPE: _reshape, OpKind.LEAKY_RELU: _lut_activation,
    OpKind.LOGISTIC: _lut_activation, OpKind.TANH: _lut_activation, OpKind.HARD_SWISH: _lut_activation,
    OpKind.QUANTIZE: _lut_activation, OpKind.MUL: _binary, OpKind.SUB: _binary, OpKind.MAXIMUM: _binary,
    OpKind.MINIMUM: _binary, OpKind.EXPAND_DIMS: _reshape, OpKind.SQUEEZE: _reshape,
    OpKind.RESIZE_NEAREST_NEIGHBOR: _resize_nearest, OpKind.PRELU: _binary,
    OpKind.RESIZE_BILINEAR: _resize_bilinear, OpKind.TRANSPOSE_CONV: _transpose_conv,
    OpKind.STRIDED_SLICE: _strided_slice, OpKind.SPLIT: _split_part, OpKind.SPLIT_V: _split_part,
    OpKind.TRANSPOSE: _transpose, OpKind.UNIDIRECTIONAL_SEQUENCE_LSTM: _lstm,
}


def lower(graph: Graph, *, helium: bool = False) -> LoweredModel:
    """Check support, then lower every op to its kernel call, in graph order; `helium` (a Cortex-M55 board): the
    scratch of each call also what CMSIS-NN's MVE build asks for."""
    check_graph(graph)
    calls = tuple(_LOWERINGS[op.kind](graph, op) for op in graph.ops)
    if helium:
        calls = tuple(helium_scratch(c) for c in calls)
    return LoweredModel(graph=graph, calls=calls, input=graph.inputs[0], output=graph.outputs[0], helium=helium)
