"""The frozen IR: tensors and ops of one int8 model, as read from its flatbuffer.

Every stage after the reader takes a `Graph` and returns new objects; nothing here is mutated.
`validate()` is the graph's own health check, shared with no transform.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

import numpy as np

from tinyc.errors import UnsupportedModelError


class DType(enum.Enum):
    INT4 = "int4"  # constant weights only: packed two per byte in the file and in flash, unpacked to int8 in `data`
    INT8 = "int8"
    INT16 = "int16"
    INT32 = "int32"
    INT64 = "int64"
    UINT8 = "uint8"
    FLOAT32 = "float32"
    BOOL = "bool"
    OTHER = "other"

    @property
    def itemsize(self) -> int:
        return {"int8": 1, "uint8": 1, "bool": 1, "int16": 2, "int32": 4, "float32": 4, "int64": 8}.get(self.value, 0)


class Padding(enum.Enum):
    SAME = "SAME"
    VALID = "VALID"


class Activation(enum.Enum):
    NONE = "NONE"
    RELU = "RELU"
    RELU_N1_TO_1 = "RELU_N1_TO_1"
    RELU6 = "RELU6"
    OTHER = "OTHER"


class OpKind(enum.Enum):
    """The TFLite builtin ops tinyc knows by name (supported or not)."""
    CONV_2D = "CONV_2D"
    DEPTHWISE_CONV_2D = "DEPTHWISE_CONV_2D"
    FULLY_CONNECTED = "FULLY_CONNECTED"
    ADD = "ADD"
    AVERAGE_POOL_2D = "AVERAGE_POOL_2D"
    MAX_POOL_2D = "MAX_POOL_2D"
    MEAN = "MEAN"
    RESHAPE = "RESHAPE"
    PAD = "PAD"
    CONCATENATION = "CONCATENATION"
    RELU = "RELU"
    RELU6 = "RELU6"
    SOFTMAX = "SOFTMAX"
    QUANTIZE = "QUANTIZE"
    DEQUANTIZE = "DEQUANTIZE"
    SHAPE = "SHAPE"
    STRIDED_SLICE = "STRIDED_SLICE"
    PACK = "PACK"
    LEAKY_RELU = "LEAKY_RELU"
    LOGISTIC = "LOGISTIC"
    TANH = "TANH"
    HARD_SWISH = "HARD_SWISH"
    MUL = "MUL"
    SUB = "SUB"
    MAXIMUM = "MAXIMUM"
    MINIMUM = "MINIMUM"
    SPACE_TO_BATCH_ND = "SPACE_TO_BATCH_ND"
    BATCH_TO_SPACE_ND = "BATCH_TO_SPACE_ND"
    EXPAND_DIMS = "EXPAND_DIMS"
    SQUEEZE = "SQUEEZE"
    TILE = "TILE"
    RESIZE_NEAREST_NEIGHBOR = "RESIZE_NEAREST_NEIGHBOR"
    PRELU = "PRELU"
    RESIZE_BILINEAR = "RESIZE_BILINEAR"
    TRANSPOSE_CONV = "TRANSPOSE_CONV"
    SPLIT = "SPLIT"
    SPLIT_V = "SPLIT_V"
    TRANSPOSE = "TRANSPOSE"
    UNIDIRECTIONAL_SEQUENCE_LSTM = "UNIDIRECTIONAL_SEQUENCE_LSTM"
    OTHER = "OTHER"


@dataclass(frozen=True)
class Quant:
    """Affine quantization: real = scale * (q - zero_point); per channel along `axis` when len > 1."""
    scales: tuple[float, ...]
    zero_points: tuple[int, ...]
    axis: int = 0

    @property
    def per_channel(self) -> bool:
        return len(self.scales) > 1


@dataclass(frozen=True)
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: DType
    quant: Quant | None
    data: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def num_elements(self) -> int:
        return math.prod(self.shape)

    @property
    def size_bytes(self) -> int:
        if self.dtype is DType.INT4:
            return (self.num_elements + 1) // 2
        return self.num_elements * self.dtype.itemsize

    @property
    def scale(self) -> float:
        assert self.quant is not None
        return self.quant.scales[0]

    @property
    def zero_point(self) -> int:
        assert self.quant is not None
        return self.quant.zero_points[0]


@dataclass(frozen=True)
class ConvOptions:
    padding: Padding
    stride_h: int
    stride_w: int
    dilation_h: int
    dilation_w: int
    activation: Activation
    depth_multiplier: int = 1  # depthwise only


@dataclass(frozen=True)
class PoolOptions:
    padding: Padding
    stride_h: int
    stride_w: int
    filter_h: int
    filter_w: int
    activation: Activation


@dataclass(frozen=True)
class FullyConnectedOptions:
    activation: Activation
    keep_num_dims: bool


@dataclass(frozen=True)
class ActivationOptions:
    """ADD, SUB, MUL and CONCATENATION: a fused activation (and an axis for CONCATENATION)."""
    activation: Activation
    axis: int = 0


@dataclass(frozen=True)
class SoftmaxOptions:
    beta: float


@dataclass(frozen=True)
class MeanOptions:
    keep_dims: bool


@dataclass(frozen=True)
class LeakyReluOptions:
    alpha: float  # the float32 slope for negative inputs


@dataclass(frozen=True)
class ResizeOptions:
    """RESIZE_NEAREST_NEIGHBOR, RESIZE_BILINEAR: TFLite's two coordinate conventions (both False for Keras'
    nearest UpSampling2D; half_pixel_centers for its bilinear one)."""
    align_corners: bool
    half_pixel_centers: bool
    repeat: bool = False  # folded from UpSampling2D's EXPAND_DIMS/TILE/RESHAPE: out[y] = in[y // factor] exactly


@dataclass(frozen=True)
class SliceOptions:
    """STRIDED_SLICE's masks (bit k: axis k) and its offset flag (end = begin + end)."""
    begin_mask: int
    ellipsis_mask: int
    new_axis_mask: int
    shrink_axis_mask: int
    offset: bool
    end_mask: int = 0


