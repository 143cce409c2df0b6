"""Mutation fuzzing of the .tflite front end: every mutated file must give a clean `TinycError` or a model
that reads, lowers and plans; never another exception, never a hang.

Three mutations, drawn by a seeded generator: byte flips anywhere, truncation, and field edits (a scalar the
reader reads, located with `tinyc.ir.tflite_flatbuffer`'s verified parse: a shape entry, a buffer / opcode /
tensor index, a vector length, a quantization scale or zero point, a stride, ... set to an edge value).
Used by tests/test_fuzz_tflite.py (a bounded number of cases in CI) and scripts/fuzz_tflite.py (long runs).
"""

from __future__ import annotations

from typing import Any

import contextlib
import random
import signal
import struct
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tinyc.errors import TinycError
from tinyc.ir.tflite_flatbuffer import ScalarField, parse_model

_PACK = {"bool": "<B", "u8": "<B", "i8": "<b", "u16": "<H", "i32": "<i", "u32": "<I", "f32": "<f", "i64": "<q",
         "u64": "<Q"}
_RANGE = {"bool": (0, 255), "u8": (0, 255), "i8": (-128, 127), "u16": (0, 65535), "i32": (-2 ** 31, 2 ** 31 - 1),
          "u32": (0, 2 ** 32 - 1), "i64": (-2 ** 63, 2 ** 63 - 1), "u64": (0, 2 ** 64 - 1)}


class CaseTimeout(Exception):
    """A case ran longer than its time limit (raised from SIGALRM)."""


@dataclass(frozen=True)
class Mutant:
    source: str  # the file it came from
    mutation: str  # what was changed, for the table and for reproducing a failure
    data: bytes


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    result: str  # "planned", the TinycError class name, "CRASH" or "HANG"
    message: str  # the error message, or the traceback of a crash
    seconds: float

    @property
    def bad(self) -> bool:
        return self.result in ("CRASH", "HANG")


@dataclass
class Summary:
    outcomes: list[Outcome] = field(default_factory=list)

    def counts(self) -> Counter[tuple[str, str]]:
        return Counter((o.mutant.mutation.split(":")[0], o.result) for o in self.outcomes)

    @property
    def bad(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.bad]


def summary_table(counts: Counter[tuple[str, str]], cases: int, bad_results: tuple[str, ...]) -> list[str]:
    """A fuzz run's table (the .tflite and the board-file fuzzers' scripts): mutation kind x result, with totals;
    the results in `bad_results` in the last columns."""
    results = sorted({result for _, result in counts}, key=lambda r: (r in bad_results, r))
    kinds = sorted({kind for kind, _ in counts})
    width = max(len(r) for r in results) + 2
    lines = ["mutation".ljust(10) + "".join(r.rjust(width) for r in results) + "total".rjust(8)]
    for kind in kinds:
        row = [counts[(kind, r)] for r in results]
        lines.append(kind.ljust(10) + "".join(str(v).rjust(width) for v in row) + str(sum(row)).rjust(8))
    totals = Counter({r: sum(n for (_, result), n in counts.items() if result == r) for r in results})
    lines.append("total".ljust(10) + "".join(str(totals[r]).rjust(width) for r in results) + str(cases).rjust(8))
    return lines


def _edge_values(f: ScalarField, current: float | int, size: int, rng: random.Random) -> list[Any]:
    if f.kind == "f32":
        return [0.0, -1.0, float("nan"), float("inf"), 1e-45, 1e30, current * 2, current / 256, -current]
    low, high = _RANGE[f.kind]
    values = [0, 1, 2, 3, -1, 127, 128, 255, 256, 2 ** 31 - 1, 2 ** 31, size, size // 2, current + 1, current - 1,
              current * 2, current * 1000, rng.randint(low, high)]
    return [v for v in values if low <= v <= high]


def mutate(data: bytes, source: str, rng: random.Random) -> Mutant:
    """One seeded mutant of a valid .tflite file."""
    kind = rng.choices(("flip", "truncate", "field"), weights=(3, 1, 6))[0]
    buf = bytearray(data)
    if kind == "truncate":
        cut = rng.choice((len(buf) // 2, rng.randrange(len(buf)), len(buf) - rng.randint(1, 16)))
        return Mutant(source, f"truncate: to {cut} of {len(buf)} bytes", bytes(buf[:cut]))
    if kind == "flip":
        changes = []
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(buf))
            value = buf[pos] ^ (1 << rng.randrange(8)) if rng.random() < 0.5 else rng.randrange(256)
            changes.append(f"byte {pos} {buf[pos]:#04x}->{value:#04x}")
            buf[pos] = value
        return Mutant(source, "flip: " + ", ".join(changes), bytes(buf))
    scalars: list[ScalarField] = []
    parse_model(data, scalars)
    f = rng.choice(scalars)
    fmt = _PACK[f.kind]
    current = struct.unpack_from(fmt, buf, f.pos)[0]
    value = rng.choice(_edge_values(f, current, len(buf), rng))
    struct.pack_into(fmt, buf, f.pos, value)
    return Mutant(source, f"field: {f.where} {current!r}->{value!r}", bytes(buf))


def mutants(files: list[Path], cases: int, seed: int) -> Iterator[Mutant]:
    rng = random.Random(seed)
    originals = [(p.name, p.read_bytes()) for p in files]
    for _ in range(cases):
        name, data = rng.choice(originals)
        yield mutate(data, name, rng)


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise `CaseTimeout` in the main thread after `seconds` (SIGALRM; Unix)."""
    def expire(signum: int, frame: object) -> None:
        raise CaseTimeout(f"still running after {seconds} s")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_case(mutant: Mutant, board: str = "stm32f412", timeout_s: float = 10.0, schedule: str = "auto") -> Outcome:
    """Read, lower and plan one mutant the way `tinyc report` does (`schedule`: "auto" searches patch
    schedules too, "per-layer" is quicker)."""
    from tinyc.plan.pipeline import plan_loaded
    from tinyc.frontend.loader import LoadedModel
    from tinyc.plan.search import ScheduleChoice, ScheduleOptions
    started = time.monotonic()
    try:
        with time_limit(timeout_s):
            plan_loaded(LoadedModel(name="fuzz", source=Path(mutant.source), tflite=mutant.data), board,
                        options=ScheduleOptions(kind=ScheduleChoice(schedule)))
    except TinycError as exc:
        result, message = type(exc).__name__, str(exc)
    except CaseTimeout as exc:
        result, message = "HANG", str(exc)
    except Exception:  # the point of fuzzing: anything else is a bug, reported with its traceback
        result, message = "CRASH", traceback.format_exc()
    else:
        result, message = "planned", ""
    return Outcome(mutant, result, message, time.monotonic() - started)


def fuzz(files: list[Path], cases: int, seed: int, *, timeout_s: float = 10.0, auto_every: int = 1) -> Summary:
    """`cases` mutants of `files`; every `auto_every`-th case that reads is planned with the full schedule
    search, the others per layer."""
    summary = Summary()
    for number, mutant in enumerate(mutants(files, cases, seed)):
        schedule = "auto" if number % auto_every == 0 else "per-layer"
        summary.outcomes.append(run_case(mutant, timeout_s=timeout_s, schedule=schedule))
    return summary
