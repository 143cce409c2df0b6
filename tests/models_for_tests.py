"""Keras models used by the tests: single ops swept over their parameters, and small whole networks."""

from __future__ import annotations

import keras
from keras import layers


def conv(k: int | tuple[int, int], stride: int, padding: str, hw: tuple[int, int], cin: int, cout: int,
         activation: str | None = None) -> keras.Model:
    x = keras.Input((*hw, cin))
    return keras.Model(x, layers.Conv2D(cout, k, strides=stride, padding=padding, activation=activation)(x))


def depthwise(k: int, stride: int, padding: str, hw: tuple[int, int], c: int, activation: str | None = None) -> keras.Model:
    x = keras.Input((*hw, c))
    y = layers.DepthwiseConv2D(k, strides=stride, padding=padding)(x)
    return keras.Model(x, layers.ReLU(6.0)(y) if activation == "relu6" else y)


def global_avgpool(hw: tuple[int, int], c: int, relu6: bool = False, rows: int | None = None) -> keras.Model:
    """AVERAGE_POOL_2D whose one window is the whole input, or its first `rows` rows (tinyc_fast_avgpool.h), after a
    conv that gives the sums both signs."""
    x = keras.Input((*hw, c))
    y = layers.AveragePooling2D(pool_size=(rows or hw[0], hw[1]))(layers.Conv2D(c, 1)(x))
    return keras.Model(x, layers.ReLU(6.0)(y) if relu6 else y)


def dense(n_in: int, n_out: int, activation: str | None = None) -> keras.Model:
    x = keras.Input((n_in,))
    return keras.Model(x, layers.Dense(n_out, activation=activation)(x))


def add_relu() -> keras.Model:
    x = keras.Input((7, 5, 6))
    a = layers.Conv2D(6, 1)(x)
    b = layers.Conv2D(6, 3, padding="same")(x)
    return keras.Model(x, layers.ReLU()(layers.Add()([a, b])))


def pools() -> keras.Model:
    x = keras.Input((11, 9, 5))
    a = layers.AveragePooling2D(3, strides=2, padding="same")(x)
    b = layers.MaxPooling2D(2, strides=2, padding="same")(x)
    y = layers.Concatenate()([a, b])
    return keras.Model(x, layers.GlobalAveragePooling2D()(y))


def pad_softmax() -> keras.Model:
    x = keras.Input((6, 5, 3))
    y = layers.ZeroPadding2D(((1, 2), (0, 1)))(x)
    y = layers.Conv2D(4, 3, strides=2)(y)
    y = layers.Flatten()(y)
    return keras.Model(x, layers.Softmax()(layers.Dense(10)(y)))


def standalone_relu6() -> keras.Model:
    x = keras.Input((5, 5, 4))
    y = layers.Conv2D(4, 1)(x)
    y = layers.ReLU(max_value=6.0)(layers.Add()([y, x]))
    return keras.Model(x, y)


def mobilenetv2_style() -> keras.Model:
    """Inverted residual blocks with residual adds, ReLU6, depthwise 3x3 and 5x5, stride 2."""
    x = keras.Input((20, 18, 3))
    y = layers.ReLU(6.0)(layers.BatchNormalization()(layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(x)))
    for k, stride, cout, expand in ((3, 1, 8, 3), (5, 2, 16, 4), (3, 1, 16, 4), (7, 1, 16, 2)):
        cin = y.shape[-1]
        h = layers.ReLU(6.0)(layers.BatchNormalization()(layers.Conv2D(cin * expand, 1, use_bias=False)(y)))
        h = layers.ReLU(6.0)(layers.BatchNormalization()(layers.DepthwiseConv2D(k, strides=stride, padding="same", use_bias=False)(h)))
        h = layers.BatchNormalization()(layers.Conv2D(cout, 1, use_bias=False)(h))
        y = layers.Add()([y, h]) if stride == 1 and cin == cout else h
    y = layers.GlobalAveragePooling2D()(y)
    return keras.Model(x, layers.Dense(10, activation="softmax")(y))


