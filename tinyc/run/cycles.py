"""Estimated cycles per inference: a per-instruction-class timing table applied to the executed instruction mix.

QEMU counts instructions, not cycles. To estimate cycles, the bench firmware runs once more with QEMU's
translation-block log (`-d in_asm,exec,nochain`, streamed through a pipe, never written to disk): every
translated block's instructions (`in_asm`) and every block execution in order (`exec`). Each instruction's cost
comes from the core's timing table below, and a block's last instruction counts as a taken branch when the next
executed block does not start where it falls through. Cycles are charged to the schedule step running, delimited
by the harness's calls of `tinyc_profile_step()`.

The tables are from Arm's Technical Reference Manuals (Cortex-M4 r0p1 section 3.3 "Instruction set summary";
Cortex-M7 r1p2 chapter 2 pipeline), reduced to what an estimate can use without a pipeline model:

- Cortex-M4: data processing, multiplies (MUL, MLA, SMULL, SMLAL), DSP (SMLAD, SMMULR, SXTB16, SSAT) and IT: 1;
  a load or store of one register: 2, or 1 right after another one (the TRM's address/data phase pipelining);
  LDRD/STRD: 3; LDM/STM/PUSH/POP: 1 + registers; a taken branch: 1 + P with P = 2 (pipeline refill, "1 to 3");
  a load of PC (POP {.., pc}, LDR pc): + P; SDIV/UDIV: 7 (the middle of "2 to 12"); VDIV/VSQRT: 14.
  Flash wait states are added separately (below); bus contention is not modelled.
- Cortex-M33: the Cortex-M4's table. Its TRM (r0p4) gives no per-instruction cycle table; the core has the M4's
  three-stage pipeline and single-cycle DSP multiply-accumulate (SMLAD, SMLABB), and its limited dual issue of
  16-bit pairs is not modelled, so the figure is an estimate, probably slightly high.
- Cortex-M55: the Cortex-M33's scalar timings (its TRM gives no per-instruction table either) and, for Helium (MVE),
  the beat model of Arm's Cortex-M55 Software Optimization Guide: a 128-bit vector instruction is 4 beats and the
  M55 executes 2 beats a cycle (dual-beat), so 2 cycles; a vector instruction that follows one of the other group
  (a load or store after arithmetic, or arithmetic after a load or store) overlaps its first half with the previous
  one's second, so 1 cycle. Low-overhead loop ends (LE) are predicted: no refill. Dependencies and the VMLADAV
  result latency are not modelled. QEMU's disassembler (capstone) does not know MVE or the low-overhead-loop
  instructions and splits them into wrong pieces, so each logged block's bytes are cut into instructions again
  here by the Thumb-2 length rule and those in the coprocessor space are classified by their encoding.
- Cortex-M7: single issue as an upper bound (the M7 dual-issues many pairs; not modelled): 1 per instruction,
  loads and LDRD 1 (TCM or cache hits), LDM/STM 1 + registers / 2, taken branches 1 (predicted) + 1, divides 7.

So the M4, M33 and M55 figures are plausible estimates of the core's cycles at zero wait states, and the M7 figure an
upper bound; all are labelled estimates wherever they are printed.

The flash: when the board file has `[flash.timing]`, the same QEMU run also loads tinyc's trace plugin (executed
blocks and data loads from flash) and tinyc/run/flash.py replays them through the flash accelerator's model: the
stall cycles per step, added to the zero-wait ones as a second, labelled figure (`CycleEstimate.flash`). Boards
without the table (the nRF52840; the H743, whose M7 figure stays a bound without caches) get the zero-wait figure
only.
"""

from __future__ import annotations

import enum
import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tinyc.boards import Board
from tinyc.errors import EmulatorError
from tinyc.run import flash as flash_model
from tinyc.run.qemu import QEMU_HINT, qemu_command
from tinyc.run.build import require_tool

_INSN = re.compile(r"^0x([0-9a-f]+):\s+((?:[0-9a-f]{4}\s)+)\s*(\S+)\s*(.*)$")
_TRACE = re.compile(r"^Trace \d+: (0x[0-9a-f]+) \[[0-9a-f]+/([0-9a-f]+)/")
# With -icount, QEMU enters a block and leaves it before its first instruction when the instruction budget ran out
# (it logs "Stopped execution of TB chain before"), and it rewinds a block to an instruction that accesses a device,
# then runs that instruction in a block of its own ("cpu_io_recompile: rewound execution of TB to ADDR").
_STOPPED = "Stopped execution of TB chain"
_REWOUND = re.compile(r"^cpu_io_recompile: rewound execution of TB to ([0-9a-f]+)")


