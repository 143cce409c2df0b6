"""Optimized (ARMv7E-M DSP) kernels against tinyc's portable kernels, both compiled, in QEMU on both
boards: the same firmware built with and without -DTINYC_PORTABLE_KERNELS must print the same output
bytes for the same input; and `tinyc bench` counts the same instructions run to run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import models_for_tests as m
from conftest import BOARDS, needs_toolchain
from tinyc.bench import bench, bench_planned
from tinyc.driver import plan_model

pytestmark = [needs_toolchain, pytest.mark.emulator]

ROOT = Path(__file__).resolve().parents[1]

# Odd channel counts, channel tails (C % 4 != 0), odd pixel counts, k % 4 != 0, borders, strides.
CASES = {
    "conv1x1_c13_to_7_odd_pixels": lambda: m.conv(1, 1, "valid", (5, 7), 13, 7, "relu"),
    "conv1x1_s2_c6_to_9": lambda: m.conv(1, 2, "same", (7, 5), 6, 9),
    "conv3x3_s1_same_c5_to_11": lambda: m.conv(3, 1, "same", (9, 7), 5, 11, "relu"),
    "conv3x3_s2_same_c8_to_6": lambda: m.conv(3, 2, "same", (9, 8), 8, 6),
    "conv5x5_s2_valid_c3_to_5": lambda: m.conv(5, 2, "valid", (11, 9), 3, 5),
    "dw3x3_s1_same_c9": lambda: m.depthwise(3, 1, "same", (7, 9), 9),
    "dw3x3_s2_same_c6_relu6": lambda: m.depthwise(3, 2, "same", (9, 8), 6, "relu6"),
    "dw5x5_s1_same_c7": lambda: m.depthwise(5, 1, "same", (10, 11), 7),
    "dw5x5_s2_valid_c12": lambda: m.depthwise(5, 2, "valid", (11, 9), 12),
    "dw7x7_s1_same_c5": lambda: m.depthwise(7, 1, "same", (9, 12), 5),
    "dw7x7_s2_same_c8": lambda: m.depthwise(7, 2, "same", (13, 11), 8),
    "dense_37_to_11": lambda: m.dense(37, 11, "relu"),
    # In-place depthwise and in-place 1x1 convolution inside whole blocks:
    "mobilenetv2_block": m.mobilenetv2_style,
    "dscnn_block": m.dscnn_style,
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
