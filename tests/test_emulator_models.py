"""Whole models on both boards in QEMU: every output byte equals TFLite Micro's."""

from __future__ import annotations

import pytest

import models_for_tests as m
from conftest import BOARDS, needs_toolchain
from tinyc.run.verify import verify

pytestmark = [needs_toolchain, pytest.mark.emulator]

MODELS = {"mobilenetv2_style": m.mobilenetv2_style, "dscnn_style": m.dscnn_style, "resnet_style": m.resnet_style}


@pytest.mark.parametrize("board", BOARDS)
@pytest.mark.parametrize("name", sorted(MODELS))
def test_whole_model_bit_exact(name: str, board: str, tflite_of) -> None:
    result = verify(tflite_of(name, MODELS[name]), board, samples=5)
    assert result.first_mismatch is None, result.first_mismatch.describe()
    assert result.mismatched_samples == 0
    # Measured never exceeds planned: the stack the firmware measured by painting stays inside what the
    # linker reserved, and code and statics from the ELF stay under the estimates the fit check used.
    assert 0 < result.run.stack_used_bytes <= result.report.stack_bytes
    assert result.report.code_bytes <= result.planned.report.code_bytes
    assert result.report.statics_bytes <= result.planned.report.statics_bytes
    assert result.report.arena_bytes == result.planned.report.arena_bytes
    assert result.report.fits