@dataclass(frozen=True)
class TimingTable:
    """Cycles per instruction class of one core (see the module docstring for the sources)."""
    core: str
    alu: float
    load_store: float
    load_store_pipelined: float
    load_store_double: float
    multiple_base: float  # LDM/STM/PUSH/POP: base + per_register * registers
    multiple_per_register: float
    branch_taken_extra: float  # beyond the branch's own cycle when taken (and for a load of PC)
    divide: float
    float_divide: float
    vector: float = 0.0  # a Helium (MVE) instruction: 4 beats at the core's beats per cycle
    vector_overlapped: float = 0.0  # one that follows a vector instruction of the other group (memory / arithmetic)


TIMING_TABLES: dict[str, TimingTable] = {
    "cortex-m4": TimingTable("Cortex-M4", alu=1, load_store=2, load_store_pipelined=1, load_store_double=3,
                             multiple_base=1, multiple_per_register=1, branch_taken_extra=2, divide=7,
                             float_divide=14),
    "cortex-m7": TimingTable("Cortex-M7 (single issue: an upper bound)", alu=1, load_store=1,
                             load_store_pipelined=1, load_store_double=1, multiple_base=1,
                             multiple_per_register=0.5, branch_taken_extra=1, divide=7, float_divide=14),
    "cortex-m33": TimingTable("Cortex-M33 (the Cortex-M4's timings: an estimate)", alu=1, load_store=2,
                              load_store_pipelined=1, load_store_double=3, multiple_base=1, multiple_per_register=1,
                              branch_taken_extra=2, divide=7, float_divide=14),
    "cortex-m55": TimingTable("Cortex-M55 (dual-beat Helium, M33-like scalar timings: an estimate)", alu=1,
                              load_store=2, load_store_pipelined=1, load_store_double=3, multiple_base=1,
                              multiple_per_register=1, branch_taken_extra=2, divide=7, float_divide=14, vector=2,
                              vector_overlapped=1),
}

