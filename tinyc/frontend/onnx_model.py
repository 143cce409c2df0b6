"""ONNX models in: a float `.onnx` file → a TensorFlow (tf_keras) model through onnx2tf → tinyc's int8 conversion.

Why onnx2tf: it is the maintained ONNX → TensorFlow/TFLite converter the field uses (PINTO0309/onnx2tf, released
monthly); onnx-tf (the ONNX project's own TensorFlow backend) is archived, its last release 1.10.0 of March 2022
(built on tensorflow-addons, itself end-of-life); onnx2keras covers fewer ops, and nobuco starts from PyTorch code,
not from an ONNX file. onnx2tf turns the NCHW graph into an NHWC one (TFLite's and CMSIS-NN's layout) by
transposing the weights, not by inserting TRANSPOSE ops, so a convolution stays one CONV_2D (where it cannot tell the
layout, e.g. an explicit Pad right after a residual Add, it computes in NCHW between TRANSPOSEs: tinyc's rules then
refuse the NCHW PAD, naming the nodes). tinyc uses onnx2tf only for the float graph (`onnx2tf.convert`
returns a tf_keras model); the int8 conversion is tinyc's own (`convert.keras_to_int8_tflite`: full-integer int8,
per-channel weights, the calibration data of `--calibration`), so an ONNX model is cached, calibrated and checked
exactly as a `.keras` one. onnx2tf 1.x is the last line for Python 3.11 (2.x needs 3.12); its wheel pins old
TensorFlow and numpy, so it is installed without its dependencies and those it imports are tinyc's own.

The stages, each a function returning a new value (the ModelProto `read_onnx` returns is not changed after it):
1. `read_onnx`: the file, checked by `onnx.checker`; nodes without a name get `OpType_index`, the names every
   message uses.
2. `check_onnx_ops`: every node's op type against `ONNX_OPS` (what it becomes in TFLite); an already quantized
   (QDQ / QLinear*) graph is refused with the reason (onnx2tf turns QuantizeLinear/DequantizeLinear into float
   arithmetic: the file's own scales would not survive, and tinyc would re-quantize a fake-quantized float graph).
   `pad_maxpool_after_relu`: a MaxPool with explicit pads after a ReLU becomes a zero Pad and an unpadded MaxPool
   (onnx2tf would pad with -inf, which int8 cannot hold); another padded MaxPool is refused.
3. `to_keras`: onnx2tf, on a copy of the file in a temporary folder (it rewrites its input), without onnxsim (a
   subprocess tool tinyc does not install) and without its network download of sample images (replaced by seeded
   data: it only estimates shapes with them). Its op-name pass (sng4onnx) stays on although every node has a name
   by then: it also re-saves the graph with inferred shapes, without which onnx2tf mis-lays a Reshape in front of
   a Conv (tf2onnx's export of digits_mcunet).
4. `check_fidelity`: onnxruntime runs the ONNX file and the tf_keras model runs the same samples in its own layout;
   they must agree (an independent check of onnx2tf's graph), which also fixes how each input and output maps:
   `EdgeLayout` (NCHW → NHWC is the usual one: `nhwc = nchw.transpose(0, 2, 3, 1)`). The memory report, `model.h`
   and `tinyc.json` say it. It compares with the file as given, so it also checks tinyc's own MaxPool rewrite.
"""

from __future__ import annotations

import contextlib
import enum
import io
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from tinyc.errors import ModelLoadError, UnsupportedModelError
from tinyc.frontend.convert import silenced_stdio

CONVERTER = "onnx2tf"
FIDELITY_SAMPLES = 2  # calibration samples run through both onnxruntime and the tf_keras model
FIDELITY_RTOL = 1e-3  # of the largest output magnitude: float32 differences of another op order are ~1e-6


class Role(enum.Enum):
    INPUT = "input"
    OUTPUT = "output"


