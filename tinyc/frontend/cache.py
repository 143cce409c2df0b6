"""The int8 conversion cache: `report`, then `compile`, then `verify` of one model convert it once.

TensorFlow's converter (and importing TensorFlow for it) is most of the time of every command. A converted model
is kept under `$XDG_CACHE_HOME/tinyc/conversions` (`~/.cache/...` without it; `TINYC_CACHE_DIR` to choose another
folder, `TINYC_CACHE_DIR=off` to turn the cache off), keyed by the SHA-256 of everything the conversion depends on:
the model file's bytes, the representative data it yields (every array's dtype, shape and bytes), the sources of
tinyc's front end (the builders a model file calls) and the TensorFlow version (and onnx2tf's, for an ONNX model,
whose entry also keeps how its input and output map: `onnx_model.EdgeLayout`). A `.py` model file that imports
other files of its own is re-converted only when one of those keyed inputs changes: say so, or turn the cache off.

Each entry is `KEY.tflite` and `KEY.json`; the JSON holds a SHA-256 digest over the key, the .tflite's bytes and
every metadata field, checked on read: a torn, edited-by-hand or malformed entry is a miss with a note, never a
traceback. The digest catches corruption, not malice: whoever can write the cache folder decides what tinyc
compiles (and what `verify` compares against), so the folder is as trusted as the model file itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

CACHE_ENV = "TINYC_CACHE_DIR"
FORMAT = 2  # 2: the entry's digest covers the key, the .tflite and the metadata
_DISABLED: ContextVar[bool] = ContextVar("tinyc_cache_disabled", default=False)


@dataclass(frozen=True)
class CachedConversion:
    tflite: bytes
    notes: tuple[str, ...]
    output_layer: str | None
    layouts: tuple[dict[str, Any], ...] = ()  # an ONNX model's EdgeLayout.as_json(), input then output


@dataclass(frozen=True)
class Lookup:
    hit: CachedConversion | None
    note: str | None = None  # why an entry that was there was not used (malformed, unreadable, failed its digest)


@contextlib.contextmanager
def cache_disabled() -> Iterator[None]:
    """No cache reads or writes inside (the CLI's --no-cache)."""
    token = _DISABLED.set(True)
    try:
        yield
    finally:
        _DISABLED.reset(token)


def cache_dir() -> Path | None:
    if _DISABLED.get():
        return None
    chosen = os.environ.get(CACHE_ENV)
    if chosen == "off":
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tinyc" / "conversions"


def _tensorflow_version() -> str:
    for distribution in ("tensorflow-cpu", "tensorflow"):
        try:
            return f"{distribution} {metadata.version(distribution)}"
        except metadata.PackageNotFoundError:
            continue
    return "tensorflow unknown"


def _frontend_digest() -> str:
    folder = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(folder.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def conversion_key(model_file: bytes, representative: Iterable[list[np.ndarray]] | None, *,
                   converter: str | None = None) -> str:
    """`converter`: the version of a converter that runs before TensorFlow's (onnx2tf for an ONNX model)."""
    digest = hashlib.sha256()
    digest.update(f"tinyc conversion {FORMAT}\0{_tensorflow_version()}\0{_frontend_digest()}\0".encode())
    if converter is not None:
        digest.update(f"converter {converter}\0".encode())
    digest.update(hashlib.sha256(model_file).digest())
    if representative is None:
        digest.update(b"no representative data")
    for sample in representative or ():
        for array in sample:
            a = np.ascontiguousarray(array)
            digest.update(f"{a.dtype.str}{a.shape}".encode() + a.tobytes())
    return digest.hexdigest()


def entry_digest(key: str, tflite: bytes, notes: Iterable[str], output_layer: str | None,
                 layouts: Iterable[dict[str, Any]] = ()) -> str:
    """SHA-256 over everything an entry holds (a canonical JSON of the key, the .tflite's digest and the metadata;
    `layouts` only where there are some, so the entries of Keras models keep their digests)."""
    fields: dict[str, Any] = {"format": FORMAT, "key": key, "tflite_sha256": hashlib.sha256(tflite).hexdigest(),
                              "notes": list(notes), "output_layer": output_layer}
    if layouts:
        fields["layouts"] = list(layouts)
    body = json.dumps(fields, sort_keys=True)
    return hashlib.sha256(body.encode()).hexdigest()


def _parse_entry(key: str, info: object, tflite: bytes) -> CachedConversion | str:
    """The entry, or what is wrong with it."""
    if not isinstance(info, dict):
        return f"its .json holds {type(info).__name__}, not an object"
    notes, output_layer, digest = info.get("notes"), info.get("output_layer"), info.get("digest")
    layouts = info.get("layouts", [])
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        return "its notes are not a list of strings"
    if output_layer is not None and not isinstance(output_layer, str):
        return "its output_layer is not a string"
    if not isinstance(layouts, list) or not all(isinstance(item, dict) for item in layouts):
        return "its layouts are not a list of objects"
    if not isinstance(digest, str):
        return "it has no digest (an entry of an older tinyc, or edited)"
    if digest != entry_digest(key, tflite, notes, output_layer, layouts):
        return "it fails its digest check (torn, corrupt or edited)"
    return CachedConversion(tflite=tflite, notes=tuple(notes), output_layer=output_layer, layouts=tuple(layouts))


def load_cached(key: str) -> Lookup:
    """The entry of `key`: a hit, a plain miss (no entry), or a miss with a note (an entry that cannot be used)."""
    folder = cache_dir()
    if folder is None:
        return Lookup(None)
    data, meta = folder / f"{key}.tflite", folder / f"{key}.json"
    if not data.exists() and not meta.exists():
        return Lookup(None)
    where = f"conversion cache entry {meta.with_suffix('')}"
    try:
        info = json.loads(meta.read_text(encoding="utf-8"))
        tflite = data.read_bytes()
    except (OSError, UnicodeDecodeError) as exc:
        return Lookup(None, f"{where} cannot be read ({getattr(exc, 'strerror', None) or exc}): converted again")
    except (ValueError, RecursionError):  # json.JSONDecodeError, or a number too long for int()
        return Lookup(None, f"{where} is not valid JSON: converted again")
    entry = _parse_entry(key, info, tflite)
    if isinstance(entry, str):
        return Lookup(None, f"{where} is not used: {entry}; converted again")
    return Lookup(entry)


def store(key: str, conversion: CachedConversion) -> None:
    """Keep the conversion (atomically: a concurrent reader sees the whole entry or none); a cache that cannot be
    written is skipped silently, since it only saves time."""
    folder = cache_dir()
    if folder is None:
        return
    digest = entry_digest(key, conversion.tflite, conversion.notes, conversion.output_layer, conversion.layouts)
    meta: dict[str, Any] = {"digest": digest, "sha256": hashlib.sha256(conversion.tflite).hexdigest(),
                            "notes": list(conversion.notes), "output_layer": conversion.output_layer}
    if conversion.layouts:
        meta["layouts"] = list(conversion.layouts)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for suffix, payload in ((".tflite", conversion.tflite), (".json", json.dumps(meta).encode())):
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{key}.")
            with os.fdopen(fd, "wb") as f:
                f.write(payload)
            os.replace(tmp, folder / f"{key}{suffix}")
    except OSError:
        return


def first_time(marker: str) -> bool:
    """True the first time `marker` is asked for in this cache folder (a hint said once); False once it is recorded,
    or when there is no cache folder to record it in."""
    folder = cache_dir()
    if folder is None:
        return False
    path = folder / "said" / marker
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8"):
            return True
    except OSError:  # FileExistsError: said before; another error: an unwritable cache, where hints stay quiet
        return False
