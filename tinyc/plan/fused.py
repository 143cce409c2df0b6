"""Fused row-by-row stages: a segment of ops run band by band, every row of every tensor computed once.

A patch stage recomputes the halo each patch shares with its neighbours (MCUNetV2). A cached stage does not
(StreamNet, vMCU): the stage output is cut into columns (one by default: full rows) and each column into bands of
rows, run top to bottom; every tensor inside the stage lives in a *row buffer* that holds only the rows the
current band still needs, and a band computes only the rows no band computed before (the halo rows are kept:
shifted to the top of the row buffer, never recomputed). An inverted residual block then never holds its
expanded tensor: only the few rows its depthwise conv reads. Columns cost a horizontal halo each (recomputed);
rows cost nothing.

Kernels read and write rows of a row buffer through *views* (`Schedule.views`): a byte range of the buffer,
4-byte aligned for the kernels (else the rows go through a block copy). Rows of a full-width tensor outside the
stage (the stage input in the arena, the stage output) are views of that tensor.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinyc.ir.lower import Call, LoweredModel
from tinyc.plan.patches import (PatchScheduleError, Region, _copy, _grid_bounds, _tile_call, input_region, patch_stage,
                                 patchable)
from tinyc.plan.optimal import peak_live_bytes
from tinyc.plan.placement import lifetimes
from tinyc.plan.schedule import (BufferBook, InPlace, PatchInfo, Schedule, ScheduleKind, Step, graph_buffers,
                                  per_layer_steps)

VIEW_ALIGN_BYTES = 4  # kernels may load words from their operands


def eligible_segments(lowered: LoweredModel) -> list[tuple[int, int]]:
    """Op ranges [start, end) that can form a stage: spatially local ops, one tensor entering (the graph input when
    start is 0), only the last op's output leaving."""
    calls = lowered.calls
    segments = []
    for start in range(len(calls)):
        produced: set[int] = set()
        entering: set[int] = set()
        for end in range(start + 1, len(calls) + 1):
            call = calls[end - 1]
            if not patchable(call):
                break
            entering |= {t for t in call.inputs if t not in produced}
            produced.add(call.output)
            later = {t for c in calls[end:] for t in c.inputs} | {lowered.output}
            leaving = produced & later
            if len(entering) != 1 or leaving != {call.output} or len(lowered.graph.tensor(call.output).shape) != 4:
                continue
            (e,) = entering
            if (start == 0) != (e == lowered.input) or len(lowered.graph.tensor(e).shape) != 4:
                continue
            if start == 0 and lowered.input in later:  # a streamed input is read by the stage only
                continue
            segments.append((start, end))
    return segments


@dataclass
class _Rows:
    """Where a tensor's rows live in one column: a buffer `x1 - x0` wide whose row 0 is tensor row `lo`."""
    buffer: int
    x0: int
    x1: int
    lo: int = 0
    hi: int = 0  # rows [lo, hi) are in the buffer
    direct: bool = False  # the full tensor itself (every row, at its own index)


@dataclass(frozen=True)
class _Band:
    """One band's work on one op: output rows [n0, n1) from the input region (tile padding pad_h, pad_w)."""
    n0: int
    n1: int
    region: Region
    pad_h: int
    pad_w: int


