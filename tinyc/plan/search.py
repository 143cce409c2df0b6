"""Choosing a schedule: per-layer, a patch stage (split point and grid), or fused row-by-row stages that lower peak
SRAM.

The default objective (`fastest`) takes the fewest MACs whose arena fits the board with SRAM_HEADROOM_FRACTION
of its SRAM to spare (per layer when it fits so, without searching patches); `min-sram` minimizes the arena
subject to a MAC-overhead budget (among equal arenas, the least overhead). Fused candidates (`fused.py`: stages
whose halo rows are cached, not recomputed) come from a dynamic programme over the ops and compete with the patch
candidates on the same terms; they recompute few MACs but make more, smaller kernel calls (measured on a small
MCUNet-like network: +9% instructions at +0% MACs), which MACs do not show. Every candidate considered is kept,
for `--verbose-plan`, and the choice says why it was made.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from tinyc.boards import Board
from tinyc.errors import TinycError
from tinyc.ir.lower import LoweredModel
from tinyc.plan.constants import ConstantsPolicy
from tinyc.plan.fused import StageSpec, best_covers, candidate_stages, stage_cost, staged_schedule
from tinyc.plan.patches import eligible_splits, patch_schedule
from tinyc.plan.optimal import arena_of, place_optimal
from tinyc.plan.placement import MemoryPlan, lifetimes, plan_memory
from tinyc.plan.report import CODE_PER_STEP_BYTES, Candidate, ScheduleSummary, arena_limit_bytes, code_estimate_bytes
from tinyc.ir.lower import ConvCall
from tinyc.plan.schedule import InPlace, Schedule, ScheduleKind, per_layer_schedule

GRIDS = tuple((r, c) for r in range(1, 5) for c in range(1, 5) if r * c > 1)
DEFAULT_MAC_BUDGET = 0.15
# The default objective keeps this share of the board's SRAM free (for the application's own buffers, and as
# margin); where no schedule leaves it, the fastest one that fits at all.
SRAM_HEADROOM_FRACTION = 0.10


class ScheduleChoice(enum.Enum):
    """What the user asks for: the search's pick, or one kind of schedule."""
    AUTO = "auto"
    PER_LAYER = "per-layer"
    PATCH = "patch"


class Placement(enum.Enum):
    OPTIMAL = "optimal"  # the constraint solver on the chosen schedule, from the best greedy placement
    GREEDY = "greedy"  # the best of the three greedy orders only


class Objective(enum.Enum):
    FASTEST = "fastest"  # the fewest MACs whose arena fits the board with SRAM_HEADROOM_FRACTION to spare
    MIN_SRAM = "min-sram"  # the least arena within the MAC budget


@dataclass(frozen=True)
class ScheduleOptions:
    kind: ScheduleChoice = ScheduleChoice.AUTO
    split: int | None = None  # patch: ops [0, split) per patch (auto-chosen when None)
    grid: tuple[int, int] | None = None  # patch: rows x columns (auto-chosen when None)
    mac_budget: float = DEFAULT_MAC_BUDGET  # allowed extra MACs of a patch schedule, as a fraction
    in_place: bool = True
    stream_input: bool = False  # patch schedules read the input block by block through a callback
    objective: Objective = Objective.FASTEST
    placement: Placement = Placement.OPTIMAL
    stages: tuple[StageSpec, ...] | None = None  # these stages exactly (fused row-by-row / patch), not searched
    fused_points: int = 6  # how many of the fused search's estimated Pareto points are built, placed and measured
    constants: ConstantsPolicy = ConstantsPolicy.FLASH  # where weights and layouts live (tinyc/plan/constants.py)


@dataclass(frozen=True)
class Choice:
    schedule: Schedule
    plan: MemoryPlan
    per_layer_arena_bytes: int
    candidates: tuple[Candidate, ...] = field(default=())
    reason: str = ""  # why this schedule, in one line

    @property
    def mac_overhead(self) -> float:
        base = self.candidates[0].macs if self.candidates else self.schedule.macs
        return self.schedule.macs / base - 1.0 if base else 0.0

    def summary(self) -> ScheduleSummary:
        p = self.schedule.patch
        return ScheduleSummary(
            kind=self.schedule.kind, split=p.split_op if p else None, grid=p.grid if p else None,
            mac_overhead=self.mac_overhead, per_layer_peak_bytes=self.per_layer_arena_bytes,
            patch_peak_bytes=self.plan.arena_bytes if p else None, input_patch=p.input_patch_hw if p else None,
            input_streamed=bool(p) and self.schedule.stream_input,
            stage_mac_overhead=p.stage_patch_macs / p.stage_macs - 1.0 if p else None, candidates=self.candidates,
            reason=self.reason)


