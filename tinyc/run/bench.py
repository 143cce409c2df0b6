"""Benchmark: instructions per inference in QEMU, in total and per layer, deterministic run to run.

QEMU runs with ``-icount shift=0``: the virtual clock advances one nanosecond per executed
instruction, and SysTick (on the mps2 machines' 25 MHz processor clock) then counts one tick per
40 instructions, whatever the host's speed. The bench harness (``firmware_templates/bench/harness.c.j2``) counts
SysTick's 24-bit wraps with its interrupt, times every schedule step through the ``TINYC_PROFILE``
hook of ``model.c``, and calibrates instructions per tick with a loop of known length. Counts are
instructions, not cycles: QEMU models no pipeline, caches, flash wait states or multi-cycle
instructions. With ``cycles=True`` a second, traced run prices every executed instruction with the core's
timing table (``tinyc/run/cycles.py``): an estimated cycle count per step and in total, at zero wait states and,
for boards with ``[flash.timing]``, with the flash's wait states behind its accelerator (``tinyc/run/flash.py``).
"""

from __future__ import annotations

from typing import Any

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyc.boards import BoardRef
from tinyc.codegen.render import PORTABLE_FLAG, Harness
from tinyc.errors import EmulatorError
from tinyc.plan.pipeline import Planned, input_samples, plan_model
from tinyc.plan.search import ScheduleOptions
from tinyc.run import kernel_cache
from tinyc.run.build import BuildResult
from tinyc.run.cycles import CycleEstimate, estimate_cycles
from tinyc.run.firmware import build_firmware
from tinyc.run.qemu import bench_qemu

KERNEL_OBJECT_DIR = "obj/kernels"
MODEL_OBJECT = "obj/app/model.o"
PROFILE_SYMBOL = "tinyc_profile_step"


@dataclass(frozen=True)
class LayerBench:
    """One op of the model (its schedule steps summed: patch steps share their op), or the block copies
    a patch schedule makes around it (op "copy", no MACs)."""
    op_index: int
    name: str
    op: str
    steps: int
    instructions: int
    macs: int
    estimated_cycles: float | None = None  # from the timing table (tinyc/run/cycles.py) at zero wait states
    estimated_cycles_with_flash: float | None = None  # plus the flash's stalls (tinyc/run/flash.py), when modelled

    @property
    def instructions_per_mac(self) -> float | None:
        return self.instructions / self.macs if self.macs else None

    def as_json(self) -> dict[str, Any]:
        return {"op_index": self.op_index, "name": self.name, "op": self.op, "steps": self.steps,
                "instructions": self.instructions, "macs": self.macs,
                "instructions_per_mac": self.instructions_per_mac, "estimated_cycles": self.estimated_cycles,
                "estimated_cycles_zero_wait": self.estimated_cycles,
                "estimated_cycles_with_flash": self.estimated_cycles_with_flash}


@dataclass(frozen=True)
class BenchResult:
    model: str
    board: str
    clock_hz: int
    kernels: str  # "optimized", "portable" or "cmsis-nn" (a real CMSIS-NN checkout)
    instructions: int  # one inference, from the harness's call of tinyc_invoke()
    instructions_per_tick: int | float  # the resolution: every count is a multiple of it (rounded where it is not
    # an integer: 31.25 on the mps3-an547, whose SysTick runs at 32 MHz)
    macs: int
    layers: tuple[LayerBench, ...]
    runs: tuple[int, ...]  # instructions of every inference in the firmware run (within one tick)
    kernel_code_bytes: int  # .text of the kernel objects linked into the ELF
    output: np.ndarray  # the model's output for the benchmarked input
    cycles: CycleEstimate | None = None  # estimated cycles (a timing table on the executed instructions)
    model_code_bytes: int = 0  # .text of the model's own code (model.o: the specialized kernels are inlined there)
    constants: str = "flash"  # tinyc.plan.constants.ConstantsPolicy's value: where the weights and layouts were
    sram_constants_bytes: int = 0  # of them, copied to SRAM at start-up

    @property
    def instructions_per_mac(self) -> float | None:
        return self.instructions / self.macs if self.macs else None

    @property
    def latency_ms(self) -> float:
        """At the board clock, assuming one cycle per instruction (QEMU's icount is not a cycle count)."""
        return self.instructions / self.clock_hz * 1e3

    @property
    def cycles_per_mac(self) -> float | None:
        return self.cycles.cycles / self.macs if self.cycles and self.macs else None

    def estimated_latency_ms(self, clock_hz: int | None = None) -> float | None:
        """From the estimated cycles at zero wait states, at `clock_hz` (the board's clock by default)."""
        return self.cycles.cycles / (clock_hz or self.clock_hz) * 1e3 if self.cycles else None

    @property
    def cycles_with_flash(self) -> float | None:
        return self.cycles.cycles_with_flash if self.cycles else None

    def estimated_latency_ms_with_flash(self, clock_hz: int | None = None) -> float | None:
        """From the estimated cycles with the board's flash (None where the board file has no [flash.timing]).
        The wait states are the board's at its own clock: another clock_hz rescales, it does not re-time."""
        cycles = self.cycles_with_flash
        return cycles / (clock_hz or self.clock_hz) * 1e3 if cycles is not None else None

    def as_json(self) -> dict[str, Any]:
        flash = self.cycles.flash if self.cycles else None
        return {"model": self.model, "board": self.board, "kernels": self.kernels,
                "estimated_cycles": self.cycles.cycles if self.cycles else None,  # at zero wait states
                "estimated_cycles_zero_wait": self.cycles.cycles if self.cycles else None,
                "estimated_cycles_with_flash": self.cycles_with_flash,
                "flash_model": flash.as_json() if flash else None,  # the board's [flash.timing] and the stalls
                "cycle_model": self.cycles.core if self.cycles else None,
                "estimated_cycles_per_mac": self.cycles_per_mac,
                "estimated_cycles_per_mac_with_flash": (self.cycles_with_flash / self.macs
                                                        if self.cycles_with_flash is not None and self.macs else None),
                "estimated_latency_ms": self.estimated_latency_ms(),  # at zero wait states
                "estimated_latency_ms_zero_wait": self.estimated_latency_ms(),
                "estimated_latency_ms_with_flash": self.estimated_latency_ms_with_flash(),
                "model_code_bytes": self.model_code_bytes,
                "constants": self.constants, "sram_constants_bytes": self.sram_constants_bytes,
                "instructions": self.instructions, "macs": self.macs,
                "instructions_per_mac": self.instructions_per_mac, "resolution_instructions": self.instructions_per_tick,
                "clock_hz": self.clock_hz, "estimated_latency_ms_at_1_ipc": self.latency_ms,
                "kernel_code_bytes": self.kernel_code_bytes, "runs": list(self.runs),
                "layers": [layer.as_json() for layer in self.layers]}


