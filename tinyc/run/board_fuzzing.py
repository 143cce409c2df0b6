"""Mutation fuzzing of board files (`--board-file X.toml`, untrusted data): every mutant must load as a `Board`
whose every string field matches its allow-list and every number its range, or give a clean `BoardError`; never
another exception.

Mutations of the bundled `boards/*.toml`, drawn by a seeded generator: a value replaced by a hostile one (shell,
make, C-comment and Renode syntax, control characters, huge / negative / fractional numbers, wrong types), a key or
table deleted, a table replaced by a scalar, and text edits of the file (a byte flipped, truncation, a hostile line
inserted). Used by tests/test_fuzz_boards.py (a bounded number of cases in CI) and scripts/fuzz_boards.py.
"""

from __future__ import annotations

from typing import Any

import json
import random
import tempfile
import tomllib
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tinyc.boards import (ADDRESS_SPACE_BYTES, FLAG_RE, IDENT_RE, NAME_RE, RENODE_NAME_RE, RENODE_PLATFORM_RE,
                          U32_MAX, Board, MemoryRegion, load_board_file)
from tinyc.errors import BoardError
from tinyc.resources import boards_dir

HOSTILE_STRINGS = (
    "$(shell touch pwned)", "-O2\npwned:\n\ttouch pwned", "-DX=`touch pwned`", "-O2;touch pwned", "-O2 # c", "*/",
    "/*", "x */ int y; /*", "../../etc/passwd", "/abs/x.repl", "a b", "\"quoted\"", "'q'", "\\", "\x00", "\x07",
    "\u2028", "sysbus..cpu", "sysbus.cpu\nquit", "", " ", "-", "-mcpu=cortex-m4", "-mcpu=cortex-m7", "usart2",
    "sysbus.usart2", "platforms/cpus/x.repl", "é" * 3, "x" * 300, "<script>", "${UART}", "%s%n", "{{ board }}",
)
HOSTILE_NUMBERS = (0, -1, 1, 1023, 1024, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 63 - 1, -(2 ** 63), 0xFFFFF000,
                   1.5, float("inf"), float("nan"), True, False)
HOSTILE_LINES = ('cflags = ["$(shell touch pwned)"]', "[part]", "[renode]\nplatform = 3", "x = [[[[[[1]]]]]]",
                 "name = \"a\"\nname = \"b\"", "[[sram.regions]]\nname = \"A\"", 'description = """a\nb"""',
                 "origin = 1" + "0" * 5000, "[sram]\norigin = 0", "\x00", "\ufeff", "= 1", "a.b.c.d = 1")


@dataclass(frozen=True)
class BoardMutant:
    source: str  # the bundled board it came from
    mutation: str  # what was changed, for the table and for reproducing a failure
    text: str


@dataclass(frozen=True)
class BoardOutcome:
    mutant: BoardMutant
    result: str  # "loaded", "BoardError", "CRASH" (another exception) or "UNSAFE" (a loaded value off its allow-list)
    message: str

    @property
    def bad(self) -> bool:
        return self.result in ("CRASH", "UNSAFE")


@dataclass
class BoardSummary:
    outcomes: list[BoardOutcome] = field(default_factory=list)

    def counts(self) -> Counter[tuple[str, str]]:
        return Counter((o.mutant.mutation.split(":")[0], o.result) for o in self.outcomes)

    @property
    def bad(self) -> list[BoardOutcome]:
        return [o for o in self.outcomes if o.bad]


def _toml_value(value: Any) -> str:
    """TOML text of a value (tables inline), for the mutants: strings as JSON (whose escapes TOML reads)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if value != value else ("inf" if value == float("inf") else "-inf" if value == float("-inf")
                                            else repr(value))
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return json.dumps(str(value))


def to_toml(data: dict[str, Any]) -> str:
    return "".join(f"{json.dumps(k)} = {_toml_value(v)}\n" for k, v in data.items())


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every key path of a parsed TOML document (tables, arrays and leaves)."""
    items: list[tuple[str | int, Any]] = list(value.items()) if isinstance(value, dict) else \
        list(enumerate(value)) if isinstance(value, list) else []
    for key, child in items:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


def _set(data: Any, path: tuple[str | int, ...], value: Any, *, delete: bool = False) -> None:
    for key in path[:-1]:
        data = data[key]
    if delete:
        del data[path[-1]]
    else:
        data[path[-1]] = value