@dataclass(frozen=True)
class EdgeLayout:
    """How a model input or output of the ONNX file maps onto the int8 TFLite model's: `tflite =
    onnx.transpose(permutation)`."""
    role: Role
    name: str  # the ONNX tensor name
    onnx_shape: tuple[int, ...]
    tflite_shape: tuple[int, ...]
    permutation: tuple[int, ...]

    @property
    def transposed(self) -> bool:
        return self.permutation != tuple(range(len(self.permutation)))

    def describe(self) -> str:
        onnx_layout = _layout_name(len(self.onnx_shape), onnx=True)
        layout = f" {onnx_layout}" if onnx_layout else ""
        where = f"ONNX {self.role.value} {self.name!r}{layout} {_shape(self.onnx_shape)}"
        if not self.transposed:
            return f"{where} is the int8 model's {self.role.value} as it is"
        tflite_layout = _layout_name(len(self.tflite_shape), onnx=False)
        return (f"{where} -> int8 {tflite_layout} {_shape(self.tflite_shape)} (onnx2tf's transpose: "
                f"{self.role.value} = onnx_{self.role.value}.transpose{_shape(self.permutation)})")

    def as_json(self) -> dict[str, Any]:
        return {"role": self.role.value, "name": self.name, "onnx_shape": list(self.onnx_shape),
                "tflite_shape": list(self.tflite_shape), "permutation": list(self.permutation)}

    @staticmethod
    def from_json(data: object) -> EdgeLayout:
        """Raises ValueError (or KeyError / TypeError) for data that is not an EdgeLayout's JSON."""
        if not isinstance(data, dict):
            raise ValueError("not an object")
        def ints(key: str) -> tuple[int, ...]:
            return tuple(int(v) for v in data[key])
        return EdgeLayout(role=Role(data["role"]), name=str(data["name"]), onnx_shape=ints("onnx_shape"),
                          tflite_shape=ints("tflite_shape"), permutation=ints("permutation"))

    def to_tflite(self, array: np.ndarray) -> np.ndarray:
        """`array` (the ONNX layout, any leading sample axis merged into the batch) in the TFLite layout."""
        return np.ascontiguousarray(np.transpose(array, self.permutation))


def _shape(dims: Sequence[int]) -> str:
    return "(" + ", ".join(map(str, dims)) + ("," if len(dims) == 1 else "") + ")"


def _layout_name(rank: int, *, onnx: bool) -> str:
    return {3: "NCW" if onnx else "NWC", 4: "NCHW" if onnx else "NHWC",
            5: "NCDHW" if onnx else "NDHWC"}.get(rank, "")


@dataclass(frozen=True)
class OnnxOp:
    """What onnx2tf and TensorFlow's converter make of one ONNX op type (for messages and SUPPORTED_OPS.md)."""
    becomes: tuple[str, ...]  # TFLite builtin op names; () when folded into a neighbour or computed at conversion time
    note: str = ""
    verified: bool = False  # in a model tests/test_onnx.py verifies bit-exact on both boards


_CONV = ("CONV_2D", "DEPTHWISE_CONV_2D", "RESHAPE", "EXPAND_DIMS", "SQUEEZE",
         "PAD", "SPLIT", "CONCATENATION")
_SHAPES = ("RESHAPE", "EXPAND_DIMS", "SQUEEZE", "TRANSPOSE")

