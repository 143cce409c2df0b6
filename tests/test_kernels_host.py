"""tinyc's C kernels, built with the host gcc, against TFLM's reference interpreter.

Every case converts a tiny single-op Keras model to int8 TFLite, computes the kernel's
parameters from the model's quantization with tinyc.ir.requant, runs the C kernel through ctypes
and requires the exact bytes TFLM produces (no tolerance).
"""
from __future__ import annotations

import ctypes
import functools
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

from kernels_host import harness as h
from kernels_host.harness import OpInfo
from tinyc.ir import requant

INPUT_SEEDS = (101, 202, 303)  # random int8 inputs fed to each model


@pytest.fixture(scope="module")
def lib(tmp_path_factory: pytest.TempPathFactory) -> ctypes.CDLL:
    return h.build_library(tmp_path_factory.mktemp("kernels"))


@functools.lru_cache(maxsize=None)
def _model(case: "Case") -> tuple[bytes, OpInfo]:
    model = h.convert(case.build, case.input_shapes, case.seed)
    return model, h.single_op(model)


def _check(case: "Case", lib: ctypes.CDLL,
           run_kernel: Callable[[ctypes.CDLL, OpInfo, list[np.ndarray]], np.ndarray]) -> None:
    model, op = _model(case)
    assert op.name == case.op_name
    for seed in INPUT_SEEDS:
        inputs = [h.random_int8(shape, seed + i) for i, shape in enumerate(op.graph_input_shapes)]
        expected = h.run_tflm(model, inputs)
        got = run_kernel(lib, op, inputs).reshape(expected.shape)
        if not np.array_equal(got, expected):
            bad = np.argwhere(got != expected)
            first = tuple(int(v) for v in bad[0])
            pytest.fail(f"{case.id}, input seed {seed}: {len(bad)} of {got.size} values differ; "
                        f"first at {first}: got {got[first]}, TFLM {expected[first]}")


@dataclass(frozen=True)
class Case:
    id: str
    op_name: str
    input_shapes: tuple[tuple[int, ...], ...]  # without the batch dimension
    layer: Callable[[], object] = lambda: None  # returns a Keras layer (or a model builder)
    seed: int = 0
    activation: str = "NONE"  # fused activation in TFLite terms
    stride_hw: tuple[int, int] = (1, 1)
    filter_hw: tuple[int, int] = (1, 1)
    same: bool = False  # padding SAME (else VALID)

    def build(self):
        import tensorflow as tf

        inputs = [tf.keras.Input(shape, name=f"in{k}") for k, shape in enumerate(self.input_shapes)]
        layer = self.layer()
        outputs = layer(inputs if len(inputs) > 1 else inputs[0])
        return tf.keras.Model(inputs, outputs)

    def __hash__(self) -> int:
        return hash(self.id)


def _keras_activation(activation: str) -> str | None:
    return {"NONE": None, "RELU": "relu", "RELU6": "relu6"}[activation]


def _padding_hw(case: Case, in_hw: tuple[int, int], out_hw: tuple[int, int]) -> tuple[int, int]:
    if not case.same:
        return 0, 0
    return (h.same_padding(in_hw[0], case.filter_hw[0], case.stride_hw[0], out_hw[0]),
            h.same_padding(in_hw[1], case.filter_hw[1], case.stride_hw[1], out_hw[1]))


def _bias_initializer():
    import tensorflow as tf

    return tf.keras.initializers.RandomUniform(-1.0, 1.0)


# --- convolution --------------------------------------------------------------------------------

def _conv_case(filter_hw: tuple[int, int], stride: int, same: bool, activation: str,
               in_hwc: tuple[int, int, int], out_c: int, *, use_bias: bool = True) -> Case:
    name = f"conv{filter_hw[0]}x{filter_hw[1]}_s{stride}_{'same' if same else 'valid'}_" \
                  f"{activation.lower()}_in{'x'.join(map(str, in_hwc))}_out{out_c}{'' if use_bias else '_nobias'}"

    def layer():
        import tensorflow as tf

        return tf.keras.layers.Conv2D(out_c, filter_hw, strides=stride, padding="same" if same else "valid",
                                      activation=_keras_activation(activation), use_bias=use_bias,
                                      bias_initializer=_bias_initializer())

    return Case(id=name, op_name="CONV_2D", input_shapes=(in_hwc,), layer=layer, seed=len(name),
                activation=activation, stride_hw=(stride, stride), filter_hw=filter_hw, same=same)


CONV_CASES = [
    _conv_case((1, 1), 1, False, "NONE", (5, 5, 3), 4),
    _conv_case((1, 1), 2, False, "RELU", (7, 6, 5), 3),
    _conv_case((1, 1), 1, True, "RELU6", (4, 4, 8), 7),
    _conv_case((3, 3), 1, True, "NONE", (8, 8, 3), 5),
    _conv_case((3, 3), 1, False, "RELU", (7, 9, 3), 5),
    _conv_case((3, 3), 2, True, "RELU6", (9, 9, 5), 6),
    _conv_case((3, 3), 2, False, "NONE", (10, 7, 2), 3),
    _conv_case((3, 3), 2, True, "RELU", (8, 8, 1), 4),
    _conv_case((3, 3), 1, True, "RELU6", (6, 6, 4), 3, use_bias=False),
    _conv_case((5, 5), 1, True, "RELU", (9, 7, 3), 4),
    _conv_case((5, 5), 2, False, "NONE", (11, 11, 2), 3),
    _conv_case((5, 5), 2, True, "RELU6", (10, 9, 3), 5),
    _conv_case((7, 7), 1, True, "NONE", (8, 8, 1), 3),
    _conv_case((7, 7), 2, True, "RELU", (13, 11, 3), 4),
    _conv_case((7, 7), 1, False, "RELU6", (9, 10, 2), 2),
    _conv_case((10, 4), 1, False, "RELU", (25, 5, 1), 8),   # DS-CNN style first layer
    _conv_case((10, 4), 2, True, "NONE", (25, 5, 1), 8),
    _conv_case((10, 4), 2, True, "RELU6", (13, 7, 3), 5),
    _conv_case((3, 5), 1, True, "RELU", (6, 9, 3), 3),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: c.id)
def test_conv(lib: ctypes.CDLL, case: Case) -> None:
    def run(lib: ctypes.CDLL, op: OpInfo, inputs: list[np.ndarray]) -> np.ndarray:
        x, w, b = op.inputs[0], op.inputs[1], op.inputs[2] if len(op.inputs) > 2 else None
        y = op.outputs[0]
        assert w is not None and w.data is not None and x is not None
        out_c = y.shape[3]
        scales = w.scales if len(w.scales) > 1 else w.scales * out_c
        mults, shifts = requant.conv_multipliers(x.scale, scales, y.scale)
        act_min, act_max = requant.activation_range(case.activation, y.scale, y.zero_point)
        pad_h, pad_w = _padding_hw(case, x.shape[1:3], y.shape[1:3])
        params = h.ConvParams(input_offset=-x.zero_point, output_offset=y.zero_point,
                              stride=h.Tile(case.stride_hw[1], case.stride_hw[0]), padding=h.Tile(pad_w, pad_h),
                              dilation=h.Tile(1, 1), activation=h.Activation(act_min, act_max))
        mult_arr, shift_arr = np.array(mults, np.int32), np.array(shifts, np.int32)
        quant_params = h.PerChannelQuant(h.i32p(mult_arr), h.i32p(shift_arr))
        weights = np.ascontiguousarray(w.data.astype(np.int8))
        bias = np.ascontiguousarray(b.data.astype(np.int32)) if b is not None and b.data is not None else None
        if bias is not None and not bias.any():
            bias = None  # the converter stores a dropped bias as zeros: exercise the NULL-bias path
        out = np.zeros(y.shape, np.int8)
        in_dims, filter_dims, out_dims = h.dims(x.shape), h.dims(w.shape), h.dims(y.shape)
        assert lib.arm_convolve_wrapper_s8_get_buffer_size(ctypes.byref(params), ctypes.byref(in_dims),
                                                           ctypes.byref(filter_dims), ctypes.byref(out_dims)) == 0
        status = lib.arm_convolve_wrapper_s8(
            ctypes.byref(h.Context(None, 0)), ctypes.byref(params), ctypes.byref(quant_params),
            ctypes.byref(in_dims), h.i8p(inputs[0]), ctypes.byref(filter_dims), h.i8p(weights),
            ctypes.byref(h.dims((out_c,))), h.i32p(bias), ctypes.byref(out_dims), h.i8p(out))
        assert status == 0
        return out

    _check(case, lib, run)


