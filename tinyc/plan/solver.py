"""The CP-SAT model of arena placement, run in a child process (`python -m tinyc.plan.solver`, JSON on stdin and
stdout): OR-Tools and TensorFlow load conflicting native libraries, and a solver crash must not take tinyc down.

Input: `{"buffers": [{"spans": [[size, first, last], ...]}, ...], "hint": [offset, ...], "bound": int,
"deterministic_time": float, "wall_time": float}`. Output: `{"offsets": [...], "arena": int, "optimal": bool}` or
`{"offsets": null}` when the solver found nothing.
"""

from __future__ import annotations

import json
import sys


def solve(problem: dict) -> dict:  # type: ignore[type-arg]
    from ortools.sat.python import cp_model

    spans = [[tuple(s) for s in b["spans"]] for b in problem["buffers"]]
    sizes = [max(s for s, _, _ in b) for b in spans]
    hint = problem["hint"]
    upper = max(o + s for o, s in zip(hint, sizes))
    model = cp_model.CpModel()
    offsets = [model.new_int_var(0, upper - size, f"offset_{i}") for i, size in enumerate(sizes)]
    arena = model.new_int_var(problem["bound"], upper, "arena")
    for i, size in enumerate(sizes):
        model.add(offsets[i] + size <= arena)
        model.add_hint(offsets[i], hint[i])
    for i in range(len(spans)):
        for j in range(i + 1, len(spans)):
            pairs = [(sa, sb) for sa, fa, la in spans[i] for sb, fb, lb in spans[j] if fa <= lb and fb <= la]
            if not pairs:
                continue
            # One buffer's segments share its offset: if i lies below j, every live segment of i ends below j.
            below = model.new_bool_var(f"{i}_below_{j}")
            model.add(offsets[i] + max(sa for sa, _ in pairs) <= offsets[j]).only_enforce_if(below)
            model.add(offsets[j] + max(sb for _, sb in pairs) <= offsets[i]).only_enforce_if(~below)
    model.minimize(arena)
    solver = cp_model.CpSolver()
    solver.parameters.max_deterministic_time = problem["deterministic_time"]
    solver.parameters.max_time_in_seconds = problem["wall_time"]
    solver.parameters.num_workers = 1  # one worker and a deterministic budget: the same plan every run
    solver.parameters.random_seed = 0
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return {"offsets": None}
    return {"offsets": [int(solver.value(o)) for o in offsets], "arena": int(solver.value(arena)),
            "optimal": status == cp_model.OPTIMAL}


if __name__ == "__main__":
    json.dump(solve(json.load(sys.stdin)), sys.stdout)
