"""Bad input gets one clear line, a non-zero exit status, and loses nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import needs_toolchain, run_cli


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_unknown_board_lists_known_ones(monkeypatch, capsys, tmp_path) -> None:
    model = write(tmp_path / "m.py", "def build():\n    raise AssertionError('not reached')\n")
    code, _, err = run_cli(monkeypatch, capsys, "report", str(model), "--board", "stm32f4")
    assert code == 2
    assert "unknown board 'stm32f4'; known boards: alif_e7_hp, nrf52840, nrf5340, stm32f412, stm32h743, stm32l4r5, stm32u575" in err


def test_model_file_without_build(monkeypatch, capsys, tmp_path) -> None:
    model = write(tmp_path / "nobuild.py", "x = 1\n")
    code, _, err = run_cli(monkeypatch, capsys, "report", str(model), "--board", "stm32f412")
    assert code == 2
    assert "nobuild.py: defines no build() function" in err


def test_build_that_raises(monkeypatch, capsys, tmp_path) -> None:
    model = write(tmp_path / "boom.py", "def build():\n    raise ValueError('bad width')\n")
    code, _, err = run_cli(monkeypatch, capsys, "report", str(model), "--board", "stm32f412")
    assert code == 2
    assert "boom.py: build() raised ValueError: bad width" in err


def test_unsupported_op_names_op_and_layer(monkeypatch, capsys, tmp_path) -> None:
    model = write(tmp_path / "abs.py", (
        "import keras\n"
        "def build():\n"
        "    x = keras.Input((4, 4, 2))\n"
        "    y = keras.layers.Conv2D(2, 1, name='conv_a')(x)\n"
        "    return keras.Model(x, keras.layers.Lambda(lambda t: keras.ops.abs(t), name='gate')(y))\n"))
    code, _, err = run_cli(monkeypatch, capsys, "report", str(model), "--board", "stm32f412")
    assert code == 2
    assert "op ABS is not supported" in err
    assert "gate" in err


def test_float_tflite_is_refused(monkeypatch, capsys, tmp_path) -> None:
    import keras
    import tensorflow as tf
    x = keras.Input((4, 4, 1))
    model = keras.Model(x, keras.layers.Conv2D(2, 3)(x))
    path = tmp_path / "float.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    code, _, err = run_cli(monkeypatch, capsys, "report", str(path), "--board", "stm32f412")
    assert code == 2
    assert "is float32: tinyc needs a full-integer int8 model" in err


def test_garbage_tflite(monkeypatch, capsys, tmp_path) -> None:
    path = write(tmp_path / "junk.tflite", "not a flatbuffer at all")
    code, _, err = run_cli(monkeypatch, capsys, "report", str(path), "--board", "stm32f412")
    assert code == 2
    assert "error:" in err


BIG_DENSE = (
    "import keras\n"
    "def build():\n"
    "    keras.utils.set_random_seed(0)\n"
    "    x = keras.Input((1100,))\n"
    "    return keras.Model(x, keras.layers.Dense(1000)(x))\n")


def test_model_that_does_not_fit_fails_before_linking(monkeypatch, capsys, tmp_path) -> None:
    model = write(tmp_path / "big.py", BIG_DENSE)
    out_dir = tmp_path / "out"
    code, _, err = run_cli(monkeypatch, capsys, "compile", str(model), "--board", "stm32f412", "-o", str(out_dir))
    assert code == 2
    # 1,100,000 weights + 1000 × (4 bias + 4 multiplier + 4 shift) + the code estimate (24 KiB + 160 B for
    # its one step) = 1,136,736 bytes, against 1 MiB of flash.
    assert "does NOT fit stm32f412: over flash by 88,160 bytes" in err
    # the advice: the bundled boards with 2 MB of flash take it as it is (not a builder's model: no width advice)
    assert "it fits alif_e7_hp, stm32h743, stm32l4r5, stm32u575 as it is" in err and "width multiplier that fits" not in err
    assert not out_dir.exists()  # refused before anything was written or linked


def test_report_json_of_model_that_does_not_fit(monkeypatch, capsys, tmp_path) -> None:
    import json
    model = write(tmp_path / "big.py", BIG_DENSE)
    code, out, _ = run_cli(monkeypatch, capsys, "report", str(model), "--board", "stm32f412", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["fits"] is False
    assert data["weights_bytes"] == 1_100_000 + 12_000
    assert data["flash_limit_bytes"] == 1_048_576
    for key in ("board", "macs", "peak_sram_bytes", "arena_bytes", "flash_bytes", "sram_limit_bytes", "layers"):
        assert key in data


@needs_toolchain
def test_output_folder_with_user_files_is_refused(monkeypatch, capsys, tmp_path, tflite_of) -> None:
    import models_for_tests as m
    model = tflite_of("dense_small", lambda: m.dense(8, 4))
    out_dir = tmp_path / "mine"
    out_dir.mkdir()
    (out_dir / "notes.txt").write_text("precious")
    code, _, err = run_cli(monkeypatch, capsys, "compile", str(model), "--board", "stm32f412", "-o", str(out_dir))
    assert code == 2
    assert "holds files tinyc did not write (notes.txt)" in err
    assert (out_dir / "notes.txt").read_text() == "precious"
    assert sorted(p.name for p in out_dir.iterdir()) == ["notes.txt"]


def test_missing_cross_compiler_names_install_command(monkeypatch, capsys, tmp_path, tflite_of) -> None:
    import models_for_tests as m
    model = tflite_of("dense_small", lambda: m.dense(8, 4))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    code, _, err = run_cli(monkeypatch, capsys, "compile", str(model), "--board", "stm32f412", "-o",
                           str(tmp_path / "out"))
    assert code == 2
    assert "arm-none-eabi-gcc not found on PATH; install it with: apt-get install -y gcc-arm-none-eabi" in err


def test_boards_lists_both(monkeypatch, capsys) -> None:
    code, out, _ = run_cli(monkeypatch, capsys, "boards")
    assert code == 0
    assert "stm32f412" in out and "stm32h743" in out


# Every option is validated at the CLI boundary, before the model is loaded: a model file that would fail if it
# were ever run proves that the refusal comes first.
NEVER_RUN = "def build():\n    raise AssertionError('not reached')\n"


@pytest.mark.parametrize("args, message", [
    (("report", "--grid", "0x0"), "Invalid value for '--grid': rows and columns must be 1 to 64, not '0x0'"),
    (("report", "--grid", "-2x-2"), "Invalid value for '--grid': rows and columns must be 1 to 64, not '-2x-2'"),
    (("report", "--grid", "4by4"), "Invalid value for '--grid': takes ROWSxCOLS such as 4x4, not '4by4'"),
    (("compile", "--mac-budget", "nan"),
     "Invalid value for '--mac-budget': must be a fraction of at least 0 such as 0.15, not nan"),
    (("verify", "--mac-budget", "-0.5"),
     "Invalid value for '--mac-budget': must be a fraction of at least 0 such as 0.15, not -0.5"),
    (("report", "--split", "0"), "Invalid value for '--split': 0 is not in the range x>=1."),
    (("verify", "--samples", "0"), "Invalid value for '--samples' / '-n': 0 is not in the range x>=1."),
    (("verify", "--samples", "-3"), "Invalid value for '--samples' / '-n': -3 is not in the range x>=1."),
    (("verify", "--dataset", "--limit", "0"), "Invalid value for '--limit': 0 is not in the range x>=1."),
    (("report", "--plot", "MISSING/plot.png"), "Invalid value for '--plot': folder MISSING does not exist (create it first)"),
    (("compile", "--cmsis-nn", "MISSING"), "Invalid value for '--cmsis-nn': Directory 'MISSING' does not exist."),
    (("compile", "--cmsis-nn", "EMPTY"),
     "Invalid value for '--cmsis-nn': EMPTY is not a CMSIS-NN checkout: it has no Include/ folder "
     "(give the folder that holds Include/ and Source/)"),
    (("compile", "-o", "AFILE/out"), "error: cannot create output folder AFILE/out: a part of its path is a file"),
    (("compile", "-o", "/proc/tinyc-out"),
     "error: cannot write output folder /proc/tinyc-out: its parent folder /proc is not writable"),
])
def test_bad_options_are_refused_before_the_model_runs(monkeypatch, capsys, tmp_path, args, message) -> None:
    model = write(tmp_path / "m.py", NEVER_RUN)
    (tmp_path / "EMPTY").mkdir()
    (tmp_path / "AFILE").write_text("a file")
    before = sorted(p.name for p in tmp_path.iterdir())
    monkeypatch.chdir(tmp_path)
    command, *rest = args
    code, _, err = run_cli(monkeypatch, capsys, command, str(model), "--board", "stm32f412", *rest)
    assert code == 2
    assert message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@needs_toolchain
def test_compile_twice_into_one_folder_then_refuses_a_crafted_manifest(monkeypatch, capsys, tmp_path,
                                                                        tflite_of) -> None:
    import json
    import models_for_tests as m
    model = tflite_of("dense_small", lambda: m.dense(8, 4))
    out_dir = tmp_path / "out"
    for _ in range(2):  # the second run replaces tinyc's own project, build products included
        code, _, err = run_cli(monkeypatch, capsys, "compile", str(model), "--board", "stm32f412", "-o", str(out_dir))
        assert code == 0, err
    assert (out_dir / "firmware.elf").is_file() and (out_dir / "board" / "firmware.elf").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging folder left beside it
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    manifest = json.loads((out_dir / ".tinyc-manifest").read_text())
    manifest["files"]["../victim.txt"] = "0" * 64
    (out_dir / ".tinyc-manifest").write_text(json.dumps(manifest))
    code, _, err = run_cli(monkeypatch, capsys, "compile", str(model), "--board", "stm32f412", "-o", str(out_dir))
    assert code == 2
    assert "names '../victim.txt', a path outside the folder" in err
    assert victim.read_text() == "precious"


# --- issue 10 item 5: the model file is code; it must not exit tinyc or write to its stdout --------------

SMALL_CONV = (
    "import keras\n"
    "def build():\n"
    "    x = keras.Input((4, 4, 2))\n"
    "    return keras.Model(x, keras.layers.Conv2D(2, 1)(x))\n")


def test_model_file_that_exits_on_import(monkeypatch, capsys, tmp_path) -> None:
    model = write(tmp_path / "exits.py", "import sys\nsys.exit(0)\n")
    out_dir = tmp_path / "out"
    code, out, err = run_cli(monkeypatch, capsys, "compile", str(model), "--board", "stm32f412", "-o", str(out_dir))
    assert code == 2
    assert err == (f"error: {model}: importing it called sys.exit(0) (raised SystemExit); a model file must not "
                   "exit: guard script code with `if __name__ == \"__main__\":`, or raise an exception to report a "
                   "problem")
    assert out == ""
    assert not out_dir.exists()


def test_build_that_exits(monkeypatch, capsys, tmp_path) -> None:
    model = write(tmp_path / "exits_in_build.py", "import sys\ndef build():\n    sys.exit('no GPU')\n")
    code, _, err = run_cli(monkeypatch, capsys, "report", str(model), "--board", "stm32f412")
    assert code == 2
    assert err.startswith(f"error: {model}: build() called sys.exit('no GPU') (raised SystemExit); a model file "
                          "must not exit")


def test_representative_dataset_that_exits(monkeypatch, capsys, tmp_path) -> None:
    model = write(tmp_path / "exits_in_data.py", SMALL_CONV + (
        "def representative_dataset():\n"
        "    raise SystemExit(3)\n"
        "    yield None\n"))
    code, _, err = run_cli(monkeypatch, capsys, "report", str(model), "--board", "stm32f412")
    assert code == 2
    assert err.startswith(f"error: {model}: representative_dataset() called sys.exit(3) (raised SystemExit)")


def test_dataset_that_exits(monkeypatch, capsys, tmp_path) -> None:
    model = write(tmp_path / "exits_in_dataset.py", SMALL_CONV + "def dataset():\n    exit(0)\n")
    code, out, err = run_cli(monkeypatch, capsys, "verify", str(model), "--board", "stm32f412", "--dataset")
    assert code == 2
    assert err.startswith(f"error: {model}: dataset() called sys.exit(0) (raised SystemExit); a model file must not "
                          "exit")
    assert out == ""


def test_model_file_that_prints_keeps_json_clean(monkeypatch, capsys, tmp_path) -> None:
    import json
    model = write(tmp_path / "chatty.py", "print('loading the chatty model')\n" + SMALL_CONV.replace(
        "def build():\n", "def build():\n    print('building')\n") + (
        "import numpy as np\n"
        "def representative_dataset():\n"
        "    print('calibrating')\n"
        "    for _ in range(4):\n"
        "        yield [np.random.default_rng(0).uniform(-1, 1, (1, 4, 4, 2)).astype(np.float32)]\n"))
    code, out, err = run_cli(monkeypatch, capsys, "report", str(model), "--board", "stm32f412", "--json",
                             "--no-tflm-arena")
    assert code == 0
    assert json.loads(out)["model"] == "chatty"
    # Everything it printed went to stderr (calibration data is read first, once: it is part of the cache key).
    assert err.startswith("loading the chatty model calibrating") and "building" in err


# --- issue 10 item 8: messages that say what, where and what would help -----------------------------------

def test_empty_representative_dataset(monkeypatch, capsys, tmp_path) -> None:
    model = write(tmp_path / "empty_rd.py", SMALL_CONV + "def representative_dataset():\n    return iter([])\n")
    code, _, err = run_cli(monkeypatch, capsys, "report", str(model), "--board", "stm32f412")
    assert code == 2
    assert err == (f"error: {model}: representative_dataset() yielded no samples, so the model cannot be calibrated "
                   "for int8; it must yield, for each sample, a list of float32 arrays of shape (1, 4, 4, 2) (one per "
                   "model input), e.g. 100 typical inputs")


def test_all_nan_representative_dataset(monkeypatch, capsys, tmp_path) -> None:
    model = write(tmp_path / "nan_rd.py", SMALL_CONV + (
        "import numpy as np\n"
        "def representative_dataset():\n"
        "    for _ in range(3):\n"
        "        yield [np.full((1, 4, 4, 2), np.nan, dtype=np.float32)]\n"))
    code, _, err = run_cli(monkeypatch, capsys, "report", str(model), "--board", "stm32f412")
    assert code == 2
    assert err == (f"error: {model}: every sample of representative_dataset() (3) contains NaN or infinite values, "
                   "so the model cannot be calibrated for int8; give finite values: it must yield, for each sample, a "
                   "list of float32 arrays of shape (1, 4, 4, 2) (one per model input), e.g. 100 typical inputs")


def test_corrupt_keras_file(monkeypatch, capsys, tmp_path) -> None:
    path = write(tmp_path / "broken.keras", "this is not a zip archive")
    code, _, err = run_cli(monkeypatch, capsys, "report", str(path), "--board", "stm32f412")
    assert code == 2
    assert err == (f"error: {path}: not a valid .keras file (not a zip archive: truncated, corrupt or another "
                   "format); a .keras file is the zip archive model.save('model.keras') writes")


def test_truncated_keras_file(monkeypatch, capsys, tmp_path) -> None:
    original = (Path(__file__).resolve().parent.parent / "models" / "digits_mcunet.keras").read_bytes()
    path = tmp_path / "cut.keras"
    path.write_bytes(original[:len(original) // 2])
    code, _, err = run_cli(monkeypatch, capsys, "report", str(path), "--board", "stm32f412")
    assert code == 2
    assert err.startswith(f"error: {path}: not a valid .keras file")


def test_directory_as_model(monkeypatch, capsys, tmp_path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    code, _, err = run_cli(monkeypatch, capsys, "report", str(folder), "--board", "stm32f412")
    assert code == 2
    assert err == (f"error: {folder}: is a directory; give the model file itself: a .py with build(), a .keras or "
                   "an int8 .tflite")


def test_saved_model_directory(monkeypatch, capsys, tmp_path) -> None:
    folder = tmp_path / "exported"
    folder.mkdir()
    (folder / "saved_model.pb").write_bytes(b"")
    code, _, err = run_cli(monkeypatch, capsys, "report", str(folder), "--board", "stm32f412")
    assert code == 2
    assert err == (f"error: {folder}: is a directory (a TensorFlow SavedModel, which tinyc does not read: convert it "
                   "to an int8 .tflite, or give the Keras model as .keras or a .py with build())")


def test_keras3_lstm_is_named(monkeypatch, capsys, tmp_path) -> None:
    model = write(tmp_path / "lstm.py", (
        "import keras\n"
        "def build():\n"
        "    x = keras.Input((10, 4))\n"
        "    y = keras.layers.LSTM(8, name='encoder')(x)\n"
        "    return keras.Model(x, keras.layers.Dense(3)(y))\n"))
    code, _, err = run_cli(monkeypatch, capsys, "report", str(model), "--board", "stm32f412")
    assert code == 2
    assert err == (f"error: {model}: Keras layer 'encoder' (layer 1 of the model, LSTM): Keras 3's LSTM converts to a "
                   "WHILE loop (TensorFlow's int8 calibration crashes on it); build the model with tf_keras (Keras 2): "
                   "tf_keras.layers.LSTM converts to the fused UNIDIRECTIONAL_SEQUENCE_LSTM that tinyc lowers (see "
                   "models/kws_lstm.py)")


def test_gru_is_named(monkeypatch, capsys, tmp_path) -> None:
    model = write(tmp_path / "gru.py", (
        "import keras\n"
        "def build():\n"
        "    x = keras.Input((10, 4))\n"
        "    y = keras.layers.GRU(8, name='encoder')(x)\n"
        "    return keras.Model(x, keras.layers.Dense(3)(y))\n"))
    code, _, err = run_cli(monkeypatch, capsys, "report", str(model), "--board", "stm32f412")
    assert code == 2
    assert err == (f"error: {model}: Keras layer 'encoder' (layer 1 of the model, GRU): GRU is not supported "
                   "(tinyc lowers int8 CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED, ADD, AVERAGE_POOL_2D, MAX_POOL_2D, "
                   "MEAN, RESHAPE, EXPAND_DIMS, SQUEEZE, RESIZE_NEAREST_NEIGHBOR, RESIZE_BILINEAR, TRANSPOSE_CONV, "
                   "STRIDED_SLICE, SPLIT, SPLIT_V, TRANSPOSE, PAD, CONCATENATION, RELU, RELU6, SOFTMAX, QUANTIZE, "
                   "LEAKY_RELU, LOGISTIC, TANH, HARD_SWISH, MUL, SUB, MAXIMUM, MINIMUM, PRELU, UNIDIRECTIONAL_SEQUENCE_LSTM); "
                   "replace it with convolutions (e.g. a DS-CNN over the time axis) or Dense layers")


@pytest.mark.parametrize(("layer", "kind", "problem"), [
    ("keras.layers.ELU(name='odd')", "ELU",
     "it converts to TFLite ELU, which tinyc does not lower: use LeakyReLU, ReLU or Activation('hard_swish')"),
    ("keras.layers.UpSampling2D(interpolation='bicubic', name='odd')", "UpSampling2D",
     "interpolation 'bicubic' is not supported: use 'nearest' (RESIZE_NEAREST_NEIGHBOR) or 'bilinear' "
     "(RESIZE_BILINEAR)"),
    ("keras.layers.GlobalMaxPooling2D(keepdims=True, name='odd')", "GlobalMaxPooling2D",
     "it converts to TFLite REDUCE_MAX, which tinyc does not lower: use GlobalAveragePooling2D, or MaxPooling2D with "
     "the whole map as its window"),
    ("keras.layers.Activation('gelu', name='odd')", "Activation",
     "activation 'gelu' converts to TFLite GELU, which tinyc does not lower: use relu, relu6, leaky_relu, "
     "hard_swish, sigmoid or tanh"),
])
def test_unsupported_keras_layer_refused_before_conversion(layer: str, kind: str, problem: str, monkeypatch, capsys,
                                                            tmp_path) -> None:
    """Named with the TFLite op it would become and the nearest supported alternative, without converting."""
    import tinyc.frontend.loader
    model = write(tmp_path / "odd.py", (
        "import keras\n"
        "def build():\n"
        "    x = keras.Input((8, 8, 2))\n"
        f"    y = {layer}(x)\n"
        "    return keras.Model(x, keras.layers.Conv2D(2, 1, name='head')(y))\n"))

    def no_conversion(*args, **kwargs):
        raise AssertionError("converted a model the Keras check refuses")
    monkeypatch.setattr(tinyc.frontend.loader, "keras_to_int8_tflite", no_conversion)
    code, _, err = run_cli(monkeypatch, capsys, "report", str(model), "--board", "stm32f412")
    assert code == 2
    assert err == f"error: {model}: Keras layer 'odd' (layer 1 of the model, {kind}): {problem}"


def test_unsupported_op_names_its_keras_layer(monkeypatch, capsys, tmp_path) -> None:
    model = write(tmp_path / "gated.py", (
        "import keras\n"
        "def build():\n"
        "    x = keras.Input((4, 4, 2))\n"
        "    y = keras.layers.Conv2D(2, 1, name='conv_a')(x)\n"
        "    y = keras.layers.Lambda(lambda t: keras.ops.abs(t), name='gate')(y)\n"
        "    return keras.Model(x, keras.layers.Conv2D(2, 1, name='head')(y))\n"))
    import re
    code, _, err = run_cli(monkeypatch, capsys, "report", str(model), "--board", "stm32f412")
    assert code == 2
    err = re.sub(r"functional_[0-9_]+/", "functional_1/", err)  # Keras numbers the models of a session
    assert err == (f"error: {model}: unsupported model: op 1 (ABS), layer 'functional_1/gate_1/Abs' from Keras layer "
                   "'gate' (Lambda): op ABS is not supported; supported ops: CONV_2D, DEPTHWISE_CONV_2D, "
                   "FULLY_CONNECTED, ADD, AVERAGE_POOL_2D, MAX_POOL_2D, MEAN, RESHAPE, EXPAND_DIMS, SQUEEZE, "
                   "RESIZE_NEAREST_NEIGHBOR, RESIZE_BILINEAR, TRANSPOSE_CONV, STRIDED_SLICE, SPLIT, SPLIT_V, TRANSPOSE, PAD, "
                   "CONCATENATION, RELU, "
                   "RELU6, SOFTMAX, "
                   "QUANTIZE, LEAKY_RELU, LOGISTIC, "
                   "TANH, HARD_SWISH, MUL, SUB, MAXIMUM, MINIMUM, PRELU, UNIDIRECTIONAL_SEQUENCE_LSTM")


def test_model_file_writing_to_file_descriptor_1_keeps_json_clean(tmp_path) -> None:
    """C-level writes to standard output (os.write(1, ...)) are redirected too: checked in a real process."""
    import json
    import os
    import subprocess
    import sys
    repo = Path(__file__).resolve().parent.parent
    model = write(tmp_path / "raw.py", "import os\nos.write(1, b'raw bytes on fd 1\\n')\n" + SMALL_CONV.replace(
        "def build():\n", "def build():\n    os.write(1, b'more from build\\n')\n"))
    proc = subprocess.run([sys.executable, "-m", "tinyc.cli", "report", str(model), "--board", "stm32f412", "--json",
                           "--no-tflm-arena"], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(repo)})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["model"] == "raw"
    assert "raw bytes on fd 1" in proc.stderr and "more from build" in proc.stderr
