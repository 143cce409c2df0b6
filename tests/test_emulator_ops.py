"""Single-op models swept over kernel, stride, padding, odd sizes and channel counts, on both boards:
every output byte of the firmware in QEMU equals TFLite Micro's."""

from __future__ import annotations

import numpy as np
import pytest

import models_for_tests as m
from conftest import BOARDS, needs_toolchain
from tinyc.ir.lower import KernelKind
from tinyc.plan.pipeline import plan_model
from tinyc.plan.specialize import choose_kernels
from tinyc.run.emulators import Emulator
from tinyc.run.verify import verify, verify_planned

pytestmark = [needs_toolchain, pytest.mark.emulator]

CONV_CASES = {
    "conv_k1_s1_valid": lambda: m.conv(1, 1, "valid", (5, 7), 3, 8),
    "conv_k3_s1_same_relu": lambda: m.conv(3, 1, "same", (9, 7), 5, 7, "relu"),
    "conv_k3_s2_same": lambda: m.conv(3, 2, "same", (9, 8), 4, 6),
    "conv_k5_s2_valid": lambda: m.conv(5, 2, "valid", (11, 9), 3, 5),
    "conv_k5_s1_same_relu": lambda: m.conv(5, 1, "same", (7, 6), 2, 3, "relu"),
    "conv_k7_s1_same": lambda: m.conv(7, 1, "same", (8, 9), 3, 4),
    "conv_k7_s2_valid": lambda: m.conv(7, 2, "valid", (13, 12), 1, 9),
    "conv_k10x4_s2_same": lambda: m.conv((10, 4), 2, "same", (13, 7), 1, 8, "relu"),
    "conv_k1_s2_same": lambda: m.conv(1, 2, "same", (7, 5), 6, 3),
    "dw_k3_s1_same": lambda: m.depthwise(3, 1, "same", (7, 9), 5),
    "dw_k3_s2_same_relu6": lambda: m.depthwise(3, 2, "same", (9, 8), 6, "relu6"),
    "dw_k3_s1_same_c5_13x7": lambda: m.depthwise(3, 1, "same", (13, 7), 5),  # 2 x 2 and 4 x 1 blocks, odd rows
    "dw_k3_s2_same_c7_13x11": lambda: m.depthwise(3, 2, "same", (13, 11), 7),  # stride-2 2 x 2 blocks, odd rows
    "dw_k5_s1_valid": lambda: m.depthwise(5, 1, "valid", (9, 7), 3),
    "dw_k5_s2_same": lambda: m.depthwise(5, 2, "same", (10, 11), 7),
    "dw_k7_s1_same": lambda: m.depthwise(7, 1, "same", (8, 8), 4),
    "dw_k7_s2_valid": lambda: m.depthwise(7, 2, "valid", (13, 11), 2),
    "dw_k3_s1_same_m2": lambda: m.depthwise_multiplier(3, 1, "same", (7, 6), 3, 2),
    "dw_k5_s2_valid_m3": lambda: m.depthwise_multiplier(5, 2, "valid", (11, 9), 2, 3),
    "dilated_conv_k3_d2_same": lambda: m.dilated(False, 2, "same", (9, 10), 3, 5),
    "dilated_conv_k3_d3x2_valid_relu": lambda: m.dilated(False, (3, 2), "valid", (12, 9), 4, 6, activation="relu"),
    "dilated_conv_k5_d2_same": lambda: m.dilated(False, 2, "same", (11, 8), 2, 4, k=5),
    "dilated_dw_k3_d2_same": lambda: m.dilated(True, 2, "same", (9, 7), 5),
    "dilated_dw_k3_d4_same_m2": lambda: m.dilated(True, 4, "same", (13, 12), 3, depth_multiplier=2),
    "dilated_dw_k3_d2_valid": lambda: m.dilated(True, 2, "valid", (10, 9), 4),
    "upsample_concat": m.upsample_concat,
    "conv1d": m.conv1d,
    "dilated_conv1d": m.dilated_conv1d,
    "prelu_broadcast_add": m.prelu_broadcast_add,
    "upsample_bilinear": m.upsample_bilinear,
    "transpose_conv_concat": m.transpose_conv_concat,
    "cropping": m.cropping,
    "shape_ops": m.shape_ops,
    "dense_relu": lambda: m.dense(37, 11, "relu"),
    "add_relu": m.add_relu,
    "pools_concat_mean": m.pools,
    "pad_softmax_flatten": m.pad_softmax,
    "standalone_relu6": m.standalone_relu6,
    "pools_fused_relu6": m.pools_fused_relu6,
    # tinyc_fast_avgpool.h: one window over the whole input, C % 4 = 3, more than 255 pixels
    "avgpool_global_c7_16x17": lambda: m.global_avgpool((16, 17), 7),
    # ... and one window of the first 24 of 25 rows (KWS DS-CNN's), C % 4 = 1
    "avgpool_rows_c5_25x5": lambda: m.global_avgpool((25, 5), 5, rows=24),
}


@pytest.mark.parametrize("board", BOARDS)
@pytest.mark.parametrize("case", sorted(CONV_CASES))
def test_single_op_bit_exact(case: str, board: str, tflite_of) -> None:
    result = verify(tflite_of(case, CONV_CASES[case]), board, samples=3)
    assert result.first_mismatch is None, result.first_mismatch.describe()
    assert result.mismatched_samples == 0
    assert len(result.run.outputs) == 3


