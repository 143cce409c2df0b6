"""The kernel archive cache (tinyc.run.kernel_cache): tinyc's own builds compile the kernels once per key, link the
same objects from the cache, say so, and never link a torn entry; the key follows everything the objects read."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from conftest import REPO, needs_toolchain
from tinyc import progress
from tinyc.codegen.render import APP_FLAGS, PORTABLE_FLAG, Harness, render_firmware
from tinyc.plan.pipeline import input_samples, plan_model
from tinyc.progress import PlainLines, set_reporter
from tinyc.resources import kernels_dir
from tinyc.run import kernel_cache
from tinyc.run.firmware import build_firmware
from tinyc.run.output_folder import write_files
from tinyc.run.qemu import run_qemu

MODEL = REPO / "tests" / "data" / "golden_tiny.tflite"
MACRO = re.compile(r"\bTINYC_[A-Z0-9_]+\b")


def _kernel_sources() -> list[Path]:
    return sorted(p for p in kernels_dir().rglob("*") if p.suffix in (".c", ".h"))


def test_no_kernel_source_reads_an_application_flag() -> None:
    """APP_FLAGS stay out of the kernel flags and the cache key: no kernel source may read one of them."""
    app_macros = {flag.removeprefix("-D") for flag in APP_FLAGS}
    for path in _kernel_sources():
        read = set(MACRO.findall(path.read_text()))
        assert not read & app_macros, f"{path.name} reads {read & app_macros}: make it a kernel flag"


def _project(tmp_path: Path, board: str = "stm32f412") -> tuple[Path, tuple[str, ...]]:
    planned = plan_model(MODEL, board)
    files = render_firmware(planned.schedule, planned.plan, planned.board, Harness.SEMIHOSTING,
                            model_name="m", samples=input_samples(planned, 1))
    folder = tmp_path / board
    write_files(files, folder)
    return folder, planned.board.cflags


def test_the_key_follows_cpu_kernel_defines_and_every_kernel_source(tmp_path: Path) -> None:
    folder, cflags = _project(tmp_path)
    key = kernel_cache.archive_key(folder, cflags, ())
    assert kernel_cache.archive_key(folder, cflags, ()) == key  # deterministic
    assert kernel_cache.archive_key(folder, cflags, (PORTABLE_FLAG,)) != key
    m7, m7_flags = _project(tmp_path, "stm32h743")
    assert kernel_cache.archive_key(m7, m7_flags, ()) != key
    source = folder / "tinyc_kernels" / "ActivationFunctions" / "tinyc_relu_s8.c"
    source.write_text(source.read_text() + "\n/* edited */\n")
    assert kernel_cache.archive_key(folder, cflags, ()) != key
    # the model's own files are not kernel sources: a different model shares the archive
    source.write_text(source.read_text().removesuffix("\n/* edited */\n"))
    (folder / "model_weights.c").write_text("/* another model */\n")
    assert kernel_cache.archive_key(folder, cflags, ()) == key


def _build_lines(planned, folder: Path, samples) -> tuple[list[str], object]:  # type: ignore[no-untyped-def]
    stream = io.StringIO()
    previous = set_reporter(PlainLines(stream))
    try:
        result = build_firmware(planned, folder, samples)
    finally:
        set_reporter(previous)
    return [line for line in stream.getvalue().splitlines() if line.startswith("tinyc: build:")], result


@needs_toolchain
@pytest.mark.emulator
def test_second_build_links_the_cached_kernels_and_runs_the_same(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(kernel_cache.KERNEL_CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(progress, "SHOW_AFTER_SECONDS", 0.0)
    planned = plan_model(MODEL, "stm32f412")
    samples = input_samples(planned, 2)
    first_lines, first = _build_lines(planned, tmp_path / "first", samples)
    second_lines, second = _build_lines(planned, tmp_path / "second", samples)
    assert "(make; kernels compiled for the cache) done in" in first_lines[-1]
    assert "(make; kernels from the cache) done in" in second_lines[-1]
    assert not (tmp_path / "second" / "obj" / "kernels").exists()  # nothing compiled but the model and harness
    assert len(list((tmp_path / "cache").glob(f"{kernel_cache.ARCHIVE_PREFIX}*.a"))) == 1
    a, b = run_qemu(planned.board, first.elf), run_qemu(planned.board, second.elf)  # type: ignore[attr-defined]
    assert len(a.outputs) == 2 and all((x == y).all() for x, y in zip(a.outputs, b.outputs, strict=True))


@needs_toolchain
def test_a_torn_or_corrupted_entry_is_rebuilt_not_linked(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(kernel_cache.KERNEL_CACHE_ENV, str(tmp_path / "cache"))
    planned = plan_model(MODEL, "stm32f412")
    samples = input_samples(planned, 1)
    build_firmware(planned, tmp_path / "first", samples)
    (archive,) = (tmp_path / "cache").glob(f"{kernel_cache.ARCHIVE_PREFIX}*.a")
    good = archive.read_bytes()
    archive.write_bytes(good[:-100] + b"\0" * 100)  # corrupted: its recorded SHA-256 no longer matches
    key = archive.name.removeprefix(kernel_cache.ARCHIVE_PREFIX).removesuffix(".a")
    assert kernel_cache.lookup(key) is None
    build_firmware(planned, tmp_path / "second", samples)
    assert (tmp_path / "second" / "obj" / "kernels").is_dir()  # compiled again, and the entry made whole
    assert archive.read_bytes() == good or kernel_cache.lookup(key) == archive
    archive.with_suffix(".json").write_text("[1, 2]")  # malformed metadata: a miss, not a traceback
    assert kernel_cache.lookup(key) is None


def test_cache_off_and_unsafe_folders(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(kernel_cache.KERNEL_CACHE_ENV, "off")
    assert kernel_cache.kernel_cache_dir() is None
    monkeypatch.setenv(kernel_cache.KERNEL_CACHE_ENV, str(tmp_path / "a folder with spaces"))
    assert kernel_cache.kernel_cache_dir() is None  # make would split the archive's path: compile instead
    monkeypatch.setenv(kernel_cache.KERNEL_CACHE_ENV, str(tmp_path / "kernels"))
    assert kernel_cache.kernel_cache_dir() == tmp_path / "kernels"
