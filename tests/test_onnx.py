"""ONNX models in (tinyc/frontend/onnx_model.py): float ONNX files the tests build with onnx.helper (a conv net, a
depthwise-separable net, a residual add) and one exported from the zoo's digits_mcunet with tf2onnx convert through
onnx2tf and tinyc's int8 conversion, say how their NCHW input maps, and verify bit-exact with TFLite Micro on both
boards; the exported one's accuracy stays within 1% of the Keras original's. Refusals name the ONNX node.

Each ONNX file is converted once per session (the conversion cache of conftest.py), and one test runs every
emulator check."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx  # a declared dependency (pyproject.toml): these tests run wherever tinyc is installed
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import BOARDS, REPO, needs_toolchain, run_cli
from tinyc.errors import ModelLoadError, UnsupportedModelError
from tinyc.frontend import onnx_model as ox


OPSET = 13
DIGITS_KERAS = REPO / "models" / "digits_mcunet.keras"


class Net:
    """A small float ONNX graph under construction: nodes with names, initializers from a seeded generator."""

    def __init__(self, name: str, input_shape: tuple[int, ...], seed: int) -> None:
        self.name, self.input_shape = name, input_shape
        self.rng = np.random.default_rng(seed)
        self.nodes: list[object] = []
        self.inits: list[object] = []

    def const(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def node(self, op: str, inputs: list[str], name: str, **attrs: object) -> str:
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        return name

    def conv(self, x: str, name: str, cin: int, cout: int, k: int = 3, stride: int = 1, group: int = 1) -> str:
        w = self.const(f"{name}.w", self.rng.normal(0, (2.0 / (k * k * cin / group)) ** 0.5,
                                                    (cout, cin // group, k, k)).astype(np.float32))
        b = self.const(f"{name}.b", self.rng.normal(0, 0.1, cout).astype(np.float32))
        return self.node("Conv", [x, w, b], name, kernel_shape=[k, k], pads=[k // 2] * 4, strides=[stride] * 2,
                         group=group)

    def batchnorm(self, x: str, name: str, c: int) -> str:
        params = [self.rng.uniform(0.5, 1.5, c), self.rng.normal(0, 0.1, c), self.rng.normal(0, 0.1, c),
                  self.rng.uniform(0.5, 1.5, c)]
        names = [self.const(f"{name}.{p}", v.astype(np.float32)) for p, v in zip(("g", "b", "m", "v"), params)]
        return self.node("BatchNormalization", [x, *names], name)

    def relu6(self, x: str, name: str) -> str:
        lo, hi = self.const(f"{name}.lo", np.array(0, np.float32)), self.const(f"{name}.hi", np.array(6, np.float32))
        return self.node("Clip", [x, lo, hi], name)

    def head(self, x: str, c: int, classes: int = 10) -> str:
        g = self.node("GlobalAveragePool", [x], "gap")
        f = self.node("Flatten", [g], "flatten", axis=1)
        w = self.const("fc.w", self.rng.normal(0, 0.3, (c, classes)).astype(np.float32))
        b = self.const("fc.b", self.rng.normal(0, 0.1, classes).astype(np.float32))
        return self.node("Gemm", [f, w, b], "fc")

    def save(self, output: str, out_shape: tuple[int, ...], path: Path) -> Path:
        graph = helper.make_graph(self.nodes, self.name,
                                  [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(self.input_shape))],
                                  [helper.make_tensor_value_info(output, TensorProto.FLOAT, list(out_shape))],
                                  self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="tinyc tests")
        model.ir_version = 8
        onnx.checker.check_model(model, full_check=True)
        onnx.save(model, str(path))
        return path


def conv_net(path: Path) -> Path:
    """Conv (stride 2) -> Relu -> Conv -> BatchNorm -> Relu -> a ResNet stem's padded MaxPool (3x3, stride 2,
    pads 1: tinyc pads with zeros after the ReLU) -> GlobalAveragePool -> Flatten -> Gemm."""
    n = Net("conv_net", (1, 3, 16, 16), seed=1)
    x = n.node("Relu", [n.conv("input", "conv1", 3, 8, stride=2)], "relu1")
    x = n.node("Relu", [n.batchnorm(n.conv(x, "conv2", 8, 16), "bn2", 16)], "relu2")
    x = n.node("MaxPool", [x], "pool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    return n.save(n.head(x, 16), (1, 10), path)


def dscnn(path: Path) -> Path:
    """A depthwise-separable net: Conv -> BN -> Clip(0, 6), then two blocks of depthwise Conv (group = channels)
    -> BN -> Clip(0, 6) -> pointwise Conv -> BN -> Clip(0, 6), then the head with Softmax."""
    n = Net("dscnn", (1, 1, 20, 12), seed=2)
    x = n.relu6(n.batchnorm(n.conv("input", "conv0", 1, 16, stride=2), "bn0", 16), "relu0")
    for i in (1, 2):
        x = n.relu6(n.batchnorm(n.conv(x, f"dw{i}", 16, 16, group=16), f"dw{i}.bn", 16), f"dw{i}.relu")
        x = n.relu6(n.batchnorm(n.conv(x, f"pw{i}", 16, 16, k=1), f"pw{i}.bn", 16), f"pw{i}.relu")
    y = n.node("Softmax", [n.head(x, 16, classes=6)], "softmax", axis=1)
    return n.save(y, (1, 6), path)


def residual(path: Path) -> Path:
    """Conv -> Relu, then Conv -> Relu -> Conv added to the block's input (a residual Add) -> Relu, MaxPool,
    AveragePool, the head."""
    n = Net("residual", (1, 3, 16, 16), seed=3)
    x = n.node("Relu", [n.conv("input", "stem", 3, 12)], "stem.relu")
    y = n.node("Relu", [n.conv(x, "block.conv1", 12, 12)], "block.relu1")
    y = n.conv(y, "block.conv2", 12, 12)
    x = n.node("Relu", [n.node("Add", [x, y], "block.add")], "block.relu2")
    x = n.node("MaxPool", [x], "pool1", kernel_shape=[2, 2], strides=[2, 2])
    x = n.node("AveragePool", [x], "pool2", kernel_shape=[2, 2], strides=[2, 2])
    return n.save(n.head(x, 12), (1, 10), path)


BUILT: dict[str, Callable[[Path], Path]] = {"conv_net": conv_net, "dscnn": dscnn, "residual": residual}


def calibration_for(path: Path, shape: tuple[int, ...], count: int = 24, seed: int = 5) -> Path:
    """Seeded calibration data in the ONNX model's own layout (NCHW), samples on the first axis."""
    np.savez(path, x=np.random.default_rng(seed).uniform(-1, 1, (count, *shape[1:])).astype(np.float32))
    return path