@dataclass(frozen=True)
class SplitPartOptions:
    """One output of a SPLIT / SPLIT_V: the block of the input from `offset` along `axis`, as long as the output is
    there (`tinyc.ir.patterns` gives each output of a split its own op)."""
    axis: int
    offset: int


@dataclass(frozen=True)
class NoOptions:
    pass


class GateActivation(enum.Enum):
    """The LSTM cell gate's nonlinearity (TFLite's fused activation of UNIDIRECTIONAL_SEQUENCE_LSTM)."""
    TANH = "TANH"
    OTHER = "OTHER"


@dataclass(frozen=True)
class LstmOptions:
    """UNIDIRECTIONAL_SEQUENCE_LSTM, read by `tinyc.ir.reader`: the op's options, and its state tensors, which
    are not data inputs (TFLite's variable tensors, reset to zero before each inference): only their types and
    quantization matter. The op's inputs are (input, the 8 weights i, f, c, o input then recurrent, the 4 biases
    i, f, c, o); `present_optional` names the other TFLite input positions the file fills (peephole 9-11,
    projection 16-17, layer normalization 20-23), which tinyc does not lower."""
    cell_activation: GateActivation
    cell_clip: float
    proj_clip: float
    time_major: bool
    asymmetric_quantize_inputs: bool
    hidden_state: int  # tensor index of the int8 hidden (output) state
    cell_state: int  # tensor index of the int16 cell state
    present_optional: tuple[int, ...] = ()
    return_sequences: bool = True  # False: the converter's STRIDED_SLICE of the last time step is folded in


Options = (ConvOptions | PoolOptions | FullyConnectedOptions | ActivationOptions | SoftmaxOptions | MeanOptions
           | LeakyReluOptions | ResizeOptions | SliceOptions | SplitPartOptions | LstmOptions | NoOptions)


@dataclass(frozen=True)
class Op:
    index: int
    kind: OpKind
    opcode_name: str  # the TFLite builtin name, also for ops tinyc does not know
    inputs: tuple[int, ...]  # tensor indices; -1 = absent optional input
    outputs: tuple[int, ...]
    options: Options

    @property
    def label(self) -> str:
        return f"op {self.index} ({self.opcode_name})"


