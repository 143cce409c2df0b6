"""An LSTM keyword spotter (49 frames x 10 MFCC-like coefficients, 12 classes), random weights.

One LSTM layer of 64 units over the frames (its last hidden state), then a softmax Dense. Built with tf_keras
(Keras 2): TensorFlow's converter fuses its LSTM into one int8 UNIDIRECTIONAL_SEQUENCE_LSTM (int16 gates and cell
state), which tinyc lowers to tinyc_lstm_s8; Keras 3's LSTM becomes a WHILE loop instead. The converter's
STRIDED_SLICE of the last time step is folded into the LSTM.

Random weights (fixed seed); calibration frames are smooth random trajectories (a random walk per coefficient,
larger for the first coefficients, as in MFCCs), not speech.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

WEIGHTS = "random"
SEED = 0
FRAMES, COEFFICIENTS = 49, 10
INPUT_SHAPE = (FRAMES, COEFFICIENTS)
UNITS = 64
CLASSES = 12


def build() -> Any:
    import tf_keras

    tf_keras.utils.set_random_seed(SEED)
    x = tf_keras.Input(INPUT_SHAPE, batch_size=1, name="mfcc")
    y = tf_keras.layers.LSTM(UNITS, name="lstm")(x)
    y = tf_keras.layers.Dense(CLASSES, activation="softmax", name="keyword")(y)
    return tf_keras.Model(x, y, name="kws_lstm")


def mfcc_like_frames(count: int, seed: int) -> np.ndarray:
    """`count` (FRAMES, COEFFICIENTS) float32 samples: per coefficient a random walk over the frames, scaled down
    with the coefficient's index, in about [-1, 1]."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, 0.15, size=(count, FRAMES, COEFFICIENTS)).cumsum(axis=1)
    offsets = rng.uniform(-0.5, 0.5, size=(count, 1, COEFFICIENTS))
    weights = 1.0 / (1.0 + 0.3 * np.arange(COEFFICIENTS))
    return np.clip((steps + offsets) * weights, -1.0, 1.0).astype(np.float32)


def representative_dataset() -> Iterator[list[np.ndarray]]:
    for sample in mfcc_like_frames(32, SEED + 1):
        yield [sample[np.newaxis]]
