"""Read a .tflite flatbuffer into the frozen `Graph`: the only module that touches the schema.

The whole file is validated before anything uses it: its flatbuffer structure (`tinyc.ir.tflite_flatbuffer`
checks every offset, vector and string), every opcode, buffer and tensor index, every constant buffer's
length against its tensor's shape and type, every shape (no negative dimension, fewer than 2^31
elements), the quantization of every int8 tensor, the order of the ops, and every op's shapes against
its rule (`tinyc.ir.shape_rules`). A problem raises one `ModelFormatError` naming the tensor or op (name and
index). TensorFlow is not imported.

Shape-only subgraphs (Keras 3's Flatten computes its target shape with SHAPE / STRIDED_SLICE /
PACK) are removed: RESHAPE takes its static output shape from the flatbuffer, so the ops that only
compute that shape become dead and are dropped. The converter's chains for dilated convolutions and UpSampling2D
are folded into one op each (`tinyc.ir.patterns`). A float32 interface (QUANTIZE of the float input first,
DEQUANTIZE of the output last) is left out of the graph and recorded in `Graph.float_edges`.
"""

from __future__ import annotations

import math
import struct
from dataclasses import replace

import numpy as np
import tflite

from tinyc.errors import ModelFormatError, UnsupportedModelError
from tinyc.ir.graph import (Activation, ActivationOptions, ConvOptions, DType, FloatEdges, FullyConnectedOptions,
                         GateActivation, Graph, LeakyReluOptions, LstmOptions, MeanOptions, NoOptions, Op, OpKind, Options, Padding, PoolOptions, Quant, ResizeOptions, SliceOptions,
                         SoftmaxOptions, Tensor, validate)
from tinyc.ir.int4 import packed_bytes, unpack_int4
from tinyc.ir.tflite_flatbuffer import FbTable, buffer_bytes, parse_model

_BUILTIN_NAMES = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
_TENSOR_TYPES = {
    tflite.TensorType.INT8: DType.INT8, tflite.TensorType.INT16: DType.INT16,
    tflite.TensorType.INT32: DType.INT32, tflite.TensorType.INT64: DType.INT64,
    tflite.TensorType.UINT8: DType.UINT8, tflite.TensorType.FLOAT32: DType.FLOAT32,
    tflite.TensorType.BOOL: DType.BOOL, tflite.TensorType.INT4: DType.INT4,
}
_NUMPY_TYPES = {DType.INT8: np.int8, DType.INT16: np.int16, DType.INT32: np.int32, DType.INT64: np.int64,
                DType.UINT8: np.uint8, DType.FLOAT32: np.float32, DType.BOOL: np.bool_}
_ACTIVATIONS = {
    tflite.ActivationFunctionType.NONE: Activation.NONE, tflite.ActivationFunctionType.RELU: Activation.RELU,
    tflite.ActivationFunctionType.RELU_N1_TO_1: Activation.RELU_N1_TO_1,
    tflite.ActivationFunctionType.RELU6: Activation.RELU6,
}
_PADDINGS = {tflite.Padding.SAME: Padding.SAME, tflite.Padding.VALID: Padding.VALID}
_ZERO_POINT_RANGE = {DType.INT4: (-8, 7), DType.INT8: (-128, 127), DType.UINT8: (0, 255), DType.INT16: (-32768, 32767)}
MAX_ELEMENTS = 2 ** 31  # TFLite counts elements in int32
# Quantization scales: requantization computes in float32 and double; beyond these bounds it overflows.
MIN_SCALE, MAX_SCALE = 1e-18, 1e18

