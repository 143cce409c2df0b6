"""Model files → an int8 TFLite flatbuffer: `model.py` (with `build()`), `.keras`, `.onnx` (`onnx_model`), or
`.tflite`."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import time
import warnings
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from tinyc.errors import ModelFormatError, ModelLoadError, TinycError, UnsupportedModelError
from tinyc.frontend.user_code import (check_keras_layers, check_representative_dataset, guard_module, guarded,
                                       keras_layer_names, stdout_to_stderr)
from tinyc.progress import Step, step
from tinyc.frontend.calibration import check_shapes, read_calibration
from tinyc.frontend.cache import CachedConversion, conversion_key, first_time, load_cached, store
from tinyc.frontend.lazy_imports import LazyImports, import_hint, lazy_imports
from tinyc.frontend.weights import WeightBits, WeightOptions, WeightPrecision, int4_model, summarize
from tinyc.frontend.convert import RepresentativeDataset, keras_to_int8_tflite, quiet_tensorflow, random_representative_dataset
from tinyc.frontend.onnx_model import EdgeLayout


@dataclass(frozen=True)
class LoadedModel:
    name: str  # a C-identifier-safe stem of the file name
    source: Path
    tflite: bytes = field(repr=False)
    notes: tuple[str, ...] = ()  # things the user should know (e.g. random calibration)
    keras_model: object | None = field(default=None, repr=False, compare=False)  # None when read from the cache
    module: ModuleType | None = field(default=None, repr=False, compare=False)
    output_layer: str | None = None  # the Keras layer that produces the model output, when known
    from_cache: bool = False  # the int8 conversion came from the conversion cache (`frontend.cache`)
    cache_key: str | None = None  # the conversion's cache key (None for a .tflite file, which is not converted)
    layouts: tuple[EdgeLayout, ...] = ()  # an ONNX model's input and output: how they map onto the int8 model's
    weights: WeightPrecision | None = None  # `--weights int4`: each weighted layer's precision (None: all int8)

    @property
    def layout_notes(self) -> tuple[str, ...]:
        """How an ONNX model's transposed input and output map (the memory report and model.h say it)."""
        return tuple(layout.describe() for layout in self.layouts if layout.transposed)

    @property
    def conversion(self) -> str:
        """Which conversion this is: "tflite" (the file itself), "cached" or "fresh"."""
        return "tflite" if self.cache_key is None else "cached" if self.from_cache else "fresh"

    def describe_conversion(self) -> str:
        digest = hashlib.sha256(self.tflite).hexdigest()
        if self.cache_key is None:
            return f"the .tflite file itself (sha256 {digest[:16]})"
        what = "int8 conversion" if self.weights is None else "conversion with int4 weights"
        return (f"{'cached' if self.from_cache else 'fresh'} {what}, cache key {self.cache_key[:16]}, "
                f"tflite sha256 {digest[:16]}")

    def conversion_json(self) -> dict[str, str | None]:
        return {"conversion": self.conversion, "cache_key": self.cache_key,
                "tflite_sha256": hashlib.sha256(self.tflite).hexdigest()}


def _c_name(path: Path) -> str:
    stem = "".join(ch if ch.isalnum() else "_" for ch in path.stem)
    return stem if stem and not stem[0].isdigit() else f"m_{stem}"


def _import_model_file(path: Path) -> tuple[ModuleType, LazyImports]:
    """The model file's module, its top-level `import keras` / `import tensorflow` bound lazily (and which of those
    ran during the import)."""
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]
    module_name = f"tinyc_user_model_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ModelLoadError(f"{path}: cannot be imported as a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        with guarded(path, "importing it"), lazy_imports() as lazy:
            spec.loader.exec_module(module)
    except TinycError:
        raise
    except Exception as exc:
        raise ModelLoadError(f"{path}: importing it raised {type(exc).__name__}: {exc}") from exc
    guard_module(path, module)
    return module, lazy


def _input_shapes(model: object) -> list[tuple[int, ...]]:
    shapes = []
    for tensor in model.inputs:  # type: ignore[attr-defined]
        shape = tuple(tensor.shape)
        if any(d is None for d in shape[1:]):
            raise ModelLoadError(f"model input {tensor.name!r} has a dynamic shape {shape}; "
                                 "give every dimension but the batch a fixed size")
        shapes.append((1, *shape[1:]))
    return shapes


