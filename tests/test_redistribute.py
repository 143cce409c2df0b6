"""Receptive-field redistribution as a spec transform (no TensorFlow)."""

from __future__ import annotations

import pytest

from tinyc.frontend.count import count
from tinyc.frontend.redistribute import redistribute_receptive_field
from tinyc.frontend.zoo import mobilenet_v2


def test_mbv2_rd_moves_the_patch_stage_blocks_later() -> None:
    spec = mobilenet_v2(1.0, 224)
    rd = redistribute_receptive_field(spec, patch_stages=2)
    assert [s.depth for s in spec.stages] == [1, 2, 3, 4, 3, 3, 1]
    assert [s.depth for s in rd.stages] == [1, 1, 4, 4, 3, 3, 1]
    assert rd.name == "mobilenet_v2_1_224_rd"
    # The moved block now runs at 28x28 with 32 channels instead of 56x56 with 24: fewer MACs.
    assert count(rd.network()).macs < count(spec.network()).macs


def test_patch_kernel_never_grows_a_kernel() -> None:
    spec = mobilenet_v2(1.0, 224)
    rd = redistribute_receptive_field(spec, patch_stages=2, patch_kernel=5, blocks_per_stage=2)
    assert [b.kernel for b in rd.stages[1].blocks] == [3, 3]


@pytest.mark.parametrize(("stages", "per_stage"), [(0, 1), (7, 1), (2, 0)])
def test_bad_arguments_are_refused(stages: int, per_stage: int) -> None:
    with pytest.raises(ValueError):
        redistribute_receptive_field(mobilenet_v2(1.0, 224), patch_stages=stages, blocks_per_stage=per_stage)
