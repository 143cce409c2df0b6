"""The kernel archive cache: tinyc's own builds compile its kernels once per CPU, kernel defines and sources.

A firmware build is mostly the kernels (about 93% of its compiler time), and they are the same for every model of
a board: only `model.c`, `model_weights.c` and the harness differ. tinyc's own builds (verify, bench, the tests,
the regression) therefore link `libtinyc_kernels.a`, built by the project's own Makefile (its `kernels` target,
with the project's own flags) on the first build and kept under `$XDG_CACHE_HOME/tinyc/kernels`
(`TINYC_KERNEL_CACHE_DIR=DIR` for another folder, `=off` to compile the kernels in every build), keyed by
the SHA-256 of everything the objects depend on: the kernel sources written into the project, the CPU flags, the
kernel defines (`KERNEL_DEFINES`: the only flags the kernel sources read; trace and profile flags are the
application's), the Makefile template (the kernel compiler flags) and the compiler's version.

Each entry stores the archive's own SHA-256 beside it, checked on every read: a torn or corrupted entry is
rebuilt, not linked (this catches corruption, not malice: whoever can write the cache folder can change the
firmware, as whoever can write the model file can). A generated user project is unchanged: its Makefile builds
the kernels from the sources beside it, unless `make TINYC_KERNEL_ARCHIVE=...` is given.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tinyc.resources import templates_dir

KERNEL_CACHE_ENV = "TINYC_KERNEL_CACHE_DIR"
FORMAT = 1
MAKE_SAFE_PATH = re.compile(r"[A-Za-z0-9_./+,-]+")
KERNEL_FOLDERS = ("tinyc_kernels", "cmsis_nn")  # tinyc.codegen.render writes the kernel sources there
ARCHIVE_IN_PROJECT = "obj/libtinyc_kernels.a"  # what the Makefile's `kernels` target builds
ARCHIVE_PREFIX = "tinyc-kernels-"  # cache entries: tinyc-kernels-KEY.a and tinyc-kernels-KEY.json
ARCHIVE_VARIABLE = "TINYC_KERNEL_ARCHIVE"  # the Makefile links this archive instead of compiling the kernels


@dataclass(frozen=True)
class KernelArchive:
    path: Path
    key: str
    cached: bool  # True: taken from the cache; False: compiled by this build (and stored)


def kernel_cache_dir() -> Path | None:
    chosen = os.environ.get(KERNEL_CACHE_ENV)
    if chosen == "off":
        return None
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    folder = Path(chosen).absolute() if chosen else Path(base).absolute() / "tinyc" / "kernels"
    # make takes the archive's path as a word: a folder whose name make would split or expand is not used
    return folder if MAKE_SAFE_PATH.fullmatch(str(folder)) else None


@functools.cache
def _compiler_version(compiler: str) -> str:
    try:
        proc = subprocess.run([compiler, "--version"], capture_output=True, text=True)
    except OSError:
        return "missing"  # the build that follows says how to install it
    return f"{shutil.which(compiler)}\0{proc.stdout.splitlines()[0] if proc.stdout else proc.returncode}"


def archive_key(project: Path, cpu_flags: tuple[str, ...], kernel_flags: tuple[str, ...],
                compiler: str = "arm-none-eabi-gcc") -> str:
    """The SHA-256 of everything the kernel objects of `project` (a rendered project folder) depend on."""
    digest = hashlib.sha256()
    digest.update(f"tinyc kernels {FORMAT}\0{_compiler_version(compiler)}\0".encode())
    digest.update(("\0".join(cpu_flags) + "\0\0" + "\0".join(kernel_flags) + "\0\0").encode())
    digest.update(hashlib.sha256((templates_dir() / "common" / "Makefile.j2").read_bytes()).digest())
    for folder in KERNEL_FOLDERS:
        for path in sorted((project / folder).rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(project).as_posix().encode() + b"\0")
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _entry(folder: Path, key: str) -> tuple[Path, Path]:
    return folder / f"{ARCHIVE_PREFIX}{key}.a", folder / f"{ARCHIVE_PREFIX}{key}.json"


def lookup(key: str) -> Path | None:
    """The cached archive of `key`, if its entry is whole (its recorded SHA-256 matches)."""
    folder = kernel_cache_dir()
    if folder is None:
        return None
    archive, meta = _entry(folder, key)
    try:
        info = json.loads(meta.read_text())
        data = archive.read_bytes()
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or info.get("sha256") != hashlib.sha256(data).hexdigest():
        return None
    return archive


def store(key: str, built: Path) -> Path | None:
    """Keep `built` (atomically: a concurrent reader sees the whole entry or none); None if the cache cannot be
    written (it only saves time)."""
    folder = kernel_cache_dir()
    if folder is None:
        return None
    archive, meta = _entry(folder, key)
    try:
        data = built.read_bytes()
        folder.mkdir(parents=True, exist_ok=True)
        for target, payload in ((archive, data),
                                (meta, json.dumps({"sha256": hashlib.sha256(data).hexdigest()}).encode())):
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.")
            with os.fdopen(fd, "wb") as f:
                f.write(payload)
            os.replace(tmp, target)
    except OSError:
        return None
    return archive


@contextmanager
def locked(key: str) -> Iterator[None]:
    """Hold the entry's lock while building it, so that parallel builds (pytest -n, the regression) compile the
    kernels of one key once; without a writable cache, no lock."""
    folder = kernel_cache_dir()
    handle = None
    if folder is not None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            handle = open(folder / f".{ARCHIVE_PREFIX}{key}.lock", "w")
            fcntl.flock(handle, fcntl.LOCK_EX)
        except OSError:
            handle = None
    try:
        yield
    finally:
        if handle is not None:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