def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The digits calibration samples and held-out split (NHWC, as the Keras model takes them)."""
    from tinyc.frontend.data import digits_representative_dataset, digits_split as split
    _, _, x_test, y_test = split()
    calibration = np.concatenate([s[0] for s in digits_representative_dataset()])
    return calibration, x_test, y_test


def export_digits(folder: Path) -> tuple[Path, Path]:
    """models/digits_mcunet.keras through tf2onnx with an NCHW input (as torch.onnx.export would give it), and its
    calibration data transposed to NCHW."""
    import keras
    import tensorflow as tf
    import tf2onnx
    model = keras.models.load_model(DIGITS_KERAS, compile=False)
    spec = (tf.TensorSpec((1, 32, 32, 1), tf.float32, name="input"),)
    function = tf.function(lambda x: model(x, training=False))
    path = folder / "digits_mcunet.onnx"
    tf2onnx.convert.from_function(function, input_signature=spec, opset=OPSET, inputs_as_nchw=["input"],
                                  output_path=str(path))
    calibration, _, _ = digits_split()
    np.savez(folder / "digits_calibration.npz", x=calibration.transpose(0, 3, 1, 2))
    return path, folder / "digits_calibration.npz"


@pytest.fixture(scope="session")
def onnx_files(tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """Every test model: name -> (the .onnx file, its calibration .npz in the ONNX layout)."""
    folder = tmp_path_factory.mktemp("onnx")
    files = {}
    for name, build in BUILT.items():
        path = build(folder / f"{name}.onnx")
        shape = tuple(d.dim_value for d in onnx.load(str(path)).graph.input[0].type.tensor_type.shape.dim)
        files[name] = (path, calibration_for(folder / f"{name}_calibration.npz", shape))
    files["digits_mcunet"] = export_digits(folder)
    return files


@pytest.fixture(scope="session")
def loaded(onnx_files):
    """Each model converted once (then from the session's conversion cache)."""
    from tinyc.frontend.loader import load_model
    return {name: load_model(path, calibration=calibration) for name, (path, calibration) in onnx_files.items()}


# --- the stages without TensorFlow ---------------------------------------------------------------------------

def test_layout_text_and_transpose() -> None:
    layout = ox.EdgeLayout(ox.Role.INPUT, "x", (1, 3, 16, 8), (1, 16, 8, 3), (0, 2, 3, 1))
    assert layout.describe() == ("ONNX input 'x' NCHW (1, 3, 16, 8) -> int8 NHWC (1, 16, 8, 3) (onnx2tf's "
                                 "transpose: input = onnx_input.transpose(0, 2, 3, 1))")
    data = np.arange(3 * 16 * 8).reshape(1, 3, 16, 8)
    assert layout.to_tflite(data)[0, 5, 7, 2] == data[0, 2, 5, 7]
    assert ox.EdgeLayout.from_json(layout.as_json()) == layout
    same = ox.EdgeLayout(ox.Role.OUTPUT, "y", (1, 10), (1, 10), (0, 1))
    assert not same.transposed and same.describe() == "ONNX output 'y' (1, 10) is the int8 model's output as it is"


@pytest.mark.parametrize("onnx_shape, tf_shape, expected", [
    ((1, 3, 16, 8), (1, 16, 8, 3), [(0, 2, 3, 1)]),
    ((1, 3, 3, 3), (1, 3, 3, 3), [(0, 2, 3, 1), (0, 1, 2, 3)]),  # ambiguous: onnxruntime decides
    ((1, 4, 20), (1, 20, 4), [(0, 2, 1)]),
    ((1, 10), (1, 10), [(0, 1)]),
    ((1, 3, 16, 8), (1, 3, 8, 16), []),
])
def test_layout_candidates(onnx_shape, tf_shape, expected) -> None:
    assert ox._candidates(onnx_shape, tf_shape) == expected


def test_cache_key_names_the_converter_and_entries_keep_layouts(tmp_path: Path, monkeypatch) -> None:
    from tinyc.frontend.cache import CachedConversion, conversion_key, load_cached, store
    monkeypatch.setenv("TINYC_CACHE_DIR", str(tmp_path))
    plain = conversion_key(b"model", None)
    assert conversion_key(b"model", None, converter="onnx2tf 1.29.24") not in (plain, conversion_key(
        b"model", None, converter="onnx2tf 1.29.25"))
    layout = ox.EdgeLayout(ox.Role.INPUT, "x", (1, 3, 4, 5), (1, 4, 5, 3), (0, 2, 3, 1)).as_json()
    store("k", CachedConversion(tflite=b"tfl3", notes=("n",), output_layer=None, layouts=(layout,)))
    hit = load_cached("k").hit
    assert hit is not None and hit.layouts == (layout,)
    store("plain", CachedConversion(tflite=b"tfl3", notes=(), output_layer=None))
    assert "layouts" not in (tmp_path / "plain.json").read_text()  # a Keras model's entry is as before


def _graph(tmp_path: Path, nodes: list, inits: list, inputs: list, outputs: list, name: str = "m.onnx") -> Path:
    model = helper.make_model(helper.make_graph(nodes, "g", inputs, outputs, inits),
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / name))
    return tmp_path / name