# --- depthwise convolution ----------------------------------------------------------------------

def _dw_case(kernel: int, stride: int, same: bool, activation: str, in_hwc: tuple[int, int, int],
             depth_multiplier: int = 1) -> Case:
    name = f"dw{kernel}x{kernel}_s{stride}_{'same' if same else 'valid'}_{activation.lower()}_" \
           f"in{'x'.join(map(str, in_hwc))}_m{depth_multiplier}"

    def layer():
        import tensorflow as tf

        return tf.keras.layers.DepthwiseConv2D(kernel, strides=stride, padding="same" if same else "valid",
                                               depth_multiplier=depth_multiplier,
                                               activation=_keras_activation(activation),
                                               bias_initializer=_bias_initializer())

    return Case(id=name, op_name="DEPTHWISE_CONV_2D", input_shapes=(in_hwc,), layer=layer, seed=len(name),
                activation=activation, stride_hw=(stride, stride), filter_hw=(kernel, kernel), same=same)


DW_CASES = [
    _dw_case(3, 1, True, "RELU6", (8, 8, 5)),
    _dw_case(3, 2, True, "RELU", (9, 7, 3)),
    _dw_case(3, 1, False, "NONE", (6, 6, 4)),
    _dw_case(5, 1, True, "RELU", (7, 9, 3)),
    _dw_case(5, 2, False, "RELU6", (11, 11, 6)),
    _dw_case(7, 1, True, "NONE", (8, 8, 2)),
    _dw_case(7, 2, True, "RELU6", (13, 9, 5)),
    _dw_case(3, 1, True, "NONE", (6, 5, 3), depth_multiplier=2),
]


@pytest.mark.parametrize("case", DW_CASES, ids=lambda c: c.id)
def test_depthwise_conv(lib: ctypes.CDLL, case: Case) -> None:
    def run(lib: ctypes.CDLL, op: OpInfo, inputs: list[np.ndarray]) -> np.ndarray:
        x, w, b, y = op.inputs[0], op.inputs[1], op.inputs[2], op.outputs[0]
        assert x is not None and w is not None and w.data is not None and b is not None and b.data is not None
        out_c = y.shape[3]
        scales = w.scales if len(w.scales) > 1 else w.scales * out_c
        mults, shifts = requant.conv_multipliers(x.scale, scales, y.scale)
        act_min, act_max = requant.activation_range(case.activation, y.scale, y.zero_point)
        pad_h, pad_w = _padding_hw(case, x.shape[1:3], y.shape[1:3])
        params = h.DwConvParams(input_offset=-x.zero_point, output_offset=y.zero_point,
                                ch_mult=out_c // x.shape[3], stride=h.Tile(case.stride_hw[1], case.stride_hw[0]),
                                padding=h.Tile(pad_w, pad_h), dilation=h.Tile(1, 1),
                                activation=h.Activation(act_min, act_max))
        mult_arr, shift_arr = np.array(mults, np.int32), np.array(shifts, np.int32)
        quant_params = h.PerChannelQuant(h.i32p(mult_arr), h.i32p(shift_arr))
        weights = np.ascontiguousarray(w.data.astype(np.int8))
        bias = np.ascontiguousarray(b.data.astype(np.int32))
        out = np.zeros(y.shape, np.int8)
        status = lib.arm_depthwise_conv_wrapper_s8(
            ctypes.byref(h.Context(None, 0)), ctypes.byref(params), ctypes.byref(quant_params),
            ctypes.byref(h.dims(x.shape)), h.i8p(inputs[0]), ctypes.byref(h.dims(w.shape)), h.i8p(weights),
            ctypes.byref(h.dims((out_c,))), h.i32p(bias), ctypes.byref(h.dims(y.shape)), h.i8p(out))
        assert status == 0
        return out

    _check(case, lib, run)


# --- fully connected ----------------------------------------------------------------------------

def _dense_case(in_features: int, units: int, activation: str) -> Case:
    name = f"dense_in{in_features}_out{units}_{activation.lower()}"

    def layer():
        import tensorflow as tf

        return tf.keras.layers.Dense(units, activation=_keras_activation(activation),
                                     bias_initializer=_bias_initializer())

    return Case(id=name, op_name="FULLY_CONNECTED", input_shapes=((in_features,),), layer=layer, seed=len(name),
                activation=activation)


DENSE_CASES = [_dense_case(16, 10, "NONE"), _dense_case(33, 7, "RELU"), _dense_case(9, 12, "RELU6"),
               _dense_case(64, 3, "NONE")]


@pytest.mark.parametrize("entry_point", ["per_channel", "wrapper"])
@pytest.mark.parametrize("case", DENSE_CASES, ids=lambda c: c.id)
def test_fully_connected(lib: ctypes.CDLL, case: Case, entry_point: str) -> None:
    def run(lib: ctypes.CDLL, op: OpInfo, inputs: list[np.ndarray]) -> np.ndarray:
        x, w, b, y = op.inputs[0], op.inputs[1], op.inputs[2], op.outputs[0]
        assert x is not None and w is not None and w.data is not None and b is not None and b.data is not None
        out_c, accum = w.shape
        assert len(w.scales) == out_c, "TF 2.21 quantizes Dense per channel"
        mults, shifts = requant.conv_multipliers(x.scale, w.scales, y.scale)
        act_min, act_max = requant.activation_range(case.activation, y.scale, y.zero_point)
        params = h.FcParams(input_offset=-x.zero_point, filter_offset=-w.zero_point, output_offset=y.zero_point,
                            activation=h.Activation(act_min, act_max))
        mult_arr, shift_arr = np.array(mults, np.int32), np.array(shifts, np.int32)
        weights = np.ascontiguousarray(w.data.astype(np.int8))
        bias = np.ascontiguousarray(b.data.astype(np.int32))
        out = np.zeros(y.shape, np.int8)
        args = (ctypes.byref(h.dims((1, 1, 1, accum))), h.i8p(inputs[0]), ctypes.byref(h.Dims(accum, 1, 1, out_c)),
                h.i8p(weights), ctypes.byref(h.dims((out_c,))), h.i32p(bias), ctypes.byref(h.Dims(1, 1, 1, out_c)),
                h.i8p(out))
        ctx = ctypes.byref(h.Context(None, 0))
        if entry_point == "per_channel":
            quant_params = h.PerChannelQuant(h.i32p(mult_arr), h.i32p(shift_arr))
            status = lib.arm_fully_connected_per_channel_s8(ctx, ctypes.byref(params), ctypes.byref(quant_params),
                                                            *args)
        else:
            wrapper_quant = h.QuantParams(h.i32p(mult_arr), h.i32p(shift_arr), 1)
            status = lib.arm_fully_connected_wrapper_s8(ctx, ctypes.byref(params), ctypes.byref(wrapper_quant), *args)
        assert status == 0
        return out

    _check(case, lib, run)


