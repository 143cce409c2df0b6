"""UNIDIRECTIONAL_SEQUENCE_LSTM: tinyc_lstm_s8 (host gcc, ctypes) with the numbers tinyc.ir.lstm computes, against
TFLite Micro's reference interpreter, byte for byte; the reader, the last-step fold and the support rules.

The models are tf_keras (Keras 2) LSTMs: TensorFlow's converter fuses those into one UNIDIRECTIONAL_SEQUENCE_LSTM;
Keras 3's LSTM becomes a WHILE loop whose int8 calibration crashes the converter (TF 2.21).
"""
from __future__ import annotations

import ctypes

import numpy as np
import pytest

from kernels_host import harness as h

tf_keras = pytest.importorskip("tf_keras", reason="tf_keras (Keras 2) builds the LSTM models")

INPUT_SEEDS = (101, 202, 303)


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    return h.build_library(tmp_path_factory.mktemp("kernels"))


class LstmParams(ctypes.Structure):
    _fields_ = [(name, ctypes.c_int32) for name in (
        "time_steps", "features", "units", "last_step_only", "hidden_zero_point", "gate_multiplier",
        "forget_multiplier", "forget_shift", "input_multiplier", "input_shift", "output_multiplier", "output_shift",
        "cell_clip", "cell_tanh_multiplier", "cell_tanh_shift")]


def lstm_model(steps: int, features: int, units: int, *, return_sequences: bool, seed: int,
               scale: float = 1.0, dense: int = 0) -> bytes:
    """A tf_keras LSTM (seeded weights, scaled by `scale` to reach the gates' saturation), converted as tinyc does."""
    from tinyc.frontend.convert import keras_to_int8_tflite

    tf_keras.utils.set_random_seed(seed)
    x = tf_keras.Input((steps, features), batch_size=1, name="in0")
    layer = tf_keras.layers.LSTM(units, return_sequences=return_sequences,
                                 bias_initializer=tf_keras.initializers.RandomUniform(-1.0, 1.0, seed=seed))
    y = layer(x)
    if dense:
        y = tf_keras.layers.Dense(dense, activation="softmax")(y)
    model = tf_keras.Model(x, y)
    layer.set_weights([w * scale for w in layer.get_weights()])
    rng = np.random.default_rng(seed)

    def representative():  # type: ignore[no-untyped-def]
        for _ in range(16):
            yield [rng.uniform(-2.0, 2.0, size=(1, steps, features)).astype(np.float32)]

    return keras_to_int8_tflite(model, representative)