def _value(name: str, shape: list) -> object:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def test_unknown_op_is_refused_naming_the_node(tmp_path: Path) -> None:
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Erf", ["r"], ["y"], name="gelu/erf")]
    path = _graph(tmp_path, nodes, [], [_value("x", [1, 4])], [_value("y", [1, 4])])
    with pytest.raises(UnsupportedModelError) as info:
        ox.check_onnx_ops(path, ox.read_onnx(path))
    assert str(info.value).startswith(f"{path}: ONNX node 'gelu/erf' (Erf): op type(s) Erf not among the ONNX ops "
                                      "tinyc takes (Conv, ConvTranspose, Gemm, ")


def test_unnamed_nodes_get_names(tmp_path: Path) -> None:
    path = _graph(tmp_path, [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Sigmoid", ["r"], ["y"])],
                  [], [_value("x", [1, 4])], [_value("y", [1, 4])])
    assert [n.name for n in ox.read_onnx(path).graph.node] == ["Relu_0", "Sigmoid_1"]


def test_qdq_model_is_refused_with_the_reason(tmp_path: Path) -> None:
    inits = [numpy_helper.from_array(np.array(0.02, np.float32), "s"),
             numpy_helper.from_array(np.array(0, np.int8), "z")]
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"], name="input_q"),
             helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"], name="input_dq")]
    path = _graph(tmp_path, nodes, inits, [_value("x", [1, 4])], [_value("y", [1, 4])])
    with pytest.raises(UnsupportedModelError) as info:
        ox.check_onnx_ops(path, ox.read_onnx(path))
    assert str(info.value) == (
        f"{path}: ONNX node 'input_q' (QuantizeLinear): the model is already quantized (QDQ / QLinear ops, 2 "
        "nodes); onnx2tf turns QuantizeLinear/DequantizeLinear into float arithmetic, so the file's own scales and "
        "zero points would not survive: give tinyc the float ONNX model (export before quantizing) with "
        "--calibration FILE.npz, and tinyc quantizes it to int8 itself")


def test_padded_maxpool_after_relu_pads_with_zeros_else_is_refused(tmp_path: Path) -> None:
    pool = dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    nodes = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
             helper.make_node("MaxPool", ["r"], ["y"], name="pool", **pool)]
    path = _graph(tmp_path, nodes, [], [_value("x", [1, 2, 8, 8])], [_value("y", [1, 2, 4, 4])])
    model, names = ox.pad_maxpool_after_relu(path, ox.read_onnx(path))
    assert names == ("pool",) and [(n.op_type, n.name) for n in model.graph.node] == [
        ("Relu", "relu"), ("Pad", "pool/pad"), ("MaxPool", "pool")]
    assert [a.name for a in model.graph.node[2].attribute] == ["kernel_shape", "strides"]
    assert numpy_helper.to_array(model.graph.initializer[-1]).tolist() == [0, 0, 1, 1, 0, 0, 1, 1]
    nodes = [helper.make_node("Neg", ["x"], ["r"], name="neg"),
             helper.make_node("MaxPool", ["r"], ["y"], name="pool", **pool)]
    path = _graph(tmp_path, nodes, [], [_value("x", [1, 2, 8, 8])], [_value("y", [1, 2, 4, 4])], name="neg.onnx")
    with pytest.raises(UnsupportedModelError) as info:
        ox.pad_maxpool_after_relu(path, ox.read_onnx(path))
    assert str(info.value) == (
        f"{path}: ONNX node 'pool' (MaxPool) pads its input [1, 1, 1, 1] explicitly; onnx2tf pads with -inf there (a "
        "PADV2), which int8 cannot hold and tinyc does not run: put it after a ReLU (tinyc then pads with zeros), or "
        "pad the model with a Pad node and use MaxPool without pads")


