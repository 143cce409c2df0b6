"""Reference network specs: MobileNetV2, MobileNetV1 and the MLPerf Tiny v1.x models.

Each constructor returns plain data (``Network`` or ``MCUNetSpec``); build it with
``tinyc.frontend.blocks.build_model`` and count it with ``tinyc.frontend.count.count``.
Dropout and weight regularizers of the original training scripts are omitted (inference no-ops).
"""

from __future__ import annotations

from tinyc.frontend.spec import (
    Activation,
    BasicResidual,
    BlockChoice,
    Conv,
    Dense,
    DepthwiseConv,
    Flatten,
    GlobalAvgPool,
    InvertedResidual,
    Layer,
    MCUNetSpec,
    Network,
    Pool,
    Softmax,
    Stage,
    round_channels,
)

# MobileNetV2 (Sandler et al. 2018, table 2): (expansion, channels, repeats, stride)
_MBV2_STAGES: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


def mobilenet_v2(alpha: float = 1.0, resolution: int = 224, *, num_classes: int = 1000,
                 in_channels: int = 3) -> MCUNetSpec:
    """MobileNetV2(alpha, r) as in ``keras.applications``: the 1280-channel head conv is only
    widened for alpha > 1."""
    stages = tuple(
        Stage(channels, stride, tuple(BlockChoice(3, expansion) for _ in range(repeats)))
        for expansion, channels, repeats, stride in _MBV2_STAGES
    )
    head = round_channels(1280 * alpha) if alpha > 1.0 else 1280
    return MCUNetSpec(
        name=f"mobilenet_v2_{alpha:g}_{resolution}",
        resolution=resolution,
        stem_channels=32,
        stages=stages,
        num_classes=num_classes,
        width=alpha,
        in_channels=in_channels,
        head_channels=head,
    )


# MobileNetV1 (Howard et al. 2017, table 1): pointwise channels and depthwise stride
_MBV1_BLOCKS: tuple[tuple[int, int], ...] = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
)


def _mobilenet_v1_body(alpha: float) -> list[Layer]:
    layers: list[Layer] = [Conv(round_channels(32 * alpha), (3, 3), (2, 2))]
    for channels, stride in _MBV1_BLOCKS:
        layers.append(DepthwiseConv((3, 3), (stride, stride)))
        layers.append(Conv(round_channels(channels * alpha), (1, 1)))
    return layers


def mobilenet_v1(alpha: float = 1.0, resolution: int = 224, *, num_classes: int = 1000,
                 in_channels: int = 3) -> Network:
    """MobileNetV1(alpha, r): ReLU activations, global average pool, Dense classifier."""
    layers = _mobilenet_v1_body(alpha) + [GlobalAvgPool(), Dense(num_classes), Softmax()]
    return Network(f"mobilenet_v1_{alpha:g}_{resolution}", (resolution, resolution, in_channels),
                   tuple(layers))


def vww_mobilenet_v1() -> Network:
    """MLPerf Tiny visual wake words: MobileNetV1 0.25 at 96x96x3, 3x3 average pool, Flatten,
    Dense(2)."""
    layers = _mobilenet_v1_body(0.25) + [Pool("avg", (3, 3), (3, 3)), Flatten(), Dense(2), Softmax()]
    return Network("vww_mobilenet_v1_0.25_96", (96, 96, 3), tuple(layers))


def kws_ds_cnn() -> Network:
    """MLPerf Tiny keyword spotting DS-CNN: 49x10x1 MFCCs, Conv 64 10x4 stride 2, 4 x
    [DW 3x3 + PW 64], average pool (24, 5), Flatten, Dense(12)."""
    layers: list[Layer] = [Conv(64, (10, 4), (2, 2))]
    for _ in range(4):
        layers += [DepthwiseConv((3, 3)), Conv(64, (1, 1))]
    layers += [Pool("avg", (24, 5), (24, 5)), Flatten(), Dense(12), Softmax()]
    return Network("kws_ds_cnn", (49, 10, 1), tuple(layers))


