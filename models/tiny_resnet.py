"""Tiny ResNet-style test model (32x32x3, max pool, 1x1 projection shortcuts), random weights.

Random weights (fixed seed): BatchNormalization statistics calibrated on random inputs so the
int8 graph has non-trivial biases and activation ranges. Spec: ``tinyc.frontend.zoo.tiny_resnet()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from tinyc.frontend.data import random_representative_dataset
from tinyc.frontend.zoo import tiny_resnet

if TYPE_CHECKING:
    import keras

WEIGHTS = "random"
SEED = 0
SPEC = tiny_resnet()


def build() -> keras.Model:
    from tinyc.frontend.blocks import build_random_model

    return build_random_model(SPEC, seed=SEED)


def representative_dataset() -> Iterator[list[np.ndarray]]:
    return random_representative_dataset(SPEC.network().input_shape)
