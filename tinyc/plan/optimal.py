"""Optimal arena placement with a constraint solver (OR-Tools CP-SAT), the greedy orders as its fallback.

The problem is two-dimensional packing with fixed time extents: every buffer gets one offset; two buffers whose
segments are live at a common step must not share bytes (a buffer's own segments share bytes by design: an in-place
op's input and output). The objective is the arena (the highest byte used); its lower bound is the most bytes live
at any step. The solver runs only where the best greedy placement misses that bound, starts from it (a hint), runs
in a child process (`tinyc.plan.solver`) on one worker with a deterministic time budget, so the plan is the same on
every run, and its result is kept only when smaller. `verify_plan` checks it independently like any other plan.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

from tinyc.plan.placement import Buffer

# CP-SAT's deterministic time units; the wall-clock limit only guards against a pathological model.
DETERMINISTIC_TIME_LIMIT = 5.0
WALL_TIME_LIMIT_S = 120.0


def peak_live_bytes(buffers: tuple[Buffer, ...]) -> int:
    """The lower bound of any placement: the most bytes live at one step (a sweep over the buffers' segments; a
    buffer whose segments overlap in time counts its largest live segment, as `Buffer.size_at` does)."""
    last = max((b.last_step for b in buffers), default=-1)
    delta = [0] * (last + 2)
    shared = []
    for b in buffers:
        if b.segments:
            shared.append(b)
            continue
        delta[b.first_step] += b.size_bytes
        delta[b.last_step + 1] -= b.size_bytes
    live, peak = 0, 0
    for step in range(last + 1):
        live += delta[step]
        peak = max(peak, live + sum(b.size_at(step) for b in shared if b.first_step <= step <= b.last_step))
    return peak


def arena_of(buffers: tuple[Buffer, ...]) -> int:
    return max((b.offset_bytes + b.size_bytes for b in buffers), default=0)


def place_optimal(buffers: tuple[Buffer, ...], hint: tuple[Buffer, ...], *,
                  time_limit: float = DETERMINISTIC_TIME_LIMIT) -> tuple[Buffer, ...]:
    """The smallest arena the solver finds within its budget; `hint` (a valid placement of the same buffers) when
    it already meets the lower bound, or the solver finds nothing smaller, or cannot run."""
    bound = peak_live_bytes(buffers)
    if arena_of(hint) <= bound:
        return hint
    problem = {"buffers": [{"spans": [list(s) for s in b.spans()]} for b in buffers],
               "hint": [b.offset_bytes for b in hint], "bound": bound, "deterministic_time": time_limit,
               "wall_time": WALL_TIME_LIMIT_S}
    try:
        proc = subprocess.run([sys.executable, "-m", "tinyc.plan.solver"], input=json.dumps(problem),
                              capture_output=True, text=True, timeout=WALL_TIME_LIMIT_S + 30)
        offsets = json.loads(proc.stdout)["offsets"] if proc.returncode == 0 else None
    except (subprocess.TimeoutExpired, json.JSONDecodeError, KeyError):
        offsets = None
    if offsets is None:
        return hint
    placed = tuple(replace(b, offset_bytes=int(o)) for b, o in zip(buffers, offsets, strict=True))
    return placed if arena_of(placed) < arena_of(hint) else hint
