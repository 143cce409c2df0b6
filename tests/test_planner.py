"""Planner: greedy-by-size placement, its independent check, and exact arena bytes."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from tinyc.errors import PlanError
from tinyc.planner import Buffer, MemoryPlan, place_greedy_by_size
from tinyc.verify_plan import verify_plan


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
