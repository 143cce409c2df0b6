"""Keras 3 builders: turn a spec (``tinyc.frontend.spec``) into a ``keras.Model``.

Only layers tinyc lowers are emitted: Conv2D, DepthwiseConv2D (depth_multiplier 1), Dense, Add,
AveragePooling2D, MaxPooling2D, GlobalAveragePooling2D, Flatten, ReLU / ReLU6, Softmax and
BatchNormalization (folded by the TFLite converter). Convolutions followed by BatchNormalization
have no bias of their own. BatchNormalization uses momentum 0.9 (Keras' default 0.99 leaves the
moving statistics near their initial values after a short training run).
"""

from __future__ import annotations

import keras
import numpy as np

from tinyc.frontend.data import random_inputs
from tinyc.frontend.spec import (
    Activation,
    BasicResidual,
    Conv,
    Dense,
    DepthwiseConv,
    Flatten,
    GlobalAvgPool,
    InvertedResidual,
    Layer,
    Padding,
    Pool,
    Softmax,
    Spec,
    expanded_channels,
    squeeze_channels,
)

BN_MOMENTUM = 0.9
BN_EPSILON = 1e-3
KERNEL_INITIALIZER = "he_normal"


def _activation(x: keras.KerasTensor, activation: Activation, name: str) -> keras.KerasTensor:
    if activation == "relu":
        return keras.layers.ReLU(name=f"{name}_relu")(x)
    if activation == "relu6":
        return keras.layers.ReLU(max_value=6.0, name=f"{name}_relu6")(x)
    if activation == "hard_swish":
        result: keras.KerasTensor = keras.layers.Activation("hard_swish", name=f"{name}_hswish")(x)
        return result
    return x


def _batch_norm(x: keras.KerasTensor, name: str) -> keras.KerasTensor:
    return keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON,
                                           name=f"{name}_bn")(x)


def conv_bn(x: keras.KerasTensor, filters: int, kernel: tuple[int, int], *, name: str,
            stride: tuple[int, int] = (1, 1), padding: Padding = "same",
            activation: Activation = "relu", batch_norm: bool = True) -> keras.KerasTensor:
    """Conv2D (+ BatchNormalization) + activation."""
    x = keras.layers.Conv2D(filters, kernel, strides=stride, padding=padding, use_bias=not batch_norm,
                            kernel_initializer=KERNEL_INITIALIZER, name=name)(x)
    if batch_norm:
        x = _batch_norm(x, name)
    return _activation(x, activation, name)


def depthwise_bn(x: keras.KerasTensor, kernel: tuple[int, int], *, name: str,
                 stride: tuple[int, int] = (1, 1), padding: Padding = "same",
                 activation: Activation = "relu", batch_norm: bool = True) -> keras.KerasTensor:
    """DepthwiseConv2D (depth_multiplier 1) (+ BatchNormalization) + activation."""
    x = keras.layers.DepthwiseConv2D(kernel, strides=stride, padding=padding, depth_multiplier=1,
                                     use_bias=not batch_norm,
                                     depthwise_initializer=KERNEL_INITIALIZER, name=name)(x)
    if batch_norm:
        x = _batch_norm(x, name)
    return _activation(x, activation, name)


def squeeze_excite(x: keras.KerasTensor, *, name: str) -> keras.KerasTensor:
    """MobileNetV3's gate: global average pool, 1x1 conv (ReLU), 1x1 conv (hard-sigmoid), channel-wise Multiply."""
    channels = int(x.shape[-1])
    s = keras.layers.GlobalAveragePooling2D(keepdims=True, name=f"{name}_squeeze")(x)
    s = keras.layers.Conv2D(squeeze_channels(channels), 1, activation="relu", name=f"{name}_reduce")(s)
    s = keras.layers.Conv2D(channels, 1, name=f"{name}_expand")(s)
    s = keras.layers.Activation("hard_sigmoid", name=f"{name}_gate")(s)
    result: keras.KerasTensor = keras.layers.Multiply(name=f"{name}_scale")([x, s])
    return result


def inverted_residual(x: keras.KerasTensor, block: InvertedResidual, *, name: str) -> keras.KerasTensor:
    """MobileNetV2 inverted residual block with linear bottleneck (MobileNetV3: its activation, squeeze-excite)."""
    in_channels = int(x.shape[-1])
    expanded = expanded_channels(block, in_channels)
    y = x
    if expanded != in_channels:
        y = conv_bn(y, expanded, (1, 1), name=f"{name}_expand", activation=block.activation)
    y = depthwise_bn(y, (block.kernel, block.kernel), stride=(block.stride, block.stride),
                     name=f"{name}_dw", activation=block.activation)
    if block.squeeze_excite:
        y = squeeze_excite(y, name=f"{name}_se")
    y = conv_bn(y, block.out_channels, (1, 1), name=f"{name}_project", activation="none")
    if block.stride == 1 and in_channels == block.out_channels:
        y = keras.layers.Add(name=f"{name}_add")([x, y])
    return y


