"""What tinyc lowers, as data: one small function per rule.

Each rule's docstring is the sentence shown to users (and written to SUPPORTED_OPS.md); it returns
`(ok, detail)` where detail names the tensor or value at fault. `check_graph()` runs every rule that
applies and raises one `UnsupportedModelError` naming each failing op and its layer.
"""

from __future__ import annotations

import re

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tinyc.errors import UnsupportedModelError
from tinyc.ir.graph import (Activation, ActivationOptions, ConvOptions, DType, GateActivation, Graph, LstmOptions, Op,
                            OpKind, SliceOptions, SplitPartOptions)

Rule = Callable[[Graph, Op], tuple[bool, str]]


@dataclass(frozen=True)
class OpSupport:
    kind: OpKind
    keras_layers: str
    cmsis_nn_call: str
    rules: tuple[Rule, ...]


def _t(graph: Graph, index: int) -> str:
    return repr(graph.tensor(index).name)


# --- generic rules ---------------------------------------------------------------------------------

def int8_activations(graph: Graph, op: Op) -> tuple[bool, str]:
    """Activation inputs and outputs are int8 (full-integer quantization)."""
    for i in (*op.inputs[:1], *op.outputs):
        t = graph.tensor(i)
        if t.dtype is not DType.INT8:
            return False, f"tensor {t.name!r} is {t.dtype.value}"
    return True, ""


def quantized_tensors(graph: Graph, op: Op) -> tuple[bool, str]:
    """Every non-constant input and output carries int8 quantization parameters."""
    for i in (*op.inputs, *op.outputs):
        if i >= 0 and not graph.tensor(i).is_constant and graph.tensor(i).quant is None:
            return False, f"tensor {graph.tensor(i).name!r} has no quantization parameters"
    return True, ""


def batch_one(graph: Graph, op: Op) -> tuple[bool, str]:
    """The batch size is 1."""
    for i in op.outputs:
        shape = graph.tensor(i).shape
        if shape and shape[0] != 1:
            return False, f"tensor {graph.tensor(i).name!r} has batch {shape[0]}"
    return True, ""


def fused_activation_known(graph: Graph, op: Op) -> tuple[bool, str]:
    """The fused activation is NONE, RELU, RELU6 or RELU_N1_TO_1."""
    activation = getattr(op.options, "activation", Activation.NONE)
    return activation is not Activation.OTHER, f"activation {activation.value}"


def rank4_nhwc(graph: Graph, op: Op) -> tuple[bool, str]:
    """Input and output feature maps are 4-D NHWC."""
    for i in (op.inputs[0], op.outputs[0]):
        if len(graph.tensor(i).shape) != 4:
            return False, f"tensor {_t(graph, i)} has shape {graph.tensor(i).shape}"
    return True, ""


# --- op-specific rules -----------------------------------------------------------------------------

def constant_int8_weights(graph: Graph, op: Op) -> tuple[bool, str]:
    """Weights are constant int8 with zero point 0 (symmetric), per tensor or per output channel."""
    w = graph.tensor(op.inputs[1])
    if not w.is_constant or w.dtype is not DType.INT8 or w.quant is None:
        return False, f"weights {w.name!r} are not constant int8"
    if any(z != 0 for z in w.quant.zero_points):
        return False, f"weights {w.name!r} have a non-zero zero point"
    return True, ""


def constant_int8_or_int4_weights(graph: Graph, op: Op) -> tuple[bool, str]:
    """Weights are constant int8, or int4 per output channel (TFLite's packed INT4, `--weights int4`), with zero
    point 0 (symmetric)."""
    w = graph.tensor(op.inputs[1])
    if w.dtype is DType.INT4:
        if w.quant is None or (not w.quant.per_channel and w.shape[w.quant.axis] != 1):
            return False, f"int4 weights {w.name!r} are not quantized per output channel"
        if any(z != 0 for z in w.quant.zero_points):
            return False, f"weights {w.name!r} have a non-zero zero point"
        return True, ""
    return constant_int8_weights(graph, op)


def constant_int32_bias(graph: Graph, op: Op) -> tuple[bool, str]:
    """The bias, when present, is constant int32."""
    if len(op.inputs) < 3 or op.inputs[2] < 0:
        return True, ""
    b = graph.tensor(op.inputs[2])
    return b.is_constant and b.dtype is DType.INT32, f"bias {b.name!r} is {b.dtype.value}"


def depthwise_channels_multiple(graph: Graph, op: Op) -> tuple[bool, str]:
    """Depthwise convolutions have a whole depth multiplier (output channels a multiple of the input's; each input
    channel feeds `depth_multiplier` consecutive output channels)."""
    w = graph.tensor(op.inputs[1])
    c_in = graph.tensor(op.inputs[0]).shape[3]
    return (c_in > 0 and w.shape[3] % c_in == 0, f"{w.shape[3]} output channels for {c_in} input channels")