def test_fully_connected_per_tensor_matches_per_channel_with_equal_scales(lib: ctypes.CDLL) -> None:
    """arm_fully_connected_s8 (per tensor) equals the per-channel kernel given one repeated multiplier."""
    rng = np.random.default_rng(7)
    accum, out_c = 21, 5
    x = rng.integers(-128, 128, accum, dtype=np.int8)
    w = rng.integers(-127, 128, (out_c, accum), dtype=np.int8)
    b = rng.integers(-5000, 5000, out_c, dtype=np.int32)
    mult, shift = requant.fully_connected_multiplier(0.02, 0.004, 0.05)
    params = h.FcParams(input_offset=3, filter_offset=0, output_offset=-7, activation=h.Activation(-128, 127))
    outs = []
    for per_channel in (False, True):
        out = np.zeros(out_c, np.int8)
        args = (ctypes.byref(h.Dims(1, 1, 1, accum)), h.i8p(x), ctypes.byref(h.Dims(accum, 1, 1, out_c)), h.i8p(w),
                ctypes.byref(h.Dims(1, 1, 1, out_c)), h.i32p(b), ctypes.byref(h.Dims(1, 1, 1, out_c)), h.i8p(out))
        if per_channel:
            mults, shifts = np.full(out_c, mult, np.int32), np.full(out_c, shift, np.int32)
            q = h.PerChannelQuant(h.i32p(mults), h.i32p(shifts))
            assert lib.arm_fully_connected_per_channel_s8(None, ctypes.byref(params), ctypes.byref(q), *args) == 0
        else:
            q1 = h.PerTensorQuant(mult, shift)
            assert lib.arm_fully_connected_s8(None, ctypes.byref(params), ctypes.byref(q1), *args) == 0
        outs.append(out)
    assert np.array_equal(outs[0], outs[1])
    assert lib.arm_fully_connected_s8_get_buffer_size(ctypes.byref(h.Dims(accum, 1, 1, out_c))) == 0


# --- add ------------------------------------------------------------------------------------------

def _add_case(shape: tuple[int, ...], seed: int) -> Case:
    def layer():
        import tensorflow as tf

        return tf.keras.layers.Add()

    return Case(id=f"add_{'x'.join(map(str, shape))}_seed{seed}", op_name="ADD", input_shapes=(shape, shape),
                layer=layer, seed=seed)


ADD_CASES = [_add_case((5, 7, 3), 1), _add_case((4, 4, 8), 2), _add_case((33,), 3)]


@pytest.mark.parametrize("case", ADD_CASES, ids=lambda c: c.id)
def test_add(lib: ctypes.CDLL, case: Case) -> None:
    def run(lib: ctypes.CDLL, op: OpInfo, inputs: list[np.ndarray]) -> np.ndarray:
        a, b, y = op.inputs[0], op.inputs[1], op.outputs[0]
        assert a is not None and b is not None
        p = requant.add_params(a.scale, a.zero_point, b.scale, b.zero_point, y.scale, y.zero_point)
        act_min, act_max = requant.activation_range("NONE", y.scale, y.zero_point)
        first, second = op.input_array(0, inputs), op.input_array(1, inputs)
        out = np.zeros(y.shape, np.int8)
        status = lib.arm_elementwise_add_s8(
            h.i8p(first), h.i8p(second), p.input1_offset, p.input1_mult, p.input1_shift, p.input2_offset,
            p.input2_mult, p.input2_shift, p.left_shift, h.i8p(out), p.output_offset, p.output_mult,
            p.output_shift, act_min, act_max, out.size)
        assert status == 0
        return out

    _check(case, lib, run)


# --- pooling --------------------------------------------------------------------------------------

def _pool_case(kind: str, pool: tuple[int, int], stride: int, same: bool, in_hwc: tuple[int, int, int]) -> Case:
    name = f"{kind}pool{pool[0]}x{pool[1]}_s{stride}_{'same' if same else 'valid'}_in{'x'.join(map(str, in_hwc))}"

    def layer():
        import tensorflow as tf

        cls = tf.keras.layers.AveragePooling2D if kind == "avg" else tf.keras.layers.MaxPooling2D
        return cls(pool, strides=stride, padding="same" if same else "valid")

    return Case(id=name, op_name="AVERAGE_POOL_2D" if kind == "avg" else "MAX_POOL_2D", input_shapes=(in_hwc,),
                layer=layer, seed=len(name), stride_hw=(stride, stride), filter_hw=pool, same=same)


POOL_CASES = [
    _pool_case("avg", (2, 2), 2, False, (8, 8, 3)),
    _pool_case("avg", (3, 3), 2, True, (9, 7, 5)),   # border windows average fewer elements
    _pool_case("avg", (3, 3), 1, True, (5, 5, 2)),
    _pool_case("avg", (5, 3), 2, True, (11, 6, 3)),
    _pool_case("max", (2, 2), 2, False, (8, 8, 3)),
    _pool_case("max", (3, 3), 2, True, (9, 7, 5)),
    _pool_case("max", (3, 2), 1, True, (6, 5, 4)),
]


@pytest.mark.parametrize("case", POOL_CASES, ids=lambda c: c.id)
def test_pool(lib: ctypes.CDLL, case: Case) -> None:
    def run(lib: ctypes.CDLL, op: OpInfo, inputs: list[np.ndarray]) -> np.ndarray:
        x, y = op.inputs[0], op.outputs[0]
        assert x is not None
        act_min, act_max = requant.activation_range("NONE", y.scale, y.zero_point)
        pad_h, pad_w = _padding_hw(case, x.shape[1:3], y.shape[1:3])
        params = h.PoolParams(stride=h.Tile(case.stride_hw[1], case.stride_hw[0]), padding=h.Tile(pad_w, pad_h),
                              activation=h.Activation(act_min, act_max))
        out = np.zeros(y.shape, np.int8)
        fn = lib.arm_avgpool_s8 if op.name == "AVERAGE_POOL_2D" else lib.arm_max_pool_s8
        status = fn(ctypes.byref(h.Context(None, 0)), ctypes.byref(params), ctypes.byref(h.dims(x.shape)),
                    h.i8p(inputs[0]), ctypes.byref(h.Dims(1, case.filter_hw[0], case.filter_hw[1], 1)),
                    ctypes.byref(h.dims(y.shape)), h.i8p(out))
        assert status == 0
        return out

    _check(case, lib, run)


# --- MEAN (GlobalAveragePooling2D) ----------------------------------------------------------------

def _mean_case(in_hwc: tuple[int, int, int], seed: int) -> Case:
    def layer():
        import tensorflow as tf

        return tf.keras.layers.GlobalAveragePooling2D()

    return Case(id=f"mean_in{'x'.join(map(str, in_hwc))}_seed{seed}", op_name="MEAN", input_shapes=(in_hwc,),
                layer=layer, seed=seed)


