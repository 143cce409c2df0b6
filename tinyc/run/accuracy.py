"""Accuracy on the device: labelled samples through float Keras, TFLite Micro and the firmware in the emulator.

`tinyc verify MODEL --board B --dataset` calls `measure_accuracy`. The model file's `dataset()` gives float
inputs (batch axis first) and, per input, an integer class label (top-1 is reported), float targets shaped like
the model output (an autoencoder, a regressor: RMSE and the other `tinyc.run.metrics` against them), or no labels
(`y` None). Every model also gets the metrics of its outputs against float Keras and the reference. Each input
is quantized with the int8 graph's input scale and
zero point, exactly as `tinyc.plan.pipeline.input_samples` quantizes representative data. Top-1 is the argmax of each
output (the first index on ties, for the float and the int8 outputs alike). The firmware must equal the
reference byte for byte on every sample; samples are embedded in flash, so they run in batches, one firmware
build and one emulator run per batch, as many samples per batch as one build can embed.
"""

from __future__ import annotations

import enum
import tempfile
from typing import Any
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinyc.boards import BoardRef
from tinyc.errors import ModelLoadError, TinycError
from tinyc.frontend.loader import build_keras
from tinyc.plan.pipeline import Planned, plan_model, quantize_input
from tinyc.plan.report import MemoryReport
from tinyc.plan.search import ScheduleOptions
from tinyc.run.compare import compare_outputs, reference_outputs
from tinyc.run.emulators import Emulator, EmulatorChoice
from tinyc.run.metrics import OutputMetrics, dequantize, output_metrics
from tinyc.run.verify import Progress, choice_json, localize, run_firmware, silent


# Progress stages: "convert and plan" (0 or 1 of 1), then "float Keras", "reference" and "firmware"
# (done and total count samples).


class Labels(enum.Enum):
    CLASSES = "classes"  # one integer class per sample: top-1
    TARGETS = "targets"  # float values shaped like the output per sample: RMSE, max abs error, ...
    NONE = "none"  # no labels: the outputs are compared with float Keras and the reference only


@dataclass(frozen=True)
class Dataset:
    x: np.ndarray  # float32, (samples, *input shape without batch)
    y: np.ndarray | None  # int64 classes (samples,), float64 targets (samples, output values), or None
    labels: Labels