def dscnn_style() -> keras.Model:
    """DS-CNN: 10x4 strided stem, depthwise-separable blocks, average pool, Flatten, Dense."""
    x = keras.Input((25, 10, 1))
    y = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(16, (10, 4), strides=2, padding="same")(x)))
    for _ in range(2):
        y = layers.ReLU()(layers.BatchNormalization()(layers.DepthwiseConv2D(3, padding="same")(y)))
        y = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(16, 1)(y)))
    y = layers.AveragePooling2D(pool_size=(y.shape[1], y.shape[2]))(y)
    y = layers.Flatten()(y)
    return keras.Model(x, layers.Dense(12, activation="softmax")(y))


def resnet_style() -> keras.Model:
    """ResNet-8-like: residual stacks with 1x1 projection shortcuts."""
    x = keras.Input((16, 16, 3))
    y = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(8, 3, padding="same")(x)))
    for filters, stride in ((8, 1), (16, 2), (24, 2)):
        h = layers.ReLU()(layers.BatchNormalization()(layers.Conv2D(filters, 3, strides=stride, padding="same")(y)))
        h = layers.BatchNormalization()(layers.Conv2D(filters, 3, padding="same")(h))
        shortcut = y if stride == 1 and y.shape[-1] == filters else layers.Conv2D(filters, 1, strides=stride)(y)
        y = layers.ReLU()(layers.Add()([shortcut, h]))
    y = layers.AveragePooling2D(pool_size=4)(y)
    y = layers.Flatten()(y)
    return keras.Model(x, layers.Dense(10, activation="softmax")(y))


def patch_stage(k: int, stride: int, hw: tuple[int, int] = (23, 19)) -> keras.Model:
    """An early stage worth running patch by patch: strided stem, an inverted residual block with a
    k x k depthwise and a residual add, a strided depthwise, then a small per-layer tail."""
    x = keras.Input((*hw, 3))
    y = layers.Conv2D(8, k, strides=stride, padding="same", activation="relu")(x)
    h = layers.ReLU(6.0)(layers.Conv2D(16, 1)(y))
    h = layers.ReLU(6.0)(layers.DepthwiseConv2D(k, padding="same")(h))
    y = layers.Add()([y, layers.Conv2D(8, 1)(h)])
    y = layers.DepthwiseConv2D(k, strides=stride, padding="valid" if k == 3 else "same")(y)
    y = layers.Conv2D(12, 1, activation="relu")(y)
    y = layers.GlobalAveragePooling2D()(y)
    return keras.Model(x, layers.Dense(5)(y))


def padded_stage() -> keras.Model:
    """keras.applications style: explicit ZeroPadding2D before VALID strided convolutions."""
    x = keras.Input((21, 18, 3))
    y = layers.ZeroPadding2D(((0, 1), (0, 1)))(x)
    y = layers.Conv2D(8, 3, strides=2, padding="valid", activation="relu")(y)
    h = layers.DepthwiseConv2D(3, padding="same", activation="relu")(y)
    y = layers.Add()([y, layers.Conv2D(8, 1)(h)])
    y = layers.ZeroPadding2D(((1, 1), (1, 1)))(y)
    y = layers.DepthwiseConv2D(3, strides=2, padding="valid")(y)
    y = layers.Conv2D(12, 1, activation="relu")(y)
    return keras.Model(x, layers.Dense(4)(layers.GlobalAveragePooling2D()(y)))


def pools_fused_relu6() -> keras.Model:
    """The converter fuses a ReLU6 after pooling into the pooling op."""
    x = keras.Input((10, 9, 4))
    y = layers.Conv2D(6, 3, padding="same")(x)
    a = layers.ReLU(6.0)(layers.MaxPooling2D(2, padding="same")(y))
    b = layers.ReLU(6.0)(layers.AveragePooling2D(3, strides=2, padding="same")(y))
    return keras.Model(x, layers.Concatenate()([a, b]))


def activations_256() -> keras.Model:
    """LeakyReLU, sigmoid, tanh and hard-swish, each on the model input (one int8 plane of 256 values), summed:
    fed all 256 int8 values, every table entry is checked against TFLite Micro's own op output."""
    x = keras.Input((16, 16, 1))
    branches = [layers.LeakyReLU(0.15)(x), layers.Activation("sigmoid")(x), layers.Activation("tanh")(x),
                layers.Activation("hard_swish")(x)]
    y = branches[0]
    for b in branches[1:]:
        y = layers.Add()([y, b])
    return keras.Model(x, y)


