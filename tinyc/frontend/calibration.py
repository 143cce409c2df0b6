"""Calibration data from a file: `--calibration FILE.npy|.npz` for a `.keras` (or `.py`) model.

A `.npy` file holds one array, a `.npz` file one array per model input (in the order they were saved); every array
has the samples on its first axis and, after it, the model input's shape without the batch axis. The arrays are
read with `allow_pickle=False`: a calibration file is data, and numpy's pickles run code.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from tinyc.errors import ModelLoadError

SUFFIXES = (".npy", ".npz")


def read_calibration(path: Path) -> list[list[np.ndarray]]:
    """The file's samples as representative data: one list per sample, one (1, ...) float32 array per input."""
    if path.suffix.lower() not in SUFFIXES:
        raise ModelLoadError(f"{path}: --calibration takes a .npy file (one array) or a .npz file (one array per "
                             "model input), samples on the first axis")
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such calibration file")
    arrays = _arrays(path)
    if not arrays:
        raise ModelLoadError(f"{path}: holds no arrays")
    counts = {a.shape[0] if a.ndim else 0 for a in arrays}
    if len(counts) != 1 or 0 in counts:
        shapes = ", ".join(str(a.shape) for a in arrays)
        raise ModelLoadError(f"{path}: the arrays ({shapes}) must hold the same number of samples (at least one) on "
                             "their first axis")
    for a in arrays:
        if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
            raise ModelLoadError(f"{path}: an array of {a.dtype} is not numeric calibration data")
        if np.issubdtype(a.dtype, np.floating) and not np.isfinite(a).all():
            raise ModelLoadError(f"{path}: holds NaN or infinite values; calibration data must be finite")
    return [[a[i:i + 1].astype(np.float32) for a in arrays] for i in range(counts.pop())]


def _arrays(path: Path) -> list[np.ndarray]:
    try:
        if path.suffix.lower() == ".npy":
            return [np.asarray(np.load(path, allow_pickle=False))]
        with np.load(path, allow_pickle=False) as archive:
            return [np.asarray(archive[name]) for name in archive.files]
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise ModelLoadError(f"{path}: holds Python objects (a pickle), which tinyc does not load (they can run "
                                 "code): save plain numeric arrays with np.save / np.savez") from None
        raise ModelLoadError(f"{path}: not a valid {path.suffix} file ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ModelLoadError(f"{path}: cannot be read as a {path.suffix} file ({exc})") from None


def check_shapes(path: Path, samples: list[list[np.ndarray]], input_shapes: list[tuple[int, ...]]) -> None:
    """Each array of the file has the model input's shape after its sample axis."""
    first = samples[0]
    wanted = ", ".join(f"(samples, {', '.join(map(str, s[1:]))})" for s in input_shapes)
    if len(first) != len(input_shapes) or any(a.shape[1:] != tuple(s[1:]) for a, s in zip(first, input_shapes)):
        got = ", ".join(f"(samples, {', '.join(map(str, a.shape[1:]))})" for a in first)
        raise ModelLoadError(f"{path}: calibration arrays shaped {got}; the model takes {wanted} "
                             f"({len(input_shapes)} input(s), samples on the first axis)")
