"""The memory report a user reads before flashing: per layer and in total, against the board."""

from __future__ import annotations

from dataclasses import dataclass, field

from tinyc.boards import Board
from tinyc.build import ElfSizes
from tinyc.lower import KernelKind, LoweredModel
from tinyc.planner import MemoryPlan

# Before linking, code size is estimated: the generated model code plus the kernels it calls.
CODE_ESTIMATE_BYTES = 24 * 1024
# Runtime statics besides the arena (harness buffers, libc state), estimated before linking.
STATICS_ESTIMATE_BYTES = 1024


@dataclass(frozen=True)
class LayerRow:
    step: int
    op_index: int
    op: str
    layer: str
    output_shape: tuple[int, ...]
    macs: int
    weights_bytes: int
    live_activation_bytes: int  # activation tensors live during this step
    scratch_bytes: int


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

    @property
    def peak_sram_bytes(self) -> int:
        return self.arena_bytes + self.stack_bytes + self.statics_bytes

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
        return max(self.layers, key=lambda r: r.live_activation_bytes + r.scratch_bytes).step if self.layers else 0

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
            tips.append(f"the peak is at op {peak.op_index} ({peak.layer}): lower the input resolution or the width "
                        "of the early layers, or use a board with more SRAM")
        if self.flash_over_bytes > 0:
            tips.append("fewer parameters (a smaller width multiplier, fewer channels in the last stages) or a "
                        "board with more flash")
        return "; ".join(tips)

    def as_json(self) -> dict:
        return {
            "board": self.board.name, "model": self.model_name, "macs": self.macs,
            "peak_sram_bytes": self.peak_sram_bytes, "arena_bytes": self.arena_bytes,
            "stack_bytes": self.stack_bytes, "statics_bytes": self.statics_bytes,
            "weights_bytes": self.weights_bytes, "code_bytes": self.code_bytes, "flash_bytes": self.flash_bytes,
            "sram_limit_bytes": self.board.sram.size_bytes, "flash_limit_bytes": self.board.flash.size_bytes,
            "fits": self.fits, "measured": self.measured, "tflm_arena_bytes": self.tflm_arena_bytes,
            "verdict": self.verdict(), "notes": list(self.notes),
            "layers": [{"step": r.step, "op_index": r.op_index, "op": r.op, "layer": r.layer,
                        "output_shape": list(r.output_shape), "macs": r.macs, "weights_bytes": r.weights_bytes,
                        "live_activation_bytes": r.live_activation_bytes, "scratch_bytes": r.scratch_bytes}
                       for r in self.layers],
        }


def memory_report(model: LoweredModel, plan: MemoryPlan, board: Board, *, model_name: str,
                  sizes: ElfSizes | None = None, tflm_arena_bytes: int | None = None,
                  notes: tuple[str, ...] = ()) -> MemoryReport:
    graph = model.graph
    rows = []
    for step, call in enumerate(model.calls):
        live = sum(b.size_bytes for b in plan.buffers if b.tensors and b.first_step <= step <= b.last_step)
        scratch = plan.scratch(step)
        rows.append(LayerRow(step=step, op_index=call.op_index, op=call.kind.value, layer=call.layer,
                             output_shape=graph.tensor(call.output).shape, macs=call.macs,
                             weights_bytes=call.weights_bytes, live_activation_bytes=live,
                             scratch_bytes=scratch.size_bytes if scratch else 0))
    if sizes is None:
        code, statics = CODE_ESTIMATE_BYTES, STATICS_ESTIMATE_BYTES
    else:
        code = sizes.flash_bytes - model.weights_bytes
        statics = sizes.data_bytes + sizes.bss_bytes - plan.arena_bytes
    return MemoryReport(board=board, model_name=model_name, layers=tuple(rows), macs=model.macs,
                        arena_bytes=plan.arena_bytes, weights_bytes=model.weights_bytes, stack_bytes=board.stack_bytes,
                        statics_bytes=statics, code_bytes=code, measured=sizes is not None,
                        tflm_arena_bytes=tflm_arena_bytes, notes=notes)


__all__ = ["MemoryReport", "LayerRow", "memory_report", "KernelKind"]
