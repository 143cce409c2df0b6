"""A model file's `import keras` / `import tensorflow as tf` runs lazily, so a cached run never imports TensorFlow.

A `.py` model file typically starts with `import keras`: 20-35 s of TensorFlow import that a conversion cache hit
never needs (the cache key is the file's bytes and the representative data it yields; `build()` is not called).
While tinyc imports a model file, a top-level `import` of one of `LAZY_MODULES` binds a module whose code runs on
its first attribute access (Python's own `importlib.util.LazyLoader`): `keras.layers.Dense` inside `build()`
imports Keras then, exactly as the eager import would have. Nothing the model computes changes: the cache key covers
the same inputs as before, and the file runs the same statements; only the moment Keras's own import code runs
moves. A model file that touches Keras at import time (`from keras import layers`, a layer class defined at top
level, a decorator) imports it right there as before, and tinyc says once that such a file pays the import on
every cached run (`import_hint`).
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

# The packages whose import is slow and side-effect-free for the model's own values (no seeding, no data).
LAZY_MODULES = ("keras", "tensorflow", "tf_keras")


@dataclass
class LazyImports:
    """The modules this model file's import bound lazily (name → module)."""
    modules: dict[str, types.ModuleType] = field(default_factory=dict)

    def imported(self) -> list[str]:
        """The lazily bound modules whose code has run (an attribute was used)."""
        return sorted(name for name, module in self.modules.items() if not _is_lazy(module))


def _is_lazy(module: types.ModuleType) -> bool:
    return isinstance(module, importlib.util._LazyModule)  # type: ignore[attr-defined]


class _LazyFinder(importlib.abc.MetaPathFinder):
    def __init__(self, record: LazyImports) -> None:
        self.record = record

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in LAZY_MODULES or self.record.imported():
            return None  # once one has run (its own imports in progress), everything imports as usual
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None
        spec.loader = _RecordingLazyLoader(spec.loader, self.record, fullname)
        return spec


class _RecordingLazyLoader(importlib.util.LazyLoader):
    def __init__(self, loader: importlib.abc.Loader, record: LazyImports, name: str) -> None:
        super().__init__(loader)
        self._record, self._name = record, name

    def exec_module(self, module: types.ModuleType) -> None:
        super().exec_module(module)
        self._record.modules[self._name] = module


@contextlib.contextmanager
def lazy_imports() -> Iterator[LazyImports]:
    """Inside, a first import of one of LAZY_MODULES (not yet imported by anything) is lazy."""
    record = LazyImports()
    finder = _LazyFinder(record)
    sys.meta_path.insert(0, finder)
    try:
        yield record
    finally:
        sys.meta_path.remove(finder)


def import_hint(file_name: str, modules: list[str], seconds: float) -> str:
    """What a model file that runs Keras / TensorFlow at import time costs every cached run, and the remedy."""
    return (f"{file_name} uses {' and '.join(modules)} at import time or in representative_dataset() (e.g. "
            "`from keras import layers`, a layer class defined at top level), so this run imported it "
            f"({seconds:.0f} s) although the conversion was cached; with only `import keras` at the top and "
            "`keras.layers....` inside build(), a cached run imports no TensorFlow (said once per model file)")
