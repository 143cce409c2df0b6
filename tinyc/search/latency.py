"""An estimated latency per inference from the plan alone: no firmware, no emulator.

Per op: MACs x instructions per MAC of the op's kernel (tinyc's optimized kernels on the STM32F412, the per-op table
of BENCHMARKS.md), plus output elements x instructions per element for ops without MACs; the sum times the core's
cycles per instruction (BENCHMARKS.md: estimated cycles / instructions of the zoo models), divided by the clock. It is
an ESTIMATE (a rough proxy to rank candidates, typically within +-30% of `tinyc bench`'s QEMU-measured figure); it
is labelled so wherever it is shown. `tinyc bench` measures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tinyc.boards import Board
from tinyc.ir.lower import KernelKind
from tinyc.plan.report import MemoryReport

# Instructions per MAC of tinyc's optimized kernels (BENCHMARKS.md, per-op table, stm32f412: conv 1.2-1.9,
# depthwise 2.5-2.7, fully connected 2.3-3.0): the middle of each range.
INSTRUCTIONS_PER_MAC: dict[KernelKind, float] = {
    KernelKind.CONV: 1.7,
    KernelKind.DEPTHWISE_CONV: 2.6,
    KernelKind.FULLY_CONNECTED: 2.7,
}
# Ops without MACs: instructions per output element (int8 elementwise and pooling kernels); anything not listed
# costs DEFAULT_INSTRUCTIONS_PER_ELEMENT.
INSTRUCTIONS_PER_ELEMENT: dict[KernelKind, float] = {
    KernelKind.ADD: 8.0,
    KernelKind.MEAN: 4.0,
    KernelKind.AVGPOOL: 12.0,
    KernelKind.MAXPOOL: 12.0,
    KernelKind.SOFTMAX: 500.0,
    KernelKind.RESHAPE: 0.0,
}
DEFAULT_INSTRUCTIONS_PER_ELEMENT = 8.0
DEFAULT_INSTRUCTIONS_PER_MAC = 2.5  # an op with MACs not in the table (transposed convolution, LSTM)
# Estimated cycles per instruction of the same runs (BENCHMARKS.md: 1,880,276 / 1,308,600 on the F412's Cortex-M4;
# 1,345,472 / 1,298,400 on the H743's Cortex-M7, single issue).
CYCLES_PER_INSTRUCTION: dict[str, float] = {"cortex-m4": 1.44, "cortex-m7": 1.04}


@dataclass(frozen=True)
class LatencyEstimate:
    """Estimated instructions, cycles and milliseconds per inference (see the module docstring: an estimate)."""
    instructions: float
    cycles: float
    clock_hz: int

    @property
    def ms(self) -> float:
        return 1000.0 * self.cycles / self.clock_hz

    def as_json(self) -> dict[str, float | str]:
        return {"estimated_instructions": round(self.instructions), "estimated_cycles": round(self.cycles),
                "estimated_ms": round(self.ms, 3), "latency_kind": "estimate (MACs x per-op instructions/MAC table)"}


def estimate_latency(report: MemoryReport, board: Board) -> LatencyEstimate:
    """The estimate for the planned schedule's ops (a patch stage's recomputed halo MACs are in its rows' MACs)."""
    instructions = 0.0
    for row in report.layers:
        kind = KernelKind(row.op)
        if kind in INSTRUCTIONS_PER_MAC:
            instructions += row.macs * INSTRUCTIONS_PER_MAC[kind]
        elif row.macs > 0:
            instructions += row.macs * DEFAULT_INSTRUCTIONS_PER_MAC
        else:
            per_element = INSTRUCTIONS_PER_ELEMENT.get(kind, DEFAULT_INSTRUCTIONS_PER_ELEMENT)
            instructions += math.prod(row.output_shape) * per_element
    cycles = instructions * CYCLES_PER_INSTRUCTION[board.cpu]
    return LatencyEstimate(instructions=instructions, cycles=cycles, clock_hz=board.clock_hz)