def test_two_outputs_and_dynamic_shapes_are_refused(tmp_path: Path) -> None:
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="a"), helper.make_node("Sigmoid", ["x"], ["b"], name="b")]
    path = _graph(tmp_path, nodes, [], [_value("x", [1, 4])], [_value("a", [1, 4]), _value("b", [1, 4])])
    with pytest.raises(UnsupportedModelError, match="has 1 inputs \\('x'\\) and 2 outputs \\('a', 'b'\\); tinyc "
                                                    "supports exactly one of each"):
        ox.check_onnx_ops(path, ox.read_onnx(path))
    path = _graph(tmp_path, [helper.make_node("Relu", ["x"], ["y"], name="r")], [], [_value("x", ["N", 3, "H", 8])],
                  [_value("y", ["N", 3, "H", 8])], name="dynamic.onnx")
    with pytest.raises(UnsupportedModelError, match="ONNX input 'x' has a dynamic shape \\(\\?, 3, \\?, 8\\); export "
                                                    "with a fixed input size \\(only the batch axis may be dynamic\\)"):
        ox.input_shapes(path, ox.read_onnx(path))
    path = _graph(tmp_path, [helper.make_node("Relu", ["x"], ["y"], name="r")], [], [_value("x", ["N", 3, 4, 8])],
                  [_value("y", ["N", 3, 4, 8])], name="batch.onnx")
    assert ox.input_shapes(path, ox.read_onnx(path)) == ([(1, 3, 4, 8)], True)