@dataclass(frozen=True)
class AccuracyResult:
    model_name: str
    board: str
    emulator: str
    reference: str  # "tflite-micro", or "litert-builtin-ref" where TFLM itself crashed
    labels: np.ndarray | None = field(repr=False)  # classes or targets, as `label_kind` says
    label_kind: Labels
    float_outputs: np.ndarray = field(repr=False)  # (samples, output values), float Keras
    reference_outputs: np.ndarray = field(repr=False)  # dequantized int8 outputs of the reference
    firmware_outputs: np.ndarray = field(repr=False)  # dequantized int8 outputs of the firmware
    mismatched_samples: int  # samples whose firmware output bytes differ from the reference's
    mismatched_bytes: int
    first_mismatch: str | None
    batches: int  # firmware builds and emulator runs
    stack_used_bytes: int  # the most any batch used
    report: MemoryReport
    conversion: dict[str, str | None] = field(default_factory=dict)  # LoadedModel.conversion_json(): what was proved
    conversion_text: str = ""  # LoadedModel.describe_conversion()
    notes: tuple[str, ...] = ()
    choice: EmulatorChoice | None = None  # how the emulator was chosen (tinyc.verify_dataset / --emulator)

    @property
    def samples(self) -> int:
        return int(self.float_outputs.shape[0])

    @property
    def classes(self) -> bool:
        return self.label_kind is Labels.CLASSES

    @property
    def float_predictions(self) -> np.ndarray:
        return _argmax(self.float_outputs)

    @property
    def reference_predictions(self) -> np.ndarray:
        return _argmax(self.reference_outputs)

    @property
    def firmware_predictions(self) -> np.ndarray:
        return _argmax(self.firmware_outputs)

    def correct(self, predictions: np.ndarray) -> int:
        if not self.classes or self.labels is None:
            raise ValueError("top-1 needs class labels")
        return int(np.count_nonzero(predictions == self.labels))

    @property
    def float_top1(self) -> float:
        return self.correct(self.float_predictions) / self.samples

    @property
    def reference_top1(self) -> float:
        return self.correct(self.reference_predictions) / self.samples

    @property
    def firmware_top1(self) -> float:
        return self.correct(self.firmware_predictions) / self.samples

    @property
    def int8_drop(self) -> float:
        """Float top-1 minus the firmware's (positive: int8 lost accuracy)."""
        return self.float_top1 - self.firmware_top1

    @property
    def prediction_disagreements(self) -> int:
        return int(np.count_nonzero(self.firmware_predictions != self.reference_predictions))

    def metrics(self) -> dict[str, OutputMetrics]:
        """Each pair of outputs compared over every value: int8 vs float, the firmware vs both, and each against
        the float targets when `dataset()` gives them."""
        pairs = {"int8_reference_vs_float": (self.reference_outputs, self.float_outputs),
                 "firmware_vs_float": (self.firmware_outputs, self.float_outputs),
                 "firmware_vs_int8_reference": (self.firmware_outputs, self.reference_outputs)}
        if self.label_kind is Labels.TARGETS and self.labels is not None:
            pairs.update({"float_vs_targets": (self.float_outputs, self.labels),
                          "int8_reference_vs_targets": (self.reference_outputs, self.labels),
                          "firmware_vs_targets": (self.firmware_outputs, self.labels)})
        return {name: output_metrics(got, expected) for name, (got, expected) in pairs.items()}

    def accuracy_json(self) -> dict[str, Any] | None:
        if not self.classes:
            return None
        return {"float_top1": round(self.float_top1, 6), "int8_reference_top1": round(self.reference_top1, 6),
                "firmware_top1": round(self.firmware_top1, 6), "samples": self.samples,
                "float_correct": self.correct(self.float_predictions),
                "int8_reference_correct": self.correct(self.reference_predictions),
                "firmware_correct": self.correct(self.firmware_predictions),
                "int8_drop_vs_float": round(self.int8_drop, 6)}

    def as_json(self) -> dict[str, Any]:
        """The keys of `tinyc verify --json` that apply, plus `labels`, `accuracy` (top-1, for class labels; null
        otherwise), `metrics` and `batches`."""
        return {"board": self.board, "emulator": self.emulator, "reference": self.reference,
                "samples": self.samples, "mismatches": self.mismatched_samples,
                "mismatched_bytes": self.mismatched_bytes, "first_mismatch": self.first_mismatch,
                "stack_used_bytes": self.stack_used_bytes, "batches": self.batches, **self.conversion,
                "labels": self.label_kind.value, "accuracy": self.accuracy_json(),
                "metrics": {name: m.as_json() for name, m in self.metrics().items()},
                "report": self.report.as_json(), **choice_json(self.choice)}


def load_dataset(planned: Planned, *, limit: int | None = None,
                 data: tuple[np.ndarray, np.ndarray | None] | None = None) -> Dataset:
    """The model file's `dataset()` (or `data`, the same (x, y) given directly), checked against the model's input
    shape, first `limit` samples. An ONNX model's data is in the ONNX model's layout (NCHW for an image model) and is
    transposed as onnx2tf transposed the model (`LoadedModel.layouts`)."""
    source = planned.loaded.source
    given: tuple[object, object] = data if data is not None else _call_dataset(planned)
    what = "the data given" if data is not None else "dataset()"
    x = np.asarray(given[0], dtype=np.float32)
    y = given[1]
    layouts = planned.loaded.layouts
    shape = layouts[0].onnx_shape if layouts else planned.graph.tensor(planned.lowered.input).shape
    if x.shape[1:] != tuple(shape[1:]):
        raise ModelLoadError(f"{source}: {what} inputs have shape {x.shape}; the model takes "
                             f"(samples, {', '.join(map(str, shape[1:]))})")
    if layouts:
        x = layouts[0].to_tflite(x)  # the sample axis is the batch axis, which no permutation moves
        targets = np.asarray(y) if y is not None else None
        if targets is not None and len(layouts) > 1 and targets.shape[1:] == layouts[1].onnx_shape[1:]:
            y = layouts[1].to_tflite(targets)  # float targets shaped like the ONNX output
    labels, kind = _labels(source, y, samples=x.shape[0], output_values=_output_values(planned), what=what)
    if limit is not None:
        if limit < 1:
            raise ModelLoadError(f"--limit must be at least 1, not {limit}")
        x, labels = x[:limit], None if labels is None else labels[:limit]
    if x.shape[0] == 0:
        raise ModelLoadError(f"{source}: {what} holds no samples")
    return Dataset(x=x, y=labels, labels=kind)


