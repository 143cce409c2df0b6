"""Weight precision (`--weights int4`, `--int8-layers`): which layers get int4 weights, and the int4 model file.

int4 weights are per output channel, symmetric ([-7, 7]), written as TFLite's packed INT4 tensors
(`tinyc.ir.int4`) so TFLite Micro's interpreter runs the very file tinyc compiles. Activations stay int8.

- A Keras model (`.py`, `.keras`): each chosen layer's float kernel is put on a 4-bit grid per output channel
  (step = largest magnitude / 7) before TensorFlow's converter runs, so the activations are calibrated with the
  int4 weights, and the converter's int8 values are then exactly the int4 values times 127/7 (BatchNormalization
  folding scales a channel, which keeps it on its grid): the int4 tensor is the float kernel quantized to 4 bits.
  Keras layers and TFLite ops are matched in order (kind and kernel shape checked); where they do not match, the
  int4 values come from the int8 ones, as for a `.tflite`, and a note says so.
- An int8 `.tflite`: the int4 values are re-quantized from its int8 weights (the float weights are gone): lossy
  twice, the int4 value nearest the int8 one, which may differ by one step from the float weight's nearest
  where the float weight lay near a midpoint; a note says so.

Which ops: CONV_2D and DEPTHWISE_CONV_2D; FULLY_CONNECTED stays int8 (TFLite Micro's reference cannot run it with
int4 filters: `tinyc.ir.int4.INT4_OPS`); `--int8-layers` keeps more layers int8: `first`, `last` (of the layers
with weights), their index among those layers (0 = first), or a layer's name (the report's, or the Keras layer's).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tinyc.errors import ModelLoadError
from tinyc.ir.graph import DType, Graph, Op, OpKind
from tinyc.ir.int4 import INT4_MAX, INT4_OPS, on_int4_grid, packed_bytes, requantize_to_int4, round_half_away
from tinyc.ir.reader import read_tflite
from tinyc.ir.support import layer_name


class WeightBits(enum.Enum):
    INT8 = "int8"
    INT4 = "int4"


@dataclass(frozen=True)
class WeightOptions:
    """`--weights` and `--int8-layers`."""
    bits: WeightBits = WeightBits.INT8
    int8_layers: tuple[str, ...] = ()  # selectors: "first", "last", an index among the weighted layers, a name


@dataclass(frozen=True)
class LayerWeights:
    """One layer with weights: its precision, its weight tensor's bytes at int8 and now, and why it stays int8."""
    op_index: int
    kind: OpKind
    layer: str
    bits: int
    int8_bytes: int
    bytes: int
    why_int8: str = ""

    def as_json(self) -> dict[str, object]:
        return {"op_index": self.op_index, "op": self.kind.name, "layer": self.layer,
                "bits": self.bits, "int8_bytes": self.int8_bytes, "bytes": self.bytes, "why_int8": self.why_int8 or None}


@dataclass(frozen=True)
class WeightPrecision:
    """What `--weights int4` did: every layer with weights and its precision."""
    layers: tuple[LayerWeights, ...]

    @property
    def int8_bytes(self) -> int:
        return sum(layer.int8_bytes for layer in self.layers)

    @property
    def bytes(self) -> int:
        return sum(layer.bytes for layer in self.layers)

    @property
    def saved_bytes(self) -> int:
        return self.int8_bytes - self.bytes

    def as_json(self) -> dict[str, object]:
        return {"weight_tensor_bytes_int8": self.int8_bytes,
                "weight_tensor_bytes": self.bytes, "saved_bytes": self.saved_bytes,
                "layers": [layer.as_json() for layer in self.layers]}


def weighted_ops(graph: Graph) -> list[Op]:
    """The ops whose weights may be int4 (INT4_OPS' kinds), in graph order: what `first`, `last` and indices count."""
    return [op for op in graph.ops if op.kind in INT4_OPS]


def _keep_int8(options: WeightOptions, ops: list[Op], names: list[tuple[str, str | None]]) -> dict[int, str]:
    """Op index → why it stays int8, for each `--int8-layers` selector; an unknown selector is an error listing the
    layers."""
    keep: dict[int, str] = {}
    for selector in options.int8_layers:
        s = selector.strip()
        if s == "first" and ops:
            found = [0]
        elif s == "last" and ops:
            found = [len(ops) - 1]
        elif s.lstrip("-").isdigit() and -len(ops) <= int(s) < len(ops):
            found = [int(s) % len(ops)]
        else:
            found = [i for i, (name, keras) in enumerate(names) if s in (name, keras)]
        if not found:
            listing = ", ".join(f"{i}: {keras or name}" for i, (name, keras) in enumerate(names))
            raise ModelLoadError(f"--int8-layers: no layer {s!r} among the layers with weights ({listing}); give "
                                 "first, last, an index or a name from this list")
        for i in found:
            keep[ops[i].index] = f"--int8-layers {s}"
    return keep


# --- Keras: the float kernels on a 4-bit grid -------------------------------------------------------------------

def project_to_int4_grid(kernel: np.ndarray, kind: OpKind) -> np.ndarray:
    """The float kernel with each output channel on its 4-bit grid (step = largest magnitude / 7, ties away from
    zero). Output channels: Conv2D's and Dense's last axis; DepthwiseConv2D's last two (input channel x multiplier,
    TFLite's channel order)."""
    channels = kernel.shape[-1] * (kernel.shape[-2] if kind is OpKind.DEPTHWISE_CONV_2D else 1)
    columns = np.asarray(kernel, dtype=np.float64).reshape(-1, channels)
    largest = np.abs(columns).max(axis=0)
    step = np.where(largest > 0, largest / INT4_MAX, 1.0)
    return (round_half_away(columns / step) * step).reshape(kernel.shape).astype(np.float32)