def _from_keras(path: Path, model: object, representative: RepresentativeDataset | None,
                module: ModuleType | None, *, calibration: Calibration | None = None) -> LoadedModel:
    notes: list[str] = []
    check_keras_layers(path, model)
    if calibration is not None:
        check_shapes(calibration.path, calibration.samples, _input_shapes(model))
        representative = calibration.representative()
        notes.append(f"calibrated on {len(calibration.samples)} samples of {calibration.path.name} (--calibration)")
    if representative is None:
        representative = random_representative_dataset(_input_shapes(model))
        notes.append(RANDOM_CALIBRATION)
    else:
        check_representative_dataset(path, representative, _input_shapes(model))
    names = list(getattr(model, "output_names", None) or [])
    output_layer = str(names[0]) if len(names) == 1 else None
    tflite = keras_to_int8_tflite(model, representative)
    _check_support(path, tflite, output_layer, keras_layer_names(model))
    return LoadedModel(name=_c_name(path), source=path, tflite=tflite, notes=tuple(notes), keras_model=model,
                       module=module, output_layer=output_layer)


RANDOM_CALIBRATION = ("RANDOM CALIBRATION: no calibration data (no --calibration FILE.npy|.npz, no "
                      "representative_dataset()), so the int8 scales come from seeded random data in [-1, 1), not "
                      "from your data: the int8 model's accuracy on real inputs may be poor; give --calibration with "
                      "typical inputs, samples on the first axis")


@dataclass(frozen=True)
class Calibration:
    """Calibration data read from `--calibration FILE` (tinyc.frontend.calibration)."""
    path: Path
    samples: list[list[np.ndarray]] = field(repr=False)

    def representative(self) -> RepresentativeDataset:
        return lambda: iter(self.samples)


def _check_support(path: Path, tflite: bytes, output_layer: str | None, layers: dict[str, str], *,
                   origin: Callable[[Any], str | None] | None = None) -> None:
    """Check the converted graph against tinyc's support rules now, while the Keras layers are known: each
    unsupported op is named with the Keras layer it came from (or what `origin` says: an ONNX model's nodes)."""
    from tinyc.ir.reader import name_output, read_tflite
    from tinyc.ir.support import check_graph
    try:
        check_graph(name_output(read_tflite(tflite), output_layer), keras_layers=layers, origin=origin)
    except UnsupportedModelError as exc:
        raise UnsupportedModelError(f"{path}: {exc}") from None


def _check_tflite(path: Path, data: bytes) -> None:
    """Validate a user's .tflite file before anything uses it; the reader's error, naming the file."""
    from tinyc.ir.reader import read_tflite
    try:
        read_tflite(data)
    except (ModelFormatError, UnsupportedModelError) as exc:
        raise type(exc)(f"{path}: {exc}") from None


def _load_keras_file(path: Path) -> object:
    import keras
    if not zipfile.is_zipfile(path):
        raise ModelLoadError(f"{path}: not a valid .keras file (not a zip archive: truncated, corrupt or another "
                             "format); a .keras file is the zip archive model.save('model.keras') writes")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError) as exc:
        raise ModelLoadError(f"{path}: not a valid .keras file ({exc})") from None
    if "config.json" not in names:
        raise ModelLoadError(f"{path}: not a valid .keras file (the zip archive has no config.json); a .keras file "
                             "is the zip archive model.save('model.keras') writes")
    try:
        with warnings.catch_warnings(), stdout_to_stderr():
            warnings.simplefilter("ignore")
            return keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many types for a damaged archive; its first line is what helps
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(f"{path}: Keras could not load this .keras file ({type(exc).__name__}: {first}); "
                             "re-save it with model.save('model.keras')") from exc


