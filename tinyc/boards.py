"""Boards as data: `boards/*.toml` read into frozen `Board` objects and validated."""

from __future__ import annotations

from typing import Any

import enum
import re
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
    """The UART register layout of a part family (tinyc.codegen.board has one driver per kind)."""
    STM32F4 = "stm32f4"  # SR 0x00, DR 0x04, BRR 0x08, CR1 0x0C (UE = bit 13)
    STM32H7 = "stm32h7"  # CR1 0x00 (UE = bit 0), BRR 0x0C, ISR 0x1C, TDR 0x28 (also the STM32L4's USARTs)
    STM32_LPUART = "stm32-lpuart"  # the STM32L4/L4+/H7 LPUART: the stm32h7 layout, BRR = 256 * clock / baud
    NRF_UARTE = "nrf-uarte"  # Nordic nRF52 UARTE (EasyDMA): no clock enables, pins by PSEL, a BAUDRATE code


# The STM32 families: RCC clock-enable bits, a GPIO alternate function for the TX pin, BRR from the kernel clock.
STM32_KINDS = frozenset({UsartKind.STM32F4, UsartKind.STM32H7, UsartKind.STM32_LPUART})
# nRF52 UARTE BAUDRATE register values (nRF52840 product specification, UARTE BAUDRATE), by baud.
NRF_UARTE_BAUD_CODES = {9_600: 0x00275000, 19_200: 0x004EA000, 38_400: 0x009D0000, 57_600: 0x00EB0000,
                        115_200: 0x01D60000, 230_400: 0x03B00000, 460_800: 0x07400000, 921_600: 0x0F000000,
                        1_000_000: 0x10000000}


@dataclass(frozen=True)
class RegisterBit:
    register: int  # absolute address
    bit: int


@dataclass(frozen=True)
class TxPin:
    pin: int
    gpio_base: int | None = None  # STM32: the GPIO port's base address (nRF: None, pins are routed by PSEL)
    af: int | None = None  # STM32: alternate function number
    port: int = 0  # nRF: P0 or P1


@dataclass(frozen=True)
class PartTarget:
    """What the real-board firmware needs of the part: vectors, the output UART, an optional stack RAM.

    STM32 kinds need the kernel clock, the RCC enable bits and the TX pin's GPIO port and alternate function; an nRF
    UARTE needs the TX pin (port, pin) only."""
    irq_count: int
    usart: str
    usart_kind: UsartKind
    usart_base: int
    baud: int
    tx_pin: TxPin
    stack_ram: MemoryRegion | None  # None: the stack sits in [sram] after .bss
    usart_clock_hz: int | None = None
    usart_enable: RegisterBit | None = None
    gpio_enable: RegisterBit | None = None
    power_enable: tuple[RegisterBit, ...] = ()  # bits set first, in order (e.g. a power domain for the TX pin's port)


@dataclass(frozen=True)
class RenodeTarget:
    platform: str  # a platform file shipped with Renode
    uart: str  # the output USART's name in that platform
    cpu: str


@dataclass(frozen=True)
class NamedRegion:
    name: str
    origin: int
    size_bytes: int


@dataclass(frozen=True)
class FlashTiming:
    """[flash.timing]: the flash's read latency and the accelerator in front of it (ST's ART), for the cycle
    estimate's flash model (tinyc/run/flash.py). A read of one line (the width the flash delivers at once) costs
    `wait_states` cycles beyond the zero-wait timing unless the line is in a cache or, for sequential code, the
    prefetch brought it in time."""
    wait_states: int  # at the board's clock_hz
    line_bytes: int  # one flash read (and one cache line) in bytes
    icache_lines: int  # instruction cache (I-Code bus), LRU
    dcache_lines: int  # data cache (D-Code bus: literals and constants such as weights), LRU
    prefetch: bool  # the next sequential line is read while the current one executes


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
    sram_regions: tuple[NamedRegion, ...] = ()  # [[sram.regions]]: the part's SRAM blocks that tile [sram], in order
    flash_timing: FlashTiming | None = None  # [flash.timing]: None when the flash is not modelled

    @property
    def helium(self) -> bool:
        """The core has Helium (MVE): tinyc's Helium kernels, and CMSIS-NN's MVE scratch sizes."""
        return self.cpu in HELIUM_CPUS


