"""The planning half of the pipeline, top to bottom: model file → graph → kernel calls → schedule → memory plan.

`Planned` is the product every later stage (code generation, firmware, emulators, comparison) starts from; no
toolchain is needed to make it. Every stage is followed by its check: the reader validates the graph, lowering
checks the support rules, `verify_plan` re-derives every buffer's lifetime independently.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tinyc.boards import Board, BoardRef, get_board
from tinyc.frontend.loader import LoadedModel, load_model
from tinyc.frontend.weights import WeightOptions, WeightPrecision
from tinyc.ir.graph import Graph
from tinyc.ir.lower import LoweredModel, lower
from tinyc.ir.reader import name_output, read_tflite
from tinyc.plan.constants import ConstantsPlacement, place_constants
from tinyc.plan.placement import MemoryPlan
from tinyc.plan.report import ElfSizes, MemoryReport, memory_report
from tinyc.plan.schedule import Schedule
from tinyc.plan.specialize import KernelChoice, choose_kernels, extra_flash_bytes
from tinyc.plan.search import SRAM_HEADROOM_FRACTION, ScheduleOptions, choose_schedule
from tinyc.plan.verify_plan import verify_plan
from tinyc.progress import Step, step


@dataclass(frozen=True)
class Planned:
    loaded: LoadedModel
    graph: Graph
    lowered: LoweredModel
    schedule: Schedule
    plan: MemoryPlan
    board: Board
    report: MemoryReport
    options: ScheduleOptions = ScheduleOptions()  # what the schedule search was asked
    # The kernel each step runs (specialize.choose_kernels), chosen once by the plan (its flash is in the report)
    # and carried to code generation; with the schedule and board it was chosen for.
    chosen_kernels: tuple[Schedule, Board, tuple[KernelChoice, ...]] | None = None
    constants: ConstantsPlacement = ConstantsPlacement()  # the constant arrays copied to SRAM at start-up

    @property
    def kernels(self) -> tuple[KernelChoice, ...]:
        """The kernel choice of every step: the plan's own, or chosen again for a schedule or board put in its
        place (dataclasses.replace)."""
        if self.chosen_kernels is not None:
            schedule, board, choices = self.chosen_kernels
            if schedule is self.schedule and board == self.board:
                return choices
        return choose_kernels(self.schedule, self.board)

    def measured_report(self, sizes: ElfSizes, *, notes: tuple[str, ...] = (),
                        measured_stack_bytes: int | None = None) -> MemoryReport:
        """The memory report again with the linked ELF's sizes (and the emulator's stack), for this plan."""
        return memory_report(self.schedule, self.plan, self.board, model_name=self.loaded.name, sizes=sizes,
                             notes=notes, measured_stack_bytes=measured_stack_bytes,
                             schedule_summary=self.report.schedule_summary,
                             sram_constants_bytes=self.constants.sram_bytes, weight_precision=self.loaded.weights)


def plan_model(model_path: Path, board_name: BoardRef, *, options: ScheduleOptions = ScheduleOptions(),
               calibration: Path | None = None, weights: WeightOptions = WeightOptions()) -> Planned:
    """Front end, lowering, scheduling and planning, with every stage's check; no toolchain needed. `calibration`:
    a .npy / .npz file of calibration samples for a .keras or .py model (tinyc.frontend.calibration); `weights`:
    int4 weights (tinyc.frontend.weights)."""
    get_board(board_name)  # an unknown board is refused before the model is built
    return plan_loaded(load_model(model_path, calibration=calibration, weights=weights), board_name, options=options)


def plan_loaded(loaded: LoadedModel, board_name: BoardRef | Board, *,
                options: ScheduleOptions = ScheduleOptions()) -> Planned:
    """Lowering, scheduling and planning of an already loaded model."""
    board = board_name if isinstance(board_name, Board) else get_board(board_name)
    with step(Step.PLAN, f"{loaded.name} for {board.name}"):
        return _plan(loaded, board, options)


def _plan(loaded: LoadedModel, board: Board, options: ScheduleOptions) -> Planned:
    graph = name_output(read_tflite(loaded.tflite), loaded.output_layer)
    lowered, schedule, plan, kernels, constants, report = _plan_graph(graph, board, options, name=loaded.name,
                                                                      notes=loaded.notes,
                                                                      weight_precision=loaded.weights)
    return Planned(loaded=loaded, graph=graph, lowered=lowered, schedule=schedule, plan=plan, board=board,
                   report=report, options=options, chosen_kernels=(schedule, board, kernels), constants=constants)


def plan_graph(graph: Graph, board: Board, *, name: str, options: ScheduleOptions = ScheduleOptions()) -> MemoryReport:
    """The memory report of an int8 graph that no model file holds (tinyc.frontend.synthetic's): the same lowering,
    schedule search, plan check and report as a model's."""
    return _plan_graph(graph, board, options, name=name, notes=())[-1]


def _plan_graph(graph: Graph, board: Board, options: ScheduleOptions, *, name: str, notes: tuple[str, ...],
                weight_precision: WeightPrecision | None = None
                ) -> tuple[LoweredModel, Schedule, MemoryPlan, tuple[KernelChoice, ...], ConstantsPlacement,
                           MemoryReport]:
    lowered = lower(graph, helium=board.helium)
    choice = choose_schedule(lowered, board, options)
    schedule, plan = choice.schedule, choice.plan
    verify_plan(schedule, plan)
    kernels = choose_kernels(schedule, board)
    layouts = extra_flash_bytes(kernels)
    notes = notes + ((f"specialized kernels: their code and compile-time constant layouts add about "
                      f"{layouts:,} B of flash (counted in code)",) if layouts > 0 else ())
    report = memory_report(schedule, plan, board, model_name=name, notes=notes,
                           schedule_summary=choice.summary(), extra_code_bytes=layouts,
                           weight_precision=weight_precision)
    constants = place_constants(schedule, kernels, board, policy=options.constants,
                                sram_used_bytes=report.peak_sram_bytes, headroom_fraction=SRAM_HEADROOM_FRACTION)
    if constants.sram_bytes:
        report = replace(report, sram_constants_bytes=constants.sram_bytes,
                         notes=report.notes + (constants.describe(),))
    return lowered, schedule, plan, kernels, constants, report


def input_samples(planned: Planned, count: int, *, seed: int = 0) -> list[np.ndarray]:
    """int8 inputs: the model's representative data (quantized) first, then seeded random bytes."""
    x = planned.graph.tensor(planned.lowered.input)
    samples: list[np.ndarray] = []
    module = planned.loaded.module
    representative = getattr(module, "representative_dataset", None) if module else None
    if callable(representative):
        for batch in representative():
            if len(samples) == count:
                break
            samples.append(quantize_input(planned, np.asarray(batch[0], dtype=np.float32).reshape(x.shape)))
    rng = np.random.default_rng(seed)
    while len(samples) < count:
        samples.append(rng.integers(-128, 128, size=x.shape).astype(np.int8))
    return samples


def quantize_input(planned: Planned, real: np.ndarray) -> np.ndarray:
    """round(real / scale) + zero point, clipped to int8: how every float input becomes a model input (ties to even;
    for a model file with a float32 input, as its QUANTIZE op: the division in float32, ties away from zero)."""
    x = planned.graph.tensor(planned.lowered.input)
    q: np.ndarray
    if planned.graph.float_edges.input:
        scaled = (np.asarray(real, np.float32) / np.float32(x.scale)).astype(np.float64)
        q = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5) + x.zero_point
    else:
        q = np.round(real / np.float32(x.scale)) + x.zero_point
    return np.clip(q, -128, 127).astype(np.int8)
