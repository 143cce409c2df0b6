"""Memory plan: buffer lifetimes over a schedule's steps → arena offsets (greedy by size, like TFLM's).

A planned buffer holds one schedule buffer, or several that share bytes by design (a RESHAPE output
on its input, an in-place depthwise output on its input), or one step's scratch. Lifetimes are in
steps; `last_step` is inclusive. The graph input is live from step 0; the graph output to the end.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyc.schedule import Schedule

ALIGN_BYTES = 4


@dataclass(frozen=True)
class Buffer:
    name: str
    tensors: tuple[int, ...]  # schedule buffers stored here (empty for scratch)
    size_bytes: int
    first_step: int
    last_step: int  # inclusive
    offset_bytes: int = -1

    def overlaps_in_time(self, other: Buffer) -> bool:
        return self.first_step <= other.last_step and other.first_step <= self.last_step

    def overlaps_in_space(self, other: Buffer) -> bool:
        return self.offset_bytes < other.offset_bytes + other.size_bytes and \
            other.offset_bytes < self.offset_bytes + self.size_bytes


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
        return {t: b.offset_bytes for b in self.buffers for t in b.tensors}

    def scratch(self, step: int) -> Buffer | None:
        return next((b for b in self.buffers if not b.tensors and b.first_step == step), None)

    def live_bytes(self, step: int, *, include_scratch: bool = True) -> int:
        return sum(b.size_bytes for b in self.buffers
                   if b.first_step <= step <= b.last_step and (include_scratch or b.tensors))


def _align(n: int) -> int:
    return (n + ALIGN_BYTES - 1) // ALIGN_BYTES * ALIGN_BYTES


def lifetimes(schedule: Schedule) -> tuple[Buffer, ...]:
    """Unplaced buffers with their sizes and lifetimes."""
    root = schedule.root
    in_arena = schedule.arena_buffers()
    first: dict[int, int] = {root(schedule.input): 0} if schedule.input in in_arena else {}
    last: dict[int, int] = {}
    members: dict[int, set[int]] = {root(schedule.input): {schedule.input}} if schedule.input in in_arena else {}
    for step, s in enumerate(schedule.steps):
        for b in (*s.call.inputs, s.call.output):
            if b not in in_arena:
                continue
            r = root(b)
            first.setdefault(r, step)
            last[r] = step
            members.setdefault(r, set()).add(b)
    last[root(schedule.output)] = len(schedule.steps) - 1
    buffers = [Buffer(name=schedule.buffer_names[r], tensors=tuple(sorted(members[r])),
                      size_bytes=_align(max(schedule.buffer_bytes[m] for m in members[r])),
                      first_step=first[r], last_step=last.get(r, first[r]))
               for r in sorted(members)]
    buffers += [Buffer(name=f"scratch of step {step} (op {s.call.op_index})", tensors=(),
                       size_bytes=_align(s.call.scratch_bytes), first_step=step, last_step=step)
                for step, s in enumerate(schedule.steps) if s.call.scratch_bytes > 0]
    return tuple(buffers)


def place_greedy_by_size(buffers: tuple[Buffer, ...]) -> tuple[Buffer, ...]:
    """Largest first, each at the lowest offset free for its whole lifetime."""
    order = sorted(range(len(buffers)), key=lambda i: (-buffers[i].size_bytes, buffers[i].first_step, i))
    placed: dict[int, Buffer] = {}
    for i in order:
        b = buffers[i]
        rivals = sorted((p for p in placed.values() if p.overlaps_in_time(b)), key=lambda p: p.offset_bytes)
        offset = 0
        for p in rivals:
            if offset + b.size_bytes <= p.offset_bytes:
                break
            offset = max(offset, p.offset_bytes + p.size_bytes)
        placed[i] = Buffer(b.name, b.tensors, b.size_bytes, b.first_step, b.last_step, offset)
    return tuple(placed[i] for i in range(len(buffers)))


def plan_memory(schedule: Schedule) -> MemoryPlan:
    buffers = place_greedy_by_size(lifetimes(schedule))
    arena = max((b.offset_bytes + b.size_bytes for b in buffers), default=0)
    return MemoryPlan(arena_bytes=arena, buffers=buffers, steps=len(schedule.steps))