def ic_resnet8() -> Network:
    """MLPerf Tiny image classification ResNet-8: 32x32x3, 3x3 conv 16, three basic blocks of
    16/32/64 filters (1x1 projection shortcuts on the strided ones), 8x8 average pool, Flatten,
    Dense(10)."""
    layers: tuple[Layer, ...] = (
        Conv(16, (3, 3)),
        BasicResidual(16, 1),
        BasicResidual(32, 2),
        BasicResidual(64, 2),
        Pool("avg", (8, 8), (8, 8)),
        Flatten(),
        Dense(10),
        Softmax(),
    )
    return Network("ic_resnet8", (32, 32, 3), layers)


# ---------------------------------------------------------------- MCUNet-style zoo specs


def _stage(channels: int, stride: int, *blocks: tuple[int, int]) -> Stage:
    """A stage from (kernel, expansion) pairs."""
    return Stage(channels, stride, tuple(BlockChoice(kernel, expansion) for kernel, expansion in blocks))


def mcunet_f412() -> MCUNetSpec:
    """ImageNet-sized (1000 classes) MCUNet-style net for STM32F412 (256 KB SRAM, 1 MB flash):
    128x128 input, ~0.64M params, per-layer peak 128 KiB."""
    return MCUNetSpec(
        name="mcunet_f412",
        resolution=128,
        stem_channels=16,
        stages=(
            _stage(8, 1, (3, 1)),
            _stage(16, 2, (5, 3), (3, 3)),
            _stage(24, 2, (7, 4), (3, 4), (5, 4)),
            _stage(40, 2, (5, 4), (5, 4), (3, 4)),
            _stage(48, 1, (3, 4), (5, 4)),
            _stage(96, 2, (7, 6), (5, 4), (5, 4)),
            _stage(160, 1, (3, 6)),
        ),
        num_classes=1000,
    )


def mcunet_h743() -> MCUNetSpec:
    """ImageNet-sized MCUNet-style net for STM32H743 (512 KB SRAM, 2 MB flash): 160x160 input,
    ~1.3M params, per-layer peak 300 KiB."""
    return MCUNetSpec(
        name="mcunet_h743",
        resolution=160,
        stem_channels=24,
        stages=(
            _stage(8, 1, (3, 1)),
            _stage(24, 2, (5, 4), (3, 3)),
            _stage(40, 2, (7, 4), (3, 4), (5, 4)),
            _stage(80, 2, (5, 4), (5, 4), (3, 4)),
            _stage(96, 1, (3, 6), (5, 4)),
            _stage(112, 2, (7, 6), (5, 6), (5, 4)),
            _stage(256, 1, (3, 6)),
        ),
        num_classes=1000,
    )


def mcunet_f412_patch() -> MCUNetSpec:
    """High-resolution (192x192) MCUNet-style net for STM32F412 that needs patch-based execution:
    the stem and first two stages (96x96 and 48x48 maps) peak at 288 KiB per layer, above the
    board's 256 KiB; everything after them peaks at 144 KiB. ~0.64M params."""
    return MCUNetSpec(
        name="mcunet_f412_patch",
        resolution=192,
        stem_channels=16,
        stages=(
            _stage(8, 1, (3, 1)),
            _stage(16, 2, (3, 3), (3, 3)),
            _stage(24, 2, (7, 3), (3, 4), (5, 4)),
            _stage(40, 2, (5, 4), (5, 4), (3, 4)),
            _stage(48, 1, (3, 4), (5, 4)),
            _stage(96, 2, (7, 6), (5, 4), (5, 4)),
            _stage(160, 1, (3, 6)),
        ),
        num_classes=1000,
    )


def digits_mcunet() -> MCUNetSpec:
    """Small MCUNet-style net for scikit-learn's digits upsampled to 32x32x1, 10 classes."""
    return MCUNetSpec(
        name="digits_mcunet",
        resolution=32,
        in_channels=1,
        stem_channels=8,
        stages=(
            _stage(8, 1, (3, 1)),
            _stage(16, 2, (3, 4), (5, 3)),
            _stage(24, 2, (3, 4), (3, 4)),
            _stage(32, 1, (3, 4)),
        ),
        num_classes=10,
    )