def build_bench_firmware(planned: Planned, folder: Path, sample: np.ndarray, *, portable: bool,
                         cmsis_nn_dir: Path | None = None) -> BuildResult:
    """cmsis_nn_dir: build against that CMSIS-NN checkout (its Include/ and Source/) instead of tinyc's own
    implementation of the CMSIS-NN API; tinyc's in-place kernels still come from tinyc."""
    if cmsis_nn_dir is not None and not (cmsis_nn_dir / "Include" / "arm_nnfunctions.h").is_file():
        raise EmulatorError(f"{cmsis_nn_dir} is not a CMSIS-NN checkout (no Include/arm_nnfunctions.h)")
    return build_firmware(planned, folder, [sample], harness=Harness.BENCH,
                          cmsis_nn=cmsis_nn_dir.resolve() if cmsis_nn_dir is not None else None,
                          cflags=(PORTABLE_FLAG,) if portable else ())


LINKED_MARKER = "Linker script and memory map"  # GNU ld's map: what was linked follows this line


def _from(source: str, objects: str) -> bool:
    """Whether a map line's input file is one of `objects`: a path prefix, or for the kernel objects also a member
    of the cached kernel archive (`.../tinyc-kernels-KEY.a(file.o)`, tinyc.run.kernel_cache)."""
    if source.startswith(objects):
        return True
    archive = source.split("(", 1)[0]
    return objects == KERNEL_OBJECT_DIR and (Path(archive).name.startswith(kernel_cache.ARCHIVE_PREFIX) or
                                             archive.endswith(kernel_cache.ARCHIVE_IN_PROJECT))


def kernel_code_bytes(folder: Path, objects: str = KERNEL_OBJECT_DIR) -> int:
    """Bytes of code the kernel objects (or other objects by path prefix) contribute to the linked ELF (from the
    linker map's memory map: the sections it lists first, under "Discarded input sections", are not counted)."""
    total = 0
    lines = (folder / "firmware.map").read_text().splitlines()
    linked = next((i for i, line in enumerate(lines) if line.startswith(LINKED_MARKER)), len(lines))
    for i, line in enumerate(lines):
        if i <= linked:
            continue
        parts = line.split()
        # ` .text.fn  0xADDR  0xSIZE obj/kernels/x.o`, the section name alone on the previous line when long
        if len(parts) == 3 and i > 0 and lines[i - 1].strip().startswith(".text") and len(lines[i - 1].split()) == 1:
            parts = [lines[i - 1].strip(), *parts]
        if len(parts) == 4 and parts[0].startswith(".text") and _from(parts[3], objects):
            total += int(parts[2], 16)
    return total


