"""int4 weights (`--weights int4`), stage by stage: TFLite's nibble packing, the 4-bit grid, the rewritten flatbuffer
the reader reads back, the report's precision table and flash saved, and the firmware bit-exact with TFLite Micro
on both boards."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

import tinyc
from conftest import BOARDS, needs_toolchain, run_cli
from tinyc.errors import ModelLoadError
from tinyc.frontend.weights import project_to_int4_grid
from tinyc.ir.graph import DType, OpKind
from tinyc.ir.int4 import int4_from_int8, on_int4_grid, pack_int4, requantize_to_int4, unpack_int4
from tinyc.ir.reader import read_tflite

# conv 3x3x1 -> 3 (27 weights: an odd count, the last byte's high nibble unused), depthwise 3x3 over 3 channels
# (27), a 1x1 conv 3 -> 8, global pooling, a Dense 8 -> 4 (stays int8).
MODEL_SOURCE = textwrap.dedent('''
    import keras
    import numpy as np

    def build():
        keras.utils.set_random_seed(26)
        x = keras.Input((10, 10, 1))
        y = keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="stem")(x)
        y = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu", name="dw")(y)
        y = keras.layers.Conv2D(8, 1, activation="relu", name="project")(y)
        y = keras.layers.GlobalAveragePooling2D()(y)
        return keras.Model(x, keras.layers.Dense(4, name="head")(y))

    def representative_dataset():
        rng = np.random.default_rng(3)
        for _ in range(16):
            yield [rng.uniform(-1, 1, size=(1, 10, 10, 1)).astype(np.float32)]
''')


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("int4") / "int4_net.py"
    path.write_text(MODEL_SOURCE)
    return path


@pytest.fixture(scope="module")
def planned(model_file):
    return tinyc.plan(model_file, board="stm32f412", weights="int4")


# --- packing ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("values, packed", [
    ([1, 2, 3, 4], [0x21, 0x43]),       # CMSIS-NN's s4 example: the even element in the low nibble
    ([-1, 1], [0x1F]),
    ([-8, 7, -7], [0x78, 0x09]),        # odd count: the last high nibble is 0
])
def test_pack_int4_puts_the_even_element_in_the_low_nibble(values, packed) -> None:
    assert pack_int4(np.array(values)).tolist() == packed
    assert unpack_int4(bytes(packed), len(values)).tolist() == values


def test_pack_unpack_round_trip_every_value_and_length() -> None:
    rng = np.random.default_rng(0)
    for count in range(0, 40):
        values = rng.integers(-8, 8, size=count)
        assert np.array_equal(unpack_int4(pack_int4(values), count), values)
    with pytest.raises(ValueError, match=r"\[-8, 7\]"):
        pack_int4(np.array([8]))


def test_grid_projection_survives_int8_exactly() -> None:
    """A kernel on its 4-bit grid, quantized to int8 as the converter does, re-quantizes to int4 losslessly."""
    kernel = np.random.default_rng(1).normal(size=(3, 3, 4, 6)).astype(np.float32)
    on_grid = project_to_int4_grid(kernel, OpKind.CONV_2D)
    columns = on_grid.reshape(-1, 6)
    assert all(len(np.unique(np.round(columns[:, c] / (np.abs(columns[:, c]).max() / 7)))) <= 15 for c in range(6))
    q8 = np.round(columns / (np.abs(columns).max(axis=0) / 127)).T  # TFLite's [C_OUT, ...] order, axis 0
    assert on_int4_grid(q8, 0)
    q4, step = int4_from_int8(q8, 0)
    assert np.abs(q4).max() == 7 and np.allclose(step, 127 / 7)
    assert not on_int4_grid(np.arange(-127, 128, dtype=np.int8).reshape(1, -1), 0)


# --- the flatbuffer and the IR -----------------------------------------------------------------------------

def test_the_reader_reads_the_rewritten_int4_tensors(planned) -> None:
    int8_graph = read_tflite(requantize_to_int4(planned.loaded.tflite, ()))  # nothing rewritten: still reads
    graph = planned.graph
    kinds = {op.kind: graph.tensor(op.inputs[1]) for op in graph.ops}
    assert kinds[OpKind.CONV_2D].dtype is DType.INT4 and kinds[OpKind.DEPTHWISE_CONV_2D].dtype is DType.INT4
    assert kinds[OpKind.FULLY_CONNECTED].dtype is DType.INT8
    stem = graph.tensor(graph.ops[0].inputs[1])
    assert stem.shape == (3, 3, 3, 1) and stem.size_bytes == 14 and int(np.abs(stem.data).max()) == 7
    assert int8_graph.tensor(graph.ops[0].inputs[1]).dtype is DType.INT4


def test_a_tflite_is_requantized_from_its_int8_weights(tflite_of) -> None:
    import keras

    def build():
        x = keras.Input((6, 6, 2))
        return keras.Model(x, keras.layers.DepthwiseConv2D(3, depth_multiplier=2)(x))

    path = tflite_of("int4_depthwise_multiplier", build)
    int8 = read_tflite(path.read_bytes())
    q8 = np.asarray(int8.tensor(int8.ops[0].inputs[1]).data)
    planned = tinyc.plan(path, board="stm32f412", weights="int4")
    w = planned.graph.tensor(planned.graph.ops[0].inputs[1])
    assert w.dtype is DType.INT4 and np.array_equal(w.data, int4_from_int8(q8, 3)[0])
    assert any("re-quantized from the .tflite file's int8 weights" in n for n in planned.report.notes)


# --- the report ------------------------------------------------------------------------------------------------

def test_the_report_says_which_layers_are_int4_and_the_flash_saved(planned, model_file, monkeypatch, capsys) -> None:
    precision = planned.report.weight_precision
    assert [(layer.kind.name, layer.bits, layer.int8_bytes, layer.bytes) for layer in precision.layers] == [
        ("CONV_2D", 4, 27, 14), ("DEPTHWISE_CONV_2D", 4, 27, 14), ("CONV_2D", 4, 24, 12),
        ("FULLY_CONNECTED", 8, 32, 32)]
    assert "TFLite Micro's reference FULLY_CONNECTED refuses INT4" in precision.layers[-1].why_int8
    assert precision.saved_bytes == 38 and planned.report.int8_weights_bytes == planned.report.weights_bytes + 38
    assert any("int4 weights from the float Keras kernels (3 layers)" in n for n in planned.report.notes)
    code, out, _ = run_cli(monkeypatch, capsys, "report", str(model_file), "--board", "stm32f412", "--json",
                           "--no-tflm-arena", "--weights", "int4", "--int8-layers", "first,project")
    kept = json.loads(out)["weight_precision"]
    assert code == 0 and [layer["bits"] for layer in kept["layers"]] == [8, 4, 8, 8]
    assert kept["saved_bytes"] == 13 and kept["layers"][0]["why_int8"] == "--int8-layers"


def test_int8_layers_errors_name_the_layers(model_file) -> None:
    with pytest.raises(ModelLoadError, match=r"--int8-layers: no layer 'nope' among the layers with weights "
                                             r"\(0: .*stem.*, 3: .*head.*\)"):
        tinyc.plan(model_file, board="stm32f412", weights="int4", int8_layers=["nope"])
    with pytest.raises(ModelLoadError, match="--int8-layers chooses the layers that stay int8 under --weights int4"):
        tinyc.plan(model_file, board="stm32f412", int8_layers=["first"])


# --- the firmware -----------------------------------------------------------------------------------------------

def kernel_shapes():
    """One network through every path of the s4 kernels: tinyc_dsp_convolve_s4 with odd k (rows starting at an odd
    nibble) and a tail, k < 8 (tail only), whole groups of 8 channels (word im2col) with a 5x5 window and no padding,
    an odd pixel count; tinyc_dsp_depthwise_conv_s4 at stride 2 with a channel tail; the portable kernels for a
    depth multiplier of 2 and a dilated convolution."""
    import keras
    layers = keras.layers
    x = keras.Input((13, 11, 3))
    y = layers.Conv2D(5, 3, strides=2, padding="same", activation="relu")(x)       # k = 27, 7x6 pixels
    y = layers.Conv2D(16, 1, activation="relu")(y)                                  # k = 5
    y = layers.Conv2D(8, 5, padding="same")(y)                                      # k = 400
    y = layers.DepthwiseConv2D(3, strides=2, padding="same", activation="relu")(y)
    y = layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2)(y)            # portable
    y = layers.Conv2D(6, 3, padding="same", dilation_rate=2, activation="relu")(y)  # portable
    y = layers.DepthwiseConv2D(3, padding="same")(layers.Conv2D(7, 1)(y))           # 7 channels: a tail of 3
    return keras.Model(x, y)


@needs_toolchain
@pytest.mark.emulator
def test_every_s4_kernel_path_is_bit_exact(tflite_of) -> None:
    path = tflite_of("int4_kernel_shapes", kernel_shapes)
    proof = tinyc.verify(path, board="stm32f412", samples=3, weights="int4")
    assert proof.first_mismatch is None and proof.mismatched_bytes == 0
    assert sum(getattr(s.call, "weight_bits", 8) == 4 for s in proof.planned.schedule.steps) == 8


@needs_toolchain
@pytest.mark.emulator
def test_portable_s4_kernels_equal_the_dsp_ones(tflite_of) -> None:
    """The portable s4 loops (-DTINYC_PORTABLE_KERNELS) print the DSP kernels' bytes on the same network, and run
    more instructions."""
    from tinyc.run.bench import bench_planned
    planned = tinyc.plan(tflite_of("int4_kernel_shapes", kernel_shapes), board="stm32f412", weights="int4")
    fast, slow = bench_planned(planned, seed=1), bench_planned(planned, seed=1, portable=True)
    assert np.array_equal(fast.output, slow.output) and fast.instructions < slow.instructions


@needs_toolchain
@pytest.mark.emulator
@pytest.mark.parametrize("board", BOARDS)
def test_int4_firmware_is_bit_exact_with_tflite_micro(model_file, board) -> None:
    proof = tinyc.verify(model_file, board=board, samples=4, weights="int4")
    assert proof.first_mismatch is None and proof.mismatched_bytes == 0
    calls = {s.call.kind.name: getattr(s.call, "weight_bits", 8) for s in proof.planned.schedule.steps}
    assert calls["CONV"] == 4 and calls["DEPTHWISE_CONV"] == 4
