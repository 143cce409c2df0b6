"""A candidate's costs from tinyc's planner, before any training: int8 conversion on a few samples of the training
data, the plan for the board (peak SRAM of the chosen schedule, flash), the estimated latency; and whether it fits.

The planner is given the board with its SRAM cut to `--sram-kb`, so it chooses the schedule (per layer, patches, fused
stages) that fits the limit, as `tinyc compile` would on a part of that size.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from tinyc.boards import Board
from tinyc.frontend.convert import keras_to_int8_tflite
from tinyc.frontend.data import representative_batches
from tinyc.frontend.loader import LoadedModel
from tinyc.plan.pipeline import plan_loaded
from tinyc.plan.report import MemoryReport
from tinyc.search.latency import LatencyEstimate, estimate_latency

REPRESENTATIVE_SAMPLES = 16  # training samples calibrating the int8 conversion of a candidate


@dataclass(frozen=True)
class Limits:
    """The constraints: the board's SRAM and flash unless given smaller; no latency limit unless given."""
    sram_bytes: int
    flash_bytes: int
    latency_ms: float | None = None

    @staticmethod
    def for_board(board: Board, *, sram_kb: float | None, flash_kb: float | None,
                  latency_ms: float | None) -> Limits:
        sram = board.sram.size_bytes if sram_kb is None else min(board.sram.size_bytes, int(sram_kb * 1024))
        flash = board.flash.size_bytes if flash_kb is None else min(board.flash.size_bytes, int(flash_kb * 1024))
        return Limits(sram_bytes=sram, flash_bytes=flash, latency_ms=latency_ms)

    def board(self, board: Board) -> Board:
        """`board` with its SRAM and flash cut to the limits: what the planner chooses the schedule for."""
        return replace(board, sram=replace(board.sram, size_bytes=self.sram_bytes),
                       flash=replace(board.flash, size_bytes=self.flash_bytes))


@dataclass(frozen=True)
class Costs:
    """What tinyc's plan says of one candidate (int8, batch 1)."""
    macs: int
    params: int
    arena_bytes: int  # the activation arena of the chosen schedule
    peak_sram_bytes: int  # arena + stack + statics: what is compared with the SRAM limit
    flash_bytes: int  # weights + code (estimated before linking)
    schedule: str  # the chosen schedule, as `tinyc report` names it
    latency: LatencyEstimate

    def as_json(self) -> dict[str, Any]:
        return {"macs": self.macs, "params": self.params, "arena_bytes": self.arena_bytes,
                "peak_sram_bytes": self.peak_sram_bytes, "flash_bytes": self.flash_bytes,
                "schedule": self.schedule, **self.latency.as_json()}


def plan_candidate(model: Any, x_train: np.ndarray, board: Board, limits: Limits, *, name: str) -> Costs:
    """Convert `model` (a batch-1 keras.Model) to int8 on the first training samples and plan it for `board` cut to
    `limits`. Raises the front end's or planner's TinycError when tinyc cannot take the model."""
    samples = x_train[:REPRESENTATIVE_SAMPLES]
    tflite = keras_to_int8_tflite(model, lambda: representative_batches(samples))
    names = list(getattr(model, "output_names", None) or [])
    loaded = LoadedModel(name=name, source=Path(f"{name}.py"), tflite=tflite, keras_model=model,
                         output_layer=str(names[0]) if len(names) == 1 else None)
    planned = plan_loaded(loaded, limits.board(board))
    return costs_of(planned.report, params=int(model.count_params()))


def costs_of(report: MemoryReport, *, params: int) -> Costs:
    """The costs a plan's report gives (`params`: the Keras model's, which the int8 plan does not know)."""
    return Costs(macs=report.macs, params=params, arena_bytes=report.arena_bytes,
                 peak_sram_bytes=report.peak_sram_bytes, flash_bytes=report.flash_bytes,
                 schedule=report.schedule, latency=estimate_latency(report, report.board))


def rejection(costs: Costs, limits: Limits) -> str | None:
    """Why a candidate with `costs` does not fit `limits` (every limit it exceeds), or None when it fits."""
    reasons = []
    if costs.peak_sram_bytes > limits.sram_bytes:
        reasons.append(f"peak SRAM {costs.peak_sram_bytes:,} B (arena {costs.arena_bytes:,} B, {costs.schedule}) "
                       f"exceeds the SRAM limit {limits.sram_bytes:,} B")
    if costs.flash_bytes > limits.flash_bytes:
        reasons.append(f"flash {costs.flash_bytes:,} B exceeds the flash limit {limits.flash_bytes:,} B")
    if limits.latency_ms is not None and costs.latency.ms > limits.latency_ms:
        reasons.append(f"estimated latency {costs.latency.ms:.2f} ms exceeds the limit {limits.latency_ms:g} ms")
    return "; ".join(reasons) if reasons else None