def same_input_output_quant(graph: Graph, op: Op) -> tuple[bool, str]:
    """Input and output share scale and zero point."""
    data_inputs = op.inputs if op.kind is OpKind.CONCATENATION else op.inputs[:1]
    out = graph.tensor(op.outputs[0]).quant
    for i in data_inputs:
        if graph.tensor(i).quant != out:
            return False, f"tensor {_t(graph, i)} is quantized differently from the output"
    return True, ""


def same_shape_operands(graph: Graph, op: Op) -> tuple[bool, str]:
    """Both operands have the output's shape (no broadcasting)."""
    out = graph.tensor(op.outputs[0]).shape
    for i in op.inputs:
        if graph.tensor(i).shape != out:
            return False, f"tensor {_t(graph, i)} has shape {graph.tensor(i).shape}, output {out}"
    return True, ""


def _is_constant_scalar(graph: Graph, index: int) -> bool:
    t = graph.tensor(index)
    return t.is_constant and t.num_elements == 1


def constant_scalar_index(graph: Graph, op: Op) -> int | None:
    """The position (0 or 1) of a binary op's constant scalar operand, or None when both are activations."""
    for position in (1, 0):
        if _is_constant_scalar(graph, op.inputs[position]) and not _is_constant_scalar(graph, op.inputs[1 - position]):
            return position
    return None


def int8_operands(graph: Graph, op: Op) -> tuple[bool, str]:
    """Both operands are int8 (a constant operand too)."""
    for i in op.inputs[:2]:
        t = graph.tensor(i)
        if t.dtype is not DType.INT8:
            return False, f"operand {t.name!r} is {t.dtype.value}"
    return True, ""


def broadcast_up_to_4d(graph: Graph, op: Op) -> tuple[bool, str]:
    """The operands have at most 4 dimensions (each broadcasts to the output's shape, e.g. [1,1,1,C] x [1,H,W,C])."""
    for i in (*op.inputs[:2], op.outputs[0]):
        if len(graph.tensor(i).shape) > 4:
            return False, f"tensor {_t(graph, i)} has shape {graph.tensor(i).shape}"
    return True, ""


def same_operand_output_quant(graph: Graph, op: Op) -> tuple[bool, str]:
    """Operands and output share scale and zero point (TFLite's int8 MAXIMUM / MINIMUM compare raw values)."""
    out = graph.tensor(op.outputs[0])
    for i in op.inputs[:2]:
        t = graph.tensor(i)
        if t.quant is None or out.quant is None or (t.scale, t.zero_point) != (out.scale, out.zero_point):
            return False, f"tensor {_t(graph, i)} is quantized differently from the output"
    return True, ""


def logistic_output_quant(graph: Graph, op: Op) -> tuple[bool, str]:
    """LOGISTIC output is quantized with scale 1/256 and zero point -128 (as TFLite requires)."""
    q = graph.tensor(op.outputs[0])
    return (q.scale, q.zero_point) == (1.0 / 256.0, -128), f"output scale {q.scale} zero point {q.zero_point}"


def tanh_output_quant(graph: Graph, op: Op) -> tuple[bool, str]:
    """TANH output is quantized with scale 1/128 and zero point 0 (as TFLite's converter gives it)."""
    q = graph.tensor(op.outputs[0])
    return (q.scale, q.zero_point) == (1.0 / 128.0, 0), f"output scale {q.scale} zero point {q.zero_point}"


def hard_swish_scales(graph: Graph, op: Op) -> tuple[bool, str]:
    """HARD_SWISH's input scale / 128 is below its output scale (TFLite's int8 HARD_SWISH requires it)."""
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    return x.scale / 128.0 < y.scale, f"input scale {x.scale}, output scale {y.scale}"


def int8_requantization(graph: Graph, op: Op) -> tuple[bool, str]:
    """QUANTIZE requantizes int8 to int8 (the converter inserts it where operands must share quantization); a float
    input or output inside the graph is not supported: convert with inference_input_type=inference_output_type=tf.int8."""
    x, y = graph.tensor(op.inputs[0]), graph.tensor(op.outputs[0])
    return (x.dtype, y.dtype) == (DType.INT8, DType.INT8), f"{x.dtype.value} to {y.dtype.value}"


def mean_over_height_width(graph: Graph, op: Op) -> tuple[bool, str]:
    """MEAN reduces over height and width of an NHWC tensor (global average pooling), or over the time axis of an
    NWC tensor (GlobalAveragePooling1D)."""
    axes_t = graph.tensor(op.inputs[1])
    if not axes_t.is_constant:
        return False, "the axes are not constant"
    rank = len(graph.tensor(op.inputs[0]).shape)
    axes = sorted(int(a) % max(rank, 1) for a in axes_t.data.reshape(-1))  # type: ignore[union-attr]
    return (rank, axes) in ((4, [1, 2]), (3, [1])), f"axes {axes} of a rank-{rank} tensor"


