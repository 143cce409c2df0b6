"""MobileNetV2 0.35 at 144x144x3, 1000 classes, random weights: the msf-CNN (NeurIPS 2025) comparison point.

Random weights (fixed seed): BatchNormalization statistics calibrated on random inputs so the
int8 graph has non-trivial biases and activation ranges. Spec: ``tinyc.frontend.zoo.mobilenet_v2()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from tinyc.frontend.data import random_representative_dataset
from tinyc.frontend.zoo import mobilenet_v2

if TYPE_CHECKING:
    import keras

WEIGHTS = "random"
SEED = 0
SPEC = mobilenet_v2(0.35, 144)


def build() -> keras.Model:
    from tinyc.frontend.blocks import build_random_model

    return build_random_model(SPEC, seed=SEED)


def representative_dataset() -> Iterator[list[np.ndarray]]:
    return random_representative_dataset(SPEC.network().input_shape)
