"""Analytic MACs, parameters and int8 activation sizes of a spec, without Keras.

A spec is lowered to the primitive ops the TFLite converter emits for it (BatchNormalization
folded into the preceding convolution, ReLU/ReLU6 fused), each with its output shape, MACs and
parameters. Definitions:

* MACs: conv = out_h*out_w*out_c*k_h*k_w*in_c; depthwise = out_h*out_w*c*k_h*k_w;
  dense = in*out; every other op 0.
* params = weights + biases (every conv / depthwise / dense has a bias after BN folding).
* weight bytes (flash estimate) = int8 weights + int32 biases.
* A Flatten of a 1x1xC map feeding a Dense is dropped, as the converter does; a Flatten of a
  larger map stays a RESHAPE.
* peak activation bytes (per-layer schedule estimate): max over ops of the int8 bytes of every
  tensor live at that op — its inputs, its output and tensors kept alive for a later op
  (residual inputs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tinyc.ir.graph import OpKind  # the IR's op kinds: analytic ops are named as the int8 graph names them
from tinyc.frontend.spec import (
    BasicResidual,
    Conv,
    Dense,
    DepthwiseConv,
    Flatten,
    GlobalAvgPool,
    InvertedResidual,
    Layer,
    Network,
    Padding,
    Pool,
    Softmax,
    Spec,
    expanded_channels,
    squeeze_channels,
)

Shape = tuple[int, ...]




@dataclass(frozen=True)
class Op:
    """One primitive op: ``inputs`` and ``output`` are tensor ids (0 is the model input)."""

    kind: OpKind
    inputs: tuple[int, ...]
    output: int
    output_shape: Shape
    macs: int
    weights: int
    biases: int
    # convolutions only (what tinyc.frontend.synthetic needs to rebuild the op): kernel, stride, padding
    kernel: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    padding: Padding = "same"

    @property
    def params(self) -> int:
        return self.weights + self.biases


@dataclass(frozen=True)
class Counts:
    macs: int
    params: int
    weight_bytes: int
    peak_activation_bytes: int
    ops: tuple[Op, ...]


def _out_size(size: int, kernel: int, stride: int, padding: Padding) -> int:
    if padding == "same":
        return math.ceil(size / stride)
    if size < kernel:
        raise ValueError(f"valid padding: kernel {kernel} larger than input {size}")
    return (size - kernel) // stride + 1


class _Lowering:
    """Appends primitive ops while tracking tensor shapes."""

    def __init__(self, input_shape: Shape) -> None:
        self.shapes: list[Shape] = [input_shape]
        self.ops: list[Op] = []

    def _emit(self, kind: OpKind, inputs: tuple[int, ...], shape: Shape, macs: int = 0,
              weights: int = 0, biases: int = 0, *, kernel: tuple[int, int] = (1, 1),
              stride: tuple[int, int] = (1, 1), padding: Padding = "same") -> int:
        self.shapes.append(shape)
        tensor = len(self.shapes) - 1
        self.ops.append(Op(kind, inputs, tensor, shape, macs, weights, biases, kernel, stride, padding))
        return tensor

    def conv(self, x: int, filters: int, kernel: tuple[int, int], stride: tuple[int, int],
             padding: Padding) -> int:
        h, w, c = self.shapes[x]
        oh = _out_size(h, kernel[0], stride[0], padding)
        ow = _out_size(w, kernel[1], stride[1], padding)
        k = kernel[0] * kernel[1] * c
        return self._emit(OpKind.CONV_2D, (x,), (oh, ow, filters), oh * ow * filters * k,
                          filters * k, filters, kernel=kernel, stride=stride, padding=padding)

    def depthwise(self, x: int, kernel: tuple[int, int], stride: tuple[int, int],
                  padding: Padding) -> int:
        h, w, c = self.shapes[x]
        oh = _out_size(h, kernel[0], stride[0], padding)
        ow = _out_size(w, kernel[1], stride[1], padding)
        k = kernel[0] * kernel[1]
        return self._emit(OpKind.DEPTHWISE_CONV_2D, (x,), (oh, ow, c), oh * ow * c * k, c * k, c, kernel=kernel,
                          stride=stride, padding=padding)

    def activation(self, x: int, activation: str) -> int:
        """ReLU / ReLU6 fuse into the op before; hard-swish is an op of its own."""
        if activation == "hard_swish":
            return self._emit(OpKind.HARD_SWISH, (x,), self.shapes[x])
        return x

    def squeeze_excite(self, x: int) -> int:
        """MEAN (keep dims), 1x1 conv (ReLU), 1x1 conv (ReLU6 with the +3 of hard-sigmoid in its bias), MUL by the
        constant 1/6, then the channel-wise MUL."""
        channels = self.shapes[x][2]
        s = self._emit(OpKind.MEAN, (x,), (1, 1, channels))
        s = self.conv(s, squeeze_channels(channels), (1, 1), (1, 1), "valid")  # the converter's padding on 1x1
        s = self.conv(s, channels, (1, 1), (1, 1), "valid")
        s = self._emit(OpKind.MUL, (s,), self.shapes[s])
        return self._emit(OpKind.MUL, (x, s), self.shapes[x])

    def add(self, a: int, b: int) -> int:
        if self.shapes[a] != self.shapes[b]:
            raise ValueError(f"Add of shapes {self.shapes[a]} and {self.shapes[b]}")
        return self._emit(OpKind.ADD, (a, b), self.shapes[a])

    def layer(self, x: int, layer: Layer, where: str) -> int:
        if isinstance(layer, Conv):
            return self.activation(self.conv(x, layer.filters, layer.kernel, layer.stride, layer.padding),
                                   layer.activation)
        if isinstance(layer, DepthwiseConv):
            return self.activation(self.depthwise(x, layer.kernel, layer.stride, layer.padding), layer.activation)
        if isinstance(layer, InvertedResidual):
            in_channels = self.shapes[x][2]
            expanded = expanded_channels(layer, in_channels)
            y = x
            if expanded != in_channels:
                y = self.activation(self.conv(y, expanded, (1, 1), (1, 1), "same"), layer.activation)
            y = self.activation(self.depthwise(y, (layer.kernel, layer.kernel), (layer.stride, layer.stride), "same"),
                                layer.activation)
            if layer.squeeze_excite:
                y = self.squeeze_excite(y)
            y = self.conv(y, layer.out_channels, (1, 1), (1, 1), "same")
            if layer.stride == 1 and in_channels == layer.out_channels:
                y = self.add(x, y)
            return y
        if isinstance(layer, BasicResidual):
            s = (layer.stride, layer.stride)
            y = self.conv(x, layer.filters, (3, 3), s, "same")
            y = self.conv(y, layer.filters, (3, 3), (1, 1), "same")
            shortcut = x
            if layer.stride != 1 or self.shapes[x][2] != layer.filters:
                shortcut = self.conv(x, layer.filters, (1, 1), s, "same")
            return self.add(shortcut, y)
        if isinstance(layer, Pool):
            h, w, c = self.shapes[x]
            oh = _out_size(h, layer.size[0], layer.stride[0], layer.padding)
            ow = _out_size(w, layer.size[1], layer.stride[1], layer.padding)
            kind = OpKind.AVERAGE_POOL_2D if layer.kind == "avg" else OpKind.MAX_POOL_2D
            return self._emit(kind, (x,), (oh, ow, c))
        if isinstance(layer, GlobalAvgPool):
            return self._emit(OpKind.MEAN, (x,), (self.shapes[x][-1],))
        if isinstance(layer, Flatten):
            return self._emit(OpKind.RESHAPE, (x,), (math.prod(self.shapes[x]),))
        if isinstance(layer, Dense):
            previous = self.ops[-1] if self.ops else None
            if (previous is not None and previous.kind == OpKind.RESHAPE and previous.output == x
                    and math.prod(self.shapes[previous.inputs[0]][:-1]) == 1):
                # The converter drops a Flatten of a 1x1xC map feeding FULLY_CONNECTED.
                x = self.ops.pop().inputs[0]
                self.shapes.pop()
            n = math.prod(self.shapes[x])
            return self.activation(self._emit(OpKind.FULLY_CONNECTED, (x,), (layer.units,), n * layer.units,
                                              n * layer.units, layer.units), layer.activation)
        if isinstance(layer, Softmax):
            return self._emit(OpKind.SOFTMAX, (x,), self.shapes[x])
        raise TypeError(f"{where}: unknown layer type {type(layer).__name__}")


def lower(spec: Spec) -> tuple[Op, ...]:
    """The primitive ops of ``spec`` in execution order."""
    network: Network = spec.network()
    lowering = _Lowering(network.input_shape)
    x = 0
    for index, layer in enumerate(network.layers):
        x = lowering.layer(x, layer, f"{network.name} layer {index} ({type(layer).__name__})")
        if len(lowering.shapes[x]) not in (1, 3):
            raise ValueError(f"unexpected shape {lowering.shapes[x]}")
    return tuple(lowering.ops)


def live_bytes_per_op(input_shape: Shape, ops: tuple[Op, ...]) -> tuple[int, ...]:
    """For each op, the int8 bytes of every tensor live during it: its inputs, its output and
    tensors produced earlier and consumed later (the model input lives until its last use, the
    model output from its producer on)."""
    sizes = {0: math.prod(input_shape)}
    first = {0: 0}
    last = {0: 0}
    for index, op in enumerate(ops):
        sizes[op.output] = math.prod(op.output_shape)
        first[op.output] = index
        last[op.output] = index
        for tensor in op.inputs:
            last[tensor] = index
    return tuple(
        sum(size for tensor, size in sizes.items() if first[tensor] <= index <= last[tensor])
        for index in range(len(ops))
    )


def peak_activation_bytes(input_shape: Shape, ops: tuple[Op, ...]) -> int:
    """Max over ops of ``live_bytes_per_op`` (the input alone for an empty op list)."""
    return max(live_bytes_per_op(input_shape, ops), default=math.prod(input_shape))


def count(spec: Spec) -> Counts:
    ops = lower(spec)
    return Counts(
        macs=sum(op.macs for op in ops),
        params=sum(op.params for op in ops),
        weight_bytes=sum(op.weights + 4 * op.biases for op in ops),
        peak_activation_bytes=peak_activation_bytes(spec.network().input_shape, ops),
        ops=ops,
    )
