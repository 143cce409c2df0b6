"""`--calibration FILE.npy|.npz`: samples on the first axis calibrate a .keras model (and replace a .py model's
representative_dataset()); the data is part of the cache key; bad files are one error naming the file; without any
calibration data the RANDOM CALIBRATION note says so."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, run_cli
from tinyc.errors import ModelLoadError
from tinyc.frontend.calibration import read_calibration
from tinyc.frontend.loader import load_model

KERAS = REPO / "models" / "digits_mcunet.keras"
SHAPE = (32, 32, 1)


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("TINYC_CACHE_DIR", str(folder))
    return folder


def test_npy_and_npz_read_as_samples(tmp_path: Path) -> None:
    np.save(tmp_path / "a.npy", np.ones((3, *SHAPE), np.float32))
    np.savez(tmp_path / "b.npz", first=np.zeros((2, 4)), second=np.ones((2, 5), np.int16))
    a, b = read_calibration(tmp_path / "a.npy"), read_calibration(tmp_path / "b.npz")
    assert len(a) == 3 and a[0][0].shape == (1, *SHAPE) and a[0][0].dtype == np.float32
    assert len(b) == 2 and [x.shape for x in b[1]] == [(1, 4), (1, 5)]


@pytest.mark.parametrize("name, write, why", [
    ("x.csv", lambda p: p.write_text("1,2"), "--calibration takes a .npy file"),
    ("missing.npy", None, "no such calibration file"),
    ("nan.npy", lambda p: np.save(p, np.full((2, 3), np.nan)), "holds NaN or infinite values"),
    ("ragged.npz", lambda p: np.savez(p, a=np.zeros((2, 3)), b=np.zeros((3, 3))), "the same number of samples"),
    ("objects.npy", lambda p: np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True), "(a pickle)"),
    ("torn.npz", lambda p: p.write_bytes(b"PK\x03\x04 torn"), "cannot be read as a .npz file"),
    ("text.npy", lambda p: p.write_bytes(pickle.dumps([1, 2])), "holds Python objects"),
])
def test_bad_calibration_files(tmp_path: Path, name: str, write, why: str) -> None:
    path = tmp_path / name
    if write is not None:
        write(path)
    with pytest.raises(ModelLoadError, match=f"^{path}: ") as error:
        read_calibration(path)
    assert why in str(error.value)


def test_calibration_of_the_wrong_shape_names_both(tmp_path: Path) -> None:
    np.save(tmp_path / "c.npy", np.zeros((4, 28, 28, 1), np.float32))
    with pytest.raises(ModelLoadError, match=r"calibration arrays shaped \(samples, 28, 28, 1\); the model takes "
                                             r"\(samples, 32, 32, 1\)"):
        load_model(KERAS, calibration=tmp_path / "c.npy")


def test_a_tflite_takes_no_calibration(tmp_path: Path) -> None:
    np.save(tmp_path / "c.npy", np.zeros((4, 2), np.float32))
    with pytest.raises(ModelLoadError, match="a .tflite file is already quantized"):
        load_model(REPO / "tests" / "data" / "golden_tiny.tflite", calibration=tmp_path / "c.npy")


def test_keras_calibrated_from_a_file_is_keyed_by_it(tmp_path: Path) -> None:
    from tinyc.frontend.data import digits_split
    data = digits_split()[0][:24]
    np.save(tmp_path / "real.npy", data)
    np.save(tmp_path / "other.npy", data[::-1].copy() * 0.5)
    random = load_model(KERAS)
    real = load_model(KERAS, calibration=tmp_path / "real.npy")
    again = load_model(KERAS, calibration=tmp_path / "real.npy")
    other = load_model(KERAS, calibration=tmp_path / "other.npy")
    assert any(n.startswith("RANDOM CALIBRATION: no calibration data") for n in random.notes)
    assert not any("RANDOM" in n for n in real.notes) and "calibrated on 24 samples of real.npy" in real.notes[0]
    assert (real.from_cache, again.from_cache, again.tflite == real.tflite) == (False, True, True)
    assert len({random.cache_key, real.cache_key, other.cache_key}) == 3
    assert real.tflite != random.tflite


def test_cli_says_random_calibration_loudly(tmp_path: Path, monkeypatch, capsys) -> None:
    code, _, err = run_cli(monkeypatch, capsys, "report", str(KERAS), "--board", "stm32f412", "--no-tflm-arena")
    assert code == 0 and "note: RANDOM CALIBRATION: no calibration data (no --calibration FILE.npy|.npz" in err
