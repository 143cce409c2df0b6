"""Running the user's model file: a `.py` model file is executed as Python code (like `setup.py`).

Its module, `build()`, `representative_dataset()` and `dataset()` run with standard output sent to standard
error (so a model file that prints cannot corrupt `--json` output), and a `sys.exit()` / `SystemExit` from
them becomes a `ModelLoadError` naming the file and the function (instead of tinyc exiting 0 having
written nothing). Checks of what a model file gives tinyc (representative data, Keras layers) live here too.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from tinyc.errors import ModelLoadError, UnsupportedModelError

# The Python functions of a model file tinyc calls.
MODEL_FILE_FUNCTIONS = ("build", "representative_dataset", "dataset")


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """Send what Python and C code write to standard output to standard error instead."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no file descriptor 1 (a closed stdout): Python-level redirection only
        saved = None
    try:
        if saved is not None:
            os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def _exit_message(path: Path, what: str, exc: SystemExit) -> str:
    code = exc.code if exc.code is not None else 0
    return (f"{path}: {what} called sys.exit({code!r}) (raised SystemExit); a model file must not exit: "
            "guard script code with `if __name__ == \"__main__\":`, or raise an exception to report a problem")


@contextlib.contextmanager
def guarded(path: Path, what: str) -> Iterator[None]:
    """Run user code: stdout to stderr, SystemExit → ModelLoadError."""
    try:
        with stdout_to_stderr():
            yield
    except SystemExit as exc:
        raise ModelLoadError(_exit_message(path, what, exc)) from None


def _guarded_iteration(path: Path, what: str, iterable: Iterable[Any]) -> Iterator[Any]:
    with guarded(path, what):
        iterator = iter(iterable)
    while True:
        with guarded(path, what):
            try:
                item = next(iterator)
            except StopIteration:
                return
        yield item