def candidate_splits(lowered: LoweredModel) -> list[int]:
    """Of the eligible splits, at each output resolution the one with the smallest stage output (the first
    such: a block's narrow output, where MCUNetV2 cuts) and the last one (the stage ends where the network
    downsamples next); fewer candidates than every split, the same best ones in practice."""
    graph = lowered.graph
    by_resolution: dict[tuple[int, ...], list[int]] = {}
    for n in eligible_splits(lowered):
        by_resolution.setdefault(graph.tensor(lowered.calls[n - 1].output).shape[1:3], []).append(n)
    chosen: set[int] = set()
    for splits in by_resolution.values():
        chosen.add(min(splits, key=lambda n: (graph.tensor(lowered.calls[n - 1].output).size_bytes, n)))
        chosen.add(splits[-1])
    return sorted(chosen)


def choose_schedule(lowered: LoweredModel, board: Board, options: ScheduleOptions) -> Choice:
    """The schedule the options ask for, compared by greedy placements; the chosen one then placed by the solver
    (`Placement.OPTIMAL`), which only ever shrinks its arena."""
    choice = choose_greedy(lowered, board, options)
    if options.placement is Placement.GREEDY:
        return choice
    unplaced = lifetimes(choice.schedule)
    buffers = place_optimal(unplaced, choice.plan.buffers)
    if buffers is choice.plan.buffers:
        return choice
    plan = MemoryPlan(arena_bytes=arena_of(buffers), buffers=buffers, steps=choice.plan.steps)
    per_layer = plan.arena_bytes if choice.schedule.kind is ScheduleKind.PER_LAYER else choice.per_layer_arena_bytes
    return replace(choice, plan=plan, per_layer_arena_bytes=per_layer)


def choose_greedy(lowered: LoweredModel, board: Board, options: ScheduleOptions) -> Choice:
    """The schedule the options ask for and every candidate considered, each placed by the greedy orders; its
    in-place convolutions that save no arena bytes run out of place (relax_in_place)."""
    choice = _choose_greedy(lowered, board, options)
    schedule, plan, relaxed = relax_in_place(lowered, choice.schedule, choice.plan)
    if not relaxed:
        return choice
    return replace(choice, schedule=schedule, plan=plan,
                   reason=f"{choice.reason}; {relaxed} convolutions out of place (the faster kernels: in place they "
                          "saved no arena bytes)")


def rebuild(lowered: LoweredModel, schedule: Schedule) -> Callable[[InPlace], Schedule]:
    """The schedule's builder call, with the ops allowed in place as the one free argument."""
    stages = schedule.stages
    if not stages:
        return lambda in_place: per_layer_schedule(lowered, in_place=in_place)
    if len(stages) == 1 and not stages[0].cached and stages[0].start_op == 0:
        return lambda in_place: patch_schedule(lowered, stages[0].split_op, stages[0].grid, in_place=in_place,
                                               stream_input=schedule.stream_input)
    specs = tuple(StageSpec(p.start_op, p.split_op, p.grid, p.cached) for p in stages)
    return lambda in_place: staged_schedule(lowered, specs, in_place=in_place, stream_input=schedule.stream_input)


def relax_in_place(lowered: LoweredModel, schedule: Schedule, plan: MemoryPlan) -> tuple[Schedule, MemoryPlan, int]:
    """The in-place kernels of convolutions (depthwise, 1x1) run slower than the specialized out-of-place ones:
    each one in turn runs out of place where the greedy arena does not grow. Returns the schedule, its plan and
    how many ops moved (elementwise ops stay in place: they cost nothing)."""
    in_place = {s.call.op_index for s in schedule.steps if s.overwrites is not None}
    convs = sorted({s.call.op_index for s in schedule.steps if s.in_place and isinstance(s.call, ConvCall)})
    if not convs:
        return schedule, plan, 0
    build = rebuild(lowered, schedule)
    allowed = set(in_place)
    moved = 0
    changed = True
    while changed:  # until no op moves: one moved out of place can free another (the greedy orders interact)
        changed = False
        for op in [op for op in convs if op in allowed]:
            try:
                trial = build(frozenset(allowed - {op}))
            except TinycError:
                continue
            trial_plan = plan_memory(trial)
            if trial_plan.arena_bytes <= plan.arena_bytes:
                allowed.discard(op)
                schedule, plan, moved, changed = trial, trial_plan, moved + 1, True
    return schedule, plan, moved


