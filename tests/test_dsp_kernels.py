"""Optimized (ARMv7E-M DSP) kernels against tinyc's portable kernels, both compiled, in QEMU on both
boards: the same firmware built with and without -DTINYC_PORTABLE_KERNELS must print the same output
bytes for the same input; and `tinyc bench` counts the same instructions run to run."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import models_for_tests as m
from models_for_tests import keras, layers
from conftest import BOARDS, needs_toolchain
from tinyc.ir.lower import ConvCall, FullyConnectedCall
from tinyc.plan import specialize
from tinyc.plan.pipeline import plan_model
from tinyc.plan.search import ScheduleOptions
from tinyc.run.bench import bench, bench_planned

pytestmark = [needs_toolchain, pytest.mark.emulator]

ROOT = Path(__file__).resolve().parents[1]


def inplace_block(k: int, stride: int, padding: str, hw: tuple[int, int], cin: int, expand: int,
                  cout: int) -> keras.Model:
    """1x1 expand, depthwise k x k, 1x1 project to fewer channels: the planner runs the depthwise and the
    project conv in place (tinyc_depthwise_conv_inplace_s8, tinyc_conv1x1_inplace_s8)."""
    x = keras.Input((*hw, cin))
    h = layers.ReLU(6.0)(layers.Conv2D(cin * expand, 1)(x))
    h = layers.ReLU(6.0)(layers.DepthwiseConv2D(k, strides=stride, padding=padding)(h))
    return keras.Model(x, layers.Conv2D(cout, 1)(h))


# Odd channel counts, channel tails (C % 4 != 0), odd pixel counts, k % 4 != 0, borders, strides.
CASES = {
    "conv1x1_c13_to_7_odd_pixels": lambda: m.conv(1, 1, "valid", (5, 7), 13, 7, "relu"),
    "conv1x1_s2_c6_to_9": lambda: m.conv(1, 2, "same", (7, 5), 6, 9),
    "conv3x3_s1_same_c5_to_11": lambda: m.conv(3, 1, "same", (9, 7), 5, 11, "relu"),
    "conv3x3_s2_same_c8_to_6": lambda: m.conv(3, 2, "same", (9, 8), 8, 6),
    "conv5x5_s2_valid_c3_to_5": lambda: m.conv(5, 2, "valid", (11, 9), 3, 5),
    # k = 540: columns too long for the assembly loop's single offset (the pointer between the columns), 35 pixels
    "conv3x3_s1_same_c60_to_5_long_columns": lambda: m.conv(3, 1, "same", (5, 7), 60, 5),
    "dw3x3_s1_same_c9": lambda: m.depthwise(3, 1, "same", (7, 9), 9),
    "dw3x3_s2_same_c6_relu6": lambda: m.depthwise(3, 2, "same", (9, 8), 6, "relu6"),
    "dw5x5_s1_same_c7": lambda: m.depthwise(5, 1, "same", (10, 11), 7),
    "dw5x5_s2_valid_c12": lambda: m.depthwise(5, 2, "valid", (11, 9), 12),
    "dw7x7_s1_same_c5": lambda: m.depthwise(7, 1, "same", (9, 12), 5),
    "dw7x7_s2_same_c8": lambda: m.depthwise(7, 2, "same", (13, 11), 8),
    # Depthwise paths: the zero-point padded band (3x3 / 5x5 unrolled, any other size generic), with and
    # without a narrow clamp; a row too wide for the band (interior straight from the input, border windows):
    "dw5x5_s1_same_c8_relu6": lambda: m.depthwise(5, 1, "same", (9, 9), 8, "relu6"),
    "dw4x4_s2_same_c12": lambda: m.depthwise(4, 2, "same", (10, 9), 12),
    "dw3x3_s1_same_c10_wide": lambda: m.depthwise(3, 1, "same", (3, 131), 10),
    "dw3x3_s2_valid_c8_wide_relu6": lambda: m.depthwise(3, 2, "valid", (5, 263), 8, "relu6"),
    # The specialized depthwise (tinyc_fast_depthwise.h): 1 pixel wide (no pair), odd widths at stride 2, rows
    # of <= 4 pairs unrolled or looped, 2 * C > 255 (the store's offset) and C > 255 (the gather's), chunks of
    # output rows when the padded plane does not fit the band on the stack, at stride 1 and 2:
    "dw3x3_s1_same_c1_1px": lambda: m.depthwise(3, 1, "same", (5, 1), 1),
    "dw3x3_s2_same_c3_7x7": lambda: m.depthwise(3, 2, "same", (7, 7), 3),
    "dw3x3_s2_valid_c5_9x11": lambda: m.depthwise(3, 2, "valid", (9, 11), 5),
    "dw3x3_s1_valid_c130_7x12_relu6": lambda: m.depthwise(3, 1, "valid", (7, 12), 130, "relu6"),
    "dw3x3_s2_same_c260_6x6": lambda: m.depthwise(3, 2, "same", (6, 6), 260),
    "dw3x3_s1_same_c2_chunks_40x100": lambda: m.depthwise(3, 1, "same", (40, 100), 2),
    "dw3x3_s2_same_c3_chunks_41x121": lambda: m.depthwise(3, 2, "same", (41, 121), 3),
    "dw5x5_s1_same_c3_chunks_30x90": lambda: m.depthwise(5, 1, "same", (30, 90), 3),
    # Pairs of any width (groups of 4 taps): a full last group at stride 1 (the next group's word), 2 taps:
    "dw4x4_s1_same_c3_8x9": lambda: m.depthwise(4, 1, "same", (8, 9), 3),
    # The 3x3 stride-1 blocks (2 x 2 pixels, the odd column's 4 x 1): 2 * C > 255 (the stores' wide step), odd
    # width and odd row count (the last row in pairs, the column's blocks and single pixels), the narrowest width
    # (4, valid), rows too far apart for the blocks' offsets ((out_w + 1) * C > 4095: the pairs)
    "dw3x3_s1_same_c130_6x8": lambda: m.depthwise(3, 1, "same", (6, 8), 130),
    "dw3x3_s1_same_c7_9x5": lambda: m.depthwise(3, 1, "same", (9, 5), 7),
    "dw3x3_s1_valid_c6_10x6": lambda: m.depthwise(3, 1, "valid", (10, 6), 6),
    "dw3x3_s1_same_c300_5x15": lambda: m.depthwise(3, 1, "same", (5, 15), 300),
    # ... at stride 2 (input rows 0..4, the right pixel's x4 from LDRSB): 2 * C > 255 and an odd width, an odd
    # row count
    "dw3x3_s2_same_c130_11x10": lambda: m.depthwise(3, 2, "same", (11, 10), 130),
    "dw3x3_s2_valid_c6_11x9": lambda: m.depthwise(3, 2, "valid", (11, 9), 6),
    "dw2x2_s1_valid_c4_6x7": lambda: m.depthwise(2, 1, "valid", (6, 7), 4),
    # Global average pooling (tinyc_fast_avgpool.h): channel tails (C % 4 = 1, 2), more than 255 pixels (the
    # int16 lane sums in chunks), a fused clamp
    "avgpool_global_c13_25x5": lambda: m.global_avgpool((25, 5), 13),
    "avgpool_global_c6_17x19_relu6": lambda: m.global_avgpool((17, 19), 6, relu6=True),
    "conv1x1_c16_to_10_relu6": lambda: m.conv(1, 1, "valid", (4, 5), 16, 10, "relu"),
    # The 4-pixel tile (tinyc_fc_tile4): the last 1 or 2 pixels of a quad, a 1-pixel output (stale columns in
    # the quad), odd channel counts, k4 = 288 (the longest columns on the stack) with an odd number of groups
    # (one group per iteration), a 1x1 at stride 2; k4 = 300 and 540 split the columns (0 and 1 in the scratch, 2
    # and 3 on the stack), k4 = 600 stays on the 2-pixel tile:
    "conv1x1_c20_to_5_tile4_9px": lambda: m.conv(1, 1, "valid", (3, 3), 20, 5, "relu"),
    "conv3x3_s1_same_c7_to_3_tile4_6px": lambda: m.conv(3, 1, "same", (2, 3), 7, 3),
    "conv3x3_s1_valid_c4_to_3_tile4_1px": lambda: m.conv(3, 1, "valid", (3, 3), 4, 3),
    "conv3x3_s1_same_c32_to_5_tile4_k288": lambda: m.conv(3, 1, "same", (5, 5), 32, 5),
    "conv3x3_s2_same_c33_to_4_tile4_split_k297": lambda: m.conv(3, 2, "same", (5, 5), 33, 4),
    "conv3x3_s1_same_c64_to_3_tile4_split_k576": lambda: m.conv(3, 1, "same", (3, 3), 64, 3, "relu"),
    "conv5x5_s1_same_c24_to_3_tile2_k600": lambda: m.conv(5, 1, "same", (4, 5), 24, 3),
    "conv1x1_s2_c12_to_9_tile4_15px": lambda: m.conv(1, 2, "same", (5, 9), 12, 9, "relu"),
    "dense_37_to_11": lambda: m.dense(37, 11, "relu"),
    # Elementwise add (tinyc_dsp_elementwise_add_s8): fused ReLU (narrow clamp), residual adds in place:
    "add_relu": m.add_relu,
    "resnet_block": m.resnet_style,
    # In-place depthwise and in-place 1x1 convolution inside whole blocks:
    "mobilenetv2_block": m.mobilenetv2_style,
    "dscnn_block": m.dscnn_style,
    # In-place depthwise (padded-row window in the plane scratch, or on the stack for small planes: 4x4,
    # 8x8), every kernel size and stride, odd widths, 1 pixel per step at stride 2, 2 or 4 at stride 1;
    # in-place project convs with odd channel counts:
    "inplace_dw3x3_s1_same_9x7": lambda: inplace_block(3, 1, "same", (9, 7), 3, 3, 5),
    "inplace_dw3x3_s2_same_9x8": lambda: inplace_block(3, 2, "same", (9, 8), 2, 3, 3),
    "inplace_dw3x3_s1_valid_6x5": lambda: inplace_block(3, 1, "valid", (6, 5), 3, 1, 2),
    "inplace_dw3x3_s2_same_33x30": lambda: inplace_block(3, 2, "same", (33, 30), 2, 2, 3),
    "inplace_dw5x5_s1_same_4x4": lambda: inplace_block(5, 1, "same", (4, 4), 7, 1, 7),
    "inplace_dw5x5_s1_same_8x8": lambda: inplace_block(5, 1, "same", (8, 8), 4, 4, 9),
    "inplace_dw5x5_s2_same_17x16": lambda: inplace_block(5, 2, "same", (17, 16), 5, 2, 4),
    "inplace_dw5x5_s2_valid_11x9": lambda: inplace_block(5, 2, "valid", (11, 9), 6, 2, 3),
    "inplace_dw7x7_s1_same_9x12": lambda: inplace_block(7, 1, "same", (9, 12), 5, 1, 5),
    "inplace_dw7x7_s2_same_8x8": lambda: inplace_block(7, 2, "same", (8, 8), 5, 1, 3),
}


@pytest.mark.parametrize("board", BOARDS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_optimized_equals_portable(case: str, board: str, tflite_of) -> None:
    planned = plan_model(tflite_of(case, CASES[case]), board)
    for seed in (0, 1):
        fast = bench_planned(planned, seed=seed)
        slow = bench_planned(planned, seed=seed, portable=True)
        assert np.array_equal(fast.output, slow.output), (
            f"{case} on {board}, seed {seed}: first differing byte "
            f"{int(np.nonzero(fast.output != slow.output)[0][0])}")
        assert fast.instructions < slow.instructions


INT8_WEIGHT_CASES = ["conv1x1_c13_to_7_odd_pixels", "conv3x3_s2_same_c8_to_6", "conv5x5_s2_valid_c3_to_5",
                     "dense_37_to_11"]


@pytest.mark.parametrize("case", INT8_WEIGHT_CASES)
def test_int8_weight_layouts_equal_portable(case: str, tflite_of, monkeypatch) -> None:
    """Where flash is short the specialized kernels read int8 weights (SXTB16 in the kernel): squeeze the flash
    budget to just what the int8 layouts need, then the same bytes as the portable kernels."""
    planned = plan_model(tflite_of(case, CASES[case]), "stm32f412")
    schedule, board = planned.schedule, planned.board
    s8 = {c.consts[0].name: c.extra_flash_bytes for c in specialize.choose_kernels(schedule, board) if c.consts}
    for name in s8:  # what each op's int8 layout adds
        op = int(name.removeprefix("op").split("_")[0])
        call = next(s.call for s in schedule.steps if s.call.op_index == op)
        assert isinstance(call, (ConvCall, FullyConnectedCall))
        steps = sum(1 for s in schedule.steps if s.call.op_index == op)
        s8[name] = (specialize._fast_conv(call, specialize.WeightFormat.S8).extra_flash_bytes
                    + specialize.STEP_CODE_BYTES * steps)
    budget = max(sum(s8.values()), 0)  # one op each: its int16 layout needs more
    fixed = schedule.weights_bytes + specialize.code_estimate_bytes(schedule)
    monkeypatch.setattr(specialize, "FLASH_HEADROOM_FRACTION", 1 - (budget + fixed) / board.flash.size_bytes)
    formats = {c.weight_format for c in specialize.choose_kernels(schedule, board) if c.consts}
    assert specialize.WeightFormat.S8 in formats
    fast = bench_planned(planned, seed=3)
    slow = bench_planned(planned, seed=3, portable=True)
    assert np.array_equal(fast.output, slow.output)


def test_bench_is_deterministic() -> None:
    model = ROOT / "models" / "tiny_dscnn.py"
    first = bench(model, "stm32f412")
    second = bench(model, "stm32f412")
    assert first.instructions == second.instructions
    assert first.runs == second.runs and max(first.runs) - min(first.runs) <= first.instructions_per_tick
    assert [layer.instructions for layer in first.layers] == [layer.instructions for layer in second.layers]
    assert first.as_json()["layers"][0].keys() >= {"name", "op", "instructions", "macs"}
    assert first.macs == sum(layer.macs for layer in first.layers) > 0
    assert first.instructions % first.instructions_per_tick == 0


def test_cycle_estimate_follows_the_executed_instructions() -> None:
    """The traced run sees the instructions icount counts; M4 cycles exceed instructions (multi-cycle loads,
    taken branches); the M7 bound costs no more than the M4 estimate."""
    model = ROOT / "models" / "tiny_dscnn.py"
    m4 = bench(model, "stm32f412", cycles=True)
    assert m4.cycles is not None and m4.cycles_per_mac is not None
    assert abs(m4.cycles.instructions - m4.instructions) <= 0.02 * m4.instructions
    assert m4.instructions < m4.cycles.cycles < 2 * m4.instructions
    assert sum(layer.estimated_cycles or 0 for layer in m4.layers) == pytest.approx(m4.cycles.cycles)
    m7 = bench(model, "stm32h743", cycles=True)
    assert m7.cycles is not None and m7.cycles.cycles < m4.cycles.cycles
    assert m4.as_json()["estimated_cycles"] == m4.cycles.cycles
    assert m4.model_code_bytes > 0 and m4.kernel_code_bytes > 0


CMSIS_NN = os.environ.get("TINYC_CMSIS_NN")  # a CMSIS-NN checkout (v7.0.0 or newer) to compare against


@pytest.mark.skipif(not CMSIS_NN, reason="set TINYC_CMSIS_NN to a CMSIS-NN checkout to compare against it")
@pytest.mark.parametrize("case", ["dscnn_block", "resnet_block"])
def test_bench_against_real_cmsis_nn(case: str, tflite_of) -> None:
    """`tinyc bench --cmsis-nn`: the same firmware built against Arm's CMSIS-NN (int8 sources only, so newer
    checkouts with float kernels build too) gives the same bytes as tinyc's kernels, per layer counted."""
    planned = plan_model(tflite_of(case, CASES[case]), "stm32f412",
                         options=ScheduleOptions(kind="per-layer", in_place=False))
    ours = bench_planned(planned)
    arm = bench_planned(planned, cmsis_nn_dir=Path(CMSIS_NN))
    assert arm.kernels == "cmsis-nn" and ours.kernels == "optimized"
    assert np.array_equal(ours.output, arm.output)
    assert [layer.op for layer in ours.layers] == [layer.op for layer in arm.layers]


def test_kernel_code_counts_linked_sections_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A kernel the model does not call is in the map's discarded sections (address 0), not in the ELF."""
    from tinyc.run.bench import kernel_code_bytes

    (tmp_path / "firmware.map").write_text(
        "Archive member included to satisfy reference by file (symbol)\n\n"
        "Discarded input sections\n\n"
        " .text.tinyc_lstm_s8\n                0x00000000      0x5a4 obj/kernels/tinyc_lstm.o\n"
        " .text.tinyc_strided_copy_s8  0x00000000       0x40 obj/kernels/tinyc_kernels.o\n\n"
        "Memory Configuration\n\n"
        "Linker script and memory map\n\n"
        " .text.tinyc_nn_softmax_s8\n                0x08000400      0x408 obj/kernels/arm_softmax_s8.o\n"
        " .text.tinyc_step0  0x08000900       0x54 obj/model.o\n")
    assert kernel_code_bytes(tmp_path) == 0x408
