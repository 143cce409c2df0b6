"""Plain-data network specs: printable, comparable, JSON-serializable.

Two levels:

* ``Network`` — an input shape and a tuple of layers (``Conv``, ``DepthwiseConv``,
  ``InvertedResidual``, ``BasicResidual``, pooling, ``Dense`` ...). Channel counts are final.
  ``tinyc.frontend.blocks.build_model`` turns it into a ``keras.Model``;
  ``tinyc.frontend.count.count`` gives MACs, parameters and activation sizes analytically.
* ``MCUNetSpec`` — the MCUNet-style search-space view: stem, stages of inverted-residual blocks
  with per-block (kernel, expansion), a width multiplier (channels rounded to multiples of 8),
  input resolution and a classifier head. ``MCUNetSpec.network()`` lowers it to a ``Network``.

This module imports neither Keras nor TensorFlow.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, Union

Activation: TypeAlias = Literal["none", "relu", "relu6", "hard_swish"]
Padding: TypeAlias = Literal["same", "valid"]
PoolKind: TypeAlias = Literal["avg", "max"]

ACTIVATIONS: tuple[str, ...] = ("none", "relu", "relu6", "hard_swish")
SE_RATIO = 0.25  # squeeze channels = round_channels(SE_RATIO x expanded channels), as MobileNetV3
PADDINGS: tuple[str, ...] = ("same", "valid")
DEPTHWISE_KERNELS: tuple[int, ...] = (3, 5, 7)
CHANNEL_DIVISOR = 8


def round_channels(channels: float, *, divisor: int = CHANNEL_DIVISOR) -> int:
    """Round ``channels`` to the nearest multiple of ``divisor`` (MobileNet's ``_make_divisible``).

    The result is at least ``divisor`` and never more than 10% below ``channels``.
    """
    if channels <= 0:
        raise ValueError(f"channel count must be positive, got {channels}")
    rounded = max(divisor, int(channels + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * channels:
        rounded += divisor
    return rounded


def _check_choice(what: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {allowed}, got {value!r}")


def _check_positive(what: str, values: tuple[int, ...]) -> None:
    if any(v < 1 for v in values):
        raise ValueError(f"{what} must be positive integers, got {values}")


@dataclass(frozen=True)
class Conv:
    """Conv2D (+ BatchNormalization, folded into weights and bias by the converter) + activation."""

    filters: int
    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: Padding = "same"
    activation: Activation = "relu"
    batch_norm: bool = True

    def __post_init__(self) -> None:
        _check_positive("Conv filters/kernel/stride", (self.filters, *self.kernel, *self.stride))
        _check_choice("Conv padding", self.padding, PADDINGS)
        _check_choice("Conv activation", self.activation, ACTIVATIONS)


@dataclass(frozen=True)
class DepthwiseConv:
    """DepthwiseConv2D with depth_multiplier 1 (+ folded BatchNormalization) + activation."""

    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: Padding = "same"
    activation: Activation = "relu"
    batch_norm: bool = True

    def __post_init__(self) -> None:
        _check_positive("DepthwiseConv kernel/stride", (*self.kernel, *self.stride))
        _check_choice("DepthwiseConv padding", self.padding, PADDINGS)
        _check_choice("DepthwiseConv activation", self.activation, ACTIVATIONS)


@dataclass(frozen=True)
class InvertedResidual:
    """MobileNetV2 block: 1x1 expand (ReLU6, skipped when expansion is 1), k x k depthwise
    (ReLU6), 1x1 linear projection; identity residual add when stride is 1 and the input
    already has ``out_channels`` channels. MobileNetV3's variant: ``activation`` (e.g. hard_swish),
    ``expanded_channels`` given directly (0: input channels x ``expansion``), and ``squeeze_excite``
    after the depthwise: global average pool, 1x1 conv to round_channels(SE_RATIO x expanded) (ReLU),
    1x1 conv back (hard-sigmoid), channel-wise Multiply."""

    out_channels: int
    kernel: int = 3
    expansion: int = 6
    stride: int = 1
    squeeze_excite: bool = False
    activation: Activation = "relu6"
    expanded_channels: int = 0

    def __post_init__(self) -> None:
        _check_positive("InvertedResidual out_channels/expansion", (self.out_channels, self.expansion))
        _check_choice("InvertedResidual activation", self.activation, ACTIVATIONS)
        if self.expanded_channels < 0:
            raise ValueError(f"InvertedResidual expanded_channels must be >= 0, got {self.expanded_channels}")
        if self.kernel not in DEPTHWISE_KERNELS:
            raise ValueError(
                f"InvertedResidual kernel must be one of {DEPTHWISE_KERNELS}, got {self.kernel}"
            )
        if self.stride not in (1, 2):
            raise ValueError(f"InvertedResidual stride must be 1 or 2, got {self.stride}")


@dataclass(frozen=True)
class BasicResidual:
    """ResNet v1 basic block: 3x3 conv (stride) + BN + ReLU, 3x3 conv + BN, shortcut added, ReLU.

    The shortcut is the identity when stride is 1 and channels match, otherwise a 1x1 convolution
    with bias and no BN (as in MLPerf Tiny's ResNet-8)."""

    filters: int
    stride: int = 1

    def __post_init__(self) -> None:
        _check_positive("BasicResidual filters/stride", (self.filters, self.stride))


@dataclass(frozen=True)
class Pool:
    """AveragePooling2D / MaxPooling2D."""

    kind: PoolKind
    size: tuple[int, int]
    stride: tuple[int, int]
    padding: Padding = "valid"

    def __post_init__(self) -> None:
        _check_choice("Pool kind", self.kind, ("avg", "max"))
        _check_choice("Pool padding", self.padding, PADDINGS)
        _check_positive("Pool size/stride", (*self.size, *self.stride))


@dataclass(frozen=True)
class GlobalAvgPool:
    """GlobalAveragePooling2D (lowered to MEAN by the converter)."""


@dataclass(frozen=True)
class Flatten:
    """Flatten (lowered to RESHAPE)."""


@dataclass(frozen=True)
class Dense:
    """Dense with bias, optional fused activation."""

    units: int
    activation: Activation = "none"

    def __post_init__(self) -> None:
        _check_positive("Dense units", (self.units,))
        _check_choice("Dense activation", self.activation, ACTIVATIONS)


@dataclass(frozen=True)
class Softmax:
    """Softmax over the last axis."""


Layer: TypeAlias = Union[
    Conv, DepthwiseConv, InvertedResidual, BasicResidual, Pool, GlobalAvgPool, Flatten, Dense, Softmax
]

LAYER_KINDS: dict[str, type] = {
    "conv": Conv,
    "depthwise_conv": DepthwiseConv,
    "inverted_residual": InvertedResidual,
    "basic_residual": BasicResidual,
    "pool": Pool,
    "global_avg_pool": GlobalAvgPool,
    "flatten": Flatten,
    "dense": Dense,
    "softmax": Softmax,
}
_KIND_OF: dict[type, str] = {cls: kind for kind, cls in LAYER_KINDS.items()}
LAYER_TAG = "layer"  # JSON key naming a layer's kind ("kind" is a Pool field)


@dataclass(frozen=True)
class Network:
    """An input shape (height, width, channels) and a sequence of layers; batch size is 1."""

    name: str
    input_shape: tuple[int, int, int]
    layers: tuple[Layer, ...]

    def __post_init__(self) -> None:
        _check_positive("Network input_shape", self.input_shape)
        if len(self.input_shape) != 3:
            raise ValueError(f"input_shape must be (height, width, channels), got {self.input_shape}")

    def network(self) -> Network:
        return self


@dataclass(frozen=True)
class BlockChoice:
    """Per-block choice in an MCUNet-style stage: depthwise kernel and expansion ratio."""

    kernel: int
    expansion: int
    squeeze_excite: bool = False


@dataclass(frozen=True)
class Stage:
    """``len(blocks)`` inverted-residual blocks with ``channels`` base output channels (before the
    width multiplier); the first block has ``stride``, the others stride 1."""

    channels: int
    stride: int
    blocks: tuple[BlockChoice, ...]

    @property
    def depth(self) -> int:
        return len(self.blocks)


@dataclass(frozen=True)
class MCUNetSpec:
    """MCUNet-style network: 3x3 stride-2 stem conv (ReLU6), stages of inverted-residual blocks,
    optional 1x1 head conv (ReLU6, ``head_channels`` taken as is, 0 = none), global average pool,
    Dense(num_classes), Softmax. Stem and stage channels are multiplied by ``width`` and rounded
    to multiples of 8 (``round_channels``)."""

    name: str
    resolution: int
    stem_channels: int
    stages: tuple[Stage, ...]
    num_classes: int
    width: float = 1.0
    in_channels: int = 3
    head_channels: int = 0
    stem_stride: int = 2

    def network(self) -> Network:
        layers: list[Layer] = [
            Conv(
                round_channels(self.stem_channels * self.width),
                (3, 3),
                (self.stem_stride, self.stem_stride),
                activation="relu6",
            )
        ]
        for stage in self.stages:
            out_channels = round_channels(stage.channels * self.width)
            for index, choice in enumerate(stage.blocks):
                layers.append(
                    InvertedResidual(
                        out_channels,
                        kernel=choice.kernel,
                        expansion=choice.expansion,
                        stride=stage.stride if index == 0 else 1,
                        squeeze_excite=choice.squeeze_excite,
                    )
                )
        if self.head_channels:
            layers.append(Conv(self.head_channels, (1, 1), activation="relu6"))
        layers += [GlobalAvgPool(), Dense(self.num_classes), Softmax()]
        return Network(self.name, (self.resolution, self.resolution, self.in_channels), tuple(layers))


Spec: TypeAlias = Union[Network, MCUNetSpec]


def expanded_channels(block: InvertedResidual, in_channels: int) -> int:
    """The channels of a block's expanded (depthwise) tensor."""
    return block.expanded_channels or in_channels * block.expansion


def squeeze_channels(expanded: int) -> int:
    """The squeeze-and-excitation bottleneck of a block with ``expanded`` channels."""
    return round_channels(SE_RATIO * expanded)


# ---------------------------------------------------------------- JSON


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        encoded = {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if type(value) in _KIND_OF:
            return {LAYER_TAG: _KIND_OF[type(value)], **encoded}
        return encoded
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    return value


def _tuples(value: Any) -> Any:
    """JSON lists back to tuples (all sequences in specs are tuples)."""
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _decode_layer(data: dict[str, Any]) -> Layer:
    fields = dict(data)
    kind = fields.pop(LAYER_TAG)
    if kind not in LAYER_KINDS:
        raise ValueError(f"unknown layer kind {kind!r}; known kinds: {sorted(LAYER_KINDS)}")
    layer: Layer = LAYER_KINDS[kind](**{k: _tuples(v) for k, v in fields.items()})
    return layer


def spec_to_dict(spec: Spec) -> dict[str, Any]:
    """``{"type": "network" | "mcunet", ...fields}``, JSON-compatible."""
    spec_type = "network" if isinstance(spec, Network) else "mcunet"
    encoded: dict[str, Any] = _encode(spec)
    return {"type": spec_type, **encoded}


def spec_from_dict(data: dict[str, Any]) -> Spec:
    fields = dict(data)
    spec_type = fields.pop("type")
    if spec_type == "network":
        return Network(
            name=fields["name"],
            input_shape=_tuples(fields["input_shape"]),
            layers=tuple(_decode_layer(layer) for layer in fields["layers"]),
        )
    if spec_type == "mcunet":
        stages = tuple(
            Stage(
                channels=stage["channels"],
                stride=stage["stride"],
                blocks=tuple(BlockChoice(**block) for block in stage["blocks"]),
            )
            for stage in fields.pop("stages")
        )
        return MCUNetSpec(stages=stages, **fields)
    raise ValueError(f"unknown spec type {spec_type!r}; expected 'network' or 'mcunet'")


def spec_to_json(spec: Spec) -> str:
    return json.dumps(spec_to_dict(spec), indent=1, sort_keys=True)


def spec_from_json(text: str) -> Spec:
    return spec_from_dict(json.loads(text))
