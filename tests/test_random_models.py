"""Random architectures from the supported layers, never seen before by any other test: bit-exact in QEMU.

Each seed draws a small network: a stem, a few blocks chosen among conv (kernel 1/3/5/7, stride 1/2,
SAME/VALID), depthwise, residual add, pooling, zero padding, channel concatenation, ReLU/ReLU6, then
a head (global average pooling or Flatten) and Dense, optionally Softmax. The seeds of `NEW_OPS_SEEDS` also draw
the table activations (LeakyReLU, sigmoid, tanh, hard-swish, hard-sigmoid), squeeze-and-excitation gates (broadcasting
MUL) and MUL / SUB / MAXIMUM / MINIMUM of two branches. The seeds of `SPATIAL_SEEDS` draw dilated convolutions and
depthwise convolutions (with random biases: the converter's SPACE_TO_BATCH_ND chain and a bias ADD), depth multipliers
and upsampling paths (UpSampling2D, a strided conv back down, and a channel concatenation or an ADD with the input).
"""

from __future__ import annotations

import random

import pytest

from conftest import BOARDS, needs_toolchain
from tinyc.run.verify import verify

pytestmark = [needs_toolchain, pytest.mark.emulator]

SEEDS = (*range(6), 19, 29)  # 19 and 29 found pooling with a fused ReLU6
NEW_OPS_SEEDS = (103, 110)  # LOGISTIC, MAXIMUM, MUL (SE gate), QUANTIZE; MINIMUM, SUB, MUL
SPATIAL_SEEDS = (207, 214)
UPSAMPLING_SEEDS = (306, 308)  # also transposed convolutions and bilinear upsampling  # dilated conv and depthwise, upsampling; also depth multipliers, (1, 2) upsampling


