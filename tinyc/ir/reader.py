"""Read a .tflite flatbuffer into the frozen `Graph`: the only module that touches the schema.

Shape-only subgraphs (Keras 3's Flatten computes its target shape with SHAPE / STRIDED_SLICE /
PACK) are removed: RESHAPE takes its static output shape from the flatbuffer, so the ops that only
compute that shape become dead and are dropped.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import tflite

from tinyc.errors import ModelLoadError, UnsupportedModelError
from tinyc.ir.graph import (Activation, ActivationOptions, ConvOptions, DType, FullyConnectedOptions, Graph,
                         MeanOptions, NoOptions, Op, OpKind, Options, Padding, PoolOptions, Quant,
                         SoftmaxOptions, Tensor, validate)

_BUILTIN_NAMES = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
_TENSOR_TYPES = {
    tflite.TensorType.INT8: DType.INT8, tflite.TensorType.INT16: DType.INT16,
    tflite.TensorType.INT32: DType.INT32, tflite.TensorType.INT64: DType.INT64,
    tflite.TensorType.UINT8: DType.UINT8, tflite.TensorType.FLOAT32: DType.FLOAT32,
    tflite.TensorType.BOOL: DType.BOOL,
}
_NUMPY_TYPES = {DType.INT8: np.int8, DType.INT16: np.int16, DType.INT32: np.int32, DType.INT64: np.int64,
                DType.UINT8: np.uint8, DType.FLOAT32: np.float32, DType.BOOL: np.bool_}
_ACTIVATIONS = {
    tflite.ActivationFunctionType.NONE: Activation.NONE, tflite.ActivationFunctionType.RELU: Activation.RELU,
    tflite.ActivationFunctionType.RELU_N1_TO_1: Activation.RELU_N1_TO_1,
    tflite.ActivationFunctionType.RELU6: Activation.RELU6,
}
_PADDINGS = {tflite.Padding.SAME: Padding.SAME, tflite.Padding.VALID: Padding.VALID}


def _activation(code: int) -> Activation:
    return _ACTIVATIONS.get(code, Activation.OTHER)


def _table(op: tflite.Operator, cls: type) -> Any:
    table = op.BuiltinOptions()
    options = cls()
    if table is None:
        return None
    options.Init(table.Bytes, table.Pos)
    return options


def _options(kind: OpKind, op: tflite.Operator) -> Options:
    if kind in (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D):
        depthwise = kind is OpKind.DEPTHWISE_CONV_2D
        o = _table(op, tflite.DepthwiseConv2DOptions if depthwise else tflite.Conv2DOptions)
        return ConvOptions(padding=_PADDINGS[o.Padding()], stride_h=o.StrideH(), stride_w=o.StrideW(),
                           dilation_h=o.DilationHFactor(), dilation_w=o.DilationWFactor(),
                           activation=_activation(o.FusedActivationFunction()),
                           depth_multiplier=o.DepthMultiplier() if depthwise else 1)
    if kind in (OpKind.AVERAGE_POOL_2D, OpKind.MAX_POOL_2D):
        o = _table(op, tflite.Pool2DOptions)
        return PoolOptions(padding=_PADDINGS[o.Padding()], stride_h=o.StrideH(), stride_w=o.StrideW(),
                           filter_h=o.FilterHeight(), filter_w=o.FilterWidth(),
                           activation=_activation(o.FusedActivationFunction()))
    if kind is OpKind.FULLY_CONNECTED:
        o = _table(op, tflite.FullyConnectedOptions)
        return FullyConnectedOptions(activation=_activation(o.FusedActivationFunction()),
                                     keep_num_dims=bool(o.KeepNumDims()))
    if kind is OpKind.ADD:
        o = _table(op, tflite.AddOptions)
        return ActivationOptions(activation=_activation(o.FusedActivationFunction()) if o else Activation.NONE)
    if kind is OpKind.CONCATENATION:
        o = _table(op, tflite.ConcatenationOptions)
        return ActivationOptions(activation=_activation(o.FusedActivationFunction()), axis=o.Axis())
    if kind is OpKind.SOFTMAX:
        o = _table(op, tflite.SoftmaxOptions)
        return SoftmaxOptions(beta=float(np.float32(o.Beta())))
    if kind is OpKind.MEAN:
        o = _table(op, tflite.ReducerOptions)
        return MeanOptions(keep_dims=bool(o.KeepDims()))
    return NoOptions()


def _quant(t: tflite.Tensor) -> Quant | None:
    q = t.Quantization()
    if q is None or q.ScaleLength() == 0:
        return None
    scales = tuple(float(s) for s in q.ScaleAsNumpy().astype(np.float32))
    zps = tuple(int(z) for z in q.ZeroPointAsNumpy()) if q.ZeroPointLength() else (0,) * len(scales)
    return Quant(scales=scales, zero_points=zps, axis=q.QuantizedDimension())


def _tensor(model: tflite.Model, t: tflite.Tensor, index: int) -> Tensor:
    dtype = _TENSOR_TYPES.get(t.Type(), DType.OTHER)
    shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
    data: np.ndarray | None = None
    buffer = model.Buffers(t.Buffer())
    raw = buffer.DataAsNumpy() if buffer is not None and buffer.DataLength() else None
    if isinstance(raw, np.ndarray) and dtype in _NUMPY_TYPES:  # an empty buffer reads back as the integer 0
        data = np.frombuffer(raw.tobytes(), dtype=_NUMPY_TYPES[dtype]).reshape(shape)
        data.flags.writeable = False
    name = t.Name().decode() if t.Name() else f"tensor_{index}"
    return Tensor(index=index, name=name, shape=shape, dtype=dtype, quant=_quant(t), data=data)


def _kind(name: str) -> OpKind:
    return OpKind.__members__.get(name, OpKind.OTHER)


def _drop_dead_ops(ops: list[Op], outputs: tuple[int, ...]) -> tuple[Op, ...]:
    """Keep only ops whose outputs reach a graph output; RESHAPE's shape input does not count."""
    needed = set(outputs)
    kept: list[Op] = []
    for op in reversed(ops):
        if not needed.intersection(op.outputs):
            continue
        kept.append(op)
        data_inputs = op.inputs[:1] if op.kind is OpKind.RESHAPE else op.inputs
        needed.update(i for i in data_inputs if i >= 0)
    kept.reverse()
    return tuple(Op(index=i, kind=op.kind, opcode_name=op.opcode_name,
                    inputs=op.inputs[:1] if op.kind is OpKind.RESHAPE else op.inputs,
                    outputs=op.outputs, options=op.options) for i, op in enumerate(kept))


