"""Keras model → full-integer int8 TFLite flatbuffer (per-channel weights, int8 input and output)."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from tinyc.errors import ModelLoadError

RepresentativeDataset = Callable[[], Iterable[list[np.ndarray]]]
CALIBRATION_SEED = 1234
CALIBRATION_SAMPLES = 32


def quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def random_representative_dataset(input_shapes: list[tuple[int, ...]]) -> RepresentativeDataset:
    """Seeded uniform [-1, 1) calibration data, batch 1, one array per model input."""
    def generate() -> Iterable[list[np.ndarray]]:
        rng = np.random.default_rng(CALIBRATION_SEED)
        for _ in range(CALIBRATION_SAMPLES):
            yield [rng.uniform(-1.0, 1.0, size=(1, *shape[1:])).astype(np.float32) for shape in input_shapes]
    return generate


@contextlib.contextmanager
def silenced_stdio(log: io.StringIO | None = None) -> Iterator[None]:
    """Converters print progress from Python and C++; keep the user's terminal for tinyc. What Python prints goes
    to `log` (for an error message to quote), what C++ prints is dropped."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
        try:
            sink = log if log is not None else io.StringIO()
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                yield
        finally:
            sys.stdout.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def keras_to_int8_tflite(model: object, representative: RepresentativeDataset) -> bytes:
    """Convert with TensorFlow's converter: int8 ops only, int8 input and output."""
    quiet_tensorflow()
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    try:
        with silenced_stdio(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TF warns about input statistics it does not need here
            return bytes(converter.convert())
    except Exception as exc:  # the converter raises many unrelated types; its message is what helps
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(f"TensorFlow could not convert the model to int8 TFLite: {first}") from exc
