"""`tinyc verify --dataset`: top-1 of float Keras, TFLite Micro and the firmware on labelled samples.

The counts are pinned: the digits model is trained with fixed seeds and its held-out split is fixed, so a
changed count is a changed model, converter or kernel, visible in review.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import REPO, needs_toolchain, run_cli
from tinyc.run.accuracy import AccuracyResult, measure_accuracy

DIGITS = REPO / "models" / "digits_mcunet.py"
BOARD = "stm32f412"
SUBSET = 60

# (float Keras, int8 reference, firmware) correct out of the first SUBSET held-out samples.
EXPECTED_CORRECT = (59, 59, 59)


@pytest.fixture(scope="module")
def digits_subset() -> AccuracyResult:
    # 25 samples per build: three firmware builds, so the batches' outputs must come back in sample order.
    return measure_accuracy(DIGITS, BOARD, limit=SUBSET, max_batch_samples=25)


@needs_toolchain
@pytest.mark.emulator
def test_digits_firmware_equals_reference_on_every_sample(digits_subset: AccuracyResult) -> None:
    r = digits_subset
    assert (r.samples, r.batches, r.reference) == (SUBSET, 3, "tflite-micro")
    assert r.mismatched_samples == 0 and r.mismatched_bytes == 0 and r.first_mismatch is None
    assert np.array_equal(r.firmware_predictions, r.reference_predictions)


@needs_toolchain
@pytest.mark.emulator
def test_digits_top1_counts(digits_subset: AccuracyResult) -> None:
    r = digits_subset
    got = (r.correct(r.float_predictions), r.correct(r.reference_predictions), r.correct(r.firmware_predictions))
    assert got == EXPECTED_CORRECT


@needs_toolchain
@pytest.mark.emulator
def test_cli_dataset_json(monkeypatch, capsys) -> None:
    code, out, _ = run_cli(monkeypatch, capsys, "verify", str(DIGITS), "--board", BOARD, "--dataset",
                           "--limit", "8", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["mismatches"] == 0 and data["batches"] == 1 and data["samples"] == 8
    assert data["accuracy"] == {"float_top1": 1.0, "int8_reference_top1": 1.0, "firmware_top1": 1.0, "samples": 8,
                                "float_correct": 8, "int8_reference_correct": 8, "firmware_correct": 8,
                                "int8_drop_vs_float": 0.0}
    assert data["labels"] == "classes" and data["conversion"] in ("cached", "fresh")
    assert len(data["cache_key"]) == 64 and len(data["tflite_sha256"]) == 64
    assert data["metrics"]["firmware_vs_int8_reference"] == {"rmse": 0.0, "max_abs_error": 0.0,
                                                             "cosine_similarity": 1.0, "snr_db": "inf"}
    assert data["metrics"]["firmware_vs_float"]["cosine_similarity"] > 0.99


WANTED = ("`def dataset()` returning (x, y): float32 inputs with the batch axis first and, per input, one integer class "
          "label or float targets shaped like the model output (or y None)")


def test_model_file_without_dataset(monkeypatch, capsys, tmp_path) -> None:
    model = tmp_path / "nodata.py"
    model.write_text("import keras\n"
                     "def build():\n"
                     "    x = keras.Input((4, 4, 1), batch_size=1)\n"
                     "    return keras.Model(x, keras.layers.Conv2D(2, 3)(x))\n")
    code, _, err = run_cli(monkeypatch, capsys, "verify", str(model), "--board", BOARD, "--dataset")
    assert code == 2
    assert f"error: {model}: defines no dataset() function, which --dataset needs: add {WANTED}" in err


def test_tflite_has_no_dataset(monkeypatch, capsys) -> None:
    model = REPO / "tests" / "data" / "golden_tiny.tflite"
    code, _, err = run_cli(monkeypatch, capsys, "verify", str(model), "--board", BOARD, "--dataset")
    assert code == 2
    assert (f"error: {model}: --dataset needs a .py model file with {WANTED}; a .tflite file carries no labelled "
            "data") in err


def test_dataset_of_the_wrong_shape(monkeypatch, capsys, tmp_path) -> None:
    model = tmp_path / "wrong.py"
    model.write_text("import keras, numpy as np\n"
                     "def build():\n"
                     "    x = keras.Input((4, 4, 1), batch_size=1)\n"
                     "    return keras.Model(x, keras.layers.Conv2D(2, 3)(x))\n"
                     "def dataset():\n"
                     "    return np.zeros((3, 5, 5, 1), np.float32), np.zeros(3, np.int64)\n")
    code, _, err = run_cli(monkeypatch, capsys, "verify", str(model), "--board", BOARD, "--dataset")
    assert code == 2
    assert f"error: {model}: dataset() inputs have shape (3, 5, 5, 1); the model takes (samples, 4, 4, 1)" in err


def test_limit_needs_dataset(monkeypatch, capsys) -> None:
    code, _, err = run_cli(monkeypatch, capsys, "verify", str(DIGITS), "--board", BOARD, "--limit", "5")
    assert code == 2
    assert "--limit caps the samples of --dataset; without it, use --samples" in err
