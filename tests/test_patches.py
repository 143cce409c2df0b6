"""Patch-based schedules: receptive-field regions (unit), then bit-exact in QEMU against TFLite Micro
for kernel 3/5/7, stride 1/2, odd sizes, non-square grids, input in the arena or streamed."""

from __future__ import annotations

import pytest

import models_for_tests as m
from conftest import BOARDS, needs_toolchain
from tinyc.plan.pipeline import plan_model
from tinyc.run.verify import verify
from tinyc.ir.lower import KernelKind
from tinyc.plan.patches import Region, _axis_input, eligible_splits
from tinyc.plan.search import ScheduleChoice, ScheduleOptions


@pytest.mark.parametrize(("out_rows", "stride", "pad", "k", "size", "expected"), [
    ((0, 4), 1, 1, 3, 10, (0, 5, 1)),    # top tile: one row of zero-point padding, one halo row below
    ((4, 8), 1, 1, 3, 10, (3, 9, 0)),    # inner tile: a halo row on each side, no padding
    ((8, 10), 1, 1, 3, 10, (7, 10, 0)),  # bottom tile: the missing row is the image border's padding
    ((0, 3), 2, 2, 5, 12, (0, 7, 2)),
    ((3, 6), 2, 2, 5, 12, (4, 12, 0)),
    ((2, 5), 2, 3, 7, 9, (1, 9, 0)),
])
def test_axis_receptive_field(out_rows, stride, pad, k, size, expected) -> None:
    assert _axis_input(*out_rows, stride, pad, k, size) == expected


def test_region_union() -> None:
    assert Region(0, 4, 2, 6).union(Region(3, 9, 0, 3)) == Region(0, 9, 0, 6)


CASES = [(3, 1, (2, 3), False), (3, 2, (3, 2), True), (5, 1, (4, 4), True), (5, 2, (1, 3), False),
         (7, 1, (3, 1), False), (7, 2, (2, 2), True)]


@needs_toolchain
@pytest.mark.emulator
@pytest.mark.parametrize("board", BOARDS)
@pytest.mark.parametrize(("k", "stride", "grid", "stream"), CASES)
def test_patch_schedule_bit_exact(k: int, stride: int, grid: tuple[int, int], stream: bool, board: str,
                                  tflite_of) -> None:
    model = tflite_of(f"patch_stage_k{k}_s{stride}", lambda: m.patch_stage(k, stride))
    split = 7  # stem, expand, depthwise, project, add, strided depthwise, pointwise: the whole early stage
    options = ScheduleOptions(kind=ScheduleChoice.PATCH, split=split, grid=grid, stream_input=stream)
    result = verify(model, board, samples=3, options=options)
    assert result.planned.schedule.patch is not None and result.planned.schedule.patch.grid == grid
    assert result.first_mismatch is None, result.first_mismatch.describe()
    assert result.mismatched_samples == 0


def test_patches_lower_the_peak_and_cost_macs(tflite_of) -> None:
    model = tflite_of("patch_stage_k3_s1", lambda: m.patch_stage(3, 1))
    per_layer = plan_model(model, "stm32f412", options=ScheduleOptions(kind=ScheduleChoice.PER_LAYER))
    patched = plan_model(model, "stm32f412", options=ScheduleOptions(kind=ScheduleChoice.PATCH, split=7, grid=(2, 2),
                                                                      stream_input=True))
    assert patched.plan.arena_bytes < per_layer.plan.arena_bytes
    assert patched.schedule.macs > per_layer.schedule.macs


@needs_toolchain
@pytest.mark.emulator
@pytest.mark.parametrize("board", BOARDS)
@pytest.mark.parametrize("grid", [(2, 3), (3, 3)])
def test_zero_padding_in_the_patch_stage(grid: tuple[int, int], board: str, tflite_of) -> None:
    model = tflite_of("padded_stage", m.padded_stage)
    options = ScheduleOptions(kind=ScheduleChoice.PATCH, split=8, grid=grid)  # pad, conv, dw, conv, add, pad, dw, conv
    result = verify(model, board, samples=3, options=options)
    kinds = {s.call.kind.value for s in result.planned.schedule.steps[:20]}
    assert "pad" in kinds and result.planned.schedule.patch is not None
    assert result.first_mismatch is None, result.first_mismatch.describe()


