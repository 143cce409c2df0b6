"""Schedules: the order of kernel calls and the buffers they read and write.

A step is a kernel call whose `inputs` / `output` name *buffers*: a graph tensor's index for a whole
tensor, or a virtual id (≥ the graph's tensor count) for a patch tile. `aliases` maps a buffer to the
buffer whose bytes it shares (RESHAPE output on its input; in-place depthwise output on its input).
`views` maps a buffer to a byte range of another one (parent, byte offset): the rows of a row buffer that a
cached patch stage's step reads or writes; a view takes no bytes of its own and keeps its parent live.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from tinyc.ir.graph import Graph
from tinyc.ir.lower import BinaryCall, Call, ConvCall, KernelKind, LoweredModel


class ScheduleKind(enum.Enum):
    PER_LAYER = "per-layer"
    PATCH = "patch"


@dataclass(frozen=True)
class Step:
    call: Call
    trace_tensor: int | None  # graph tensor complete after this step (for TINYC_TRACE), else None
    overwrites: int | None = None  # the input buffer this step writes its output over, if any

    @property
    def in_place(self) -> bool:
        """A kernel that writes over its own input (the in-place depthwise or 1x1 conv kernels; the elementwise
        kernels other than ADD, which need no variant for it)."""
        return self.overwrites is not None and self.call.kind is not KernelKind.ADD


@dataclass(frozen=True)
class PatchInfo:
    """One patch stage: ops [start_op, split_op) run patch by patch over the stage output."""
    split_op: int  # ops [start_op, split_op) run patch by patch
    grid: tuple[int, int]  # rows, columns of patches over the stage output
    stage_output: int  # the graph tensor the patch stage assembles
    input_patch_hw: tuple[int, int]  # the largest input patch (with halo)
    stage_macs: int  # MACs of the patch stage run per-layer
    stage_patch_macs: int  # MACs of the patch stage run per patch (with halo recomputation)
    start_op: int = 0
    cached: bool = False  # rows computed once per column of patches, the halo rows kept (no vertical recompute)

    def describe(self) -> str:
        how = ("row by row, halo rows cached" if self.grid[1] == 1 else
               f"in {self.grid[1]} columns of {self.grid[0]} row bands, halo rows cached") if self.cached else \
            f"in {self.grid[0]}x{self.grid[1]} patches"
        return f"ops {self.start_op}..{self.split_op - 1} {how}"


@dataclass(frozen=True)
class Schedule:
    kind: ScheduleKind
    graph: Graph
    steps: tuple[Step, ...]
    buffer_bytes: dict[int, int] = field(compare=False)
    buffer_names: dict[int, str] = field(compare=False)
    buffer_shapes: dict[int, tuple[int, ...]] = field(compare=False)
    aliases: dict[int, int] = field(compare=False)  # buffer → buffer whose bytes it shares
    input: int = 0
    output: int = 0
    stages: tuple[PatchInfo, ...] = ()  # the patch stages, in op order; every other op runs per layer
    stream_input: bool = False  # patch input read block by block through tinyc_read_input_block(), not from the arena
    views: dict[int, tuple[int, int]] = field(compare=False, default_factory=dict)  # buffer → (parent, byte offset)

    @property
    def patch(self) -> PatchInfo | None:
        """The first patch stage, or None (per layer)."""
        return self.stages[0] if self.stages else None

    @property
    def macs(self) -> int:
        return sum(s.call.macs for s in self.steps)

    @property
    def weights_bytes(self) -> int:
        seen: dict[str, int] = {}
        for s in self.steps:
            for c in s.call.consts:
                seen[c.name] = c.size_bytes
        return sum(seen.values())

    def buffer_shape(self, buffer: int) -> tuple[int, ...]:
        return self.buffer_shapes[buffer]

    def root(self, buffer: int) -> int:
        while buffer in self.aliases:
            buffer = self.aliases[buffer]
        return buffer

    def describe(self) -> str:
        if not self.stages:
            inplace = sum(1 for s in self.steps if s.overwrites is not None)
            return f"{self.kind.value}" + (f", {inplace} ops in place" if inplace else "")
        p = self.stages[0]
        source = "streamed through tinyc_read_input_block()" if self.stream_input else "the full frame in the arena"
        if len(self.stages) == 1 and not p.cached and p.start_op == 0:
            return (f"patch-based: ops 0..{p.split_op - 1} in {p.grid[0]}x{p.grid[1]} patches "
                    f"(input patch {p.input_patch_hw[0]}x{p.input_patch_hw[1]}, input: {source}), then per-layer")
        return f"patch-based: {'; '.join(s.describe() for s in self.stages)} (input: {source}); the rest per layer"

    def arena_buffers(self) -> set[int]:
        """Buffers that live in the arena (all but a streamed input); a view's parent stands for the view."""
        reads = {self.views.get(b, (b, 0))[0] for s in self.steps for b in (*s.call.inputs, s.call.output)}
        reads |= {self.input, self.output}
        return reads - ({self.input} if self.stream_input else set())


@dataclass
class BufferBook:
    """The schedule's buffers while a schedule is built: graph tensors first, then tiles, row buffers and views."""
    sizes: dict[int, int]
    names: dict[int, str]
    shapes: dict[int, tuple[int, ...]]
    next_id: int
    views: dict[int, tuple[int, int]] = field(default_factory=dict)

    def new(self, name: str, rows: int, cols: int, channels: int) -> int:
        b = self.next_id
        self.next_id += 1
        self.sizes[b], self.names[b], self.shapes[b] = rows * cols * channels, name, (1, rows, cols, channels)
        return b

    def view(self, parent: int, name: str, row: int, rows: int, cols: int, channels: int) -> int:
        """Rows [row, row + rows) of a buffer `cols` wide (the parent itself when that is all of it)."""
        delta = row * cols * channels
        if delta == 0 and rows * cols * channels == self.sizes[parent]:
            return parent
        v = self.new(name, rows, cols, channels)
        self.views[v] = (parent, delta)
        return v


