"""Fused row-by-row stages (halo rows cached in row buffers): which segments qualify, that every row is computed
once, that `verify_plan` checks views, then bit-exact in QEMU against TFLite Micro on random MCUNet-like networks
(kernel 3/5/7, stride 1/2, odd and non-square inputs, expand ratios 1-6) on both boards, chosen by the search and
as one long stage in columns."""

from __future__ import annotations

import random
from dataclasses import replace
from types import SimpleNamespace

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
    fused, stages = _smallest_fused(lowered, board, options)
    assert fused.arena_bytes < plan_memory(per_layer_schedule(lowered)).arena_bytes
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


def test_report_pareto_json_png_html(monkeypatch, capsys, tmp_path, tflite_of) -> None:
    from conftest import run_cli

    model = tflite_of("patch_stage_k7_s1", lambda: m.patch_stage(7, 1))
    common = ("report", str(model), "--board", "stm32f412", "--no-tflm-arena", "--stream-input")
    code, out, err = run_cli(monkeypatch, capsys, *common, "--pareto", str(tmp_path / "front.json"))
    assert code == 0 and "Pareto front written" in out + err
    import json
    data = json.loads((tmp_path / "front.json").read_text())
    families = {p["family"] for p in data["points"]}
    assert {"per layer", "patches", "fused", "chosen"} <= families
    assert sum(p["chosen"] for p in data["points"]) == 1
    front = [p for p in data["points"] if p["pareto"]]
    smallest = min(p["arena_bytes"] for p in data["points"])
    assert any(p["arena_bytes"] == smallest for p in front)  # the smallest arena is always on the front
    assert any(p["family"] == "fused" for p in front)
    assert data["arena_limit_bytes"] < data["sram_bytes"] == 256 * 1024
    code, _, _ = run_cli(monkeypatch, capsys, *common, "--pareto", str(tmp_path / "front.png"))
    assert code == 0 and (tmp_path / "front.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, _, _ = run_cli(monkeypatch, capsys, *common, "--pareto", str(tmp_path / "front.html"))
    assert code == 0 and "data:image/png;base64," in (tmp_path / "front.html").read_text()
    code, _, err = run_cli(monkeypatch, capsys, *common, "--pareto", str(tmp_path / "front.json"))
    assert code == 1 and "does not overwrite" in err


def test_cli_stages_option_runs_the_given_stages(monkeypatch, capsys, tflite_of) -> None:
    from conftest import run_cli

    model = tflite_of("patch_stage_k3_s1", lambda: m.patch_stage(3, 1))
    code, out, _ = run_cli(monkeypatch, capsys, "report", str(model), "--board", "stm32f412", "--no-tflm-arena",
                           "--stages", "1-4:19x1")
    assert code == 0 and "ops 1..4 row by row, halo rows cached" in " ".join(out.split())
    code, _, err = run_cli(monkeypatch, capsys, "report", str(model), "--board", "stm32f412", "--no-tflm-arena",
                           "--stages", "1-4")
    assert code != 0 and "FIRST-LAST:BANDSxCOLUMNS" in " ".join(err.split())


def _smallest_fused(lowered, board: str, options: ScheduleOptions):  # type: ignore[no-untyped-def]
    """The fused search's smallest measured schedule that has a cached stage, and its stages."""
    per_layer = per_layer_schedule(lowered)
    measured = [(c, tuple(StageSpec.parse(label) for label in c.stages.split(", ")))
                for c, _, _ in fused_candidates(lowered, per_layer, options, get_board(board))]
    cached = [(c, stages) for c, stages in measured if any(s.cached for s in stages)]
    if cached:
        return min(cached, key=lambda f: f[0].arena_bytes)
    # none measured (a model too small to gain): the longest segment from op 0, one output row per band
    end = max(e for s, e in eligible_segments(lowered) if s == 0)
    h = lowered.graph.tensor(lowered.calls[end - 1].output).shape[1]
    stages = (StageSpec(0, end, (h, 1)),)
    schedule = staged_schedule(lowered, stages, stream_input=options.stream_input)
    return SimpleNamespace(arena_bytes=plan_memory(schedule).arena_bytes), stages


@needs_toolchain
@pytest.mark.emulator
@pytest.mark.parametrize("board", ["stm32f412", "stm32h743"])
@pytest.mark.parametrize("model", ["tiny_mbv2", "tiny_resnet", "tiny_dscnn"])
def test_small_zoo_models_fused_bit_exact(model: str, board: str) -> None:
    from conftest import REPO
    from tinyc.plan.pipeline import plan_model
    from tinyc.plan.search import ScheduleChoice

    path = REPO / "models" / f"{model}.py"
    lowered = plan_model(path, board, options=ScheduleOptions(kind=ScheduleChoice.PER_LAYER)).lowered
    options = ScheduleOptions(objective=Objective.MIN_SRAM, mac_budget=0.3, stream_input=True)
    fused, stages = _smallest_fused(lowered, board, options)
    result = verify(path, board, samples=2, options=replace(options, stages=stages))
    assert result.planned.plan.arena_bytes <= fused.arena_bytes
    assert any(s.cached for s in result.planned.schedule.stages)
    assert result.first_mismatch is None, result.first_mismatch.describe()
    assert result.mismatched_samples == 0
