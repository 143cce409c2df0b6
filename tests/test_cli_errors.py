"""Bad input gets one clear line, a non-zero exit status, and loses nothing."""

from __future__ import annotations

from pathlib import Path


from conftest import needs_toolchain, run_cli


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_unknown_board_lists_known_ones(monkeypatch, capsys, tmp_path) -> None:
    model = write(tmp_path / "m.py", "def build():\n    raise AssertionError('not reached')\n")
    code, _, err = run_cli(monkeypatch, capsys, "report", str(model), "--board", "stm32f4")
    assert code == 2
    assert "unknown board 'stm32f4'; known boards: stm32f412, stm32h743" in err


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
    model = write(tmp_path / "mul.py", (
        "import keras\n"
        "def build():\n"
        "    x = keras.Input((4, 4, 2))\n"
        "    y = keras.layers.Conv2D(2, 1, name='conv_a')(x)\n"
        "    return keras.Model(x, keras.layers.Multiply(name='gate')([x, y]))\n"))
    code, _, err = run_cli(monkeypatch, capsys, "report", str(model), "--board", "stm32f412")
    assert code == 2
    assert "op MUL is not supported" in err
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
    # 1,100,000 weights + 1000 × (4 bias + 4 multiplier + 4 shift) + the code estimate (16 KiB + 160 B for
    # its one step) = 1,128,544 bytes, against 1 MiB of flash.
    assert "does NOT fit stm32f412: over flash by 79,968 bytes" in err
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