def test_damaged_file_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"\x08\x07garbage" * 10)
    with pytest.raises(ModelLoadError, match=f"^{path}: not a valid ONNX file"):
        ox.read_onnx(path)


def test_cli_refusal_is_one_line_naming_the_node(tmp_path: Path, monkeypatch, capsys) -> None:
    path = _graph(tmp_path, [helper.make_node("Relu", ["x"], ["r"], name="act"),
                             helper.make_node("GlobalMaxPool", ["r"], ["y"], name="head/pool")],
                  [], [_value("x", [1, 4, 8, 8])], [_value("y", [1, 4, 1, 1])])
    code, out, err = run_cli(monkeypatch, capsys, "report", str(path), "--board", "stm32f412")
    assert code == 2 and out == ""
    assert err.startswith(f"error: {path}: ONNX node 'head/pool' (GlobalMaxPool): op type(s) GlobalMaxPool not among "
                          "the ONNX ops tinyc takes (Conv, "), err


def test_cli_data_file_is_checked_before_converting(tmp_path: Path, monkeypatch, capsys) -> None:
    np.savez(tmp_path / "data.npz", inputs=np.zeros((2, 3, 4, 4), np.float32))
    code, _, err = run_cli(monkeypatch, capsys, "verify", str(tmp_path / "missing.onnx"), "--board", "stm32f412",
                           "--data", str(tmp_path / "data.npz"))
    assert code == 2 and err == (f"error: {tmp_path / 'data.npz'}: holds no array named x (it holds inputs); save the "
                                 "inputs with np.savez(path, x=inputs, y=labels)"), err


# --- conversions (TensorFlow, onnx2tf) -----------------------------------------------------------------------

@pytest.mark.slow
def test_built_models_convert_with_the_layout_said(loaded) -> None:
    from tinyc.ir.reader import read_tflite
    kinds = {name: [op.kind.value for op in read_tflite(m.tflite).ops] for name, m in loaded.items()}
    assert kinds["conv_net"] == ["PAD", "CONV_2D", "CONV_2D", "PAD", "MAX_POOL_2D", "MEAN", "FULLY_CONNECTED"]
    assert kinds["dscnn"] == ["PAD", "CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D", "MEAN",
                              "FULLY_CONNECTED", "SOFTMAX"]
    assert kinds["residual"] == ["CONV_2D", "CONV_2D", "CONV_2D", "ADD", "MAX_POOL_2D", "AVERAGE_POOL_2D", "MEAN",
                                 "FULLY_CONNECTED"]
    assert ("ONNX MaxPool 'pool': its explicit pads are a zero Pad before it (the input follows a ReLU, so zeros pad "
            "as -inf would)") in loaded["conv_net"].notes
    assert loaded["conv_net"].layout_notes == (
        "ONNX input 'input' NCHW (1, 3, 16, 16) -> int8 NHWC (1, 16, 16, 3) (onnx2tf's transpose: input = "
        "onnx_input.transpose(0, 2, 3, 1))",)
    assert loaded["digits_mcunet"].layouts[0].onnx_shape == (1, 1, 32, 32)
    for m in loaded.values():
        assert m.layout_notes[0] in m.notes and not any(n.startswith("RANDOM CALIBRATION") for n in m.notes)


