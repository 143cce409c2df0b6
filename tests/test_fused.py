"""Fused row-by-row stages (halo rows cached in row buffers): which segments qualify, that every row is computed
once, that `verify_plan` checks views, then bit-exact in QEMU against TFLite Micro on random MCUNet-like networks
(kernel 3/5/7, stride 1/2, odd and non-square inputs, expand ratios 1-6) on both boards, chosen by the search and
as one long stage in columns."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

import models_for_tests as m
from conftest import needs_toolchain
from tinyc.boards import get_board
from tinyc.errors import PlanError
from tinyc.ir.lower import lower
from tinyc.ir.reader import read_tflite
from tinyc.plan.fused import StageSpec, cached_stage, eligible_segments, staged_schedule
from tinyc.plan.placement import plan_memory
from tinyc.plan.schedule import BufferBook, graph_buffers, per_layer_schedule
from tinyc.plan.search import Objective, ScheduleOptions, fused_candidates
from tinyc.plan.verify_plan import verify_plan
from tinyc.run.verify import verify


def mcunet_like(seed: int):  # type: ignore[no-untyped-def]
    """A random MCUNet-like network: strided stem, inverted residual blocks (kernel 3/5/7, stride 1/2, expand
    ratio 1-6, a residual add where the shapes allow), global pooling and a classifier."""
    import keras
    from keras import layers

    rng = random.Random(seed)
    x = keras.Input((rng.randint(41, 63), rng.randint(37, 59), rng.choice([1, 3])))
    y = layers.Conv2D(rng.choice([4, 8]), 3, strides=2, padding="same", activation="relu")(x)
    for _ in range(rng.randint(3, 5)):
        channels, k, stride = y.shape[-1], rng.choice([3, 5, 7]), rng.choice([1, 1, 2])
        out = rng.choice([channels, channels, 8, 12])
        h = layers.ReLU(6.0)(layers.Conv2D(channels * rng.randint(1, 6), 1)(y)) if rng.random() < 0.85 else y
        h = layers.ReLU(6.0)(layers.DepthwiseConv2D(k, strides=stride, padding="same")(h))
        h = layers.Conv2D(out, 1)(h)
        y = layers.Add()([y, h]) if stride == 1 and out == channels else h
    return keras.Model(x, layers.Dense(5)(layers.GlobalAveragePooling2D()(y)))


def _lowered(tflite_of, name, build):  # type: ignore[no-untyped-def]
    return lower(read_tflite(tflite_of(name, build).read_bytes()))


def test_segments_are_spatially_local_with_one_tensor_in_and_out(tflite_of) -> None:
    lowered = _lowered(tflite_of, "patch_stage_k3_s1", lambda: m.patch_stage(3, 1))
    segments = eligible_segments(lowered)
    assert (0, 7) in segments and (1, 5) in segments  # the whole early stage; the inverted residual block
    assert (3, 5) not in segments  # project + add: the add also reads the block input, two tensors would enter
    assert all(e <= 7 for _, e in segments)  # the global pooling is not spatially local


def test_rows_are_computed_once_and_columns_recompute_only_their_halo(tflite_of) -> None:
    lowered = _lowered(tflite_of, "patch_stage_k5_s1_48x40", lambda: m.patch_stage(5, 1, (48, 40)))
    per_layer = per_layer_schedule(lowered)
    rows = staged_schedule(lowered, (StageSpec(0, 7, (48, 1)),), stream_input=True)
    assert rows.macs == per_layer.macs and rows.stages[0].stage_patch_macs == rows.stages[0].stage_macs
    columns = staged_schedule(lowered, (StageSpec(0, 7, (48, 2)),), stream_input=True)
    patches = staged_schedule(lowered, (StageSpec(0, 7, (4, 2), cached=False),), stream_input=True)
    assert per_layer.macs < columns.macs < patches.macs
    for schedule in (rows, columns, patches):
        verify_plan(schedule, plan_memory(schedule))
    assert plan_memory(columns).arena_bytes < plan_memory(rows).arena_bytes < plan_memory(per_layer).arena_bytes


def test_verify_plan_checks_views(tflite_of) -> None:
    lowered = _lowered(tflite_of, "patch_stage_k3_s1", lambda: m.patch_stage(3, 1))
    schedule = staged_schedule(lowered, (StageSpec(1, 5, (19, 1)),))
    plan = plan_memory(schedule)
    verify_plan(schedule, plan)
    view, (parent, delta) = next(iter(schedule.views.items()))
    moved = replace(schedule, views={**schedule.views, view: (parent, delta + 4)})
    with pytest.raises(PlanError, match="should lie"):
        verify_plan(moved, plan)
    outside = replace(schedule, views={**schedule.views, view: (parent, schedule.buffer_bytes[parent])})
    with pytest.raises(PlanError):
        verify_plan(outside, plan)


def test_a_segment_with_two_tensors_entering_is_refused(tflite_of) -> None:
    from tinyc.plan.patches import PatchScheduleError

    lowered = _lowered(tflite_of, "patch_stage_k3_s1", lambda: m.patch_stage(3, 1))
    sizes, names, shapes = graph_buffers(lowered.graph)
    with pytest.raises(PatchScheduleError, match="cannot form a stage"):
        cached_stage(lowered, 3, 5, (4, 1), BufferBook(sizes, names, shapes, len(lowered.graph.tensors)),
                     stream_input=False)


@needs_toolchain
@pytest.mark.emulator
@pytest.mark.parametrize(("board", "seed"), [("stm32f412", 1), ("stm32h743", 2), ("stm32h743", 3)])
def test_fused_search_bit_exact(seed: int, board: str, tflite_of) -> None:
    """The fused search's smallest measured schedule (stages chosen by the dynamic programme), bit-exact."""
    model = tflite_of(f"mcunet_like_{seed}", lambda: mcunet_like(seed))
    lowered = lower(read_tflite(model.read_bytes()))
    options = ScheduleOptions(objective=Objective.MIN_SRAM, mac_budget=0.5, stream_input=True)
    per_layer = per_layer_schedule(lowered)
    fused = min(fused_candidates(lowered, per_layer, options, get_board(board)), key=lambda f: f[0].arena_bytes)[0]
    assert fused.arena_bytes < plan_memory(per_layer).arena_bytes
    stages = tuple(StageSpec.parse(label) for label in fused.stages.split(", "))
    result = verify(model, board, samples=2, options=replace(options, stages=stages))
    assert any(s.cached for s in result.planned.schedule.stages)
    assert result.first_mismatch is None, result.first_mismatch.describe()
    assert result.mismatched_samples == 0