def read_labelled(path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    """`verify --data FILE.npz`: its array `x` and, when present, `y` (read without pickles: the file is data)."""
    import zipfile
    if path.suffix.lower() != ".npz":
        raise ModelLoadError(f"{path}: --data takes a .npz file with an array x (and optionally y)")
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such data file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            names = set(archive.files)
            if "x" not in names:
                raise ModelLoadError(f"{path}: holds no array named x (it holds {', '.join(sorted(names)) or 'none'}); "
                                     "save the inputs with np.savez(path, x=inputs, y=labels)")
            unknown = names - {"x", "y"}
            if unknown:
                raise ModelLoadError(f"{path}: holds arrays other than x and y ({', '.join(sorted(unknown))})")
            x = np.asarray(archive["x"])
            y = np.asarray(archive["y"]) if "y" in names else None
    except ValueError as exc:
        raise ModelLoadError(f"{path}: not a plain .npz file of numeric arrays ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ModelLoadError(f"{path}: cannot be read as a .npz file ({exc})") from None
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)) or x.ndim < 2:
        raise ModelLoadError(f"{path}: x must be numeric inputs with the samples on the first axis, not {x.dtype} "
                             f"shaped {x.shape}")
    if y is not None and y.shape[:1] != x.shape[:1]:
        raise ModelLoadError(f"{path}: x holds {x.shape[0]} samples but y {y.shape[0] if y.ndim else 0}")
    return x, y


def _call_dataset(planned: Planned) -> tuple[object, object]:
    """What the model file's `dataset()` returns."""
    source = planned.loaded.source
    module = planned.loaded.module
    function = getattr(module, "dataset", None) if module is not None else None
    wanted = ("`def dataset()` returning (x, y): float32 inputs with the batch axis first and, per input, one "
              "integer class label or float targets shaped like the model output (or y None)")
    if module is None:
        raise ModelLoadError(f"{source}: --dataset needs a .py model file with {wanted}; a {source.suffix} file "
                             "carries no labelled data: give it with --data FILE.npz (arrays x and y; from Python, "
                             "tinyc.verify_dataset(..., data=(x, y)))")
    if not callable(function):
        raise ModelLoadError(f"{source}: defines no dataset() function, which --dataset needs: add {wanted}")
    try:
        x, y = function()
    except TinycError:  # e.g. dataset() called sys.exit(): already says so, naming the file
        raise
    except Exception as exc:
        raise ModelLoadError(f"{source}: dataset() raised {type(exc).__name__}: {exc}") from exc
    return x, y


def _output_values(planned: Planned) -> int:
    return int(np.prod(planned.graph.tensor(planned.lowered.output).shape[1:]))


def _labels(source: Path, y: object, *, samples: int, output_values: int,
            what: str = "dataset()") -> tuple[np.ndarray | None, Labels]:
    """Class labels (one integer per sample), float targets (the output's values per sample) or none."""
    if y is None:
        return None, Labels.NONE
    labels = np.asarray(y)
    if labels.shape == (samples,) and np.issubdtype(labels.dtype, np.integer):
        return labels.astype(np.int64), Labels.CLASSES
    if (labels.ndim >= 1 and labels.shape[0] == samples and np.issubdtype(labels.dtype, np.floating)
            and labels[0].size == output_values):
        if not np.isfinite(labels).all():
            raise ModelLoadError(f"{source}: {what} targets hold NaN or infinite values")
        return labels.reshape(samples, output_values).astype(np.float64), Labels.TARGETS
    raise ModelLoadError(f"{source}: {what} labels must be {samples} integer classes (shape ({samples},)) or "
                         f"float targets of {output_values} values per input (the model output's), got shape "
                         f"{labels.shape} of {labels.dtype}")


def quantize_inputs(planned: Planned, x: np.ndarray) -> list[np.ndarray]:
    """int8 model inputs for float samples: round(x / scale) + zero point, clipped (as `input_samples`)."""
    shape = planned.graph.tensor(planned.lowered.input).shape
    return [quantize_input(planned, s).reshape(shape) for s in x]


