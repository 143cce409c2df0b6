"""Per-layer memory plan: tensor lifetimes → arena offsets (greedy by size, like TFLM's planner).

A buffer holds one activation tensor, or several when a RESHAPE makes its output an alias of its
input, or one step's scratch. Lifetimes are in steps (one step = one kernel call); `last_step` is
inclusive. The graph input is live from step 0; the graph output until the last step.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyc.lower import KernelKind, LoweredModel

ALIGN_BYTES = 4


@dataclass(frozen=True)
class Buffer:
    name: str
    tensors: tuple[int, ...]  # activation tensors stored here (empty for scratch)
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
        raise KeyError(f"tensor {tensor} has no buffer")

    def scratch(self, step: int) -> Buffer | None:
        return next((b for b in self.buffers if not b.tensors and b.first_step == step), None)

    def live_bytes(self, step: int) -> int:
        return sum(b.size_bytes for b in self.buffers if b.first_step <= step <= b.last_step)


def _align(n: int) -> int:
    return (n + ALIGN_BYTES - 1) // ALIGN_BYTES * ALIGN_BYTES


def lifetimes(model: LoweredModel) -> tuple[Buffer, ...]:
    """Unplaced buffers with their sizes and lifetimes."""
    graph = model.graph
    alias: dict[int, int] = {}  # tensor → the tensor whose buffer it shares
    for call in model.calls:
        if call.kind is KernelKind.RESHAPE:
            alias[call.output] = alias.get(call.inputs[0], call.inputs[0])
    first: dict[int, int] = {alias.get(model.input, model.input): 0}
    last: dict[int, int] = {}
    members: dict[int, list[int]] = {}
    for step, call in enumerate(model.calls):
        for t in (*call.inputs, call.output):
            root = alias.get(t, t)
            first.setdefault(root, step)
            last[root] = step
            if t not in members.setdefault(root, []):
                members[root].append(t)
    members.setdefault(alias.get(model.input, model.input), [model.input])
    out_root = alias.get(model.output, model.output)
    last[out_root] = len(model.calls) - 1
    buffers = [Buffer(name=graph.tensor(root).name, tensors=tuple(sorted(members[root])),
                      size_bytes=_align(graph.tensor(root).size_bytes), first_step=first[root],
                      last_step=last.get(root, first[root]))
               for root in sorted(members)]
    buffers += [Buffer(name=f"scratch of op {call.op_index}", tensors=(), size_bytes=_align(call.scratch_bytes),
                       first_step=step, last_step=step)
                for step, call in enumerate(model.calls) if call.scratch_bytes > 0]
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


def plan_per_layer(model: LoweredModel) -> MemoryPlan:
    buffers = place_greedy_by_size(lifetimes(model))
    arena = max((b.offset_bytes + b.size_bytes for b in buffers), default=0)
    return MemoryPlan(arena_bytes=arena, buffers=buffers, steps=len(model.calls))