def squeeze_excite() -> keras.Model:
    """A MobileNetV3 block: hard-swish, a squeeze-and-excitation gate (MEAN, 1x1 convs, hard-sigmoid as ADD / MUL
    by constants, the broadcasting per-channel MUL), then a same-shape MUL, MAXIMUM and MINIMUM, a broadcasting and a
    same-shape SUB, and a sigmoid gate."""
    x = keras.Input((7, 6, 8))
    y = layers.Activation("hard_swish")(layers.Conv2D(12, 3, padding="same")(x))
    s = layers.GlobalAveragePooling2D(keepdims=True)(y)
    s = layers.Conv2D(4, 1, activation="relu")(s)
    s = layers.Activation("hard_sigmoid")(layers.Conv2D(12, 1)(s))
    y = layers.Multiply()([y, s])
    z = layers.Conv2D(12, 1)(y)
    y = layers.Multiply()([layers.Maximum()([y, z]), layers.Minimum()([y, z])])
    y = layers.Subtract()([y, layers.Conv2D(12, 1)(layers.GlobalAveragePooling2D(keepdims=True)(y))])
    y = layers.Subtract()([layers.Conv2D(12, 1)(y), y])
    g = layers.Activation("sigmoid")(layers.Conv2D(12, 1)(layers.GlobalAveragePooling2D(keepdims=True)(y)))
    return keras.Model(x, layers.Multiply()([g, y]))


def patch_stage_hard_swish() -> keras.Model:
    """A patchable early stage with hard-swish, LeakyReLU, a same-shape MAXIMUM (with the converter's requantizing
    QUANTIZE) and MUL between the convolutions, then an SE gate the patch stage must leave to the per-layer part
    (MEAN and the broadcasting MUL are not patchable)."""
    x = keras.Input((20, 18, 3))
    y = layers.Activation("hard_swish")(layers.Conv2D(8, 3, strides=2, padding="same")(x))
    h = layers.LeakyReLU(0.1)(layers.DepthwiseConv2D(3, padding="same")(y))
    y = layers.Add()([y, layers.Conv2D(8, 1)(h)])
    y = layers.Maximum()([y, layers.Conv2D(8, 1)(y)])
    y = layers.Multiply()([y, layers.DepthwiseConv2D(3, padding="same")(y)])
    y = layers.Activation("hard_swish")(layers.DepthwiseConv2D(3, strides=2, padding="same")(y))
    s = layers.Activation("sigmoid")(layers.Conv2D(8, 1)(layers.GlobalAveragePooling2D(keepdims=True)(y)))
    y = layers.Multiply()([y, s])
    return keras.Model(x, layers.Dense(4)(layers.GlobalAveragePooling2D()(y)))


def dilated(depthwise: bool, dilation: int | tuple[int, int], padding: str, hw: tuple[int, int], cin: int,
            cout: int = 0, k: int = 3, activation: str | None = None, depth_multiplier: int = 1) -> keras.Model:
    """A dilated Conv2D or DepthwiseConv2D with a random bias: the converter emits SPACE_TO_BATCH_ND -> conv ->
    BATCH_TO_SPACE_ND -> ADD (the bias, a constant operand), which tinyc folds into one dilated convolution and a
    broadcasting ADD."""
    x = keras.Input((*hw, cin))
    bias = keras.initializers.RandomUniform(-0.5, 0.5)
    if depthwise:
        y = layers.DepthwiseConv2D(k, dilation_rate=dilation, padding=padding, activation=activation,
                                   depth_multiplier=depth_multiplier, bias_initializer=bias)(x)
    else:
        y = layers.Conv2D(cout, k, dilation_rate=dilation, padding=padding, activation=activation,
                          bias_initializer=bias)(x)
    return keras.Model(x, y)


def depthwise_multiplier(k: int, stride: int, padding: str, hw: tuple[int, int], c: int, m: int) -> keras.Model:
    x = keras.Input((*hw, c))
    return keras.Model(x, layers.DepthwiseConv2D(k, strides=stride, padding=padding, depth_multiplier=m,
                                                 activation="relu")(x))