ELEMENTWISE_KINDS = (KernelKind.ADD, KernelKind.LUT, KernelKind.MUL, KernelKind.SUB, KernelKind.MAXIMUM,
                     KernelKind.MINIMUM, KernelKind.ADD_BROADCAST, KernelKind.PRELU)


def in_place_kind(call: Call) -> bool:
    """Depthwise convs, and 1x1 stride-1 convs with no more output than input channels, can write
    their output over their input (tinyc_depthwise_conv_inplace_s8, tinyc_conv1x1_inplace_s8);
    an elementwise op (ADD, a lookup table, MUL, SUB, MAXIMUM, MINIMUM) can write over an operand of the
    output's size (element i is read before it is written). Convolutions with int4 weights have no in-place kernel."""
    if call.kind in ELEMENTWISE_KINDS:
        return True
    if not isinstance(call, ConvCall) or call.weight_bits != 8:
        return False
    if call.kind is KernelKind.DEPTHWISE_CONV:
        return call.ch_mult == 1 and (call.dilation_h, call.dilation_w) == (1, 1)
    return (call.kind is KernelKind.CONV and (call.filter_dims.h, call.filter_dims.w) == (1, 1)
            and (call.stride_h, call.stride_w, call.pad_h, call.pad_w) == (1, 1, 0, 0)
            and call.output_dims.c <= call.input_dims.c)


def overwritable_input(calls: tuple[Call, ...], position: int, protected: set[int]) -> int | None:
    """The input the call at `position` may write over: one no later call reads (for ADD, the one
    produced earliest — the residual branch), or None."""
    call = calls[position]
    if not in_place_kind(call):
        return None
    later = {t for c in calls[position + 1:] for t in c.inputs}
    candidates = [t for t in overwritable_operands(call)
                  if t not in later and t not in protected and call.inputs.count(t) == 1]
    if not candidates:
        return None
    produced_at = {c.output: i for i, c in enumerate(calls)}
    return min(candidates, key=lambda t: produced_at.get(t, -1))


def overwritable_operands(call: Call) -> tuple[int, ...]:
    """The inputs an in-place call may write over: both ADD operands, the binary ops' operands that do not
    broadcast (they have the output's size), else the first input."""
    if call.kind is KernelKind.ADD:
        return call.inputs
    if isinstance(call, BinaryCall):
        dims = (call.output_dims.n, call.output_dims.h, call.output_dims.w, call.output_dims.c)
        full = [all(d == 1 or s != 0 for d, s in zip(dims, (st.n, st.h, st.w, st.c)))
                for st in (call.input1_strides, call.input2_strides)]
        return tuple(t for t, f in zip(call.operands, full) if f and t is not None)
    return call.inputs[:1]


def in_place_call(call: Call) -> Call:
    """In place, a depthwise conv needs one input channel plane of scratch, a 1x1 conv one output pixel."""
    if not isinstance(call, ConvCall):
        return call
    if call.kind is KernelKind.DEPTHWISE_CONV:
        return replace(call, scratch_bytes=call.input_dims.h * call.input_dims.w)
    return replace(call, scratch_bytes=call.output_dims.c)


def graph_buffers(graph: Graph) -> tuple[dict[int, int], dict[int, str], dict[int, tuple[int, ...]]]:
    activations = [t for t in graph.tensors if not t.is_constant]
    return ({t.index: t.size_bytes for t in activations}, {t.index: t.name for t in activations},
            {t.index: t.shape for t in activations})


# Which ops may run in place: every eligible one (True), none (False), or only these op indices.
InPlace = bool | frozenset[int]


def allows_in_place(in_place: InPlace, op_index: int) -> bool:
    return in_place if isinstance(in_place, bool) else op_index in in_place


def per_layer_steps(lowered: LoweredModel, start: int, *, in_place: InPlace,
                    end: int | None = None) -> tuple[list[Step], dict[int, int]]:
    """Calls [start, end) (to the last by default), one step each, with the aliases of RESHAPE and in-place outputs."""
    steps, aliases = [], {}
    protected = {lowered.input, lowered.output}
    for position, call in enumerate(lowered.calls[start:end], start=start):
        over = overwritable_input(lowered.calls, position, protected) if allows_in_place(in_place, call.op_index) \
            else None
        if call.kind is KernelKind.RESHAPE:
            aliases[call.output] = call.inputs[0]
        if over is not None:
            aliases[call.output] = over
        steps.append(Step(call=in_place_call(call) if over is not None else call, trace_tensor=call.output,
                          overwrites=over))
    return steps, aliases


def per_layer_schedule(lowered: LoweredModel, *, in_place: InPlace = True) -> Schedule:
    sizes, names, shapes = graph_buffers(lowered.graph)
    steps, aliases = per_layer_steps(lowered, 0, in_place=in_place)
    return Schedule(kind=ScheduleKind.PER_LAYER, graph=lowered.graph, steps=tuple(steps), buffer_bytes=sizes,
                    buffer_names=names, buffer_shapes=shapes, aliases=aliases, input=lowered.input, output=lowered.output)