def load_model(path: Path, *, calibration: Path | None = None, weights: WeightOptions = WeightOptions()) -> LoadedModel:
    """Load any supported model file and return its int8 TFLite flatbuffer; `calibration`: a .npy / .npz file of
    calibration samples for a .keras or .py model (instead of random data or its representative_dataset());
    `weights`: int4 weights (tinyc.frontend.weights), the file then holds packed INT4 weight tensors."""
    if weights.bits is WeightBits.INT8:
        if weights.int8_layers:
            raise ModelLoadError("--int8-layers chooses the layers that stay int8 under --weights int4; add "
                                 "--weights int4 (or leave --int8-layers out: every layer is int8 already)")
        return _load_int8(path, calibration=calibration)
    if path.suffix.lower() == ".tflite":
        loaded = _load_int8(path, calibration=calibration)
        tflite, notes = int4_model(loaded.tflite, weights, keras_model=None, convert=None)
        return _with_weights(replace(loaded, tflite=tflite, notes=(*loaded.notes, *notes)), tflite)
    module = _import_model_file(path)[0] if path.suffix.lower() == ".py" else None
    samples = _calibration_samples(path, module, calibration)
    key = conversion_key(path.read_bytes() + _weights_tag(weights), samples)
    cached, note = _cached(path, key, module)
    if cached is not None:
        return _with_weights(cached, cached.tflite)
    loaded = _load_int8(path, calibration=calibration)
    model = build_keras(loaded)
    representative = (lambda: iter(samples)) if samples is not None else \
        random_representative_dataset(_input_shapes(model))
    with step(Step.CONVERT, f"{path.name} with int4 weights"):
        tflite, notes = int4_model(loaded.tflite, weights, keras_model=model,
                                   convert=lambda m: keras_to_int8_tflite(m, representative))
    stored = _store(key, replace(loaded, tflite=tflite, notes=(*loaded.notes, *notes)), note)
    return _with_weights(replace(stored, from_cache=False), tflite)


def _weights_tag(weights: WeightOptions) -> bytes:
    """What the int4 conversion's cache key adds to the model file's bytes: the options, and the source of the
    int4 rewriting (tinyc.ir.int4, outside the front end the key already covers)."""
    from tinyc.ir import int4
    rewriter = hashlib.sha256(Path(int4.__file__).read_bytes()).hexdigest()
    return ("\0tinyc weights " + weights.bits.value + "\0" + "\0".join(weights.int8_layers) + "\0" +
            rewriter).encode()



def _with_weights(loaded: LoadedModel, tflite: bytes) -> LoadedModel:
    from tinyc.ir.reader import read_tflite
    return replace(loaded, weights=summarize(read_tflite(tflite)))


def _calibration_samples(path: Path, module: ModuleType | None,
                         calibration: Path | None) -> list[list[np.ndarray]] | None:
    """The samples the int8 conversion calibrates on (None: seeded random data), as load_model reads them;
    `module`: a .py model file's module."""
    if calibration is not None:
        return read_calibration(calibration)
    if module is None:
        return None
    representative = getattr(module, "representative_dataset", None)
    return _representative_samples(path, representative) if callable(representative) else None


def _load_int8(path: Path, *, calibration: Path | None = None) -> LoadedModel:
    if path.is_dir():
        saved_model = (path / "saved_model.pb").is_file()
        raise ModelLoadError(f"{path}: is a directory" + (
            " (a TensorFlow SavedModel, which tinyc does not read: convert it to an int8 .tflite, or give the "
            "Keras model as .keras or a .py with build())" if saved_model else
            "; give the model file itself: a .py with build(), a .keras or an int8 .tflite"))
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".tflite" and calibration is not None:
        raise ModelLoadError(f"{path}: --calibration applies to a .keras, .onnx or .py model; a .tflite file is "
                             "already quantized (calibrated when it was converted)")
    given = Calibration(calibration, read_calibration(calibration)) if calibration is not None else None
    if suffix == ".tflite":
        data = path.read_bytes()
        _check_tflite(path, data)
        return LoadedModel(name=_c_name(path), source=path, tflite=data)
    if suffix == ".keras":
        key = conversion_key(path.read_bytes(), given.samples if given is not None else None)
        cached, note = _cached(path, key, None)
        if cached is not None:
            return cached
        with step(Step.CONVERT, f"{path.name} to int8 TFLite"):
            return _store(key, _from_keras(path, _load_keras_file(path), None, None, calibration=given), note)
    if suffix == ".onnx":
        return _load_onnx(path, given)
    if suffix == ".py":
        started = time.monotonic()
        with step(Step.LOAD, f"{path.name} (running the model file and its imports)"):
            module, lazy = _import_model_file(path)
        build = getattr(module, "build", None)
        if not callable(build):
            raise ModelLoadError(f"{path}: defines no build() function; a model file must define "
                                 "`def build() -> keras.Model` (and may define representative_dataset())")
        representative = getattr(module, "representative_dataset", None)
        if given is not None:
            samples: list[list[np.ndarray]] | None = given.samples  # the file replaces representative_dataset()
        else:
            samples = _representative_samples(path, representative) if callable(representative) else None
        key = conversion_key(path.read_bytes(), samples)
        cached, note = _cached(path, key, module)
        if cached is not None:
            return _with_import_hint(cached, lazy.imported(), time.monotonic() - started)
        with step(Step.CONVERT, f"{path.name} to int8 TFLite (build(), TensorFlow)"):
            return _store(key, _build_and_convert(path, module, build, samples, calibration=given), note)
    raise ModelLoadError(f"{path}: unknown model file type {suffix!r}; give a .py with build(), a .keras, a float "
                         ".onnx or an int8 .tflite")


