"""A model file with a float32 interface (the converter's default: QUANTIZE of the float input first, DEQUANTIZE of
the output last, int8 inside): tinyc runs the int8 core and its API converts floats as those two ops do, so that
float in, float out, the firmware computes what TFLite Micro computes on the file itself, byte for byte."""

from __future__ import annotations

import ctypes
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import needs_toolchain

INPUT_SHAPE = (9, 8, 3)


@pytest.fixture(scope="module")
def float_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import keras
    import tensorflow as tf

    from tinyc.frontend.convert import silenced_stdio

    keras.utils.set_random_seed(7)
    x = keras.Input(INPUT_SHAPE)
    y = keras.layers.Conv2D(6, 3, strides=2, padding="same", activation="relu")(x)
    y = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu")(y)
    model = keras.Model(x, keras.layers.Dense(5)(keras.layers.GlobalAveragePooling2D()(y)))
    rng = np.random.default_rng(7)

    def representative():  # type: ignore[no-untyped-def]
        for _ in range(16):
            yield [rng.uniform(-3.0, 3.0, size=(1, *INPUT_SHAPE)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]  # float32 input and output
    with silenced_stdio():
        path = tmp_path_factory.mktemp("float_edges") / "float_edges.tflite"
        path.write_bytes(converter.convert())
    return path


def test_reader_leaves_the_float_edges_out(float_model: Path) -> None:
    from tinyc.ir.graph import DType, FloatEdges, OpKind
    from tinyc.ir.reader import read_tflite
    from tinyc.run.oracle import with_native_ops

    graph = read_tflite(float_model.read_bytes())
    assert graph.float_edges == FloatEdges(input=True, output=True)
    assert not {OpKind.QUANTIZE, OpKind.DEQUANTIZE} & {op.kind for op in graph.ops}
    assert graph.tensor(graph.inputs[0]).dtype is DType.INT8 and graph.tensor(graph.outputs[0]).dtype is DType.INT8
    core, notes = with_native_ops(float_model.read_bytes())  # type: ignore[misc]
    assert [op.opcode_name for op in read_tflite(core).ops] == [op.opcode_name for op in graph.ops]
    assert "float32 interface" in notes[0]


def _edge_library(model_h: Path, out: Path) -> ctypes.CDLL:
    """model.h's float conversions, compiled for the host (IEEE single precision, as the boards' FPUs)."""
    source = out / "edges.c"
    source.write_text('#include "model.h"\n'
                      "int8_t edge_quantize(float v) { return tinyc_quantize_input(v); }\n"
                      "float edge_dequantize(int8_t v) { return tinyc_dequantize_output(v); }\n")
    subprocess.run(["gcc", "-std=c99", "-O2", "-ffp-contract=off", "-fPIC", "-shared", f"-I{model_h.parent}",
                    str(source), "-o", str(out / "libedges.so")], check=True)
    lib = ctypes.CDLL(str(out / "libedges.so"))
    lib.edge_quantize.restype, lib.edge_quantize.argtypes = ctypes.c_int8, [ctypes.c_float]
    lib.edge_dequantize.restype, lib.edge_dequantize.argtypes = ctypes.c_float, [ctypes.c_int8]
    return lib


def _ties(scale: float) -> np.ndarray:
    """float32 inputs whose float32 quotient by the scale ends in exactly .5 (where rounding rules differ)."""
    candidates = np.float32((np.arange(-120, 120) + 0.5) * scale)
    candidates = np.concatenate([np.nextafter(candidates, np.float32(-np.inf)), candidates,
                                 np.nextafter(candidates, np.float32(np.inf))])
    quotient = candidates / np.float32(scale)
    ties = candidates[quotient - np.trunc(quotient) == np.sign(quotient) * 0.5]
    assert ties.size >= 20
    return ties


def _tflm_float_tensor(model: bytes, x: np.ndarray, tensor: int) -> np.ndarray:
    from tinyc.run.oracle import _tflm

    runtime = _tflm()
    interpreter = runtime.Interpreter.from_bytes(model, arena_size=1024 * 1024,
                                                 intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors)
    interpreter.set_input(x.astype(np.float32), 0)
    interpreter.invoke()
    return np.asarray(interpreter.GetTensor(tensor, 0)["tensor_data"]).astype(np.int8).reshape(-1)


def _tflm_float(model: bytes, x: np.ndarray) -> np.ndarray:
    from tinyc.run.oracle import _tflm

    interpreter = _tflm().Interpreter.from_bytes(model, arena_size=256 * 1024)
    interpreter.set_input(x.astype(np.float32), 0)
    interpreter.invoke()
    return np.asarray(interpreter.get_output(0), dtype=np.float32).reshape(-1)


@needs_toolchain
@pytest.mark.emulator
def test_float_in_float_out_equals_tflite_micro_on_the_file(float_model: Path, tmp_path: Path, monkeypatch,
                                                            capsys) -> None:  # type: ignore[no-untyped-def]
    """Floats quantized by the generated API, the firmware in QEMU, its output dequantized by the API: the float32
    bytes TFLite Micro computes on the model file itself, for inputs that include exact halves of the scale."""
    from conftest import run_cli
    from tinyc.plan.pipeline import plan_model
    from tinyc.run.emulators import Emulator
    from tinyc.run.verify import verify_planned

    code, _, err = run_cli(monkeypatch, capsys, "compile", str(float_model), "--board", "stm32f412", "-o",
                           str(tmp_path / "out"))
    assert code == 0, err
    model_h = next((tmp_path / "out").rglob("model.h"))
    assert "#define TINYC_FLOAT_INPUT 1" in model_h.read_text()
    assert "#define TINYC_FLOAT_OUTPUT 1" in model_h.read_text()
    lib = _edge_library(model_h, tmp_path)
    planned = plan_model(float_model, "stm32f412")
    scale = planned.graph.tensor(planned.lowered.input).scale
    rng = np.random.default_rng(11)
    floats = [rng.uniform(-4.0, 4.0, size=(1, *INPUT_SHAPE)).astype(np.float32) for _ in range(2)]
    ties = _ties(scale)[:floats[1].size]
    floats[1].reshape(-1)[:ties.size] = ties
    quantized = [np.array([lib.edge_quantize(float(v)) for v in f.reshape(-1)], np.int8) for f in floats]
    for f, q in zip(floats, quantized):  # the input QUANTIZE's own output in TFLite Micro
        assert q.tobytes() == _tflm_float_tensor(float_model.read_bytes(), f, planned.lowered.input).tobytes()
    result = verify_planned(planned, quantized, folder=None, cmsis_nn=None, emulator=Emulator.QEMU)
    assert result.first_mismatch is None and result.mismatched_samples == 0
    assert any("float32 interface" in note for note in result.report.notes)
    model = float_model.read_bytes()
    for f, out in zip(floats, result.run.outputs):
        got = np.array([lib.edge_dequantize(int(v)) for v in out], np.float32)
        expected = _tflm_float(model, f)
        assert got.tobytes() == expected.tobytes(), (got, expected)