@pytest.mark.parametrize("board", BOARDS)
def test_pruned_channels_are_compile_time_constants(board: str, tflite_of) -> None:
    """All-zero-weight channels with biases near 2^30 (vww_96_int8's): the layers stay on the specialized kernel,
    the pruned channels' outputs are constants computed at compile time, every byte equals TFLite Micro's."""
    path = tflite_of("pruned_channels", m.pruned_channels)
    planned = plan_model(path, board)
    choices = choose_kernels(planned.schedule, planned.board)
    assert tuple(c.live_channels for c in choices if c.row is not None) == m.PRUNED_LIVE_CHANNELS
    result = verify(path, board, samples=3)
    assert result.first_mismatch is None, result.first_mismatch.describe()
    assert result.mismatched_samples == 0


@pytest.mark.parametrize("board", BOARDS)
def test_lookup_table_activations_on_all_256_inputs(board: str, tflite_of) -> None:
    """LEAKY_RELU, LOGISTIC, TANH and HARD_SWISH run as one generic table kernel: fed every int8 value, each op's
    output equals TFLite Micro's (the first sample is traced op by op)."""
    planned = plan_model(tflite_of("activations_256", m.activations_256), board)
    kinds = [c.kind for c in planned.lowered.calls]
    assert kinds.count(KernelKind.LUT) == 4
    every_value = np.arange(-128, 128, dtype=np.int8).reshape(1, 16, 16, 1)
    result = verify_planned(planned, [every_value, every_value[:, ::-1].copy()], folder=None, cmsis_nn=None,
                            emulator=Emulator.QEMU)
    assert result.ops_compared == len(planned.lowered.calls)
    assert result.first_mismatch is None, result.first_mismatch.describe()
    assert result.mismatched_samples == 0


@pytest.mark.parametrize("board", BOARDS)
def test_squeeze_excite_mul_sub_maximum_minimum(board: str, tflite_of) -> None:
    result = verify(tflite_of("squeeze_excite", m.squeeze_excite), board, samples=3)
    kinds = {c.kind for c in result.planned.lowered.calls}
    assert {KernelKind.MUL, KernelKind.SUB, KernelKind.MAXIMUM, KernelKind.MINIMUM, KernelKind.LUT} <= kinds
    assert result.first_mismatch is None, result.first_mismatch.describe()
    assert result.mismatched_samples == 0


@pytest.mark.parametrize("board", BOARDS)
def test_folded_chains_prelu_and_broadcast_add(board: str, tflite_of) -> None:
    """A dilated conv with a bias (the converter's chain and its bias ADD, a constant operand) and an upsampling path
    lower to their kernels, with TFLite Micro (running the native ops) as the reference; PRELU and a broadcasting ADD
    of two activations too."""
    dilated = verify(tflite_of("dilated_conv_k3_d2_same", CONV_CASES["dilated_conv_k3_d2_same"]), board, samples=2)
    kinds = [c.kind for c in dilated.planned.lowered.calls]
    assert kinds == [KernelKind.CONV, KernelKind.ADD_BROADCAST]
    assert dilated.reference == "tflite-micro" and dilated.first_mismatch is None
    assert any("native" in note for note in dilated.report.notes)
    upsample = verify(tflite_of("upsample_concat", CONV_CASES["upsample_concat"]), board, samples=2)
    assert [c.kind for c in upsample.planned.lowered.calls].count(KernelKind.RESIZE_NEAREST) == 2
    assert upsample.reference == "tflite-micro" and upsample.first_mismatch is None
    prelu = verify(tflite_of("prelu_broadcast_add", CONV_CASES["prelu_broadcast_add"]), board, samples=2)
    kinds = [c.kind for c in prelu.planned.lowered.calls]
    assert kinds.count(KernelKind.PRELU) == 2 and KernelKind.ADD_BROADCAST in kinds
    assert prelu.reference == "tflite-micro" and prelu.first_mismatch is None


def test_shape_ops_lower_to_strided_copies(tflite_of) -> None:
    """Each used split part, the permute, both slices and the transpose are one strided copy (the SPLIT_V's dead parts
    cost nothing; the converter leaves that SPLIT_V in float between DEQUANTIZE and QUANTIZE: folded to int8)."""
    planned = plan_model(tflite_of("shape_ops", m.shape_ops), "stm32f412")
    kinds = [c.kind for c in planned.lowered.calls]
    assert kinds.count(KernelKind.STRIDED_COPY) == 7, kinds
    opcodes = [op.opcode_name for op in planned.lowered.graph.ops]
    assert {"SPLIT", "SPLIT_V", "TRANSPOSE", "STRIDED_SLICE"} <= set(opcodes), opcodes
    assert "DEQUANTIZE" not in opcodes and "QUANTIZE" not in opcodes


@pytest.mark.parametrize("board", BOARDS)
@pytest.mark.parametrize("case", ["lstm_stack", "lstm_sequence"])
def test_lstm_bit_exact(case: str, board: str, tflite_of) -> None:
    """tinyc_lstm_s8 in the firmware: stacked LSTMs (whole sequence, then the last step) and a saturating LSTM whose
    sequence is the model output; in QEMU, every output byte and every op's output equals TFLite Micro's."""
    pytest.importorskip("tf_keras", reason="tf_keras (Keras 2) builds the fused LSTM")
    build = {"lstm_stack": m.lstm_stack, "lstm_sequence": m.lstm_sequence}[case]
    result = verify(tflite_of(case, build), board, samples=3, emulator=Emulator.QEMU)
    kinds = [c.kind for c in result.planned.lowered.calls]
    assert kinds.count(KernelKind.LSTM) == (2 if case == "lstm_stack" else 1)
    assert result.first_mismatch is None, result.first_mismatch.describe()
    assert result.mismatched_samples == 0 and len(result.run.outputs) == 3