def basic_residual(x: keras.KerasTensor, block: BasicResidual, *, name: str) -> keras.KerasTensor:
    """ResNet v1 basic block with a 1x1 projection shortcut (bias, no BN) when shapes change."""
    stride = (block.stride, block.stride)
    y = conv_bn(x, block.filters, (3, 3), stride=stride, name=f"{name}_conv1")
    y = conv_bn(y, block.filters, (3, 3), name=f"{name}_conv2", activation="none")
    shortcut = x
    if block.stride != 1 or int(x.shape[-1]) != block.filters:
        shortcut = conv_bn(x, block.filters, (1, 1), stride=stride, name=f"{name}_shortcut",
                           activation="none", batch_norm=False)
    y = keras.layers.Add(name=f"{name}_add")([shortcut, y])
    return keras.layers.ReLU(name=f"{name}_relu")(y)


def _layer(x: keras.KerasTensor, layer: Layer, name: str) -> keras.KerasTensor:
    if isinstance(layer, Conv):
        return conv_bn(x, layer.filters, layer.kernel, stride=layer.stride, padding=layer.padding,
                       activation=layer.activation, batch_norm=layer.batch_norm, name=name)
    if isinstance(layer, DepthwiseConv):
        return depthwise_bn(x, layer.kernel, stride=layer.stride, padding=layer.padding,
                            activation=layer.activation, batch_norm=layer.batch_norm, name=name)
    if isinstance(layer, InvertedResidual):
        return inverted_residual(x, layer, name=name)
    if isinstance(layer, BasicResidual):
        return basic_residual(x, layer, name=name)
    if isinstance(layer, Pool):
        pool_class = keras.layers.AveragePooling2D if layer.kind == "avg" else keras.layers.MaxPooling2D
        result: keras.KerasTensor = pool_class(layer.size, strides=layer.stride, padding=layer.padding,
                                               name=name)(x)
        return result
    if isinstance(layer, GlobalAvgPool):
        return keras.layers.GlobalAveragePooling2D(name=name)(x)
    if isinstance(layer, Flatten):
        return keras.layers.Flatten(name=name)(x)
    if isinstance(layer, Dense):
        x = keras.layers.Dense(layer.units, name=name)(x)
        return _activation(x, layer.activation, name)
    if isinstance(layer, Softmax):
        return keras.layers.Softmax(name=name)(x)
    raise TypeError(f"{name}: unknown layer type {type(layer).__name__}")


_LAYER_PREFIX: dict[type, str] = {
    Conv: "conv", DepthwiseConv: "dw", InvertedResidual: "mb", BasicResidual: "res", Pool: "pool",
    GlobalAvgPool: "gap", Flatten: "flatten", Dense: "dense", Softmax: "softmax",
}


def build_model(spec: Spec, *, seed: int = 0, batch_size: int | None = 1) -> keras.Model:
    """A ``keras.Model`` for ``spec``; weights from ``seed``.

    The default static batch of 1 matters: with a dynamic batch the converter lowers Flatten to
    SHAPE / STRIDED_SLICE / PACK / RESHAPE instead of one RESHAPE. Use ``batch_size=None`` for
    training and copy the weights into a batch-1 model (``rebatch``) before conversion.
    """
    network = spec.network()
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=network.input_shape, batch_size=batch_size, name="input")
    x = inputs
    for index, layer in enumerate(network.layers):
        x = _layer(x, layer, f"{_LAYER_PREFIX[type(layer)]}{index}")
    return keras.Model(inputs, x, name=network.name)


def randomize_statistics(model: keras.Model, *, seed: int, calibration: np.ndarray) -> None:
    """Give a random-weight model non-trivial folded biases and sane activation ranges.

    BatchNormalization gamma/beta and Dense/Conv biases get random values; then one forward pass
    in training mode with momentum 0 sets every moving mean/variance to the statistics of
    ``calibration``, so inference activations are normalized as in training.
    """
    rng = np.random.default_rng(seed)
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            channels = int(layer.gamma.shape[0])
            layer.gamma.assign(rng.uniform(0.5, 1.5, channels).astype(np.float32))
            layer.beta.assign(rng.normal(0.0, 0.25, channels).astype(np.float32))
        elif isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense)) and layer.use_bias:
            channels = int(layer.bias.shape[0])
            layer.bias.assign(rng.normal(0.0, 0.1, channels).astype(np.float32))
    for layer in norms:
        layer.momentum = 0.0
    model(calibration, training=True)
    for layer in norms:
        layer.momentum = BN_MOMENTUM


def build_random_model(spec: Spec, *, seed: int = 0, calibration_samples: int = 16) -> keras.Model:
    """``build_model`` + ``randomize_statistics`` on uniform random inputs: deterministic in
    ``seed``."""
    model = build_model(spec, seed=seed)
    calibration = random_inputs(spec.network().input_shape, count=calibration_samples, seed=seed + 1)
    randomize_statistics(model, seed=seed, calibration=calibration)
    return model