def cached_stage(lowered: LoweredModel, start: int, end: int, grid: tuple[int, int], book: BufferBook, *,
                 stream_input: bool, checked: bool = False) -> tuple[list[Step], PatchInfo]:
    """The steps of ops [start, end) run band by band (grid: bands x columns over the stage output), rows cached
    (`checked`: the segment is known eligible)."""
    if not checked and (start, end) not in eligible_segments(lowered):
        raise PatchScheduleError(f"ops {start}..{end - 1} cannot form a stage (more than one tensor enters or leaves, "
                                 "or an op is not spatially local)")
    graph = lowered.graph
    stage = lowered.calls[start:end]
    out = stage[-1].output
    produced = {c.output for c in stage}
    (entering,) = {t for c in stage for t in c.inputs if t not in produced}
    streamed = stream_input and entering == lowered.input
    shape = {t: graph.tensor(t).shape for c in stage for t in (*c.inputs, c.output)}
    out_h, out_w = shape[out][1:3]
    bands, cols = grid
    if bands > out_h or cols > out_w:
        raise PatchScheduleError(f"a {bands}x{cols} grid does not fit the {out_h}x{out_w} stage output")
    steps: list[Step] = []
    macs = 0
    largest_input = (0, 0)
    for j, (tx0, tx1) in enumerate(_grid_bounds(out_w, cols)):
        # Columns of every tensor this column of the output needs (the same for every band).
        xs: dict[int, tuple[int, int]] = {out: (tx0, tx1)}
        for c in reversed(stage):
            region, _, _ = input_region(c, Region(0, shape[c.output][1], *xs[c.output]))
            for t in c.inputs:
                x0, x1 = xs.get(t, (region.x0, region.x1))
                xs[t] = (min(x0, region.x0), max(x1, region.x1))
        plans = _plan_bands(stage, out, xs, _grid_bounds(out_h, bands))
        rows: dict[int, _Rows] = {}
        for t, (x0, x1) in xs.items():
            full = (x0, x1) == (0, shape[t][2])
            if (t == out or (t == entering and not streamed)) and full:
                rows[t] = _Rows(t, x0, x1, direct=True)
            elif t != out:
                capacity = max(hi - lo for lo, hi in (held[t] for _, held in plans if t in held))
                rows[t] = _Rows(book.new(f"rows of {book.names[t]} c{j}", capacity, x1 - x0, shape[t][3]), x0, x1)
        capacity = max(hi - lo for lo, hi in (held[entering] for _, held in plans if entering in held))
        largest_input = max(largest_input, (capacity, xs[entering][1] - xs[entering][0]), key=lambda hw: hw[0] * hw[1])
        for i, (work, held) in enumerate(plans):
            tag = f"b{i}c{j}"
            for t, (lo, hi) in held.items():
                r = rows.get(t)
                if r is None or r.direct:
                    continue
                if lo < r.lo:
                    raise PatchScheduleError(f"band {tag} reads rows of {book.names[t]} an earlier band dropped")
                if lo >= r.hi:  # nothing to keep
                    r.lo = r.hi = lo
                elif lo > r.lo:  # the halo rows [lo, r.hi) move to the top of the row buffer
                    w, ch = r.x1 - r.x0, shape[t][3]
                    steps.append(Step(call=_copy(stage[0], r.buffer, w, (lo - r.lo, 0), r.buffer, w, (0, 0), r.hi - lo,
                                                 w, ch, f"keep rows {lo}..{r.hi - 1} of {book.names[t]} {tag}"),
                                      trace_tensor=None))
                    r.lo = lo
            if entering in held and not rows[entering].direct:
                r = rows[entering]
                lo, hi = held[entering]
                n0 = max(lo, r.hi)
                if hi > n0:
                    w, ch = r.x1 - r.x0, shape[entering][3]
                    dst = book.view(r.buffer, f"input rows {n0}..{hi - 1} {tag}", n0 - r.lo, hi - n0, w, ch) \
                        if streamed else r.buffer
                    steps.append(Step(call=_copy(stage[0], entering, shape[entering][2], (n0, r.x0), dst, w,
                                                 (0 if streamed else n0 - r.lo, 0), hi - n0, w, ch, f"input rows {tag}"),
                                      trace_tensor=None))
                    r.hi = hi
            for c in stage:
                band = work.get(c.output)
                if band is None:
                    continue
                ins = tuple(_read(book, rows[t], t, band.region, shape[t][3], c, tag, steps) for t in c.inputs)
                o, ch = c.output, shape[c.output][3]
                n0, n1 = band.n0, band.n1
                r = rows.get(o)
                x0, x1 = xs[o]
                target = None
                if r is not None:
                    at = n0 if r.direct else n0 - r.lo
                    if (at * (x1 - x0) * ch) % VIEW_ALIGN_BYTES == 0:
                        target = book.view(r.buffer, f"{book.names[o]} rows {n0}..{n1 - 1} {tag}", at, n1 - n0,
                                           x1 - x0, ch)
                dst = target if target is not None else book.new(f"{book.names[o]} rows {tag}", n1 - n0, x1 - x0, ch)
                call = _tile_call(c, ins, dst, band.region, Region(n0, n1, x0, x1), band.pad_h, band.pad_w, ch,
                                  helium=lowered.helium)
                macs += call.macs
                steps.append(Step(call=call, trace_tensor=None))
                if target is None:
                    whole = o if r is None or r.direct else r.buffer
                    w_whole = shape[o][2] if whole == o else x1 - x0
                    at_y, at_x = (n0, x0) if whole == o else (n0 - r.lo, 0)  # type: ignore[union-attr]
                    steps.append(Step(call=_copy(c, dst, x1 - x0, (0, 0), whole, w_whole, (at_y, at_x), n1 - n0,
                                                 x1 - x0, ch, f"rows {tag}"), trace_tensor=None))
                if r is not None and not r.direct:
                    r.hi = max(r.hi, n1)
    steps[-1] = Step(call=steps[-1].call, trace_tensor=out)
    info = PatchInfo(split_op=end, grid=grid, stage_output=out, input_patch_hw=largest_input,
                     stage_macs=sum(c.macs for c in stage), stage_patch_macs=macs, start_op=start, cached=True)
    return steps, info