def upsample_concat() -> keras.Model:
    """A U-Net decoder step: UpSampling2D (the converter's EXPAND_DIMS/TILE/RESHAPE chains, folded into one resize),
    a skip connection concatenated on channels, and a 3x3 conv; then a (1, 3) upsample of another branch."""
    x = keras.Input((12, 10, 3))
    skip = layers.Conv2D(4, 3, padding="same", activation="relu")(x)
    y = layers.Conv2D(6, 3, strides=2, padding="same", activation="relu")(skip)
    y = layers.UpSampling2D(2)(y)
    y = layers.Concatenate()([y, skip])
    y = layers.Conv2D(5, 3, padding="same")(y)
    z = layers.UpSampling2D((1, 2))(layers.Conv2D(5, 1, strides=(1, 2))(x))
    return keras.Model(x, layers.Add()([y, z]))


def conv1d() -> keras.Model:
    """Conv1D layers (EXPAND_DIMS -> CONV_2D -> RESHAPE per layer), strided, then GlobalAveragePooling1D (MEAN over
    the time axis) and Dense."""
    x = keras.Input((40, 3))
    y = layers.Conv1D(8, 5, padding="same", activation="relu")(x)
    y = layers.Conv1D(8, 3, strides=2, padding="valid", activation="relu")(y)
    y = layers.Conv1D(6, 3, padding="same")(y)
    y = layers.GlobalAveragePooling1D()(y)
    return keras.Model(x, layers.Dense(4)(y))


def prelu_broadcast_add() -> keras.Model:
    """PReLU with one slope per channel and one per element (alpha a constant operand broadcast over the map), and
    a broadcasting ADD of two activations (a per-channel summary added back to the map)."""
    x = keras.Input((8, 7, 5))
    alpha = keras.initializers.RandomUniform(-0.5, 1.5)
    y = layers.PReLU(alpha_initializer=alpha, shared_axes=[1, 2])(layers.Conv2D(6, 3, padding="same")(x))
    s = layers.Conv2D(6, 1)(layers.GlobalAveragePooling2D(keepdims=True)(y))
    y = layers.Add()([y, s])
    return keras.Model(x, layers.PReLU(alpha_initializer=alpha)(layers.Conv2D(4, 1)(y)))


def upsample_bilinear() -> keras.Model:
    """Bilinear UpSampling2D (RESIZE_BILINEAR, half-pixel centres) and a bilinear Resizing to an odd size."""
    x = keras.Input((6, 5, 3))
    y = layers.UpSampling2D(2, interpolation="bilinear")(layers.Conv2D(4, 3, padding="same")(x))
    y = layers.Resizing(9, 7, interpolation="bilinear")(layers.Conv2D(4, 1, activation="relu")(y))
    return keras.Model(x, layers.Conv2D(3, 3, padding="same")(y))


def transpose_conv_concat() -> keras.Model:
    """A U-Net decoder step with Conv2DTranspose (TRANSPOSE_CONV, its output shape computed by SHAPE / STRIDED_SLICE /
    PACK) and a skip connection concatenated on channels; then a VALID (3, 2)-kernel transpose with stride (2, 3)."""
    x = keras.Input((10, 8, 3))
    skip = layers.Conv2D(4, 3, padding="same", activation="relu")(x)
    y = layers.Conv2D(6, 3, strides=2, padding="same", activation="relu")(skip)
    y = layers.Conv2DTranspose(5, 3, strides=2, padding="same", activation="relu",
                               bias_initializer=keras.initializers.RandomUniform(-0.5, 0.5))(y)
    y = layers.Concatenate()([y, skip])
    return keras.Model(x, layers.Conv2DTranspose(3, (3, 2), strides=(2, 3), padding="valid")(y))


def cropping() -> keras.Model:
    """Cropping2D (STRIDED_SLICE: one block copy) on the model input and inside the network."""
    x = keras.Input((11, 10, 3))
    y = layers.Conv2D(5, 3, padding="same", activation="relu")(layers.Cropping2D(((1, 2), (0, 3)))(x))
    y = layers.Cropping2D(((2, 0), (1, 1)))(y)
    return keras.Model(x, layers.Conv2D(4, 3)(y))