# The options table each op kind reads; `required` ones have no meaningful defaults.
_OPTIONS_TABLE = {OpKind.CONV_2D: "Conv2DOptions", OpKind.DEPTHWISE_CONV_2D: "DepthwiseConv2DOptions",
                  OpKind.AVERAGE_POOL_2D: "Pool2DOptions", OpKind.MAX_POOL_2D: "Pool2DOptions",
                  OpKind.FULLY_CONNECTED: "FullyConnectedOptions", OpKind.ADD: "AddOptions",
                  OpKind.CONCATENATION: "ConcatenationOptions", OpKind.SOFTMAX: "SoftmaxOptions",
                  OpKind.MEAN: "ReducerOptions", OpKind.MUL: "MulOptions", OpKind.SUB: "SubOptions",
                  OpKind.LEAKY_RELU: "LeakyReluOptions",
                  OpKind.RESIZE_NEAREST_NEIGHBOR: "ResizeNearestNeighborOptions",
                  OpKind.RESIZE_BILINEAR: "ResizeBilinearOptions", OpKind.TRANSPOSE_CONV: "TransposeConvOptions",
                  OpKind.STRIDED_SLICE: "StridedSliceOptions",
                  OpKind.UNIDIRECTIONAL_SEQUENCE_LSTM: "UnidirectionalSequenceLSTMOptions"}
_OPTIONS_REQUIRED = {OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D, OpKind.TRANSPOSE_CONV, OpKind.AVERAGE_POOL_2D, OpKind.MAX_POOL_2D,
                     OpKind.CONCATENATION, OpKind.SOFTMAX, OpKind.UNIDIRECTIONAL_SEQUENCE_LSTM}
# UNIDIRECTIONAL_SEQUENCE_LSTM's 24 inputs: the data inputs tinyc keeps (input; input-to-gate weights i, f, c, o;
# recurrent weights i, f, c, o; gate biases i, f, c, o) and its variable state tensors (hidden, cell).
LSTM_INPUTS = 24
LSTM_DATA_INPUTS = (0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 13, 14, 15)
LSTM_HIDDEN_STATE, LSTM_CELL_STATE = 18, 19


def _bad(what: str) -> ModelFormatError:
    return ModelFormatError(f"invalid .tflite model: {what}")


def _activation(code: int) -> Activation:
    return _ACTIVATIONS.get(code, Activation.OTHER)


def _padding(code: int, where: str) -> Padding:
    if code not in _PADDINGS:
        raise _bad(f"{where}: padding code {code} is neither SAME (0) nor VALID (1)")
    return _PADDINGS[code]


