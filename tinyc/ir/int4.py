"""int4 weights: TFLite's packed INT4 tensors, and rewriting an int8 flatbuffer's weights to them.

TFLite stores an INT4 tensor two values per byte over the flattened tensor, the first (even) element in the low
nibble, the next in the high nibble, the last byte's high nibble 0 when the count is odd; each nibble is a
two's-complement value in [-8, 7] (TFLite Micro's `UnpackDenseInt4IntoInt8`). tinyc quantizes symmetrically to
[-7, 7], per output channel, as TFLite's converter does for int8 ([-127, 127]).

`requantize_to_int4` is the only writer of the schema: it rewrites the chosen ops' weight tensors (type INT4,
packed data, per-channel scales) and their biases (int32, re-scaled to input scale x the new weight scale), so the
file stays a model TFLite Micro's interpreter runs. Which ops may be int4 is the registry `INT4_OPS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tinyc.errors import UnsupportedModelError
from tinyc.ir.graph import OpKind

INT4_MAX = 7  # symmetric: [-7, 7]
INT8_MAX = 127
INT4_TENSOR_TYPE = 17  # schema.fbs TensorType.INT4


def packed_bytes(count: int) -> int:
    """Bytes of a packed INT4 tensor of `count` values."""
    return (count + 1) // 2


def pack_int4(values: np.ndarray) -> np.ndarray:
    """Values in [-8, 7], flattened, two per byte, the first in the low nibble (uint8, `packed_bytes` long)."""
    flat = np.asarray(values, dtype=np.int64).reshape(-1)
    if flat.size and (flat.min() < -8 or flat.max() > 7):
        raise ValueError(f"int4 values must lie in [-8, 7], got [{flat.min()}, {flat.max()}]")
    if flat.size % 2:
        flat = np.concatenate([flat, np.zeros(1, dtype=np.int64)])
    nibbles = (flat & 0xF).astype(np.uint8)
    return (nibbles[0::2] | (nibbles[1::2] << 4)).astype(np.uint8)


def unpack_int4(packed: bytes | np.ndarray, count: int) -> np.ndarray:
    """The `count` int8 values of a packed INT4 buffer (sign-extended nibbles, low nibble first)."""
    raw = np.frombuffer(bytes(packed), dtype=np.uint8) if isinstance(packed, (bytes, bytearray)) else \
        np.asarray(packed, dtype=np.uint8)
    if raw.size != packed_bytes(count):
        raise ValueError(f"{count} int4 values take {packed_bytes(count)} bytes, got {raw.size}")
    both = np.empty(raw.size * 2, dtype=np.int16)
    both[0::2] = raw & 0xF
    both[1::2] = raw >> 4
    both = np.where(both > 7, both - 16, both)
    return both[:count].astype(np.int8)


@dataclass(frozen=True)
class Int4Rule:
    """How one op kind takes int4 weights: the weight tensor's channel axis, and whether TFLite Micro's reference
    interpreter runs it (`why_not` says why not: that op stays int8)."""
    channel_axis: int
    why_not: str = ""


INT4_OPS: dict[OpKind, Int4Rule] = {
    OpKind.CONV_2D: Int4Rule(channel_axis=0),
    OpKind.DEPTHWISE_CONV_2D: Int4Rule(channel_axis=3),
    OpKind.FULLY_CONNECTED: Int4Rule(channel_axis=0, why_not=(
        "TFLite Micro's reference FULLY_CONNECTED refuses INT4 filters with int8 input "
        "(fully_connected_common.cc: 'filter->type != kTfLiteInt4'), so the reference could not check it")),
}


def round_half_away(x: np.ndarray) -> np.ndarray:
    """Round to nearest, ties away from zero (TFLite's quantizer's rounding)."""
    rounded: np.ndarray = np.sign(x) * np.floor(np.abs(x) + 0.5)
    return rounded


def int4_from_int8(q8: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Per channel along `axis`: the int4 values nearest `q8 / step` and the step (in int8 units) that maps the
    channel's largest magnitude to 7. A channel of zeros keeps step 1. Exact (`q8 == round(q4 * step)`) when the
    int8 values came from weights already on a 4-bit grid (tinyc.frontend.weights projects them there)."""
    moved = np.moveaxis(np.asarray(q8, dtype=np.float64), axis, 0).reshape(q8.shape[axis], -1)
    largest = np.abs(moved).max(axis=1)
    step = np.where(largest > 0, largest / INT4_MAX, 1.0)
    q4 = np.clip(round_half_away(moved / step[:, None]), -INT4_MAX, INT4_MAX)
    shaped = np.moveaxis(q4.reshape(np.moveaxis(q8, axis, 0).shape), 0, axis)
    return shaped.astype(np.int8), step