def float_outputs(planned: Planned, x: np.ndarray, progress: Progress) -> np.ndarray:
    """Float Keras's outputs, (samples, output values)."""
    model = build_keras(planned.loaded)  # built again when the conversion came from the cache
    if model is None:
        raise ModelLoadError(f"{planned.loaded.source}: no float Keras model to compare with")
    outputs = np.empty((len(x), _output_values(planned)), dtype=np.float64)
    for start in range(0, len(x), 64):
        chunk = x[start:start + 64]
        out = np.asarray(model.predict(chunk, batch_size=1, verbose=0))  # type: ignore[attr-defined]
        outputs[start:start + len(chunk)] = out.reshape(len(chunk), -1)
        progress("float Keras", start + len(chunk), len(x))
    return outputs


def _argmax(outputs: np.ndarray) -> np.ndarray:
    """Top-1 of each sample (the first index on ties)."""
    top: np.ndarray = np.argmax(outputs.reshape(outputs.shape[0], -1), axis=1).astype(np.int64)
    return top


def _real(planned: Planned, outputs: list[np.ndarray] | tuple[np.ndarray, ...]) -> np.ndarray:
    """int8 outputs, dequantized with the output tensor's scale and zero point: (samples, output values)."""
    tensor = planned.graph.tensor(planned.lowered.output)
    stacked = np.stack([np.asarray(o).reshape(-1) for o in outputs])
    return dequantize(stacked, scale=tensor.scale, zero_point=tensor.zero_point)


def measure_accuracy(model_path: Path, board_name: BoardRef, *, limit: int | None = None,
                     options: ScheduleOptions = ScheduleOptions(), emulator: Emulator = Emulator.QEMU,
                     cmsis_nn: Path | None = None, max_batch_samples: int | None = None,
                     progress: Progress = silent, calibration: Path | None = None) -> AccuracyResult:
    """Plan `model_path` for `board_name`, then `model_accuracy`."""
    progress("convert and plan", 0, 1)
    planned = plan_model(model_path, board_name, options=options, calibration=calibration)
    progress("convert and plan", 1, 1)
    return model_accuracy(planned, limit=limit, emulator=emulator, cmsis_nn=cmsis_nn,
                          max_batch_samples=max_batch_samples, progress=progress)


def model_accuracy(planned: Planned, *, limit: int | None = None, emulator: Emulator = Emulator.QEMU,
                   cmsis_nn: Path | None = None, max_batch_samples: int | None = None,
                   progress: Progress = silent, data: tuple[np.ndarray, np.ndarray | None] | None = None
                   ) -> AccuracyResult:
    """Top-1 (class labels) and output metrics of float Keras, the int8 reference and the firmware on the model
    file's `dataset()` (or `data`); the firmware compared with the reference byte for byte (the same comparison as
    `verify`)."""
    dataset = load_dataset(planned, limit=limit, data=data)
    inputs = quantize_inputs(planned, dataset.x)
    total = len(inputs)
    floats = float_outputs(planned, dataset.x, progress)
    progress("reference", 0, total)
    reference = reference_outputs(planned, inputs)
    progress("reference", total, total)
    with tempfile.TemporaryDirectory(prefix="tinyc-accuracy-") as tmp:
        runs = run_firmware(planned, inputs, Path(tmp) / "firmware", emulator=emulator, cmsis_nn=cmsis_nn,
                            trace_first=False, max_batch_samples=max_batch_samples, progress=progress)
        outputs = compare_outputs(runs.run.outputs, reference.outputs)
        first = localize(planned, inputs, runs, outputs, None, Path(tmp) / "trace", emulator=emulator,
                         cmsis_nn=cmsis_nn)
    notes = (*planned.loaded.notes, *reference.notes)
    # Sizes of the last batch's ELF (its samples sit in the emulator's test-data region, not in flash).
    report = planned.measured_report(runs.build.sizes, notes=notes, measured_stack_bytes=runs.run.stack_used_bytes)
    return AccuracyResult(model_name=planned.loaded.name, board=planned.board.name, emulator=runs.run.emulator,
                          reference=reference.name, labels=dataset.y, label_kind=dataset.labels, float_outputs=floats,
                          reference_outputs=_real(planned, reference.outputs),
                          firmware_outputs=_real(planned, runs.run.outputs),
                          conversion=planned.loaded.conversion_json(),
                          conversion_text=planned.loaded.describe_conversion(),
                          mismatched_samples=outputs.mismatched_samples, mismatched_bytes=outputs.mismatched_bytes,
                          first_mismatch=first.describe() if first else None, batches=runs.batches,
                          stack_used_bytes=runs.run.stack_used_bytes, report=report, notes=notes)