def _options(kind: OpKind, table: FbTable | None, where: str) -> Options:
    expected = _OPTIONS_TABLE.get(kind)
    if expected is None:
        return NoOptions()
    if table is None or table.type != expected:
        if kind in _OPTIONS_REQUIRED or table is not None:
            has = f"has {table.type}" if table is not None else "has none"
            raise _bad(f"{where}: needs its {expected} table and {has}")
        defaults: dict[OpKind, Options] = {OpKind.FULLY_CONNECTED: FullyConnectedOptions(activation=Activation.NONE, keep_num_dims=False),
                    OpKind.ADD: ActivationOptions(activation=Activation.NONE),
                    OpKind.MUL: ActivationOptions(activation=Activation.NONE),
                    OpKind.SUB: ActivationOptions(activation=Activation.NONE),
                    OpKind.LEAKY_RELU: LeakyReluOptions(alpha=0.0),
                    OpKind.RESIZE_NEAREST_NEIGHBOR: ResizeOptions(align_corners=False, half_pixel_centers=False),
                    OpKind.RESIZE_BILINEAR: ResizeOptions(align_corners=False, half_pixel_centers=False),
                    OpKind.STRIDED_SLICE: SliceOptions(0, 0, 0, 0, False),
                    OpKind.MEAN: MeanOptions(keep_dims=False)}
        return defaults[kind]
    o = table.values
    if kind in (OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D):
        depthwise = kind is OpKind.DEPTHWISE_CONV_2D
        return ConvOptions(padding=_padding(o["padding"], where), stride_h=o["stride_h"], stride_w=o["stride_w"],
                           dilation_h=o["dilation_h_factor"], dilation_w=o["dilation_w_factor"],
                           activation=_activation(o["fused_activation_function"]),
                           depth_multiplier=o["depth_multiplier"] if depthwise else 1)
    if kind is OpKind.STRIDED_SLICE:
        return SliceOptions(begin_mask=o["begin_mask"], ellipsis_mask=o["ellipsis_mask"],
                            new_axis_mask=o["new_axis_mask"], shrink_axis_mask=o["shrink_axis_mask"],
                            offset=bool(o["offset"]), end_mask=o["end_mask"])
    if kind is OpKind.UNIDIRECTIONAL_SEQUENCE_LSTM:  # the state tensors are filled in by `_lstm`
        return LstmOptions(cell_activation=GateActivation.TANH if o["fused_activation_function"] ==
                           tflite.ActivationFunctionType.TANH else GateActivation.OTHER,
                           cell_clip=float(np.float32(o["cell_clip"])), proj_clip=float(np.float32(o["proj_clip"])),
                           time_major=bool(o["time_major"]),
                           asymmetric_quantize_inputs=bool(o["asymmetric_quantize_inputs"]), hidden_state=-1,
                           cell_state=-1)
    if kind is OpKind.TRANSPOSE_CONV:
        return ConvOptions(padding=_padding(o["padding"], where), stride_h=o["stride_h"], stride_w=o["stride_w"],
                           dilation_h=1, dilation_w=1, activation=_activation(o["fused_activation_function"]))
    if kind in (OpKind.AVERAGE_POOL_2D, OpKind.MAX_POOL_2D):
        return PoolOptions(padding=_padding(o["padding"], where), stride_h=o["stride_h"], stride_w=o["stride_w"],
                           filter_h=o["filter_height"], filter_w=o["filter_width"],
                           activation=_activation(o["fused_activation_function"]))
    if kind is OpKind.FULLY_CONNECTED:
        return FullyConnectedOptions(activation=_activation(o["fused_activation_function"]),
                                     keep_num_dims=bool(o["keep_num_dims"]))
    if kind in (OpKind.ADD, OpKind.MUL, OpKind.SUB):
        return ActivationOptions(activation=_activation(o["fused_activation_function"]))
    if kind is OpKind.LEAKY_RELU:
        return LeakyReluOptions(alpha=float(np.float32(o["alpha"])))
    if kind is OpKind.CONCATENATION:
        return ActivationOptions(activation=_activation(o["fused_activation_function"]), axis=o["axis"])
    if kind in (OpKind.RESIZE_NEAREST_NEIGHBOR, OpKind.RESIZE_BILINEAR):
        return ResizeOptions(align_corners=bool(o["align_corners"]), half_pixel_centers=bool(o["half_pixel_centers"]))
    if kind is OpKind.SOFTMAX:
        return SoftmaxOptions(beta=float(np.float32(o["beta"])))
    return MeanOptions(keep_dims=bool(o["keep_dims"]))


def _tensor_label(name: str, index: int) -> str:
    return f"tensor {name!r} (index {index})"


