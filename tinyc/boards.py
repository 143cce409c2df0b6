"""Boards as data: `boards/*.toml` read into frozen `Board` objects and validated."""

from __future__ import annotations

from typing import Any

import enum
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


class UsartKind(enum.Enum):
    """The USART register layout of a part family."""
    STM32F4 = "stm32f4"  # SR 0x00, DR 0x04, BRR 0x08, CR1 0x0C (UE = bit 13)
    STM32H7 = "stm32h7"  # CR1 0x00 (UE = bit 0), BRR 0x0C, ISR 0x1C, TDR 0x28


@dataclass(frozen=True)
class RegisterBit:
    register: int  # absolute address
    bit: int


@dataclass(frozen=True)
class TxPin:
    gpio_base: int
    pin: int
    af: int  # alternate function number


@dataclass(frozen=True)
class PartTarget:
    """What the real-board firmware needs of the part: vectors, the output USART, an optional stack RAM."""
    irq_count: int
    usart: str
    usart_kind: UsartKind
    usart_base: int
    usart_clock_hz: int
    baud: int
    usart_enable: RegisterBit
    gpio_enable: RegisterBit
    tx_pin: TxPin
    stack_ram: MemoryRegion | None  # None: the stack sits in [sram] after .bss


@dataclass(frozen=True)
class RenodeTarget:
    platform: str  # a platform file shipped with Renode
    uart: str  # the output USART's name in that platform
    cpu: str


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
    part: PartTarget | None = None  # [part]: the real part's peripherals (real-board firmware)
    renode: RenodeTarget | None = None  # [renode]


_CPUS = ("cortex-m4", "cortex-m7")


def _region(data: dict[str, Any], key: str, path: Path) -> MemoryRegion:
    try:
        region = data[key]
        origin, size = int(region["origin"]), int(region["size_bytes"])
    except (KeyError, TypeError, ValueError) as exc:
        raise BoardError(f"{path.name}: [{key}] needs integer 'origin' and 'size_bytes' ({exc})") from None
    if size <= 0 or size % 1024:
        raise BoardError(f"{path.name}: [{key}] size_bytes must be a positive multiple of 1024, got {size}")
    return MemoryRegion(origin=origin, size_bytes=size)


def _part(data: dict[str, Any], path: Path) -> PartTarget | None:
    if "part" not in data:
        return None
    part = data["part"]
    kinds = ", ".join(k.value for k in UsartKind)
    try:
        kind = UsartKind(part["usart_kind"])
    except ValueError:
        raise BoardError(f"{path.name}: [part] usart_kind must be one of {kinds}, got {part['usart_kind']!r}") from None
    target = PartTarget(
        irq_count=int(part["irq_count"]), usart=str(part["usart"]), usart_kind=kind,
        usart_base=int(part["usart_base"]), usart_clock_hz=int(part["usart_clock_hz"]), baud=int(part["baud"]),
        usart_enable=RegisterBit(int(part["usart_enable"]["register"]), int(part["usart_enable"]["bit"])),
        gpio_enable=RegisterBit(int(part["gpio_enable"]["register"]), int(part["gpio_enable"]["bit"])),
        tx_pin=TxPin(int(part["tx_pin"]["gpio_base"]), int(part["tx_pin"]["pin"]), int(part["tx_pin"]["af"])),
        stack_ram=_region(part, "stack_ram", path) if "stack_ram" in part else None)
    if not 0 < target.irq_count <= 496:
        raise BoardError(f"{path.name}: [part] irq_count must be 1..496, got {target.irq_count}")
    if not 0 <= target.tx_pin.pin <= 15 or not 0 <= target.tx_pin.af <= 15:
        raise BoardError(f"{path.name}: [part] tx_pin pin and af must be 0..15, got {target.tx_pin}")
    return target


def _renode(data: dict[str, Any]) -> RenodeTarget | None:
    if "renode" not in data:
        return None
    r = data["renode"]
    return RenodeTarget(platform=str(r["platform"]), uart=str(r["uart"]), cpu=str(r["cpu"]))


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
                      stack_bytes=int(data["stack"]["size_bytes"]), qemu=target, part=_part(data, path),
                      renode=_renode(data))
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
