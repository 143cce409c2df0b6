"""Front end without TensorFlow: specs, JSON, width rounding, analytic counts (exact tables)."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

import pytest

from tinyc.frontend import zoo
from tinyc.frontend.count import OpKind, count, live_bytes_per_op, lower
from tinyc.frontend.spec import (
    BlockChoice,
    Conv,
    Dense,
    GlobalAvgPool,
    InvertedResidual,
    MCUNetSpec,
    Network,
    Pool,
    Spec,
    Stage,
    round_channels,
    spec_from_json,
    spec_to_dict,
    spec_to_json,
)

KIB = 1024
MIB = 1024 * 1024

# (constructor, input shape, params, MACs, weight bytes (int8 weights + int32 biases),
#  per-layer peak activation bytes)
ANALYTIC: list[tuple[Callable[[], Spec], tuple[int, int, int], int, int, int, int]] = [
    (zoo.mobilenet_v2, (224, 224, 3), 3_487_816, 300_774_272, 3_541_984, 1_505_280),
    (zoo.mobilenet_v1, (224, 224, 3), 4_221_032, 568_740_352, 4_256_864, 1_204_224),
    (zoo.mcunet_f412, (128, 128, 3), 642_504, 24_409_856, 664_296, 131_072),
    (zoo.mcunet_h743, (160, 160, 3), 1_305_088, 91_182_400, 1_339_144, 307_200),
    (zoo.mcunet_f412_patch, (192, 192, 3), 640_664, 52_574_848, 662_360, 294_912),
    (zoo.kws_ds_cnn, (49, 10, 1), 22_604, 2_656_768, 24_368, 16_000),
    (zoo.vww_mobilenet_v1, (96, 96, 3), 210_850, 7_489_664, 219_064, 55_296),
    (zoo.ic_resnet8, (32, 32, 3), 77_706, 12_501_632, 78_744, 49_152),
    (zoo.digits_mcunet, (32, 32, 1), 19_986, 632_128, 22_440, 10_240),
    (zoo.tiny_mbv2, (24, 24, 3), 15_274, 325_432, 17_008, 5_760),
    (zoo.tiny_dscnn, (49, 10, 1), 2_492, 180_960, 2_768, 4_000),
    (zoo.tiny_resnet, (32, 32, 3), 14_370, 1_323_248, 14_832, 11_264),
]


@pytest.mark.parametrize(("make", "shape", "params", "macs", "weight_bytes", "peak_bytes"), ANALYTIC,
                         ids=[row[0].__name__ for row in ANALYTIC])
def test_analytic_counts(make: Callable[[], Spec], shape: tuple[int, int, int], params: int,
                         macs: int, weight_bytes: int, peak_bytes: int) -> None:
    spec = make()
    counts = count(spec)
    assert spec.network().input_shape == shape
    assert (counts.params, counts.macs, counts.weight_bytes, counts.peak_activation_bytes) == (
        params, macs, weight_bytes, peak_bytes)


# Published figures (MLPerf Tiny Keras files with BN folded; MobileNet papers), to their rounding.
@pytest.mark.parametrize(("make", "params_text", "macs_text"), [
    (zoo.kws_ds_cnn, "22.6k", "2.66M"),
    (zoo.vww_mobilenet_v1, "211k", "7.49M"),
    (zoo.ic_resnet8, "77.7k", "12.5M"),
    (zoo.mobilenet_v1, "4.2M", "569M"),
], ids=["kws_ds_cnn", "vww_mobilenet_v1", "ic_resnet8", "mobilenet_v1"])
def test_published_figures(make: Callable[[], Spec], params_text: str, macs_text: str) -> None:
    counts = count(make())

    def rounded(value: int, text: str) -> str:
        scale = {"k": 1e3, "M": 1e6}[text[-1]]
        digits = len(text[:-1].partition(".")[2])
        return f"{value / scale:.{digits}f}{text[-1]}"

    assert rounded(counts.params, params_text) == params_text
    assert rounded(counts.macs, macs_text) == macs_text


def test_mobilenet_v2_against_paper() -> None:
    """Paper: ~3.4M params, ~300M MACs. Folded params are 3.49M (keras.applications' 3,538,984
    minus three quarters of its 68,224 BN parameters, checked in test_frontend_models)."""
    counts = count(zoo.mobilenet_v2(1.0, 224))
    assert round(counts.macs / 1e6, -1) == 300
    assert abs(counts.params - 3.4e6) / 3.4e6 < 0.03


@pytest.mark.parametrize(("channels", "expected"), [
    (8, 8), (4, 8), (11, 16), (12, 16), (17, 16), (20, 24), (5.6, 8), (24.0, 24), (33.6, 32),
    (44.8, 48), (1792.0, 1792), (112.0, 112), (3.0, 8),
])
def test_round_channels(channels: float, expected: int) -> None:
    assert round_channels(channels) == expected


def test_round_channels_property() -> None:
    rng = random.Random(0)
    for _ in range(500):
        channels = rng.uniform(1, 2000)
        rounded = round_channels(channels)
        assert rounded % 8 == 0
        assert rounded >= 8
        assert rounded >= 0.9 * channels
        assert abs(rounded - channels) <= 8 or rounded == 8


@pytest.mark.parametrize(("width", "stem", "stage_channels"), [
    (1.0, 32, (16, 24, 32, 64, 96, 160, 320)),
    (0.35, 16, (8, 8, 16, 24, 32, 56, 112)),
    (0.5, 16, (8, 16, 16, 32, 48, 80, 160)),
    (0.75, 24, (16, 24, 24, 48, 72, 120, 240)),
    (1.4, 48, (24, 32, 48, 88, 136, 224, 448)),
])
def test_width_multiplier_channels(width: float, stem: int, stage_channels: tuple[int, ...]) -> None:
    """MobileNetV2 channels per width multiplier (as in keras.applications)."""
    network = zoo.mobilenet_v2(width, 224).network()
    first = network.layers[0]
    assert isinstance(first, Conv) and first.filters == stem
    outs = [layer.out_channels for layer in network.layers if isinstance(layer, InvertedResidual)]
    firsts = [0, 1, 3, 6, 10, 13, 16]  # first block of each stage
    assert tuple(outs[i] for i in firsts) == stage_channels
    assert all(channels % 8 == 0 for channels in outs)


def _random_mcunet(rng: random.Random) -> MCUNetSpec:
    stages = tuple(
        Stage(rng.choice((8, 12, 16, 24, 40, 48)), rng.choice((1, 2)),
              tuple(BlockChoice(rng.choice((3, 5, 7)), rng.choice((1, 3, 4, 6)))
                    for _ in range(rng.randint(1, 3))))
        for _ in range(rng.randint(1, 4))
    )
    return MCUNetSpec(f"random{rng.randint(0, 999)}", rng.choice((32, 48, 64)), rng.choice((8, 16)),
                      stages, num_classes=rng.randint(2, 20), width=rng.choice((0.35, 0.5, 0.75, 1.0, 1.3)),
                      in_channels=rng.choice((1, 3)), head_channels=rng.choice((0, 64)))


def test_random_specs_channels_and_json() -> None:
    rng = random.Random(1)
    for _ in range(50):
        spec = _random_mcunet(rng)
        assert spec_from_json(spec_to_json(spec)) == spec
        network = spec.network()
        assert spec_from_json(spec_to_json(network)) == network
        for layer in network.layers[:-3]:
            channels = layer.out_channels if isinstance(layer, InvertedResidual) else getattr(layer, "filters")
            assert channels % 8 == 0
        counts = count(spec)
        assert counts.params == sum(op.params for op in lower(network))


@pytest.mark.parametrize("make", [row[0] for row in ANALYTIC], ids=[row[0].__name__ for row in ANALYTIC])
def test_json_round_trip(make: Callable[[], Spec]) -> None:
    spec = make()
    text = spec_to_json(spec)
    assert spec_from_json(text) == spec
    assert spec_to_json(spec_from_json(text)) == text
    assert json.loads(text) == spec_to_dict(spec)


def test_json_layout() -> None:
    network = Network("n", (4, 4, 1), (Conv(8, (3, 3)), Pool("max", (2, 2), (2, 2)), GlobalAvgPool(),
                                       Dense(2)))
    assert spec_to_dict(network) == {
        "type": "network",
        "name": "n",
        "input_shape": [4, 4, 1],
        "layers": [
            {"layer": "conv", "filters": 8, "kernel": [3, 3], "stride": [1, 1], "padding": "same",
             "activation": "relu", "batch_norm": True},
            {"layer": "pool", "kind": "max", "size": [2, 2], "stride": [2, 2], "padding": "valid"},
            {"layer": "global_avg_pool"},
            {"layer": "dense", "units": 2, "activation": "none"},
        ],
    }


def test_json_unknown_kind() -> None:
    text = '{"type": "network", "name": "n", "input_shape": [4, 4, 1], "layers": [{"layer": "lstm"}]}'
    with pytest.raises(ValueError, match=r"^unknown layer kind 'lstm'; known kinds: \['basic_residual'"):
        spec_from_json(text)


def test_specs_are_frozen_and_comparable() -> None:
    assert zoo.mcunet_f412() == zoo.mcunet_f412()
    assert zoo.mcunet_f412() != zoo.mcunet_h743()
    with pytest.raises(AttributeError):
        zoo.mcunet_f412().width = 2.0  # type: ignore[misc]
    assert "InvertedResidual(out_channels=24, kernel=3, expansion=6, stride=2" in repr(zoo.mobilenet_v2().network())


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"out_channels": 8, "kernel": 4}, "InvertedResidual kernel must be one of (3, 5, 7), got 4"),
    ({"out_channels": 8, "stride": 3}, "InvertedResidual stride must be 1 or 2, got 3"),
    ({"out_channels": 0}, "InvertedResidual out_channels/expansion must be positive integers, got (0, 6)"),
])
def test_inverted_residual_validation(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as error:
        InvertedResidual(**kwargs)
    assert str(error.value) == message


def test_squeeze_excite_ops() -> None:
    """MobileNetV3's gate on 48 expanded channels: MEAN, 1x1 convs 48 -> 16 -> 48, MUL by 1/6 (hard-sigmoid; its
    +3 and ReLU6 fold into the second conv), channel-wise MUL; hard-swish is an op of its own."""
    network = Network("se_net", (8, 8, 3), (Conv(8, (3, 3), activation="hard_swish"),
                                            InvertedResidual(8, squeeze_excite=True, activation="hard_swish"),
                                            GlobalAvgPool(), Dense(2)))
    ops = lower(network)
    assert [(op.kind, op.output_shape, op.macs) for op in ops] == [
        (OpKind.CONV_2D, (8, 8, 8), 64 * 8 * 27), (OpKind.HARD_SWISH, (8, 8, 8), 0),
        (OpKind.CONV_2D, (8, 8, 48), 64 * 48 * 8), (OpKind.HARD_SWISH, (8, 8, 48), 0),
        (OpKind.DEPTHWISE_CONV_2D, (8, 8, 48), 64 * 48 * 9), (OpKind.HARD_SWISH, (8, 8, 48), 0),
        (OpKind.MEAN, (1, 1, 48), 0), (OpKind.CONV_2D, (1, 1, 16), 48 * 16), (OpKind.CONV_2D, (1, 1, 48), 16 * 48),
        (OpKind.MUL, (1, 1, 48), 0), (OpKind.MUL, (8, 8, 48), 0),
        (OpKind.CONV_2D, (8, 8, 8), 64 * 8 * 48), (OpKind.ADD, (8, 8, 8), 0),
        (OpKind.MEAN, (8,), 0), (OpKind.FULLY_CONNECTED, (2,), 16),
    ]


def test_inverted_residual_ops_and_live_bytes() -> None:
    """8x8x8 input, expansion 2, residual: hand-computed MACs and live bytes per op."""
    network = Network("ir", (8, 8, 8), (InvertedResidual(8, kernel=3, expansion=2),))
    ops = lower(network)
    assert [(op.kind, op.output_shape, op.macs, op.params) for op in ops] == [
        (OpKind.CONV_2D, (8, 8, 16), 64 * 16 * 8, 16 * 8 + 16),
        (OpKind.DEPTHWISE_CONV_2D, (8, 8, 16), 64 * 16 * 9, 16 * 9 + 16),
        (OpKind.CONV_2D, (8, 8, 8), 64 * 8 * 16, 8 * 16 + 8),
        (OpKind.ADD, (8, 8, 8), 0, 0),
    ]
    # expand: in + out; depthwise: in + out + block input kept for the add; project: same;
    # add: block input + projection + sum
    assert live_bytes_per_op(network.input_shape, ops) == (512 + 1024, 1024 + 1024 + 512,
                                                           1024 + 512 + 512, 3 * 512)


def test_no_residual_when_shapes_change() -> None:
    kinds = [op.kind for op in lower(Network("ir", (8, 8, 8), (InvertedResidual(16, expansion=1),
                                                               InvertedResidual(16, stride=2))))]
    assert kinds == [OpKind.DEPTHWISE_CONV_2D, OpKind.CONV_2D,
                     OpKind.CONV_2D, OpKind.DEPTHWISE_CONV_2D, OpKind.CONV_2D]


def test_board_fit() -> None:
    """Sized with margin: weights and per-layer peak within 80% of flash and SRAM."""
    f412 = count(zoo.mcunet_f412())
    assert f412.weight_bytes <= 0.8 * MIB and f412.peak_activation_bytes <= 0.8 * 256 * KIB
    h743 = count(zoo.mcunet_h743())
    assert h743.weight_bytes <= 0.8 * 2 * MIB and h743.peak_activation_bytes <= 0.8 * 512 * KIB


def test_patch_model_needs_patches_early_only() -> None:
    """Per-layer peak above the F412's 256 KiB, but only in the 96x96 and 48x48 stages (ops 0-9);
    every later op fits in 144 KiB."""
    spec = zoo.mcunet_f412_patch()
    counts = count(spec)
    assert counts.weight_bytes <= 0.8 * MIB
    live = live_bytes_per_op(spec.network().input_shape, counts.ops)
    over = [index for index, size in enumerate(live) if size > 256 * KIB]
    assert over == [1, 3, 4]
    assert counts.ops[9].kind == OpKind.ADD and counts.ops[9].output_shape == (48, 48, 16)
    assert max(live[:10]) == 288 * KIB
    assert max(live[10:]) == 144 * KIB
