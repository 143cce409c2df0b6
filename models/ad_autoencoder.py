"""MLPerf Tiny anomaly-detection autoencoder (FC 640-128x4-8-128x4-640), random weights.

The ToyADMOS / MIMII autoencoder: FC 640-128-128-128-128-8-128-128-128-128-640.

Input: 5 frames x 128 log-mel bins, flattened to 640; each hidden Dense is followed by BatchNormalization and ReLU, as
in the MLPerf Tiny reference (``energy_runner`` anomaly_detection model). Random weights (fixed seed),
BatchNormalization statistics calibrated on random inputs.
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
INPUT_SHAPE = (640,)
HIDDEN = (128, 128, 128, 128, 8, 128, 128, 128, 128)


def build() -> keras.Model:
    import keras

    from tinyc.frontend.blocks import randomize_statistics

    keras.utils.set_random_seed(SEED)
    x = keras.Input(INPUT_SHAPE)
    y = x
    for k, units in enumerate(HIDDEN):
        y = keras.layers.Dense(units, name=f"dense_{k}")(y)
        y = keras.layers.BatchNormalization(name=f"bn_{k}")(y)
        y = keras.layers.ReLU(name=f"relu_{k}")(y)
    model = keras.Model(x, keras.layers.Dense(640, name="reconstruction")(y), name="ad_autoencoder")
    randomize_statistics(model, seed=SEED, calibration=random_inputs(INPUT_SHAPE, count=16, seed=SEED + 1))
    return model


def representative_dataset() -> Iterator[list[np.ndarray]]:
    return random_representative_dataset(INPUT_SHAPE)