def mutate(text: str, source: str, rng: random.Random) -> BoardMutant:
    """One seeded mutant of a valid board file."""
    kind = rng.choices(("value", "delete", "type", "text"), weights=(6, 1, 1, 2))[0]
    if kind == "text":
        lines = text.splitlines()
        how = rng.choice(("flip", "truncate", "insert"))
        if how == "truncate":
            cut = rng.randrange(len(text))
            return BoardMutant(source, f"text: truncate to {cut} characters", text[:cut])
        if how == "flip":
            pos = rng.randrange(len(text))
            char = chr(rng.choice((0, 7, 10, 34, 36, 39, 42, 47, 91, 92, 93, 123, 0x2028, rng.randrange(32, 127))))
            return BoardMutant(source, f"text: character {pos} -> {char!r}", text[:pos] + char + text[pos + 1:])
        at, line = rng.randrange(len(lines) + 1), rng.choice(HOSTILE_LINES)
        return BoardMutant(source, f"text: insert {line[:40]!r} at line {at}", "\n".join(lines[:at] + [line] + lines[at:]))
    data = tomllib.loads(text)
    path = rng.choice(list(_paths(data)))
    where = ".".join(map(str, path))
    if kind == "delete":
        _set(data, path, None, delete=True)
        return BoardMutant(source, f"delete: {where}", to_toml(data))
    if kind == "type":
        value: Any = rng.choice(("x", 3, [], {}, [1, "a"], {"a": {"b": 1}}))
    else:
        value = rng.choice(HOSTILE_STRINGS) if rng.random() < 0.5 else rng.choice(HOSTILE_NUMBERS)
        if isinstance(value, str) and rng.random() < 0.3:
            value = rng.choice(("-mthumb", "sysbus.", "usart", "platforms/")) + value
    _set(data, path, value)
    return BoardMutant(source, f"{kind}: {where} = {value!r}"[:200], to_toml(data))


def _region_ok(region: MemoryRegion) -> bool:
    return 0 <= region.origin and region.size_bytes > 0 and region.origin + region.size_bytes <= ADDRESS_SPACE_BYTES


def unsafe_fields(board: Board) -> list[str]:
    """The fields of a loaded board off their allow-list or range (none, for a board load_board_file accepted)."""
    problems: list[str] = []
    strings = [("name", board.name, NAME_RE), *((f"cflags {f!r}", f, FLAG_RE) for f in board.cflags),
               *((f"sram region {r.name!r}", r.name, IDENT_RE) for r in board.sram_regions)]
    if board.part is not None:
        strings.append(("part.usart", board.part.usart, IDENT_RE))
    if board.renode is not None:
        strings += [("renode.platform", board.renode.platform, RENODE_PLATFORM_RE),
                    ("renode.uart", board.renode.uart, RENODE_NAME_RE), ("renode.cpu", board.renode.cpu, RENODE_NAME_RE)]
    problems += [f"{what} = {value!r}" for what, value, pattern in strings if pattern.fullmatch(value) is None]
    if not board.description.isprintable() or "*/" in board.description or "/*" in board.description:
        problems.append(f"description = {board.description!r}")
    regions = [board.flash, board.sram, *([board.part.stack_ram] if board.part and board.part.stack_ram else [])]
    problems += [f"region {r}" for r in regions if not _region_ok(r)]
    numbers = [board.clock_hz, board.qemu.flash_origin, board.qemu.sram_origin]
    if board.part is not None:
        p = board.part
        numbers += [p.usart_base, p.baud, p.tx_pin.pin, p.tx_pin.port, p.tx_pin.gpio_base or 0, p.usart_clock_hz or 0,
                    *(b.register for b in (p.usart_enable, p.gpio_enable, *p.power_enable) if b is not None)]
    problems += [f"number {n!r}" for n in numbers if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= U32_MAX]
    return problems


def run_case(mutant: BoardMutant, folder: Path) -> BoardOutcome:
    """Load one mutant the way `--board-file` does (as `folder/<source>`, the name its `name` must equal)."""
    path = folder / mutant.source
    path.write_text(mutant.text, encoding="utf-8")
    try:
        board = load_board_file(path)
    except BoardError as exc:
        return BoardOutcome(mutant, "BoardError", str(exc))
    except Exception:  # the point of fuzzing: anything else is a bug, reported with its traceback
        return BoardOutcome(mutant, "CRASH", traceback.format_exc())
    problems = unsafe_fields(board)
    return BoardOutcome(mutant, "UNSAFE", "; ".join(problems)) if problems else BoardOutcome(mutant, "loaded", "")


def fuzz_boards(cases: int, seed: int, files: list[Path] | None = None) -> BoardSummary:
    """`cases` mutants of `files` (the bundled boards by default)."""
    rng = random.Random(seed)
    originals = [(p.name, p.read_text()) for p in (files or sorted(boards_dir().glob("*.toml")))]
    summary = BoardSummary()
    with tempfile.TemporaryDirectory(prefix="tinyc-fuzz-boards-") as tmp:
        for _ in range(cases):
            name, text = rng.choice(originals)
            summary.outcomes.append(run_case(mutate(text, name, rng), Path(tmp)))
    return summary
