"""The int8 conversion cache: `report`, then `compile`, then `verify` of one model convert it once.

TensorFlow's converter (and importing TensorFlow for it) is most of the time of every command. A converted model
is kept under `$XDG_CACHE_HOME/tinyc/conversions` (`~/.cache/...` without it; `TINYC_CACHE_DIR` to choose another
folder, `TINYC_CACHE_DIR=off` to turn the cache off), keyed by the SHA-256 of everything the conversion depends on:
the model file's bytes, the representative data it yields (every array's dtype, shape and bytes), the sources of
tinyc's front end (the builders a model file calls) and the TensorFlow version. A `.py` model file that imports
other files of its own is re-converted only when one of those keyed inputs changes: say so, or turn the cache off.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

CACHE_ENV = "TINYC_CACHE_DIR"
FORMAT = 1


@dataclass(frozen=True)
class CachedConversion:
    tflite: bytes
    notes: tuple[str, ...]
    output_layer: str | None


def cache_dir() -> Path | None:
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


def conversion_key(model_file: bytes, representative: Iterable[list[np.ndarray]] | None) -> str:
    digest = hashlib.sha256()
    digest.update(f"tinyc conversion {FORMAT}\0{_tensorflow_version()}\0{_frontend_digest()}\0".encode())
    digest.update(hashlib.sha256(model_file).digest())
    if representative is None:
        digest.update(b"no representative data")
    for sample in representative or ():
        for array in sample:
            a = np.ascontiguousarray(array)
            digest.update(f"{a.dtype.str}{a.shape}".encode() + a.tobytes())
    return digest.hexdigest()


def load_cached(key: str) -> CachedConversion | None:
    folder = cache_dir()
    if folder is None:
        return None
    data, meta = folder / f"{key}.tflite", folder / f"{key}.json"
    try:
        info = json.loads(meta.read_text())
        tflite = data.read_bytes()
    except (OSError, json.JSONDecodeError):
        return None
    if info.get("sha256") != hashlib.sha256(tflite).hexdigest():
        return None  # a torn or tampered entry: convert again
    return CachedConversion(tflite=tflite, notes=tuple(info.get("notes", ())), output_layer=info.get("output_layer"))


def store(key: str, conversion: CachedConversion) -> None:
    """Keep the conversion (atomically: a concurrent reader sees the whole entry or none); a cache that cannot be
    written is skipped silently, since it only saves time."""
    folder = cache_dir()
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for suffix, payload in ((".tflite", conversion.tflite),
                                (".json", json.dumps({"sha256": hashlib.sha256(conversion.tflite).hexdigest(),
                                                      "notes": list(conversion.notes),
                                                      "output_layer": conversion.output_layer}).encode())):
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{key}.")
            with os.fdopen(fd, "wb") as f:
                f.write(payload)
            os.replace(tmp, folder / f"{key}{suffix}")
    except OSError:
        return
