"""MobileNetV2 1.0 at 224x224x3 with receptive-field redistribution, random weights (MCUNetV2's MbV2-RD).

The stages that run patch by patch (the 16- and 24-channel stages) keep only their strided first
block; the removed stride-1 block moves to the 32-channel stage, which runs mostly per layer.
Random weights (fixed seed); spec: ``redistribute_receptive_field(mobilenet_v2(1.0, 224), patch_stages=2)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from tinyc.frontend.data import random_representative_dataset
from tinyc.frontend.redistribute import redistribute_receptive_field
from tinyc.frontend.zoo import mobilenet_v2

if TYPE_CHECKING:
    import keras

WEIGHTS = "random"
SEED = 0
SPEC = redistribute_receptive_field(mobilenet_v2(1.0, 224), patch_stages=2)


def build() -> keras.Model:
    from tinyc.frontend.blocks import build_random_model

    return build_random_model(SPEC, seed=SEED)


def representative_dataset() -> Iterator[list[np.ndarray]]:
    return random_representative_dataset(SPEC.network().input_shape)
