"""Patch-based execution of a network's memory-heavy first ops (MCUNetV2).

The first `split` ops run once per spatial patch of the stage output: for every patch the region of
each tensor it needs is derived backwards through kernel, stride and padding (the receptive field;
neighbouring patches overlap by the halo), each op runs on those small regions — zero-point padding
only where a region meets the image border, real neighbour pixels elsewhere — and the stage output's
tile is copied into the full stage output tensor. The rest of the network runs per layer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tinyc.errors import TinycError
from tinyc.ir.lower import (BinaryCall, Call, ConvCall, CopyCall, Dims, KernelKind, LoweredModel, PadCall,
                            conv_scratch_bytes)
from tinyc.plan.schedule import (BufferBook, InPlace, PatchInfo, Schedule, ScheduleKind, Step, allows_in_place,
                                 graph_buffers, in_place_call, in_place_kind, overwritable_operands, per_layer_steps)

PATCH_KINDS = (KernelKind.CONV, KernelKind.DEPTHWISE_CONV, KernelKind.ADD, KernelKind.RELU, KernelKind.PAD, KernelKind.LUT,
               KernelKind.MUL, KernelKind.SUB, KernelKind.MAXIMUM, KernelKind.MINIMUM)


def patchable(call: Call) -> bool:
    """Ops that can run on one patch: the spatially local kinds; a binary op only where neither operand broadcasts
    (a squeeze-and-excitation scale needs the whole map's mean first) and has no constant operand; a convolution only without dilation and
    channel multiplier (their halos and tiles are left to the per-layer part)."""
    if isinstance(call, ConvCall) and (call.dilation_h, call.dilation_w, call.ch_mult) != (1, 1, 1):
        return False
    if isinstance(call, BinaryCall):
        return call.constant_position < 0 and overwritable_operands(call) == call.inputs
    return call.kind in PATCH_KINDS


class PatchScheduleError(TinycError):
    """The requested patch stage cannot be built."""


@dataclass(frozen=True)
class Region:
    """Rows [y0, y1) and columns [x0, x1) of a feature map."""
    y0: int
    y1: int
    x0: int
    x1: int

    @property
    def h(self) -> int:
        return self.y1 - self.y0

    @property
    def w(self) -> int:
        return self.x1 - self.x0

    def union(self, other: Region) -> Region:
        return Region(min(self.y0, other.y0), max(self.y1, other.y1), min(self.x0, other.x0), max(self.x1, other.x1))


def _axis_input(o0: int, o1: int, stride: int, pad: int, k: int, size: int) -> tuple[int, int, int]:
    """Input rows [i0, i1) that output rows [o0, o1) read, clipped to the map, and the tile's padding."""
    start = o0 * stride - pad
    end = (o1 - 1) * stride - pad + k
    i0, i1 = max(0, start), min(size, end)
    return i0, i1, i0 - start


def input_region(call: Call, out: Region) -> tuple[Region, int, int]:
    """The input region an op needs for an output region, and the padding (top, left) of that tile."""
    if isinstance(call, ConvCall):
        kh, kw = call.filter_dims.h, call.filter_dims.w
        y0, y1, pad_h = _axis_input(out.y0, out.y1, call.stride_h, call.pad_h, kh, call.input_dims.h)
        x0, x1, pad_w = _axis_input(out.x0, out.x1, call.stride_w, call.pad_w, kw, call.input_dims.w)
        return Region(y0, y1, x0, x1), pad_h, pad_w
    if isinstance(call, PadCall):
        # Output rows [o0, o1) read input rows [o0 - pre, o1 - pre), clipped; the rest is padding.
        y0, y1, pad_h = _axis_input(out.y0, out.y1, 1, call.pre_pad.h, 1, call.input_dims.h)
        x0, x1, pad_w = _axis_input(out.x0, out.x1, 1, call.pre_pad.w, 1, call.input_dims.w)
        return Region(y0, y1, x0, x1), pad_h, pad_w
    return out, 0, 0


def eligible_splits(lowered: LoweredModel) -> list[int]:
    """Split points n such that ops [0, n) can run patch by patch with one tensor leaving the stage."""
    calls = lowered.calls
    splits = []
    for n in range(1, len(calls)):
        stage = calls[:n]
        if not all(patchable(c) for c in stage):
            break
        produced = {c.output for c in stage}
        leaving = {t for c in calls[n:] for t in c.inputs if t in produced} | ({lowered.output} & produced)
        if leaving == {stage[-1].output} and lowered.input not in {t for c in calls[n:] for t in c.inputs}:
            splits.append(n)
    return splits


def _grid_bounds(size: int, parts: int) -> list[tuple[int, int]]:
    return [(size * i // parts, size * (i + 1) // parts) for i in range(parts)]


def _tile_call(call: Call, inputs: tuple[int, ...], output: int, in_region: Region, out_region: Region,
               pad_h: int, pad_w: int, out_channels: int, *, helium: bool = False) -> Call:
    """The op's call on one patch: the same constants, the tile's dims and padding."""
    out_elems = out_region.h * out_region.w
    if isinstance(call, ConvCall):
        full = call.output_dims
        macs = call.macs // (full.h * full.w) * out_elems
        in_dims = Dims(1, in_region.h, in_region.w, call.input_dims.c)
        out_dims = Dims(1, out_region.h, out_region.w, full.c)
        scratch = conv_scratch_bytes(depthwise=call.kind is KernelKind.DEPTHWISE_CONV, input_dims=in_dims,
                                     filter_hw=(call.filter_dims.h, call.filter_dims.w), output_dims=out_dims,
                                     stride_hw=(call.stride_h, call.stride_w), padding_hw=(pad_h, pad_w),
                                     int4=call.weight_bits == 4, helium=helium)
        return replace(call, inputs=inputs, output=output, macs=macs, scratch_bytes=scratch, input_dims=in_dims,
                       output_dims=out_dims, pad_h=pad_h, pad_w=pad_w)
    if isinstance(call, PadCall):
        in_dims = Dims(1, in_region.h, in_region.w, call.input_dims.c)
        return replace(call, inputs=inputs, output=output, input_dims=in_dims, pre_pad=Dims(0, pad_h, pad_w, 0),
                       post_pad=Dims(0, out_region.h - pad_h - in_region.h, out_region.w - pad_w - in_region.w, 0))
    size = out_elems * out_channels
    if isinstance(call, BinaryCall):
        dims = Dims(1, out_region.h, out_region.w, out_channels)
        contiguous = Dims(size, out_region.w * out_channels, out_channels, 1)
        return replace(call, inputs=inputs, output=output, output_dims=dims, input1_strides=contiguous,
                       input2_strides=contiguous)
    if call.kind is KernelKind.ADD:
        return replace(call, inputs=inputs, output=output, block_size=size)  # type: ignore[call-arg]
    return replace(call, inputs=inputs, output=output, size=size)  # type: ignore[call-arg]


def _copy(call_like: Call, src: int, src_w: int, src_yx: tuple[int, int], dst: int, dst_w: int, dst_yx: tuple[int, int],
          rows: int, cols: int, channels: int, layer: str) -> CopyCall:
    return CopyCall(kind=KernelKind.COPY, op_index=call_like.op_index, layer=layer, inputs=(src,), output=dst, macs=0,
                    scratch_bytes=0, consts=(), src_w=src_w, src_y=src_yx[0], src_x=src_yx[1], dst_w=dst_w,
                    dst_y=dst_yx[0], dst_x=dst_yx[1], rows=rows, cols=cols, channels=channels)


def patch_schedule(lowered: LoweredModel, split: int, grid: tuple[int, int], *, in_place: InPlace = True,
                   stream_input: bool = False) -> Schedule:
    """Ops [0, split) per patch on a rows x cols grid over the stage output; the rest per layer."""
    graph = lowered.graph
    sizes, names, shapes = graph_buffers(graph)
    book = BufferBook(sizes, names, shapes, next_id=len(graph.tensors))
    steps, aliases, info = patch_stage(lowered, split, grid, book, in_place=in_place)
    rest_steps, rest_aliases = per_layer_steps(lowered, split, in_place=in_place)
    return Schedule(kind=ScheduleKind.PATCH, graph=graph, steps=tuple(steps + rest_steps), buffer_bytes=sizes,
                    buffer_names=names, buffer_shapes=shapes, aliases=aliases | rest_aliases, input=lowered.input,
                    output=lowered.output, stages=(info,), stream_input=stream_input)


def patch_stage(lowered: LoweredModel, split: int, grid: tuple[int, int], book: BufferBook, *,
                in_place: InPlace, checked: bool = False) -> tuple[list[Step], dict[int, int], PatchInfo]:
    """The steps of ops [0, split) per patch on a rows x cols grid over the stage output (halos recomputed;
    `checked`: the split is known eligible)."""
    if not checked and split not in eligible_splits(lowered):
        raise PatchScheduleError(f"ops 0..{split - 1} cannot form a patch stage (eligible splits: "
                                 f"{eligible_splits(lowered)})")
    graph = lowered.graph
    names = book.names
    stage = lowered.calls[:split]
    stage_out = stage[-1].output
    out_h, out_w = graph.tensor(stage_out).shape[1:3]
    rows, cols = grid
    if rows > out_h or cols > out_w:
        raise PatchScheduleError(f"a {rows}x{cols} grid does not fit the {out_h}x{out_w} stage output")
    channels = {t.index: t.shape[-1] for t in graph.tensors if len(t.shape) == 4}
    readers: dict[int, int] = {}
    for c in stage:
        for t in c.inputs:
            readers[t] = readers.get(t, 0) + 1
    steps: list[Step] = []
    aliases: dict[int, int] = {}
    largest_input = (0, 0)
    stage_patch_macs = 0

    def new_buffer(name: str, region: Region, channels: int) -> int:
        return book.new(name, region.h, region.w, channels)

    for pi, (ty0, ty1) in enumerate(_grid_bounds(out_h, rows)):
        for pj, (tx0, tx1) in enumerate(_grid_bounds(out_w, cols)):
            tag = f"p{pi}{pj}"
            need: dict[int, Region] = {stage_out: Region(ty0, ty1, tx0, tx1)}
            plans: list[tuple[Call, Region, int, int]] = []
            for c in reversed(stage):
                region, pad_h, pad_w = input_region(c, need[c.output])
                if region.h <= 0 or region.w <= 0:
                    raise PatchScheduleError(f"patch {tag} of a {rows}x{cols} grid needs no input of op "
                                             f"{c.op_index} (its tile lies in the padding); use fewer patches")
                plans.append((c, region, pad_h, pad_w))
                for t in c.inputs:
                    need[t] = need[t].union(region) if t in need else region
            plans.reverse()
            x = lowered.input
            largest_input = max(largest_input, (need[x].h, need[x].w), key=lambda hw: hw[0] * hw[1])
            tile: dict[int, int] = {}
            tile[x] = new_buffer(f"input patch {tag}", need[x], channels[x])
            steps.append(Step(call=_copy(stage[0], x, graph.tensor(x).shape[2], (need[x].y0, need[x].x0), tile[x],
                                         need[x].w, (0, 0), need[x].h, need[x].w, channels[x], f"input patch {tag}"),
                              trace_tensor=None))
            for c, region, pad_h, pad_w in plans:
                ins = []
                for t in c.inputs:
                    if need[t] == region:
                        ins.append(tile[t])
                        continue
                    crop = new_buffer(f"crop of {names[t]} {tag}", region, channels[t])
                    steps.append(Step(call=_copy(c, tile[t], need[t].w, (region.y0 - need[t].y0, region.x0 - need[t].x0),
                                                 crop, region.w, (0, 0), region.h, region.w, channels[t],
                                                 f"crop {tag}"), trace_tensor=None))
                    ins.append(crop)
                out_region = need[c.output]
                tile[c.output] = new_buffer(f"{names[c.output]} {tag}", out_region, channels[c.output])
                call = _tile_call(c, tuple(ins), tile[c.output], region, out_region, pad_h, pad_w,
                                  channels[c.output], helium=lowered.helium)
                over = None
                if allows_in_place(in_place, c.op_index) and in_place_kind(call):
                    # Tiles and crops are read by this op only, unless another stage op reads the same tile.
                    shared = {tile[t] for t in c.inputs if readers.get(t, 0) > 1 and need[t] == region}
                    over = next((b for b in (ins if c.kind is KernelKind.ADD else ins[:1])
                                 if b not in shared and ins.count(b) == 1 and b != tile.get(x)), None)
                if over is not None:
                    call = in_place_call(call)
                    aliases[tile[c.output]] = over
                stage_patch_macs += call.macs
                steps.append(Step(call=call, trace_tensor=None, overwrites=over))
            last_patch = pi == rows - 1 and pj == cols - 1
            steps.append(Step(call=_copy(stage[-1], tile[stage_out], tx1 - tx0, (0, 0), stage_out, out_w, (ty0, tx0),
                                         ty1 - ty0, tx1 - tx0, channels[stage_out], f"output tile {tag}"),
                              trace_tensor=stage_out if last_patch else None))
    info = PatchInfo(split_op=split, grid=grid, stage_output=stage_out, input_patch_hw=largest_input,
                     stage_macs=sum(c.macs for c in stage), stage_patch_macs=stage_patch_macs)
    return steps, aliases, info