def layer_table(planned: Planned, step_instructions: tuple[int, ...],
                step_cycles: tuple[float, ...] | None = None,
                step_cycles_with_flash: tuple[float, ...] | None = None) -> tuple[LayerBench, ...]:
    """Steps grouped by op and kind, in order of each group's first step: a patch schedule's block copies
    (input patches, crops, output tiles) are rows of their own, so every instruction is charged to the
    kernel that spent it."""
    layers = {c.op_index: c.layer for c in planned.lowered.calls}
    order: list[tuple[int, str]] = []
    acc: dict[tuple[int, str], list[Any]] = {}
    cycles = step_cycles or tuple(0.0 for _ in step_instructions)
    flash = step_cycles_with_flash or tuple(0.0 for _ in step_instructions)
    for step, instructions, step_cyc, step_flash in zip(planned.schedule.steps, step_instructions, cycles, flash,
                                                        strict=True):
        call = step.call
        key = (call.op_index, call.kind.value)
        if key not in acc:
            order.append(key)
            name = layers.get(call.op_index, call.layer)
            acc[key] = [f"patch copies for {name}" if call.kind.value == "copy" else call.layer, 0, 0, 0, 0.0, 0.0]
        entry = acc[key]
        entry[1] += 1
        entry[2] += instructions
        entry[3] += call.macs
        entry[4] += step_cyc
        entry[5] += step_flash
    return tuple(LayerBench(op_index=k[0], name=acc[k][0], op=k[1], steps=acc[k][1], instructions=acc[k][2],
                            macs=acc[k][3], estimated_cycles=acc[k][4] if step_cycles else None,
                            estimated_cycles_with_flash=acc[k][5] if step_cycles_with_flash else None)
                 for k in order)


def profile_address(elf: Path) -> int:
    """Where tinyc_profile_step starts (the bench harness's step hook), Thumb bit cleared."""
    symbols = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True).stdout
    for line in symbols.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] == PROFILE_SYMBOL:
            return int(parts[0], 16) & ~1
    raise EmulatorError(f"{elf.name} has no {PROFILE_SYMBOL}: not a bench-harness build")


def bench_planned(planned: Planned, *, portable: bool = False, seed: int = 0, folder: Path | None = None,
                  cmsis_nn_dir: Path | None = None, cycles: bool = False) -> BenchResult:
    """cycles: also estimate cycles (a second, traced QEMU run: tinyc/run/cycles.py)."""
    sample = input_samples(planned, 1, seed=seed)[0]
    estimate: CycleEstimate | None = None
    with tempfile.TemporaryDirectory(prefix="tinyc-bench-") as tmp:
        work = folder or Path(tmp) / "firmware"
        built = build_bench_firmware(planned, work, sample, portable=portable, cmsis_nn_dir=cmsis_nn_dir)
        raw = bench_qemu(planned.board, built.elf)
        code_bytes = kernel_code_bytes(work)
        model_bytes = kernel_code_bytes(work, MODEL_OBJECT)
        if cycles:
            estimate = estimate_cycles(planned.board, built.elf, profile_address(built.elf),
                                       len(planned.schedule.steps))
    # The inferences of one firmware run start at slightly different phases of a tick (the wait for a
    # tick edge polls in a few-instruction loop), so their quantized counts may differ by one tick.
    totals = [run[0] for run in raw.runs]
    if max(totals) - min(totals) > 1:
        raise EmulatorError(f"{planned.loaded.name}: the instruction counts differ between inferences of the same "
                            f"input: {[round(run[0] * raw.instructions_per_tick) for run in raw.runs]}")
    first = raw.runs[0]
    per_tick = raw.instructions_per_tick
    steps = tuple(round(t * per_tick) for t in first[1:])
    return BenchResult(model=planned.loaded.name, board=planned.board.name, clock_hz=planned.board.clock_hz,
                       kernels="cmsis-nn" if cmsis_nn_dir is not None else "portable" if portable else "optimized",
                       instructions=round(first[0] * per_tick),
                       instructions_per_tick=int(per_tick) if per_tick.denominator == 1 else float(per_tick),
                       macs=planned.schedule.macs,
                       layers=layer_table(planned, steps, estimate.steps if estimate else None,
                                          estimate.steps_with_flash if estimate else None),
                       runs=tuple(round(r[0] * per_tick) for r in raw.runs),
                       kernel_code_bytes=code_bytes, output=raw.output, cycles=estimate, model_code_bytes=model_bytes,
                       constants=planned.constants.policy.value, sram_constants_bytes=planned.constants.sram_bytes)


def bench(model_path: Path, board_name: BoardRef, *, portable: bool = False, seed: int = 0,
          options: ScheduleOptions = ScheduleOptions(), folder: Path | None = None,
          cmsis_nn_dir: Path | None = None, cycles: bool = False, calibration: Path | None = None) -> BenchResult:
    """Instructions per inference of `model_path` on `board_name` in QEMU (icount), total and per layer."""
    planned = plan_model(model_path, board_name, options=options, calibration=calibration)
    return bench_planned(planned, portable=portable, seed=seed, folder=folder, cmsis_nn_dir=cmsis_nn_dir,
                         cycles=cycles)
