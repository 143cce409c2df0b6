"""Inputs for model files: random calibration data and scikit-learn's 8x8 digits (offline).

NumPy only at import time (model files must import quickly).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

DIGITS_UPSAMPLE = 4  # 8x8 -> 32x32, nearest neighbour
DIGITS_TEST_FRACTION = 0.25
DIGITS_SPLIT_SEED = 0
DIGITS_REPRESENTATIVE_SAMPLES = 48  # first training samples


def random_inputs(shape: tuple[int, ...], *, count: int, seed: int) -> np.ndarray:
    """``count`` float32 samples of ``shape``, uniform in [-1, 1) (batch axis first)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 1.0, size=(count, *shape)).astype(np.float32)


def representative_batches(samples: np.ndarray) -> Iterator[list[np.ndarray]]:
    """TFLite converter convention: one ``[array]`` of batch 1 per sample."""
    for sample in samples:
        yield [sample[np.newaxis].astype(np.float32)]


def random_representative_dataset(shape: tuple[int, ...], *, count: int = 32,
                                  seed: int = 1000) -> Iterator[list[np.ndarray]]:
    return representative_batches(random_inputs(shape, count=count, seed=seed))


def digits_images(images_8x8: np.ndarray) -> np.ndarray:
    """(n, 8, 8) pixel values 0..16 -> (n, 32, 32, 1) float32 in [0, 1], nearest upsampling."""
    scaled = images_8x8.astype(np.float32) / 16.0
    upsampled = np.repeat(np.repeat(scaled, DIGITS_UPSAMPLE, axis=1), DIGITS_UPSAMPLE, axis=2)
    return upsampled[..., np.newaxis]


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train, x_test, y_test)``: scikit-learn's 1,797 digits, stratified 75/25
    split with a fixed seed; x is (n, 32, 32, 1) float32 in [0, 1], y int64 labels 0..9."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = digits_images(digits.images)
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=DIGITS_TEST_FRACTION, random_state=DIGITS_SPLIT_SEED, stratify=y
    )
    return x_train, y_train, x_test, y_test


def digits_representative_dataset() -> Iterator[list[np.ndarray]]:
    """Calibration data for the digits model: the first training samples, batch 1 each."""
    x_train, _, _, _ = digits_split()
    return representative_batches(x_train[:DIGITS_REPRESENTATIVE_SAMPLES])
