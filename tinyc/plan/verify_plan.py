"""An independent check of a memory plan: shares no code with the planner.

From the schedule's steps alone it re-derives when each buffer must be intact (first write or the
graph input, to last read or the end for the graph output), then checks that every buffer and every
step's scratch lies inside the arena and that no two live at the same step overlap in bytes, except
buffers that share bytes by design (RESHAPE, in-place depthwise), which must then sit at the same
offset and an in-place input must not be read after it was overwritten. A view (rows of a row buffer) must lie
at its parent's offset plus its own, inside the parent's bytes; it keeps the parent live. Failures name both
buffers and their byte ranges.
"""

from __future__ import annotations

from tinyc.errors import PlanError
from tinyc.ir.lower import KernelKind
from tinyc.plan.placement import MemoryPlan
from tinyc.plan.schedule import Schedule


def verify_plan(schedule: Schedule, plan: MemoryPlan) -> None:
    n = len(schedule.steps)
    offset = plan.offsets()
    streamed = {schedule.input} if schedule.stream_input else set()
    uses: dict[int, list[int]] = {schedule.output: [n - 1]} | ({} if streamed else {schedule.input: [0]})
    for view, (parent, delta) in schedule.views.items():
        if view in offset and offset[view] != offset.get(parent, -1) + delta:
            raise PlanError(f"view {schedule.buffer_names[view]!r} should lie {delta} bytes into "
                            f"{schedule.buffer_names[parent]!r}, but is at {offset[view]} (parent at {offset.get(parent)})")
        if delta < 0 or delta + schedule.buffer_bytes[view] > schedule.buffer_bytes[parent]:
            raise PlanError(f"view {schedule.buffer_names[view]!r} [{delta}, {delta + schedule.buffer_bytes[view]}) "
                            f"does not lie inside {schedule.buffer_names[parent]!r} of {schedule.buffer_bytes[parent]} bytes")
    for step, s in enumerate(schedule.steps):
        for b in (*s.call.inputs, s.call.output):
            if b in schedule.views:
                if schedule.views[b][0] in streamed:
                    raise PlanError(f"step {step} (op {s.call.op_index}) reads the streamed input through a view")
                b = schedule.views[b][0]
            if b in streamed:
                if s.call.kind is not KernelKind.COPY:
                    raise PlanError(f"step {step} (op {s.call.op_index}) reads the streamed input directly")
                continue
            uses.setdefault(b, []).append(step)
    # Buffers that share bytes by design, and where an in-place step overwrites its input.
    shared: dict[int, int] = {}
    overwritten_at: dict[int, int] = {}
    for step, s in enumerate(schedule.steps):
        if s.overwrites is not None or s.call.kind is KernelKind.RESHAPE:
            a, b = (s.overwrites if s.overwrites is not None else s.call.inputs[0]), s.call.output
            if a not in s.call.inputs:
                raise PlanError(f"step {step} (op {s.call.op_index}) overwrites buffer {a}, which it does not read")
            if offset.get(a) != offset.get(b):
                raise PlanError(f"step {step} (op {s.call.op_index}) should write its output over its input, "
                                f"but they are at {offset.get(b)} and {offset.get(a)}")
            shared[b] = shared.get(a, a)
            if s.overwrites is not None:
                overwritten_at[a] = step
    def group(b: int) -> int:
        return shared.get(b, b)
    for b, step in overwritten_at.items():
        later = [u for u in uses[b] if u > step]
        if later:
            raise PlanError(f"{schedule.buffer_names[b]!r} is read at step {later[0]} after step {step} overwrote it")
    regions: list[tuple[str, int, int, int, int, int]] = []  # name, start, end, first, last, group
    for b, steps in uses.items():
        if b not in offset:
            raise PlanError(f"{schedule.buffer_names[b]!r} is used but has no place in the arena")
        start = offset[b]
        regions.append((schedule.buffer_names[b], start, start + schedule.buffer_bytes[b], min(steps), max(steps), group(b)))
    for step, s in enumerate(schedule.steps):
        if s.call.scratch_bytes:
            scratch = plan.scratch(step)
            if scratch is None or scratch.size_bytes < s.call.scratch_bytes:
                raise PlanError(f"step {step} (op {s.call.op_index}) needs {s.call.scratch_bytes} scratch bytes; "
                                f"the plan gives {0 if scratch is None else scratch.size_bytes}")
            regions.append((f"scratch of step {step}", scratch.offset_bytes,
                            scratch.offset_bytes + s.call.scratch_bytes, step, step, -1 - step))
    for name, start, end, *_ in regions:
        if start < 0 or end > plan.arena_bytes:
            raise PlanError(f"{name!r} at bytes [{start}, {end}) lies outside the arena of {plan.arena_bytes} bytes")
    for i, (a_name, a0, a1, af, al, ag) in enumerate(regions):
        for b_name, b0, b1, bf, bl, bg in regions[i + 1:]:
            if ag == bg or not (af <= bl and bf <= al) or not (a0 < b1 and b0 < a1):
                continue
            raise PlanError(f"{a_name!r} [{a0}, {a1}) live at steps {af}..{al} overlaps {b_name!r} [{b0}, {b1}) "
                            f"live at steps {bf}..{bl}")