def slice_start(graph: Graph, op: Op) -> tuple[int, ...] | None:
    """Where a STRIDED_SLICE starts on each axis (begin, 0 under the begin mask, negative from the end), or None
    when its begin and strides are not constant."""
    begin, strides = graph.tensor(op.inputs[1]), graph.tensor(op.inputs[3])
    if begin.data is None or strides.data is None or not isinstance(op.options, SliceOptions):
        return None
    shape = graph.tensor(op.inputs[0]).shape
    values = [int(v) for v in begin.data.reshape(-1)]
    if len(values) != len(shape):
        return None
    return tuple(0 if op.options.begin_mask >> k & 1 else v + shape[k] if v < 0 else v for k, v in enumerate(values))


def spatial_crop(graph: Graph, op: Op) -> tuple[bool, str]:
    """STRIDED_SLICE crops height and width of a 4-D tensor with stride 1 (Cropping2D): constant begin and strides,
    no ellipsis, new-axis or shrink masks, batch and channels whole."""
    o = op.options
    assert isinstance(o, SliceOptions)
    if (o.ellipsis_mask, o.new_axis_mask, o.shrink_axis_mask, o.offset) != (0, 0, 0, False):
        return False, "ellipsis, new-axis or shrink masks, or offset"
    x, y = graph.tensor(op.inputs[0]).shape, graph.tensor(op.outputs[0]).shape
    start = slice_start(graph, op)
    strides = graph.tensor(op.inputs[3]).data
    if start is None or strides is None or len(x) != 4 or len(y) != 4:
        return False, "begin and strides are not constant, or the tensor is not 4-D"
    if any(int(s) != 1 for s in strides.reshape(-1)):
        return False, f"strides {strides.reshape(-1).tolist()}"
    ok = start[0] == 0 and start[3] == 0 and (y[0], y[3]) == (x[0], x[3]) and all(
        0 <= start[k] and start[k] + y[k] <= x[k] for k in (1, 2))
    return ok, f"begin {list(start)}, input {x}, output {y}"


MAX_COPY_RANK = 4  # the strided copy kernel walks at most four axes