@pytest.mark.slow
def test_cached_conversion_keeps_the_layout(onnx_files, loaded) -> None:
    from tinyc.frontend.loader import load_model
    path, calibration = onnx_files["conv_net"]
    again = load_model(path, calibration=calibration)
    assert again.from_cache and again.tflite == loaded["conv_net"].tflite
    assert again.layouts == loaded["conv_net"].layouts


@pytest.mark.slow
def test_cached_onnx_conversion_imports_no_tensorflow_nor_onnx(onnx_files, loaded) -> None:
    """A cached conversion is read without onnx, onnx2tf or TensorFlow (report, then compile, then verify)."""
    import os
    import subprocess
    import sys
    path, calibration = onnx_files["dscnn"]
    code = ("import sys; from pathlib import Path; from tinyc.frontend.loader import load_model; "
            f"m = load_model(Path({str(path)!r}), calibration=Path({str(calibration)!r})); "
            "print(m.from_cache, sorted(k for k in ('tensorflow', 'onnx', 'onnx2tf', 'onnxruntime') if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)}).stdout
    assert out.strip() == "True []"


@pytest.mark.slow
def test_without_calibration_it_says_random_and_wrong_shapes_name_both(onnx_files, tmp_path: Path) -> None:
    from tinyc.frontend.loader import load_model
    path, _ = onnx_files["residual"]
    assert any(n.startswith("RANDOM CALIBRATION") for n in load_model(path).notes)
    np.savez(tmp_path / "nhwc.npz", x=np.zeros((4, 16, 16, 3), np.float32))
    with pytest.raises(ModelLoadError, match=r"nhwc.npz: calibration arrays shaped \(samples, 16, 16, 3\); the "
                                             r"model takes \(samples, 3, 16, 16\)"):
        load_model(path, calibration=tmp_path / "nhwc.npz")


@pytest.mark.slow
def test_feature_map_output_and_dynamic_batch_map_both_ends(tmp_path: Path) -> None:
    """A model with a dynamic batch axis (torch.onnx.export's dynamic_axes) and an NCHW feature-map output: onnx2tf
    runs it with batch 1 and both ends map NCHW -> NHWC; onnxruntime agrees with the TensorFlow model."""
    from tinyc.frontend.loader import load_model
    n = Net("features", ("N", 3, 16, 12), seed=4)  # type: ignore[arg-type]
    y = n.node("Relu", [n.conv("input", "conv", 3, 5)], "relu")
    path = n.save(y, ("N", 5, 16, 12), tmp_path / "features.onnx")  # type: ignore[arg-type]
    model = load_model(path)
    assert model.layout_notes == (
        "ONNX input 'input' NCHW (1, 3, 16, 12) -> int8 NHWC (1, 16, 12, 3) (onnx2tf's transpose: input = "
        "onnx_input.transpose(0, 2, 3, 1))",
        "ONNX output 'relu' NCHW (1, 5, 16, 12) -> int8 NHWC (1, 16, 12, 5) (onnx2tf's transpose: output = "
        "onnx_output.transpose(0, 2, 3, 1))")


@pytest.mark.slow
def test_unsupported_tflite_op_names_the_onnx_node(tmp_path: Path) -> None:
    """Pad mode=reflect is an ONNX op tinyc takes, but it becomes MIRROR_PAD, which tinyc does not run: the error
    names the ONNX node it can come from."""
    from tinyc.frontend.loader import load_model
    pads = numpy_helper.from_array(np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64), "pads")
    path = _graph(tmp_path, [helper.make_node("Pad", ["x", "pads"], ["y"], name="pad/reflect", mode="reflect")],
                  [pads], [_value("x", [1, 2, 6, 6])], [_value("y", [1, 2, 8, 8])])
    with pytest.raises(UnsupportedModelError) as info:
        load_model(path)
    assert str(info.value).startswith(
        f"{path}: unsupported model:\n  op 0 (MIRROR_PAD), layer 'PartitionedCall:0' from ONNX node 'pad/reflect' "
        "(Pad): op MIRROR_PAD is not supported; supported ops: CONV_2D, "), str(info.value)