def shape_ops() -> keras.Model:
    """tf.split into halves (SPLIT), a Permute (TRANSPOSE), a strided slice running backwards, tf.split with sizes
    (SPLIT_V, one part used: the others are dead), a slice dropping an axis and a rank-3 transpose; two Dense heads
    added."""
    x = keras.Input((12, 10, 8))
    y = layers.Conv2D(8, 1, activation="relu")(x)
    a, b = keras.ops.split(y, 2, axis=-1)
    d = layers.Permute((2, 1, 3))(a)[:, 1:9:2, ::-1, :]
    e = keras.ops.split(b, [2, 8], axis=1)[1][:, 2, :, 1:]
    e = keras.ops.transpose(e, (0, 2, 1))
    return keras.Model(x, layers.Add()([layers.Dense(12)(layers.Flatten()(d)), layers.Dense(12)(layers.Flatten()(e))]))


def dilated_conv1d() -> keras.Model:
    """A temporal convolutional stack: dilated Conv1D with SAME, VALID and causal padding (the converter's
    SPACE_TO_BATCH_ND -> EXPAND_DIMS -> CONV_2D -> RESHAPE -> BATCH_TO_SPACE_ND; causal adds a PAD of the 3-D input),
    a dilated SeparableConv1D, then GlobalAveragePooling1D."""
    x = keras.Input((40, 3))
    y = layers.Conv1D(8, 3, dilation_rate=2, padding="same", activation="relu")(x)
    y = layers.Conv1D(8, 3, dilation_rate=4, padding="causal", activation="relu")(y)
    y = layers.SeparableConv1D(6, 3, dilation_rate=3, padding="same", activation="relu")(y)
    y = layers.Conv1D(6, 5, dilation_rate=2, padding="valid")(y)
    return keras.Model(x, layers.Dense(4)(layers.GlobalAveragePooling1D()(y)))


def lstm_stack():  # type: ignore[no-untyped-def]
    """Two stacked tf_keras (Keras 2) LSTMs, each a fused UNIDIRECTIONAL_SEQUENCE_LSTM: the first returns its whole
    sequence (12 steps x 16 units), the second its last step (8 units, the converter's STRIDED_SLICE folded in);
    then a softmax Dense. Keras 3's LSTM would convert to a WHILE loop."""
    import tf_keras

    x = tf_keras.Input((12, 5), batch_size=1)
    y = tf_keras.layers.LSTM(16, return_sequences=True,
                             bias_initializer=tf_keras.initializers.RandomUniform(-1.0, 1.0, seed=1))(x)
    y = tf_keras.layers.LSTM(8)(y)
    return tf_keras.Model(x, tf_keras.layers.Dense(4, activation="softmax")(y))


def lstm_sequence():  # type: ignore[no-untyped-def]
    """One tf_keras LSTM (10 steps x 3 features, 23 units: an odd count) whose whole output sequence is the model
    output."""
    import tf_keras

    x = tf_keras.Input((10, 3), batch_size=1)
    layer = tf_keras.layers.LSTM(23, return_sequences=True)
    model = tf_keras.Model(x, layer(x))
    layer.set_weights([w * 2.5 for w in layer.get_weights()])  # saturating gates
    return model


PRUNED_LIVE_CHANNELS = (17, 9, 1, 8)  # what pruned_channels() leaves to compute at run time, layer by layer


def pruned_channels() -> keras.Model:
    """Output channels whose weights are all zero, as training leaves them (vww_96_int8): the converter clamps their
    biases to +-2^30 (a channel scale of almost nothing). A 1x1 and two 3x3 convolutions (odd live counts, one
    channel live of 9) and a fully connected layer."""
    x = keras.Input((7, 6, 12))
    convs = [layers.Conv2D(24, 1, activation="relu"), layers.Conv2D(13, 3, padding="same"),
             layers.Conv2D(9, 3, strides=2, padding="same", activation="relu")]
    h = x
    for conv in convs:
        h = conv(h)
    dense = layers.Dense(10)
    model = keras.Model(x, dense(layers.Flatten()(h)))
    pruned = ((convs[0], [0, 3, 4, 5, 9, 17, 23]), (convs[1], [1, 2, 6, 12]), (convs[2], [0, 1, 2, 3, 4, 5, 7, 8]),
              (dense, [2, 7]))
    for layer, channels in pruned:
        w, b = layer.get_weights()
        w[..., channels] = 0.0
        b[channels] = [(-1.5) ** i for i in range(len(channels))]
        layer.set_weights([w, b])
    return model
