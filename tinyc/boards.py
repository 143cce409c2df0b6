"""Boards as data: `boards/*.toml` read into frozen `Board` objects and validated."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from tinyc.errors import BoardError
from tinyc.resources import boards_dir


@dataclass(frozen=True)
class MemoryRegion:
    origin: int
    size_bytes: int


@dataclass(frozen=True)
class QemuTarget:
    machine: str
    flash_origin: int
    sram_origin: int


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    cpu: str
    clock_hz: int
    cflags: tuple[str, ...]
    flash: MemoryRegion
    sram: MemoryRegion
    stack_bytes: int
    qemu: QemuTarget


_CPUS = ("cortex-m4", "cortex-m7")


def _region(data: dict, key: str, path: Path) -> MemoryRegion:
    try:
        region = data[key]
        origin, size = int(region["origin"]), int(region["size_bytes"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BoardError(f"{path.name}: [{key}] needs integer 'origin' and 'size_bytes' ({exc})") from None
    if size <= 0 or size % 1024:
        raise BoardError(f"{path.name}: [{key}] size_bytes must be a positive multiple of 1024, got {size}")
    return MemoryRegion(origin=origin, size_bytes=size)


def load_board_file(path: Path) -> Board:
    """Read and validate one board file."""
    with path.open("rb") as f:
        data = tomllib.load(f)
    cpu = data.get("cpu")
    if cpu not in _CPUS:
        raise BoardError(f"{path.name}: cpu must be one of {', '.join(_CPUS)}, got {cpu!r}")
    try:
        qemu = data["emulator"]["qemu"]
        target = QemuTarget(machine=str(qemu["machine"]), flash_origin=int(qemu["flash_origin"]),
                            sram_origin=int(qemu["sram_origin"]))
        board = Board(name=str(data["name"]), description=str(data["description"]), cpu=cpu,
                      clock_hz=int(data["clock_hz"]), cflags=tuple(str(f) for f in data["cflags"]),
                      flash=_region(data, "flash", path), sram=_region(data, "sram", path),
                      stack_bytes=int(data["stack"]["size_bytes"]), qemu=target)
    except KeyError as exc:
        raise BoardError(f"{path.name}: missing key {exc}") from None
    if board.name != path.stem:
        raise BoardError(f"{path.name}: name {board.name!r} must equal the file name {path.stem!r}")
    return board


def known_boards() -> dict[str, Board]:
    """All boards shipped in `boards/`, by name, sorted."""
    return {p.stem: load_board_file(p) for p in sorted(boards_dir().glob("*.toml"))}


def get_board(name: str) -> Board:
    boards = known_boards()
    if name not in boards:
        raise BoardError(f"unknown board {name!r}; known boards: {', '.join(boards)}")
    return boards[name]
