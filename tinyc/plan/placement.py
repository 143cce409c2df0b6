"""Memory plan: buffer lifetimes over a schedule's steps → arena offsets (greedy by size, like TFLM's).

A planned buffer holds one schedule buffer, or several that share bytes by design (a RESHAPE output
on its input, an in-place depthwise output on its input), or one step's scratch. Lifetimes are in
steps; `last_step` is inclusive. The graph input is live from step 0; the graph output to the end.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tinyc.plan.schedule import Schedule

ALIGN_BYTES = 4


Segment = tuple[int, int, int]  # (size_bytes, first_step, last_step inclusive)


@dataclass(frozen=True)
class Buffer:
    """One offset in the arena. Buffers that share bytes by design (an in-place op's input and output)
    are one Buffer with a segment each: the bytes each needs, from the same offset, for its own lifetime."""
    name: str
    tensors: tuple[int, ...]  # schedule buffers stored here (empty for scratch)
    size_bytes: int
    first_step: int
    last_step: int  # inclusive
    offset_bytes: int = -1
    segments: tuple[Segment, ...] = ()
    views: tuple[tuple[int, int], ...] = ()  # (schedule buffer, byte offset) that lie inside this one's bytes

    def spans(self) -> tuple[Segment, ...]:
        return self.segments or ((self.size_bytes, self.first_step, self.last_step),)

    def overlaps_in_time(self, other: Buffer) -> bool:
        return self.first_step <= other.last_step and other.first_step <= self.last_step

    def overlaps_in_space(self, other: Buffer) -> bool:
        return self.offset_bytes < other.offset_bytes + other.size_bytes and \
            other.offset_bytes < self.offset_bytes + self.size_bytes

    def size_at(self, step: int) -> int:
        return max((size for size, first, last in self.spans() if first <= step <= last), default=0)


@dataclass(frozen=True)
class MemoryPlan:
    arena_bytes: int
    buffers: tuple[Buffer, ...]
    steps: int

    def tensor_offset(self, tensor: int) -> int:
        for b in self.buffers:
            if tensor in b.tensors:
                return b.offset_bytes
        raise KeyError(f"buffer {tensor} has no place in the arena")

    def offsets(self) -> dict[int, int]:
        """Every schedule buffer's offset in the arena, views included."""
        return {**{t: b.offset_bytes for b in self.buffers for t in b.tensors},
                **{v: b.offset_bytes + delta for b in self.buffers for v, delta in b.views}}

    def scratch(self, step: int) -> Buffer | None:
        return next((b for b in self.buffers if not b.tensors and b.first_step == step), None)

    def live_bytes(self, step: int, *, include_scratch: bool = True) -> int:
        return sum(b.size_at(step) for b in self.buffers if include_scratch or b.tensors)


def _align(n: int) -> int:
    return (n + ALIGN_BYTES - 1) // ALIGN_BYTES * ALIGN_BYTES


def lifetimes(schedule: Schedule) -> tuple[Buffer, ...]:
    """Unplaced buffers with their sizes and lifetimes."""
    root = schedule.root
    in_arena = schedule.arena_buffers()
    uses: dict[int, list[int]] = {schedule.input: [0]} if schedule.input in in_arena else {}
    views: dict[int, list[tuple[int, int]]] = {}
    for view, (parent, delta) in schedule.views.items():
        views.setdefault(root(parent), []).append((view, delta))
    for step, s in enumerate(schedule.steps):
        for b in (*s.call.inputs, s.call.output):
            b = schedule.views.get(b, (b, 0))[0]  # a view keeps its parent live
            if b in in_arena:
                uses.setdefault(b, []).append(step)
    uses.setdefault(schedule.output, []).append(len(schedule.steps) - 1)
    members: dict[int, list[int]] = {}
    for b in sorted(uses):
        members.setdefault(root(b), []).append(b)
    buffers = []
    for r, group in sorted(members.items()):
        segments = tuple((_align(schedule.buffer_bytes[m]), min(uses[m]), max(uses[m])) for m in group)
        buffers.append(Buffer(name=schedule.buffer_names[r], tensors=tuple(group),
                              size_bytes=max(size for size, _, _ in segments),
                              first_step=min(first for _, first, _ in segments),
                              last_step=max(last for _, _, last in segments),
                              segments=segments if len(segments) > 1 else (), views=tuple(views.get(r, ()))))
    buffers += [Buffer(name=f"scratch of step {step} (op {s.call.op_index})", tensors=(),
                       size_bytes=_align(s.call.scratch_bytes), first_step=step, last_step=step)
                for step, s in enumerate(schedule.steps) if s.call.scratch_bytes > 0]
    return tuple(buffers)


def place_greedy_by_size(buffers: tuple[Buffer, ...]) -> tuple[Buffer, ...]:
    """Largest first, each at the lowest offset free for its whole lifetime (TFLM's greedy planner)."""
    order = sorted(range(len(buffers)), key=lambda i: (-buffers[i].size_bytes, buffers[i].first_step, i))
    return place_in_order(buffers, order)


def place_greedy_by_conflicts(buffers: tuple[Buffer, ...]) -> tuple[Buffer, ...]:
    """Most bytes of lifetime conflict first (TVM's greedy-by-conflicts flavour), ties largest first."""
    conflicts = [sum(o.size_bytes for o in buffers if o is not b and o.overlaps_in_time(b)) for b in buffers]
    order = sorted(range(len(buffers)), key=lambda i: (-(conflicts[i] + buffers[i].size_bytes),
                                                       -buffers[i].size_bytes, i))
    return place_in_order(buffers, order)


def place_by_first_use(buffers: tuple[Buffer, ...]) -> tuple[Buffer, ...]:
    """In the order buffers are first used, largest first among equals."""
    order = sorted(range(len(buffers)), key=lambda i: (buffers[i].first_step, -buffers[i].size_bytes, i))
    return place_in_order(buffers, order)


PLACEMENTS = (place_greedy_by_size, place_greedy_by_conflicts, place_by_first_use)


def place_in_order(buffers: tuple[Buffer, ...], order: list[int]) -> tuple[Buffer, ...]:
    """Each buffer, in the given order, at the lowest offset free for its whole lifetime."""
    placed: dict[int, Buffer] = {}
    for i in order:
        b = buffers[i]
        # Byte ranges taken, by placed segments that share a step with one of b's segments.
        taken = sorted({(p.offset_bytes, p.offset_bytes + ps, mine)
                        for p in placed.values() if p.overlaps_in_time(b)
                        for ps, pf, pl in p.spans()
                        for mine, (ms, mf, ml) in enumerate(b.spans()) if pf <= ml and mf <= pl})
        spans = b.spans()
        def free(offset: int) -> bool:
            return all(offset + spans[mine][0] <= start or end <= offset for start, end, mine in taken)
        offset = next(o for o in sorted({0} | {end for _, end, _ in taken}) if free(o))
        placed[i] = replace(b, offset_bytes=offset)
    return tuple(placed[i] for i in range(len(buffers)))


def _arena(buffers: tuple[Buffer, ...]) -> int:
    return max((b.offset_bytes + b.size_bytes for b in buffers), default=0)


def plan_memory(schedule: Schedule) -> MemoryPlan:
    """The smallest arena of the placement orders tried (first one wins ties)."""
    unplaced = lifetimes(schedule)
    buffers = min((place(unplaced) for place in PLACEMENTS), key=_arena)
    return MemoryPlan(arena_bytes=_arena(buffers), buffers=buffers, steps=len(schedule.steps))