@pytest.mark.slow
def test_cli_report_says_the_layout(onnx_files, monkeypatch, capsys) -> None:
    path, calibration = onnx_files["dscnn"]
    code, out, err = run_cli(monkeypatch, capsys, "report", str(path), "--board", "stm32f412", "--calibration",
                             str(calibration), "--json")
    assert code == 0, err
    import json
    notes = json.loads(out)["notes"]
    assert ("ONNX input 'input' NCHW (1, 1, 20, 12) -> int8 NHWC (1, 20, 12, 1) (onnx2tf's transpose: input = "
            "onnx_input.transpose(0, 2, 3, 1))") in notes


@pytest.mark.slow
def test_onnx2tf_leaves_the_process_as_it_was(monkeypatch) -> None:
    import os
    import sys
    monkeypatch.delitem(sys.modules, "onnx2tf", raising=False)
    monkeypatch.delitem(sys.modules, "onnx2tf.onnx2tf", raising=False)
    limit, legacy = sys.getrecursionlimit(), os.environ.get("TF_USE_LEGACY_KERAS")
    module = ox._onnx2tf()
    assert sys.getrecursionlimit() == limit and os.environ.get("TF_USE_LEGACY_KERAS") == legacy
    assert module.download_test_image_data is ox._sample_images  # no network download of sample images


# --- the emulator: bit-exact on both boards, the exported model's accuracy ------------------------------------

@pytest.mark.emulator
@pytest.mark.slow
@needs_toolchain
def test_onnx_models_bit_exact_on_both_boards_and_digits_accuracy(onnx_files, loaded, tmp_path: Path) -> None:
    import keras

    import tinyc
    from tinyc.plan.pipeline import plan_loaded
    for name, model in loaded.items():
        for board in BOARDS:
            if (name, board) == ("digits_mcunet", BOARDS[0]):
                continue  # verify_dataset below compares its 450 held-out samples byte for byte on this board
            planned = plan_loaded(model, board)
            proof = tinyc.verify(planned, samples=3, every_op=False, emulator="qemu")
            assert proof.first_mismatch is None, f"{name} on {board}: {proof.first_mismatch}"
    built = tinyc.compile(plan_loaded(loaded["conv_net"], BOARDS[0]), output=tmp_path / "out", name="conv")
    header = (tmp_path / "out" / "model.h").read_text()
    assert ("From an ONNX model: onnx2tf made its channels-first tensors channels-last (NHWC)" in header
            and "ONNX input 'input' NCHW (1, 3, 16, 16) -> int8 NHWC (1, 16, 16, 3)" in header), built.output
    assert built.as_json()["onnx_layouts"][0] == {"role": "input", "name": "input", "onnx_shape": [1, 3, 16, 16],
                                                  "tflite_shape": [1, 16, 16, 3], "permutation": [0, 2, 3, 1]}

    _, x_test, y_test = digits_split()
    keras_top1 = float(np.mean(np.argmax(keras.models.load_model(DIGITS_KERAS, compile=False).predict(
        x_test, verbose=0), axis=1) == y_test))
    scores = tinyc.verify_dataset(plan_loaded(loaded["digits_mcunet"], BOARDS[0]),
                                  data=(x_test.transpose(0, 3, 1, 2), y_test), emulator="qemu")
    assert scores.mismatched_samples == 0
    assert abs(scores.firmware_top1 - keras_top1) <= 0.01, (scores.firmware_top1, keras_top1)
    assert abs(scores.float_top1 - keras_top1) <= 1 / len(y_test), (scores.float_top1, keras_top1)