MEAN_CASES = [_mean_case((7, 5, 13), 0), _mean_case((4, 4, 3), 1), _mean_case((9, 9, 8), 2),
              _mean_case((3, 1, 5), 3), _mean_case((12, 10, 4), 4)]


def _run_mean(lib: ctypes.CDLL, x_shape: tuple[int, ...], x: np.ndarray, p: requant.MeanParams) -> np.ndarray:
    _, height, width, channels = x_shape
    params = h.MeanParams(p.input_zero_point, p.output_zero_point, p.num_elements, p.multiplier, p.shift)
    out = np.zeros(channels, np.int8)
    lib.tinyc_mean_s8(h.i8p(x), 1, height, width, channels, ctypes.byref(params), h.i8p(out))
    return out


@pytest.mark.parametrize("case", MEAN_CASES, ids=lambda c: c.id)
def test_mean(lib: ctypes.CDLL, case: Case) -> None:
    def run(lib: ctypes.CDLL, op: OpInfo, inputs: list[np.ndarray]) -> np.ndarray:
        x, y = op.inputs[0], op.outputs[0]
        assert x is not None
        p = requant.mean_params(input_scale=x.scale, input_zero_point=x.zero_point, output_scale=y.scale,
                              output_zero_point=y.zero_point, num_elements=x.shape[1] * x.shape[2])
        return _run_mean(lib, x.shape, inputs[0], p)

    _check(case, lib, run)


def test_mean_with_equal_input_and_output_quantization(lib: ctypes.CDLL) -> None:
    """Older TFLM took a truncating integer-division branch when in / out quantization match;
    the TFLM in use does not: patch the output quantization to the input's and compare."""
    import struct

    case = MEAN_CASES[0]
    model, op = _model(case)
    x, y = op.inputs[0], op.outputs[0]
    assert x is not None
    patched = model.replace(struct.pack("<f", y.scale), struct.pack("<f", x.scale))
    patched = patched.replace(struct.pack("<q", y.zero_point), struct.pack("<q", x.zero_point))
    patched_op = h.single_op(patched)
    assert (patched_op.outputs[0].scale, patched_op.outputs[0].zero_point) == (x.scale, x.zero_point)
    p = requant.mean_params(input_scale=x.scale, input_zero_point=x.zero_point, output_scale=x.scale,
                          output_zero_point=x.zero_point, num_elements=x.shape[1] * x.shape[2])
    for seed in INPUT_SEEDS:
        inp = h.random_int8(x.shape, seed)
        expected = h.run_tflm(patched, [inp]).reshape(-1)
        assert np.array_equal(_run_mean(lib, x.shape, inp, p), expected)


# --- softmax --------------------------------------------------------------------------------------

def _softmax_case(shape: tuple[int, ...], seed: int) -> Case:
    def layer():
        import tensorflow as tf

        return tf.keras.layers.Softmax()

    return Case(id=f"softmax_{'x'.join(map(str, shape))}_seed{seed}", op_name="SOFTMAX", input_shapes=(shape,),
                layer=layer, seed=seed)


SOFTMAX_CASES = [_softmax_case((10,), 0), _softmax_case((3, 12), 1), _softmax_case((37,), 2),
                 _softmax_case((2, 2, 5), 3), _softmax_case((64, 24), 4)]


@pytest.mark.parametrize("case", SOFTMAX_CASES, ids=lambda c: c.id)
def test_softmax(lib: ctypes.CDLL, case: Case) -> None:
    def run(lib: ctypes.CDLL, op: OpInfo, inputs: list[np.ndarray]) -> np.ndarray:
        x, y = op.inputs[0], op.outputs[0]
        assert x is not None
        assert (y.scale, y.zero_point) == (1.0 / 256, -128)
        p = requant.softmax_params(x.scale, 1.0)
        row_size = x.shape[-1]
        out = np.zeros(y.shape, np.int8)
        lib.arm_softmax_s8(h.i8p(inputs[0]), inputs[0].size // row_size, row_size, p.mult, p.shift, p.diff_min,
                           h.i8p(out))
        return out

    _check(case, lib, run)


