"""An independent check of a memory plan: shares no code with the planner.

It re-derives, from the kernel calls alone, which tensors each step reads and writes and when each
must be live, then checks that every tensor and scratch buffer lies inside the arena and that no
two that are live at the same step overlap in bytes. Failures name both buffers and byte ranges.
"""

from __future__ import annotations

from tinyc.errors import PlanError
from tinyc.lower import KernelKind, LoweredModel
from tinyc.planner import MemoryPlan


def verify_plan(model: LoweredModel, plan: MemoryPlan) -> None:
    graph = model.graph
    n = len(model.calls)
    # Where each tensor lives, and when it must be intact.
    spans: dict[int, tuple[int, int]] = {}  # tensor → (offset, size)
    live: dict[int, set[int]] = {}  # tensor → steps
    for b in plan.buffers:
        for t in b.tensors:
            spans[t] = (b.offset_bytes, graph.tensor(t).size_bytes)
    def need(t: int, step: int) -> None:
        live.setdefault(t, set()).add(step)
    need(model.input, 0)
    for step, call in enumerate(model.calls):
        for t in (*call.inputs, call.output):
            need(t, step)
    need(model.output, n - 1)
    # A tensor must stay intact from its first to its last use.
    intervals = {t: (min(s), max(s)) for t, s in live.items()}
    # RESHAPE outputs share the bytes of their input by design; treat each alias group as one.
    group = {t: t for t in intervals}
    for call in model.calls:
        if call.kind is KernelKind.RESHAPE:
            group[call.output] = group[call.inputs[0]]
            if spans.get(call.output) != spans.get(call.inputs[0]):
                raise PlanError(f"RESHAPE at op {call.op_index}: output is not placed on its input")
    regions: list[tuple[str, int, int, int, int]] = []  # (name, start, end, first, last)
    for t, (first, last) in intervals.items():
        if t not in spans:
            raise PlanError(f"tensor {graph.tensor(t).name!r} is used but has no place in the arena")
        off, size = spans[t]
        regions.append((graph.tensor(t).name, off, off + size, first, last))
    for step, call in enumerate(model.calls):
        if call.scratch_bytes:
            s = plan.scratch(step)
            if s is None or s.size_bytes < call.scratch_bytes:
                raise PlanError(f"op {call.op_index} needs {call.scratch_bytes} scratch bytes; the plan gives "
                                f"{0 if s is None else s.size_bytes}")
            regions.append((f"scratch of op {call.op_index}", s.offset_bytes, s.offset_bytes + call.scratch_bytes, step, step))
    for name, start, end, _, _ in regions:
        if start < 0 or end > plan.arena_bytes:
            raise PlanError(f"{name!r} at bytes [{start}, {end}) lies outside the arena of {plan.arena_bytes} bytes")
    names = {graph.tensor(t).name: group[t] for t in intervals}
    for i, (a, a0, a1, af, al) in enumerate(regions):
        for b, b0, b1, bf, bl in regions[i + 1:]:
            same_group = a in names and b in names and names[a] == names[b]
            if same_group or not (af <= bl and bf <= al) or not (a0 < b1 and b0 < a1):
                continue
            raise PlanError(f"{a!r} [{a0}, {a1}) live at steps {af}..{al} overlaps {b!r} [{b0}, {b1}) "
                            f"live at steps {bf}..{bl}")