# ---------------------------------------------------------------- tiny test models


def tiny_mbv2() -> MCUNetSpec:
    """MobileNetV2-style, 24x24x3, residual adds, kernels 3/5/7, 10 classes."""
    return MCUNetSpec(
        name="tiny_mbv2",
        resolution=24,
        stem_channels=8,
        stages=(
            _stage(8, 1, (3, 1)),
            _stage(16, 2, (3, 4), (5, 3)),
            _stage(24, 2, (7, 3), (3, 3)),
        ),
        num_classes=10,
        head_channels=64,
    )


def tiny_dscnn() -> Network:
    """DS-CNN-style, 49x10x1: Conv 16 10x4 stride 2, 2 x [DW 3x3 + PW 16], average pool 5x5,
    Flatten, Dense(12)."""
    layers: list[Layer] = [Conv(16, (10, 4), (2, 2))]
    for _ in range(2):
        layers += [DepthwiseConv((3, 3)), Conv(16, (1, 1))]
    layers += [Pool("avg", (5, 5), (5, 5)), Flatten(), Dense(12), Softmax()]
    return Network("tiny_dscnn", (49, 10, 1), tuple(layers))


def tiny_resnet() -> Network:
    """ResNet-style, 32x32x3: Conv 8, max pool 2x2, identity block 8, projection block 16
    (stride 2), projection block 24 (stride 1, 1x1 projection for the channel change), global
    average pool, Dense(10)."""
    layers: tuple[Layer, ...] = (
        Conv(8, (3, 3)),
        Pool("max", (2, 2), (2, 2)),
        BasicResidual(8, 1),
        BasicResidual(16, 2),
        BasicResidual(24, 1),
        GlobalAvgPool(),
        Dense(10),
        Softmax(),
    )
    return Network("tiny_resnet", (32, 32, 3), layers)


# MobileNetV3-Small (Howard et al. 2019, table 2): (kernel, expanded channels, output channels, squeeze-excite,
# activation, stride)
_MBV3_SMALL_BLOCKS: tuple[tuple[int, int, int, bool, Activation, int], ...] = (
    (3, 16, 16, True, "relu", 2),
    (3, 72, 24, False, "relu", 2),
    (3, 88, 24, False, "relu", 1),
    (5, 96, 40, True, "hard_swish", 2),
    (5, 240, 40, True, "hard_swish", 1),
    (5, 240, 40, True, "hard_swish", 1),
    (5, 120, 48, True, "hard_swish", 1),
    (5, 144, 48, True, "hard_swish", 1),
    (5, 288, 96, True, "hard_swish", 2),
    (5, 576, 96, True, "hard_swish", 1),
    (5, 576, 96, True, "hard_swish", 1),
)


def mobilenet_v3_small(alpha: float = 1.0, resolution: int = 224, *, num_classes: int = 1000,
                       last_channels: int = 1024) -> Network:
    """MobileNetV3-Small as in ``keras.applications`` (hard-swish, squeeze-excite with hard-sigmoid gates): a 16-channel
    stride-2 stem, the 11 blocks above (channels x ``alpha``, rounded to multiples of 8), a 1x1 head conv to
    576 x ``alpha`` channels, global average pool, Dense(``last_channels``, hard-swish), Dense(``num_classes``),
    Softmax."""
    layers: list[Layer] = [Conv(16, (3, 3), (2, 2), activation="hard_swish")]
    for kernel, expanded, out, se, activation, stride in _MBV3_SMALL_BLOCKS:
        layers.append(InvertedResidual(round_channels(out * alpha), kernel=kernel, stride=stride, squeeze_excite=se,
                                       activation=activation, expanded_channels=round_channels(expanded * alpha)))
    layers += [Conv(round_channels(576 * alpha), (1, 1), activation="hard_swish"), GlobalAvgPool(),
               Dense(last_channels, activation="hard_swish"), Dense(num_classes), Softmax()]
    return Network(f"mobilenet_v3_small_{alpha:g}_{resolution}", (resolution, resolution, 3), tuple(layers))
