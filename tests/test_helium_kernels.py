"""tinyc's Helium (MVE) kernels on the Cortex-M55 board, bit-exact against TFLite Micro in QEMU's mps3-an547: small
chains of ops whose every output is compared (tinyc verify compares each op's output with TFLite Micro's
intermediate tensors), chosen to reach the kernels' tails and borders: k not a multiple of 16 (the predicated last
chunk of a 1x1 convolution read in place), an odd pixel count (the last pixel alone), output channels not a multiple
of 4 (the predicated store), k x k windows over the border (the zero point gathered), strides, a fully connected
layer, 3x3 depthwise layers at stride 1 and 2 with padding (rows of the zero point), a depthwise layer the Helium
kernel does not take (5x5: the DSP kernel), and residual ADDs."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from conftest import needs_toolchain
from models_for_tests import keras, layers
from tinyc.plan.specialize import Variant

pytestmark = [needs_toolchain, pytest.mark.emulator]

BOARD = "alif_e7_hp"


def chain_a() -> keras.Model:
    """1x1 13 -> 7 over 9x7 (k = 13: one predicated chunk; 63 pixels; 7 outputs: a predicated quad), 3x3 stride 2
    same 7 -> 20 (k = 63 gathered), 3x3 depthwise stride 1 same (20 channels), 3x3 depthwise stride 2 valid, dense."""
    x = keras.Input((9, 7, 13))
    h = layers.Conv2D(7, 1, activation="relu")(x)
    h = layers.Conv2D(20, 3, strides=2, padding="same")(h)
    h = layers.ReLU(6.0)(layers.DepthwiseConv2D(3, padding="same")(h))
    h = layers.DepthwiseConv2D(3, strides=2, padding="valid")(h)
    return keras.Model(x, layers.Dense(11)(layers.Flatten()(h)))


def chain_b() -> keras.Model:
    """1x1 stride 2 over 40 channels (2 chunks and a tail of 8), 5x5 same 12 -> 8 (k = 300: 19 chunks, more than the
    asm unrolls: a loop of 8 and 3 more), 5x5 depthwise (the DSP kernel), 1x1 8 -> 33 (k = 8 < 16)."""
    x = keras.Input((6, 5, 40))
    h = layers.Conv2D(12, 1, strides=2, padding="same")(x)
    h = layers.Conv2D(8, 5, padding="same", activation="relu")(h)
    h = layers.DepthwiseConv2D(5, padding="same")(h)
    return keras.Model(x, layers.Conv2D(33, 1)(h))


def chain_c() -> keras.Model:
    """Wide layers: 1x1 260 -> 132 (16 chunks and a tail of 4), 3x3 depthwise over 132 channels (more than 127: the
    side taps through address adds) on a 1-pixel-wide input (every window leaves the input), 1x1 132 -> 48, then a
    3x3 depthwise over 48 channels (the side taps at immediate offsets)."""
    x = keras.Input((5, 1, 260))
    h = layers.Conv2D(132, 1, activation="relu")(x)
    h = layers.DepthwiseConv2D(3, padding="same")(h)
    h = layers.Conv2D(48, 1)(h)
    return keras.Model(x, layers.DepthwiseConv2D(3, padding="same")(h))


def chain_d() -> keras.Model:
    """Residual ADDs (tinyc_fast_add_s8's Helium path: 4 elements a vector, the table lookups gathered): 5x7x6 = 210
    elements (a predicated last vector of 2), one with a fused ReLU (the narrower clamp)."""
    x = keras.Input((5, 7, 6))
    h = layers.Conv2D(6, 3, padding="same")(x)
    h = layers.ReLU()(layers.Add()([h, x]))
    return keras.Model(x, layers.Add()([layers.Conv2D(6, 1)(h), h]))


CHAINS = {"a": (chain_a, {Variant.HELIUM_CONV, Variant.HELIUM_DEPTHWISE}),
          "b": (chain_b, {Variant.HELIUM_CONV, Variant.FAST_DEPTHWISE}),
          "c": (chain_c, {Variant.HELIUM_CONV, Variant.HELIUM_DEPTHWISE}),
          "d": (chain_d, {Variant.HELIUM_CONV, Variant.FAST_ADD})}


@pytest.mark.parametrize("name", sorted(CHAINS))
def test_helium_kernels_bit_exact(name: str, tflite_of) -> None:
    from tinyc.run.verify import verify
    build, variants = CHAINS[name]
    result = verify(tflite_of(f"helium_{name}", build), BOARD, samples=2)
    assert result.first_mismatch is None, result.first_mismatch.describe()
    assert result.mismatched_samples == 0 and len(result.run.outputs) == 2
    assert variants <= {c.variant for c in result.planned.kernels}


CMSIS_NN = os.environ.get("TINYC_CMSIS_NN")  # Arm's CMSIS-NN checkout (v7.0.0), to compare against its MVE kernels


@pytest.mark.skipif(not CMSIS_NN, reason="set TINYC_CMSIS_NN to a CMSIS-NN checkout to compare against it")
def test_against_cmsis_nn_helium(tflite_of) -> None:
    """`tinyc bench --cmsis-nn` on the M55: Arm's CMSIS-NN built for the M55 (its MVE kernels, which need the MVE
    scratch sizes and, for fully connected layers, the weight sums arm_vector_sum_s8 writes) gives tinyc's bytes, in
    fewer instructions for tinyc."""
    from tinyc.plan.pipeline import plan_model
    from tinyc.plan.search import ScheduleOptions
    from tinyc.run.bench import bench_planned
    planned = plan_model(tflite_of("helium_a", chain_a), BOARD, options=ScheduleOptions(kind="per-layer",
                                                                                        in_place=False))
    ours = bench_planned(planned)
    arm = bench_planned(planned, cmsis_nn_dir=Path(CMSIS_NN))
    assert np.array_equal(ours.output, arm.output)
    assert ours.instructions < arm.instructions