def read_tflite(model_bytes: bytes) -> Graph:
    """Parse a TFLite flatbuffer (first subgraph) into a validated `Graph`."""
    try:
        model = tflite.Model.GetRootAsModel(model_bytes, 0)
        if model.SubgraphsLength() != 1:
            raise UnsupportedModelError(f"the model has {model.SubgraphsLength()} subgraphs; "
                                        "tinyc supports models with exactly one (no control flow)")
        sub = model.Subgraphs(0)
    except UnsupportedModelError:
        raise
    except Exception as exc:  # the flatbuffer library raises plain errors on garbage
        raise ModelLoadError(f"not a valid .tflite flatbuffer ({exc})") from None
    tensors = tuple(_tensor(model, sub.Tensors(i), i) for i in range(sub.TensorsLength()))
    ops: list[Op] = []
    for i in range(sub.OperatorsLength()):
        op = sub.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        name = _BUILTIN_NAMES.get(builtin, f"BUILTIN_{builtin}")
        if name == "CUSTOM":
            name = f"CUSTOM:{code.CustomCode().decode()}"
        kind = _kind(name)
        ops.append(Op(index=i, kind=kind, opcode_name=name,
                      inputs=tuple(int(x) for x in op.InputsAsNumpy()) if op.InputsLength() else (),
                      outputs=tuple(int(x) for x in op.OutputsAsNumpy()) if op.OutputsLength() else (),
                      options=_options(kind, op)))
    inputs = tuple(int(x) for x in sub.InputsAsNumpy())
    outputs = tuple(int(x) for x in sub.OutputsAsNumpy())
    graph = Graph(tensors=tensors, ops=_drop_dead_ops(ops, outputs), inputs=inputs, outputs=outputs)
    validate(graph)
    return graph


def name_output(graph: Graph, layer: str | None) -> Graph:
    """The converter names the graph output after the signature; give it its Keras layer's name instead."""
    if layer is None:
        return graph
    tensors = tuple(replace(t, name=f"{layer}/output") if t.index in graph.outputs else t for t in graph.tensors)
    return replace(graph, tensors=tensors)


def without_final_softmax(model_bytes: bytes) -> bytes | None:
    """The same flatbuffer with its final SOFTMAX removed (its input becomes the model output), or None
    when the model does not end in one. For checking everything up to the logits where the reference
    interpreters cannot run the softmax itself."""
    from tinyc.frontend.convert import quiet_tensorflow
    quiet_tensorflow()
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(model_bytes))
    subgraph = model.subgraphs[0]
    last = subgraph.operators[-1] if subgraph.operators else None
    if last is None or list(subgraph.outputs) != list(last.outputs):
        return None
    code = model.operatorCodes[last.opcodeIndex]
    if max(code.builtinCode, code.deprecatedBuiltinCode) != tflite.BuiltinOperator.SOFTMAX:
        return None
    subgraph.operators = subgraph.operators[:-1]
    subgraph.outputs = [int(last.inputs[0])]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))
