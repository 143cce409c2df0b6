"""Lookup-table ops (tinyc.ir.lut) and their lowering: every table equals TFLite Micro's own op output on all 256
int8 inputs, across input scales and zero points; broadcasting strides and in-place rules pinned as tables."""

from __future__ import annotations

import numpy as np
import pytest

from tinyc.ir import lut
from tinyc.ir.lower import BinaryCall, Dims, KernelKind, LutCall, _strides, lower
from tinyc.plan.schedule import overwritable_operands


@pytest.mark.parametrize(("shape", "out", "expected"), [
    ((1, 4, 4, 16), Dims(1, 4, 4, 16), Dims(256, 64, 16, 1)),
    ((1, 1, 1, 16), Dims(1, 4, 4, 16), Dims(16, 0, 0, 1)),   # the SE block's per-channel scale
    ((16,), Dims(1, 4, 4, 16), Dims(16, 0, 0, 1)),           # rank 1 is right-aligned
    ((1, 4, 1, 16), Dims(1, 4, 5, 16), Dims(64, 16, 0, 1)),
    ((1, 4, 5, 1), Dims(1, 4, 5, 16), Dims(20, 5, 1, 0)),
])
def test_broadcast_strides(shape: tuple[int, ...], out: Dims, expected: Dims) -> None:
    assert _strides(shape, out) == expected


def test_only_the_full_size_operand_is_overwritten_in_place() -> None:
    call = BinaryCall(kind=KernelKind.MUL, op_index=0, layer="", inputs=(3, 4), output=5, macs=0, scratch_bytes=0,
                      consts=(), output_dims=Dims(1, 4, 4, 16), input1_strides=Dims(256, 64, 16, 1),
                      input2_strides=Dims(16, 0, 0, 1), params=None)
    assert overwritable_operands(call) == (3,)


def test_tables_at_the_zero_point() -> None:
    """sigmoid(0) = 1/2 is 0 in scale 1/256 zero point -128; tanh(0) = 0; the identity branch of LeakyReLU."""
    assert lut.logistic_table(0.05, 3)[3 + 128] == 0
    assert lut.tanh_table(0.05, -7)[-7 + 128] == 0
    assert lut.leaky_relu_table(0.1, 0, 0.1, 0, 0.2)[100 + 128] == 100
    assert lut.requantize_table(0.1, 0, 0.2, 5)[0] == -64 + 5  # input -128: -128 x 0.5, plus the zero point
    assert len(lut.hard_swish_table(0.03, -10, 0.02, -100)) == 256


def _single_op(layer, low: float, high: float) -> bytes:
    import keras

    from tinyc.frontend.convert import keras_to_int8_tflite

    def representative():
        rng = np.random.default_rng(3)
        for _ in range(8):
            yield [rng.uniform(low, high, size=(1, 16, 16, 1)).astype(np.float32)]
    x = keras.Input((16, 16, 1))
    return keras_to_int8_tflite(keras.Model(x, layer()(x)), representative)


def _tflm_on_every_value(model: bytes) -> np.ndarray:
    from tflite_micro.python.tflite_micro import runtime
    interpreter = runtime.Interpreter.from_bytes(model)
    interpreter.set_input(np.arange(-128, 128, dtype=np.int8).reshape(1, 16, 16, 1), 0)
    interpreter.invoke()
    return np.asarray(interpreter.get_output(0)).reshape(-1)


LAYERS = {
    "leaky_relu": lambda: __import__("keras").layers.LeakyReLU(0.1),
    "sigmoid": lambda: __import__("keras").layers.Activation("sigmoid"),
    "tanh": lambda: __import__("keras").layers.Activation("tanh"),
    "hard_swish": lambda: __import__("keras").layers.Activation("hard_swish"),
    "hard_sigmoid": lambda: __import__("keras").layers.Activation("hard_sigmoid"),  # ADD and MUL by constants
    "constant_minus_x": lambda: __import__("keras").layers.Lambda(lambda t: 0.75 - t),  # SUB, constant first
    "max_with_constant": lambda: __import__("keras").layers.Lambda(lambda t: __import__("keras").ops.maximum(t, 0.3)),
}


@pytest.mark.parametrize(("low", "high"), [(-1.0, 1.0), (-37.0, 11.0), (-0.02, 0.05)])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_tables_equal_tflite_micro_on_every_int8_value(name: str, low: float, high: float) -> None:
    from tinyc.ir.reader import read_tflite
    model = _single_op(LAYERS[name], low, high)
    lowered = lower(read_tflite(model))
    assert all(isinstance(c, LutCall) for c in lowered.calls)
    values = np.arange(-128, 128)
    for call in lowered.calls:
        values = call.consts[0].values[values + 128].astype(np.int64)
    assert values.tolist() == _tflm_on_every_value(model).tolist()