def _plan_bands(stage: tuple[Call, ...], out: int, xs: dict[int, tuple[int, int]],
                bounds: list[tuple[int, int]]) -> list[tuple[dict[int, _Band], dict[int, tuple[int, int]]]]:
    """Per band: each op's new output rows, and the rows [lo, hi) each tensor's row buffer holds during the band
    (what the band reads, and every row computed before it that a later band may still read)."""
    computed: dict[int, int] = {}  # rows [0, computed) of a tensor exist
    plans = []
    for ty0, ty1 in bounds:
        need: dict[int, tuple[int, int]] = {out: (ty0, ty1)}
        work: dict[int, _Band] = {}
        for c in reversed(stage):
            if c.output not in need:
                continue
            lo, hi = need[c.output]
            n0 = max(lo, computed.get(c.output, 0))
            if hi <= n0:
                continue
            region, pad_h, pad_w = input_region(c, Region(n0, hi, *xs[c.output]))
            if region.h <= 0 or region.w <= 0:
                raise PatchScheduleError(f"band rows {n0}..{hi - 1} of op {c.op_index} read no input row; use fewer bands")
            work[c.output] = _Band(n0, hi, region, pad_h, pad_w)
            for t in c.inputs:
                a, b = need.get(t, (region.y0, region.y1))
                need[t] = (min(a, region.y0), max(b, region.y1))
        held = {}
        for t, (lo, hi) in need.items():
            if t != out:
                held[t] = (lo, max(hi, computed.get(t, 0)))
                computed[t] = max(computed.get(t, 0), hi)
        computed[out] = ty1
        plans.append((work, held))
    return plans


def _read(book: BufferBook, r: _Rows, tensor: int, region: Region, channels: int, call: Call, tag: str,
          steps: list[Step]) -> int:
    """The buffer an op reads `region` of a tensor from: a view of its rows, or a copy where the region is narrower
    than the row buffer or its first byte is not aligned."""
    w = r.x1 - r.x0
    at = region.y0 - (0 if r.direct else r.lo)
    if (region.x0, region.x1) == (r.x0, r.x1) and (at * w * channels) % VIEW_ALIGN_BYTES == 0:
        return book.view(r.buffer, f"{book.names[tensor]} rows {region.y0}..{region.y1 - 1} {tag}", at, region.h, w,
                         channels)
    crop = book.new(f"crop of {book.names[tensor]} {tag}", region.h, region.w, channels)
    steps.append(Step(call=_copy(call, r.buffer, w, (at, region.x0 - r.x0), crop, region.w, (0, 0), region.h, region.w,
                                 channels, f"crop {tag}"), trace_tensor=None))
    return crop


