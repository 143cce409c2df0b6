"""tinyc: Keras / int8 TFLite models to bit-exact CMSIS-NN firmware for Arm Cortex-M microcontrollers.

The Python API (`tinyc.api`): `plan`, `compile`, `verify`, `verify_dataset` and `bench`, returning the typed records
the CLI prints as JSON."""

import importlib
import inspect
import sys
import types
from typing import TYPE_CHECKING, Any

from tinyc import api
from tinyc.api import bench, compile, verify, verify_dataset
from tinyc.version import __version__

if TYPE_CHECKING:
    from tinyc.api import plan

__all__ = ["__version__", "bench", "compile", "plan", "verify", "verify_dataset"]


class _Plan:
    """`tinyc.plan(...)` is `tinyc.api.plan(...)`; `tinyc.plan.X` is the planner subpackage's `X`, so
    `import tinyc.plan.search as search` works as it always did."""
    __name__ = __qualname__ = "tinyc.plan"
    __doc__ = api.plan.__doc__
    __signature__ = inspect.signature(api.plan)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return api.plan(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(importlib.import_module("tinyc.plan"), name)

    def __repr__(self) -> str:
        return "<tinyc.plan: tinyc.api.plan(), and the planner subpackage's modules>"


class _Package(types.ModuleType):
    """Importing the subpackage `tinyc.plan` (the planner) would set the package's attribute of that name to the
    subpackage; it stays the API's `plan` (which reaches the subpackage's modules too)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "plan" and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


globals()["plan"] = _Plan()
sys.modules[__name__].__class__ = _Package
