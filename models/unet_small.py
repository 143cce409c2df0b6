"""A small U-Net-style segmenter at 48x48x3 (2 classes per pixel), random weights.

Two encoder levels, a dilated bottleneck, UpSampling2D + Concatenate skip connections.

Exercises the converter's chains tinyc folds: UpSampling2D (EXPAND_DIMS/TILE/RESHAPE -> one nearest-neighbour resize)
and a dilated 3x3 Conv2D (SPACE_TO_BATCH_ND/BATCH_TO_SPACE_ND -> one dilated convolution, its bias a broadcasting
ADD). Random weights (fixed seed), BatchNormalization statistics calibrated on random inputs.
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
INPUT_SHAPE = (48, 48, 3)
CLASSES = 2


def _block(x, filters: int, name: str, dilation: int = 1):  # type: ignore[no-untyped-def]
    import keras

    y = keras.layers.Conv2D(filters, 3, padding="same", dilation_rate=dilation, use_bias=False, name=f"{name}_conv")(x)
    y = keras.layers.BatchNormalization(name=f"{name}_bn")(y)
    return keras.layers.ReLU(name=f"{name}_relu")(y)


def build() -> keras.Model:
    import keras

    from tinyc.frontend.blocks import randomize_statistics

    keras.utils.set_random_seed(SEED)
    x = keras.Input(INPUT_SHAPE)
    e1 = _block(x, 8, "enc1")                                                   # 48x48
    e2 = _block(keras.layers.MaxPooling2D(2, name="pool1")(e1), 16, "enc2")     # 24x24
    b = _block(keras.layers.MaxPooling2D(2, name="pool2")(e2), 24, "bottleneck")  # 12x12
    b = keras.layers.Conv2D(24, 3, padding="same", dilation_rate=2, activation="relu", name="context")(b)
    d2 = keras.layers.Concatenate(name="skip2")([keras.layers.UpSampling2D(2, name="up2")(b), e2])
    d2 = _block(d2, 16, "dec2")
    d1 = keras.layers.Concatenate(name="skip1")([keras.layers.UpSampling2D(2, name="up1")(d2), e1])
    d1 = _block(d1, 8, "dec1")
    y = keras.layers.Conv2D(CLASSES, 1, name="logits")(d1)
    model = keras.Model(x, y, name="unet_small")
    randomize_statistics(model, seed=SEED, calibration=random_inputs(INPUT_SHAPE, count=16, seed=SEED + 1))
    return model


def representative_dataset() -> Iterator[list[np.ndarray]]:
    return random_representative_dataset(INPUT_SHAPE)
