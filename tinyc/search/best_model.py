"""The best model of a `tinyc search`, as a model file (written as OUT/best.py; `tinyc compile/verify/bench/report`
take it as is).

`build()` rebuilds the architecture from best.json (the trial's parameters) and search_space.py (a copy of the
search file) beside this file, and loads the trained weights from best.weights.npz. `representative_dataset()` is
the first training samples, `dataset()` the validation split of the search file's `dataset()`, both at the input
resolution the model takes. tinyc must be importable (the default search space and the resizing are tinyc's).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
WEIGHTS = "trained"
REPRESENTATIVE_SAMPLES = 48


def _recipe() -> Any:
    from tinyc.search.recipe import Recipe
    from tinyc.search.space import DataShape

    data = json.loads((HERE / "best.json").read_text())
    shape = DataShape(input_shape=tuple(data["input_shape"]), num_classes=int(data["num_classes"]))
    return Recipe(search_source=(HERE / "search_space.py").read_text(), search_name="search_space.py",
                  params=tuple(sorted(data["params"].items())), shape=shape,
                  default_space=bool(data["default_space"]))


def build() -> Any:
    from tinyc.search.recipe import build_candidate

    model = build_candidate(_recipe(), batch_size=1)
    with np.load(HERE / "best.weights.npz") as weights:
        model.set_weights([weights[f"w{index}"] for index in range(len(weights.files))])
    return model


def _split(index: int) -> np.ndarray:
    from tinyc.search.recipe import search_module
    from tinyc.search.train import prepare_inputs

    recipe = _recipe()
    module = search_module(recipe.search_source, recipe.search_name)
    (x_train, y_train), (x_val, y_val) = module.dataset()
    return [prepare_inputs(recipe, np.asarray(x_train, np.float32)), np.asarray(y_train),
            prepare_inputs(recipe, np.asarray(x_val, np.float32)), np.asarray(y_val)][index]


def representative_dataset() -> Iterator[list[np.ndarray]]:
    for sample in _split(0)[:REPRESENTATIVE_SAMPLES]:
        yield [sample[np.newaxis].astype(np.float32)]


def dataset() -> tuple[np.ndarray, np.ndarray]:
    """The validation split: x at the model's input resolution, y the labels."""
    return _split(2), _split(3)