def _choose_greedy(lowered: LoweredModel, board: Board, options: ScheduleOptions) -> Choice:
    base = per_layer_schedule(lowered, in_place=options.in_place)
    base_plan = plan_memory(base)
    per_layer = Candidate(ScheduleKind.PER_LAYER, None, None, base_plan.arena_bytes, base.macs, 0.0)
    if options.kind is ScheduleChoice.PER_LAYER:
        return Choice(base, base_plan, base_plan.arena_bytes, (per_layer,), reason="per layer, as asked")
    if options.stages is not None:
        staged = staged_schedule(lowered, options.stages, in_place=options.in_place, stream_input=options.stream_input)
        plan = plan_memory(staged)
        label = ", ".join(s.label() for s in options.stages)
        return Choice(staged, plan, base_plan.arena_bytes,
                      (per_layer, Candidate(ScheduleKind.PATCH, None, None, plan.arena_bytes, staged.macs,
                                            staged.macs / base.macs - 1.0)),
                      reason=f"the stages asked for ({label})")
    roomy = roomy_arena_bytes(board)
    if options.kind is not ScheduleChoice.PATCH and options.objective is Objective.FASTEST and options.in_place:
        # in-place kernels save SRAM but run slower than the specialized out-of-place ones: not where SRAM is roomy
        spacious = per_layer_schedule(lowered, in_place=False)
        spacious_plan = plan_memory(spacious)
        if spacious_plan.arena_bytes <= roomy:
            return Choice(spacious, spacious_plan, spacious_plan.arena_bytes,
                          (replace(per_layer, arena_bytes=spacious_plan.arena_bytes),),
                          reason=f"the fastest schedule: per layer, no op in place (the faster kernels), its arena "
                                 f"leaves {SRAM_HEADROOM_FRACTION:.0%} of the board's SRAM free")
    if (options.kind is ScheduleChoice.AUTO and options.objective is Objective.FASTEST
            and base_plan.arena_bytes <= roomy):
        return Choice(base, base_plan, base_plan.arena_bytes, (per_layer,),
                      reason=f"the fastest schedule that fits: per layer (no recomputation), its arena leaves "
                             f"{SRAM_HEADROOM_FRACTION:.0%} of the board's SRAM free; patch schedules not searched")
    splits = [options.split] if options.split is not None else candidate_splits(lowered)
    grids = [options.grid] if options.grid is not None else list(GRIDS)
    candidates = [per_layer]
    best: tuple[Schedule, MemoryPlan] | None = None
    for split in splits:
        for grid in grids:
            try:
                schedule = patch_schedule(lowered, split, grid, in_place=options.in_place,
                                          stream_input=options.stream_input)
            except TinycError:
                if options.kind is ScheduleChoice.PATCH and options.split is not None and options.grid is not None:
                    raise
                continue
            plan = plan_memory(schedule)
            cand = Candidate(ScheduleKind.PATCH, split, grid, plan.arena_bytes, schedule.macs, schedule.macs / base.macs - 1.0)
            candidates.append(cand)
            within = cand.mac_overhead <= options.mac_budget or options.kind is ScheduleChoice.PATCH
            if within and (best is None or (plan.arena_bytes, schedule.macs) < (best[1].arena_bytes, best[0].macs)):
                best = (schedule, plan)
    fused: dict[str, tuple[Schedule, MemoryPlan]] = {}
    if options.kind is ScheduleChoice.AUTO:  # fused stages: no recomputed rows, fewer MACs than patches
        for cand, schedule, plan in fused_candidates(lowered, base, options, board):
            candidates.append(cand)
            fused[cand.stages] = (schedule, plan)
            if cand.mac_overhead <= options.mac_budget and (
                    best is None or (plan.arena_bytes, schedule.macs) < (best[1].arena_bytes, best[0].macs)):
                best = (schedule, plan)
    if options.kind is ScheduleChoice.PATCH and best is None:
        raise TinycError("no patch schedule is possible for this model (its first op cannot run per patch)")
    if options.objective is Objective.FASTEST:
        for limit, room in ((roomy, f"leaves {SRAM_HEADROOM_FRACTION:.0%} of the board's SRAM free"),
                            (arena_limit_bytes(board), f"fits the board (less than {SRAM_HEADROOM_FRACTION:.0%} "
                                                       "of its SRAM to spare)")):
            fastest = _least_macs_that_fit(lowered, base, base_plan, candidates, limit, options, fused)
            if fastest is not None:
                return replace(fastest, reason=f"the fastest schedule whose arena {room}")
    reason = (f"the smallest arena within the MAC budget (+{options.mac_budget:.0%} MACs)"
              if options.objective is Objective.MIN_SRAM else
              f"nothing fits the board: the smallest arena within the MAC budget (+{options.mac_budget:.0%} MACs)")
    if best is None or (options.kind is ScheduleChoice.AUTO and best[1].arena_bytes >= base_plan.arena_bytes):
        return Choice(base, base_plan, base_plan.arena_bytes, tuple(candidates), reason=reason)
    return Choice(best[0], best[1], base_plan.arena_bytes, tuple(candidates), reason=reason)