CASES = {  # steps, features, units, return_sequences, weight scale
    "t1_f3_u8_seq": (1, 3, 8, True, 1.0),
    "t4_f7_u5_seq_x2": (4, 7, 5, True, 2.0),
    "t5_f4_u8_last": (5, 4, 8, False, 1.0),
    "t8_f10_u16_seq": (8, 10, 16, True, 1.0),
    "t12_f6_u16_last_x3": (12, 6, 16, False, 3.0),
    "t20_f10_u64_last": (20, 10, 64, False, 1.0),
    "t6_f5_u64_seq_x4": (6, 5, 64, True, 4.0),
    "t49_f10_u32_last": (49, 10, 32, False, 1.0),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_lstm_kernel_matches_tflm(lib: ctypes.CDLL, name: str) -> None:
    """tinyc_lstm_s8 with the lowered constants and parameters equals TFLM's output, every byte."""
    from tinyc.ir.lower import KernelKind, LstmCall, lower
    from tinyc.ir.reader import read_tflite

    steps, features, units, sequences, scale = CASES[name]
    model = lstm_model(steps, features, units, return_sequences=sequences, seed=len(name), scale=scale)
    graph = read_tflite(model)
    calls = lower(graph).calls
    assert [c.kind for c in calls] == [KernelKind.LSTM]  # the last-step STRIDED_SLICE is folded in
    call = calls[0]
    assert isinstance(call, LstmCall)
    consts = {a.name.rsplit("_", 1)[1]: np.ascontiguousarray(a.values) for a in call.consts}
    p = call.params
    params = LstmParams(*(getattr(p, field) for field, _ in LstmParams._fields_))
    scratch = np.zeros((call.scratch_bytes + 3) // 4 * 2, np.int16)  # 4-byte aligned
    for seed in INPUT_SEEDS:
        x = h.random_int8((1, steps, features), seed)
        expected = h.run_tflm(model, [x]).reshape(-1)
        out = np.zeros(expected.size, np.int8)
        lib.tinyc_lstm_s8(h.i8p(np.ascontiguousarray(x)), h.i8p(consts["weights"]), h.i32p(consts["bias"]),
                          h.i32p(consts["multiplier"]), h.i32p(consts["shift"]),
                          consts["table"].ctypes.data_as(ctypes.POINTER(ctypes.c_int16)), ctypes.byref(params),
                          scratch.ctypes.data_as(ctypes.POINTER(ctypes.c_int16)), h.i8p(out))
        bad = np.flatnonzero(out != expected)
        assert not bad.size, (f"input seed {seed}: {bad.size} of {out.size} values differ; first at {bad[0]}: "
                              f"got {out[bad[0]]}, TFLM {expected[bad[0]]}")


def test_gate_matrices_are_stored_as_row_quads() -> None:
    """tinyc_lstm_s8 reads four rows with one pointer: per group of four columns the quad's rows side by side, then
    the quad's last n % 4 columns row by row; rows after the last whole quad stay row by row."""
    from tinyc.ir.lstm import row_quads
    m = np.arange(6 * 6, dtype=np.int8).reshape(6, 6)
    assert row_quads(m).tolist() == [0, 1, 2, 3, 6, 7, 8, 9, 12, 13, 14, 15, 18, 19, 20, 21,  # group 0 of rows 0-3
                                     4, 5, 10, 11, 16, 17, 22, 23,  # the quad's last two columns
                                     *range(24, 36)]  # rows 4 and 5
    square = np.arange(64, dtype=np.int8).reshape(8, 8)
    assert sorted(row_quads(square).tolist()) == list(range(64)) and row_quads(square)[16:20].tolist() == [4, 5, 6, 7]


def test_sigmoid_table_is_tflms() -> None:
    """Every entry of SIGMOID_TABLE_Q16 read back through TFLM's int16 TANH: at input 2^8 i (Q3.12 with the table
    index in the high byte, no fraction), the output is the entry minus 2^15."""
    from tflite_micro.python.tflite_micro import runtime

    from tinyc.ir.lstm import SIGMOID_TABLE_Q16
    model = _int16_tanh_model()
    interpreter = runtime.Interpreter.from_bytes(model)
    # TFLM's int16 TANH with input scale 2^-12 scales x by 3: index = 3 x >> 8. Inputs 256 k / 3 hit index k exactly
    # where 3 divides 256 k; the others land on index k with a fraction, so use only exact ones.
    indices = [k for k in range(255) if k % 3 == 0]
    x = np.asarray([256 * k // 3 for k in indices], np.int16)
    interpreter.set_input(x.reshape(1, -1), 0)
    interpreter.invoke()
    got = np.asarray(interpreter.get_output(0)).reshape(-1).astype(np.int64)
    assert got.tolist() == [SIGMOID_TABLE_Q16[k] - 32768 for k in indices]


def _int16_tanh_model() -> bytes:
    """One int16 TANH (input scale 2^-12, output 2^-15, zero points 0) over 85 values (16x8 quantization)."""
    import tensorflow as tf

    n = len([k for k in range(255) if k % 3 == 0])
    x = tf.keras.Input((n,), batch_size=1)
    model = tf.keras.Model(x, tf.keras.layers.Activation("tanh")(x))

    def representative():  # type: ignore[no-untyped-def]
        for v in (-32767 / 4096, 32767 / 4096):  # symmetric int16: scale 2^-12 exactly
            yield [np.full((1, n), v, np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    converter.inference_input_type = tf.int16
    converter.inference_output_type = tf.int16
    return bytes(converter.convert())


def test_reader_keeps_the_state_in_options_and_folds_the_last_step() -> None:
    from tinyc.ir.graph import GateActivation, LstmOptions, OpKind
    from tinyc.ir.lstm import lstm_sizes
    from tinyc.ir.reader import read_tflite

    graph = read_tflite(lstm_model(7, 3, 8, return_sequences=False, seed=1, dense=4))
    assert [op.kind for op in graph.ops] == [OpKind.UNIDIRECTIONAL_SEQUENCE_LSTM, OpKind.FULLY_CONNECTED,
                                             OpKind.SOFTMAX]
    lstm = graph.ops[0]
    o = lstm.options
    assert isinstance(o, LstmOptions)
    assert (o.cell_activation, o.time_major, o.return_sequences, o.present_optional) == (GateActivation.TANH, False,
                                                                                        False, ())
    assert len(lstm.inputs) == 13 and min(lstm.inputs) >= 0
    assert graph.tensor(o.cell_state).dtype.value == "int16" and graph.tensor(o.hidden_state).dtype.value == "int8"
    assert graph.tensor(lstm.outputs[0]).shape == (1, 8)
    s = lstm_sizes(graph, lstm)
    assert (s.batch, s.time_steps, s.features, s.units) == (1, 7, 3, 8)


def test_cell_numbers() -> None:
    """TFLM's cell-state arithmetic: log2 of the scale, the int16 tanh's input scaling, the quantized clip."""
    from tinyc.ir.lstm import cell_scale_power, cell_tanh_scaling, quantized_cell_clip
    assert cell_scale_power(2.0 ** -15) == -15 and cell_scale_power(2.0 ** -11) == -11
    assert cell_tanh_scaling(-15) == (3, 3)  # (c * 3 + 4) >> 3
    assert cell_tanh_scaling(-12) == (3, 0) and cell_tanh_scaling(-10) == (12, 0)
    assert quantized_cell_clip(10.0, 2.0 ** -15) == 32767 and quantized_cell_clip(0.5, 2.0 ** -11) == 1024
    assert quantized_cell_clip(0.0, 2.0 ** -15) == 0


def test_keras3_lstm_is_refused_before_conversion(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import keras

    from tinyc.errors import UnsupportedModelError
    from tinyc.frontend.user_code import check_keras_layers
    x = keras.Input((5, 3))
    model = keras.Model(x, keras.layers.LSTM(4, name="rnn")(x))
    with pytest.raises(UnsupportedModelError) as error:
        check_keras_layers(tmp_path / "m.py", model)
    assert "Keras 3's LSTM converts to a WHILE loop" in str(error.value)
    assert "tf_keras.layers.LSTM" in str(error.value)


def test_lstm_stays_out_of_patch_and_fused_stages() -> None:
    """An LSTM reads its whole input sequence and carries state across it: not spatially local, so no patch or
    fused stage contains it, and it never writes over its input."""
    from tinyc.ir.lower import KernelKind, lower
    from tinyc.ir.reader import read_tflite
    from tinyc.plan.fused import eligible_segments
    from tinyc.plan.patches import eligible_splits, patchable
    from tinyc.plan.schedule import in_place_kind

    lowered = lower(read_tflite(lstm_model(6, 4, 8, return_sequences=False, seed=2, dense=3)))
    (lstm,) = [c for c in lowered.calls if c.kind is KernelKind.LSTM]
    assert not patchable(lstm) and not in_place_kind(lstm)
    assert eligible_splits(lowered) == [] and eligible_segments(lowered) == []
    assert lstm.scratch_bytes == (1 + 2) * 8 + 8 * 11 and lstm.macs == 6 * 4 * 8 * (4 + 8)


@pytest.mark.parametrize(("options", "problem"), [
    ({"use_bias": False}, "use_bias=False: the converter then does not fuse the LSTM"),
    ({"recurrent_dropout": 0.1}, "recurrent_dropout > 0: the converter then does not fuse the LSTM"),
    ({"activation": "relu"}, "activation 'relu' and recurrent_activation 'sigmoid'"),
    ({"recurrent_activation": "hard_sigmoid"}, "activation 'tanh' and recurrent_activation 'hard_sigmoid'"),
    ({"unroll": True}, "unroll=True converts to UNPACK"),
    ({"go_backwards": True}, "go_backwards=True is not supported"),
])
def test_tf_keras_lstms_the_converter_does_not_fuse_are_refused_first(options, problem, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """These make TensorFlow's converter run the generic RNN loop (TF 2.21 segfaults calibrating most of them), so they
    are refused before conversion, naming the layer."""
    from tinyc.errors import UnsupportedModelError
    from tinyc.frontend.user_code import check_keras_layers
    x = tf_keras.Input((5, 3), batch_size=1)
    model = tf_keras.Model(x, tf_keras.layers.LSTM(4, name="rnn", **options)(x))
    with pytest.raises(UnsupportedModelError) as error:
        check_keras_layers(tmp_path / "m.py", model)
    assert "Keras layer 'rnn'" in str(error.value) and problem in str(error.value)
