"""The int8 conversion cache: a second load of the same model converts nothing; a changed model file or
representative dataset converts again; a torn entry is ignored; TINYC_CACHE_DIR=off turns it off."""

from __future__ import annotations

from pathlib import Path

import pytest

from tinyc.frontend.loader import build_keras, load_model

MODEL = (
    "import keras\n"
    "import numpy as np\n"
    "def build():\n"
    "    keras.utils.set_random_seed(3)\n"
    "    x = keras.Input((4, 4, 2))\n"
    "    return keras.Model(x, keras.layers.Conv2D(3, 1, name='head')(x))\n"
    "def representative_dataset():\n"
    "    rng = np.random.default_rng(SEED)\n"
    "    for _ in range(4):\n"
    "        yield [rng.uniform(-1, 1, (1, 4, 4, 2)).astype(np.float32)]\n"
    "SEED = 0\n")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("TINYC_CACHE_DIR", str(folder))
    return folder


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_second_load_comes_from_the_cache(tmp_path: Path, cache: Path) -> None:
    model = write(tmp_path / "m.py", MODEL)
    first, second = load_model(model), load_model(model)
    assert (first.from_cache, second.from_cache) == (False, True)
    assert second.tflite == first.tflite and second.output_layer == first.output_layer
    assert len(list(cache.glob("*.tflite"))) == 1
    assert second.keras_model is None and build_keras(second) is not None  # the float model, built on demand


def test_changed_representative_data_or_model_file_converts_again(tmp_path: Path, cache: Path) -> None:
    model = write(tmp_path / "m.py", MODEL)
    base = load_model(model)
    write(model, MODEL.replace("SEED = 0", "SEED = 1"))
    assert load_model(model).from_cache is False  # other calibration data
    write(model, MODEL.replace("Conv2D(3, 1", "Conv2D(4, 1"))
    changed = load_model(model)
    assert changed.from_cache is False and changed.tflite != base.tflite
    write(model, MODEL)
    assert load_model(model).from_cache is True
    assert len(list(cache.glob("*.tflite"))) == 3


def test_torn_entry_is_ignored(tmp_path: Path, cache: Path) -> None:
    model = write(tmp_path / "m.py", MODEL)
    first = load_model(model)
    entry = next(cache.glob("*.tflite"))
    entry.write_bytes(first.tflite[:100])
    again = load_model(model)
    assert again.from_cache is False  # converted again (TensorFlow's bytes may differ from run to run) ...
    third = load_model(model)
    assert third.from_cache is True and third.tflite == again.tflite  # ... and the entry written whole


def test_cache_off(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TINYC_CACHE_DIR", "off")
    model = write(tmp_path / "m.py", MODEL)
    assert (load_model(model).from_cache, load_model(model).from_cache) == (False, False)