def guard_function(path: Path, name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` of the model file, run guarded; a generator it returns is iterated guarded too."""
    what = f"{name}()"

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        with guarded(path, what):
            result = function(*args, **kwargs)
        if isinstance(result, Iterator):
            return _guarded_iteration(path, what, result)
        return result
    run.__tinyc_guarded__ = True  # type: ignore[attr-defined]
    return run


def guard_module(path: Path, module: Any) -> None:
    """Replace the model file's functions tinyc calls by guarded versions, in place."""
    for name in MODEL_FILE_FUNCTIONS:
        function = getattr(module, name, None)
        if callable(function) and not getattr(function, "__tinyc_guarded__", False):
            setattr(module, name, guard_function(path, name, function))


# --- what a model file gives ----------------------------------------------------------------------

def _arrays(item: Any) -> list[np.ndarray]:
    if isinstance(item, dict):
        item = list(item.values())
    if not isinstance(item, (list, tuple)):
        item = [item]
    return [np.asarray(a, dtype=np.float32) for a in item]


def check_representative_dataset(path: Path, representative: Callable[[], Iterable[Any]],
                                 input_shapes: list[tuple[int, ...]]) -> None:
    """Refuse representative data the converter cannot calibrate on: none, NaN / infinite, or the wrong size."""
    wanted = ", ".join(f"(1, {', '.join(map(str, s[1:]))})" for s in input_shapes)
    how = (f"it must yield, for each sample, a list of float32 arrays of shape {wanted} (one per model input), "
           "e.g. 100 typical inputs")
    count = 0
    finite = 0
    try:
        for index, item in enumerate(representative()):
            try:
                arrays = _arrays(item)
            except (TypeError, ValueError) as exc:
                raise ModelLoadError(f"{path}: representative_dataset() sample {index} is not numeric "
                                     f"({exc}); {how}") from None
            if len(arrays) != len(input_shapes):
                raise ModelLoadError(f"{path}: representative_dataset() sample {index} has {len(arrays)} arrays "
                                     f"for {len(input_shapes)} model input(s); {how}")
            for array, shape in zip(arrays, input_shapes):
                size = math.prod(shape[1:])
                if array.size == 0 or array.size % size:
                    raise ModelLoadError(f"{path}: representative_dataset() sample {index} has shape {array.shape}; "
                                         f"{how}")
            count += 1
            if all(np.isfinite(a).all() for a in arrays):
                finite += 1
    except ModelLoadError:
        raise
    except Exception as exc:  # the user's code: report whatever it raised
        raise ModelLoadError(f"{path}: representative_dataset() raised {type(exc).__name__}: {exc}") from exc
    if count == 0:
        raise ModelLoadError(f"{path}: representative_dataset() yielded no samples, so the model cannot be "
                             f"calibrated for int8; {how}")
    if finite == 0:
        raise ModelLoadError(f"{path}: every sample of representative_dataset() ({count}) contains NaN or infinite "
                             f"values, so the model cannot be calibrated for int8; give finite values: {how}")


# Keras layers the int8 TFLite converter cannot turn into builtin int8 ops tinyc lowers.
_RECURRENT = {"LSTM": "LSTM", "GRU": "GRU", "SimpleRNN": "SimpleRNN", "RNN": "RNN", "Bidirectional": "Bidirectional RNN",
              "ConvLSTM1D": "ConvLSTM", "ConvLSTM2D": "ConvLSTM", "ConvLSTM3D": "ConvLSTM", "LSTMCell": "LSTM",
              "GRUCell": "GRU"}
# Keras layer class -> the TFLite op the converter emits for it that tinyc does not lower (its nearest supported
# alternative: tinyc.ir.support.ALTERNATIVES).
_UNSUPPORTED_LAYERS = {"ELU": "ELU",
                       "GlobalMaxPooling2D": "REDUCE_MAX",
                       "Embedding": "GATHER"}
# Layers that resize: supported with nearest-neighbour interpolation (RESIZE_NEAREST_NEIGHBOR), else RESIZE_BILINEAR.
_RESIZING = ("UpSampling2D", "Resizing")
# Keras activation functions (by name) -> the TFLite op they become, which tinyc does not lower.
_UNSUPPORTED_ACTIVATIONS = {"elu": "ELU", "selu": "ELU", "gelu": "GELU", "softplus": "EXP / LOG", "softsign": "DIV",
                            "exponential": "EXP", "mish": "EXP / LOG / TANH", "log_softmax": "LOG_SOFTMAX"}
_ACTIVATION_ALTERNATIVE = "use relu, relu6, leaky_relu, hard_swish, sigmoid or tanh"


def all_layers(model: Any) -> list[Any]:
    """Every layer of the model, nested ones after their container, in the model's order."""
    layers: list[Any] = []
    for layer in getattr(model, "layers", []):
        layers.append(layer)
        if hasattr(layer, "layers") and layer is not model:
            layers.extend(all_layers(layer))
    return layers


def _lstm_problem(layer: Any) -> str | None:
    """A Keras LSTM is lowered when the converter fuses it into UNIDIRECTIONAL_SEQUENCE_LSTM: tf_keras' (Keras 2)
    LSTM with tanh and sigmoid, a bias, no recurrent dropout, not unrolled, not stateful, not reversed, returning no
    state. Otherwise tf_keras runs the generic RNN loop, a WHILE loop whose int8 calibration crashes TensorFlow's
    converter (TF 2.21: use_bias=False, recurrent_dropout > 0, other activations), so these are refused first."""
    if not type(layer).__module__.startswith("tf_keras"):
        return ("Keras 3's LSTM converts to a WHILE loop (TensorFlow's int8 calibration crashes on it); build the "
                "model with tf_keras (Keras 2): tf_keras.layers.LSTM converts to the fused "
                "UNIDIRECTIONAL_SEQUENCE_LSTM that tinyc lowers (see models/kws_lstm.py)")
    activations = (getattr(getattr(layer, "activation", None), "__name__", None),
                   getattr(getattr(layer, "recurrent_activation", None), "__name__", None))
    if activations != ("tanh", "sigmoid"):
        return (f"activation {activations[0]!r} and recurrent_activation {activations[1]!r}: the fused int8 LSTM "
                "computes tanh and sigmoid; use the defaults")
    if not getattr(layer, "use_bias", True):
        return "use_bias=False: the converter then does not fuse the LSTM (and crashes calibrating it); keep the bias"
    if getattr(layer, "recurrent_dropout", 0.0):
        return ("recurrent_dropout > 0: the converter then does not fuse the LSTM (and crashes calibrating it); use "
                "dropout, or none")
    if getattr(layer, "unroll", False):
        return "unroll=True converts to UNPACK and per-step ops, which tinyc does not lower; use unroll=False"
    for flag in ("stateful", "go_backwards", "return_state"):
        if getattr(layer, flag, False):
            return f"{flag}=True is not supported: tinyc runs one whole sequence per inference"
    return None


def _layer_problem(layer: Any) -> str | None:
    """Why tinyc cannot lower what the converter makes of this layer, and the nearest supported alternative."""
    from tinyc.ir.support import ALTERNATIVES, SUPPORTED

    kind = type(layer).__name__
    if kind == "LSTM":
        return _lstm_problem(layer)
    if kind in _RECURRENT:
        return (f"{_RECURRENT[kind]} is not supported (tinyc lowers int8 "
                + ", ".join(k.value for k in SUPPORTED)
                + "); replace it with convolutions (e.g. a DS-CNN over the time axis) or Dense layers")
    if kind in _UNSUPPORTED_LAYERS:
        op = _UNSUPPORTED_LAYERS[kind]
        return f"it converts to TFLite {op}, which tinyc does not lower: {ALTERNATIVES[op]}"
    activation = getattr(getattr(layer, "activation", None), "__name__", None)
    if activation in _UNSUPPORTED_ACTIVATIONS:
        return (f"activation {activation!r} converts to TFLite {_UNSUPPORTED_ACTIVATIONS[activation]}, which tinyc "
                f"does not lower: {_ACTIVATION_ALTERNATIVE}")
    if kind in _RESIZING and getattr(layer, "interpolation", "nearest") not in ("nearest", "bilinear"):
        return (f"interpolation {layer.interpolation!r} is not supported: use 'nearest' (RESIZE_NEAREST_NEIGHBOR) or "
                "'bilinear' (RESIZE_BILINEAR)")
    return None


def check_keras_layers(path: Path, model: Any) -> None:
    """Refuse layers tinyc cannot lower before the (slow) conversion, naming the layer, the TFLite op it would
    become and the nearest supported alternative."""
    for index, layer in enumerate(getattr(model, "layers", [])):
        for inner in [layer, *all_layers(layer)]:
            problem = _layer_problem(inner)
            if problem is not None:
                raise UnsupportedModelError(f"{path}: Keras layer {inner.name!r} (layer {index} of the model, "
                                            f"{type(inner).__name__}): {problem}")


def keras_layer_names(model: Any) -> dict[str, str]:
    """Every Keras layer of the model (nested ones too): name → class name."""
    return {layer.name: type(layer).__name__ for layer in all_layers(model)}
