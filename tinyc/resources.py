"""Where tinyc's data folders are: boards, firmware templates and kernel sources."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_ROOT = _PACKAGE.parent


def _find(name: str) -> Path:
    for candidate in (_ROOT / name, _PACKAGE / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"tinyc data folder {name!r} not found next to the package; "
                            "install tinyc from its source tree with `pip install -e .`")


def boards_dir() -> Path:
    return _find("boards")


def templates_dir() -> Path:
    return _find("firmware_templates")


def kernels_dir() -> Path:
    return _PACKAGE / "kernels"