def test_stage_labels_round_trip() -> None:
    for spec in (StageSpec(0, 13, (28, 4)), StageSpec(13, 17, (14, 1)), StageSpec(0, 13, (4, 4), cached=False)):
        assert StageSpec.parse(spec.label()) == spec
    with pytest.raises(ValueError, match="FIRST-LAST:BANDSxCOLUMNS"):
        StageSpec.parse("0-12")


@needs_toolchain
@pytest.mark.emulator
@pytest.mark.parametrize(("board", "seed", "grid_of"), [
    ("stm32f412", 1, lambda h: (h, 3)), ("stm32h743", 2, lambda h: ((h + 1) // 2, 2)), ("stm32f412", 3, lambda h: (h, 1))])
def test_one_long_cached_stage_bit_exact(board: str, seed: int, grid_of, tflite_of) -> None:
    model = tflite_of(f"mcunet_like_{seed}", lambda: mcunet_like(seed))
    lowered = lower(read_tflite(model.read_bytes()))
    end = max(e for s, e in eligible_segments(lowered) if s == 0)
    h = lowered.graph.tensor(lowered.calls[end - 1].output).shape[1]
    stages = (StageSpec(0, end, grid_of(h)),)
    result = verify(model, board, samples=2, options=ScheduleOptions(stages=stages, stream_input=seed != 2))
    assert result.planned.schedule.stages[0].cached
    assert result.first_mismatch is None, result.first_mismatch.describe()
    assert result.mismatched_samples == 0
