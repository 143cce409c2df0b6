"""An int8 graph for a spec without Keras or the TFLite converter: the ops, shapes and options the converter gives
the spec (tinyc.frontend.count's lowering), with seeded random int8 weights and plausible quantization.

What it is for: planning (schedule, arena, flash, MACs) in milliseconds, where converting a Keras model takes
seconds, e.g. TinyNAS's first step, which plans hundreds of candidates (tinyc.search.space_choice), and the
"does not fit" advice's bisection over a width multiplier or a resolution. The values are not a trained network's:
never compile it for its outputs. tests/test_search.py checks that its plan equals the converted model's (arena, MACs).
"""

from __future__ import annotations

import numpy as np

from tinyc.frontend.count import Op as CountOp
from tinyc.frontend.count import lower as count_lower
from tinyc.frontend.spec import Spec
from tinyc.ir.graph import (
    Activation,
    ActivationOptions,
    ConvOptions,
    DType,
    FullyConnectedOptions,
    Graph,
    MeanOptions,
    Op,
    OpKind,
    Options,
    Padding,
    Quant,
    SoftmaxOptions,
    Tensor,
    validate,
)

INPUT_QUANT = Quant((1 / 255,), (-128,))  # [0, 1] inputs, as the bundled data sets
ACTIVATION_QUANT = Quant((0.02,), (-128,))
SOFTMAX_QUANT = Quant((1 / 256,), (-128,))  # what the converter gives every int8 softmax output
WEIGHT_SCALE = 0.005
PADDINGS = {"same": Padding.SAME, "valid": Padding.VALID}


class _Builder:
    def __init__(self, seed: int) -> None:
        self.tensors: list[Tensor] = []
        self.ops: list[Op] = []
        self.rng = np.random.default_rng(seed)

    def tensor(self, name: str, shape: tuple[int, ...], dtype: DType, quant: Quant | None,
               data: np.ndarray | None = None) -> int:
        self.tensors.append(Tensor(len(self.tensors), name, shape, dtype, quant, data))
        return len(self.tensors) - 1

    def weights(self, name: str, shape: tuple[int, ...], *, axis: int) -> int:
        channels = shape[axis]
        data = self.rng.integers(-127, 128, size=shape).astype(np.int8)
        return self.tensor(name, shape, DType.INT8, Quant((WEIGHT_SCALE,) * channels, (0,) * channels, axis), data)

    def bias(self, name: str, channels: int, input_scale: float) -> int:
        data = self.rng.integers(-1000, 1000, size=(channels,)).astype(np.int32)
        quant = Quant((input_scale * WEIGHT_SCALE,) * channels, (0,) * channels)
        return self.tensor(name, (channels,), DType.INT32, quant, data)

    def op(self, kind: OpKind, inputs: tuple[int, ...], output: int, options: Options) -> None:
        self.ops.append(Op(len(self.ops), kind, kind.value, inputs, (output,), options))


def _conv_options(op: CountOp) -> ConvOptions:
    return ConvOptions(padding=PADDINGS[op.padding], stride_h=op.stride[0], stride_w=op.stride[1], dilation_h=1,
                       dilation_w=1, activation=Activation.NONE)


def synthetic_graph(spec: Spec, *, seed: int = 0) -> Graph:
    """The int8 graph of `spec` (batch 1). Raises ValueError for a layer the synthetic lowering does not cover."""
    network = spec.network()
    b = _Builder(seed)
    ids = {0: b.tensor("input", (1, *network.input_shape), DType.INT8, INPUT_QUANT)}  # count's tensor id -> ours
    ops = count_lower(spec)
    for index, op in enumerate(ops):
        name = f"op{index}_{op.kind.value.lower()}"
        inputs = tuple(ids[i] for i in op.inputs)
        x_scale = b.tensors[inputs[0]].scale
        quant = SOFTMAX_QUANT if op.kind is OpKind.SOFTMAX else ACTIVATION_QUANT
        out = b.tensor(name, (1, *op.output_shape), DType.INT8, quant)
        ids[op.output] = out
        if op.kind is OpKind.CONV_2D:
            channels_in = b.tensors[inputs[0]].shape[-1]
            w = b.weights(f"{name}/weights", (op.output_shape[-1], *op.kernel, channels_in), axis=0)
            b.op(op.kind, (inputs[0], w, b.bias(f"{name}/bias", op.output_shape[-1], x_scale)), out,
                 _conv_options(op))
        elif op.kind is OpKind.DEPTHWISE_CONV_2D:
            channels = op.output_shape[-1]
            w = b.weights(f"{name}/weights", (1, *op.kernel, channels), axis=3)
            b.op(op.kind, (inputs[0], w, b.bias(f"{name}/bias", channels, x_scale)), out, _conv_options(op))
        elif op.kind is OpKind.FULLY_CONNECTED:
            units, features = op.output_shape[-1], b.tensors[inputs[0]].shape[-1]
            w = b.weights(f"{name}/weights", (units, features), axis=0)
            b.op(op.kind, (inputs[0], w, b.bias(f"{name}/bias", units, x_scale)), out,
                 FullyConnectedOptions(Activation.NONE, keep_num_dims=False))
        elif op.kind is OpKind.MEAN:
            axes = b.tensor(f"{name}/axes", (2,), DType.INT32, None, np.array([1, 2], np.int32))
            b.op(op.kind, (inputs[0], axes), out, MeanOptions(keep_dims=len(op.output_shape) == 3))
        elif op.kind is OpKind.MUL and len(inputs) == 1:  # hard-sigmoid's 1/6: a scalar constant
            constant = b.tensor(f"{name}/constant", (), DType.INT8, Quant((1 / 6 / 127,), (0,)),
                                np.array(127, np.int8))
            b.op(op.kind, (inputs[0], constant), out, ActivationOptions(Activation.NONE))
        elif op.kind in (OpKind.MUL, OpKind.ADD):
            b.op(op.kind, inputs, out, ActivationOptions(Activation.NONE))
        elif op.kind is OpKind.SOFTMAX:
            b.op(op.kind, inputs, out, SoftmaxOptions(beta=1.0))
        else:
            raise ValueError(f"{network.name}: a synthetic graph does not cover {op.kind.value} (op {index})")
    graph = Graph(tensors=tuple(b.tensors), ops=tuple(b.ops), inputs=(ids[0],), outputs=(ids[ops[-1].output],))
    validate(graph)
    return graph