def _keras_kind(layer: object) -> OpKind | None:
    """The TFLite op a Keras layer with a kernel converts to (Conv1D: a CONV_2D between reshapes)."""
    import keras
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        return OpKind.DEPTHWISE_CONV_2D
    if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv1D)):
        return OpKind.CONV_2D
    if isinstance(layer, keras.layers.Dense):
        return OpKind.FULLY_CONNECTED
    return None


def _keras_layers(model: object) -> list[object]:
    """The model's layers (nested ones too) that convert to an op of INT4_OPS' kinds, in order."""
    from tinyc.frontend.user_code import all_layers
    return [layer for layer in all_layers(model) if _keras_kind(layer) is not None]


def keras_match(model: object, graph: Graph) -> list[object] | None:
    """The Keras layer of each weighted op (same order, kind and kernel shape), or None where they do not match."""
    ops = weighted_ops(graph)
    layers = _keras_layers(model)
    if len(layers) != len(ops):
        return None
    for op, layer in zip(ops, layers, strict=True):
        kind = _keras_kind(layer)
        kernel = getattr(layer, "kernel", None)
        weights = graph.tensor(op.inputs[1])
        if kind is not op.kind or kernel is None or int(np.prod(kernel.shape)) != weights.num_elements:
            return None
    return layers


Convert = Callable[[object], bytes]  # a Keras model → its int8 .tflite (the loader's conversion, same calibration)


def int4_model(int8_tflite: bytes, options: WeightOptions, *, keras_model: object | None,
               convert: Convert | None) -> tuple[bytes, tuple[str, ...]]:
    """The int4 model file and notes for the user (how its int4 values were obtained). `keras_model` and `convert`: the float
    model and its conversion (None for a .tflite)."""
    graph = read_tflite(int8_tflite)
    ops = weighted_ops(graph)
    layers = keras_match(keras_model, graph) if keras_model is not None else None
    names = [(layer_name(graph, op), getattr(layers[i], "name", None) if layers else None) for i, op in enumerate(ops)]
    keep = _keep_int8(options, ops, names)
    for op in ops:
        if op.index not in keep and INT4_OPS[op.kind].why_not:
            keep[op.index] = INT4_OPS[op.kind].why_not
    chosen = [i for i, op in enumerate(ops) if op.index not in keep]
    notes: list[str] = []
    tflite = int8_tflite
    if keras_model is not None and layers is None:
        notes.append("int4 weights: the Keras layers and the converted ops did not match one to one, so the int4 "
                     "values are re-quantized from the int8 weights (not from the float kernels)")
    elif keras_model is not None and layers is not None and convert is not None and chosen:
        tflite = _convert_projected(keras_model, [layers[i] for i in chosen], [ops[i].kind for i in chosen], convert)
        converted = read_tflite(tflite)
        again = weighted_ops(converted)
        if [o.index for o in again] != [o.index for o in ops]:
            raise ModelLoadError("int4 weights: the model converted with int4 kernels has other ops than the int8 "
                                 "conversion; keep the layers int8 (--weights int8)")
        off_grid = [names[i][1] or names[i][0] for i in chosen
                    if not on_int4_grid(np.asarray(converted.tensor(again[i].inputs[1]).data),
                                        INT4_OPS[again[i].kind].channel_axis)]
        ops = again
        notes.append(f"int4 weights from the float Keras kernels ({len(chosen)} layers)")
        if off_grid:
            notes.append(f"int4 weights: {', '.join(off_grid)} left TensorFlow's converter off the 4-bit grid "
                         "(a folded BatchNormalization before the layer?); their int4 values are re-quantized from "
                         "the int8 ones")
    else:
        notes.append("int4 weights re-quantized from the .tflite file's int8 weights (the float weights are not "
                     "in it): lossy twice; for int4 from the float weights, give the Keras model")
    filters = tuple(ops[i].inputs[1] for i in chosen)
    return (requantize_to_int4(tflite, filters) if filters else tflite), tuple(notes)


def summarize(graph: Graph) -> WeightPrecision:
    """Every layer with weights of an int4 model: its precision, its weight bytes at int8 and now, and why an int8
    one stays int8 (the reference cannot run it with int4 weights, or --int8-layers)."""
    layers = []
    for op in weighted_ops(graph):
        w = graph.tensor(op.inputs[1])
        int4 = w.dtype is DType.INT4
        layers.append(LayerWeights(op_index=op.index, kind=op.kind, layer=layer_name(graph, op), bits=4 if int4 else 8,
                                   int8_bytes=w.num_elements, bytes=w.size_bytes,
                                   why_int8="" if int4 else INT4_OPS[op.kind].why_not or "--int8-layers"))
    return WeightPrecision(layers=tuple(layers))


def _convert_projected(model: object, layers: list[object], kinds: list[OpKind], convert: Convert) -> bytes:
    """Convert with the chosen layers' kernels on their 4-bit grids; the float model is restored afterwards."""
    saved = [np.array(layer.kernel.numpy()) for layer in layers]  # type: ignore[attr-defined]
    try:
        for layer, kind, kernel in zip(layers, kinds, saved, strict=True):
            layer.kernel.assign(project_to_int4_grid(kernel, kind))  # type: ignore[attr-defined]
        return convert(model)
    finally:
        for layer, kernel in zip(layers, saved, strict=True):
            layer.kernel.assign(kernel)  # type: ignore[attr-defined]