@dataclass(frozen=True)
class SliceAxis:
    """What a STRIDED_SLICE takes along one input axis: `count` elements from `start`, `stride` apart."""
    start: int
    stride: int
    count: int


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def strided_slice_axes(graph: Graph, op: Op) -> tuple[SliceAxis, ...] | None:
    """TFLite's strided-slice rule per input axis (negative begin and end count from the end, then clamp to the axis
    (to -1 .. size - 1 for a negative stride); the begin and end masks take the whole axis in the stride's direction;
    `offset` makes end relative to begin; a shrink axis takes one element), or None when begin, end or strides are
    not constant or do not have one value per axis."""
    o = op.options
    begin_t, end_t, strides_t = (graph.tensor(i) for i in op.inputs[1:4])
    shape = graph.tensor(op.inputs[0]).shape
    if not isinstance(o, SliceOptions) or begin_t.data is None or end_t.data is None or strides_t.data is None:
        return None
    begin, end, strides = ([int(v) for v in t.data.reshape(-1)] if t.data is not None else []
                           for t in (begin_t, end_t, strides_t))
    if not len(begin) == len(end) == len(strides) == len(shape) or 0 in strides:
        return None
    axes = []
    for k, size in enumerate(shape):
        stride = strides[k]
        start = begin[k] + size if begin[k] < 0 else begin[k]
        start = _clamp(start, 0, size) if stride > 0 else _clamp(start, -1, size - 1)
        if o.begin_mask >> k & 1:
            start = 0 if stride > 0 else size - 1
        if o.shrink_axis_mask >> k & 1:
            stop = start if start >= size else start + 1
        else:
            stop = end[k] + start if o.offset else end[k]
            stop = stop + size if stop < 0 else stop
            stop = _clamp(stop, 0, size) if stride > 0 else _clamp(stop, -1, size - 1)
            if o.end_mask >> k & 1:
                stop = size if stride > 0 else -1
        span = stop - start if stride > 0 else start - stop
        axes.append(SliceAxis(start=start, stride=stride, count=max(0, -(-span // abs(stride)))))
    return tuple(axes)


def constant_slice(graph: Graph, op: Op) -> tuple[bool, str]:
    """STRIDED_SLICE has constant begin, end and strides (one per axis, strides not 0), no ellipsis or new-axis
    mask, at most 4 dimensions, and the output shape its slice gives."""
    o = op.options
    assert isinstance(o, SliceOptions)
    if o.ellipsis_mask or o.new_axis_mask:
        return False, f"ellipsis mask {o.ellipsis_mask}, new-axis mask {o.new_axis_mask}"
    x, y = graph.tensor(op.inputs[0]).shape, graph.tensor(op.outputs[0]).shape
    if len(x) > MAX_COPY_RANK:
        return False, f"input {_t(graph, op.inputs[0])} has {len(x)} dimensions"
    axes = strided_slice_axes(graph, op)
    if axes is None:
        return False, "begin, end or strides are not constant, or a stride is 0"
    kept = tuple(a.count for k, a in enumerate(axes) if not o.shrink_axis_mask >> k & 1)
    return kept == y, f"the slice gives {kept}, the output is {y}"


def transpose_permutation(graph: Graph, op: Op) -> tuple[bool, str]:
    """TRANSPOSE has a constant permutation of at most 4 axes."""
    perm = graph.tensor(op.inputs[1])
    rank = len(graph.tensor(op.inputs[0]).shape)
    if perm.data is None:
        return False, f"the permutation {_t(graph, op.inputs[1])} is not constant"
    return rank <= MAX_COPY_RANK, f"input {_t(graph, op.inputs[0])} has {rank} dimensions"


def split_rank(graph: Graph, op: Op) -> tuple[bool, str]:
    """SPLIT / SPLIT_V splits a tensor of at most 4 dimensions along a constant axis."""
    assert isinstance(op.options, SplitPartOptions)
    rank = len(graph.tensor(op.inputs[0]).shape)
    return rank <= MAX_COPY_RANK, f"input {_t(graph, op.inputs[0])} has {rank} dimensions"


def channel_concatenation(graph: Graph, op: Op) -> tuple[bool, str]:
    """CONCATENATION joins 4-D tensors along channels, without fused activation."""
    assert isinstance(op.options, ActivationOptions)
    rank = len(graph.tensor(op.outputs[0]).shape)
    axis = op.options.axis % rank if rank else op.options.axis
    if rank != 4 or axis != 3:
        return False, f"axis {op.options.axis} of a rank-{rank} tensor"
    return op.options.activation is Activation.NONE, f"fused {op.options.activation.value}"


def constant_spatial_padding(graph: Graph, op: Op) -> tuple[bool, str]:
    """PAD pads a 4-D NHWC tensor on height and width, or a 3-D NWC one on its time axis, by constants (batch and
    channels unpadded)."""
    p = graph.tensor(op.inputs[1])
    rank = len(graph.tensor(op.inputs[0]).shape)
    if not p.is_constant or p.data is None or rank not in (3, 4) or p.data.shape != (rank, 2):
        return False, f"paddings are not a constant {rank}x2 tensor of a 3-D or 4-D input"
    pads = p.data.tolist()
    return pads[0] == [0, 0] and pads[-1] == [0, 0], f"paddings {pads}"


def softmax_output_quant(graph: Graph, op: Op) -> tuple[bool, str]:
    """SOFTMAX output is quantized with scale 1/256 and zero point -128 (as TFLite requires)."""
    q = graph.tensor(op.outputs[0])
    return (q.scale, q.zero_point) == (1.0 / 256.0, -128), f"output scale {q.scale} zero point {q.zero_point}"


# --- UNIDIRECTIONAL_SEQUENCE_LSTM (tinyc.ir.lstm) -----------------------------------------------------------

def _lstm_options(op: Op) -> LstmOptions:
    assert isinstance(op.options, LstmOptions)
    return op.options


def lstm_one_sequence(graph: Graph, op: Op) -> tuple[bool, str]:
    """The LSTM runs one sequence (batch 1)."""
    from tinyc.ir.lstm import lstm_sizes
    return lstm_sizes(graph, op).batch == 1, f"batch {lstm_sizes(graph, op).batch}"


def lstm_tanh_cell(graph: Graph, op: Op) -> tuple[bool, str]:
    """The cell activation is tanh (LSTM(activation='tanh'), the default)."""
    o = _lstm_options(op)
    return o.cell_activation is GateActivation.TANH, f"cell activation {o.cell_activation.value}"


def lstm_four_gates(graph: Graph, op: Op) -> tuple[bool, str]:
    """All four gates have input weights, recurrent weights and a bias (no coupled input and forget gate)."""
    missing = [k for k in range(1, 13) if op.inputs[k] < 0]
    return not missing, f"inputs {missing} absent"


def lstm_plain(graph: Graph, op: Op) -> tuple[bool, str]:
    """No peephole connections, projection or layer normalization (a plain Keras LSTM)."""
    present = _lstm_options(op).present_optional
    return not present, f"TFLite inputs {list(present)} present"


def lstm_int8_weights(graph: Graph, op: Op) -> tuple[bool, str]:
    """The eight weight matrices are constant int8, symmetric and per tensor; the four biases constant int32."""
    for k in range(1, 13):
        if op.inputs[k] < 0:
            continue
        t = graph.tensor(op.inputs[k])
        dtype = DType.INT8 if k <= 8 else DType.INT32
        if not t.is_constant or t.dtype is not dtype or t.quant is None:
            return False, f"tensor {t.name!r} is not constant {dtype.value}"
        if k <= 8 and (t.quant.per_channel or t.quant.zero_points[0] != 0):
            return False, f"weights {t.name!r} are per channel or have a non-zero zero point"
    return True, ""


def lstm_int16_cell_state(graph: Graph, op: Op) -> tuple[bool, str]:
    """The hidden state is int8; the cell state is int16 with zero point 0 and a scale of 2^-40 to 2^2 (TFLM's
    int16 tanh takes the nearest power of two)."""
    from tinyc.ir.lstm import cell_scale_power
    o = _lstm_options(op)
    hidden, cell = graph.tensor(o.hidden_state), graph.tensor(o.cell_state)
    if hidden.dtype is not DType.INT8 or hidden.quant is None:
        return False, f"hidden state {hidden.name!r} is {hidden.dtype.value}"
    if cell.dtype is not DType.INT16 or cell.quant is None or cell.zero_point != 0:
        return False, f"cell state {cell.name!r} is {cell.dtype.value}"
    power = cell_scale_power(cell.scale)
    return -40 <= power <= 2, f"cell state scale {cell.scale} (2^{power})"


_COMMON: tuple[Rule, ...] = (int8_activations, quantized_tensors, batch_one, fused_activation_known)

SUPPORTED: dict[OpKind, OpSupport] = {s.kind: s for s in (
    OpSupport(OpKind.CONV_2D, "Conv2D (+BatchNormalization, ReLU/ReLU6 fused; any dilation_rate: the converter's "
              "SPACE_TO_BATCH_ND -> CONV_2D -> BATCH_TO_SPACE_ND becomes one dilated convolution); Conv1D (with "
              "EXPAND_DIMS and RESHAPE around it)", "arm_convolve_wrapper_s8 (int4 weights: arm_convolve_wrapper_s4)",
              (*_COMMON, rank4_nhwc, constant_int8_or_int4_weights, constant_int32_bias)),
    OpSupport(OpKind.DEPTHWISE_CONV_2D, "DepthwiseConv2D (any depth_multiplier and dilation_rate)",
              "arm_depthwise_conv_wrapper_s8 (int4 weights: arm_depthwise_conv_wrapper_s4)",
              (*_COMMON, rank4_nhwc, constant_int8_or_int4_weights, constant_int32_bias, depthwise_channels_multiple)),
    OpSupport(OpKind.FULLY_CONNECTED, "Dense", "arm_fully_connected_per_channel_s8 / arm_fully_connected_s8",
              (*_COMMON, constant_int8_weights, constant_int32_bias)),
    OpSupport(OpKind.ADD, "Add (also broadcasting); the `+ 3` of hard_sigmoid (a constant scalar operand); the bias "
              "the converter leaves after a dilated convolution (a constant operand)",
              "arm_elementwise_add_s8 (same shapes); tinyc_add_s8 (broadcasting or a constant operand); tinyc_lut_s8 "
              "with a constant scalar", (*_COMMON, int8_operands, broadcast_up_to_4d)),
    OpSupport(OpKind.AVERAGE_POOL_2D, "AveragePooling2D", "arm_avgpool_s8",
              (*_COMMON, rank4_nhwc, same_input_output_quant)),
    OpSupport(OpKind.MAX_POOL_2D, "MaxPooling2D", "arm_max_pool_s8",
              (*_COMMON, rank4_nhwc, same_input_output_quant)),
    OpSupport(OpKind.MEAN, "GlobalAveragePooling2D, GlobalAveragePooling1D", "tinyc_mean_s8", (*_COMMON, mean_over_height_width)),
    OpSupport(OpKind.RESHAPE, "Flatten, Reshape", "(none: the output aliases the input)",
              (*_COMMON, same_input_output_quant)),
    OpSupport(OpKind.EXPAND_DIMS, "(Conv1D's input: the converter adds a unit axis)",
              "(none: the output aliases the input)", (*_COMMON, same_input_output_quant)),
    OpSupport(OpKind.SQUEEZE, "(Conv1D's output: the converter drops a unit axis)",
              "(none: the output aliases the input)", (*_COMMON, same_input_output_quant)),
    OpSupport(OpKind.RESIZE_NEAREST_NEIGHBOR, "UpSampling2D (interpolation='nearest': the converter's EXPAND_DIMS -> "
              "TILE -> RESHAPE per axis becomes one resize); Resizing(interpolation='nearest')",
              "tinyc_resize_nearest_s8 (an index table per axis)", (*_COMMON, rank4_nhwc, same_input_output_quant)),
    OpSupport(OpKind.RESIZE_BILINEAR, "UpSampling2D(interpolation='bilinear'), Resizing(interpolation='bilinear')",
              "tinyc_resize_bilinear_s8 (two rows, two columns and 10-bit weights per output pixel, tabled)",
              (*_COMMON, rank4_nhwc, same_input_output_quant)),
    OpSupport(OpKind.TRANSPOSE_CONV, "Conv2DTranspose (its output shape, computed by SHAPE / STRIDED_SLICE / PACK, is "
              "static in the file)", "tinyc_transpose_conv_s8",
              (*_COMMON, rank4_nhwc, constant_int8_weights, constant_int32_bias)),
    OpSupport(OpKind.STRIDED_SLICE, "Cropping2D, Cropping1D; slicing a tensor (x[:, 2:8:2, ::-1]) with constant "
              "bounds", "tinyc_copy_block_s8 (a crop of height and width); tinyc_strided_copy_s8 (any other slice)",
              (*_COMMON, constant_slice, same_input_output_quant)),
    OpSupport(OpKind.SPLIT, "tf.split into equal parts (each used part is its own copy)",
              "tinyc_strided_copy_s8 (one call per used output)", (*_COMMON, split_rank, same_input_output_quant)),
    OpSupport(OpKind.SPLIT_V, "tf.split with sizes (each used part is its own copy)",
              "tinyc_strided_copy_s8 (one call per used output)", (*_COMMON, split_rank, same_input_output_quant)),
    OpSupport(OpKind.TRANSPOSE, "Permute, tf.transpose", "tinyc_strided_copy_s8",
              (*_COMMON, transpose_permutation, same_input_output_quant)),
    OpSupport(OpKind.PAD, "ZeroPadding2D, ZeroPadding1D, Conv1D(padding='causal')'s left padding", "arm_pad_s8",
              (*_COMMON, constant_spatial_padding)),
    OpSupport(OpKind.CONCATENATION, "Concatenate (channels)", "arm_concatenation_s8_x",
              (*_COMMON, channel_concatenation, same_input_output_quant)),
    OpSupport(OpKind.RELU, "ReLU (standalone)", "tinyc_relu_s8", _COMMON),
    OpSupport(OpKind.RELU6, "ReLU(max_value=6) (standalone)", "tinyc_relu_s8", _COMMON),
    OpSupport(OpKind.SOFTMAX, "Softmax", "arm_softmax_s8", (*_COMMON, softmax_output_quant)),
    OpSupport(OpKind.QUANTIZE, "(inserted by the converter: int8 to int8 requantization; float32 to int8 as the "
              "model's first op: see Float32 interface below)",
              "tinyc_lut_s8 (a 256-entry table)", (int8_requantization, quantized_tensors, batch_one)),
    OpSupport(OpKind.LEAKY_RELU, "LeakyReLU", "tinyc_lut_s8 (a 256-entry table)", _COMMON),
    OpSupport(OpKind.LOGISTIC, "Activation('sigmoid')", "tinyc_lut_s8 (a 256-entry table)",
              (*_COMMON, logistic_output_quant)),
    OpSupport(OpKind.TANH, "Activation('tanh')", "tinyc_lut_s8 (a 256-entry table)", (*_COMMON, tanh_output_quant)),
    OpSupport(OpKind.HARD_SWISH, "Activation('hard_swish')", "tinyc_lut_s8 (a 256-entry table)",
              (*_COMMON, hard_swish_scales)),
    OpSupport(OpKind.MUL, "Multiply (also broadcasting: the per-channel scale of a squeeze-and-excitation block); "
              "the `/ 6` of hard_sigmoid (a constant scalar operand)",
              "tinyc_mul_s8; tinyc_lut_s8 with a constant scalar",
              (*_COMMON, int8_operands, broadcast_up_to_4d)),
    OpSupport(OpKind.SUB, "Subtract (also broadcasting); a constant scalar operand", "tinyc_sub_s8; tinyc_lut_s8 with a "
              "constant scalar", (*_COMMON, int8_operands, broadcast_up_to_4d)),
    OpSupport(OpKind.MAXIMUM, "Maximum", "tinyc_maximum_s8; tinyc_lut_s8 with a constant scalar",
              (*_COMMON, int8_operands, broadcast_up_to_4d, same_operand_output_quant)),
    OpSupport(OpKind.MINIMUM, "Minimum", "tinyc_minimum_s8; tinyc_lut_s8 with a constant scalar",
              (*_COMMON, int8_operands, broadcast_up_to_4d, same_operand_output_quant)),
    OpSupport(OpKind.PRELU, "PReLU (alpha per channel with shared_axes=[1, 2], or per element)",
              "tinyc_prelu_s8 (alpha broadcast over the input)", (*_COMMON, int8_operands, broadcast_up_to_4d)),
    OpSupport(OpKind.UNIDIRECTIONAL_SEQUENCE_LSTM, "tf_keras.layers.LSTM (Keras 2), return_sequences True or False (the "
              "converter's STRIDED_SLICE of the last step is folded in); Keras 3's LSTM converts to a WHILE loop, "
              "refused before conversion",
              "tinyc_lstm_s8 (TFLM's integer LSTM: int16 gates and cell state; the state lives in scratch)",
              (int8_activations, quantized_tensors, lstm_one_sequence, lstm_tanh_cell, lstm_four_gates, lstm_plain,
               lstm_int8_weights, lstm_int16_cell_state)),
)}


# The nearest supported alternative for TFLite ops tinyc does not lower (by builtin name, as the converter emits them
# for common Keras layers); shown with the refusal, and by the Keras-level check before conversion.
ALTERNATIVES: dict[str, str] = {
    "ELU": "use LeakyReLU, ReLU or Activation('hard_swish')",
    "GELU": "use Activation('hard_swish') (MobileNetV3's approximation) or ReLU",
    "DIV": "use Multiply by a constant (the reciprocal)",
    "TILE": "UpSampling2D is folded into one resize when the converter's EXPAND_DIMS -> TILE -> RESHAPE chain is "
            "intact; use UpSampling2D(interpolation='nearest')",
    "SPACE_TO_BATCH_ND": "a dilated convolution is folded into one op when the converter's chain is intact (a "
                         "stride-1 VALID convolution between SPACE_TO_BATCH_ND and BATCH_TO_SPACE_ND, SAME or VALID "
                         "overall); use Conv2D(dilation_rate=...) with strides=1",
    "BATCH_TO_SPACE_ND": "a dilated convolution is folded into one op when the converter's chain is intact; use "
                         "Conv2D(dilation_rate=...) with strides=1",
    "REDUCE_MAX": "use GlobalAveragePooling2D, or MaxPooling2D with the whole map as its window",
    "SUM": "use GlobalAveragePooling2D (MEAN over height and width)",
    "GATHER": "feed the embedded features as the model input",
}


def layer_name(graph: Graph, op: Op) -> str:
    """The Keras layer an op came from, as far as the converter kept it in the output tensor name."""
    name = graph.tensor(op.outputs[0]).name if op.outputs else ""
    return name.split(";")[0] or "?"


def keras_layer_of(tensor_name: str, layers: dict[str, str]) -> str | None:
    """The Keras layer a converted tensor came from: its name carries the layer's name scope, e.g.
    'functional_1/gate_1/Mul' for layer 'gate' (Keras 3 suffixes the scope with _1)."""
    for part in tensor_name.split(";"):
        for component in part.split("/")[1:] or part.split("/"):
            if component in layers:
                return component
            stem = re.sub(r"_\d+$", "", component)
            if stem in layers:
                return stem
    return None


Origin = Callable[[Op], str | None]  # where an op came from in the user's model (e.g. its ONNX node), or None


def op_location(graph: Graph, op: Op, keras_layers: Mapping[str, str] | None = None,
                origin: Origin | None = None) -> str:
    """'op 3 (MUL), layer 'functional_1/gate_1/Mul'', plus the Keras layer and its class when known, or what
    `origin` says (an ONNX model's node)."""
    where = f"{op.label}, layer {layer_name(graph, op)!r}"
    if keras_layers and op.outputs:
        layer = keras_layer_of(graph.tensor(op.outputs[0]).name, dict(keras_layers))
        if layer is not None:
            where += f" from Keras layer {layer!r} ({keras_layers[layer]})"
    source = origin(op) if origin is not None else None
    if source:
        where += f" {source}"
    return where


def rule_text(rule: Rule) -> str:
    """A rule's docstring on one line: the sentence users see."""
    return " ".join((rule.__doc__ or "").split())


def op_problems(graph: Graph, op: Op, keras_layers: Mapping[str, str] | None = None,
                origin: Origin | None = None) -> list[str]:
    support = SUPPORTED.get(op.kind)
    where = op_location(graph, op, keras_layers, origin)
    if support is None:
        if op.kind is OpKind.DEQUANTIZE:
            return [f"{where}: the model converts between float and int8 inside the graph; tinyc needs "
                    "int8 input and output (convert with inference_input_type=inference_output_type=tf.int8)"]
        hint = f" ({ALTERNATIVES[op.opcode_name]})" if op.opcode_name in ALTERNATIVES else ""
        return [f"{where}: op {op.opcode_name} is not supported{hint}; supported ops: "
                + ", ".join(k.value for k in SUPPORTED)]
    problems = []
    for rule in support.rules:
        ok, detail = rule(graph, op)
        if not ok:
            problems.append(f"{where}: {rule_text(rule)} ({detail})")
    return problems


def _check_interface_types(graph: Graph) -> None:
    """An int16x8 model (16-bit activations: its input or output is int16, or its float input is quantized to
    int16) and a uint8 interface get their own messages, not the float32 one they would otherwise meet."""
    edges = [(i, "input") for i in graph.inputs] + [(i, "output") for i in graph.outputs]
    quantized = [(o, "input (quantized from float32 by the first QUANTIZE)") for op in graph.ops
                 if op.kind is OpKind.QUANTIZE and op.inputs and op.inputs[0] in graph.inputs for o in op.outputs]
    for index, where in (*edges, *quantized):
        t = graph.tensor(index)
        if t.dtype is DType.INT16:
            raise UnsupportedModelError(
                f"model {where} {t.name!r} is int16: this is an int16x8 model (16-bit activations, "
                "EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8); tinyc compiles int8 models only: convert "
                "with supported_ops=[tf.lite.OpsSet.TFLITE_BUILTINS_INT8], or give tinyc the Keras model")
    for index, where in edges:
        t = graph.tensor(index)
        if t.dtype is DType.UINT8:
            raise UnsupportedModelError(
                f"model {where} {t.name!r} is uint8: tinyc needs an int8 (or float32) interface: convert with "
                "inference_input_type=inference_output_type=tf.int8, or give tinyc the Keras model")


def check_graph(graph: Graph, keras_layers: Mapping[str, str] | None = None, origin: Origin | None = None) -> None:
    """Raise one error listing every unsupported op; a float model gets its own message. With the Keras model's
    layers (name → class), each op is also named by the Keras layer it came from; `origin` names its source
    otherwise (an ONNX model's nodes)."""
    _check_interface_types(graph)
    for i in (*graph.inputs, *graph.outputs):
        t = graph.tensor(i)
        if t.dtype is DType.FLOAT32:
            raise UnsupportedModelError(
                f"model {'input' if i in graph.inputs else 'output'} {t.name!r} is float32: tinyc needs a "
                "full-integer int8 model (give tinyc the Keras model to quantize, or convert with "
                "inference_input_type=inference_output_type=tf.int8 and a representative dataset)")
    if len(graph.inputs) != 1 or len(graph.outputs) != 1:
        raise UnsupportedModelError(f"the model has {len(graph.inputs)} inputs and {len(graph.outputs)} outputs; "
                                    "tinyc supports exactly one of each")
    problems = [p for op in graph.ops for p in op_problems(graph, op, keras_layers, origin)]
    if problems:
        raise UnsupportedModelError("unsupported model:\n  " + "\n  ".join(problems))


def supported_ops_markdown() -> str:
    """SUPPORTED_OPS.md, generated from the rules above."""
    lines = ["# Supported ops", "", "Generated by `python -m tinyc.frontend.supported_ops > SUPPORTED_OPS.md` (the rules of tinyc/ir/support.py, "
             "the ONNX ops of tinyc/frontend/onnx_model.py); do not edit by hand.", "",
             "Every op is int8 (full-integer quantization, per-channel weights) and runs a CMSIS-NN v7.0.0 "
             "call, or a tinyc kernel with TFLite Micro's reference semantics where CMSIS-NN has none.", ""]
    for s in SUPPORTED.values():
        lines += [f"## {s.kind.value}", "", f"- Keras: {s.keras_layers}", f"- Kernel: `{s.cmsis_nn_call}`",
                  "- Rules:"]
        lines += [f"  - {rule_text(rule)}" for rule in s.rules]
        lines.append("")
    lines += ["## Float32 interface (QUANTIZE first, DEQUANTIZE last)", "",
              "- A model file converted with a float32 input and output (the converter's default "
              "`inference_input_type`) quantizes its input first and dequantizes its output last. tinyc reads its "
              "int8 core between the two (`Graph.float_edges`); the generated `model.h` defines `*_FLOAT_INPUT` / "
              "`*_FLOAT_OUTPUT` and its `*_quantize_input()` / `*_dequantize_output()` compute those two ops as "
              "TFLite Micro does (division in float32, ties away from zero; the product rounded once), so float in, "
              "float out equals TFLite Micro on the file byte for byte (tests/test_float_edges.py).",
              "- DEQUANTIZE or a float32 QUANTIZE anywhere else (float ops inside the graph) is not supported.", ""]
    return "\n".join(lines)
