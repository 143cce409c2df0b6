"""Benchmark: instructions per inference in QEMU, in total and per layer, deterministic run to run.

QEMU runs with ``-icount shift=0``: the virtual clock advances one nanosecond per executed
instruction, and SysTick (on the mps2 machines' 25 MHz processor clock) then counts one tick per
40 instructions, whatever the host's speed. The bench harness (``firmware_templates/bench/harness.c.j2``) counts
SysTick's 24-bit wraps with its interrupt, times every schedule step through the ``TINYC_PROFILE``
hook of ``model.c``, and calibrates instructions per tick with a loop of known length. Counts are
instructions, not cycles: QEMU models no pipeline, caches, flash wait states or multi-cycle
instructions, so a latency estimate at the board clock assumes one cycle per instruction.
"""

from __future__ import annotations

from typing import Any

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyc.boards import BoardRef
from tinyc.codegen.render import PORTABLE_FLAG, Harness
from tinyc.errors import EmulatorError
from tinyc.plan.pipeline import Planned, input_samples, plan_model
from tinyc.plan.search import ScheduleOptions
from tinyc.run.build import BuildResult
from tinyc.run.firmware import build_firmware
from tinyc.run.qemu import bench_qemu

KERNEL_OBJECT_DIR = "obj/kernels"


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

    @property
    def instructions_per_mac(self) -> float | None:
        return self.instructions / self.macs if self.macs else None

    def as_json(self) -> dict[str, Any]:
        return {"op_index": self.op_index, "name": self.name, "op": self.op, "steps": self.steps,
                "instructions": self.instructions, "macs": self.macs,
                "instructions_per_mac": self.instructions_per_mac}


@dataclass(frozen=True)
class BenchResult:
    model: str
    board: str
    clock_hz: int
    kernels: str  # "optimized", "portable" or "cmsis-nn" (a real CMSIS-NN checkout)
    instructions: int  # one inference, from the harness's call of tinyc_invoke()
    instructions_per_tick: int  # the resolution: every count is a multiple of it
    macs: int
    layers: tuple[LayerBench, ...]
    runs: tuple[int, ...]  # instructions of every inference in the firmware run (within one tick)
    kernel_code_bytes: int  # .text of the kernel objects linked into the ELF
    output: np.ndarray  # the model's output for the benchmarked input

    @property
    def instructions_per_mac(self) -> float | None:
        return self.instructions / self.macs if self.macs else None

    @property
    def latency_ms(self) -> float:
        """At the board clock, assuming one cycle per instruction (QEMU's icount is not a cycle count)."""
        return self.instructions / self.clock_hz * 1e3

    def as_json(self) -> dict[str, Any]:
        return {"model": self.model, "board": self.board, "kernels": self.kernels,
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


def kernel_code_bytes(folder: Path) -> int:
    """Bytes of code the kernel objects contribute to the linked ELF (from the linker map)."""
    total = 0
    lines = (folder / "firmware.map").read_text().splitlines()
    for i, line in enumerate(lines):
        parts = line.split()
        # ` .text.fn  0xADDR  0xSIZE obj/kernels/x.o`, the section name alone on the previous line when long
        if len(parts) == 3 and i > 0 and lines[i - 1].strip().startswith(".text") and len(lines[i - 1].split()) == 1:
            parts = [lines[i - 1].strip(), *parts]
        if len(parts) == 4 and parts[0].startswith(".text") and parts[3].startswith(KERNEL_OBJECT_DIR):
            total += int(parts[2], 16)
    return total


def layer_table(planned: Planned, step_instructions: tuple[int, ...]) -> tuple[LayerBench, ...]:
    """Steps grouped by op and kind, in order of each group's first step: a patch schedule's block copies
    (input patches, crops, output tiles) are rows of their own, so every instruction is charged to the
    kernel that spent it."""
    layers = {c.op_index: c.layer for c in planned.lowered.calls}
    order: list[tuple[int, str]] = []
    acc: dict[tuple[int, str], list[Any]] = {}
    for step, instructions in zip(planned.schedule.steps, step_instructions, strict=True):
        call = step.call
        key = (call.op_index, call.kind.value)
        if key not in acc:
            order.append(key)
            name = layers.get(call.op_index, call.layer)
            acc[key] = [f"patch copies for {name}" if call.kind.value == "copy" else call.layer, 0, 0, 0]
        entry = acc[key]
        entry[1] += 1
        entry[2] += instructions
        entry[3] += call.macs
    return tuple(LayerBench(op_index=k[0], name=acc[k][0], op=k[1], steps=acc[k][1], instructions=acc[k][2],
                            macs=acc[k][3]) for k in order)


def bench_planned(planned: Planned, *, portable: bool = False, seed: int = 0, folder: Path | None = None,
                  cmsis_nn_dir: Path | None = None) -> BenchResult:
    sample = input_samples(planned, 1, seed=seed)[0]
    with tempfile.TemporaryDirectory(prefix="tinyc-bench-") as tmp:
        work = folder or Path(tmp) / "firmware"
        built = build_bench_firmware(planned, work, sample, portable=portable, cmsis_nn_dir=cmsis_nn_dir)
        raw = bench_qemu(planned.board, built.elf)
        code_bytes = kernel_code_bytes(work)
    # The inferences of one firmware run start at slightly different phases of a tick (the wait for a
    # tick edge polls in a few-instruction loop), so their quantized counts may differ by one tick.
    totals = [run[0] for run in raw.runs]
    if max(totals) - min(totals) > 1:
        raise EmulatorError(f"{planned.loaded.name}: the instruction counts differ between inferences of the same "
                            f"input: {[run[0] * raw.instructions_per_tick for run in raw.runs]}")
    first = raw.runs[0]
    steps = tuple(t * raw.instructions_per_tick for t in first[1:])
    return BenchResult(model=planned.loaded.name, board=planned.board.name, clock_hz=planned.board.clock_hz,
                       kernels="cmsis-nn" if cmsis_nn_dir is not None else "portable" if portable else "optimized",
                       instructions=first[0] * raw.instructions_per_tick,
                       instructions_per_tick=raw.instructions_per_tick, macs=planned.schedule.macs,
                       layers=layer_table(planned, steps), runs=tuple(r[0] * raw.instructions_per_tick for r in raw.runs),
                       kernel_code_bytes=code_bytes, output=raw.output)


def bench(model_path: Path, board_name: BoardRef, *, portable: bool = False, seed: int = 0,
          options: ScheduleOptions = ScheduleOptions(), folder: Path | None = None,
          cmsis_nn_dir: Path | None = None) -> BenchResult:
    """Instructions per inference of `model_path` on `board_name` in QEMU (icount), total and per layer."""
    planned = plan_model(model_path, board_name, options=options)
    return bench_planned(planned, portable=portable, seed=seed, folder=folder, cmsis_nn_dir=cmsis_nn_dir)