@needs_toolchain
@pytest.mark.emulator
@pytest.mark.parametrize("board", BOARDS)
def test_lookup_tables_inside_the_patch_stage_and_se_gate_outside(board: str, tflite_of) -> None:
    """Hard-swish, LeakyReLU (table kernels), same-shape MAXIMUM and MUL run patch by patch; the
    squeeze-and-excitation gate's MEAN and broadcasting MUL cannot, so the deepest eligible split ends before them."""
    model = tflite_of("patch_stage_hard_swish", m.patch_stage_hard_swish)
    planned = plan_model(model, board)
    kinds = [c.kind for c in planned.lowered.calls]
    splits = eligible_splits(planned.lowered)
    assert max(splits) == kinds.index(KernelKind.MEAN)
    assert {KernelKind.LUT, KernelKind.MAXIMUM, KernelKind.MUL} <= set(kinds[:max(splits)])
    assert KernelKind.MUL in kinds[max(splits):]  # the SE scale
    options = ScheduleOptions(kind=ScheduleChoice.PATCH, split=max(splits), grid=(2, 2))
    result = verify(model, board, samples=2, options=options)
    assert result.planned.schedule.patch is not None
    assert result.first_mismatch is None, result.first_mismatch.describe()
    assert result.mismatched_samples == 0


@pytest.mark.parametrize(("name", "build", "kind"), [
    ("dilated_conv_patch", lambda: m.dilated(False, 2, "same", (9, 10), 3, 5), KernelKind.CONV),
    ("dilated_dw_patch", lambda: m.dilated(True, 2, "same", (9, 7), 5), KernelKind.DEPTHWISE_CONV),
    ("dw_multiplier_patch", lambda: m.depthwise_multiplier(3, 1, "same", (7, 6), 3, 2), KernelKind.DEPTHWISE_CONV),
    ("upsample_patch", m.upsample_concat, KernelKind.RESIZE_NEAREST),
    ("bilinear_patch", m.upsample_bilinear, KernelKind.RESIZE_BILINEAR),
    ("transpose_patch", m.transpose_conv_concat, KernelKind.TRANSPOSE_CONV),
    ("prelu_patch", m.prelu_broadcast_add, KernelKind.PRELU),
    ("crop_patch", m.cropping, KernelKind.COPY),
])
def test_dilation_multiplier_resize_and_constant_operands_stay_out_of_patches(name, build, kind, tflite_of) -> None:
    """Dilated convolutions, depth multipliers, resizes and binary ops with a constant operand (a dilated conv's bias
    ADD) run per layer: no patch stage contains them, and no in-place step runs a dilated or multiplied depthwise."""
    from tinyc.ir.lower import BinaryCall, ConvCall, lower
    from tinyc.ir.reader import read_tflite
    from tinyc.plan.patches import patchable
    from tinyc.plan.schedule import in_place_kind

    lowered = lower(read_tflite(tflite_of(name, build).read_bytes()))
    calls = lowered.calls
    special = [c for c in calls if c.kind is kind and not (isinstance(c, ConvCall) and (c.dilation_h, c.dilation_w,
                                                                                         c.ch_mult) == (1, 1, 1))]
    special += [c for c in calls if isinstance(c, BinaryCall) and c.constant_position >= 0]
    assert special
    assert not any(patchable(c) for c in special)
    assert not any(in_place_kind(c) for c in special if isinstance(c, ConvCall))
    splits = eligible_splits(lowered)
    stage = {id(c) for c in calls[:max(splits)]} if splits else set()
    assert not stage & {id(c) for c in special}