# The cores tinyc builds for: each has the DSP extension (SMLAD, SXTB16: tinyc's fast kernels; the Cortex-M55 adds
# Helium, MVE). A core without it (Cortex-M0+, M23, or an M33/M55 built +nodsp) is refused: tinyc's portable kernels
# would run there, but its cycle tables, QEMU machines and kernel choices assume the DSP extension.
_CPUS = ("cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55")
HELIUM_CPUS = frozenset({"cortex-m55"})

# A board file is untrusted data (a user downloads it like a .tflite): every string it holds reaches a Makefile,
# a linker script, Renode scripts or C, so each string field has an allow-list and each integer a 32-bit range.
# What matches these is written verbatim: no shell, make, C-comment or Renode syntax can pass.
FLAG_RE = re.compile(r"-[A-Za-z0-9_=+,.:/-]+")  # a compiler flag: no $, quotes, spaces, newlines, ; or #
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")  # a board name (a TOML bare key; also the file name)
IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # a C identifier: a USART, an SRAM block
RENODE_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")  # a Renode path: sysbus.usart2
RENODE_PLATFORM_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*(/[A-Za-z0-9_][A-Za-z0-9_.+-]*)*")  # relative, no ..
MAX_NAME_CHARS = 64
MAX_DESCRIPTION_CHARS = 200
MAX_FLAGS = 64
U32_MAX = 2 ** 32 - 1
ADDRESS_SPACE_BYTES = 2 ** 32


def _allowed(value: str, pattern: re.Pattern[str], *, max_chars: int = MAX_NAME_CHARS) -> bool:
    return len(value) <= max_chars and pattern.fullmatch(value) is not None


def _string(data: dict[str, Any], key: str, where: str, path: Path, pattern: re.Pattern[str], allowed: str) -> str:
    """The string `key` of a table, refused unless it matches its allow-list `pattern` (described by `allowed`)."""
    if key not in data:
        raise BoardError(f"{path.name}: {where} is missing the key {key!r}")
    value = data[key]
    if not isinstance(value, str) or not _allowed(value, pattern):
        raise BoardError(f"{path.name}: {where} {key} must be {allowed}, got {value!r}")
    return value


def _description(value: object, path: Path) -> str:
    """Free text, shown only: printable characters (no control characters, newlines or tabs), no comment markers
    of C or a linker script, at most MAX_DESCRIPTION_CHARS."""
    if not isinstance(value, str) or not value.isprintable() or len(value) > MAX_DESCRIPTION_CHARS \
            or "*/" in value or "/*" in value:
        raise BoardError(f"{path.name}: description must be one line of printable text (no control characters, "
                         f"no /* or */, at most {MAX_DESCRIPTION_CHARS} characters), got {value!r}")
    return value


