"""Peak SRAM against MAC overhead for every candidate schedule the search can build: per layer (with and without
in-place kernels), patch stages at each split and grid, fused row-by-row stages and their combinations; the
Pareto front among them, the chosen schedule and the board's SRAM (`tinyc report --pareto`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from tinyc.plan.pipeline import Planned
from tinyc.plan.placement import plan_memory
from tinyc.plan.plot import figure_png
from tinyc.plan.report import Candidate, arena_limit_bytes
from tinyc.plan.schedule import ScheduleKind, per_layer_schedule
from tinyc.plan.search import Objective, ScheduleChoice, choose_greedy

# Every candidate is wanted here, not only those within the search's MAC budget.
PARETO_MAC_BUDGET = 1.0
PARETO_FUSED_POINTS = 12


@dataclass(frozen=True)
class Point:
    label: str
    family: str  # "per layer", "patches", "fused"
    arena_bytes: int
    mac_overhead: float
    on_front: bool = False
    chosen: bool = False

    def as_json(self) -> dict[str, Any]:
        return {"label": self.label, "family": self.family, "arena_bytes": self.arena_bytes,
                "mac_overhead": round(self.mac_overhead, 5), "pareto": self.on_front, "chosen": self.chosen}


@dataclass(frozen=True)
class Pareto:
    model_name: str
    board_name: str
    sram_bytes: int
    arena_limit_bytes: int
    points: tuple[Point, ...]

    @property
    def front(self) -> tuple[Point, ...]:
        return tuple(sorted((p for p in self.points if p.on_front), key=lambda p: p.mac_overhead))

    def as_json(self) -> dict[str, Any]:
        return {"model": self.model_name, "board": self.board_name, "sram_bytes": self.sram_bytes,
                "arena_limit_bytes": self.arena_limit_bytes, "points": [p.as_json() for p in self.points]}


def _label(c: Candidate) -> tuple[str, str]:
    if c.stages:
        return "fused", c.stages
    if c.kind is ScheduleKind.PER_LAYER:
        return "per layer", "per layer"
    assert c.split is not None and c.grid is not None
    return "patches", f"ops 0..{c.split - 1} in {c.grid[0]}x{c.grid[1]} patches"


def pareto(planned: Planned) -> Pareto:
    """Every candidate of the planned model's search space, measured (greedy placement, as the search compares)."""
    options = replace(planned.options, kind=ScheduleChoice.AUTO, objective=Objective.MIN_SRAM,
                      mac_budget=PARETO_MAC_BUDGET, stages=None, split=None, grid=None, fused_points=PARETO_FUSED_POINTS)
    choice = choose_greedy(planned.lowered, planned.board, options)
    candidates = list(choice.candidates)
    spacious = per_layer_schedule(planned.lowered, in_place=False)
    base_macs = candidates[0].macs
    candidates.append(Candidate(ScheduleKind.PER_LAYER, None, None, plan_memory(spacious).arena_bytes, spacious.macs,
                                spacious.macs / base_macs - 1.0, stages=""))
    points = []
    seen: set[tuple[str, int]] = set()
    for c in candidates:
        family, label = _label(c)
        if c.kind is ScheduleKind.PER_LAYER and c is candidates[-1]:
            label = "per layer, no op in place"
        if (label, c.arena_bytes) in seen:
            continue
        seen.add((label, c.arena_bytes))
        points.append(Point(label, family, c.arena_bytes, c.mac_overhead))
    chosen_arena, chosen_macs = planned.plan.arena_bytes, planned.schedule.macs / base_macs - 1.0
    points.append(Point(f"chosen: {planned.schedule.describe()}", "chosen", chosen_arena, chosen_macs, chosen=True))
    front = []
    for p in points:
        dominated = any(q.arena_bytes <= p.arena_bytes and q.mac_overhead <= p.mac_overhead
                        and (q.arena_bytes, q.mac_overhead) != (p.arena_bytes, p.mac_overhead) for q in points)
        front.append(replace(p, on_front=not dominated))
    return Pareto(planned.report.model_name, planned.board.name, planned.board.sram.size_bytes,
                  arena_limit_bytes(planned.board), tuple(front))


def pareto_png(p: Pareto) -> bytes:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 5), dpi=110)
    for family, marker in (("per layer", "s"), ("patches", "o"), ("fused", "^")):
        pts = [q for q in p.points if q.family == family]
        if pts:
            ax.scatter([100 * q.mac_overhead for q in pts], [q.arena_bytes / 1024 for q in pts], marker=marker,
                       alpha=0.6, label=family)
    front = p.front
    ax.step([100 * q.mac_overhead for q in front], [q.arena_bytes / 1024 for q in front], where="post", color="black",
            linewidth=1, label="Pareto front")
    chosen = next(q for q in p.points if q.chosen)
    ax.scatter([100 * chosen.mac_overhead], [chosen.arena_bytes / 1024], marker="*", s=250, color="gold",
               edgecolor="black", zorder=5, label=f"chosen ({chosen.arena_bytes:,} B)")
    ax.axhline(p.arena_limit_bytes / 1024, color="red", linewidth=1,
               label=f"{p.board_name}: arena limit {p.arena_limit_bytes // 1024} KB of {p.sram_bytes // 1024} KB SRAM")
    ax.set_yscale("log")
    ax.set_xlabel("MAC overhead over per layer (%)")
    ax.set_ylabel("arena (KB, log)")
    ax.set_title(f"{p.model_name} on {p.board_name}: peak SRAM against MAC overhead", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return figure_png(fig)


def pareto_html(p: Pareto, png: bytes) -> str:
    import base64
    import html

    rows = "\n".join(f"<tr><td>{html.escape(q.family)}</td><td style='text-align:left'>{html.escape(q.label)}</td>"
                     f"<td>{q.arena_bytes:,}</td><td>{100 * q.mac_overhead:+.2f}%</td>"
                     f"<td>{'yes' if q.on_front else ''}</td></tr>"
                     for q in sorted(p.points, key=lambda q: (q.arena_bytes, q.mac_overhead)))
    image = base64.b64encode(png).decode()
    return (f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{html.escape(p.model_name)} Pareto</title>"
            "<style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:right}</style></head><body>\n"
            f"<h1>{html.escape(p.model_name)} on {html.escape(p.board_name)}: peak SRAM against MAC overhead</h1>\n"
            f"<img src='data:image/png;base64,{image}'>\n<table><tr><th>family</th><th>schedule</th><th>arena B</th>"
            f"<th>MACs</th><th>Pareto</th></tr>\n{rows}\n</table></body></html>\n")
