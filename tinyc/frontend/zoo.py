"""Reference network specs: MobileNetV2, MobileNetV1 and the MLPerf Tiny v1.x models.

Each constructor returns plain data (``Network`` or ``MCUNetSpec``); build it with
``tinyc.frontend.blocks.build_model`` and count it with ``tinyc.frontend.count.count``.
Dropout and weight regularizers of the original training scripts are omitted (inference no-ops).
"""

from __future__ import annotations

from tinyc.frontend.spec import (
    BasicResidual,
    BlockChoice,
    Conv,
    Dense,
    DepthwiseConv,
    Flatten,
    GlobalAvgPool,
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