def _quant(t: FbTable, label: str, dtype: DType, shape: tuple[int, ...], constant: bool) -> Quant | None:
    q: FbTable | None = t["quantization"]
    if q is None or len(q["scale"]) == 0:
        if dtype in (DType.INT8, DType.INT4):
            raise _bad(f"{label} is {dtype.value} but has no quantization parameters (scale, zero point); int8 tensors need "
                       "them: convert with full-integer quantization and a representative dataset")
        return None
    scales = q["scale"].astype(np.float64)
    zps = q["zero_point"]
    if len(zps) not in (0, len(scales)):
        raise _bad(f"{label} has {len(scales)} quantization scales but {len(zps)} zero points")
    least = 0.0 if constant else MIN_SCALE
    for s in scales:
        if not (math.isfinite(s) and least <= s <= MAX_SCALE and (s > 0 or constant)):
            raise _bad(f"{label} has quantization scale {s}; scales must be finite and between {MIN_SCALE} and "
                       f"{MAX_SCALE}" + ("" if not constant else " (or 0 for constants)"))
    low, high = _ZERO_POINT_RANGE.get(dtype, (-(2 ** 63), 2 ** 63 - 1))
    if len(zps) and (int(zps.min()) < low or int(zps.max()) > high):
        raise _bad(f"{label} has zero point {int(zps.min()) if int(zps.min()) < low else int(zps.max())}, "
                   f"outside the {dtype.value} range [{low}, {high}]")
    axis = int(q["quantized_dimension"])
    if len(scales) > 1:
        if not 0 <= axis < len(shape):
            raise _bad(f"{label} is quantized per channel along axis {axis}, but its shape {shape} has "
                       f"{len(shape)} dimensions")
        if shape[axis] != len(scales):
            raise _bad(f"{label} has {len(scales)} per-channel scales along axis {axis}, but its shape {shape} "
                       f"has {shape[axis]} channels there")
    return Quant(scales=tuple(float(np.float32(s)) for s in scales),
                 zero_points=tuple(int(z) for z in zps) if len(zps) else (0,) * len(scales), axis=axis)


def _tensor(model_bytes: bytes, buffers: list[FbTable], t: FbTable, index: int) -> Tensor:
    name = t["name"] or f"tensor_{index}"
    label = _tensor_label(name, index)
    dtype = _TENSOR_TYPES.get(t["type"], DType.OTHER)
    shape = tuple(int(d) for d in t["shape"])
    if any(d < -1 for d in shape):
        raise _bad(f"{label} has a negative dimension in its shape {shape}")
    if math.prod(d for d in shape if d > 0) >= MAX_ELEMENTS:
        raise _bad(f"{label} has shape {shape}, {math.prod(d for d in shape if d > 0):,} elements; TFLite tensors "
                   f"hold fewer than 2^31")
    if not 0 <= t["buffer"] < len(buffers):
        raise _bad(f"{label} refers to buffer {t['buffer']}, but the model has {len(buffers)} buffers")
    raw = buffer_bytes(model_bytes, buffers[t["buffer"]], t["buffer"])
    data: np.ndarray | None = None
    if raw and dtype is DType.INT4:  # packed two per byte, low nibble first (tinyc.ir.int4)
        if any(d < 0 for d in shape):
            raise _bad(f"{label} holds constant data but has a dynamic shape {shape}")
        count = math.prod(shape)
        if len(raw) != packed_bytes(count):
            raise _bad(f"{label}: buffer {t['buffer']} holds {len(raw):,} bytes, but its shape {shape} of int4 "
                       f"(two per byte) needs {packed_bytes(count):,}")
        data = unpack_int4(raw, count).reshape(shape)
        data.flags.writeable = False
    elif raw and dtype in _NUMPY_TYPES:
        if any(d < 0 for d in shape):
            raise _bad(f"{label} holds constant data but has a dynamic shape {shape}")
        needed = math.prod(shape) * np.dtype(_NUMPY_TYPES[dtype]).itemsize
        if len(raw) != needed:
            raise _bad(f"{label}: buffer {t['buffer']} holds {len(raw):,} bytes, but its shape {shape} of "
                       f"{dtype.value} needs {needed:,}")
        data = np.frombuffer(raw, dtype=_NUMPY_TYPES[dtype]).reshape(shape)
        data.flags.writeable = False
    return Tensor(index=index, name=name, shape=shape, dtype=dtype,
                  quant=_quant(t, label, dtype, shape, constant=data is not None), data=data)


def _kind(name: str) -> OpKind:
    return OpKind.__members__.get(name, OpKind.OTHER)


