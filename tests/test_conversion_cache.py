"""The int8 conversion cache: a second load of the same model converts nothing; a changed model file or
representative dataset converts again; a torn entry is ignored; TINYC_CACHE_DIR=off turns it off."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import needs_toolchain
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


# --- issue 22: an entry that cannot be trusted is a miss with a note; --no-cache; verify names its conversion ----

KEY = "ab" * 32
FAKE = b"TFL3 not really a model"


def _where(cache: Path) -> str:
    return f"conversion cache entry {cache / KEY}"


@pytest.mark.parametrize("edit, why", [
    (lambda meta, data: meta.write_text("[1, 2]"), "is not used: its .json holds list, not an object"),
    (lambda meta, data: meta.write_text("{\"notes\": 3"), "is not valid JSON"),
    (lambda meta, data: meta.write_text("1" * 5000), "is not valid JSON"),
    (lambda meta, data: meta.write_bytes(b"\xff\xfe"), "cannot be read (\'utf-8\' codec can't decode byte 0xff in "
                                                       "position 0: invalid start byte)"),
    (lambda meta, data: meta.write_text(meta.read_text().replace('"notes": ["n1"]', '"notes": [1]')),
     "is not used: its notes are not a list of strings"),
    (lambda meta, data: meta.write_text(meta.read_text().replace('"output_layer": "head"', '"output_layer": 7')),
     "is not used: its output_layer is not a string"),
    (lambda meta, data: meta.write_text(meta.read_text().replace('"output_layer": "head"', '"output_layer": "tail"')),
     "is not used: it fails its digest check (torn, corrupt or edited)"),
    (lambda meta, data: meta.write_text(meta.read_text().replace('"notes": ["n1"]', '"notes": []')),
     "is not used: it fails its digest check (torn, corrupt or edited)"),
    (lambda meta, data: data.write_bytes(FAKE + b"edited"), "is not used: it fails its digest check (torn, corrupt or edited)"),
    (lambda meta, data: data.write_bytes(FAKE[:4]), "is not used: it fails its digest check (torn, corrupt or edited)"),
    (lambda meta, data: meta.write_text('{"sha256": "x", "notes": [], "output_layer": null}'),
     "is not used: it has no digest (an entry of an older tinyc, or edited)"),
    (lambda meta, data: data.unlink(), "cannot be read (No such file or directory)"),
])
def test_an_entry_that_cannot_be_trusted_is_a_miss_with_a_note(cache: Path, edit, why: str) -> None:
    from tinyc.frontend.cache import CachedConversion, load_cached, store
    store(KEY, CachedConversion(tflite=FAKE, notes=("n1",), output_layer="head"))
    assert load_cached(KEY).hit == CachedConversion(tflite=FAKE, notes=("n1",), output_layer="head")
    edit(cache / f"{KEY}.json", cache / f"{KEY}.tflite")
    lookup = load_cached(KEY)
    assert lookup.hit is None
    assert lookup.note == f"{_where(cache)} {why}" + ("; converted again" if "is not used" in why else ": converted again")


def test_an_entry_copied_under_another_key_fails_its_digest(cache: Path) -> None:
    from tinyc.frontend.cache import CachedConversion, load_cached, store
    store(KEY, CachedConversion(tflite=FAKE, notes=(), output_layer=None))
    other = "cd" * 32
    for suffix in (".json", ".tflite"):
        (cache / f"{other}{suffix}").write_bytes((cache / f"{KEY}{suffix}").read_bytes())
    assert load_cached(other).hit is None and "fails its digest check" in str(load_cached(other).note)
    assert load_cached("ef" * 32).note is None  # no entry: a plain miss


def test_a_malformed_entry_converts_again_with_a_note_and_is_rewritten(tmp_path: Path, cache: Path) -> None:
    model = write(tmp_path / "m.py", MODEL)
    first = load_model(model)
    assert first.conversion == "fresh" and first.cache_key is not None
    (cache / f"{first.cache_key}.json").write_text("[]")
    again = load_model(model)
    assert (again.from_cache, again.conversion) == (False, "fresh")
    assert again.notes[-1] == (f"conversion cache entry {cache / first.cache_key} is not used: its .json holds list, "
                               "not an object; converted again")
    third = load_model(model)
    assert third.conversion == "cached" and not any("conversion cache" in n for n in third.notes)
    assert third.conversion_json()["cache_key"] == first.cache_key


def test_no_cache_reads_and_writes_nothing(tmp_path: Path, cache: Path, monkeypatch, capsys) -> None:
    from conftest import run_cli
    model = write(tmp_path / "m.py", MODEL)
    code, out, err = run_cli(monkeypatch, capsys, "report", str(model), "--board", "stm32f412", "--no-cache",
                             "--no-tflm-arena", "--json")
    assert code == 0, err
    assert not cache.exists()
    load_model(model)  # an entry now exists ...
    entries = sorted(p.name for p in cache.iterdir())
    from tinyc.frontend.cache import cache_disabled
    with cache_disabled():
        assert load_model(model).conversion == "fresh"  # ... and --no-cache does not read it
    assert sorted(p.name for p in cache.iterdir()) == entries
    for command in ("compile", "verify", "bench", "report"):
        code, out, _ = run_cli(monkeypatch, capsys, command, "--help")
        assert code == 0 and "--no-cache" in out, command


def test_a_tflite_file_is_not_a_conversion() -> None:
    from conftest import REPO
    loaded = load_model(REPO / "tests" / "data" / "golden_tiny.tflite")
    assert loaded.conversion_json()["conversion"] == "tflite" and loaded.cache_key is None
    assert loaded.describe_conversion().startswith("the .tflite file itself (sha256 ")


@needs_toolchain
@pytest.mark.emulator
def test_verify_says_which_conversion_it_proved(tmp_path: Path, cache: Path, monkeypatch, capsys) -> None:
    from conftest import run_cli
    model = write(tmp_path / "m.py", MODEL)
    key = load_model(model).cache_key
    assert key is not None
    args = ("verify", str(model), "--board", "stm32f412", "--samples", "1", "--emulator", "qemu", "--outputs-only")
    code, out, err = run_cli(monkeypatch, capsys, *args, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["conversion"], result["cache_key"]) == ("cached", key)
    assert len(result["tflite_sha256"]) == 64
    code, out, err = run_cli(monkeypatch, capsys, *args, "--no-cache")
    assert code == 0, err
    assert "model: fresh int8 conversion, cache key " + key[:16] in " ".join(out.split())