# The ONNX op types tinyc takes, what each becomes. Any other type is refused before converting, naming the node;
# what it becomes is still checked against tinyc's rules after the conversion. `verified`: in a model the tests
# verify bit-exact; the others are what onnx2tf maps them to, not yet run end to end by tinyc's tests.
ONNX_OPS: dict[str, OnnxOp] = {
    "Conv": OnnxOp(_CONV, "2-D, group 1 or depthwise (group = input channels); 1-D and other groups not yet tested",
                   verified=True),
    "ConvTranspose": OnnxOp(("TRANSPOSE_CONV",), "2-D, group 1"),
    "Gemm": OnnxOp(("FULLY_CONNECTED", "RESHAPE"), "constant B", verified=True),
    "MatMul": OnnxOp(("FULLY_CONNECTED", "RESHAPE"), "constant second operand"),
    "BatchNormalization": OnnxOp(("MUL", "ADD"), "folded into the convolution before it", verified=True),
    "Add": OnnxOp(("ADD",), "a residual add; a constant folded into a convolution's bias", verified=True),
    "Sub": OnnxOp(("SUB", "ADD")),
    "Mul": OnnxOp(("MUL",), "a constant folded into the convolution before it", verified=True),
    "Max": OnnxOp(("MAXIMUM",)),
    "Min": OnnxOp(("MINIMUM",)),
    "Relu": OnnxOp(("RELU",), "fused into the op before it", verified=True),
    "Clip": OnnxOp(("RELU6", "RELU", "MAXIMUM", "MINIMUM"), "Clip(0, 6) is RELU6, fused", verified=True),
    "LeakyRelu": OnnxOp(("LEAKY_RELU",)),
    "PRelu": OnnxOp(("PRELU",)),
    "Sigmoid": OnnxOp(("LOGISTIC",)),
    "Tanh": OnnxOp(("TANH",)),
    "HardSwish": OnnxOp(("HARD_SWISH",)),
    "HardSigmoid": OnnxOp(("MUL", "ADD", "RELU6", "MINIMUM", "MAXIMUM")),
    "Softmax": OnnxOp(("SOFTMAX", "RESHAPE"), "over the last axis", verified=True),
    "MaxPool": OnnxOp(("MAX_POOL_2D", "PAD"), "explicit pads only after a ReLU (padded with zeros then: "
                      "`pad_maxpool_after_relu`)", verified=True),
    "AveragePool": OnnxOp(("AVERAGE_POOL_2D", "PAD"), verified=True),
    "GlobalAveragePool": OnnxOp(("MEAN",), verified=True),
    "ReduceMean": OnnxOp(("MEAN",), "over height and width"),
    "Reshape": OnnxOp(_SHAPES, verified=True),
    "Flatten": OnnxOp(_SHAPES, verified=True),
    "Squeeze": OnnxOp(_SHAPES, verified=True),
    "Unsqueeze": OnnxOp(_SHAPES),
    "Transpose": OnnxOp(_SHAPES, "usually absorbed by onnx2tf's NCHW -> NHWC rewrite"),
    "Concat": OnnxOp(("CONCATENATION",)),
    "Split": OnnxOp(("SPLIT", "SPLIT_V")),
    "Slice": OnnxOp(("STRIDED_SLICE",)),
    "Pad": OnnxOp(("PAD", "MIRROR_PAD"), "constant zero padding (reflect is MIRROR_PAD, which tinyc does not run); "
                  "not right after a residual Add, which onnx2tf then computes in NCHW, its PAD too (refused)"),
    "Resize": OnnxOp(("RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR")),
    "Upsample": OnnxOp(("RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR")),
    "Identity": OnnxOp(()),
    "Dropout": OnnxOp((), "an identity at inference"),
    "Constant": OnnxOp((), "a constant operand"),
}

# Already-quantized ONNX graphs (QDQ format, QOperator format, integer ops).
QUANTIZED_OPS = ("QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "QLinearConv", "QLinearMatMul",
                 "QLinearAdd", "QLinearMul", "QLinearAveragePool", "QLinearGlobalAveragePool", "QLinearConcat",
                 "QLinearSigmoid", "QLinearLeakyRelu", "QLinearSoftmax", "ConvInteger", "MatMulInteger")


def converter_version() -> str:
    try:
        return f"{CONVERTER} {metadata.version(CONVERTER)}"
    except metadata.PackageNotFoundError:
        return f"{CONVERTER} not installed"


