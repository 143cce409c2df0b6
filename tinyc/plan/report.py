"""The memory report a user reads before flashing: per layer and in total, against the board."""

from __future__ import annotations

from typing import Any

from dataclasses import dataclass, field

from tinyc.boards import Board
from tinyc.frontend.weights import WeightPrecision
from tinyc.ir.lower import KernelKind
from tinyc.plan.placement import MemoryPlan
from tinyc.plan.schedule import Schedule, ScheduleKind

# Before linking, code size is estimated from above (the fit check must not be optimistic): startup,
# harness and the convolution / pooling / softmax kernels, the depthwise kernels when used, and one
# step function per schedule step. Checked against the ELF by tests/test_emulator_models.py.
CODE_BASE_BYTES = 24 * 1024  # DSP kernels: 1x1 / im2col convolution from int16 columns, in place too
CODE_DEPTHWISE_BYTES = 32 * 1024  # 4-channel depthwise (3x3 / 5x5 / any, out of place and in place) and 1-channel
CODE_PER_STEP_BYTES = 160
# Runtime statics besides the arena (harness buffers, libc state), estimated before linking.
STATICS_ESTIMATE_BYTES = 1024


@dataclass(frozen=True)
class ElfSizes:
    """Section sizes of the linked firmware, from the linker map."""
    text_bytes: int  # code + read-only data incl. weights (flash)
    data_bytes: int  # initialised data (flash and SRAM)
    bss_bytes: int  # zeroed data incl. the arena (SRAM)
    stack_bytes: int  # the reserved stack (SRAM)

    @property
    def flash_bytes(self) -> int:
        return self.text_bytes + self.data_bytes

    @property
    def sram_bytes(self) -> int:
        return self.data_bytes + self.bss_bytes + self.stack_bytes


def arena_limit_bytes(board: Board) -> int:
    """The arena a board can hold: its SRAM less the reserved stack and the runtime statics estimate (the one
    SRAM budget of tinyc: the schedule search plans to it, the report checks against the same sum)."""
    return board.sram.size_bytes - board.stack_bytes - STATICS_ESTIMATE_BYTES


@dataclass(frozen=True)
class Candidate:
    """One schedule the search considered."""
    kind: ScheduleKind
    split: int | None
    grid: tuple[int, int] | None
    arena_bytes: int
    macs: int
    mac_overhead: float
    stages: str = ""  # fused / staged schedules: each stage as START-END:BANDSxCOLUMNS (halo rows cached)

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "split": self.split, "grid": list(self.grid) if self.grid else None,
                "stages": self.stages or None, "arena_bytes": self.arena_bytes,
                "mac_overhead": round(self.mac_overhead, 4)}


@dataclass(frozen=True)
class ScheduleSummary:
    """The chosen schedule, what it costs against per-layer, and every candidate considered."""
    kind: ScheduleKind
    split: int | None = None
    grid: tuple[int, int] | None = None
    mac_overhead: float = 0.0
    per_layer_peak_bytes: int | None = None
    patch_peak_bytes: int | None = None
    input_patch: tuple[int, int] | None = None
    input_streamed: bool = False
    stage_mac_overhead: float | None = None
    candidates: tuple[Candidate, ...] = ()
    reason: str = ""  # why the search chose it, in one line

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "split": self.split, "grid": list(self.grid) if self.grid else None,
                "mac_overhead": round(self.mac_overhead, 4), "per_layer_peak_bytes": self.per_layer_peak_bytes,
                "patch_peak_bytes": self.patch_peak_bytes,
                "input_patch": list(self.input_patch) if self.input_patch else None,
                "input": "streamed" if self.input_streamed else "in arena",
                "stage_mac_overhead": round(self.stage_mac_overhead, 4) if self.stage_mac_overhead is not None else None,
                "candidates": [c.as_json() for c in self.candidates], "reason": self.reason}


@dataclass(frozen=True)
class LayerRow:
    step: int
    op_index: int
    op: str
    layer: str
    output_shape: tuple[int, ...]
    macs: int
    weights_bytes: int
    live_activation_bytes: int  # activation buffers live during this op (the most over its patches)
    scratch_bytes: int
    patch_shape: tuple[int, ...] | None = None  # the largest output tile, for ops of a patch stage


