"""Receptive-field redistribution (MCUNetV2, section 3.2): a transform of an MCUNet-style spec.

Patch-based inference recomputes the halo of every patch; the halo grows with the receptive field
of the patch stage. Redistribution shrinks that receptive field — smaller depthwise kernels and
fewer stride-1 blocks in the stages that run patch by patch — and moves the removed blocks to the
first stage that runs per layer, so the network keeps its depth where recomputation costs nothing.
"""

from __future__ import annotations

from dataclasses import replace

from tinyc.frontend.spec import BlockChoice, MCUNetSpec, Stage


def redistribute_receptive_field(spec: MCUNetSpec, *, patch_stages: int, patch_kernel: int | None = None,
                                 blocks_per_stage: int = 1) -> MCUNetSpec:
    """Keep at most `blocks_per_stage` blocks (the strided first ones) in each of the first
    `patch_stages` stages, with depthwise kernel `patch_kernel` if given (never larger than before),
    and append the removed blocks to stage `patch_stages` (the first one run per layer)."""
    if not 0 < patch_stages < len(spec.stages):
        raise ValueError(f"patch_stages must be between 1 and {len(spec.stages) - 1}, got {patch_stages}")
    if blocks_per_stage < 1:
        raise ValueError(f"blocks_per_stage must be at least 1, got {blocks_per_stage}")
    stages = list(spec.stages)
    moved: list[BlockChoice] = []
    for i in range(patch_stages):
        kept = stages[i].blocks[:blocks_per_stage]
        moved += stages[i].blocks[blocks_per_stage:]
        if patch_kernel is not None:
            kept = tuple(replace(b, kernel=min(b.kernel, patch_kernel)) for b in kept)
        stages[i] = replace(stages[i], blocks=kept)
    target: Stage = stages[patch_stages]
    stages[patch_stages] = replace(target, blocks=target.blocks + tuple(moved))
    return replace(spec, name=f"{spec.name}_rd", stages=tuple(stages))