# The share of flash a fused schedule's extra step functions leave free (for the specialized kernels' layouts).
FLASH_HEADROOM_FRACTION = 0.10


def fused_candidates(lowered: LoweredModel, base: Schedule, options: ScheduleOptions,
                     board: Board) -> list[tuple[Candidate, Schedule, MemoryPlan]]:
    """Fused schedules: every stage candidate costed alone, the Pareto front of their combinations found by dynamic
    programming (estimated peak against recomputed MACs, within the MAC budget and the steps the board's flash holds
    beside the weights), its best points built and placed."""
    base_buffers = lifetimes(base)
    live = [sum(b.size_at(i) for b in base_buffers) for i in range(len(base.steps))]
    specs = candidate_stages(lowered, GRIDS, set(candidate_splits(lowered)))
    costs = [c for c in (stage_cost(lowered, s, stream_input=options.stream_input) for s in specs) if c is not None]
    code_room = (1 - FLASH_HEADROOM_FRACTION) * board.flash.size_bytes - base.weights_bytes - code_estimate_bytes(base)
    covers = best_covers(lowered, live, costs, stream_input=options.stream_input,
                         extra_macs_budget=int(options.mac_budget * base.macs),
                         steps_budget=len(base.steps) + max(0, int(code_room)) // CODE_PER_STEP_BYTES)
    measured = []
    for cover in covers[:options.fused_points]:
        if not cover.stages:
            continue
        schedule = staged_schedule(lowered, cover.stages, in_place=options.in_place, stream_input=options.stream_input)
        plan = plan_memory(schedule)
        first = cover.stages[0]
        measured.append((Candidate(ScheduleKind.PATCH, first.end, first.grid, plan.arena_bytes, schedule.macs,
                                   schedule.macs / base.macs - 1.0, stages=", ".join(s.label() for s in cover.stages)),
                         schedule, plan))
    return measured


def roomy_arena_bytes(board: Board) -> int:
    """The arena the default objective aims under: the board's arena limit less the SRAM headroom."""
    return arena_limit_bytes(board) - int(SRAM_HEADROOM_FRACTION * board.sram.size_bytes)


def _least_macs_that_fit(lowered: LoweredModel, base: Schedule, base_plan: MemoryPlan, candidates: list[Candidate],
                         limit_bytes: int, options: ScheduleOptions,
                         fused: dict[str, tuple[Schedule, MemoryPlan]]) -> Choice | None:
    """The candidate with the fewest MACs whose arena fits under `limit_bytes` (per-layer first), or None."""
    fitting = [c for c in candidates if c.arena_bytes <= limit_bytes and (options.kind is not ScheduleChoice.PATCH or c.kind is ScheduleKind.PATCH)]
    if not fitting:
        return None
    pick = min(fitting, key=lambda c: (c.macs, c.arena_bytes))
    if pick.kind is ScheduleKind.PER_LAYER:
        return Choice(base, base_plan, base_plan.arena_bytes, tuple(candidates))
    if pick.stages:
        return Choice(*fused[pick.stages], base_plan.arena_bytes, tuple(candidates))
    assert pick.split is not None and pick.grid is not None
    schedule = patch_schedule(lowered, pick.split, pick.grid, in_place=options.in_place,
                              stream_input=options.stream_input)
    return Choice(schedule, plan_memory(schedule), base_plan.arena_bytes, tuple(candidates))
