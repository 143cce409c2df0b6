"""The shape (and scale) rules of a well-formed TFLite graph, per op kind: what TFLite's own Prepare checks.

These say whether a model is *valid*, not whether tinyc lowers it (that is `tinyc.ir.support`): a CONV_2D
whose output height does not follow from its input, filter, stride and padding is a malformed file
whatever the target. Each rule's docstring is the sentence shown to users; it returns None when the op
satisfies it, else a detail naming the tensor or value at fault. `check_shapes()` raises one
`ModelFormatError` for the first op that breaks a rule, naming the op (index, kind) and its layer.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from tinyc.errors import ModelFormatError, UnsupportedModelError
from tinyc.ir.graph import (ActivationOptions, ConvOptions, DType, Graph, LstmOptions, MeanOptions, Op, OpKind, Padding,
                            PoolOptions, SoftmaxOptions, SplitPartOptions)

Rule = Callable[[Graph, Op], "str | None"]

# (least, most) inputs and the input positions that may be absent (-1)
_ARITY: dict[OpKind, tuple[int, int, frozenset[int]]] = {
    OpKind.CONV_2D: (2, 3, frozenset({2})), OpKind.DEPTHWISE_CONV_2D: (2, 3, frozenset({2})),
    OpKind.FULLY_CONNECTED: (2, 3, frozenset({2})), OpKind.ADD: (2, 2, frozenset()),
    OpKind.AVERAGE_POOL_2D: (1, 1, frozenset()), OpKind.MAX_POOL_2D: (1, 1, frozenset()),
    OpKind.MEAN: (2, 2, frozenset()), OpKind.RESHAPE: (1, 2, frozenset()), OpKind.PAD: (2, 2, frozenset()),
    OpKind.CONCATENATION: (1, 1 << 16, frozenset()), OpKind.RELU: (1, 1, frozenset()),
    OpKind.RELU6: (1, 1, frozenset()), OpKind.SOFTMAX: (1, 1, frozenset()), OpKind.QUANTIZE: (1, 1, frozenset()),
    OpKind.DEQUANTIZE: (1, 1, frozenset()), OpKind.LEAKY_RELU: (1, 1, frozenset()),
    OpKind.LOGISTIC: (1, 1, frozenset()), OpKind.TANH: (1, 1, frozenset()), OpKind.HARD_SWISH: (1, 1, frozenset()),
    OpKind.MUL: (2, 2, frozenset()), OpKind.SUB: (2, 2, frozenset()), OpKind.MAXIMUM: (2, 2, frozenset()),
    OpKind.MINIMUM: (2, 2, frozenset()), OpKind.EXPAND_DIMS: (2, 2, frozenset()), OpKind.SQUEEZE: (1, 1, frozenset()),
    OpKind.RESIZE_NEAREST_NEIGHBOR: (1, 2, frozenset()), OpKind.PRELU: (2, 2, frozenset()),
    OpKind.RESIZE_BILINEAR: (2, 2, frozenset()), OpKind.TRANSPOSE_CONV: (2, 3, frozenset({2})),
    OpKind.SPLIT: (1, 1, frozenset()), OpKind.SPLIT_V: (1, 1, frozenset()),  # one op per part (tinyc.ir.patterns)
    OpKind.TRANSPOSE: (2, 2, frozenset()), OpKind.STRIDED_SLICE: (4, 4, frozenset()),  # input, begin, end, strides
    OpKind.UNIDIRECTIONAL_SEQUENCE_LSTM: (13, 13, frozenset({1, 5, 9})),  # the input gate's (CIFG: absent)
}


def _shape(graph: Graph, index: int) -> tuple[int, ...]:
    return graph.tensor(index).shape


def _name(graph: Graph, index: int) -> str:
    return f"{graph.tensor(index).name!r}"


def _out_size(padding: Padding, size: int, kernel: int, stride: int, dilation: int = 1) -> int:
    """TFLite's ComputeOutSize."""
    effective = (kernel - 1) * dilation + 1
    if padding is Padding.SAME:
        return (size + stride - 1) // stride
    return (size + stride - effective) // stride


def arity(graph: Graph, op: Op) -> str | None:
    """The op has the number of inputs and outputs its kind takes, and only optional inputs are absent."""
    least, most, optional = _ARITY[op.kind]
    if not least <= len(op.inputs) <= most:
        return f"{len(op.inputs)} inputs, expected {least}" + (f" to {most}" if most != least else "")
    if len(op.outputs) != 1:
        return f"{len(op.outputs)} outputs, expected 1"
    for position, i in enumerate(op.inputs):
        if i < 0 and position not in optional:
            return f"input {position} is absent"
    return None