def _load_onnx(path: Path, given: Calibration | None) -> LoadedModel:
    """A float ONNX model: onnx2tf's TensorFlow model, quantized like a Keras one (cached the same way, the key
    also naming onnx2tf's version)."""
    from tinyc.frontend.onnx_model import converter_version
    key = conversion_key(path.read_bytes(), given.samples if given is not None else None,
                         converter=converter_version())
    cached, note = _cached(path, key, None)
    if cached is not None:
        return cached
    with step(Step.CONVERT, f"{path.name} to int8 TFLite (onnx2tf, then TensorFlow)"):
        return _store(key, _from_onnx(path, given), note)


def _from_onnx(path: Path, calibration: Calibration | None) -> LoadedModel:
    """`onnx_model`'s stages, then TensorFlow's int8 conversion with the calibration data (given in the ONNX
    model's layout, NCHW for an image model, and transposed as onnx2tf transposed the input)."""
    from tinyc.frontend import onnx_model as ox
    from tinyc.frontend.convert import CALIBRATION_SEED
    original = ox.read_onnx(path)
    ox.check_onnx_ops(path, original)
    shapes, dynamic_batch = ox.input_shapes(path, original)
    model, padded = ox.pad_maxpool_after_relu(path, original)
    notes: list[str] = [f"ONNX MaxPool {', '.join(repr(n) for n in padded)}: its explicit pads are a zero Pad before "
                        "it (the input follows a ReLU, so zeros pad as -inf would)"] if padded else []
    if calibration is not None:
        check_shapes(calibration.path, calibration.samples, shapes)
        probe = [sample[0] for sample in calibration.samples[:ox.FIDELITY_SAMPLES]]
        notes.append(f"calibrated on {len(calibration.samples)} samples of {calibration.path.name} (--calibration)")
    else:
        rng = np.random.default_rng(CALIBRATION_SEED)
        probe = [rng.uniform(-1.0, 1.0, size=shapes[0]).astype(np.float32) for _ in range(ox.FIDELITY_SAMPLES)]
    quiet_tensorflow()
    keras_model = ox.to_keras(path, model, dynamic_batch=dynamic_batch)
    layouts = ox.check_fidelity(path, original, keras_model, probe)  # against the file as given
    if calibration is not None:
        converted = [[layouts[0].to_tflite(a) for a in sample] for sample in calibration.samples]
        representative: RepresentativeDataset = lambda: iter(converted)
    else:
        representative = random_representative_dataset([layouts[0].tflite_shape])
        notes.append(RANDOM_CALIBRATION)
    notes.extend(layout.describe() for layout in layouts if layout.transposed)
    tflite = keras_to_int8_tflite(keras_model, representative)
    try:
        _check_support(path, tflite, None, {}, origin=lambda op: ox.onnx_origin(model, op.opcode_name))
    except ModelFormatError as exc:  # e.g. a constant int8 cannot hold
        raise UnsupportedModelError(f"{path}: onnx2tf and TensorFlow's int8 conversion made a model tinyc cannot "
                                    f"read: {exc}") from None
    return LoadedModel(name=_c_name(path), source=path, tflite=tflite, notes=tuple(notes), keras_model=keras_model,
                       layouts=tuple(layouts))