@dataclass(frozen=True)
class MemoryReport:
    board: Board
    model_name: str
    layers: tuple[LayerRow, ...]
    macs: int
    arena_bytes: int
    weights_bytes: int
    stack_bytes: int
    statics_bytes: int
    code_bytes: int
    measured: bool  # code and statics from the linked ELF (True) or estimated (False)
    tflm_arena_bytes: int | None = None
    notes: tuple[str, ...] = field(default=())
    schedule: str = "per-layer"
    schedule_summary: ScheduleSummary = field(default=ScheduleSummary(ScheduleKind.PER_LAYER), compare=False)
    measured_stack_bytes: int | None = None
    live_peak_bytes: int = 0  # the most activation and scratch bytes live at one step: no placement needs less
    sram_constants_bytes: int = 0  # constants copied to SRAM at start-up (tinyc/plan/constants.py); also in flash
    weight_precision: WeightPrecision | None = None  # `--weights int4`: each weighted layer's precision

    @property
    def int8_weights_bytes(self) -> int:
        """The weights' flash with every weight tensor int8 (the same biases and requantization constants)."""
        return self.weights_bytes + (self.weight_precision.saved_bytes if self.weight_precision else 0)

    @property
    def peak_sram_bytes(self) -> int:
        return self.arena_bytes + self.stack_bytes + self.statics_bytes + self.sram_constants_bytes

    @property
    def flash_bytes(self) -> int:
        return self.weights_bytes + self.code_bytes

    @property
    def sram_over_bytes(self) -> int:
        return self.peak_sram_bytes - self.board.sram.size_bytes

    @property
    def flash_over_bytes(self) -> int:
        return self.flash_bytes - self.board.flash.size_bytes

    @property
    def fits(self) -> bool:
        return self.sram_over_bytes <= 0 and self.flash_over_bytes <= 0

    @property
    def peak_step(self) -> int:
        return max(range(len(self.layers)), key=lambda i: self.layers[i].live_activation_bytes + self.layers[i].scratch_bytes) if self.layers else 0

    def verdict(self) -> str:
        sram = f"SRAM {self.peak_sram_bytes:,} / {self.board.sram.size_bytes:,} B"
        flash = f"flash {self.flash_bytes:,} / {self.board.flash.size_bytes:,} B"
        if self.fits:
            return f"fits {self.board.name}: {sram} ({100 * self.peak_sram_bytes / self.board.sram.size_bytes:.0f}%), " \
                   f"{flash} ({100 * self.flash_bytes / self.board.flash.size_bytes:.0f}%)"
        problems = []
        if self.sram_over_bytes > 0:
            problems.append(f"SRAM by {self.sram_over_bytes:,} bytes ({sram})")
        if self.flash_over_bytes > 0:
            problems.append(f"flash by {self.flash_over_bytes:,} bytes ({flash})")
        return f"does NOT fit {self.board.name}: over {' and '.join(problems)}; {self.advice()}"

    def advice(self) -> str:
        tips = []
        if self.sram_over_bytes > 0:
            peak = self.layers[self.peak_step]
            kind = self.schedule_summary.kind
            if kind is ScheduleKind.PER_LAYER:
                tips.append("run the early layers patch by patch (--schedule patch, or a larger --mac-budget)")
            elif kind is ScheduleKind.PATCH and not self.schedule_summary.input_streamed:
                tips.append("stream the input frame patch by patch instead of keeping it in SRAM (--stream-input)")
            tips.append(f"the peak is at op {peak.op_index} ({peak.layer}): lower the input resolution or the width "
                        "of the early layers, or use a board with more SRAM")
        if self.flash_over_bytes > 0:
            tips.append("fewer parameters (a smaller width multiplier, fewer channels in the last stages) or a "
                        "board with more flash")
        return "; ".join(tips)

    def as_json(self) -> dict[str, Any]:
        return {
            "board": self.board.name, "model": self.model_name, "macs": self.macs,
            "peak_sram_bytes": self.peak_sram_bytes, "arena_bytes": self.arena_bytes,
            "stack_bytes": self.stack_bytes, "statics_bytes": self.statics_bytes,
            "sram_constants_bytes": self.sram_constants_bytes,
            "weights_bytes": self.weights_bytes, "code_bytes": self.code_bytes, "flash_bytes": self.flash_bytes,
            "sram_limit_bytes": self.board.sram.size_bytes, "flash_limit_bytes": self.board.flash.size_bytes,
            "fits": self.fits, "measured": self.measured, "tflm_arena_bytes": self.tflm_arena_bytes,
            "verdict": self.verdict(), "notes": list(self.notes), "schedule": self.schedule_summary.as_json(),
            "measured_stack_bytes": self.measured_stack_bytes, "live_peak_bytes": self.live_peak_bytes,
            "weight_precision": None if self.weight_precision is None else {
                **self.weight_precision.as_json(), "weights_bytes_int8": self.int8_weights_bytes},
            "layers": [{"step": r.step, "op_index": r.op_index, "op": r.op, "layer": r.layer,
                        "output_shape": list(r.output_shape), "macs": r.macs, "weights_bytes": r.weights_bytes,
                        "live_activation_bytes": r.live_activation_bytes, "scratch_bytes": r.scratch_bytes,
                        "patch_shape": list(r.patch_shape) if r.patch_shape else None}
                       for r in self.layers],
        }