def _import_error(what: str, exc: ImportError) -> ModelLoadError:
    return ModelLoadError(f"reading an ONNX model needs {what}, which is not importable ({exc}); install tinyc with "
                          "./install.sh (it installs onnx2tf without its pinned dependencies)")


def read_onnx(path: Path) -> Any:
    """The ONNX model, checked, every node named (an unnamed node gets `OpType_index`)."""
    try:
        import onnx
    except ImportError as exc:
        raise _import_error("the onnx package", exc) from None
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf's DecodeError and onnx's own types: the first line is what helps
        raise ModelLoadError(f"{path}: not a valid ONNX file ({_first_line(exc)}); export it again "
                             "(torch.onnx.export, tf2onnx)") from None
    try:
        onnx.checker.check_model(model)
    except Exception as exc:  # onnx.checker.ValidationError and friends
        raise ModelLoadError(f"{path}: the ONNX checker rejects it: {_first_line(exc)}") from None
    for index, node in enumerate(model.graph.node):
        if not node.name:
            node.name = f"{node.op_type}_{index}"
    return model


def node_label(node: Any) -> str:
    return f"ONNX node {node.name!r} ({node.op_type})"


_NONNEGATIVE = ("Relu", "Clip", "Sigmoid")  # producers whose outputs are >= 0 (Clip: when its minimum is)


def _nonnegative(model: Any, name: str) -> bool:
    """The tensor `name` is produced by a Relu, a Sigmoid, or a Clip whose constant minimum is >= 0."""
    import onnx.numpy_helper as nh
    producers = [n for n in model.graph.node if name in n.output]
    if len(producers) != 1 or producers[0].op_type not in _NONNEGATIVE:
        return False
    node = producers[0]
    if node.op_type != "Clip":
        return True
    minimum = next((a.f for a in node.attribute if a.name == "min"), None)  # opset < 11
    if len(node.input) > 1 and node.input[1]:
        values = {t.name: nh.to_array(t) for t in model.graph.initializer}
        for c in model.graph.node:
            if c.op_type == "Constant" and c.output[0] == node.input[1]:
                values[c.output[0]] = nh.to_array(c.attribute[0].t)
        found = values.get(node.input[1])
        minimum = float(found) if found is not None and found.size == 1 else None
    return minimum is not None and minimum >= 0.0


def pad_maxpool_after_relu(path: Path, model: Any) -> tuple[Any, tuple[str, ...]]:
    """A MaxPool with explicit pads becomes, through onnx2tf, a PADV2 with -inf (TensorFlow's SAME padding is not
    ONNX's) that int8 cannot hold. After a ReLU (a Sigmoid, a Clip from >= 0) the input is never negative, so a
    zero Pad followed by an unpadded MaxPool computes the same: that rewrite, on a copy (the usual
    Conv-BN-ReLU-MaxPool stem of a ResNet). Another padded MaxPool is refused, naming it. Returns the model and the
    names of the nodes rewritten; `check_fidelity` then compares the result with onnxruntime on the original."""
    from onnx import helper, numpy_helper
    rewritten = type(model)()
    rewritten.CopyFrom(model)
    nodes, names = [], []
    for node in rewritten.graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        pads = list(attrs.get("pads", []))
        if node.op_type != "MaxPool" or not any(pads):
            nodes.append(node)
            continue
        auto_pad = attrs.get("auto_pad", b"NOTSET")
        simple = (attrs.get("ceil_mode", 0) == 0 and all(d == 1 for d in attrs.get("dilations", [1])) and
                  auto_pad in (b"NOTSET", "NOTSET") and len(node.output) == 1)
        if not (simple and _nonnegative(rewritten, node.input[0])):
            raise UnsupportedModelError(
                f"{path}: {node_label(node)} pads its input {pads} explicitly; onnx2tf pads with -inf there (a PADV2), "
                "which int8 cannot hold and tinyc does not run: put it after a ReLU (tinyc then pads with zeros), or "
                "pad the model with a Pad node and use MaxPool without pads")
        rank = len(pads) // 2
        begins, ends = pads[:rank], pads[rank:]
        pad_values = numpy_helper.from_array(np.array([0, 0, *begins, 0, 0, *ends], np.int64), f"{node.name}/pads")
        rewritten.graph.initializer.append(pad_values)
        padded = f"{node.name}/padded"
        nodes.append(helper.make_node("Pad", [node.input[0], pad_values.name], [padded], name=f"{node.name}/pad",
                                      mode="constant"))
        kept = [a for a in node.attribute if a.name != "pads"]
        pool = helper.make_node("MaxPool", [padded], list(node.output), name=node.name)
        pool.attribute.extend(kept)
        nodes.append(pool)
        names.append(node.name)
    del rewritten.graph.node[:]
    rewritten.graph.node.extend(nodes)
    return rewritten, tuple(names)