def _representative_samples(path: Path, representative: Callable[[], Iterable[list[np.ndarray]]]
                            ) -> list[list[np.ndarray]]:
    """What the model file's representative_dataset() yields (the user's code runs once); an exception in it is a
    ModelLoadError naming the file."""
    try:
        with guarded(path, "representative_dataset()"):
            return list(representative())
    except TinycError:
        raise
    except Exception as exc:
        raise ModelLoadError(f"{path}: representative_dataset() raised {type(exc).__name__}: {exc}") from exc


def _cached(path: Path, key: str, module: ModuleType | None) -> tuple[LoadedModel | None, str | None]:
    """The cached conversion of `key`, or None and why an entry there was not used."""
    lookup = load_cached(key)
    if lookup.hit is None:
        return None, lookup.note
    hit = lookup.hit
    try:
        layouts = tuple(EdgeLayout.from_json(item) for item in hit.layouts)
    except (ValueError, KeyError, TypeError):
        return None, f"conversion cache entry {key[:16]} is not used: its layouts are malformed; converted again"
    return LoadedModel(name=_c_name(path), source=path, tflite=hit.tflite, notes=hit.notes, module=module,
                       output_layer=hit.output_layer, from_cache=True, cache_key=key, layouts=layouts), None


def _with_import_hint(cached: LoadedModel, imported: list[str], seconds: float) -> LoadedModel:
    """A cached conversion whose model file still imported TensorFlow at import time: say so, once per file."""
    if not imported or not first_time(f"import-hint-{hashlib.sha256(cached.source.read_bytes()).hexdigest()}"):
        return cached
    return replace(cached, notes=(*cached.notes, import_hint(cached.source.name, imported, seconds)))


def _store(key: str, loaded: LoadedModel, note: str | None) -> LoadedModel:
    """Keep a fresh conversion; `note`: why the entry that was there was not used (shown with the model's notes)."""
    store(key, CachedConversion(tflite=loaded.tflite, notes=loaded.notes, output_layer=loaded.output_layer,
                                layouts=tuple(layout.as_json() for layout in loaded.layouts)))
    return replace(loaded, cache_key=key, notes=(*loaded.notes, *((note,) if note else ())))


def build_keras(loaded: LoadedModel) -> object | None:
    """The float Keras model: the one loaded, or built again from the model file when the conversion came from the
    cache (for an ONNX file, onnx2tf's model: it takes the int8 model's layout); None for a .tflite."""
    if loaded.keras_model is not None or loaded.source.suffix.lower() == ".tflite":
        return loaded.keras_model
    quiet_tensorflow()
    if loaded.source.suffix.lower() == ".onnx":
        from tinyc.frontend import onnx_model as ox
        model, _ = ox.pad_maxpool_after_relu(loaded.source, ox.read_onnx(loaded.source))
        keras_model: object = ox.to_keras(loaded.source, model, dynamic_batch=ox.input_shapes(loaded.source, model)[1])
        return keras_model
    if loaded.module is None:
        return _load_keras_file(loaded.source)
    return _call_build(loaded.source, loaded.module.build)


def _build_and_convert(path: Path, module: ModuleType, build: Callable[[], object],
                       samples: list[list[np.ndarray]] | None, *, calibration: Calibration | None) -> LoadedModel:
    """`samples`: what the model file's representative_dataset() yielded (read once, for the cache key too), or
    the --calibration file's."""
    quiet_tensorflow()
    model = _call_build(path, build)
    if calibration is not None:
        return _from_keras(path, model, None, module, calibration=calibration)
    return _from_keras(path, model, (lambda: iter(samples)) if samples is not None else None, module)


def _call_build(path: Path, build: Callable[[], object]) -> object:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = build()
    except TinycError:
        raise
    except Exception as exc:
        raise ModelLoadError(f"{path}: build() raised {type(exc).__name__}: {exc}") from exc
    if not hasattr(model, "inputs") or not hasattr(model, "outputs"):
        raise ModelLoadError(f"{path}: build() returned {type(model).__name__}, not a keras.Model")
    return model


def calibration_like_samples(input_shape: tuple[int, ...], count: int, seed: int) -> list[np.ndarray]:
    """Seeded int8 inputs for verification when the user gives no data."""
    rng = np.random.default_rng(seed)
    return [rng.integers(-128, 128, size=input_shape, dtype=np.int64).astype(np.int8) for _ in range(count)]
