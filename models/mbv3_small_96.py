"""MobileNetV3-Small 0.75 at 96x96x3 (2 classes, a visual-wake-words-sized head), random weights.

Hard-swish activations and squeeze-and-excitation gates (global average pool, 1x1 convs, hard-sigmoid, a channel-wise
Multiply), as ``keras.applications.MobileNetV3Small``; the 1024-wide last Dense narrowed to 512 so that the int8 weights
fit the F412's 1 MB of flash. Random weights (fixed seed), BatchNormalization statistics calibrated on random inputs.
Spec: ``tinyc.frontend.zoo.mobilenet_v3_small(0.75, 96, num_classes=2, last_channels=512)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from tinyc.frontend.data import random_representative_dataset
from tinyc.frontend.zoo import mobilenet_v3_small

if TYPE_CHECKING:
    import keras

WEIGHTS = "random"
SEED = 0
SPEC = mobilenet_v3_small(0.75, 96, num_classes=2, last_channels=512)


def build() -> keras.Model:
    from tinyc.frontend.blocks import build_random_model

    return build_random_model(SPEC, seed=SEED)


def representative_dataset() -> Iterator[list[np.ndarray]]:
    return random_representative_dataset(SPEC.network().input_shape)
