"""The flash in the cycle estimate: wait states behind ST's ART accelerator (prefetch, instruction and data caches).

tinyc/run/cycles.py prices the executed instructions at zero wait states. On the real parts the flash needs wait
states at full clock (the board file's `[flash.timing]`: 3 on the STM32F412 at 100 MHz, 5 on the STM32L4R5 at
120 MHz), and the accelerator in front of it hides most of them for code but fewer for data: tinyc's specialized
kernels stream their weights from flash, about one byte per MAC, each line read once per use.

**Where the addresses come from.** The instruction addresses are in QEMU's translation-block log already; the data
addresses are not. They come from a QEMU TCG plugin, `flash_trace.c` beside this file, loaded into the *same* QEMU run
as the log (`-plugin`): it writes, in execution order, every executed block and every data load inside the flash
range, for the first inference only. Why a plugin rather than a second emulator (unicorn) or another trace:

- the instruction stream is QEMU's own, the very run the zero-wait estimate comes from, so the counts agree
  (checked: the plugin's instruction count must equal the log's, exactly). Two -icount details make "exactly"
  work: QEMU may enter a block and leave before its first instruction when the instruction budget ends (the
  plugin sees no execution; the log's parser drops it), and it rewinds a block to an instruction that accesses a
  device and runs that instruction alone (the plugin writes the instruction's address; both cut the block there).
  Against the bench run's icount the counts differ by the harness's marks (a few instructions per step) and the
  tick quantization (40 instructions);
- nothing of the firmware has to be re-created: the harness's SysTick, the semihosting calls and the interrupts
  run as they do in every other tinyc run, where a second emulator would need them emulated or stubbed;
- a load callback is a C function call (QEMU inlines the range check's call into the translated code), so the
  trace costs seconds on the largest MLPerf model; the cache is then replayed here, in Python, once per event.

The price: a host C compiler (`cc`) builds the plugin (a second, tiny), and QEMU must be built with plugin support
(Debian's qemu-system-arm 7.2 is). QEMU ships no plugin header in Debian, so the plugin declares the few API
functions it calls itself (plugin API version 1, QEMU 7.2).

**The model** (`FlashModel`), per flash line of `line_bytes` (one flash read):

- instruction fetch: a line that is not the one being executed costs nothing if it is in the I-cache (LRU of
  `icache_lines` lines); otherwise `wait_states` cycles, except that with `prefetch` the next sequential line was
  being read while the current one executed: it costs max(0, wait_states + 1 - cycles spent in the current line)
  (the read takes wait_states + 1 cycles, the zero-wait table already counts one). Every fetched line enters the
  I-cache.
- data loads from flash (D-Code bus): a hit in the D-cache (LRU of `dcache_lines` lines) or in the line just read
  is free, a miss costs `wait_states`.
- A block's cycles per line are the zero-wait costs of its instructions (cycles.classify), plus the data stalls.

What it leaves out (so the with-flash figure is an estimate, like the zero-wait one): contention between the
I-Code and D-Code buses for the one flash, a data miss interrupting a prefetch, the exact replacement policy and
associativity (LRU over fully associative lines), the M4's own 3-word fetch buffer, and SRAM wait states (none on
these parts). The cycles are charged to the schedule step running, like the zero-wait ones.
"""

from __future__ import annotations

from typing import Any

import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyc.boards import Board, FlashTiming
from tinyc.errors import EmulatorError
from tinyc.run.build import require_tool

PLUGIN_SOURCE = Path(__file__).with_name("flash_trace.c")
HOST_CC_HINT = "apt-get install -y gcc (a host C compiler builds tinyc's QEMU plugin for the flash model)"

_DEFINE, _EXECUTE, _PERIPHERAL = 0xC0000000, 0x80000000, 0x40000000  # flash_trace.c's words
_TAG = 0xC0000000