@dataclass(frozen=True)
class StageSpec:
    """Ops [start, end) run by stage on a grid (rows x columns of the stage output); `cached` keeps halo rows
    (row buffers), else every patch recomputes its halo (only a stage at op 0)."""
    start: int
    end: int
    grid: tuple[int, int]
    cached: bool = True

    def label(self) -> str:
        """FIRST-LAST:BANDSxCOLUMNS (ops FIRST..LAST, halo rows cached), with " patches" when halos are recomputed."""
        return f"{self.start}-{self.end - 1}:{self.grid[0]}x{self.grid[1]}{'' if self.cached else ' patches'}"

    @classmethod
    def parse(cls, label: str) -> StageSpec:
        """The stage a label names (`label()`'s format); ValueError with the expected format otherwise."""
        text = label.strip()
        cached = not text.endswith(" patches")
        try:
            ops, grid = text.removesuffix(" patches").split(":")
            first, last = (int(v) for v in ops.split("-"))
            bands, cols = (int(v) for v in grid.lower().split("x"))
        except ValueError:
            raise ValueError(f"{label!r} is not a stage: expected FIRST-LAST:BANDSxCOLUMNS, e.g. 0-12:28x4 (ops 0..12, "
                             "28 bands of rows in 4 columns, halo rows cached) or 0-12:4x4 patches") from None
        if not (0 <= first <= last and bands > 0 and cols > 0):
            raise ValueError(f"{label!r}: ops FIRST..LAST need 0 <= FIRST <= LAST, and BANDS, COLUMNS positive")
        return cls(first, last + 1, (bands, cols), cached)


def staged_schedule(lowered: LoweredModel, stages: tuple[StageSpec, ...], *, in_place: InPlace = True,
                    stream_input: bool = False) -> Schedule:
    """The stages in op order, every op outside them per layer."""
    graph = lowered.graph
    sizes, names, shapes = graph_buffers(graph)
    book = BufferBook(sizes, names, shapes, next_id=len(graph.tensors))
    steps: list[Step] = []
    aliases: dict[int, int] = {}
    infos = []
    at = 0
    if stream_input and (not stages or stages[0].start != 0):
        raise PatchScheduleError("a streamed input needs a stage that starts at op 0")
    for spec in stages:
        if spec.start < at:
            raise PatchScheduleError(f"stages overlap at op {spec.start}")
        more, more_aliases = per_layer_steps(lowered, at, in_place=in_place, end=spec.start)
        steps += more
        aliases |= more_aliases
        if spec.cached:
            more, info = cached_stage(lowered, spec.start, spec.end, spec.grid, book, stream_input=stream_input)
        else:
            if spec.start != 0:
                raise PatchScheduleError("only a stage at op 0 recomputes its halos; later stages are cached")
            more, more_aliases, info = patch_stage(lowered, spec.end, spec.grid, book, in_place=in_place)
            aliases |= more_aliases
        steps += more
        infos.append(info)
        at = spec.end
    more, more_aliases = per_layer_steps(lowered, at, in_place=in_place)
    return Schedule(kind=ScheduleKind.PATCH if stages else ScheduleKind.PER_LAYER, graph=graph,
                    steps=tuple(steps + more), buffer_bytes=sizes, buffer_names=names, buffer_shapes=shapes,
                    aliases=aliases | more_aliases, input=lowered.input, output=lowered.output, stages=tuple(infos),
                    stream_input=stream_input, views=book.views)


# The search's candidate stages: segments of at most this many ops (an inverted residual block is 3-4), or any
# segment that starts at op 0 up to FIRST_STAGE_MAX_OPS (the memory-heavy early stage).
MAX_STAGE_OPS = 8
FIRST_STAGE_MAX_OPS = 24
FIRST_STAGE_COLUMNS = (1, 2, 3, 4, 5, 6, 8)  # narrower row buffers for the early stage's wide maps


