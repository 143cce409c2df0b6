"""A Conv1D human-activity classifier (3-axis accelerometer, 128 samples, 6 activities), random weights.

Three Conv1D + BatchNormalization + ReLU layers (the converter wraps each in EXPAND_DIMS -> CONV_2D -> RESHAPE, which
tinyc aliases), max pooling over time, GlobalAveragePooling1D (MEAN over the time axis) and a softmax Dense. Random
weights (fixed seed), BatchNormalization statistics calibrated on random inputs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from tinyc.frontend.data import random_inputs, random_representative_dataset

if TYPE_CHECKING:
    import keras

WEIGHTS = "random"
SEED = 0
INPUT_SHAPE = (128, 3)
CLASSES = 6


def build() -> keras.Model:
    import keras

    from tinyc.frontend.blocks import randomize_statistics

    keras.utils.set_random_seed(SEED)
    x = keras.Input(INPUT_SHAPE)
    y = x
    for k, (filters, kernel) in enumerate(((16, 9), (32, 5), (64, 3))):
        y = keras.layers.Conv1D(filters, kernel, padding="same", use_bias=False, name=f"conv_{k}")(y)
        y = keras.layers.BatchNormalization(name=f"bn_{k}")(y)
        y = keras.layers.ReLU(name=f"relu_{k}")(y)
        if k < 2:
            y = keras.layers.MaxPooling1D(2, name=f"pool_{k}")(y)
    y = keras.layers.GlobalAveragePooling1D(name="gap")(y)
    model = keras.Model(x, keras.layers.Dense(CLASSES, activation="softmax", name="activity")(y), name="har_conv1d")
    randomize_statistics(model, seed=SEED, calibration=random_inputs(INPUT_SHAPE, count=16, seed=SEED + 1))
    return model


def representative_dataset() -> Iterator[list[np.ndarray]]:
    return random_representative_dataset(INPUT_SHAPE)
