"""What would make a model that does not fit fit: which bundled boards it fits as it is (the same int8 graph planned
for each), and for a model built by tinyc's builders (a model file whose `SPEC` is an MCUNetSpec) the largest width
multiplier and the largest input resolution that fit this board.

The two largest values come from a bisection over a grid, one planner run per step, on synthetic int8 graphs of the
changed spec (tinyc.frontend.synthetic: no Keras, no training, milliseconds a run). It assumes that a smaller width
or resolution never needs more memory, which holds for these networks up to the rounding of channels to multiples of
8. The flash of a synthetic graph counts the specialized kernels' layouts for random weights, so it can be a little
above the trained model's; SRAM is the same.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from tinyc.boards import Board, known_boards
from tinyc.errors import TinycError
from tinyc.frontend.spec import MCUNetSpec
from tinyc.frontend.synthetic import synthetic_graph
from tinyc.plan.pipeline import Planned, plan_graph
from tinyc.plan.report import MemoryReport

WIDTH_STEP = 0.05  # the width grid: 0.1, 0.15, ... below the model's
MIN_WIDTH = 0.1
RESOLUTION_STEP = 8  # the resolution grid: 16, 24, ... below the model's
MIN_RESOLUTION = 16


@dataclass(frozen=True)
class Largest:
    """The largest value of one knob that fits, and the plan's peak SRAM and flash with it."""
    knob: str  # "width multiplier" or "input resolution"
    value: float
    peak_sram_bytes: int
    flash_bytes: int

    def text(self) -> str:
        return (f"the largest {self.knob} that fits is {self.value:g} (peak SRAM {self.peak_sram_bytes:,} B, "
                f"flash {self.flash_bytes:,} B)")


@dataclass(frozen=True)
class FitAdvice:
    board: str
    boards_that_fit: tuple[str, ...]  # bundled boards the model fits as it is
    width: Largest | None  # None: not a builder's model, or no grid value fits
    resolution: Largest | None
    builder_model: bool  # the model file has an MCUNetSpec `SPEC`: width and resolution were searched

    def text(self) -> str:
        parts = [f"it fits {', '.join(self.boards_that_fit)} as it is" if self.boards_that_fit
                 else "it fits none of the bundled boards as it is"]
        if self.builder_model:
            for largest, none in ((self.width, f"no width multiplier down to {MIN_WIDTH:g} fits at this resolution"),
                                  (self.resolution, f"no input resolution down to {MIN_RESOLUTION} fits at this "
                                                    "width")):
                parts.append(f"on {self.board}, {largest.text() if largest is not None else none}")
        return "; ".join(parts)

    def as_json(self) -> dict[str, Any]:
        def knob(largest: Largest | None) -> dict[str, Any] | None:
            return None if largest is None else {"value": largest.value, "peak_sram_bytes": largest.peak_sram_bytes,
                                                 "flash_bytes": largest.flash_bytes}
        return {"boards_that_fit": list(self.boards_that_fit), "largest_width": knob(self.width),
                "largest_resolution": knob(self.resolution), "text": self.text()}


def _fits(report: MemoryReport) -> bool:
    return report.fits


def boards_that_fit(planned: Planned) -> tuple[str, ...]:
    """The bundled boards (other than the planned one) whose plan of the same graph fits."""
    fitting = []
    for name, board in known_boards().items():
        if name == planned.board.name:
            continue
        try:
            report = plan_graph(planned.graph, board, name=planned.loaded.name, options=planned.options)
        except TinycError:
            continue
        if _fits(report):
            fitting.append(name)
    return tuple(fitting)


def largest_fitting(grid: Sequence[float], plan: Callable[[float], MemoryReport | None]) -> tuple[float,
                                                                                                  MemoryReport] | None:
    """Bisection over an ascending `grid`: the largest value whose plan fits (None: not even the smallest).
    `plan` returns None for a value tinyc cannot plan (counted as not fitting)."""
    lo, hi = 0, len(grid) - 1
    best: tuple[float, MemoryReport] | None = None
    while lo <= hi:
        middle = (lo + hi) // 2
        report = plan(grid[middle])
        if report is not None and _fits(report):
            best, lo = (grid[middle], report), middle + 1
        else:
            hi = middle - 1
    return best


def _planner(spec: MCUNetSpec, board: Board, planned: Planned, change: Callable[[MCUNetSpec, float], MCUNetSpec]
             ) -> Callable[[float], MemoryReport | None]:
    def plan(value: float) -> MemoryReport | None:
        try:
            return plan_graph(synthetic_graph(change(spec, value)), board, name=spec.name, options=planned.options)
        except (TinycError, ValueError):
            return None
    return plan


def largest_width(spec: MCUNetSpec, planned: Planned) -> Largest | None:
    steps = round((spec.width - MIN_WIDTH) / WIDTH_STEP)
    grid = [round(MIN_WIDTH + i * WIDTH_STEP, 4) for i in range(max(steps, 0))]
    found = largest_fitting(grid, _planner(spec, planned.board, planned, lambda s, w: replace(s, width=w)))
    return None if found is None else Largest("width multiplier", found[0], found[1].peak_sram_bytes,
                                              found[1].flash_bytes)


def largest_resolution(spec: MCUNetSpec, planned: Planned) -> Largest | None:
    grid = [float(r) for r in range(MIN_RESOLUTION, spec.resolution, RESOLUTION_STEP)]
    found = largest_fitting(grid, _planner(spec, planned.board, planned,
                                           lambda s, r: replace(s, resolution=int(r))))
    return None if found is None else Largest("input resolution", found[0], found[1].peak_sram_bytes,
                                              found[1].flash_bytes)


def fit_advice(planned: Planned) -> FitAdvice:
    """The advice for a planned model that does not fit its board."""
    module = planned.loaded.module
    spec = getattr(module, "SPEC", None) if module is not None else None
    builder = isinstance(spec, MCUNetSpec)
    return FitAdvice(board=planned.board.name, boards_that_fit=boards_that_fit(planned),
                     width=largest_width(spec, planned) if isinstance(spec, MCUNetSpec) else None,
                     resolution=largest_resolution(spec, planned) if isinstance(spec, MCUNetSpec) else None,
                     builder_model=builder)


def does_not_fit_message(planned: Planned) -> str:
    """The one-line error of compile and verify for a model that does not fit: the verdict and the advice."""
    return f"{planned.loaded.source.name}: {planned.report.verdict()}; {fit_advice(planned).text()}"
