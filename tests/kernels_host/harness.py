"""Host harness for tinyc's C kernels: build them into a shared library and call them via ctypes.

Also builds tiny int8 single-op TFLite models with TF and runs them in TFLM's reference
interpreter, so tests can compare each kernel with TFLM byte for byte.
"""
from __future__ import annotations

import ctypes
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from tinyc.frontend.convert import keras_to_int8_tflite

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

KERNELS_DIR = Path(__file__).resolve().parents[2] / "tinyc" / "kernels"
CMSIS_INCLUDE = KERNELS_DIR / "cmsis_nn" / "Include"
TINYC_DIR = KERNELS_DIR / "tinyc"
# Every kernel source on disk: the portable code on the host (its DSP paths are compiled out there).
SOURCES = sorted((KERNELS_DIR / "cmsis_nn" / "Source").rglob("*.c")) + sorted(TINYC_DIR.rglob("*.c"))
WARNING_FLAGS = ("-Wall", "-Wextra", "-Werror", "-Wconversion", "-Wsign-conversion", "-Wshadow", "-pedantic")


def build_library(out_dir: Path, compiler: str = "gcc") -> ctypes.CDLL:
    """Compile every kernel source with the host compiler into one shared library."""
    lib_path = out_dir / "libtinyc_kernels.so"
    cmd = [compiler, "-std=c99", "-O2", "-fPIC", "-shared", *WARNING_FLAGS,
           f"-I{CMSIS_INCLUDE}", f"-I{TINYC_DIR}", *map(str, SOURCES), "-o", str(lib_path)]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return KernelLibrary(str(lib_path))


class KernelLibrary(ctypes.CDLL):
    """The kernels by their CMSIS-NN names: `lib.arm_softmax_s8` is the symbol tinyc_nn_softmax_s8 (tinyc's kernels
    are compiled under tinyc names, see cmsis_nn/Include/tinyc_nn_names.h)."""

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        if name.startswith("arm_"):
            name = "tinyc_nn_" + name.removeprefix("arm_")
        return super().__getattr__(name)


# --- ctypes mirrors of arm_nn_types.h and tinyc_kernels.h ------------------------------------

i32 = ctypes.c_int32
I8P = ctypes.POINTER(ctypes.c_int8)
I32P = ctypes.POINTER(ctypes.c_int32)


class Tile(ctypes.Structure):
    _fields_ = [("w", i32), ("h", i32)]


class Activation(ctypes.Structure):
    _fields_ = [("min", i32), ("max", i32)]


class Dims(ctypes.Structure):
    _fields_ = [("n", i32), ("h", i32), ("w", i32), ("c", i32)]


class Context(ctypes.Structure):
    _fields_ = [("buf", ctypes.c_void_p), ("size", i32)]


class PerChannelQuant(ctypes.Structure):
    _fields_ = [("multiplier", I32P), ("shift", I32P)]


class PerTensorQuant(ctypes.Structure):
    _fields_ = [("multiplier", i32), ("shift", i32)]


class QuantParams(ctypes.Structure):
    _fields_ = [("multiplier", I32P), ("shift", I32P), ("is_per_channel", i32)]


class ConvParams(ctypes.Structure):
    _fields_ = [("input_offset", i32), ("output_offset", i32), ("stride", Tile), ("padding", Tile),
                ("dilation", Tile), ("activation", Activation)]


class DwConvParams(ctypes.Structure):
    _fields_ = [("input_offset", i32), ("output_offset", i32), ("ch_mult", i32), ("stride", Tile),
                ("padding", Tile), ("dilation", Tile), ("activation", Activation)]


class PoolParams(ctypes.Structure):
    _fields_ = [("stride", Tile), ("padding", Tile), ("activation", Activation)]


class FcParams(ctypes.Structure):
    _fields_ = [("input_offset", i32), ("filter_offset", i32), ("output_offset", i32), ("activation", Activation)]


class MeanParams(ctypes.Structure):
    _fields_ = [("input_zero_point", i32), ("output_zero_point", i32), ("num_elements", i32),
                ("multiplier", i32), ("shift", i32)]


class ReluParams(ctypes.Structure):
    _fields_ = [("requantize", i32), ("input_zero_point", i32), ("output_zero_point", i32),
                ("multiplier", i32), ("shift", i32), ("act_min", i32), ("act_max", i32)]


def i8p(array: np.ndarray) -> "ctypes._Pointer[ctypes.c_int8]":
    assert array.dtype == np.int8 and array.flags.c_contiguous
    return array.ctypes.data_as(I8P)


def i32p(array: np.ndarray | None) -> "ctypes._Pointer[ctypes.c_int32] | None":
    if array is None:
        return None
    assert array.dtype == np.int32 and array.flags.c_contiguous
    return array.ctypes.data_as(I32P)