@dataclass(frozen=True)
class FlashEstimate:
    """The flash's share of one inference's estimated cycles (beyond the zero-wait estimate)."""
    timing: FlashTiming
    stall_cycles: tuple[float, ...]  # per schedule step
    instructions: int  # executed instructions the plugin saw (must equal the translation-block log's)
    fetch_stall_cycles: float
    data_stall_cycles: float
    fetch_misses: int  # instruction lines read from the flash (cache misses, prefetched or not)
    data_loads: int  # data loads from the flash
    data_misses: int  # of them, lines read from the flash

    @property
    def cycles(self) -> float:
        return sum(self.stall_cycles)

    def as_json(self) -> dict[str, Any]:
        t = self.timing
        return {"wait_states": t.wait_states, "line_bytes": t.line_bytes, "icache_lines": t.icache_lines,
                "dcache_lines": t.dcache_lines, "prefetch": t.prefetch, "stall_cycles": self.cycles,
                "fetch_stall_cycles": self.fetch_stall_cycles, "data_stall_cycles": self.data_stall_cycles,
                "fetch_misses": self.fetch_misses, "data_loads": self.data_loads, "data_misses": self.data_misses}


class _Lru:
    """A fully associative cache of line numbers, least recently used out first."""

    def __init__(self, lines: int) -> None:
        self.lines = lines
        self._order: dict[int, None] = {}

    def access(self, line: int) -> bool:
        """Whether `line` was cached; afterwards it is, as the most recently used."""
        if line in self._order:
            del self._order[line]
            self._order[line] = None
            return True
        if self.lines:
            self._order[line] = None
            if len(self._order) > self.lines:
                del self._order[next(iter(self._order))]
        return False


Segment = tuple[int, float]  # (flash line, zero-wait cycles of the instructions that start in it)


def segments(instructions: Iterable[tuple[int, int, float]], line_bytes: int) -> tuple[Segment, ...]:
    """A block's instructions, (address, size_bytes, cycles) in order, as the flash lines they are fetched from:
    an instruction that straddles two lines needs both."""
    out: list[list[float]] = []
    for address, size, cycles in instructions:
        first, last = address // line_bytes, (address + size - 1) // line_bytes
        if out and out[-1][0] == first:
            out[-1][1] += cycles
        else:
            out.append([first, cycles])
        if last != first:
            out.append([last, 0.0])
    return tuple((int(line), cycles) for line, cycles in out)


class FlashModel:
    """The accelerator's state while a trace replays (a simulator: it changes as events arrive). Each call returns
    the stall cycles the event costs."""

    def __init__(self, timing: FlashTiming) -> None:
        self.timing = timing
        self._icache = _Lru(timing.icache_lines)
        self._dcache = _Lru(timing.dcache_lines)
        self._line = -1  # the instruction line being executed
        self._elapsed = 0.0  # cycles since it arrived
        self._data_line = -1  # the data line read last
        self.fetch_stall_cycles = 0.0
        self.data_stall_cycles = 0.0
        self.fetch_misses = 0
        self.data_loads = 0
        self.data_misses = 0

    def execute(self, block: Sequence[Segment]) -> float:
        """Fetch a block's lines in order (its segments) while its instructions run."""
        ws = self.timing.wait_states
        stall = 0.0
        for line, cycles in block:
            if line != self._line:
                if not self._icache.access(line):
                    self.fetch_misses += 1
                    if self.timing.prefetch and line == self._line + 1:
                        stall += max(0.0, ws + 1 - self._elapsed)
                    else:
                        stall += ws
                self._line, self._elapsed = line, 0.0
            self._elapsed += cycles
        self.fetch_stall_cycles += stall
        return stall

    def load(self, address: int) -> float:
        """A data load from the flash (D-Code bus)."""
        self.data_loads += 1
        line = address // self.timing.line_bytes
        hit = line == self._data_line or self._dcache.access(line)
        self._data_line = line
        if hit:
            return 0.0
        self.data_misses += 1
        stall = float(self.timing.wait_states)
        self._elapsed += stall  # the prefetch of the next instruction line goes on meanwhile
        self.data_stall_cycles += stall
        return stall


