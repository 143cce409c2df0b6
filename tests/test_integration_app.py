"""A firmware developer's application links tinyc's output as a library: its own main, startup and linker script
(tests/data/app/, not tinyc's harness) link the models' static libraries, built from the generated CMakeLists.txt
(with the Makefile's libNAME.a where cmake is missing, or with TINYC_TEST_APP_BUILD=make); it quantizes a float sample through the C API, invokes,
copies the output out and prints it over semihosting. Two models compiled with different --names (one of them the
default) link into one image, on both boards, and every output byte equals TFLite Micro's."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import BOARDS, REPO, needs_toolchain, run_cli
from tinyc.boards import get_board
from tinyc.codegen.api import DEFAULT_C_NAME
from tinyc.run.oracle import tflm_outputs
from tinyc.run.qemu import qemu_output

pytestmark = [needs_toolchain, pytest.mark.emulator]

APP = REPO / "tests" / "data" / "app"
# name -> model; the default name (tinyc_*) and a named one, in one image. The first is built without its static
# arena (NAME_NO_STATIC_ARENA) and runs in the app's own through NAME_init().
MODELS = {DEFAULT_C_NAME: REPO / "tests" / "data" / "golden_tiny.tflite",
          "dscnn": REPO / "tests" / "data" / "fuzz" / "fuzz_dscnn.tflite"}
OWN_ARENA = {DEFAULT_C_NAME: True, "dscnn": False}


def _float_sample(description: dict, seed: int) -> np.ndarray:
    """Floats over the input's whole int8 range and beyond (saturation), as float32."""
    spec = description["input"]
    rng = np.random.default_rng(seed)
    levels = rng.uniform(-140.0, 140.0, size=spec["size_bytes"])
    return ((levels - spec["zero_point"]) * np.float32(spec["scale"])).astype(np.float32)


def _quantized(description: dict, real: np.ndarray) -> np.ndarray:
    """tinyc's quantization of a float input (tinyc.plan.pipeline.quantize_input), from tinyc.json's numbers."""
    spec = description["input"]
    q = np.round(real / np.float32(spec["scale"])) + spec["zero_point"]
    return np.clip(q, -128, 127).astype(np.int8).reshape(spec["shape"])


def _app_models_header(samples: dict[str, np.ndarray]) -> str:
    lines = ["/* Written by tests/test_integration_app.py. */"]
    lines += [f'#include "{name}.h"' for name in samples]
    for name, sample in samples.items():
        values = ", ".join(f"{float(v)!r}f" for v in sample)
        lines.append(f"static const float {name}_sample[{name.upper()}_INPUT_BYTES] = {{{values}}};")
    models = " ".join(f"X({name}, {name.upper()}, {int(OWN_ARENA[name])})" for name in samples)
    lines.append(f"#define APP_MODELS(X) {models}")
    return "\n".join(lines) + "\n"


def _build_with_cmake(folders: list[Path], generated: Path, build: Path) -> Path:
    subprocess.run(["cmake", "-S", str(APP), "-B", str(build), f"-DCMAKE_TOOLCHAIN_FILE={APP / 'toolchain.cmake'}",
                    f"-DAPP_MODEL_DIRS={';'.join(map(str, folders))}", f"-DAPP_GENERATED_DIR={generated}",
                    f"-DAPP_OWN_ARENA_MODELS={';'.join(f.name for f in folders if OWN_ARENA[f.name])}"],
                   check=True, capture_output=True, text=True)
    proc = subprocess.run(["cmake", "--build", str(build), "--parallel", "2"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return build / "app.elf"


def _build_with_make(folders: list[Path], generated: Path, build: Path, cflags: list[str]) -> Path:
    libraries = []
    for folder in folders:
        no_static = f"EXTRA_CFLAGS=-D{folder.name.upper()}_NO_STATIC_ARENA" if OWN_ARENA[folder.name] else "EXTRA_CFLAGS="
        subprocess.run(["make", "-s", "-C", str(folder), "clean"], check=True, capture_output=True)
        proc = subprocess.run(["make", "-s", "-j2", "-C", str(folder), f"lib{folder.name}.a", no_static],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        libraries.append(folder / f"lib{folder.name}.a")
    build.mkdir()
    elf = build / "app.elf"
    includes = [f"-I{d}" for d in (generated, *folders)]
    proc = subprocess.run(["arm-none-eabi-gcc", *cflags, "-O2", "-Wall", "-Wextra", "-Werror", *includes,
                           str(APP / "main.c"), str(APP / "startup.c"), "-T", str(APP / "linker.ld"), "-nostartfiles",
                           "--specs=nano.specs", "--specs=nosys.specs", "-Wl,--gc-sections",
                           *map(str, libraries), "-lm", "-o", str(elf)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return elf


def _outputs(text: str) -> dict[str, np.ndarray]:
    assert "APP-DONE" in text and "APP-FAIL" not in text, text[-2000:]
    return {name: np.frombuffer(bytes.fromhex(data), dtype=np.int8)
            for tag, name, data in (line.split(" ") for line in text.splitlines() if line.startswith("OUT "))}


@pytest.mark.parametrize("board", BOARDS)
def test_application_links_two_named_models_and_matches_tflite_micro(board: str, tmp_path: Path, monkeypatch,
                                                                     capsys) -> None:
    folders, samples, references = [], {}, {}
    for seed, (name, model) in enumerate(MODELS.items()):
        folder = tmp_path / name
        args = ["compile", str(model), "--board", board, "-o", str(folder), "--placement", "greedy"]
        code, _, err = run_cli(monkeypatch, capsys, *args, *(() if name == DEFAULT_C_NAME else ("--name", name)))
        assert code == 0, err
        description = json.loads((folder / "tinyc.json").read_text())
        assert description["name"] == name and description["board"]["name"] == board
        samples[name] = _float_sample(description, seed)
        references[name] = tflm_outputs(model.read_bytes(), [_quantized(description, samples[name])])[0].reshape(-1)
        folders.append(folder)
    generated = tmp_path / "generated"
    generated.mkdir()
    (generated / "app_models.h").write_text(_app_models_header(samples))
    if shutil.which("cmake") is not None and os.environ.get("TINYC_TEST_APP_BUILD") != "make":
        elf = _build_with_cmake(folders, generated, tmp_path / "app-build")
    else:
        elf = _build_with_make(folders, generated, tmp_path / "app-build", list(get_board(board).cflags))
    text, status = qemu_output(get_board(board), elf, timeout_s=120)
    assert status == 0, text[-2000:]
    got = _outputs(text)
    assert sorted(got) == sorted(MODELS)
    for name in MODELS:
        mismatch = np.flatnonzero(got[name] != references[name])
        assert mismatch.size == 0, (f"{name} on {board}: output byte {mismatch[0]} is {got[name][mismatch[0]]}, "
                                    f"TFLite Micro's {references[name][mismatch[0]]}")