def conv_shapes(graph: Graph, op: Op) -> str | None:
    """Input, filter and output are 4-D; the filter's input channels match the input's; the output has the
    filter's output channels, the input's batch, and the height and width that input, filter, stride, dilation
    and padding give; the bias has one value per output channel."""
    assert isinstance(op.options, ConvOptions)
    o = op.options
    x, w, y = (_shape(graph, i) for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    for i, s in ((op.inputs[0], x), (op.inputs[1], w), (op.outputs[0], y)):
        if len(s) != 4:
            return f"tensor {_name(graph, i)} has shape {s}, not 4-D"
    if min(o.stride_h, o.stride_w, o.dilation_h, o.dilation_w) < 1:
        return f"stride {o.stride_h}x{o.stride_w}, dilation {o.dilation_h}x{o.dilation_w}"
    depthwise = op.kind is OpKind.DEPTHWISE_CONV_2D
    out_c = w[3] if depthwise else w[0]
    if depthwise:
        if w[0] != 1:
            return f"depthwise filter {_name(graph, op.inputs[1])} has shape {w}; its first dimension must be 1"
        if w[3] % x[3] or (o.depth_multiplier and w[3] != x[3] * o.depth_multiplier):
            return (f"depthwise filter {_name(graph, op.inputs[1])} has {w[3]} channels for an input of {x[3]} "
                    f"with depth multiplier {o.depth_multiplier}")
    elif w[3] != x[3]:
        if x[3] % w[3] == 0:
            raise UnsupportedModelError(f"{op.label}: a grouped convolution ({x[3] // w[3]} groups) is not "
                                        "supported; use one Conv2D per group or groups=1")
        return f"filter {_name(graph, op.inputs[1])} has {w[3]} input channels, the input has {x[3]}"
    expected = (x[0], _out_size(o.padding, x[1], w[1], o.stride_h, o.dilation_h),
                _out_size(o.padding, x[2], w[2], o.stride_w, o.dilation_w), out_c)
    if y != expected:
        return f"output {_name(graph, op.outputs[0])} has shape {y}; input {x} and filter {w} give {expected}"
    return _bias_problem(graph, op, out_c)


def _bias_problem(graph: Graph, op: Op, channels: int) -> str | None:
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        b = _shape(graph, op.inputs[2])
        if math.prod(b) != channels or len(b) != 1:
            return f"bias {_name(graph, op.inputs[2])} has shape {b}, expected ({channels},)"
    return None


def weights_channel_axis(graph: Graph, op: Op) -> str | None:
    """Per-channel weight scales run along the output-channel axis (0, or 3 for depthwise filters)."""
    w = graph.tensor(op.inputs[1])
    if w.quant is not None and w.quant.per_channel:
        axis = 3 if op.kind is OpKind.DEPTHWISE_CONV_2D else 0
        if w.quant.axis != axis:
            return f"weights {w.name!r} are quantized along axis {w.quant.axis}, expected {axis}"
    return None


def fully_connected_shapes(graph: Graph, op: Op) -> str | None:
    """The weights are 2-D (outputs, inputs); the input's size is a multiple of the weights' inputs; the output
    holds (input size / inputs) x outputs values with outputs last; the bias has one value per output."""
    x, w, y = (_shape(graph, i) for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    if len(w) != 2:
        return f"weights {_name(graph, op.inputs[1])} have shape {w}, not 2-D"
    size = math.prod(x)
    if size % w[1]:
        return f"input {_name(graph, op.inputs[0])} of shape {x} does not split into rows of {w[1]}"
    if not y or y[-1] != w[0] or math.prod(y) != size // w[1] * w[0]:
        return f"output {_name(graph, op.outputs[0])} has shape {y}; input {x} and weights {w} give {size // w[1]} x {w[0]}"
    return _bias_problem(graph, op, w[0])


def broadcast_shapes(graph: Graph, op: Op) -> str | None:
    """The output has the shape the two operands broadcast to."""
    a, b, y = (_shape(graph, i) for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    try:
        expected = tuple(np.broadcast_shapes(a, b))
    except ValueError:
        return f"operands of shapes {a} and {b} do not broadcast"
    return None if y == expected else f"output {_name(graph, op.outputs[0])} has shape {y}, operands give {expected}"


def pool_shapes(graph: Graph, op: Op) -> str | None:
    """Input and output are 4-D with the same batch and channels; filter and stride are at least 1; the output's
    height and width follow from input, filter, stride and padding."""
    assert isinstance(op.options, PoolOptions)
    o = op.options
    x, y = _shape(graph, op.inputs[0]), _shape(graph, op.outputs[0])
    if len(x) != 4 or len(y) != 4:
        return f"input {x} and output {y} must both be 4-D"
    if min(o.filter_h, o.filter_w, o.stride_h, o.stride_w) < 1:
        return f"filter {o.filter_h}x{o.filter_w}, stride {o.stride_h}x{o.stride_w}"
    expected = (x[0], _out_size(o.padding, x[1], o.filter_h, o.stride_h),
                _out_size(o.padding, x[2], o.filter_w, o.stride_w), x[3])
    return None if y == expected else f"output {_name(graph, op.outputs[0])} has shape {y}; input {x} gives {expected}"


def mean_shapes(graph: Graph, op: Op) -> str | None:
    """Constant axes lie within the input's rank, and the output holds the input's size over the reduced axes."""
    assert isinstance(op.options, MeanOptions)
    x, y, axes_t = _shape(graph, op.inputs[0]), _shape(graph, op.outputs[0]), graph.tensor(op.inputs[1])
    if axes_t.data is None:
        return None  # tinyc.ir.support refuses non-constant axes
    if axes_t.dtype not in (DType.INT32, DType.INT64):
        return f"axes {axes_t.name!r} are {axes_t.dtype.value}, not int32"
    axes = [int(a) for a in axes_t.data.reshape(-1)]
    if not x or any(not -len(x) <= a < len(x) for a in axes):
        return f"axes {axes} for an input of shape {x}"
    reduced = {a % len(x) for a in axes}
    kept = math.prod(d for i, d in enumerate(x) if i not in reduced)
    return None if math.prod(y) == kept else f"output {_name(graph, op.outputs[0])} has shape {y}, expected {kept} values"


def same_size(graph: Graph, op: Op) -> str | None:
    """The output holds as many values as the input."""
    x, y = _shape(graph, op.inputs[0]), _shape(graph, op.outputs[0])
    return None if math.prod(x) == math.prod(y) else f"input {x} and output {y} hold different numbers of values"


def same_shape(graph: Graph, op: Op) -> str | None:
    """The output has the input's shape, of at least one dimension."""
    x, y = _shape(graph, op.inputs[0]), _shape(graph, op.outputs[0])
    if not x:
        return f"input {_name(graph, op.inputs[0])} is a scalar"
    return None if x == y else f"input {x} and output {y} differ"


def resize_shapes(graph: Graph, op: Op) -> str | None:
    """Input and output are 4-D with the same batch and channels; a size input, when given, is the output's
    height and width."""
    x, y = _shape(graph, op.inputs[0]), _shape(graph, op.outputs[0])
    if len(x) != 4 or len(y) != 4 or (x[0], x[3]) != (y[0], y[3]):
        return f"input {x} and output {y}"
    if len(op.inputs) == 2:
        size = graph.tensor(op.inputs[1])
        if size.data is None or [int(v) for v in np.asarray(size.data).reshape(-1)] != list(y[1:3]):
            return f"size {_name(graph, op.inputs[1])} is not the constant {list(y[1:3])}"
    return None


def transpose_conv_shapes(graph: Graph, op: Op) -> str | None:
    """Input, filter and output are 4-D; the filter's input channels match the input's and its output channels the
    output's; the output has the input's batch and is at least as large as the strided input."""
    assert isinstance(op.options, ConvOptions)
    o = op.options
    x, w, y = (_shape(graph, i) for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    if len(x) != 4 or len(w) != 4 or len(y) != 4 or min(o.stride_h, o.stride_w) < 1:
        return f"input {x}, filter {w}, output {y}, stride {o.stride_h}x{o.stride_w}"
    if w[3] != x[3] or w[0] != y[3] or x[0] != y[0] or y[1] < (x[1] - 1) * o.stride_h + 1 or \
            y[2] < (x[2] - 1) * o.stride_w + 1:
        return f"input {x}, filter {w}, output {y}"
    return _bias_problem(graph, op, w[0])


def pad_shapes(graph: Graph, op: Op) -> str | None:
    """Constant paddings are a (rank, 2) tensor of non-negative integers, and the output is the input padded by
    them."""
    x, y, p = _shape(graph, op.inputs[0]), _shape(graph, op.outputs[0]), graph.tensor(op.inputs[1])
    if p.data is None:
        return None  # tinyc.ir.support refuses non-constant paddings
    if p.dtype not in (DType.INT32, DType.INT64) or p.shape != (len(x), 2):
        return f"paddings {p.name!r} are {p.dtype.value} of shape {p.shape}, expected int32 ({len(x)}, 2)"
    pads = [[int(v) for v in row] for row in p.data.tolist()]
    if any(v < 0 for row in pads for v in row):
        return f"paddings {pads} are negative"
    expected = tuple(d + a + b for d, (a, b) in zip(x, pads))
    return None if y == expected else f"output {_name(graph, op.outputs[0])} has shape {y}, paddings give {expected}"


def concat_shapes(graph: Graph, op: Op) -> str | None:
    """Every input has the output's rank and dimensions except along the axis, where their sizes add up to the
    output's."""
    assert isinstance(op.options, ActivationOptions)
    y = _shape(graph, op.outputs[0])
    if not -len(y) <= op.options.axis < max(len(y), 1) or not y:
        return f"axis {op.options.axis} of a rank-{len(y)} output"
    axis = op.options.axis % len(y)
    total = 0
    for i in op.inputs:
        s = _shape(graph, i)
        if len(s) != len(y) or any(a != b for k, (a, b) in enumerate(zip(s, y)) if k != axis):
            return f"input {_name(graph, i)} of shape {s} does not fit output {y} along axis {axis}"
        total += s[axis]
    return None if total == y[axis] else f"inputs add up to {total} along axis {axis}, output has {y[axis]}"


def split_part_shapes(graph: Graph, op: Op) -> str | None:
    """A split's output has the input's dimensions except along the split axis, where it fits inside the input from
    where it starts."""
    assert isinstance(op.options, SplitPartOptions)
    x, y, a = _shape(graph, op.inputs[0]), _shape(graph, op.outputs[0]), op.options.axis
    if len(x) != len(y) or not 0 <= a < len(x) or any(d != e for k, (d, e) in enumerate(zip(x, y)) if k != a):
        return f"input {x}, output {y}, axis {a}"
    return None if 0 <= op.options.offset and op.options.offset + y[a] <= x[a] else f"part {op.options.offset}+{y[a]} of {x[a]}"


def transpose_shapes(graph: Graph, op: Op) -> str | None:
    """A constant permutation holds each input axis once, and the output is the input's shape permuted by it."""
    x, y, perm = _shape(graph, op.inputs[0]), _shape(graph, op.outputs[0]), graph.tensor(op.inputs[1])
    if perm.data is None:
        return None  # tinyc.ir.support refuses a permutation computed at run time
    order = [int(v) for v in np.asarray(perm.data).reshape(-1)]
    if sorted(order) != list(range(len(x))):
        return f"permutation {order} of a rank-{len(x)} input"
    expected = tuple(x[k] for k in order)
    return None if y == expected else f"output {_name(graph, op.outputs[0])} has shape {y}, the permutation gives {expected}"


def add_scales(graph: Graph, op: Op) -> str | None:
    """2 x the larger input scale < 2^20 x the output scale (TFLite's int8 ADD requires it)."""
    a, b, y = (graph.tensor(i) for i in (op.inputs[0], op.inputs[1], op.outputs[0]))
    if a.quant is None or b.quant is None or y.quant is None:
        return None  # tinyc.ir.support refuses unquantized operands
    if 2.0 * max(a.scale, b.scale) >= (1 << 20) * y.scale:
        return f"input scales {a.scale} and {b.scale} are too large for output scale {y.scale}"
    return None


def softmax_beta(graph: Graph, op: Op) -> str | None:
    """beta is finite and positive, and beta x input scale x 2^26 > 1 (TFLite's int8 SOFTMAX requires it)."""
    assert isinstance(op.options, SoftmaxOptions)
    beta = op.options.beta
    if not math.isfinite(beta) or beta <= 0:
        return f"beta {beta}"
    x = graph.tensor(op.inputs[0])
    if x.quant is not None and beta * x.scale * (1 << 26) <= 1.0:
        return f"beta {beta} x input scale {x.scale} is too small"
    return None


_CONV: tuple[Rule, ...] = (conv_shapes, weights_channel_axis)
def lstm_shapes(graph: Graph, op: Op) -> str | None:
    """The LSTM input is 3-D (batch, time, features), or (time, batch, features) when time-major; input weights are
    (units, features), recurrent weights (units, units), biases (units); each state holds batch x units values; the
    output is (batch, time, units) (time-major: (time, batch, units)), or (batch, units) for the last step only."""
    from tinyc.ir.lstm import lstm_sizes
    o = op.options
    assert isinstance(o, LstmOptions)
    x, y = _shape(graph, op.inputs[0]), _shape(graph, op.outputs[0])
    if len(x) != 3:
        return f"input {x}"
    sizes = lstm_sizes(graph, op)
    for k in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12):
        expected = (sizes.units, sizes.features) if k <= 4 else (sizes.units, sizes.units) if k <= 8 else (sizes.units,)
        if op.inputs[k] >= 0 and _shape(graph, op.inputs[k]) != expected:
            return f"input {k} {_name(graph, op.inputs[k])} has shape {_shape(graph, op.inputs[k])}, expected {expected}"
    for state in (o.hidden_state, o.cell_state):
        if graph.tensor(state).num_elements != sizes.batch * sizes.units:
            return f"state {_name(graph, state)} has shape {_shape(graph, state)}, expected {sizes.batch * sizes.units} values"
    sequence = (x[0], x[1], sizes.units)
    expected_y = sequence if o.return_sequences else (sizes.batch, sizes.units)
    return None if y == expected_y else f"input {x}, output {y}, expected {expected_y}"


RULES: dict[OpKind, tuple[Rule, ...]] = {
    OpKind.CONV_2D: _CONV, OpKind.DEPTHWISE_CONV_2D: _CONV,
    OpKind.FULLY_CONNECTED: (fully_connected_shapes, weights_channel_axis), OpKind.ADD: (broadcast_shapes, add_scales),
    OpKind.AVERAGE_POOL_2D: (pool_shapes,), OpKind.MAX_POOL_2D: (pool_shapes,), OpKind.MEAN: (mean_shapes,),
    OpKind.RESHAPE: (same_size,), OpKind.PAD: (pad_shapes,), OpKind.CONCATENATION: (concat_shapes,),
    OpKind.RELU: (same_shape,), OpKind.RELU6: (same_shape,), OpKind.SOFTMAX: (same_shape, softmax_beta),
    OpKind.QUANTIZE: (same_shape,), OpKind.DEQUANTIZE: (same_shape,),
    OpKind.LEAKY_RELU: (same_shape,), OpKind.LOGISTIC: (same_shape,), OpKind.TANH: (same_shape,),
    OpKind.HARD_SWISH: (same_shape,), OpKind.MUL: (broadcast_shapes,), OpKind.SUB: (broadcast_shapes, add_scales),
    OpKind.MAXIMUM: (broadcast_shapes,), OpKind.MINIMUM: (broadcast_shapes,), OpKind.EXPAND_DIMS: (same_size,),
    OpKind.SQUEEZE: (same_size,), OpKind.RESIZE_NEAREST_NEIGHBOR: (resize_shapes,),
    OpKind.PRELU: (broadcast_shapes,), OpKind.RESIZE_BILINEAR: (resize_shapes,),
    OpKind.TRANSPOSE_CONV: (transpose_conv_shapes, weights_channel_axis),
    OpKind.SPLIT: (split_part_shapes,), OpKind.SPLIT_V: (split_part_shapes,), OpKind.TRANSPOSE: (transpose_shapes,),
    OpKind.UNIDIRECTIONAL_SEQUENCE_LSTM: (lstm_shapes,),
    OpKind.STRIDED_SLICE: (),  # its axes and output shape: tinyc.ir.support's strided-slice rule
}


def check_shapes(graph: Graph) -> None:
    """Raise `ModelFormatError` for the first op whose shapes break its kind's rule (ops tinyc does not know
    are left to `tinyc.ir.support`)."""
    from tinyc.ir.support import layer_name
    for op in graph.ops:
        if op.kind not in _ARITY:
            continue
        for rule in (arity, *RULES[op.kind]):
            detail = rule(graph, op)
            if detail is not None:
                rule_text = " ".join((rule.__doc__ or "").split())
                raise ModelFormatError(f"invalid .tflite model: {op.label}, layer {layer_name(graph, op)!r}: "
                                       f"{detail} (the rule: {rule_text})")