def test_softmax_input_scales_sweep(lib: ctypes.CDLL) -> None:
    """Many input scales through one 64-row model: patch its input scale, compare with TFLM.
    Narrow-range rows (all values close to the maximum) stress the sum and its reciprocal."""
    import struct

    case = SOFTMAX_CASES[4]
    model, op = _model(case)
    x = op.inputs[0]
    assert x is not None
    rng = np.random.default_rng(5)
    for scale in (0.001, 0.0078125, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0):
        scale32 = float(np.float32(scale))
        patched = model.replace(struct.pack("<f", x.scale), struct.pack("<f", scale32))
        assert h.single_op(patched).inputs[0].scale == scale32  # type: ignore[union-attr]
        p = requant.softmax_params(scale32, 1.0)
        for spread in (255, 16, 3):
            high = rng.integers(-128 + spread, 128, size=(*x.shape[:-1], 1))
            inp = (high - rng.integers(0, spread, size=x.shape)).astype(np.int8)
            expected = h.run_tflm(patched, [inp])
            out = np.zeros(inp.shape, np.int8)
            row_size = x.shape[-1]
            lib.arm_softmax_s8(h.i8p(inp), inp.size // row_size, row_size, p.mult, p.shift, p.diff_min, h.i8p(out))
            assert np.array_equal(out, expected), f"input scale {scale32}, spread {spread}"


# --- pad, concatenation, relu -------------------------------------------------------------------

def _pad_case(in_hwc: tuple[int, int, int], padding: tuple[tuple[int, int], tuple[int, int]]) -> Case:
    def layer():
        import tensorflow as tf

        return tf.keras.layers.ZeroPadding2D(padding)

    return Case(id=f"pad_in{'x'.join(map(str, in_hwc))}_{padding}".replace(" ", ""), op_name="PAD",
                input_shapes=(in_hwc,), layer=layer, seed=1)


PAD_CASES = [_pad_case((5, 4, 3), ((1, 1), (1, 1))), _pad_case((6, 5, 2), ((0, 2), (3, 1)))]


@pytest.mark.parametrize("case", PAD_CASES, ids=lambda c: c.id)
def test_pad(lib: ctypes.CDLL, case: Case) -> None:
    def run(lib: ctypes.CDLL, op: OpInfo, inputs: list[np.ndarray]) -> np.ndarray:
        x, paddings, y = op.inputs[0], op.inputs[1], op.outputs[0]
        assert x is not None and paddings is not None and paddings.data is not None
        before, after = h.Dims(*paddings.data[:, 0]), h.Dims(*paddings.data[:, 1])
        out = np.zeros(y.shape, np.int8)
        status = lib.arm_pad_s8(h.i8p(inputs[0]), h.i8p(out), ctypes.c_int8(y.zero_point),
                                ctypes.byref(h.dims(x.shape)), ctypes.byref(before), ctypes.byref(after))
        assert status == 0
        return out

    _check(case, lib, run)


def _concat_case(channels: tuple[int, ...], hw: tuple[int, int]) -> Case:
    def layer():
        import tensorflow as tf

        return tf.keras.layers.Concatenate(axis=-1)

    return Case(id=f"concat_{'_'.join(map(str, channels))}_hw{hw[0]}x{hw[1]}", op_name="CONCATENATION",
                input_shapes=tuple((*hw, c) for c in channels), layer=layer, seed=sum(channels))


CONCAT_CASES = [_concat_case((3, 5), (4, 4)), _concat_case((1, 4, 2), (3, 5))]


@pytest.mark.parametrize("axis", ["x", "z"])
@pytest.mark.parametrize("case", CONCAT_CASES, ids=lambda c: c.id)
def test_concatenation(lib: ctypes.CDLL, case: Case, axis: str) -> None:
    """NHWC channel concatenation as CMSIS-NN's x axis (x = C, y = W, z = H, w = N, as tinyc emits)
    and, equivalently, as its z axis with x = y = 1, z = C, w = N * H * W."""
    def run(lib: ctypes.CDLL, op: OpInfo, inputs: list[np.ndarray]) -> np.ndarray:
        y = op.outputs[0]
        out = np.zeros(y.shape, np.int8)
        offset = 0
        pixels = int(np.prod(y.shape[:-1]))
        for k, tensor in enumerate(op.inputs):
            assert tensor is not None
            array = op.input_array(k, inputs)
            channels = tensor.shape[-1]
            if axis == "x":
                n, height, width = tensor.shape[:3]
                lib.arm_concatenation_s8_x(h.i8p(array), channels, width, height, n, h.i8p(out), y.shape[-1], offset)
            else:
                lib.arm_concatenation_s8_z(h.i8p(array), 1, 1, channels, pixels, h.i8p(out), y.shape[-1], offset)
            offset += channels
        return out

    _check(case, lib, run)


def _relu_case(max_value: float | None, shape: tuple[int, ...]) -> Case:
    def layer():
        import tensorflow as tf

        return tf.keras.layers.ReLU(max_value=max_value)

    return Case(id=f"relu{'' if max_value is None else int(max_value)}_{'x'.join(map(str, shape))}",
                op_name="RELU" if max_value is None else "RELU6", input_shapes=(shape,), layer=layer,
                seed=len(shape))


RELU_CASES = [_relu_case(None, (6, 5, 3)), _relu_case(6.0, (6, 5, 3)), _relu_case(None, (40,))]


@pytest.mark.parametrize("case", RELU_CASES, ids=lambda c: c.id)
def test_relu(lib: ctypes.CDLL, case: Case) -> None:
    def run(lib: ctypes.CDLL, op: OpInfo, inputs: list[np.ndarray]) -> np.ndarray:
        x, y = op.inputs[0], op.outputs[0]
        assert x is not None
        p = requant.relu_params(activation=op.name, input_scale=x.scale, input_zero_point=x.zero_point,
                              output_scale=y.scale, output_zero_point=y.zero_point)
        params = h.ReluParams(int(p.requantize), p.input_zero_point, p.output_zero_point, p.multiplier, p.shift,
                              p.act_min, p.act_max)
        out = np.zeros(y.shape, np.int8)
        lib.tinyc_relu_s8(h.i8p(inputs[0]), inputs[0].size, ctypes.byref(params), h.i8p(out))
        return out

    _check(case, lib, run)


def test_relu6_upper_bound_rounding(lib: ctypes.CDLL) -> None:
    """TFLM's RELU6 bound round(6 / input_scale) + zero point, for input scales where it is
    below 127 and rounding differs from truncation: patch the input scale of the RELU6 model."""
    import struct

    case = next(c for c in RELU_CASES if c.op_name == "RELU6")
    model, op = _model(case)
    x, y = op.inputs[0], op.outputs[0]
    assert x is not None
    for scale in (0.0875, 0.07, 0.11, 0.3):
        scale32 = float(np.float32(scale))
        assert (6 / scale32) % 1 > 0.5  # round and truncate disagree
        patched = model.replace(struct.pack("<f", x.scale), struct.pack("<f", scale32))
        p = requant.relu_params(activation="RELU6", input_scale=scale32, input_zero_point=x.zero_point,
                              output_scale=y.scale, output_zero_point=y.zero_point)
        params = h.ReluParams(int(p.requantize), p.input_zero_point, p.output_zero_point, p.multiplier, p.shift,
                              p.act_min, p.act_max)
        inp = np.arange(-128, 128, dtype=np.int8)
        inp = np.resize(inp, x.shape).astype(np.int8)
        expected = h.run_tflm(patched, [inp])
        out = np.zeros(inp.shape, np.int8)
        lib.tinyc_relu_s8(h.i8p(inp), inp.size, ctypes.byref(params), h.i8p(out))
        assert np.array_equal(out, expected), f"input scale {scale32}"


# (build hygiene, for every kernel source on disk and every CPU: tests/test_kernel_build.py)


# --- broadcasting MUL / SUB and the lookup-table kernel -------------------------------------------

def _binary_case(op_name: str, shapes: tuple[tuple[int, ...], tuple[int, ...]], seed: int) -> Case:
    def layer():
        import tensorflow as tf

        return {"MUL": tf.keras.layers.Multiply, "SUB": tf.keras.layers.Subtract, "ADD": tf.keras.layers.Add}[op_name]()

    shape_id = "_".join("x".join(map(str, s)) for s in shapes)
    return Case(id=f"{op_name.lower()}_{shape_id}_seed{seed}", op_name=op_name, input_shapes=shapes, layer=layer,
                seed=seed)


BINARY_CASES = [_binary_case("MUL", ((5, 7, 6), (1, 1, 6)), 1),   # the SE block's channel scale
                _binary_case("MUL", ((1, 1, 6), (5, 7, 6)), 2),   # the broadcast operand first
                _binary_case("MUL", ((4, 3, 8), (4, 3, 8)), 3),
                _binary_case("MUL", ((4, 1, 5), (1, 6, 5)), 4),   # both operands broadcast
                _binary_case("SUB", ((5, 7, 6), (1, 1, 6)), 5),
                _binary_case("SUB", ((6, 4, 3), (6, 4, 3)), 6),
                _binary_case("ADD", ((5, 7, 6), (1, 1, 6)), 7),   # broadcasting ADD: tinyc_add_s8
                _binary_case("ADD", ((1, 6, 5), (4, 1, 5)), 8)]


@pytest.mark.parametrize("case", BINARY_CASES, ids=lambda c: c.id)
def test_broadcasting_binary(lib: ctypes.CDLL, case: Case) -> None:
    """tinyc_mul_s8 / tinyc_sub_s8 with the strides and parameters lowering computes, against TFLM."""
    from tinyc.ir.lower import BinaryCall, _binary
    from tinyc.ir.reader import read_tflite

    model, _ = _model(case)
    graph = read_tflite(model)  # two model inputs: lowered op by op (tinyc's whole-model check wants one)
    call = _binary(graph, graph.ops[0])
    assert isinstance(call, BinaryCall)

    def strides(d):  # type: ignore[no-untyped-def]
        return (h.i32 * 4)(d.n, d.h, d.w, d.c)

    def run(lib: ctypes.CDLL, op: OpInfo, inputs: list[np.ndarray]) -> np.ndarray:
        first, second = (np.ascontiguousarray(op.input_array(k, inputs)) for k in (0, 1))  # the op's operand order
        out = np.zeros(op.outputs[0].shape, np.int8)
        shape = h.Broadcast(strides(call.output_dims), strides(call.input1_strides), strides(call.input2_strides))
        p = call.params
        if case.op_name == "MUL":
            params = h.MulParams(*(getattr(p, f) for f, _ in h.MulParams._fields_))
            lib.tinyc_mul_s8(h.i8p(first), h.i8p(second), ctypes.byref(shape), ctypes.byref(params), h.i8p(out))
        elif case.op_name == "ADD":
            params = h.SubParams(*(getattr(p, f) for f, _ in h.SubParams._fields_))
            lib.tinyc_add_s8(h.i8p(first), h.i8p(second), ctypes.byref(shape), ctypes.byref(params), h.i8p(out))
        else:
            params = h.SubParams(*(getattr(p, f) for f, _ in h.SubParams._fields_))
            lib.tinyc_sub_s8(h.i8p(first), h.i8p(second), ctypes.byref(shape), ctypes.byref(params), h.i8p(out))
        return out

    _check(case, lib, run)


def test_lut_kernel_reads_the_table_at_input_plus_128(lib: ctypes.CDLL) -> None:
    table = np.arange(256, dtype=np.int64).astype(np.uint8).astype(np.int8)[::-1].copy()
    values = np.arange(-128, 128, dtype=np.int8)
    out = np.zeros(256, np.int8)
    lib.tinyc_lut_s8(h.i8p(values), 256, h.i8p(table), h.i8p(out))
    assert out.tolist() == table.tolist()
    lib.tinyc_lut_s8(h.i8p(values), 256, h.i8p(table), h.i8p(values))  # in place
    assert values.tolist() == table.tolist()


# --- dilated convolutions, depth multipliers, nearest-neighbour resize ----------------------------
# The converter's chains (SPACE_TO_BATCH_ND -> conv -> BATCH_TO_SPACE_ND; EXPAND_DIMS -> TILE -> RESHAPE) are folded by
# tinyc's reader into one op; TFLM runs the one native op they stand for (tinyc.run.oracle.with_native_ops), and the
# kernel, called with the parameters lowering computes, must give its exact bytes.

def _lowered_case(build: Callable[[], object], input_shape: tuple[int, ...], seed: int):  # type: ignore[no-untyped-def]
    from tinyc.ir.lower import KernelKind, lower
    from tinyc.ir.reader import read_tflite
    from tinyc.run.oracle import with_native_ops

    model = h.convert(build, (input_shape,), seed)
    native = with_native_ops(model)
    reference = native[0] if native is not None else model
    calls = [c for c in lower(read_tflite(model)).calls if c.kind is not KernelKind.RESHAPE]  # aliases: no code
    return reference, calls


def _check_lowered(reference: bytes, run, then=None) -> None:  # type: ignore[no-untyped-def]
    """`run` maps the model input to the kernel's output; `then`, when given, maps that to the model output (the
    bias ADD the converter leaves after a dilated convolution)."""
    from tinyc.ir.reader import read_tflite

    graph = read_tflite(reference)
    shape = graph.tensor(graph.inputs[0]).shape
    for seed in INPUT_SEEDS:
        x = h.random_int8(shape, seed)
        expected = h.run_tflm(reference, [x])
        got = run(x)
        got = (then(got) if then is not None else got).reshape(expected.shape)
        bad = np.argwhere(got != expected)
        assert not bad.size, f"input seed {seed}: {len(bad)} of {got.size} values differ; first at {tuple(bad[0])}"


DILATED_CASES = {
    "conv_k3_d2_same": (False, 2, "same", (9, 10, 3), 5, 3, None, 1),
    "conv_k3_d3x2_valid_relu": (False, (3, 2), "valid", (12, 9, 4), 6, 3, "relu", 1),
    "conv_k5_d2_same": (False, 2, "same", (11, 8, 2), 4, 5, None, 1),
    "conv_k2_d3_same": (False, 3, "same", (8, 9, 3), 4, 2, None, 1),
    "conv_k3x1_d4_same": (False, 4, "same", (13, 5, 2), 3, (3, 1), "relu", 1),
    "dw_k3_d2_same": (True, 2, "same", (9, 7, 5), 0, 3, None, 1),
    "dw_k3_d4_same_m2": (True, 4, "same", (13, 12, 3), 0, 3, None, 2),
    "dw_k3_d2_valid_relu": (True, 2, "valid", (10, 9, 4), 0, 3, "relu", 1),
    "dw_k5_d3_same_m3": (True, 3, "same", (12, 11, 2), 0, 5, None, 3),
}


@pytest.mark.parametrize("name", sorted(DILATED_CASES))
def test_dilated_convolution(lib: ctypes.CDLL, name: str) -> None:
    """Folded dilated conv / depthwise: one call with the dilation, against TFLM's native dilated op."""
    import tensorflow as tf

    from tinyc.ir.lower import ConvCall, KernelKind

    depthwise, dilation, padding, hwc, cout, k, activation, multiplier = DILATED_CASES[name]

    def build():  # type: ignore[no-untyped-def]
        x = tf.keras.Input(hwc, name="in0")
        if depthwise:
            layer = tf.keras.layers.DepthwiseConv2D(k, dilation_rate=dilation, padding=padding, activation=activation,
                                                    depth_multiplier=multiplier, bias_initializer=_bias_initializer())
        else:
            layer = tf.keras.layers.Conv2D(cout, k, dilation_rate=dilation, padding=padding, activation=activation,
                                           bias_initializer=_bias_initializer())
        return tf.keras.Model(x, layer(x))

    reference, calls = _lowered_case(build, hwc, len(name))
    call = calls[0]
    assert isinstance(call, ConvCall) and max(call.dilation_h, call.dilation_w) > 1
    assert call.kind is (KernelKind.DEPTHWISE_CONV if depthwise else KernelKind.CONV)
    consts = {a.name.rsplit("_", 1)[1]: a.values for a in call.consts}
    mults, shifts = np.ascontiguousarray(consts["multiplier"]), np.ascontiguousarray(consts["shift"])
    weights, bias = np.ascontiguousarray(consts["weights"]), np.ascontiguousarray(consts["bias"])
    quant = h.PerChannelQuant(h.i32p(mults), h.i32p(shifts))
    common = dict(input_offset=call.input_offset, output_offset=call.output_offset,
                  stride=h.Tile(call.stride_w, call.stride_h), padding=h.Tile(call.pad_w, call.pad_h),
                  dilation=h.Tile(call.dilation_w, call.dilation_h), activation=h.Activation(call.act_min, call.act_max))

    def dims(d):  # type: ignore[no-untyped-def]
        return h.dims((d.n, d.h, d.w, d.c))

    def run(x: np.ndarray) -> np.ndarray:
        o = call.output_dims
        out = np.zeros((o.n, o.h, o.w, o.c), np.int8)
        entry = lib.arm_depthwise_conv_wrapper_s8 if depthwise else lib.arm_convolve_wrapper_s8
        params = h.DwConvParams(ch_mult=call.ch_mult, **common) if depthwise else h.ConvParams(**common)
        status = entry(ctypes.byref(h.Context(None, 0)), ctypes.byref(params), ctypes.byref(quant),
                       ctypes.byref(dims(call.input_dims)), h.i8p(np.ascontiguousarray(x)),
                       ctypes.byref(dims(call.filter_dims)), h.i8p(weights), ctypes.byref(dims(call.bias_dims)),
                       h.i32p(bias), ctypes.byref(dims(call.output_dims)), h.i8p(out))
        assert status == 0
        return out

    _check_lowered(reference, run, then=None if len(calls) == 1 else _bias_add(lib, calls))


def _bias_add(lib: ctypes.CDLL, calls):  # type: ignore[no-untyped-def]
    """tinyc_add_s8 with a constant per-channel operand: the second call of a dilated convolution with a bias."""
    from tinyc.ir.lower import BinaryCall, KernelKind

    assert len(calls) == 2
    add = calls[1]
    assert isinstance(add, BinaryCall) and add.kind is KernelKind.ADD_BROADCAST and add.constant_position >= 0
    constant = np.ascontiguousarray(add.consts[0].values.astype(np.int8))

    def strides(d):  # type: ignore[no-untyped-def]
        return (h.i32 * 4)(d.n, d.h, d.w, d.c)

    def apply(y: np.ndarray) -> np.ndarray:
        y = np.ascontiguousarray(y)
        operands = [y, y]
        operands[add.constant_position] = constant
        out = np.zeros_like(y)
        shape = h.Broadcast(strides(add.output_dims), strides(add.input1_strides), strides(add.input2_strides))
        params = h.SubParams(*(getattr(add.params, f) for f, _ in h.SubParams._fields_))
        lib.tinyc_add_s8(h.i8p(operands[0]), h.i8p(operands[1]), ctypes.byref(shape), ctypes.byref(params), h.i8p(out))
        return out

    return apply


RESIZE_CASES = {
    "upsampling_2x2": ((5, 6, 3), lambda tf: tf.keras.layers.UpSampling2D(2)),
    "upsampling_3x2": ((4, 5, 2), lambda tf: tf.keras.layers.UpSampling2D((3, 2))),
    "upsampling_1x3": ((6, 3, 4), lambda tf: tf.keras.layers.UpSampling2D((1, 3))),
    "resizing_5x7_to_8x12": ((5, 7, 3), lambda tf: tf.keras.layers.Resizing(8, 12, interpolation="nearest")),
    "resizing_9x8_to_4x5": ((9, 8, 2), lambda tf: tf.keras.layers.Resizing(4, 5, interpolation="nearest")),
    "resizing_3x3_to_7x10": ((3, 3, 5), lambda tf: tf.keras.layers.Resizing(7, 10, interpolation="nearest")),
}


BILINEAR_CASES = {
    "upsampling_bilinear_2x2": ((5, 6, 3), lambda tf: tf.keras.layers.UpSampling2D(2, interpolation="bilinear")),
    "upsampling_bilinear_3x2": ((4, 5, 2), lambda tf: tf.keras.layers.UpSampling2D((3, 2), interpolation="bilinear")),
    "resizing_bilinear_5x7_to_8x12": ((5, 7, 3), lambda tf: tf.keras.layers.Resizing(8, 12, interpolation="bilinear")),
    "resizing_bilinear_9x8_to_4x5": ((9, 8, 2), lambda tf: tf.keras.layers.Resizing(4, 5, interpolation="bilinear")),
    "resizing_bilinear_3x3_to_7x10": ((3, 3, 5), lambda tf: tf.keras.layers.Resizing(7, 10, interpolation="bilinear")),
}


@pytest.mark.parametrize("name", sorted(BILINEAR_CASES))
def test_resize_bilinear(lib: ctypes.CDLL, name: str) -> None:
    """tinyc_resize_bilinear_s8 with lowering's taps (TFLite's 10-bit integer ResizeBilinear), against TFLM."""
    import tensorflow as tf

    from tinyc.ir.lower import KernelKind, ResizeCall

    hwc, layer = BILINEAR_CASES[name]

    def build():  # type: ignore[no-untyped-def]
        x = tf.keras.Input(hwc, name="in0")
        return tf.keras.Model(x, layer(tf)(x))

    reference, calls = _lowered_case(build, hwc, len(name))
    assert len(calls) == 1
    call = calls[0]
    assert isinstance(call, ResizeCall) and call.kind is KernelKind.RESIZE_BILINEAR
    taps = np.ascontiguousarray(call.consts[0].values.astype(np.int16))

    def run(x: np.ndarray) -> np.ndarray:
        o = call.output_dims
        out = np.zeros((o.n, o.h, o.w, o.c), np.int8)
        lib.tinyc_resize_bilinear_s8(h.i8p(np.ascontiguousarray(x)), call.input_dims.w, call.input_dims.c, o.h, o.w,
                                     taps.ctypes.data_as(ctypes.POINTER(ctypes.c_int16)), h.i8p(out))
        return out

    _check_lowered(reference, run)


@pytest.mark.parametrize("name", sorted(RESIZE_CASES))
def test_resize_nearest(lib: ctypes.CDLL, name: str) -> None:
    """tinyc_resize_nearest_s8 with lowering's index table: UpSampling2D's folded chain (exact repetition) and
    Resizing's native RESIZE_NEAREST_NEIGHBOR (TFLite's float32 coordinate rule), against TFLM."""
    import tensorflow as tf

    from tinyc.ir.lower import KernelKind, ResizeCall

    hwc, layer = RESIZE_CASES[name]

    def build():  # type: ignore[no-untyped-def]
        x = tf.keras.Input(hwc, name="in0")
        return tf.keras.Model(x, layer(tf)(x))

    reference, calls = _lowered_case(build, hwc, len(name))
    assert len(calls) == 1
    call = calls[0]
    assert isinstance(call, ResizeCall) and call.kind is KernelKind.RESIZE_NEAREST
    index = np.ascontiguousarray(call.consts[0].values.astype(np.int16))

    def run(x: np.ndarray) -> np.ndarray:
        o = call.output_dims
        out = np.zeros((o.n, o.h, o.w, o.c), np.int8)
        lib.tinyc_resize_nearest_s8(h.i8p(np.ascontiguousarray(x)), call.input_dims.w, call.input_dims.c, o.h, o.w,
                                    index.ctypes.data_as(ctypes.POINTER(ctypes.c_int16)), h.i8p(out))
        return out

    _check_lowered(reference, run)


class PreluParams(ctypes.Structure):
    _fields_ = [(name, ctypes.c_int32) for name in ("input_offset", "alpha_offset", "output_offset", "multiplier_1",
                                                    "shift_1", "multiplier_2", "shift_2")]


PRELU_CASES = {
    "per_channel_7x6x5": ((7, 6, 5), [1, 2]),
    "per_channel_4x9x8": ((4, 9, 8), [1, 2]),
    "per_element_5x4x3": ((5, 4, 3), None),
    "shared_rows_6x5x4": ((6, 5, 4), [1]),
}


@pytest.mark.parametrize("name", sorted(PRELU_CASES))
def test_prelu(lib: ctypes.CDLL, name: str) -> None:
    """tinyc_prelu_s8 with alpha as lowering places it (a constant operand broadcast over the input), against TFLM."""
    import tensorflow as tf

    from tinyc.ir.lower import BinaryCall, KernelKind

    hwc, shared = PRELU_CASES[name]

    def build():  # type: ignore[no-untyped-def]
        x = tf.keras.Input(hwc, name="in0")
        prelu = tf.keras.layers.PReLU(alpha_initializer=tf.keras.initializers.RandomUniform(-0.5, 1.5),
                                      shared_axes=shared)
        return tf.keras.Model(x, prelu(x))

    reference, calls = _lowered_case(build, hwc, len(name))
    assert len(calls) == 1
    call = calls[0]
    assert isinstance(call, BinaryCall) and call.kind is KernelKind.PRELU and call.constant_position == 1
    alpha = np.ascontiguousarray(call.consts[0].values.astype(np.int8))

    def strides(d):  # type: ignore[no-untyped-def]
        return (h.i32 * 4)(d.n, d.h, d.w, d.c)

    def run(x: np.ndarray) -> np.ndarray:
        out = np.zeros_like(x)
        shape = h.Broadcast(strides(call.output_dims), strides(call.input1_strides), strides(call.input2_strides))
        params = PreluParams(*(getattr(call.params, f) for f, _ in PreluParams._fields_))
        lib.tinyc_prelu_s8(h.i8p(np.ascontiguousarray(x)), h.i8p(alpha), ctypes.byref(shape), ctypes.byref(params),
                           h.i8p(out))
        return out

    _check_lowered(reference, run)


class TransposeConvParams(ctypes.Structure):
    _fields_ = [(name, ctypes.c_int32) for name in (
        "input_h", "input_w", "input_c", "output_h", "output_w", "output_c", "filter_h", "filter_w", "stride_h",
        "stride_w", "pad_h", "pad_w", "input_offset", "output_offset", "act_min", "act_max")]


TRANSPOSE_CONV_CASES = {
    "k3_s2_same_relu": ((5, 6, 3), 4, 3, 2, "same", "relu"),
    "k3x2_s2x3_valid": ((5, 6, 3), 4, (3, 2), (2, 3), "valid", None),
    "k4_s2_same": ((4, 4, 5), 3, 4, 2, "same", None),
    "k2_s2_valid": ((6, 5, 2), 6, 2, 2, "valid", None),
    "k5_s1_same": ((5, 5, 3), 2, 5, 1, "same", None),
    "k3_s3_same": ((3, 4, 4), 3, 3, 3, "same", "relu"),
}


@pytest.mark.parametrize("name", sorted(TRANSPOSE_CONV_CASES))
def test_transpose_conv(lib: ctypes.CDLL, name: str) -> None:
    """tinyc_transpose_conv_s8 with the parameters lowering computes (TFLM's padding rule), against TFLM."""
    import tensorflow as tf

    from tinyc.ir.lower import KernelKind, TransposeConvCall

    hwc, filters, k, stride, padding, activation = TRANSPOSE_CONV_CASES[name]

    def build():  # type: ignore[no-untyped-def]
        x = tf.keras.Input(hwc, name="in0")
        return tf.keras.Model(x, tf.keras.layers.Conv2DTranspose(filters, k, strides=stride, padding=padding,
                                                                 activation=activation,
                                                                 bias_initializer=_bias_initializer())(x))

    reference, calls = _lowered_case(build, hwc, len(name))
    assert len(calls) == 1
    call = calls[0]
    assert isinstance(call, TransposeConvCall) and call.kind is KernelKind.TRANSPOSE_CONV
    consts = {a.name.rsplit("_", 1)[1]: np.ascontiguousarray(a.values) for a in call.consts}
    i, o, f = call.input_dims, call.output_dims, call.filter_dims
    params = TransposeConvParams(i.h, i.w, i.c, o.h, o.w, o.c, f.h, f.w, call.stride_h, call.stride_w, call.pad_h,
                                 call.pad_w, call.input_offset, call.output_offset, call.act_min, call.act_max)

    def run(x: np.ndarray) -> np.ndarray:
        out = np.zeros((o.n, o.h, o.w, o.c), np.int8)
        lib.tinyc_transpose_conv_s8(h.i8p(np.ascontiguousarray(x)), h.i8p(consts["weights"].astype(np.int8)),
                                    h.i32p(consts["bias"]), h.i32p(consts["multiplier"]), h.i32p(consts["shift"]),
                                    ctypes.byref(params), h.i8p(out))
        return out

    _check_lowered(reference, run)


class StridedCopyShape(ctypes.Structure):
    _fields_ = [("dims", h.i32 * 4), ("steps", h.i32 * 4)]


def _keras_ops():  # type: ignore[no-untyped-def]
    import keras

    return keras.ops


# Models made of shape ops only: SPLIT / SPLIT_V parts (joined by a channel concatenation), TRANSPOSE and
# STRIDED_SLICE. (input shape, the layers applied to the Keras input)
SHAPE_OP_CASES = {
    "split3_channels_concat": ((6, 5, 9), lambda tf, x: tf.keras.layers.Concatenate()(
        [p for p in reversed(_keras_ops().split(x, 3, axis=-1))])),
    "split_v_height_concat": ((7, 5, 4), lambda tf, x: tf.keras.layers.Concatenate()(
        [_keras_ops().split(x, [3, 4], axis=1)[k] for k in (2, 0)])),
    "permute_swap_hw": ((6, 5, 4), lambda tf, x: tf.keras.layers.Permute((2, 1, 3))(x)),
    "permute_channels_first": ((6, 5, 4), lambda tf, x: tf.keras.layers.Permute((3, 1, 2))(x)),
    "transpose_rank3": ((10, 3), lambda tf, x: _keras_ops().transpose(x, (0, 2, 1))),
    "slice_strided_reversed": ((8, 7, 6), lambda tf, x: x[:, 1:7:2, ::-1, 2:5]),
    "slice_shrink_axis": ((8, 7, 6), lambda tf, x: x[:, 3, :, 1:]),
    "slice_negative_bounds": ((9, 8, 5), lambda tf, x: x[:, -4:, 1:-1:3, ::-2]),
}


@pytest.mark.parametrize("name", sorted(SHAPE_OP_CASES))
def test_shape_ops_strided_copy(lib: ctypes.CDLL, name: str) -> None:
    """SPLIT / SPLIT_V parts, TRANSPOSE and STRIDED_SLICE run as tinyc_strided_copy_s8 with the walk lowering computes
    (TFLite's begin/end/mask rules), against TFLM; a concatenation of split parts is joined here byte by byte."""
    import tensorflow as tf

    from tinyc.ir.lower import ConcatCall, KernelKind, StridedCopyCall, lower
    from tinyc.ir.reader import read_tflite

    shape, layers = SHAPE_OP_CASES[name]

    def build():  # type: ignore[no-untyped-def]
        x = tf.keras.Input(shape, name="in0")
        return tf.keras.Model(x, layers(tf, x))

    model = h.convert(build, (shape,), len(name))
    lowered = lower(read_tflite(model))
    kinds = {c.kind for c in lowered.calls}
    assert KernelKind.STRIDED_COPY in kinds and kinds <= {KernelKind.STRIDED_COPY, KernelKind.CONCAT,
                                                          KernelKind.RESHAPE}, kinds
    graph = lowered.graph

    def run(x: np.ndarray) -> np.ndarray:
        values = {lowered.input: x.reshape(-1)}
        for call in lowered.calls:
            if isinstance(call, StridedCopyCall):
                d, s = call.output_dims, call.steps
                out = np.zeros(d.n * d.h * d.w * d.c, np.int8)
                walk = StridedCopyShape((h.i32 * 4)(d.n, d.h, d.w, d.c), (h.i32 * 4)(s.n, s.h, s.w, s.c))
                source = np.ascontiguousarray(values[call.inputs[0]])
                start = ctypes.cast(source.ctypes.data + call.base, h.I8P)
                lib.tinyc_strided_copy_s8(start, ctypes.byref(walk), h.i8p(out))
            elif isinstance(call, ConcatCall):
                parts = [values[p.tensor].reshape(p.dims.n * p.dims.h * p.dims.w, p.dims.c) for p in call.parts]
                out = np.concatenate(parts, axis=1).reshape(-1)
            else:
                out = values[call.inputs[0]]  # RESHAPE: the same bytes
            values[call.output] = out
        return values[lowered.output].reshape(graph.tensor(lowered.output).shape)

    _check_lowered(model, run)