def _op(index: int, op: FbTable, codes: list[FbTable], n_tensors: int) -> Op:
    if not 0 <= op["opcode_index"] < len(codes):
        raise _bad(f"op {index} has opcode index {op['opcode_index']}, but the model has {len(codes)} operator codes")
    code = codes[op["opcode_index"]]
    builtin = max(code["builtin_code"], code["deprecated_builtin_code"])
    name = _BUILTIN_NAMES.get(builtin, f"BUILTIN_{builtin}")
    if name == "CUSTOM":
        name = f"CUSTOM:{code['custom_code'] or '?'}"
    kind = _kind(name)
    where = f"op {index} ({name})"
    inputs, outputs = tuple(int(x) for x in op["inputs"]), tuple(int(x) for x in op["outputs"])
    for role, indices, lowest in (("input", inputs, -1), ("output", outputs, 0)):
        for position, i in enumerate(indices):
            if not lowest <= i < n_tensors:
                raise _bad(f"{where}: {role} {position} is tensor index {i}, but the subgraph has {n_tensors} tensors")
    read = Op(index=index, kind=kind, opcode_name=name, inputs=inputs, outputs=outputs,
              options=_options(kind, op["builtin_options"], where))
    return _lstm(read, where) if kind is OpKind.UNIDIRECTIONAL_SEQUENCE_LSTM else read


def _lstm(op: Op, where: str) -> Op:
    """UNIDIRECTIONAL_SEQUENCE_LSTM with its data inputs only (`LSTM_DATA_INPUTS`); its state tensors and the
    optional inputs the file fills go to its `LstmOptions`."""
    if len(op.inputs) != LSTM_INPUTS:
        raise _bad(f"{where}: {len(op.inputs)} inputs; UNIDIRECTIONAL_SEQUENCE_LSTM takes {LSTM_INPUTS}")
    hidden, cell = op.inputs[LSTM_HIDDEN_STATE], op.inputs[LSTM_CELL_STATE]
    if hidden < 0 or cell < 0:
        raise _bad(f"{where}: no hidden or cell state tensor (inputs {LSTM_HIDDEN_STATE} and {LSTM_CELL_STATE})")
    assert isinstance(op.options, LstmOptions)
    present = tuple(k for k, i in enumerate(op.inputs)
                    if i >= 0 and k not in LSTM_DATA_INPUTS and k not in (LSTM_HIDDEN_STATE, LSTM_CELL_STATE))
    return replace(op, inputs=tuple(op.inputs[k] for k in LSTM_DATA_INPUTS),
                   options=replace(op.options, hidden_state=hidden, cell_state=cell, present_optional=present))


def _check_dataflow(ops: list[Op], tensors: tuple[Tensor, ...], inputs: tuple[int, ...],
                    outputs: tuple[int, ...]) -> None:
    """Ops in execution order, each tensor written once, never a constant or a model input."""
    n = len(tensors)
    for role, indices in (("input", inputs), ("output", outputs)):
        for i in indices:
            if not 0 <= i < n:
                raise _bad(f"model {role} is tensor index {i}, but the subgraph has {n} tensors")
    for i in inputs:
        if tensors[i].is_constant:
            raise _bad(f"model input {_tensor_label(tensors[i].name, i)} is a constant (it has data in buffer)")
    available = set(inputs) | {t.index for t in tensors if t.is_constant}
    writer: dict[int, str] = {}
    for op in ops:
        for i in op.inputs:
            if i >= 0 and i not in available:
                raise _bad(f"{op.label} reads {_tensor_label(tensors[i].name, i)} before any op writes it "
                           "(ops must be stored in execution order)")
        for i in op.outputs:
            t = tensors[i]
            if i in writer:
                raise _bad(f"{op.label} writes {_tensor_label(t.name, i)}, which {writer[i]} already writes")
            if t.is_constant or i in inputs:
                what = "a constant" if t.is_constant else "a model input"
                raise _bad(f"{op.label} writes {_tensor_label(t.name, i)}, which is {what}")
            writer[i] = op.label
            available.add(i)
    for i in outputs:
        if i not in writer:
            raise _bad(f"model output {_tensor_label(tensors[i].name, i)} is not written by any op")


