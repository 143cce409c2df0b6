"""Build hygiene: every kernel source on disk (found, not listed) compiles warning-free under strict flags for every
CPU a bundled board names, with tinyc's DSP paths and with the portable ones (-DTINYC_PORTABLE_KERNELS)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tinyc.boards import known_boards
from tinyc.codegen.render import PORTABLE_FLAG
from tinyc.resources import kernels_dir

STRICT = ("-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-Wconversion", "-Wsign-conversion", "-Wshadow",
          "-pedantic")
CPU_FLAGS = sorted({board.cflags for board in known_boards().values()})
SOURCES = sorted(kernels_dir().rglob("*.c"))
INCLUDES = sorted({f"-I{header.parent}" for header in kernels_dir().rglob("*.h")})


def test_object_names_are_unique() -> None:
    """The Makefile compiles every kernel source to obj/kernels/NAME.o (CMSIS-NN's layout: one name per file)."""
    stems = [p.stem for p in SOURCES]
    assert len(stems) == len(set(stems)), sorted(s for s in stems if stems.count(s) > 1)


def test_no_kernel_source_is_long() -> None:
    """One variant per file: no C source or header over 600 lines."""
    files = SOURCES + sorted(kernels_dir().rglob("*.h"))
    long = {p.name: n for p in files if (n := len(p.read_text().splitlines())) > 600}
    assert not long, long


def test_the_sources_are_found() -> None:
    names = {p.name for p in SOURCES}
    assert {"tinyc_relu_s8.c", "tinyc_conv1x1_inplace_s8.c", "arm_convolve_wrapper_s8.c"} <= names and len(SOURCES) >= 30


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc is needed")
@pytest.mark.parametrize("defines", [(), (PORTABLE_FLAG,)], ids=["dsp", "portable"])
@pytest.mark.parametrize("cpu", CPU_FLAGS, ids=lambda flags: next(f for f in flags if f.startswith("-mcpu=")))
def test_every_kernel_source_builds_warning_free(cpu: tuple[str, ...], defines: tuple[str, ...],
                                                 tmp_path: Path) -> None:
    failures = []
    for source in SOURCES:
        proc = subprocess.run(["arm-none-eabi-gcc", *cpu, *STRICT, *defines, *INCLUDES, "-c", str(source),
                               "-o", str(tmp_path / f"{source.stem}.o")], capture_output=True, text=True)
        if proc.returncode != 0:
            failures.append(f"{source.relative_to(kernels_dir())}:\n{proc.stderr[-1500:]}")
    assert not failures, "\n".join(failures)
