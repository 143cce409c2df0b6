"""Training one candidate: what a Ray task runs (tinyc must be installed where the task runs; the data arrive with
the task). Returns the float validation accuracy and the trained weights (keras.Model.get_weights order)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from tinyc.search.recipe import Recipe, build_candidate
from tinyc.search.space import input_resolution, resize_inputs

BATCH_SIZE = 32
LEARNING_RATE = 1e-2  # peak of a cosine decay over all steps, as tinyc.frontend.train_digits


@dataclass(frozen=True)
class Trained:
    val_accuracy: float  # float Keras top-1 on the validation split
    train_seconds: float
    weights: list[np.ndarray] = field(repr=False)


def prepare_inputs(recipe: Recipe, x: np.ndarray) -> np.ndarray:
    """The inputs at the resolution the candidate takes."""
    if not recipe.default_space:
        return x
    return resize_inputs(x, input_resolution(recipe.param_dict, recipe.shape))


def train_candidate(recipe: Recipe, x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray,
                    y_val: np.ndarray, *, epochs: int, seed: int) -> Trained:
    import time

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import keras

    started = time.monotonic()
    keras.utils.set_random_seed(seed)
    model = build_candidate(recipe, batch_size=None)
    x_train, x_val = prepare_inputs(recipe, x_train), prepare_inputs(recipe, x_val)
    steps = max(1, epochs * -(-len(x_train) // BATCH_SIZE))
    model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps)),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=epochs, batch_size=BATCH_SIZE, shuffle=True, verbose=0)
    predictions = np.argmax(model.predict(x_val, batch_size=BATCH_SIZE, verbose=0), axis=1)
    accuracy = float(np.mean(predictions == y_val))
    return Trained(val_accuracy=accuracy, train_seconds=time.monotonic() - started,
                   weights=[np.asarray(w) for w in model.get_weights()])