def _drop_dead_ops(ops: list[Op], outputs: tuple[int, ...]) -> tuple[Op, ...]:
    """Keep only ops whose outputs reach a graph output; RESHAPE's shape input does not count."""
    needed = set(outputs)
    kept: list[Op] = []
    for op in reversed(ops):
        if not needed.intersection(op.outputs):
            continue
        kept.append(op)
        needed.update(i for i in _data_inputs(op) if i >= 0)
    kept.reverse()
    return tuple(Op(index=i, kind=op.kind, opcode_name=op.opcode_name, inputs=_data_inputs(op), outputs=op.outputs,
                    options=op.options) for i, op in enumerate(kept))


def _data_inputs(op: Op) -> tuple[int, ...]:
    """The inputs an op reads data from, in tinyc's order: RESHAPE without its shape input; TRANSPOSE_CONV (output
    shape, weights, input[, bias]) as a convolution's (input, weights, bias or -1), its output shape computed by
    SHAPE / STRIDED_SLICE / PACK being static in the flatbuffer."""
    if op.kind is OpKind.RESHAPE:
        return op.inputs[:1]
    if op.kind is OpKind.TRANSPOSE_CONV and len(op.inputs) >= 3:
        return (op.inputs[2], op.inputs[1], op.inputs[3] if len(op.inputs) > 3 else -1)
    return op.inputs


def read_tflite(model_bytes: bytes) -> Graph:
    """Parse and validate a TFLite flatbuffer (one subgraph) into a `Graph`; `ModelFormatError` if malformed."""
    from tinyc.ir.patterns import fold_patterns, strip_float_edges
    from tinyc.ir.shape_rules import check_shapes

    model_bytes = bytes(model_bytes)
    model = parse_model(model_bytes)
    subgraphs = model["subgraphs"]
    if not subgraphs:
        raise _bad("the model has no subgraph")
    if len(subgraphs) != 1:
        raise UnsupportedModelError(f"the model has {len(subgraphs)} subgraphs; "
                                    "tinyc supports models with exactly one (no control flow)")
    sub = subgraphs[0]
    tensors = tuple(_tensor(model_bytes, model["buffers"], t, i) for i, t in enumerate(sub["tensors"]))
    ops = [_op(i, op, model["operator_codes"], len(tensors)) for i, op in enumerate(sub["operators"])]
    inputs = tuple(int(x) for x in sub["inputs"])
    outputs = tuple(int(x) for x in sub["outputs"])
    _check_dataflow(ops, tensors, inputs, outputs)
    core, inputs, outputs, float_input, float_output = strip_float_edges(tuple(ops), tensors, inputs, outputs)
    folded_ops, tensors = fold_patterns(_drop_dead_ops(list(core), outputs), tensors, outputs)
    graph = Graph(tensors=tensors, ops=folded_ops, inputs=inputs, outputs=outputs,
                  float_edges=FloatEdges(input=float_input, output=float_output))
    validate(graph)  # after this, every shape is static and positive
    check_shapes(graph)
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
    interpreters cannot run the softmax itself.

    Patched in place, without TensorFlow: the operators vector loses its last entry (the table stays in the
    file, unreferenced) and the one model output becomes the softmax's input."""
    model = parse_model(model_bytes)
    sub = model["subgraphs"][0]
    operators = sub["operators"]
    if not operators or len(sub["outputs"]) != 1:
        return None
    last = operators[-1]
    if list(sub["outputs"]) != list(last["outputs"]) or not len(last["inputs"]):
        return None
    codes = model["operator_codes"]
    if not 0 <= last["opcode_index"] < len(codes):
        return None
    code = codes[last["opcode_index"]]
    if max(code["builtin_code"], code["deprecated_builtin_code"]) != tflite.BuiltinOperator.SOFTMAX:
        return None
    patched = bytearray(model_bytes)
    struct.pack_into("<I", patched, sub.positions["operators.length"], len(operators) - 1)
    struct.pack_into("<i", patched, sub.positions["outputs.start"], int(last["inputs"][0]))
    return bytes(patched)