@dataclass(frozen=True)
class FloatEdges:
    """A model file with a float32 interface around its int8 ops: it quantizes its float input first (QUANTIZE) and
    dequantizes its output last (DEQUANTIZE). The reader leaves both edge ops out of the graph (its input and output
    are the int8 tensors next to them); the generated API converts floats as those ops do in TFLite Micro."""
    input: bool = False
    output: bool = False


@dataclass(frozen=True)
class Graph:
    tensors: tuple[Tensor, ...]
    ops: tuple[Op, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    float_edges: FloatEdges = FloatEdges()

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]

    def producer(self) -> dict[int, Op]:
        return {t: op for op in self.ops for t in op.outputs}

    def consumers(self, tensor_index: int) -> tuple[Op, ...]:
        return tuple(op for op in self.ops if tensor_index in op.inputs)

    def op_macs(self, op: Op) -> int:
        """Multiply-accumulates of one op (conv, depthwise, fully connected; 0 for the rest)."""
        if op.kind is OpKind.CONV_2D:
            w = self.tensor(op.inputs[1]).shape  # (out_c, kh, kw, in_c)
            return self.tensor(op.outputs[0]).num_elements * w[1] * w[2] * w[3]
        if op.kind is OpKind.DEPTHWISE_CONV_2D:
            w = self.tensor(op.inputs[1]).shape  # (1, kh, kw, c)
            return self.tensor(op.outputs[0]).num_elements * w[1] * w[2]
        if op.kind is OpKind.TRANSPOSE_CONV:
            w = self.tensor(op.inputs[1]).shape  # (out_c, kh, kw, in_c): every input value meets the whole filter
            return self.tensor(op.inputs[0]).num_elements * w[0] * w[1] * w[2]
        if op.kind is OpKind.FULLY_CONNECTED:
            w = self.tensor(op.inputs[1]).shape  # (out, in)
            return self.tensor(op.outputs[0]).num_elements * w[1]
        if op.kind is OpKind.UNIDIRECTIONAL_SEQUENCE_LSTM:
            x, w = self.tensor(op.inputs[0]).shape, self.tensor(op.inputs[1]).shape  # w: (units, features)
            return math.prod(x[:-1]) * 4 * w[0] * (w[1] + w[0])  # four gates: input and recurrent products
        return 0

    @property
    def macs(self) -> int:
        return sum(self.op_macs(op) for op in self.ops)

    @property
    def weights_bytes(self) -> int:
        """Bytes of all constant tensors that ops read."""
        used = {i for op in self.ops for i in op.inputs if i >= 0}
        return sum(t.size_bytes for t in self.tensors if t.is_constant and t.index in used)


def validate(graph: Graph) -> None:
    """The graph's health check: indices in range, ops in topological order, every tensor static."""
    n = len(graph.tensors)
    available = set(graph.inputs) | {t.index for t in graph.tensors if t.is_constant}
    for position, op in enumerate(graph.ops):
        if op.index != position:
            raise AssertionError(f"{op.label}: index {op.index} at position {position}")
        for i in op.inputs:
            if i >= n:
                raise AssertionError(f"{op.label}: input tensor {i} out of range")
            if i >= 0 and i not in available:
                raise AssertionError(f"{op.label}: input tensor {i} used before it is produced")
        for i in op.outputs:
            if not 0 <= i < n:
                raise AssertionError(f"{op.label}: output tensor {i} out of range")
            available.add(i)
    for i in graph.outputs:
        if i not in available:
            raise AssertionError(f"graph output tensor {i} is never produced")
    used = set(graph.inputs) | set(graph.outputs) | {i for op in graph.ops for i in (*op.inputs, *op.outputs)}
    for t in graph.tensors:
        if t.index in used and any(d <= 0 for d in t.shape):  # (an LSTM's unused intermediates have shape (0,))
            raise UnsupportedModelError(f"tensor {t.name!r} has a dynamic or empty shape {t.shape}")