def memory_report(schedule: Schedule, plan: MemoryPlan, board: Board, *, model_name: str,
                  sizes: ElfSizes | None = None, tflm_arena_bytes: int | None = None,
                  notes: tuple[str, ...] = (), schedule_summary: ScheduleSummary | None = None,
                  measured_stack_bytes: int | None = None, extra_code_bytes: int = 0,
                  sram_constants_bytes: int = 0, weight_precision: WeightPrecision | None = None) -> MemoryReport:
    graph = schedule.graph
    groups: dict[int, list[int]] = {}
    for step, s in enumerate(schedule.steps):
        groups.setdefault(s.call.op_index, []).append(step)
    rows = []
    for op_index, steps in groups.items():
        calls = [schedule.steps[i].call for i in steps]
        main = next((c for c in calls if c.kind is not KernelKind.COPY), calls[0])
        tiles = [c for c in calls if c.kind is not KernelKind.COPY and c.output not in graph_ids(schedule)]
        patch_shape = None
        if tiles:
            patch_shape = max((tuple(schedule.buffer_shape(c.output)) for c in tiles), key=lambda t: (t[1] * t[2], t))
        rows.append(LayerRow(step=steps[0], op_index=op_index, op=main.kind.value, layer=main.layer,
                             output_shape=graph.tensor(graph.ops[op_index].outputs[0]).shape,
                             macs=sum(c.macs for c in calls), weights_bytes=main.weights_bytes,
                             live_activation_bytes=max(plan.live_bytes(i, include_scratch=False) for i in steps),
                             scratch_bytes=max(_scratch_bytes(plan, i) for i in steps),
                             patch_shape=patch_shape))
    if sizes is None:  # extra_code_bytes: what the estimate does not know (the specialized kernels' layouts)
        code, statics = code_estimate_bytes(schedule) + extra_code_bytes, STATICS_ESTIMATE_BYTES
    else:
        code = sizes.flash_bytes - schedule.weights_bytes
        statics = sizes.data_bytes + sizes.bss_bytes - plan.arena_bytes - sram_constants_bytes
    return MemoryReport(board=board, model_name=model_name, layers=tuple(rows), macs=schedule.macs,
                        arena_bytes=plan.arena_bytes, weights_bytes=schedule.weights_bytes, stack_bytes=board.stack_bytes,
                        statics_bytes=statics, code_bytes=code, measured=sizes is not None,
                        tflm_arena_bytes=tflm_arena_bytes, notes=notes, schedule=schedule.describe(),
                        schedule_summary=schedule_summary or ScheduleSummary(schedule.kind),
                        measured_stack_bytes=measured_stack_bytes,
                        live_peak_bytes=max((plan.live_bytes(i) for i in range(plan.steps)), default=0),
                        sram_constants_bytes=sram_constants_bytes, weight_precision=weight_precision)


def _scratch_bytes(plan: MemoryPlan, step: int) -> int:
    scratch = plan.scratch(step)
    return scratch.size_bytes if scratch is not None else 0


def code_estimate_bytes(schedule: Schedule) -> int:
    depthwise = any(s.call.kind is KernelKind.DEPTHWISE_CONV for s in schedule.steps)
    return CODE_BASE_BYTES + (CODE_DEPTHWISE_BYTES if depthwise else 0) + CODE_PER_STEP_BYTES * len(schedule.steps)


def graph_ids(schedule: Schedule) -> range:
    return range(len(schedule.graph.tensors))


__all__ = ["MemoryReport", "LayerRow", "memory_report", "KernelKind"]
