"""MLPerf Tiny's trained int8 reference models (../shared/mlperf-tiny/, from github.com/mlcommons/tiny; see the README
there): trained weights reach paths random weights do not (vww_96_int8's pruned channels, biases near 2^30). Skipped
where the models are not beside the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import needs_toolchain
from tinyc.ir.lower import KernelKind
from tinyc.plan.pipeline import plan_model
from tinyc.plan.specialize import Variant, choose_kernels
from tinyc.run.verify import verify

MLPERF = Path(__file__).resolve().parents[2] / "shared" / "mlperf-tiny"
MODELS = ("vww_96_int8", "kws_ref_model", "pretrainedResnet_quant", "ad01_int8")

pytestmark = pytest.mark.skipif(not all((MLPERF / f"{m}.tflite").exists() for m in MODELS),
                                reason=f"the MLPerf Tiny models are not in {MLPERF}")


def test_vww_pruned_layers_stay_on_the_specialized_kernel() -> None:
    """vww_96_int8: 9 1x1 layers have all-zero-weight channels with biases near 2^30; their outputs are constants,
    every convolution and the fully connected layer run a specialized kernel."""
    planned = plan_model(MLPERF / "vww_96_int8.tflite", "stm32f412")
    choices = choose_kernels(planned.schedule, planned.board)
    kinds = (KernelKind.CONV, KernelKind.DEPTHWISE_CONV, KernelKind.FULLY_CONNECTED)
    assert all(c.variant is not Variant.GENERIC for s, c in zip(planned.schedule.steps, choices) if s.call.kind in kinds)
    assert [s.call.op_index for s, c in zip(planned.schedule.steps, choices) if c.row is not None] == \
        [10, 12, 14, 16, 18, 20, 22, 24, 26]


@needs_toolchain
@pytest.mark.emulator
@pytest.mark.parametrize("model", MODELS)
def test_mlperf_model_bit_exact(model: str) -> None:
    result = verify(MLPERF / f"{model}.tflite", "stm32f412", samples=1)
    assert result.first_mismatch is None, result.first_mismatch.describe()
    assert result.mismatched_samples == 0
