"""MCUNet-style net trained on scikit-learn's 8x8 digits upsampled to 32x32x1: trained weights.

``build()`` loads ``digits_mcunet.keras`` beside this file, written by
``python -m tinyc.frontend.train_digits`` (fixed seeds; held-out top-1 float 0.9867, int8 0.9889
on 450 samples). ``dataset()`` returns that held-out split. Spec:
``tinyc.frontend.zoo.digits_mcunet()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tinyc.frontend.data import digits_representative_dataset, digits_split
from tinyc.frontend.zoo import digits_mcunet

if TYPE_CHECKING:
    import keras

WEIGHTS = "trained"
SPEC = digits_mcunet()
KERAS_FILE = Path(__file__).with_name("digits_mcunet.keras")


def build() -> keras.Model:
    import keras

    return keras.models.load_model(KERAS_FILE, compile=False)


def representative_dataset() -> Iterator[list[np.ndarray]]:
    return digits_representative_dataset()


def dataset() -> tuple[np.ndarray, np.ndarray]:
    """Held-out split: x (450, 32, 32, 1) float32 in [0, 1], y (450,) int64 labels."""
    _, _, x_test, y_test = digits_split()
    return x_test, y_test