def candidate_stages(lowered: LoweredModel, patch_grids: tuple[tuple[int, int], ...],
                     first_ends: set[int]) -> list[StageSpec]:
    """Stages worth trying: cached ones, bands one or two output rows high, over full rows or two columns; at op 0,
    ending at one of `first_ends`, also narrower columns (the early stage's wide maps) and patch stages on each of
    `patch_grids`."""
    specs = []
    for start, end in eligible_segments(lowered):
        if end - start > (FIRST_STAGE_MAX_OPS if start == 0 else MAX_STAGE_OPS):
            continue
        h, w = lowered.graph.tensor(lowered.calls[end - 1].output).shape[1:3]
        columns = FIRST_STAGE_COLUMNS if start == 0 and end in first_ends else (1, 2)
        grids = {(bands, cols) for bands in (h, (h + 1) // 2) for cols in columns
                 if (cols <= w // 4 or cols == 1) and (cols == 1 or bands == h)}
        specs += [StageSpec(start, end, g) for g in sorted(grids) if g != (1, 1)]
        if start == 0 and end in first_ends:
            specs += [StageSpec(0, end, g, cached=False) for g in patch_grids if g[0] <= h and g[1] <= w]
    return specs


@dataclass(frozen=True)
class StageCost:
    spec: StageSpec
    peak_bytes: int  # live bytes at the stage's worst step, with the tensors live across it
    extra_macs: int  # recomputed halo MACs
    steps: int  # kernel calls (each one a step function in flash)


def stage_cost(lowered: LoweredModel, spec: StageSpec, *, stream_input: bool) -> StageCost | None:
    """What one stage costs, alone: its own schedule's live peak plus the bytes of tensors live across it."""
    graph = lowered.graph
    sizes, names, shapes = graph_buffers(graph)
    book = BufferBook(sizes, names, shapes, next_id=len(graph.tensors))
    try:
        if spec.cached:
            steps, info = cached_stage(lowered, spec.start, spec.end, spec.grid, book,
                                       stream_input=stream_input and spec.start == 0, checked=True)
        else:
            steps, _, info = patch_stage(lowered, spec.end, spec.grid, book, in_place=True, checked=True)
    except PatchScheduleError:
        return None
    stage = lowered.calls[spec.start:spec.end]
    produced = {c.output for c in stage}
    (entering,) = {t for c in stage for t in c.inputs if t not in produced}
    alone = Schedule(kind=ScheduleKind.PATCH, graph=graph, steps=tuple(steps), buffer_bytes=sizes, buffer_names=names,
                     buffer_shapes=shapes, aliases={}, input=entering, output=info.stage_output,
                     stream_input=stream_input and spec.start == 0, views=book.views)
    before = {c.output for c in lowered.calls[:spec.start]} | {lowered.input}
    after = {t for c in lowered.calls[spec.end:] for t in c.inputs} | {lowered.output}
    across = sum(graph.tensor(t).size_bytes for t in (before & after) - {entering}
                 if not (stream_input and t == lowered.input))
    return StageCost(spec, peak_live_bytes(lifetimes(alone)) + across, info.stage_patch_macs - info.stage_macs,
                     len(steps))


@dataclass(frozen=True)
class Cover:
    """A way to run ops [0, n): stages and per-layer ops, its estimated peak, recomputed MACs and steps."""
    peak_bytes: int
    extra_macs: int
    stages: tuple[StageSpec, ...]
    steps: int = 0


def best_covers(lowered: LoweredModel, per_layer_live: list[int], costs: list[StageCost], *, stream_input: bool,
                extra_macs_budget: int, steps_budget: int) -> list[Cover]:
    """The Pareto front (estimated peak, recomputed MACs, steps) of every way to cover the ops with per-layer steps
    and non-overlapping stages, within the MAC and step budgets (every step is a function in flash), smallest peak
    first (dynamic programming over op positions: the peak of a cover is the largest of its stages' and its
    per-layer ops' peaks)."""
    n = len(lowered.calls)
    by_start: dict[int, list[StageCost]] = {}
    for c in costs:
        by_start.setdefault(c.spec.start, []).append(c)
    fronts: list[list[Cover]] = [[] for _ in range(n + 1)]
    fronts[0] = [Cover(0, 0, ())]

    def key(c: Cover) -> tuple[int, int, int]:
        return c.peak_bytes, c.extra_macs, c.steps

    def add(i: int, cover: Cover) -> None:
        if cover.extra_macs > extra_macs_budget or cover.steps > steps_budget:
            return
        front = fronts[i]
        if any(all(a <= b for a, b in zip(key(f), key(cover))) for f in front):
            return
        front[:] = [f for f in front if not all(a <= b for a, b in zip(key(cover), key(f)))]
        front.append(cover)

    for i in range(n):
        for cover in fronts[i]:
            if i > 0 or not stream_input:
                add(i + 1, Cover(max(cover.peak_bytes, per_layer_live[i]), cover.extra_macs, cover.stages,
                                 cover.steps + 1))
            for c in by_start.get(i, ()):
                add(c.spec.end, Cover(max(cover.peak_bytes, c.peak_bytes), cover.extra_macs + c.extra_macs,
                                      cover.stages + (c.spec,), cover.steps + c.steps))
    best: dict[tuple[int, int], Cover] = {}  # of covers equal in peak and MACs, the one with the fewest steps
    for f in sorted(fronts[n], key=key):
        best.setdefault((f.peak_bytes, f.extra_macs), f)
    return sorted(best.values(), key=key)
