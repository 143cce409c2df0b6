"""Placement: the greedy orders and the solver, exact arena bytes per order (a planner regression is a changed
number in a table), and the solver's plans checked by the independent `verify_plan`."""

from __future__ import annotations

import pytest

from conftest import REPO
from tinyc.plan.optimal import arena_of, peak_live_bytes, place_optimal
from tinyc.plan.placement import PLACEMENTS, Buffer, lifetimes, place_by_first_use, place_greedy_by_conflicts, \
    place_greedy_by_size
from tinyc.plan.verify_plan import verify_plan

# Six buffers where every greedy order leaves a gap: the live peak is 88 bytes (steps 4 and 5), the best greedy
# order needs 92.
GAPPY = (Buffer("a", (0,), 28, 5, 7), Buffer("b", (1,), 20, 5, 5), Buffer("c", (2,), 24, 3, 5),
         Buffer("d", (3,), 24, 1, 4), Buffer("e", (4,), 28, 0, 3), Buffer("f", (5,), 16, 4, 7))


def no_overlap(buffers: tuple[Buffer, ...]) -> bool:
    return not any(a.overlaps_in_time(b) and a.overlaps_in_space(b)
                   for i, a in enumerate(buffers) for b in buffers[i + 1:])


def test_solver_closes_the_gap_greedy_leaves() -> None:
    greedy = {place.__name__: arena_of(place(GAPPY)) for place in PLACEMENTS}
    assert greedy == {"place_greedy_by_size": 92, "place_greedy_by_conflicts": 92, "place_by_first_use": 96}
    best = place_greedy_by_size(GAPPY)
    optimal = place_optimal(GAPPY, best)
    assert peak_live_bytes(GAPPY) == arena_of(optimal) == 88
    assert no_overlap(optimal)


def test_solver_keeps_a_placement_at_the_bound() -> None:
    chain = (Buffer("a", (0,), 100, 0, 1), Buffer("b", (1,), 60, 1, 2), Buffer("c", (2,), 100, 2, 3))
    placed = place_greedy_by_size(chain)
    assert arena_of(placed) == peak_live_bytes(chain) == 160
    assert place_optimal(chain, placed) is placed  # no solver run at all


# (model, schedule) -> arena bytes by greedy size, greedy conflicts, first use; the live peak; the plan tinyc
# keeps (the solver's, from the best greedy order). tiny_mbv2 in patches: the solver closes the best greedy
# order's 88-byte gap to the live peak. (The in-place convolutions that save nothing run out of place: first use
# went from 3968 to 3548 bytes, greedy conflicts from 3572 to 3696, with them.)
TABLE = {
    ("tests/data/golden_tiny.tflite", "per-layer"): (308, 308, 308, 308, 308),
    ("models/tiny_mbv2.py", "per-layer"): (5760, 5760, 7488, 5760, 5760),
    ("models/tiny_mbv2.py", "patch"): (3696, 3696, 3548, 3484, 3484),
    ("models/tiny_resnet.py", "per-layer"): (11376, 13312, 11376, 11376, 11376),
    ("models/tiny_resnet.py", "patch"): (12188, 12188, 12532, 12188, 12188),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(TABLE))
def test_exact_arena_per_placement_order(case: tuple[str, str]) -> None:
    from tinyc.plan.pipeline import plan_model
    from tinyc.plan.search import Objective, ScheduleChoice, ScheduleOptions
    model, kind = case
    planned = plan_model(REPO / model, "stm32f412", options=ScheduleOptions(kind=ScheduleChoice(kind), objective=Objective.MIN_SRAM))
    unplaced = lifetimes(planned.schedule)
    got = (*(arena_of(place(unplaced)) for place in (place_greedy_by_size, place_greedy_by_conflicts,
                                                      place_by_first_use)),
           peak_live_bytes(unplaced), planned.plan.arena_bytes)
    assert got == TABLE[case]
    assert planned.report.live_peak_bytes == got[3]
    verify_plan(planned.schedule, planned.plan)