def check_onnx_ops(path: Path, model: Any) -> None:
    """Refuse a quantized graph, a node of a type tinyc does not take, and a model with other than one input and one
    output, each naming the ONNX node or tensor."""
    graph = model.graph
    foreign = [n for n in graph.node if n.domain not in ("", "ai.onnx")]
    if foreign:
        raise UnsupportedModelError(f"{path}: {node_label(foreign[0])} is in the custom op domain "
                                    f"{foreign[0].domain!r}; tinyc takes standard ONNX ops only")
    quantized = [n for n in graph.node if n.op_type in QUANTIZED_OPS]
    if quantized:
        raise UnsupportedModelError(
            f"{path}: {node_label(quantized[0])}: the model is already quantized (QDQ / QLinear ops, "
            f"{len(quantized)} nodes); onnx2tf turns QuantizeLinear/DequantizeLinear into float arithmetic, so the "
            "file's own scales and zero points would not survive: give tinyc the float ONNX model (export before "
            "quantizing) with --calibration FILE.npz, and tinyc quantizes it to int8 itself")
    unknown = [n for n in graph.node if n.op_type not in ONNX_OPS]
    if unknown:
        types = sorted({n.op_type for n in unknown})
        raise UnsupportedModelError(
            f"{path}: {node_label(unknown[0])}" + (f" and {len(unknown) - 1} more node(s)" if len(unknown) > 1 else "")
            + f": op type(s) {', '.join(types)} not among the ONNX ops tinyc takes ({', '.join(ONNX_OPS)}); "
            "export with static shapes and constant folding (torch.onnx.export(..., do_constant_folding=True)), "
            "or replace the op in the model")
    initializers = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise UnsupportedModelError(
            f"{path}: the ONNX model has {len(inputs)} inputs ({', '.join(repr(i.name) for i in inputs)}) and "
            f"{len(graph.output)} outputs ({', '.join(repr(o.name) for o in graph.output)}); tinyc supports "
            "exactly one of each")


def input_shapes(path: Path, model: Any) -> tuple[list[tuple[int, ...]], bool]:
    """Each model input's shape with batch 1, and whether some batch axis was dynamic (set to 1 for onnx2tf).
    A dynamic axis other than the first is refused, naming the input."""
    initializers = {t.name for t in model.graph.initializer}
    shapes, dynamic_batch = [], False
    for value in model.graph.input:
        if value.name in initializers:
            continue
        dims = value.type.tensor_type.shape.dim
        shape = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in dims]
        if value.type.tensor_type.elem_type != 1:  # TensorProto.FLOAT
            raise UnsupportedModelError(f"{path}: ONNX input {value.name!r} is not float32 (elem_type "
                                        f"{value.type.tensor_type.elem_type}); tinyc takes a float ONNX model")
        if any(d is None for d in shape[1:]) or not shape:
            raise UnsupportedModelError(
                f"{path}: ONNX input {value.name!r} has a dynamic shape "
                f"({', '.join('?' if d is None else str(d) for d in shape)}); export with a fixed input size "
                "(only the batch axis may be dynamic)")
        if shape[0] is None or shape[0] != 1:
            dynamic_batch = dynamic_batch or shape[0] is None
            if shape[0] is not None:
                raise UnsupportedModelError(f"{path}: ONNX input {value.name!r} has batch {shape[0]}; tinyc runs "
                                            "batch 1: export with batch 1 (or a dynamic batch axis)")
        shapes.append((1, *(int(d) for d in shape[1:])))  # type: ignore[arg-type]
    return shapes, dynamic_batch


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