def on_int4_grid(q8: np.ndarray, axis: int) -> bool:
    """Whether re-quantizing `q8` to int4 loses nothing: every value is the int8 rounding of an int4 value."""
    q4, step = int4_from_int8(q8, axis)
    steps = step.reshape([-1 if d == axis else 1 for d in range(q8.ndim)])
    return bool(np.array_equal(round_half_away(q4.astype(np.float64) * steps), np.asarray(q8, dtype=np.float64)))


def _schema() -> Any:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema
    return schema


def _own_buffer(schema: Any, model: Any, tensor: Any, users: dict[int, int]) -> None:
    """Give `tensor` a buffer of its own when the converter shares one between tensors (equal constants, such as
    all-zero biases, are stored once): rewriting it must not change the others."""
    if users.get(tensor.buffer, 0) <= 1:
        return
    users[tensor.buffer] -= 1
    copy = schema.BufferT()
    copy.data = np.array(model.buffers[tensor.buffer].data, dtype=np.uint8)
    model.buffers.append(copy)
    tensor.buffer = len(model.buffers) - 1
    users[tensor.buffer] = 1


def requantize_to_int4(model_bytes: bytes, weight_tensors: tuple[int, ...]) -> bytes:
    """The flatbuffer with the weight tensors `weight_tensors` (tensor indices of subgraph 0: the filters of CONV_2D
    or DEPTHWISE_CONV_2D ops) as packed INT4 per-channel tensors, re-quantized from their int8 values, and the
    biases of the ops they feed re-scaled."""
    import flatbuffers

    schema = _schema()
    model = schema.ModelT.InitFromPackedBuf(bytearray(model_bytes), 0)
    graph = model.subgraphs[0]
    users: dict[int, int] = {}
    for op in graph.operators:
        for i in op.inputs:
            if i >= 0:
                users[graph.tensors[i].buffer] = users.get(graph.tensors[i].buffer, 0) + 1
    feeds = {int(op.inputs[1]): (index, op) for index, op in enumerate(graph.operators) if len(op.inputs) > 1}
    for tensor in weight_tensors:
        index, op = feeds[tensor]
        weights = graph.tensors[tensor]
        name = weights.name.decode() if isinstance(weights.name, bytes) else str(weights.name)
        _own_buffer(schema, model, weights, users)
        q = weights.quantization
        shape = tuple(int(d) for d in weights.shape)
        axis = int(q.quantizedDimension)
        q8 = np.frombuffer(bytes(model.buffers[weights.buffer].data), dtype=np.int8).reshape(shape)
        if len(q.scale) != shape[axis]:
            raise UnsupportedModelError(f"op {index}: weights {name!r} are not quantized per channel along axis "
                                        f"{axis}; int4 needs per-channel scales")
        q4, step = int4_from_int8(q8, axis)
        q.scale = [float(np.float32(s * k)) for s, k in zip(q.scale, step, strict=True)]
        q.zeroPoint = [0] * len(q.scale)
        weights.type = INT4_TENSOR_TYPE
        model.buffers[weights.buffer].data = pack_int4(q4)
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            bias = graph.tensors[op.inputs[2]]
            b = np.frombuffer(bytes(model.buffers[bias.buffer].data), dtype=np.int32).astype(np.float64)
            rescaled = round_half_away(b / step)
            if np.abs(rescaled).max(initial=0) > 2 ** 31 - 1:
                raise UnsupportedModelError(f"op {index}: its bias overflows int32 at the int4 scale")
            _own_buffer(schema, model, bias, users)
            model.buffers[bias.buffer].data = rescaled.astype("<i4").view(np.uint8)
            bias.quantization.scale = [float(np.float32(s * k))
                                       for s, k in zip(bias.quantization.scale, step, strict=True)]
    builder = flatbuffers.Builder(max(1024, len(model_bytes)))
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())