def build_plugin(folder: Path) -> Path:
    """Compile the trace plugin (flash_trace.c) with the host C compiler into `folder`."""
    cc = require_tool("cc", HOST_CC_HINT)
    plugin = folder / "flash_trace.so"
    proc = subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", str(plugin), str(PLUGIN_SOURCE)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise EmulatorError(f"the flash-trace QEMU plugin did not compile ({cc}):\n{proc.stderr.strip()}")
    return plugin


def flash_range(board: Board) -> tuple[int, int]:
    """The board's flash as the emulator build maps it: [start, end)."""
    start = board.qemu.flash_origin
    return start, start + board.flash.size_bytes


def plugin_arguments(board: Board, plugin: Path, trace: Path, profile_address: int, steps: int) -> list[str]:
    """QEMU's -plugin option recording the first inference: from the first call of the profile hook to the one after
    the last step."""
    lo, hi = flash_range(board)
    return ["-plugin", f"{plugin},out={trace},lo={lo:#x},hi={hi:#x},stop={profile_address:#x},count={steps + 1}"]


def replay(words: np.ndarray, timing: FlashTiming, costs: Mapping[int, float], flash: tuple[int, int],
           profile_address: int, steps: int) -> FlashEstimate:
    """Replay the plugin's record (see flash_trace.c for its words) through the model; `costs` are the zero-wait
    cycles of each instruction by address (from the translation-block log of the same run)."""
    lo, hi = flash
    model = FlashModel(timing)
    # id: (starts the step, segments, its instructions' addresses)
    blocks: dict[int, tuple[bool, tuple[Segment, ...], tuple[int, ...]]] = {}
    last: tuple[int, ...] = ()  # the addresses of the block executed last
    per_step = [0.0] * steps
    executed = 0
    step = -1
    values = words.tolist()
    i, n = 0, len(values)
    while i < n:
        word = values[i]
        tag = word & _TAG
        if tag == _DEFINE:
            count = values[i + 1]
            insns = [(w & ~1, 4 if w & 1 else 2) for w in values[i + 2:i + 2 + count]]
            i += 2 + count
            in_flash = [(a, s, costs.get(a, 1.0)) for a, s in insns if lo <= a < hi]
            blocks[word & ~_TAG] = (bool(insns) and insns[0][0] == profile_address,
                                    segments(in_flash, timing.line_bytes), tuple(a for a, _ in insns))
            continue
        i += 1
        if tag == _EXECUTE:
            starts, block, last = blocks[word & ~_TAG]
            if starts:
                step += 1
            if 0 <= step < steps:
                per_step[step] += model.execute(block)
                executed += len(last)
        elif not 0 <= step < steps:
            continue
        elif tag == _PERIPHERAL:  # an instruction QEMU ran in a block of its own, rewinding the last one to it
            address = word & ~_TAG
            if address in last:
                executed -= len(last) - last.index(address)
            executed += 1
        else:
            per_step[step] += model.load(word)
    if step != steps - 1:
        raise EmulatorError(f"the flash trace ended after {max(step + 1, 0)} of {steps} steps")
    return FlashEstimate(timing=timing, stall_cycles=tuple(per_step), instructions=executed,
                         fetch_stall_cycles=model.fetch_stall_cycles, data_stall_cycles=model.data_stall_cycles,
                         fetch_misses=model.fetch_misses, data_loads=model.data_loads, data_misses=model.data_misses)


def read_trace(path: Path) -> np.ndarray:
    if not path.is_file():
        raise EmulatorError(f"the flash-trace plugin wrote no {path.name} (did QEMU load it? qemu-system-arm needs "
                            "plugin support)")
    return np.fromfile(path, dtype="<u4")