def _u32(data: dict[str, Any], key: str, where: str, path: Path, *, low: int = 0, high: int = U32_MAX) -> int:
    """An integer `key` of a table in low..high (by default a 32-bit unsigned value: an address, a register)."""
    if key not in data:
        raise BoardError(f"{path.name}: {where} is missing the key {key!r}")
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise BoardError(f"{path.name}: {where} {key} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise BoardError(f"{path.name}: {where} {key} must be {low:,}..{high:,}, got {value:,}")
    return value


def _sub(data: dict[str, Any], key: str, where: str, path: Path) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise BoardError(f"{path.name}: {where} {key} must be a table, got {value!r}")
    return value


def _region(data: dict[str, Any], key: str, path: Path, *, table: str | None = None) -> MemoryRegion:
    region = data.get(key)
    key = table or key
    origin, size = (region.get("origin"), region.get("size_bytes")) if isinstance(region, dict) else (None, None)
    if any(isinstance(v, bool) or not isinstance(v, int) for v in (origin, size)):
        raise BoardError(f"{path.name}: [{key}] needs integer 'origin' and 'size_bytes' (got {region!r})")
    assert isinstance(origin, int) and isinstance(size, int)
    if size <= 0 or size % 1024:
        raise BoardError(f"{path.name}: [{key}] size_bytes must be a positive multiple of 1024, got {size}")
    if not 0 <= origin <= U32_MAX or origin + size > ADDRESS_SPACE_BYTES:
        raise BoardError(f"{path.name}: [{key}] origin {origin:#x} + size_bytes {size:,} must lie in the 32-bit "
                         "address space (0 <= origin, origin + size_bytes <= 0x100000000)")
    return MemoryRegion(origin=origin, size_bytes=size)


def _bit(data: dict[str, Any], key: str, path: Path) -> RegisterBit:
    where = f"[part] {key}"
    table = _sub(data, key, "[part]", path)
    return RegisterBit(_u32(table, "register", where, path), _u32(table, "bit", where, path, high=31))


def _part(data: dict[str, Any], path: Path) -> PartTarget | None:
    if "part" not in data:
        return None
    part = _sub(data, "part", "the board's", path)
    kinds = ", ".join(k.value for k in UsartKind)
    try:
        kind = UsartKind(part.get("usart_kind"))
    except ValueError:
        raise BoardError(f"{path.name}: [part] usart_kind must be one of {kinds}, got {part.get('usart_kind')!r}") \
            from None
    pin = _sub(part, "tx_pin", "[part]", path)
    stm32 = kind in STM32_KINDS
    if stm32:
        for key in ("usart_clock_hz", "usart_enable", "gpio_enable"):
            if key not in part:
                raise BoardError(f"{path.name}: [part] usart_kind {kind.value!r} needs {key!r} (the RCC bits and "
                                 "kernel clock of an STM32 USART)")
        for key in ("gpio_base", "af"):
            if key not in pin:
                raise BoardError(f"{path.name}: [part] tx_pin needs {key!r} for usart_kind {kind.value!r}")
    else:
        extra = sorted({"usart_clock_hz", "usart_enable", "gpio_enable", "power_enable"} & set(part)
                       | {f"tx_pin.{k}" for k in ("gpio_base", "af")} & {f"tx_pin.{k}" for k in pin})
        if extra:
            raise BoardError(f"{path.name}: [part] usart_kind {kind.value!r} has no {', '.join(extra)} (an nRF UARTE "
                             "needs no clock enables; its TX pin is tx_pin = { port = 0, pin = 6 })")
    power = part.get("power_enable", [])
    if not isinstance(power, list):
        raise BoardError(f"{path.name}: [part] power_enable must be an array of {{ register, bit }} tables, "
                         f"got {power!r}")
    target = PartTarget(
        irq_count=_u32(part, "irq_count", "[part]", path, low=1, high=496),
        usart=_string(part, "usart", "[part]", path, IDENT_RE, "a C identifier such as \"usart2\""),
        usart_kind=kind,
        usart_base=_u32(part, "usart_base", "[part]", path), baud=_u32(part, "baud", "[part]", path, low=1),
        tx_pin=TxPin(pin=_u32(pin, "pin", "[part] tx_pin", path),
                     gpio_base=_u32(pin, "gpio_base", "[part] tx_pin", path) if stm32 else None,
                     af=_u32(pin, "af", "[part] tx_pin", path) if stm32 else None,
                     port=_u32(pin, "port", "[part] tx_pin", path) if "port" in pin else 0),
        stack_ram=_region(part, "stack_ram", path, table="part.stack_ram") if "stack_ram" in part else None,
        usart_clock_hz=_u32(part, "usart_clock_hz", "[part]", path, low=1) if stm32 else None,
        usart_enable=_bit(part, "usart_enable", path) if stm32 else None,
        gpio_enable=_bit(part, "gpio_enable", path) if stm32 else None,
        power_enable=tuple(_bit({"power_enable": b}, "power_enable", path) for b in power))
    if stm32 and (not 0 <= target.tx_pin.pin <= 15 or not 0 <= (target.tx_pin.af or 0) <= 15):
        raise BoardError(f"{path.name}: [part] tx_pin pin and af must be 0..15, got {target.tx_pin}")
    if not stm32 and (not 0 <= target.tx_pin.pin <= 31 or not 0 <= target.tx_pin.port <= 1):
        raise BoardError(f"{path.name}: [part] tx_pin of an nRF UARTE: port 0..1 and pin 0..31, got {target.tx_pin}")
    if kind is UsartKind.NRF_UARTE and target.baud not in NRF_UARTE_BAUD_CODES:
        raise BoardError(f"{path.name}: [part] baud {target.baud} is not a rate of the nRF UARTE; one of "
                         f"{', '.join(map(str, NRF_UARTE_BAUD_CODES))}")
    if kind is UsartKind.STM32_LPUART and target.usart_clock_hz is not None and not (
            3 * target.baud <= target.usart_clock_hz <= 4096 * target.baud):
        raise BoardError(f"{path.name}: [part] an LPUART needs 3 x baud <= usart_clock_hz <= 4096 x baud, got "
                         f"{target.usart_clock_hz} Hz for {target.baud} baud")
    return target


def _sram_regions(data: dict[str, Any], sram: MemoryRegion, path: Path) -> tuple[NamedRegion, ...]:
    """[[sram.regions]]: the part's SRAM blocks, which must tile [sram] without gap or overlap (the arena may span
    them, so they must be contiguous; a separate block, such as a DTCM, belongs in [part.stack_ram])."""
    entries = data["sram"].get("regions", [])
    if not isinstance(entries, list):
        raise BoardError(f"{path.name}: [sram] regions must be an array of tables [[sram.regions]]")
    regions: list[NamedRegion] = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise BoardError(f"{path.name}: every [[sram.regions]] needs a 'name' string, got {entry!r}")
        _string(entry, "name", "[[sram.regions]]", path, IDENT_RE, "a C identifier such as \"sram1\"")
        block = _region({"sram.regions": entry}, "sram.regions", path)
        regions.append(NamedRegion(name=entry["name"], origin=block.origin, size_bytes=block.size_bytes))
    at = sram.origin
    for r in regions:
        if r.origin != at:
            raise BoardError(f"{path.name}: [[sram.regions]] {r.name} starts at {r.origin:#010x}, expected {at:#010x}: "
                             "the regions must tile [sram] in address order, without gaps (put a separate RAM in "
                             "[part.stack_ram])")
        at += r.size_bytes
    if regions and at != sram.origin + sram.size_bytes:
        raise BoardError(f"{path.name}: [[sram.regions]] add up to {at - sram.origin:,} B, but [sram] size_bytes is "
                         f"{sram.size_bytes:,}")
    return tuple(regions)


# [flash.timing] keys: (smallest, largest) allowed integer; prefetch is a boolean.
FLASH_TIMING_RANGES = {"wait_states": (0, 15), "line_bytes": (4, 256), "icache_lines": (0, 4096),
                       "dcache_lines": (0, 4096)}


def _flash_timing(data: dict[str, Any], path: Path) -> FlashTiming | None:
    """[flash.timing]: optional; every key required, integers in range, line_bytes a power of two."""
    if "timing" not in data["flash"]:
        return None
    table = data["flash"]["timing"]
    where = f"{path.name}: [flash.timing]"
    if not isinstance(table, dict):
        raise BoardError(f"{where} must be a table (wait_states, line_bytes, icache_lines, dcache_lines, prefetch)")
    known = (*FLASH_TIMING_RANGES, "prefetch")
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise BoardError(f"{where} has an unknown key {unknown[0]!r}; the keys are {', '.join(known)}")
    for key in known:
        if key not in table:
            raise BoardError(f"{where} is missing the key {key!r}")
    values: dict[str, int] = {}
    for key, (low, high) in FLASH_TIMING_RANGES.items():
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise BoardError(f"{where} {key} must be an integer, got {value!r}")
        if not low <= value <= high:
            raise BoardError(f"{where} {key} must be {low}..{high}, got {value}")
        values[key] = value
    if values["line_bytes"] & (values["line_bytes"] - 1):
        raise BoardError(f"{where} line_bytes must be a power of two, got {values['line_bytes']}")
    if not isinstance(table["prefetch"], bool):
        raise BoardError(f"{where} prefetch must be true or false, got {table['prefetch']!r}")
    return FlashTiming(wait_states=values["wait_states"], line_bytes=values["line_bytes"],
                       icache_lines=values["icache_lines"], dcache_lines=values["dcache_lines"],
                       prefetch=table["prefetch"])


def _renode(data: dict[str, Any], path: Path) -> RenodeTarget | None:
    if "renode" not in data:
        return None
    r = _sub(data, "renode", "the board's", path)
    dotted = "a Renode peripheral name such as \"sysbus.usart2\" (letters, digits, _ and dots)"
    return RenodeTarget(
        platform=_string(r, "platform", "[renode]", path, RENODE_PLATFORM_RE,
                         "a relative path in Renode's tree such as \"platforms/cpus/stm32f4.repl\" (letters, "
                         "digits, _ . + - and /; no .., no spaces or quotes)"),
        uart=_string(r, "uart", "[renode]", path, RENODE_NAME_RE, dotted),
        cpu=_string(r, "cpu", "[renode]", path, RENODE_NAME_RE, dotted))


# The QEMU machine each CPU's emulator build runs on (the mps2 machines tinyc's emulator harness is written for).
# mps2-an505 is Arm's AN505 FPGA image (an SSE-200 with a Cortex-M33 that boots in the Secure state): the emulator
# build runs Secure from the Secure aliases of its memories, code in SSRAM1 at 0x10000000 (4 MiB) and data in
# SSRAM2+3 at 0x38000000 (4 MiB); see boards/stm32u575.toml. mps3-an547 is Arm's AN547 (an SSE-300 with a
# Cortex-M55 with MVE, also Secure at reset): code in the QSPI flash's Secure alias 0x38000000 (8 MiB, read-only), data
# in the SSE-300's internal SRAM's at 0x31000000 (4 MiB); it boots from its ITCM (tinyc.codegen.target); see
# boards/alif_e7_hp.toml.
QEMU_MACHINES = {"cortex-m4": "mps2-an386", "cortex-m7": "mps2-an500", "cortex-m33": "mps2-an505",
                 "cortex-m55": "mps3-an547"}
MAX_STACK_FRACTION = 0.5  # a stack reservation over half the SRAM is a typo, not a plan

BoardRef = str | Path  # a bundled board's name, or a board file of the user's (--board-file)


def _number(data: dict[str, Any], key: str, where: str, path: Path) -> int:
    if key not in data:
        raise BoardError(f"{path.name}: {where} is missing the key {key!r}")
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise BoardError(f"{path.name}: {where} {key} must be an integer, got {value!r}")
    return value


def _table(data: dict[str, Any], key: str, path: Path, hint: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise BoardError(f"{path.name}: missing the table [{key}] ({hint})")
    return value


def _read_toml(path: Path) -> dict[str, Any]:
    if path.suffix != ".toml":
        raise BoardError(f"board file {path} must be a .toml file (see boards/*.toml for the format)")
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise BoardError(f"board file {path} does not exist") from None
    except IsADirectoryError:
        raise BoardError(f"board file {path} is a folder, not a .toml file") from None
    except UnicodeDecodeError:
        raise BoardError(f"board file {path.name} is not UTF-8 text") from None
    except (tomllib.TOMLDecodeError, ValueError, RecursionError) as exc:  # ValueError: an integer of > 4300 digits
        raise BoardError(f"board file {path.name} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise BoardError(f"board file {path.name} cannot be read: {exc.strerror or exc}") from None


def load_board_file(path: Path) -> Board:
    """Read and validate one board file; every problem is one BoardError naming the file, the key and the value."""
    data = _read_toml(path)
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise BoardError(f"{path.name}: 'name' must be a non-empty string, got {name!r}")
    if not _allowed(name, NAME_RE):
        raise BoardError(f"{path.name}: name must be letters, digits, _ and - (starting with a letter or _, at most "
                         f"{MAX_NAME_CHARS} characters), got {name!r}")
    if name != path.stem:
        raise BoardError(f"{path.name}: name {name!r} must equal the file name {path.stem!r}")
    cpu = data.get("cpu")
    if cpu not in _CPUS:
        raise BoardError(f"{path.name}: cpu must be one of {', '.join(_CPUS)}, got {cpu!r} (a core without the DSP "
                         "extension, such as cortex-m0plus or cortex-m23, is refused: tinyc's kernels, cycle tables "
                         "and emulator machines assume it)")
    description = _description(data.get("description", name), path)
    clock_hz = _number(data, "clock_hz", "the board", path)
    if clock_hz <= 0:
        raise BoardError(f"{path.name}: clock_hz must be positive, got {clock_hz}")
    if clock_hz > U32_MAX:
        raise BoardError(f"{path.name}: clock_hz must be at most {U32_MAX:,} (32 bits), got {clock_hz:,}")
    cflags = data.get("cflags")
    if not isinstance(cflags, list) or not cflags or not all(isinstance(f, str) and f for f in cflags):
        raise BoardError(f"{path.name}: cflags must be a list of compiler flags such as "
                         f"[\"-mcpu={cpu}\", \"-mthumb\"], got {cflags!r}")
    refused = [f for f in cflags if not _allowed(f, FLAG_RE, max_chars=200)]
    if refused or len(cflags) > MAX_FLAGS:
        raise BoardError(f"{path.name}: cflags must be at most {MAX_FLAGS} flags, each a - and then letters, digits "
                         f"and _ = + , . : / - only (no spaces, quotes, $ or newlines), got {(refused or cflags)[0]!r}")
    if f"-mcpu={cpu}" not in cflags:
        raise BoardError(f"{path.name}: cflags must hold -mcpu={cpu} (the cpu the board names), got {cflags}")
    other = [f for f in cflags if f.startswith("-mcpu=") and f != f"-mcpu={cpu}"]
    if other:
        # gcc takes the last -mcpu: a second one (e.g. -mcpu=cortex-m33+nodsp) would build another core than the one
        # the kernels, the emulator machine and the cycle table were chosen for.
        raise BoardError(f"{path.name}: cflags must name the cpu once, as -mcpu={cpu}, got also {other[0]} (a core "
                         "variant such as +nodsp, a Cortex-M33 without the DSP extension, is not supported)")
    march = next((f for f in cflags if f.startswith("-march=")), None)
    if march is not None:
        # gcc's -march after -mcpu builds that architecture's baseline (armv8.1-m.main: no MVE, no DSP, no FPU), not
        # the core the kernels, the emulator machine and the cycle table were chosen for.
        raise BoardError(f"{path.name}: cflags must not hold {march}: -mcpu={cpu} names the architecture and its "
                         "extensions (on a cortex-m55: DSP, Helium/MVE and the FPU)")
    flash, sram = _region(data, "flash", path), _region(data, "sram", path)
    stack_bytes = _number(_table(data, "stack", path, "size_bytes = 8192, say"), "size_bytes", "[stack]", path)
    if not 0 < stack_bytes <= MAX_STACK_FRACTION * sram.size_bytes:
        raise BoardError(f"{path.name}: [stack] size_bytes must be positive and at most half the SRAM "
                         f"({int(MAX_STACK_FRACTION * sram.size_bytes):,} B), got {stack_bytes:,}")
    machine = QEMU_MACHINES[cpu]
    emulator = _table(data, "emulator", path, f"[emulator.qemu] with machine = \"{machine}\", flash_origin = 0, "
                                              "sram_origin = 0x20000000")
    qemu = emulator.get("qemu")
    if not isinstance(qemu, dict):
        raise BoardError(f"{path.name}: missing the table [emulator.qemu] (machine = \"{machine}\", "
                         "flash_origin = 0, sram_origin = 0x20000000)")
    if qemu.get("machine") != machine:
        raise BoardError(f"{path.name}: [emulator.qemu] machine must be {machine!r} for a {cpu} (tinyc's emulator "
                         f"build runs there), got {qemu.get('machine')!r}")
    target = QemuTarget(machine=machine, flash_origin=_u32(qemu, "flash_origin", "[emulator.qemu]", path),
                        sram_origin=_u32(qemu, "sram_origin", "[emulator.qemu]", path))
    for origin, region, key in ((target.flash_origin, flash, "flash_origin"), (target.sram_origin, sram, "sram_origin")):
        if origin + region.size_bytes > ADDRESS_SPACE_BYTES:
            raise BoardError(f"{path.name}: [emulator.qemu] {key} {origin:#x} + the size {region.size_bytes:,} "
                             "runs past the 32-bit address space")
    part = _part(data, path)
    renode = _renode(data, path)
    return Board(name=name, description=description, cpu=cpu, clock_hz=clock_hz, cflags=tuple(cflags),
                 flash=flash, sram=sram, stack_bytes=stack_bytes, qemu=target, part=part, renode=renode,
                 sram_regions=_sram_regions(data, sram, path), flash_timing=_flash_timing(data, path))


def known_boards() -> dict[str, Board]:
    """All boards shipped in `boards/`, by name, sorted."""
    return {p.stem: load_board_file(p) for p in sorted(boards_dir().glob("*.toml"))}


def get_board(ref: BoardRef) -> Board:
    """A bundled board by name, or the board file of a path (validated)."""
    if isinstance(ref, Path):
        return load_board_file(ref)
    name = ref
    boards = known_boards()
    if name not in boards:
        if name.endswith(".toml") or "/" in name:
            raise BoardError(f"unknown board {name!r}: --board takes a bundled board's name ({', '.join(boards)}); "
                             f"give a board file of your own with --board-file {name}")
        raise BoardError(f"unknown board {name!r}; known boards: {', '.join(boards)}")
    return boards[name]