CONVERT_RECURSION_LIMIT = 20_000  # onnx2tf walks deep graphs recursively (it sets 2**31-1 for itself)


@contextlib.contextmanager
def _restored_process_state(*, recursion_limit: int | None = None) -> Iterator[None]:
    """onnx2tf's import sets the recursion limit to 2**31-1, TF_USE_LEGACY_KERAS=1 and TF's log level, and turns
    every warning off: tinyc's process keeps its own afterwards (`recursion_limit`: the one to use inside). What it
    also does stays: numpy's and `random`'s global seeds set to 0 and TensorFlow's op determinism switched on (both
    harmless to tinyc, whose own randomness is seeded generators)."""
    limit = sys.getrecursionlimit()
    saved = {k: os.environ.get(k) for k in ("TF_USE_LEGACY_KERAS", "TF_CPP_MIN_LOG_LEVEL")}
    if recursion_limit is not None:
        sys.setrecursionlimit(max(limit, recursion_limit))
    try:
        with warnings.catch_warnings():
            yield
    finally:
        sys.setrecursionlimit(limit)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _onnx2tf() -> Any:
    """onnx2tf's conversion module, its network download of sample images replaced by seeded local data."""
    with _restored_process_state():
        try:
            import onnx2tf  # noqa: F401  (imports onnx2tf.onnx2tf)
        except ImportError as exc:
            raise _import_error("onnx2tf", exc) from None
    module = sys.modules["onnx2tf.onnx2tf"]
    module.download_test_image_data = _sample_images  # type: ignore[attr-defined]
    return module


def _sample_images() -> np.ndarray:
    """What onnx2tf downloads from the network to estimate shapes of 3-channel image models: seeded data instead
    (tinyc's conversion must not depend on the network, and the int8 calibration is tinyc's own)."""
    return np.random.default_rng(0).uniform(0.0, 1.0, size=(20, 128, 128, 3)).astype(np.float32)


