"""`verify --dataset` metrics for every model: exact numbers for the four metrics, labels read as classes, targets or
none, and an emulator run of a regressor (float targets) and an autoencoder-like model (no labels)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from conftest import needs_toolchain, run_cli
from tinyc.errors import ModelLoadError
from tinyc.run.accuracy import Labels, _labels
from tinyc.run.metrics import OutputMetrics, dequantize, output_metrics


@pytest.mark.parametrize("got, expected, metrics", [
    ([1, 2, 3], [1, 2, 4], OutputMetrics(rmse=math.sqrt(1 / 3), max_abs_error=1.0,
                                         cosine_similarity=17 / math.sqrt(14 * 21), snr_db=10 * math.log10(21))),
    ([0.5, -0.5], [0.5, -0.5], OutputMetrics(rmse=0.0, max_abs_error=0.0, cosine_similarity=1.0, snr_db=math.inf)),
    ([0, 0], [0, 0], OutputMetrics(rmse=0.0, max_abs_error=0.0, cosine_similarity=1.0, snr_db=math.inf)),
    ([1, 0], [0, 0], OutputMetrics(rmse=math.sqrt(0.5), max_abs_error=1.0, cosine_similarity=0.0, snr_db=-math.inf)),
    ([1, 0], [-1, 0], OutputMetrics(rmse=math.sqrt(2), max_abs_error=2.0, cosine_similarity=-1.0,
                                    snr_db=10 * math.log10(0.5 / 2))),
])
def test_output_metrics(got: list[float], expected: list[float], metrics: OutputMetrics) -> None:
    result = output_metrics(np.array(got), np.array(expected))
    for name in ("rmse", "max_abs_error", "cosine_similarity", "snr_db"):
        assert getattr(result, name) == pytest.approx(getattr(metrics, name), rel=1e-12, abs=1e-12), name


def test_metrics_json_names_infinities() -> None:
    m = output_metrics(np.array([1.0]), np.array([1.0]))
    assert m.as_json() == {"rmse": 0.0, "max_abs_error": 0.0, "cosine_similarity": 1.0, "snr_db": "inf"}


def test_dequantize() -> None:
    assert dequantize(np.array([-128, 0, 127], np.int8), scale=0.5, zero_point=-128).tolist() == [0.0, 64.0, 127.5]


@pytest.mark.parametrize("y, kind", [
    (np.array([0, 2, 1]), Labels.CLASSES),
    (np.zeros((3, 4), np.float32), Labels.TARGETS),
    (np.zeros((3, 2, 2), np.float64), Labels.TARGETS),
    (None, Labels.NONE),
])
def test_labels_are_classes_targets_or_none(y: object, kind: Labels) -> None:
    assert _labels(Path("m.py"), y, samples=3, output_values=4)[1] is kind


@pytest.mark.parametrize("y, why", [
    (np.zeros((3, 5), np.float32), "got shape (3, 5) of float32"),
    (np.zeros(2, np.int64), "got shape (2,) of int64"),
    (np.array([[0.0] * 4, [math.nan] * 4, [0.0] * 4]), "targets hold NaN or infinite values"),
])
def test_labels_that_fit_neither_are_refused(y: np.ndarray, why: str) -> None:
    with pytest.raises(ModelLoadError, match=r"m.py: dataset\(\) ") as error:
        _labels(Path("m.py"), y, samples=3, output_values=4)
    assert why in str(error.value)


REGRESSOR = (
    "import keras\n"
    "import numpy as np\n"
    "def build():\n"
    "    keras.utils.set_random_seed(5)\n"
    "    x = keras.Input((6,))\n"
    "    return keras.Model(x, keras.layers.Dense(3)(keras.layers.Dense(8, activation='relu')(x)))\n"
    "def representative_dataset():\n"
    "    rng = np.random.default_rng(1)\n"
    "    for _ in range(16):\n"
    "        yield [rng.uniform(-1, 1, (1, 6)).astype(np.float32)]\n"
    "def dataset():\n"
    "    rng = np.random.default_rng(2)\n"
    "    x = rng.uniform(-1, 1, (12, 6)).astype(np.float32)\n"
    "    return x, LABELS\n")


@needs_toolchain
@pytest.mark.emulator
@pytest.mark.parametrize("labels, kind", [("x[:, :3] * 0.5", "targets"), ("None", "none")])
def test_a_model_without_classes_gets_metrics(tmp_path: Path, monkeypatch, capsys, labels: str, kind: str) -> None:
    model = tmp_path / "regressor.py"
    model.write_text(REGRESSOR.replace("LABELS", labels))
    code, out, err = run_cli(monkeypatch, capsys, "verify", str(model), "--board", "stm32f412", "--dataset",
                             "--emulator", "qemu", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["labels"] == kind and data["accuracy"] is None and data["mismatches"] == 0
    pairs = {"int8_reference_vs_float", "firmware_vs_float", "firmware_vs_int8_reference"}
    if kind == "targets":
        pairs |= {"float_vs_targets", "int8_reference_vs_targets", "firmware_vs_targets"}
    assert set(data["metrics"]) == pairs
    assert data["metrics"]["firmware_vs_int8_reference"]["rmse"] == 0.0  # bit-exact
    assert data["metrics"]["firmware_vs_float"] == data["metrics"]["int8_reference_vs_float"]
    assert data["metrics"]["firmware_vs_float"]["cosine_similarity"] > 0.98
