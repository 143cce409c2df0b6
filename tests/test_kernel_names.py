"""`tinyc compile --kernels tinyc|cmsis-nn`: tinyc's own CMSIS-NN-API kernels define no arm_* symbol (they are
compiled as tinyc_nn_*, cmsis_nn/Include/tinyc_nn_names.h), so the library links beside Arm's CMSIS-NN; with
--kernels cmsis-nn the output holds no copy of tinyc's CMSIS-NN and its builds expect the application's."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, run_cli
from tinyc.boards import get_board
from tinyc.codegen.library import BuildDescription, describe_build, library_files
from tinyc.codegen.api import api_names, model_interface
from tinyc.codegen.render import CMSIS_NN_FOLDER, Harness, Kernels, render_firmware
from tinyc.plan.pipeline import input_samples, plan_model
from tinyc.resources import kernels_dir

MODEL = REPO / "tests" / "data" / "golden_tiny.tflite"
ARM_CMSIS_NN = os.environ.get("TINYC_CMSIS_NN")  # Arm's CMSIS-NN checkout (v7.0.0 or newer), optional
needs_gcc = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc is needed")
# An object of "the application", defining what Arm's CMSIS-NN defines: the functions tinyc implements too.
ARM_OBJECT_C = """
#include <stdint.h>
int32_t arm_convolve_s8(void) { return 1; }
int32_t arm_convolve_wrapper_s8(void) { return 2; }
int32_t arm_softmax_s8(void) { return 3; }
"""


def _project(tmp_path: Path, *, cmsis_nn: Path | None = None) -> tuple[Path, dict[str, str]]:
    planned = plan_model(MODEL, "stm32f412")
    files = render_firmware(planned.schedule, planned.plan, planned.board, Harness.SEMIHOSTING,
                            model_name=MODEL.name, samples=input_samples(planned, 1), cmsis_nn_dir=cmsis_nn)
    folder = tmp_path / "model"
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder, files


def _library(folder: Path, *make_args: str) -> Path:
    proc = subprocess.run(["nice", "make", "-s", "-j2", "-C", str(folder), "libtinyc.a", *make_args],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return folder / "libtinyc.a"


def _defined(archive: Path) -> list[str]:
    text = subprocess.run(["arm-none-eabi-nm", "-g", "--defined-only", str(archive)], capture_output=True,
                          text=True, check=True).stdout
    return [line.split()[-1] for line in text.splitlines() if re.match(r"^[0-9a-f]+ [A-Z] ", line)]


def _link_beside_arm(tmp_path: Path, archive: Path) -> subprocess.CompletedProcess[str]:
    """A relocatable link of every member of `archive` with an object defining arm_* functions (as an application
    linking Arm's CMSIS-NN does): a symbol defined twice is an error."""
    source = tmp_path / "arm_app.c"
    source.write_text(ARM_OBJECT_C)
    obj = tmp_path / "arm_app.o"
    cflags = get_board("stm32f412").cflags
    subprocess.run(["arm-none-eabi-gcc", *cflags, "-c", str(source), "-o", str(obj)], check=True)
    return subprocess.run(["arm-none-eabi-gcc", *cflags, "-nostdlib", "-r", "-o",
                           str(tmp_path / "combined.o"), str(obj), "-Wl,--whole-archive", str(archive),
                           "-Wl,--no-whole-archive"], capture_output=True, text=True)


def test_every_function_of_the_bundled_api_has_a_tinyc_name() -> None:
    """Every arm_* function tinyc's arm_nnfunctions.h declares is renamed by tinyc_nn_names.h, and nothing else."""
    include = kernels_dir() / "cmsis_nn" / "Include"
    declared = set(re.findall(r"^\w[\w ]*?\b(arm_\w+)\(", (include / "arm_nnfunctions.h").read_text(), re.MULTILINE))
    mapped = dict(re.findall(r"^#define (arm_\w+)\s+(tinyc_nn_\w+)$", (include / "tinyc_nn_names.h").read_text(),
                             re.MULTILINE))
    assert declared and set(mapped) == declared
    assert all(new == "tinyc_nn_" + old.removeprefix("arm_") for old, new in mapped.items())


@needs_gcc
def test_library_defines_no_arm_symbol_and_links_beside_arm_cmsis_nn(tmp_path: Path) -> None:
    folder, files = _project(tmp_path)
    assert f"{CMSIS_NN_FOLDER}/Include/tinyc_nn_names.h" in files
    symbols = _defined(_library(folder))
    assert [s for s in symbols if s.startswith("arm_")] == []
    assert {"tinyc_nn_convolve_wrapper_s8", "tinyc_nn_softmax_s8", "tinyc_invoke"} <= set(symbols)
    linked = _link_beside_arm(tmp_path, folder / "libtinyc.a")
    assert linked.returncode == 0, linked.stderr[-3000:]


@needs_gcc
def test_without_the_names_the_link_beside_arm_fails(tmp_path: Path) -> None:
    """The check above can fail: with the renames switched off (their include guard predefined) the library
    defines arm_convolve_wrapper_s8 and the link names it."""
    folder, _ = _project(tmp_path)
    archive = _library(folder, "EXTRA_CFLAGS=-DTINYC_NN_NAMES_H")
    assert "arm_convolve_wrapper_s8" in _defined(archive)
    linked = _link_beside_arm(tmp_path, archive)
    assert linked.returncode != 0 and "multiple definition of `arm_convolve_wrapper_s8'" in linked.stderr


def test_cmsis_nn_kernels_leave_tinycs_copy_out(tmp_path: Path) -> None:
    checkout = tmp_path / "CMSIS-NN"
    (checkout / "Include").mkdir(parents=True)
    _, files = _project(tmp_path, cmsis_nn=checkout)
    assert not [name for name in files if name.startswith(f"{CMSIS_NN_FOLDER}/")]
    assert any(name.startswith("tinyc_kernels/") for name in files)
    assert "# Kernels: Arm's CMSIS-NN (tinyc compile --kernels cmsis-nn)" in files["Makefile"]
    assert "LIBRARY_KERNEL_SOURCES = $(TINYC_KERNEL_SOURCES)" in files["Makefile"]
    planned = plan_model(MODEL, "stm32f412")
    d = BuildDescription(model_name=MODEL.name, board=planned.board, schedule=planned.schedule, report=planned.report,
                         interface=model_interface(planned.schedule, planned.plan, api_names("kws")),
                         cmsis_nn_dir=str(checkout))
    assert d.kernels is Kernels.CMSIS_NN and describe_build(d)["library"]["kernels"] == "cmsis-nn"
    out = library_files(d)
    assert "## Kernels: cmsis-nn" in out["README.md"] and "KWS_CMSIS_NN_TARGET" in out["README.md"]
    cmake = out["CMakeLists.txt"]
    assert "set(KWS_CMSIS_NN_TARGET" in cmake and "target_compile_definitions(tinyc_kernels PUBLIC TINYC_ARM_CMSIS_NN)" in cmake
    tinyc = library_files(BuildDescription(model_name=MODEL.name, board=planned.board, schedule=planned.schedule,
                                           report=planned.report, interface=d.interface))
    assert "## Kernels: tinyc" in tinyc["README.md"] and "tinyc_nn_names.h" in tinyc["README.md"]
    assert "CMSIS_NN_TARGET" not in tinyc["CMakeLists.txt"]
    assert "target_link_libraries(kws PRIVATE tinyc_kernels)" in tinyc["CMakeLists.txt"]
    assert describe_build(replace_kernels(d))["library"]["kernels"] == "tinyc"


def replace_kernels(d: BuildDescription) -> BuildDescription:
    from dataclasses import replace
    return replace(d, cmsis_nn_dir=None)


@needs_gcc
def test_make_refuses_a_cmsis_nn_folder_that_is_not_a_checkout(tmp_path: Path) -> None:
    folder, _ = _project(tmp_path)
    proc = subprocess.run(["make", "-s", "-C", str(folder), "libtinyc.a", f"CMSIS_NN={tmp_path / 'nothing'}"],
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert f"CMSIS_NN={tmp_path / 'nothing'} is not a CMSIS-NN checkout (no Include/arm_nnfunctions.h)" in proc.stderr


@pytest.mark.parametrize(("args", "message"), [
    (("--kernels", "cmsis-nn"), "--kernels cmsis-nn needs Arm's CMSIS-NN checkout: give --cmsis-nn PATH"),
    (("--kernels", "tinyc", "--cmsis-nn", "{checkout}"), "--kernels tinyc and --cmsis-nn"),
    (("--kernels", "arm"), "Invalid value for '--kernels': 'arm' is not one of 'tinyc', 'cmsis-nn'"),
])
def test_kernel_choice_errors(monkeypatch, capsys, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    monkeypatch.delenv("TINYC_CMSIS_NN", raising=False)
    checkout = tmp_path / "CMSIS-NN"
    (checkout / "Include").mkdir(parents=True)
    code, _, err = run_cli(monkeypatch, capsys, "compile", str(MODEL), "--board", "stm32f412", "-o",
                           str(tmp_path / "out"), *(a.format(checkout=checkout) for a in args))
    assert code == 2 and message in err, err
    assert not (tmp_path / "out").exists()


@needs_gcc
@pytest.mark.skipif(not ARM_CMSIS_NN, reason="set TINYC_CMSIS_NN to Arm's CMSIS-NN checkout to build against it")
def test_cmsis_nn_library_calls_arms_functions(tmp_path: Path) -> None:
    folder, _ = _project(tmp_path, cmsis_nn=Path(str(ARM_CMSIS_NN)))
    archive = _library(folder)
    text = subprocess.run(["arm-none-eabi-nm", str(archive)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^\s+U arm_convolve_wrapper_s8$", text, re.MULTILINE), "the model calls Arm's function"
    assert not [s for s in _defined(archive) if s.startswith(("arm_", "tinyc_nn_"))]


@needs_gcc
@pytest.mark.skipif(not ARM_CMSIS_NN, reason="set TINYC_CMSIS_NN to Arm's CMSIS-NN checkout to build against it")
def test_compile_with_cmsis_nn_kernels(monkeypatch, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out"
    code, _, err = run_cli(monkeypatch, capsys, "compile", str(MODEL), "--board", "stm32f412", "-o", str(out),
                           "--kernels", "cmsis-nn", "--cmsis-nn", str(ARM_CMSIS_NN), "--name", "kws", "--quiet")
    assert code == 0, err
    assert not (out / CMSIS_NN_FOLDER).exists() and (out / "firmware.elf").is_file()
    assert json.loads((out / "tinyc.json").read_text())["library"]["kernels"] == "cmsis-nn"
    assert "## Kernels: cmsis-nn" in (out / "README.md").read_text()
