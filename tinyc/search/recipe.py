"""A candidate's recipe: everything needed to build its keras.Model anywhere (the driver, a Ray worker on another
machine, OUT/best.py): the search file's source, the trial's parameters and the data's shape. Plain data, picklable."""

from __future__ import annotations

import hashlib
import sys
import types
from dataclasses import dataclass
from typing import Any

from tinyc.search.space import DataShape, default_spec

SEARCH_MODULE_PREFIX = "tinyc_search_file_"


@dataclass(frozen=True)
class Recipe:
    search_source: str  # the search file's text: a worker on another machine needs no copy of the file
    search_name: str  # the file's name, for messages
    params: tuple[tuple[str, Any], ...]  # the trial's parameters, sorted by name
    shape: DataShape
    default_space: bool  # the search file defines no space(): tinyc's default space

    @property
    def param_dict(self) -> dict[str, Any]:
        return dict(self.params)


def search_module(source: str, name: str) -> types.ModuleType:
    """The search file's module, run from its source (once per process and source)."""
    module_name = SEARCH_MODULE_PREFIX + hashlib.sha256(source.encode()).hexdigest()[:12]
    module = sys.modules.get(module_name)
    if module is None:
        module = types.ModuleType(module_name)
        module.__file__ = name
        sys.modules[module_name] = module
        exec(compile(source, name, "exec"), module.__dict__)
    return module


def build_candidate(recipe: Recipe, *, batch_size: int | None) -> Any:
    """The candidate's keras.Model (fresh weights); the default space's with a static batch of `batch_size`."""
    from optuna.trial import FixedTrial

    trial = FixedTrial(recipe.param_dict)
    if recipe.default_space:
        from tinyc.frontend.blocks import build_model
        return build_model(default_spec(trial, recipe.shape), seed=0, batch_size=batch_size)
    module = search_module(recipe.search_source, recipe.search_name)
    builder = module.space(trial)
    return builder()
