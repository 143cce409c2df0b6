"""Where tinyc's data folders are: boards, firmware templates and kernel sources."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_ROOT = _PACKAGE.parent


def _find(name: str) -> Path:
    """A source tree's top-level folder, or the copy a non-editable install keeps in the package."""
    for candidate in (_ROOT / name, _PACKAGE / "data" / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"tinyc data folder {name!r} found neither beside the package nor in it; "
                            "reinstall tinyc (`pip install .` from its source tree)")


def boards_dir() -> Path:
    return _find("boards")


def templates_dir() -> Path:
    return _find("firmware_templates")


def kernels_dir() -> Path:
    return _PACKAGE / "kernels"