def dims(shape: Sequence[int]) -> Dims:
    padded = [1] * (4 - len(shape)) + [int(v) for v in shape]
    return Dims(*padded)


# --- models ------------------------------------------------------------------------------------

def convert(build: Callable[[], object], input_shapes: Sequence[tuple[int, ...]], seed: int) -> bytes:
    """Build a Keras model (seeded weights) and convert it to a fully int8 TFLite flatbuffer.

    The model's inputs must be named in0, in1, ... in the order of input_shapes.
    """
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    model = build()
    rng = np.random.default_rng(seed)

    def representative():
        for _ in range(16):
            # Keyed by the Keras input names, as the converter's signature orders inputs its own way.
            yield {f"in{k}": rng.uniform(-2.0, 2.0, size=(1, *shape)).astype(np.float32)
                   for k, shape in enumerate(input_shapes)}

    return keras_to_int8_tflite(model, representative)


@dataclass(frozen=True)
class TensorInfo:
    index: int
    shape: tuple[int, ...]
    scales: tuple[float, ...]
    zero_points: tuple[int, ...]
    data: np.ndarray | None  # constant tensors only

    @property
    def scale(self) -> float:
        return self.scales[0]

    @property
    def zero_point(self) -> int:
        return self.zero_points[0]


@dataclass(frozen=True)
class OpInfo:
    name: str
    inputs: tuple[TensorInfo | None, ...]  # None: optional input left out (e.g. a dropped bias)
    outputs: tuple[TensorInfo, ...]
    graph_inputs: tuple[int, ...]  # tensor indices of the model inputs, in set_input order
    graph_input_shapes: tuple[tuple[int, ...], ...]  # their shapes, batch included

    def input_array(self, k: int, inputs: Sequence[np.ndarray]) -> np.ndarray:
        """The array fed (as model input) to op input k."""
        tensor = self.inputs[k]
        assert tensor is not None
        return inputs[self.graph_inputs.index(tensor.index)]


def single_op(model: bytes) -> OpInfo:
    """The one op of a single-op model, with quantization parameters and constant data."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_content=model,
                              experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    interpreter.allocate_tensors()
    details = {d["index"]: d for d in interpreter.get_tensor_details()}
    ops = interpreter._get_ops_details()  # noqa: SLF001 - the only API listing the graph's ops
    assert len(ops) == 1, [op["op_name"] for op in ops]
    op = ops[0]
    graph_inputs = tuple(int(d["index"]) for d in interpreter.get_input_details())

    def info(index: int) -> TensorInfo | None:
        if index < 0:
            return None
        d = details[index]
        q = d["quantization_parameters"]
        is_const = index not in graph_inputs and index not in op["outputs"]
        return TensorInfo(index=index, shape=tuple(int(v) for v in d["shape"]),
                          scales=tuple(float(s) for s in q["scales"]),
                          zero_points=tuple(int(z) for z in q["zero_points"]),
                          data=np.ascontiguousarray(interpreter.get_tensor(index)) if is_const else None)

    return OpInfo(name=op["op_name"], inputs=tuple(info(i) for i in op["inputs"]),
                  outputs=tuple(info(i) for i in op["outputs"]),  # type: ignore[misc]
                  graph_inputs=graph_inputs,
                  graph_input_shapes=tuple(tuple(int(v) for v in details[i]["shape"]) for i in graph_inputs))


def run_tflm(model: bytes, inputs: Sequence[np.ndarray]) -> np.ndarray:
    """Run the model once in TFLM's reference interpreter and return output 0."""
    from tflite_micro.python.tflite_micro import runtime

    interpreter = runtime.Interpreter.from_bytes(model)
    for i, value in enumerate(inputs):
        interpreter.set_input(value, i)
    interpreter.invoke()
    return np.asarray(interpreter.get_output(0))


def same_padding(in_size: int, filter_size: int, stride: int, out_size: int) -> int:
    """TFLite's SAME padding (dilation 1): the top / left part."""
    return max(0, ((out_size - 1) * stride + filter_size - in_size) // 2)


def random_int8(shape: Sequence[int], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(-128, 128, size=tuple(shape), dtype=np.int8)


class Broadcast(ctypes.Structure):
    _fields_ = [("dims", i32 * 4), ("input1_strides", i32 * 4), ("input2_strides", i32 * 4)]


class MulParams(ctypes.Structure):
    _fields_ = [(name, i32) for name in ("input1_offset", "input2_offset", "output_offset", "multiplier", "shift",
                                         "act_min", "act_max")]


class SubParams(ctypes.Structure):
    _fields_ = [(name, i32) for name in ("input1_offset", "input1_mult", "input1_shift", "input2_offset",
                                         "input2_mult", "input2_shift", "left_shift", "output_offset", "output_mult",
                                         "output_shift", "act_min", "act_max")]