def _spatial_block(y, rng: random.Random, *, upsampling: bool = False):  # type: ignore[no-untyped-def]
    from keras import initializers, layers

    channels, size = y.shape[-1], min(y.shape[1], y.shape[2])
    block = rng.choice(["dilated", "dilated_dw", "multiplier", "upsample"] + (["transpose", "bilinear"] if upsampling
                                                                              else []))
    if block in ("transpose", "bilinear"):
        factor = rng.choice([2, (2, 1), (1, 2)])
        if block == "transpose":
            up = layers.Conv2DTranspose(channels, rng.choice([2, 3, 4]), strides=factor, padding="same",
                                        activation=rng.choice(["relu", None]), bias_initializer=initializers.RandomUniform(-0.3, 0.3))(y)
        else:
            up = layers.UpSampling2D(factor, interpolation="bilinear")(y)
        down = layers.Conv2D(channels, 3, strides=(up.shape[1] // y.shape[1], up.shape[2] // y.shape[2]),
                             padding="same")(up)
        return layers.Concatenate()([y, down])
    bias = initializers.RandomUniform(-0.3, 0.3)
    if block == "dilated" and size >= 5:
        return layers.Conv2D(rng.randint(3, 10), rng.choice([2, 3]), dilation_rate=rng.choice([2, 3]),
                             padding=rng.choice(["same", "valid"]) if size >= 9 else "same",
                             activation=rng.choice(["relu", None]), bias_initializer=bias)(y)
    if block == "dilated_dw" and size >= 5:
        return layers.DepthwiseConv2D(3, dilation_rate=2, padding="same", depth_multiplier=rng.choice([1, 2]),
                                      bias_initializer=bias)(y)
    if block == "multiplier":
        return layers.DepthwiseConv2D(3, strides=rng.choice([1, 2]) if size > 4 else 1, padding="same",
                                      depth_multiplier=rng.choice([2, 3]), activation="relu")(y)
    up = layers.UpSampling2D(rng.choice([2, (2, 1), (1, 2)]))(layers.Conv2D(channels, 1, activation="relu")(y))
    down = layers.Conv2D(channels, 3, strides=(up.shape[1] // y.shape[1], up.shape[2] // y.shape[2]),
                         padding="same")(up)
    return layers.Concatenate()([y, down]) if rng.random() < 0.5 else layers.Add()([y, down])


def _new_op_block(y, rng: random.Random):  # type: ignore[no-untyped-def]
    from keras import layers

    channels = y.shape[-1]
    block = rng.choice(["act", "se", "binary"])
    if block == "act":
        return rng.choice([layers.LeakyReLU(rng.choice([0.05, 0.2])), layers.Activation("sigmoid"),
                           layers.Activation("tanh"), layers.Activation("hard_swish"),
                           layers.Activation("hard_sigmoid")])(y)
    if block == "se":
        s = layers.GlobalAveragePooling2D(keepdims=True)(y)
        s = layers.Conv2D(max(2, channels // 4), 1, activation="relu")(s)
        s = layers.Conv2D(channels, 1, activation=rng.choice(["sigmoid", "hard_sigmoid"]))(s)
        return layers.Multiply()([y, s])
    other = layers.Conv2D(channels, rng.choice([1, 3]), padding="same")(y)
    merge = rng.choice([layers.Multiply, layers.Subtract, layers.Maximum, layers.Minimum])
    return merge()([y, other] if rng.random() < 0.5 else [other, y])


def random_model(seed: int, *, new_ops: bool = False, spatial: bool = False, upsampling: bool = False):
    import keras
    from keras import layers

    rng = random.Random(seed)
    h, w = rng.randint(9, 20), rng.randint(9, 20)
    x = keras.Input((h, w, rng.choice([1, 3, 4])))
    y = layers.Conv2D(rng.choice([4, 6, 8]), rng.choice([3, 5]), strides=rng.choice([1, 2]), padding="same",
                      activation=rng.choice(["relu", None]))(x)
    for _ in range(rng.randint(2, 5)):
        size, channels = min(y.shape[1], y.shape[2]), y.shape[-1]
        block = rng.choice(["conv", "dw", "residual", "pool", "pad", "concat", "act"])
        if block == "conv":
            k = rng.choice([k for k in (1, 3, 5, 7) if k <= size])
            y = layers.Conv2D(rng.randint(3, 12), k, strides=rng.choice([1, 2]) if size > 4 else 1,
                              padding=rng.choice(["same", "valid"]))(y)
        elif block == "dw" and size >= 3:
            k = rng.choice([k for k in (3, 5, 7) if k <= size])
            y = layers.DepthwiseConv2D(k, strides=rng.choice([1, 2]) if size > 4 else 1, padding="same",
                                       activation=rng.choice(["relu", None]))(y)
        elif block == "residual":
            h2 = layers.ReLU(6.0)(layers.Conv2D(channels * 2, 1)(y))
            h2 = layers.Conv2D(channels, 1)(layers.DepthwiseConv2D(3, padding="same")(h2))
            y = layers.Add()([y, h2])
        elif block == "pool" and size >= 4:
            pool = rng.choice([layers.AveragePooling2D, layers.MaxPooling2D])
            y = pool(rng.choice([2, 3]), strides=2, padding=rng.choice(["same", "valid"]))(y)
        elif block == "pad":
            y = layers.ZeroPadding2D(((rng.randint(0, 2), rng.randint(0, 2)), (rng.randint(0, 2), rng.randint(0, 2))))(y)
        elif block == "concat":
            y = layers.Concatenate()([y, layers.Conv2D(rng.randint(2, 6), 3, padding="same")(y)])
        else:
            y = rng.choice([layers.ReLU(), layers.ReLU(6.0)])(y)
        if new_ops:
            y = _new_op_block(y, rng)
        if spatial or upsampling:
            y = _spatial_block(y, rng, upsampling=upsampling)
    y = layers.GlobalAveragePooling2D()(y) if rng.random() < 0.5 else layers.Flatten()(y)
    y = layers.Dense(rng.randint(2, 12))(y)
    return keras.Model(x, layers.Softmax()(y) if rng.random() < 0.5 else y)


@pytest.mark.parametrize("seed", SEEDS)
def test_random_architecture_bit_exact(seed: int, tflite_of) -> None:
    """Every seed on every board; on the second board odd seeds read their constants from SRAM (--constants sram)
    and even ones stage their convolutions' (--constants stage)."""
    from tinyc.plan.constants import ConstantsPolicy
    from tinyc.plan.search import ScheduleOptions
    model = tflite_of(f"random_{seed}", lambda: random_model(seed))
    for k, board in enumerate(BOARDS):
        policy = ConstantsPolicy.FLASH if k == 0 else ConstantsPolicy.SRAM if seed % 2 else ConstantsPolicy.STAGE
        result = verify(model, board, samples=3, options=ScheduleOptions(constants=policy))
        assert result.first_mismatch is None, (f"seed {seed} on {board} (--constants {policy.value}): "
                                               f"{result.first_mismatch.describe()}")
        assert result.reference == "tflite-micro"


@pytest.mark.parametrize("seed", NEW_OPS_SEEDS)
def test_random_architecture_with_new_ops_bit_exact(seed: int, tflite_of) -> None:
    model = tflite_of(f"random_new_ops_{seed}", lambda: random_model(seed, new_ops=True))
    for board in BOARDS:
        result = verify(model, board, samples=3)
        assert result.first_mismatch is None, f"seed {seed} on {board}: {result.first_mismatch.describe()}"
        assert result.reference == "tflite-micro"


@pytest.mark.parametrize("seed", SPATIAL_SEEDS)
def test_random_architecture_with_dilations_and_upsampling_bit_exact(seed: int, tflite_of) -> None:
    """TFLite Micro runs the folded chains as their native ops (dilated convolution, RESIZE_NEAREST_NEIGHBOR)."""
    model = tflite_of(f"random_spatial_{seed}", lambda: random_model(seed, spatial=True))
    for board in BOARDS:
        result = verify(model, board, samples=3)
        assert result.first_mismatch is None, f"seed {seed} on {board}: {result.first_mismatch.describe()}"
        assert result.reference == "tflite-micro"


@pytest.mark.parametrize("seed", UPSAMPLING_SEEDS)
def test_random_architecture_with_transposed_and_bilinear_upsampling_bit_exact(seed: int, tflite_of) -> None:
    model = tflite_of(f"random_upsampling_{seed}", lambda: random_model(seed, upsampling=True))
    for board in BOARDS:
        result = verify(model, board, samples=3)
        assert result.first_mismatch is None, f"seed {seed} on {board}: {result.first_mismatch.describe()}"
        assert result.reference == "tflite-micro"
