"""Full-integer int8 conversion of a Keras model, and a TFLite-interpreter top-1 estimate.

Used by the front end's own checks (analytic counts vs the int8 graph, digits accuracy); the
compiler proper reads the resulting flatbuffer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import keras
import numpy as np
import tensorflow as tf

from tinyc.frontend.convert import keras_to_int8_tflite


def convert_int8(model: keras.Model,
                 representative_dataset: Callable[[], Iterable[list[np.ndarray]]]) -> bytes:
    """int8 in, int8 out, int8 builtins only: the converter the compiler itself uses."""
    return keras_to_int8_tflite(model, representative_dataset)


def int8_predictions(flatbuffer: bytes, x: np.ndarray) -> np.ndarray:
    """Argmax class of each float sample in ``x`` (batch axis first), run one at a time."""
    interpreter = tf.lite.Interpreter(model_content=flatbuffer)
    interpreter.allocate_tensors()
    (input_detail,) = interpreter.get_input_details()
    (output_detail,) = interpreter.get_output_details()
    scale, zero_point = input_detail["quantization"]
    predictions = np.empty(len(x), dtype=np.int64)
    for index, sample in enumerate(x):
        quantized = np.clip(np.round(sample / scale) + zero_point, -128, 127).astype(np.int8)
        interpreter.set_tensor(input_detail["index"], quantized[np.newaxis])
        interpreter.invoke()
        predictions[index] = int(np.argmax(interpreter.get_tensor(output_detail["index"])[0]))
    return predictions