_ERROR_LINE = re.compile(r"onnx_op_name:\s*(\S+)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def to_keras(path: Path, model: Any, *, dynamic_batch: bool) -> Any:
    """onnx2tf's tf_keras model of the (named) ONNX model; a failure names the ONNX node onnx2tf stopped at."""
    import onnx
    module = _onnx2tf()
    by_name = {n.name: n for n in model.graph.node}
    log = io.StringIO()
    with tempfile.TemporaryDirectory(prefix="tinyc-onnx-") as tmp:
        copy = Path(tmp) / "model.onnx"  # onnx2tf rewrites the file it is given
        onnx.save(model, str(copy))
        try:
            with _restored_process_state(recursion_limit=CONVERT_RECURSION_LIMIT), silenced_stdio(log):
                keras_model = module.convert(
                    input_onnx_file_path=str(copy), output_folder_path=str(Path(tmp) / "saved_model"),
                    not_use_onnxsim=True, disable_model_save=True,
                    non_verbose=True, verbosity="error", batch_size=1 if dynamic_batch else None)
        except (Exception, SystemExit) as exc:  # onnx2tf raises many types, and calls sys.exit(1) after logging
            text = _ANSI.sub("", log.getvalue())
            names = _ERROR_LINE.findall(text)
            where = node_label(by_name[names[-1]]) if names and names[-1] in by_name else "the model"
            detail = _last_error(text) or _first_line(exc)
            raise UnsupportedModelError(f"{path}: onnx2tf could not convert {where}: {detail}") from None
    if keras_model is None:
        raise ModelLoadError(f"{path}: onnx2tf returned no model: {_last_error(_ANSI.sub('', log.getvalue()))}")
    return keras_model


def _last_error(text: str) -> str:
    """The last line of onnx2tf's traceback (the exception), or its last ERROR line."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    exceptions = [line for line in lines if re.match(r"^[A-Za-z_.]*(Error|Exception)\b", line)]
    if exceptions:
        return exceptions[-1][:300]
    errors = [line for line in lines if line.startswith("ERROR:")]
    return errors[-1][len("ERROR:"):].strip()[:300] if errors else ""


def _candidates(onnx_shape: tuple[int, ...], tf_shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    """The permutations `tf = onnx.transpose(p)` onnx2tf may have applied: channels-first to channels-last for rank
    3 to 5, or none; those that fit the shapes."""
    rank = len(onnx_shape)
    options = [tuple(range(rank))]
    if 3 <= rank <= 5:
        options.insert(0, (0, *range(2, rank), 1))
    return [p for p in options if len(tf_shape) == rank and tuple(onnx_shape[i] for i in p) == tuple(tf_shape)]


def check_fidelity(path: Path, model: Any, keras_model: Any, samples: list[np.ndarray]) -> list[EdgeLayout]:
    """Run `samples` (ONNX layout, batch 1) through onnxruntime and the tf_keras model: the outputs must agree under
    one of the layouts onnx2tf may have chosen; return the input's and the output's layout."""
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise _import_error("onnxruntime", exc) from None
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    in_name, out_name = session.get_inputs()[0].name, session.get_outputs()[0].name
    onnx_in = tuple(samples[0].shape)
    tf_in = (1, *tuple(int(d) for d in keras_model.inputs[0].shape[1:]))
    tf_out = (1, *tuple(int(d) for d in keras_model.outputs[0].shape[1:]))
    expected = [np.asarray(session.run([out_name], {in_name: s})[0]) for s in samples]
    onnx_out = tuple(expected[0].shape)
    worst = np.inf
    for p_in in _candidates(onnx_in, tf_in):
        got = [np.asarray(keras_model(np.transpose(s, p_in), training=False)) for s in samples]
        for p_out in _candidates(onnx_out, tf_out):
            scale = max(1.0, max(float(np.abs(e).max()) for e in expected))
            error = max(float(np.abs(np.transpose(e, p_out) - g).max()) for e, g in zip(expected, got))
            worst = min(worst, error)
            if error <= FIDELITY_RTOL * scale:
                return [EdgeLayout(Role.INPUT, in_name, onnx_in, tf_in, p_in),
                        EdgeLayout(Role.OUTPUT, out_name, onnx_out, tf_out, p_out)]
    detail = (f"the largest difference is {worst:.3g}" if np.isfinite(worst) else
              f"the shapes do not map: ONNX {_shape(onnx_in)} -> {_shape(onnx_out)}, TensorFlow {_shape(tf_in)} -> "
              f"{_shape(tf_out)}")
    raise UnsupportedModelError(
        f"{path}: onnx2tf's TensorFlow model does not compute what the ONNX model computes on the calibration "
        f"samples (onnxruntime vs TensorFlow, {detail}); tinyc will not quantize a graph that differs from yours: "
        "simplify the model (onnxsim) or report the model to onnx2tf")


def onnx_origin(model: Any, opcode_name: str) -> str | None:
    """The ONNX nodes whose type becomes the TFLite op `opcode_name` (for an op tinyc refuses after converting)."""
    nodes = [n for n in model.graph.node if opcode_name in ONNX_OPS.get(n.op_type, OnnxOp(())).becomes]
    if not nodes:
        return None
    shown = " or ".join(node_label(n) for n in nodes[:3])
    return f"from {shown}" + (f" or {len(nodes) - 3} more" if len(nodes) > 3 else "")
