"""Front end with TensorFlow: every models/*.py builds; analytic counts == the int8 graph's."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import math
import subprocess
import sys
import types
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
import tflite
from tflite.utils import opcode2name

from tinyc.frontend import zoo
from tinyc.frontend.blocks import build_model
from tinyc.frontend.count import count, lower
from tinyc.frontend.evaluate import convert_int8, int8_predictions
from tinyc.frontend.spec import Conv, Dense, GlobalAvgPool, InvertedResidual, Network, Spec

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "models"
MODEL_NAMES = sorted(path.stem for path in MODELS.glob("*.py"))
SLOW_TO_CONVERT = {"mbv2_224", "mbv2_224_rd", "mbv2_035_144"}
CLASSES = {
    "digits_mcunet": 10, "ic_resnet8": 10, "kws_dscnn": 12, "mbv2_035_144": 1000, "mbv2_224": 1000, "mbv2_224_rd": 1000, "mbv3_small_96": 2, "mcunet_f412": 1000,
    "mcunet_f412_patch": 1000, "mcunet_h743": 1000, "tiny_dscnn": 12, "tiny_mbv2": 10,
    "tiny_resnet": 10, "vww_mbv1": 2,
}
# Model files written directly in Keras (no SPEC): the layers the spec language does not describe (upsampling,
# dilation, Conv1D, a detector's per-cell head). Their output shapes, without the batch.
KERAS_OUTPUTS = {"fomo_96": (12, 12, 3), "unet_small": (48, 48, 2), "ad_autoencoder": (640,), "har_conv1d": (6,),
                 "kws_lstm": (12,)}  # kws_lstm: tf_keras (Keras 2), for its fused LSTM
SPEC_MODEL_NAMES = [n for n in MODEL_NAMES if n not in KERAS_OUTPUTS]

GraphOp = tuple[str, tuple[int, ...], int, int]  # (builtin name, output shape w/o batch, MACs, params)


def load_model_file(name: str) -> types.ModuleType:
    import importlib.util

    module_spec = importlib.util.spec_from_file_location(f"tinyc_model_{name}", MODELS / f"{name}.py")
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


@functools.cache
def built(name: str) -> keras.Model:
    model: keras.Model = load_model_file(name).build()
    return model


@functools.cache
def converted(name: str) -> bytes:
    with contextlib.redirect_stdout(io.StringIO()):
        return convert_int8(built(name), load_model_file(name).representative_dataset)


def graph_ops(flatbuffer: bytes) -> list[GraphOp]:
    """Ops of subgraph 0 with MACs (conv: out_h*out_w*out_c*k_h*k_w*in_c; depthwise:
    out_h*out_w*c*k_h*k_w; fully connected: in*out) and params (weights + bias)."""
    model = tflite.Model.GetRootAsModel(flatbuffer, 0)
    graph = model.Subgraphs(0)
    ops: list[GraphOp] = []
    for index in range(graph.OperatorsLength()):
        op = graph.Operators(index)
        code = model.OperatorCodes(op.OpcodeIndex())
        name = opcode2name(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()))
        inputs = [graph.Tensors(t).ShapeAsNumpy().tolist() if t >= 0 else [] for t in op.InputsAsNumpy()]
        out_shape = graph.Tensors(op.OutputsAsNumpy()[0]).ShapeAsNumpy().tolist()
        macs = params = 0
        if name == "CONV_2D":
            out_c, k_h, k_w, in_c = inputs[1]
            macs = out_shape[1] * out_shape[2] * out_c * k_h * k_w * in_c
        elif name == "DEPTHWISE_CONV_2D":
            _, k_h, k_w, channels = inputs[1]
            macs = out_shape[1] * out_shape[2] * channels * k_h * k_w
        elif name == "FULLY_CONNECTED":
            units, features = inputs[1]
            macs = units * features
        if macs:
            params = math.prod(inputs[1]) + (math.prod(inputs[2]) if len(inputs) > 2 and inputs[2] else 0)
        ops.append((name, tuple(out_shape[1:]), macs, params))
    return ops


def analytic_ops(spec: Spec) -> list[GraphOp]:
    return [(op.kind.value, op.output_shape, op.macs, op.params) for op in lower(spec)]


def folded_params(model: keras.Model) -> int:
    """Keras parameter count with BatchNormalization folded (4 per channel become 1 bias)."""
    norm = sum(layer.count_params() for layer in model.layers
               if isinstance(layer, keras.layers.BatchNormalization))
    total: int = model.count_params()
    return total - norm + norm // 4


def test_model_files_import_without_tensorflow() -> None:
    """Model files import quickly: neither Keras nor TensorFlow at import time."""
    script = (
        "import importlib.util, json, sys\n"
        "out = {}\n"
        f"for name in {MODEL_NAMES!r}:\n"
        f"    spec = importlib.util.spec_from_file_location(name, {str(MODELS)!r} + '/' + name + '.py')\n"
        "    module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "    out[name] = [module.WEIGHTS, module.__doc__.splitlines()[0]]\n"
        "out['heavy'] = sorted(m for m in ('keras', 'tensorflow', 'sklearn') if m in sys.modules)\n"
        "print(json.dumps(out))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                            cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    out = json.loads(result.stdout)
    assert out.pop("heavy") == []
    assert sorted(out) == MODEL_NAMES
    for name, (weights, first_line) in out.items():
        assert weights in ("random", "trained"), name
        assert f"{weights} weights" in first_line, (name, first_line)
    assert [name for name, (weights, _) in out.items() if weights == "trained"] == ["digits_mcunet"]


@pytest.mark.parametrize("name", sorted(KERAS_OUTPUTS))
def test_keras_model_file_builds(name: str) -> None:
    module = load_model_file(name)
    assert not hasattr(module, "SPEC")
    model = built(name)
    assert tuple(model.output.shape)[1:] == KERAS_OUTPUTS[name]
    samples = list(module.representative_dataset())
    assert 16 <= len(samples) <= 50
    for sample in samples:
        assert isinstance(sample, list) and len(sample) == 1
        assert sample[0].dtype == np.float32 and sample[0].shape == (1, *module.INPUT_SHAPE)
    assert tuple(model.input.shape)[1:] == module.INPUT_SHAPE


@pytest.mark.parametrize("name", SPEC_MODEL_NAMES)
def test_model_file_builds(name: str) -> None:
    module = load_model_file(name)
    model = built(name)
    shape = module.SPEC.network().input_shape
    assert tuple(model.input.shape) == (1, *shape)
    assert tuple(model.output.shape) == (1, CLASSES[name])
    assert folded_params(model) == count(module.SPEC).params
    samples = list(module.representative_dataset())
    assert 16 <= len(samples) <= 50
    for sample in samples:
        assert isinstance(sample, list) and len(sample) == 1
        assert sample[0].dtype == np.float32 and sample[0].shape == (1, *shape)


@pytest.mark.parametrize("name", [n for n in SPEC_MODEL_NAMES if n not in SLOW_TO_CONVERT])
def test_analytic_equals_int8_graph(name: str) -> None:
    """Same ops in the same order with the same output shapes, MACs and params."""
    assert graph_ops(converted(name)) == analytic_ops(load_model_file(name).SPEC)


@pytest.mark.parametrize("name", ["tiny_mbv2", "tiny_dscnn", "tiny_resnet", "ic_resnet8"])
def test_random_model_is_deterministic_and_not_degenerate(name: str) -> None:
    again = load_model_file(name).build()
    assert all(np.array_equal(a, b) for a, b in zip(built(name).get_weights(), again.get_weights()))
    # folded biases are non-zero and the int8 outputs vary with the input
    interpreter = tf.lite.Interpreter(model_content=converted(name))
    interpreter.allocate_tensors()
    biases = [interpreter.get_tensor(d["index"]) for d in interpreter.get_tensor_details()
              if d["dtype"] == np.int32 and len(d["shape"]) == 1]
    assert biases and all(np.count_nonzero(b) > 0 for b in biases)
    (input_detail,) = interpreter.get_input_details()
    (output_detail,) = interpreter.get_output_details()
    scale, zero_point = input_detail["quantization"]
    outputs = set()
    for (sample,) in load_model_file(name).representative_dataset():
        quantized = np.clip(np.round(sample / scale) + zero_point, -128, 127).astype(np.int8)
        interpreter.set_tensor(input_detail["index"], quantized)
        interpreter.invoke()
        outputs.add(interpreter.get_tensor(output_detail["index"]).tobytes())
    assert len(outputs) > 8


def test_digits_dataset_and_accuracy() -> None:
    """Held-out top-1 of the shipped trained model (450 samples): float 444, int8 445 correct."""
    module = load_model_file("digits_mcunet")
    x, y = module.dataset()
    assert x.shape == (450, 32, 32, 1) and x.dtype == np.float32
    assert y.shape == (450,) and sorted(set(y.tolist())) == list(range(10))
    assert 0.0 <= x.min() and x.max() <= 1.0
    float_correct = int(np.sum(np.argmax(built("digits_mcunet").predict(x, batch_size=1, verbose=0), 1) == y))
    int8_correct = int(np.sum(int8_predictions(converted("digits_mcunet"), x) == y))
    assert (float_correct, int8_correct) == (444, 445)


def test_builder_builds_squeeze_excite() -> None:
    """MobileNetV3's block (hard-swish, squeeze-excite) builds with the parameters the analytic count gives."""
    network = Network("se_net", (8, 8, 3), (Conv(8, (3, 3), activation="hard_swish"),
                                            InvertedResidual(8, squeeze_excite=True, activation="hard_swish"),
                                            GlobalAvgPool(), Dense(2)))
    assert folded_params(build_model(network)) == count(network).params


@pytest.mark.parametrize(("alpha", "resolution"), [(1.0, 224), (0.35, 96), (1.4, 128)])
def test_mobilenet_v2_matches_keras_applications(alpha: float, resolution: int) -> None:
    """An independent implementation: keras.applications' MobileNetV2 with BN folded."""
    reference = keras.applications.MobileNetV2(input_shape=(resolution, resolution, 3), alpha=alpha,
                                               weights=None)
    assert folded_params(reference) == count(zoo.mobilenet_v2(alpha, resolution)).params


def test_mobilenet_v1_matches_keras_applications() -> None:
    reference = keras.applications.MobileNet(input_shape=(128, 128, 3), alpha=0.5, weights=None)
    assert folded_params(reference) == count(zoo.mobilenet_v1(0.5, 128)).params
