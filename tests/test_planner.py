"""Planner: greedy-by-size placement, its independent check, and exact arena bytes."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from tinyc.errors import PlanError
from tinyc.plan.placement import Buffer, MemoryPlan, place_greedy_by_size
from tinyc.plan.verify_plan import verify_plan


def _no_overlap(buffers: tuple[Buffer, ...]) -> None:
    for i, a in enumerate(buffers):
        for b in buffers[i + 1:]:
            assert not (a.overlaps_in_time(b) and a.overlaps_in_space(b)), (a, b)


@pytest.mark.parametrize("seed", range(50))
def test_random_lifetimes_never_overlap(seed: int) -> None:
    rng = random.Random(seed)
    buffers = []
    for i in range(rng.randint(1, 30)):
        first = rng.randint(0, 20)
        buffers.append(Buffer(f"b{i}", (i,), rng.randint(1, 64) * 4, first, first + rng.randint(0, 6)))
    placed = place_greedy_by_size(tuple(buffers))
    _no_overlap(placed)
    # Never worse than the sum of all buffers, never better than the largest step's live bytes.
    arena = max(b.offset_bytes + b.size_bytes for b in placed)
    peak_live = max(sum(b.size_bytes for b in placed if b.first_step <= s <= b.last_step) for s in range(27))
    assert peak_live <= arena <= sum(b.size_bytes for b in placed)


def test_chain_reuses_memory_exactly() -> None:
    # a → b → c → d, sizes 100, 60, 100, 8: a and c never live together, nor b and d.
    buffers = (Buffer("a", (0,), 100, 0, 1), Buffer("b", (1,), 60, 1, 2), Buffer("c", (2,), 100, 2, 3),
               Buffer("d", (3,), 8, 3, 3))
    placed = {b.name: b.offset_bytes for b in place_greedy_by_size(buffers)}
    assert placed == {"a": 0, "c": 0, "b": 100, "d": 100}


def _golden_plan():
    from conftest import REPO
    from tinyc.plan.pipeline import plan_model
    from tinyc.plan.search import ScheduleChoice, ScheduleOptions
    return plan_model(REPO / "tests" / "data" / "golden_tiny.tflite", "stm32f412",
                      options=ScheduleOptions(kind=ScheduleChoice.PER_LAYER))


def test_verify_plan_accepts_the_planner_output() -> None:
    planned = _golden_plan()
    verify_plan(planned.schedule, planned.plan)


def test_verify_plan_names_overlapping_buffers() -> None:
    planned = _golden_plan()
    plan = planned.plan
    # Move the PAD output (live during steps 0-1) onto the graph input (live at step 0).
    victim = next(b for b in plan.buffers if b.name == "functional_1/zero_padding2d_1/Pad")
    target = next(b for b in plan.buffers if b.name == "serving_default_keras_tensor:0")
    moved = tuple(replace(b, offset_bytes=target.offset_bytes) if b is victim else b for b in plan.buffers)
    broken = MemoryPlan(arena_bytes=plan.arena_bytes + victim.size_bytes, buffers=moved, steps=plan.steps)
    with pytest.raises(PlanError, match=r"'serving_default_keras_tensor:0' \[164, 254\) live at steps 0\.\.0 overlaps "
                                        r"'functional_1/zero_padding2d_1/Pad' \[164, 326\) live at steps 0\.\.1"):
        verify_plan(planned.schedule, broken)


def test_verify_plan_refuses_buffers_outside_the_arena() -> None:
    planned = _golden_plan()
    small = replace(planned.plan, arena_bytes=planned.plan.arena_bytes - 4)
    with pytest.raises(PlanError, match=r"lies outside the arena of 304 bytes"):
        verify_plan(planned.schedule, small)


@pytest.mark.parametrize("kind", ["per-layer", "patch"])
def test_in_place_convolutions_kept_only_where_they_save_arena_bytes(kind: str) -> None:
    """relax_in_place: the chosen schedule's arena is no larger than with every eligible op in place, and each
    convolution still in place is needed (out of place, the greedy arena grows)."""
    from pathlib import Path

    from tinyc.ir.lower import ConvCall
    from tinyc.plan.pipeline import plan_model
    from tinyc.plan.placement import plan_memory
    from tinyc.plan.search import Objective, ScheduleChoice, ScheduleOptions, rebuild
    model = Path(__file__).resolve().parents[1] / "models" / "tiny_mbv2.py"
    planned = plan_model(model, "stm32f412", options=ScheduleOptions(kind=ScheduleChoice(kind),
                                                                    objective=Objective.MIN_SRAM))
    build = rebuild(planned.lowered, planned.schedule)
    every = plan_memory(build(True))
    chosen = plan_memory(planned.schedule)
    assert chosen.arena_bytes <= every.arena_bytes
    allowed = {s.call.op_index for s in planned.schedule.steps if s.overwrites is not None}
    kept = {s.call.op_index for s in planned.schedule.steps if s.in_place and isinstance(s.call, ConvCall)}
    moved = {s.call.op_index for s in build(True).steps if s.in_place and isinstance(s.call, ConvCall)} - kept
    assert moved, "tiny_mbv2 has depthwise convolutions that save nothing in place"
    for op in kept:
        assert plan_memory(build(frozenset(allowed - {op}))).arena_bytes > chosen.arena_bytes, op
