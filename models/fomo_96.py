"""A FOMO-style detector at 96x96x3 (MobileNetV2 0.35 trunk cut at 1/8, 1x1 heads), random weights.

Per-cell classes on a 12x12 grid.

Faster Objects, More Objects (Edge Impulse): the MobileNetV2 trunk up to ``block_6_expand_relu`` (12x12 cells of 8x8
pixels), a 1x1 Conv2D head and a per-cell softmax over background + 2 object classes. Random weights (fixed seed),
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
INPUT_SHAPE = (96, 96, 3)
CLASSES = 3  # background + 2 object classes


def build() -> keras.Model:
    import keras

    from tinyc.frontend.blocks import randomize_statistics

    keras.utils.set_random_seed(SEED)
    trunk = keras.applications.MobileNetV2(input_shape=INPUT_SHAPE, alpha=0.35, weights=None, include_top=False)
    cut = trunk.get_layer("block_6_expand_relu").output  # 1/8 resolution: 12x12
    y = keras.layers.Conv2D(32, 1, activation="relu", name="head")(cut)
    y = keras.layers.Conv2D(CLASSES, 1, name="logits")(y)
    model = keras.Model(trunk.input, keras.layers.Softmax(name="cells")(y), name="fomo_96")
    randomize_statistics(model, seed=SEED, calibration=random_inputs(INPUT_SHAPE, count=16, seed=SEED + 1))
    return model


def representative_dataset() -> Iterator[list[np.ndarray]]:
    return random_representative_dataset(INPUT_SHAPE)