_BRANCHES = ("b", "bl", "blx", "bx", "cbz", "cbnz", "tbb", "tbh")
_CONDITIONS = ("eq", "ne", "cs", "cc", "hs", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al")


def _base(mnemonic: str) -> str:
    return mnemonic.split(".")[0]


def _is_branch(mnemonic: str) -> bool:
    m = _base(mnemonic)
    return m in _BRANCHES or (m.startswith("b") and m[1:] in _CONDITIONS)


def _registers(operands: str) -> int:
    inside = operands[operands.find("{") + 1:operands.find("}")]
    count = 0
    for part in inside.split(","):
        part = part.strip()
        if "-" in part:
            lo, hi = (int(r.strip()[1:]) for r in part.split("-"))
            count += hi - lo + 1
        elif part:
            count += 1
    return count


class VectorGroup(enum.IntEnum):
    """A Helium instruction's group for beat overlap (NONE: a scalar or floating-point instruction)."""
    NONE = 0
    MEMORY = 1  # VLDR, VSTR, gathers and scatters
    ARITHMETIC = 2


@dataclass(frozen=True)
class Insn:
    cost: float  # cycles, not counting the load/store pipelining or a taken branch
    load_store: bool = False  # a single-register load or store (can pipeline with the previous one)
    taken_extra: float = 0.0  # more cycles when the block leaves here for a non-sequential address
    vector: VectorGroup = VectorGroup.NONE


def _is_32bit(first: int) -> bool:
    """A Thumb-2 instruction is 32 bits when its first halfword starts 0b11101, 0b11110 or 0b11111."""
    return first >> 11 in (0b11101, 0b11110, 0b11111)


def encoding_class(first: int, second: int, table: TimingTable) -> Insn | None:
    """The class of a 32-bit instruction from its encoding where the disassembler's name cannot be trusted: Helium
    (MVE) in the coprocessor space (not the floating point's coprocessors 10 and 11, except the 0xEF/0xFF vector
    data processing), the low-overhead loop instructions (DLS, WLS, LE); None for the others."""
    if first & 0xEC00 == 0xEC00:
        vfp = (second >> 9) & 0b111 == 0b101
        if first & 0xEF00 == 0xEF00 or not vfp:
            memory = first & 0xEE00 == 0xEC00
            return Insn(table.vector or table.alu, vector=VectorGroup.MEMORY if memory else VectorGroup.ARITHMETIC)
        return None
    if first & 0xFF80 == 0xF000 and second & 0xD001 == 0xC001:  # LE, LETP (predicted: no refill), DLS, WLS
        return Insn(table.alu)
    return None


def split_block(lines: list[tuple[int, int, str, str, tuple[int, ...]]], table: TimingTable) -> tuple[
        tuple[int, ...], tuple[int, ...], tuple[Insn, ...]]:
    """A logged block's instructions cut again by the Thumb-2 length rule: (addresses, sizes, classes). `lines`: the
    disassembler's (address, size, mnemonic, operands, halfwords); where its cut agrees and the instruction is not
    in the coprocessor or loop space, its mnemonic classifies the instruction."""
    words: dict[int, int] = {}
    named: dict[int, tuple[int, str, str]] = {}
    for address, size, mnemonic, operands, halfwords in lines:
        for i, h in enumerate(halfwords):
            words[address + 2 * i] = h
        named[address] = (size, mnemonic, operands)
    addresses: list[int] = []
    sizes: list[int] = []
    insns: list[Insn] = []
    at, end = lines[0][0], lines[-1][0] + lines[-1][1]
    while at < end:
        first = words.get(at, 0)
        size = 4 if _is_32bit(first) and at + 2 in words else 2
        special = encoding_class(first, words[at + 2], table) if size == 4 else None
        if special is None:
            size_named, mnemonic, operands = named.get(at, (0, "", ""))
            special = classify(mnemonic, operands, table) if size_named == size and not mnemonic.startswith(".") \
                else Insn(table.alu)
        addresses.append(at)
        sizes.append(size)
        insns.append(special)
        at += size
    return tuple(addresses), tuple(sizes), tuple(insns)


def classify(mnemonic: str, operands: str, table: TimingTable) -> Insn:
    """One instruction's cycles by class (mnemonic and operands as QEMU's disassembler prints them)."""
    m = _base(mnemonic)
    loads_pc = "pc" in operands.split(",")[0] or ("{" in operands and "pc" in operands)
    refill = table.branch_taken_extra if loads_pc else 0.0  # a load of PC always branches
    if m.startswith(("ldrd", "strd")):
        return Insn(table.load_store_double)
    if m.startswith(("ldm", "stm", "push", "pop", "vldm", "vstm", "vpush", "vpop")):
        return Insn(table.multiple_base + table.multiple_per_register * _registers(operands) + refill)
    if m.startswith(("ldr", "str", "vldr", "vstr")):
        return Insn(table.load_store + refill, load_store=not loads_pc)
    if m in ("sdiv", "udiv"):
        return Insn(table.divide)
    if m in ("vdiv", "vsqrt"):
        return Insn(table.float_divide)
    if _is_branch(m):
        return Insn(table.alu, taken_extra=table.branch_taken_extra)
    return Insn(table.alu)


@dataclass(frozen=True)
class Block:
    insns: tuple[Insn, ...]
    end: int  # the address after its last instruction (the fall-through)
    count: int  # guest instructions
    addresses: tuple[int, ...] = ()  # of its instructions (to cut it where QEMU rewound it)

    def until(self, address: int) -> Block:
        """The block's instructions before `address` (QEMU rewound the block there: see estimate_cycles)."""
        k = self.addresses.index(address) if address in self.addresses else self.count
        return Block(self.insns[:k], address, k, self.addresses[:k])


@dataclass(frozen=True)
class CycleEstimate:
    core: str
    cycles: float  # one inference
    steps: tuple[float, ...]  # per schedule step
    instructions: int  # executed instructions the trace saw (a check against QEMU's icount)
    flash: flash_model.FlashEstimate | None = None  # the flash's stalls (boards with [flash.timing])

    @property
    def cycles_with_flash(self) -> float | None:
        return self.cycles + self.flash.cycles if self.flash else None

    @property
    def steps_with_flash(self) -> tuple[float, ...] | None:
        if self.flash is None:
            return None
        return tuple(c + s for c, s in zip(self.steps, self.flash.stall_cycles, strict=True))


def _block_cycles(block: Block, table: TimingTable, taken: bool) -> float:
    cycles, previous_ls, previous_vector = 0.0, False, VectorGroup.NONE
    for insn in block.insns:
        if insn.vector and previous_vector and insn.vector != previous_vector:
            cycles += table.vector_overlapped
        else:
            cycles += table.load_store_pipelined if insn.load_store and previous_ls else insn.cost
        previous_ls, previous_vector = insn.load_store, insn.vector
    return cycles + (block.insns[-1].taken_extra if taken else 0.0)


def _log_lines(board: Board, elf: Path, timeout_s: float, plugin: list[str]) -> Iterator[str]:
    require_tool("qemu-system-arm", QEMU_HINT)
    cmd = qemu_command(board, elf, icount=True) + ["-d", "in_asm,exec,nochain"] + plugin
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    try:
        yield from proc.stderr
        proc.wait(timeout=timeout_s)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def estimate_cycles(board: Board, elf: Path, profile_address: int, steps: int, *,
                    timeout_s: float = 600.0) -> CycleEstimate:
    """Cycles of the first inference of a bench-harness ELF, per schedule step (the harness calls
    tinyc_profile_step at `profile_address` before each step and once after the last); with the board's flash too
    when its board file has [flash.timing]."""
    table = TIMING_TABLES.get(board.cpu)
    if table is None:
        raise EmulatorError(f"no timing table for {board.cpu}: cycle estimates exist for {', '.join(TIMING_TABLES)}")
    if board.flash_timing is None:
        return _estimate(board, elf, profile_address, steps, table, timeout_s, None)
    with tempfile.TemporaryDirectory(prefix="tinyc-flash-") as tmp:
        return _estimate(board, elf, profile_address, steps, table, timeout_s, Path(tmp))


def _estimate(board: Board, elf: Path, profile_address: int, steps: int, table: TimingTable, timeout_s: float,
              flash_folder: Path | None) -> CycleEstimate:
    plugin: list[str] = []
    if flash_folder is not None:
        plugin = flash_model.plugin_arguments(board, flash_model.build_plugin(flash_folder),
                                              flash_folder / "flash_trace.bin", profile_address, steps)
    costs: dict[int, float] = {}  # zero-wait cycles by instruction address, for the flash model's prefetch
    blocks: dict[str, Block] = {}
    pending: list[tuple[int, int, str, str, tuple[int, ...]]] = []  # the instructions of the block being logged
    translated: Block | None = None
    per_step = [0.0] * steps
    executed = 0
    step = -1
    previous: Block | None = None
    previous_pc = -1
    done = False
    for line in _log_lines(board, elf, timeout_s, plugin):
        if done:
            continue
        if line.startswith("0x"):
            match = _INSN.match(line)
            if match:
                halfwords = tuple(int(h, 16) for h in match.group(2).split())
                pending.append((int(match.group(1), 16), 2 * len(halfwords), match.group(3), match.group(4),
                                halfwords))
            continue
        if line.startswith(("IN:", "----")):
            if line.startswith("IN:"):
                pending = []
            continue
        if pending and not line.strip():
            addresses, sizes, insns = split_block(pending, table)
            for address, insn in zip(addresses, insns):
                costs[address] = insn.cost
            translated = Block(insns, addresses[-1] + sizes[-1], len(insns), addresses)
            pending = []
            continue
        trace = _TRACE.match(line)
        if not trace:
            if line.startswith(_STOPPED) and previous is not None:  # the block just entered ran no instruction
                if previous_pc == profile_address:
                    step -= 1
                previous = None
            rewound = _REWOUND.match(line)
            if rewound and previous is not None:
                previous = previous.until(int(rewound.group(1), 16))
            continue
        host, pc = trace.group(1), int(trace.group(2), 16)
        if translated is not None:
            blocks[host] = translated  # the first execution follows its translation
            translated = None
        block = blocks.get(host)
        if previous is not None and 0 <= step < steps:
            per_step[step] += _block_cycles(previous, table, taken=pc != previous.end)
            executed += previous.count
        previous, previous_pc = block, pc
        if pc == profile_address:
            step += 1
            if step >= steps:
                done = True
    if step < steps:
        raise EmulatorError(f"the cycle trace of {elf.name} ended after {max(step, 0)} of {steps} steps")
    flash: flash_model.FlashEstimate | None = None
    if flash_folder is not None and board.flash_timing is not None:
        flash = flash_model.replay(flash_model.read_trace(flash_folder / "flash_trace.bin"), board.flash_timing,
                                   costs, flash_model.flash_range(board), profile_address, steps)
        if flash.instructions != executed:
            raise EmulatorError(f"the flash trace of {elf.name} saw {flash.instructions:,} instructions, the "
                                f"translation-block log {executed:,}: the two records of one QEMU run disagree")
    return CycleEstimate(core=table.core, cycles=sum(per_step), steps=tuple(per_step), instructions=executed,
                         flash=flash)
