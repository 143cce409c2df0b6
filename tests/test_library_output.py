"""The model as a library: --name validation, the API's numbers, tinyc.json, README.md and CMakeLists.txt (no
emulator; the last test builds with the cross compiler)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, needs_toolchain, run_cli
from tinyc.codegen.api import DEFAULT_C_NAME, ModelNameError, api_names, model_interface, validate_c_name
from tinyc.codegen.library import BuildDescription, describe_build, library_files
from tinyc.codegen.render import Harness, render_firmware
from tinyc.plan.pipeline import Planned, input_samples, plan_model
from tinyc.plan.search import Objective, ScheduleOptions

MODEL = REPO / "tests" / "data" / "golden_tiny.tflite"


@pytest.mark.parametrize("name, message", [
    ("3dogs", "is not a C identifier"),
    ("kws-net", "is not a C identifier"),
    ("_kws", "is not a C identifier"),
    ("", "is not a C identifier"),
    ("while", "is a C keyword"),
    ("arm_kws", "would clash with the kernels' CMSIS-NN names"),
    ("kws_", "ends in '_'"),
    ("k" * 25, "has 25 characters; at most 24"),
    ("Tinyc", "differs from the default name 'tinyc' only in case"),
    ("TINYC", "both would define TINYC_* macros"),
    ("tinyc_nn", "would clash with tinyc's kernels (tinyc_* symbols, TINYC_* macros)"),
    ("TinyC_kws", "would clash with tinyc's kernels"),
])
def test_bad_c_names_are_refused_with_the_reason(name: str, message: str) -> None:
    with pytest.raises(ModelNameError, match=re.escape(message)):
        validate_c_name(name)


@pytest.mark.parametrize("name", ["kws", "person_detect", "Vww2", DEFAULT_C_NAME])
def test_good_c_names(name: str) -> None:
    assert validate_c_name(name) == name


def test_default_name_keeps_todays_symbols() -> None:
    names = api_names()
    assert (names.invoke, names.input, names.output, names.macro, names.guard) == \
        ("tinyc_invoke", "tinyc_input", "tinyc_output", "TINYC", "TINYC_MODEL_H")
    assert names.is_default


def test_compile_refuses_a_bad_name_before_the_model_runs(monkeypatch, capsys, tmp_path) -> None:
    model = tmp_path / "m.py"
    model.write_text("def build():\n    raise AssertionError('not reached')\n")
    code, _, err = run_cli(monkeypatch, capsys, "compile", str(model), "--board", "stm32f412", "-o",
                           str(tmp_path / "out"), "--name", "my-model")
    assert code == 2
    assert "Invalid value for '--name': 'my-model' is not a C identifier: use a letter, then letters, digits or '_'" in err
    assert not (tmp_path / "out").exists()


def _planned(objective: Objective) -> Planned:
    return plan_model(MODEL, "stm32f412", options=ScheduleOptions(objective=objective))


@pytest.mark.parametrize("objective, input_offset, output_offset, overlaps, preserved", [
    (Objective.MIN_SRAM, 112, 12, False, False),  # the patch schedule of the golden files
    (Objective.FASTEST, 164, 12, False, False),
])
def test_interface_numbers(objective: Objective, input_offset: int, output_offset: int, overlaps: bool,
                           preserved: bool) -> None:
    planned = _planned(objective)
    interface = model_interface(planned.schedule, planned.plan, api_names("kws"))
    assert (interface.input.shape, interface.input.size_bytes, interface.input.zero_point) == ((1, 6, 5, 3), 90, -1)
    assert (interface.output.shape, interface.output.size_bytes, interface.output.zero_point) == ((1, 10), 10, -128)
    assert interface.output.scale == 0.00390625
    assert (interface.input.offset_bytes, interface.output.offset_bytes) == (input_offset, output_offset)
    assert (interface.output_overlaps_input, interface.input_preserved) == (overlaps, preserved)
    assert interface.arena_bytes == planned.plan.arena_bytes


def _description(planned: Planned, name: str = "kws") -> BuildDescription:
    return BuildDescription(model_name=MODEL.name, board=planned.board,
                            interface=model_interface(planned.schedule, planned.plan, api_names(name)),
                            schedule=planned.schedule, report=planned.report)


def test_description_json_holds_report_schedule_quantization_version_board() -> None:
    planned = _planned(Objective.MIN_SRAM)
    files = library_files(_description(planned))
    assert sorted(files) == ["CMakeLists.txt", "README.md", "kws.h", "tinyc.json", "zephyr/CMakeLists.txt",
                            "zephyr/module.yml"]
    data = json.loads(files["tinyc.json"])
    assert data == json.loads(json.dumps(describe_build(_description(planned))))
    import tinyc
    assert data["tinyc_version"] == tinyc.__version__
    assert data["board"]["name"] == "stm32f412" and data["board"]["cpu"] == "cortex-m4"
    assert data["memory"] == json.loads(json.dumps(planned.report.as_json()))
    assert data["schedule"]["kind"] == "patch" and data["schedule"]["steps"] == len(planned.schedule.steps)
    assert data["input"] == {"dtype": "int8", "shape": [1, 6, 5, 3], "scale": 0.007833522744476795,
                             "zero_point": -1, "size_bytes": 90, "arena_offset_bytes": 112,
                             "float_interface": False}
    assert data["output"]["size_bytes"] == 10 and data["output"]["zero_point"] == -128
    assert data["arena"] == {"size_bytes": planned.plan.arena_bytes, "alignment_bytes": 16, "input_streamed": False,
                             "output_overlaps_input": False, "input_preserved": False}
    assert data["library"]["target"] == "kws" and data["library"]["header"] == "kws.h"


def test_library_files_are_deterministic_and_path_free() -> None:
    planned = _planned(Objective.FASTEST)
    first, second = library_files(_description(planned)), library_files(_description(planned))
    assert first == second
    for name, text in first.items():
        assert str(REPO) not in text and str(Path.home()) not in text, name
    readme = first["README.md"]
    for needle in ("add_subdirectory", "target_link_libraries(your_firmware PRIVATE kws)", "kws_invoke()",
                   "kws_copy_output(result)", "KWS_ARENA_SECTION", "kws_init()", f"| arena | {planned.plan.arena_bytes}"):
        assert needle in readme, needle
    assert "add_library(kws STATIC model.c model_weights.c)" in first["CMakeLists.txt"]
    assert "option(KWS_SET_CPU_FLAGS" in first["CMakeLists.txt"]


def test_named_model_code_has_only_named_globals() -> None:
    """--name kws: every external name the model code defines starts with kws_ / KWS_ (weights through the
    header's renames), and the harness calls the named API."""
    planned = _planned(Objective.MIN_SRAM)
    files = render_firmware(planned.schedule, planned.plan, planned.board, Harness.SEMIHOSTING,
                            model_name=MODEL.name, samples=input_samples(planned, 1), c_name="kws")
    header, source = files["model.h"], files["model.c"]
    assert "#ifndef KWS_MODEL_H" in header and "int32_t kws_invoke(void);" in header
    assert "#define KWS_INPUT_SHAPE {1, 6, 5, 3}" in header and "#define KWS_OUTPUT_ZERO_POINT (-128)" in header
    assert "tinyc_invoke" not in header + source and "TINYC_INPUT" not in header + source
    assert "#define tinyc_op1_weights kws_op1_weights" in files["model_weights.h"]
    assert "kws_invoke()" in files["harness.c"] and "KWS_OUTPUT_BYTES" in files["harness.c"]
    globals_defined = re.findall(r"^(?:int32_t|int8_t|const int8_t|void) \*?(\w+)\([^;{]*\)\s*\{", source, re.MULTILINE)
    assert sorted(globals_defined) == ["kws_copy_output", "kws_init", "kws_input", "kws_invoke", "kws_output"]


@needs_toolchain
def test_compile_json_equals_the_folders_tinyc_json_and_symbols_are_prefixed(monkeypatch, capsys, tmp_path) -> None:
    out = tmp_path / "kws"
    code, stdout, err = run_cli(monkeypatch, capsys, "compile", str(MODEL), "--board", "stm32f412", "-o", str(out),
                                "--name", "kws", "--json")
    assert code == 0, err
    printed = json.loads(stdout)
    assert printed == json.loads((out / "tinyc.json").read_text())
    assert printed["memory"]["measured"] is True and printed["name"] == "kws"
    for name in ("README.md", "CMakeLists.txt", "kws.h", "model.h", "firmware.elf"):
        assert (out / name).is_file(), name
    manifest = json.loads((out / ".tinyc-manifest").read_text())["files"]
    assert {"README.md", "CMakeLists.txt", "kws.h", "tinyc.json", "zephyr/module.yml", "zephyr/CMakeLists.txt"} <= set(manifest)
    nm = shutil.which("arm-none-eabi-nm")
    if nm is not None:
        text = subprocess.run([nm, "-g", "--defined-only", str(out / "obj/app/model.o"),
                               str(out / "obj/app/model_weights.o")], capture_output=True, text=True, check=True).stdout
        symbols = [line.split()[-1] for line in text.splitlines() if re.match(r"^[0-9a-f]+ [A-Z] ", line)]
        assert symbols and all(s.startswith("kws_") for s in symbols), symbols


@pytest.mark.skipif(shutil.which("cc") is None, reason="a host C compiler (cc) is needed")
def test_quantize_helpers_equal_tinycs_quantization(tmp_path: Path) -> None:
    """model.h's inline NAME_quantize_input / NAME_dequantize_output, compiled on the host, against
    tinyc.plan.pipeline.quantize_input and float32 dequantization, bit for bit: exact ties (to even), saturation,
    NaN, infinities."""
    import numpy as np

    from tinyc.plan.pipeline import quantize_input
    planned = _planned(Objective.FASTEST)
    files = render_firmware(planned.schedule, planned.plan, planned.board, Harness.SEMIHOSTING,
                            model_name=MODEL.name, samples=input_samples(planned, 1), c_name="q")
    (tmp_path / "model.h").write_text(files["model.h"])
    x = planned.graph.tensor(planned.lowered.input)
    scale = np.float32(x.scale)
    rng = np.random.default_rng(5)
    levels = np.arange(-200, 200, dtype=np.float32) + np.float32(0.5)
    ties = (levels * scale).astype(np.float32)
    ties = ties[(ties / scale) == levels]  # exactly k + 0.5 after the float32 division
    assert ties.size > 100
    values = np.concatenate([ties, (rng.uniform(-300, 300, 2000) * scale).astype(np.float32),
                             np.array([0.0, -0.0, 1e30, -1e30, np.inf, -np.inf], dtype=np.float32)])
    literals = ", ".join("INFINITY" if v == np.inf else "-INFINITY" if v == -np.inf else f"{float(v)!r}f"
                         for v in values)
    (tmp_path / "main.c").write_text(
        "#include <math.h>\n#include <stdio.h>\n#include <string.h>\n#include \"model.h\"\n"
        f"static const float values[{values.size}] = {{{literals}}};\n"
        "int main(void)\n{\n"
        "    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); ++i) {\n"
        "        printf(\"%d\\n\", (int)q_quantize_input(values[i]));\n    }\n"
        "    printf(\"%d\\n\", (int)q_quantize_input(NAN));\n"
        "    for (int v = -128; v < 128; ++v) {\n"
        "        const float real = q_dequantize_output((int8_t)v);\n"
        "        unsigned int bits;\n        memcpy(&bits, &real, sizeof bits);\n        printf(\"%08x\\n\", bits);\n"
        "    }\n    return 0;\n}\n")
    subprocess.run(["cc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-Wconversion", "-pedantic",
                    str(tmp_path / "main.c"), "-o", str(tmp_path / "main")], check=True, capture_output=True,
                   text=True)
    lines = subprocess.run([str(tmp_path / "main")], check=True, capture_output=True, text=True).stdout.split()
    got = np.array([int(v) for v in lines[:values.size]], dtype=np.int8)
    expected = quantize_input(planned, values.reshape(1, -1)).reshape(-1)
    assert np.array_equal(got, expected), np.flatnonzero(got != expected)[:5]
    assert int(lines[values.size]) == -128  # NaN: the lowest value, not undefined behaviour
    y = planned.graph.tensor(planned.lowered.output)
    levels_out = np.arange(-128, 128, dtype=np.int32)
    reals = np.float32(y.scale) * (levels_out - y.zero_point).astype(np.float32)
    assert [f"{b:08x}" for b in reals.view(np.uint32)] == lines[values.size + 1:]


def test_streamed_input_callback_is_named() -> None:
    planned = plan_model(MODEL, "stm32f412", options=ScheduleOptions(objective=Objective.MIN_SRAM, stream_input=True))
    files = render_firmware(planned.schedule, planned.plan, planned.board, Harness.SEMIHOSTING,
                            model_name=MODEL.name, samples=input_samples(planned, 1), c_name="cam")
    assert "void cam_read_input_block(int32_t y, int32_t x, int32_t rows, int32_t cols, int8_t *dst);" in files["model.h"]
    assert "#define tinyc_read_input_block cam_read_input_block" in files["model.c"]
    assert "void cam_read_input_block(" in files["harness.c"] and "#ifdef CAM_STREAM_INPUT" in files["harness.c"]
    assert model_interface(planned.schedule, planned.plan, api_names("cam")).input_streamed


@pytest.mark.skipif(shutil.which("cc") is None, reason="a host C compiler (cc) is needed")
def test_names_differing_only_in_case_stop_the_compiler_and_cmake(tmp_path: Path) -> None:
    """--name kws and --name KWS: different symbols (kws_invoke, KWS_invoke) but the same KWS_* macros. model.h
    stops with #error where both are included; including one model's header twice is fine; CMake refuses the
    second add_subdirectory."""
    planned = _planned(Objective.MIN_SRAM)
    for name in ("kws", "KWS"):
        files = render_firmware(planned.schedule, planned.plan, planned.board, Harness.SEMIHOSTING,
                                model_name=MODEL.name, samples=input_samples(planned, 1), c_name=name)
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.h").write_text(files["model.h"])
        cmake = library_files(_description(planned, name))["CMakeLists.txt"]
        assert f'set_property(GLOBAL PROPERTY TINYC_MODEL_MACRO_KWS "{name}")' in cmake
        assert "share the macro prefix KWS_" in cmake
    def compile_includes(*headers: str) -> subprocess.CompletedProcess[str]:
        source = tmp_path / "app.c"
        source.write_text("".join(f'#include "{h}/model.h"\n' for h in headers) + "int main(void) { return 0; }\n")
        return subprocess.run(["cc", "-fsyntax-only", f"-I{tmp_path}", str(source)], capture_output=True, text=True)
    assert compile_includes("kws", "kws").returncode == 0
    clash = compile_includes("kws", "KWS")
    assert clash.returncode != 0
    assert "two tinyc models share the macro prefix KWS_ (--name KWS and a name differing only in case)" in clash.stderr


def test_zephyr_module_files() -> None:
    planned = _planned(Objective.MIN_SRAM)
    files = library_files(_description(planned))
    assert files["zephyr/module.yml"].endswith("name: tinyc_model_kws\nbuild:\n  cmake: zephyr\n")
    cmake = files["zephyr/CMakeLists.txt"]
    assert 'zephyr_library_sources("${TINYC_MODEL_DIR}/model.c" "${TINYC_MODEL_DIR}/model_weights.c")' in cmake
    assert "if(NOT TARGET tinyc_kernels)" in cmake and 'zephyr_include_directories("${TINYC_MODEL_DIR}")' in cmake
    assert "ZEPHYR_EXTRA_MODULES" in files["README.md"] and "module `tinyc_model_kws`" in files["README.md"]


def _write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


@pytest.mark.skipif(shutil.which("cmake") is None or shutil.which("arm-none-eabi-gcc") is None,
                    reason="cmake and arm-none-eabi-gcc are needed")
def test_zephyr_modules_of_two_models_build_where_zephyr_would(tmp_path: Path) -> None:
    """Two models' zephyr/ folders, added the way Zephyr adds modules (tests/data/zephyr_stub stands in for
    Zephyr's CMake functions): one shared tinyc_kernels library, each model's library, the application compiles
    against both NAME.h, and no library defines an arm_* symbol."""
    planned = _planned(Objective.MIN_SRAM)
    folders = []
    for name in ("kws", "vww"):
        folder = tmp_path / name
        _write(folder, render_firmware(planned.schedule, planned.plan, planned.board, Harness.SEMIHOSTING,
                                       model_name=MODEL.name, samples=input_samples(planned, 1), c_name=name))
        _write(folder, library_files(_description(planned, name)))
        folders.append(folder)
    app = tmp_path / "app.c"
    app.write_text('#include "kws.h"\n#include "vww.h"\n'
                   "int app_run(void) { return kws_invoke() + vww_invoke() + KWS_INPUT_BYTES + VWW_OUTPUT_BYTES; }\n")
    build = tmp_path / "build"
    stub = REPO / "tests" / "data" / "zephyr_stub"
    proc = subprocess.run(["cmake", "-S", str(stub), "-B", str(build),
                           f"-DCMAKE_TOOLCHAIN_FILE={REPO / 'tests' / 'data' / 'app' / 'toolchain.cmake'}",
                           f"-DZEPHYR_EXTRA_MODULES={';'.join(map(str, folders))}", f"-DZEPHYR_STUB_APP={app}",
                           f"-DZEPHYR_STUB_CPU_FLAGS={' '.join(planned.board.cflags)}"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    proc = subprocess.run(["nice", "cmake", "--build", str(build), "--parallel", "2"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    archives = {p.name: p for p in build.rglob("*.a")}
    assert {"libtinyc_kernels.a", "libkws.a", "libvww.a", "libapp.a"} <= set(archives)
    text = subprocess.run(["arm-none-eabi-nm", "-g", "--defined-only", *map(str, archives.values())],
                          capture_output=True, text=True, check=True).stdout
    defined = [line.split()[-1] for line in text.splitlines() if re.match(r"^[0-9a-f]+ [A-Z] ", line)]
    assert "kws_invoke" in defined and "vww_invoke" in defined and "tinyc_nn_softmax_s8" in defined
    assert [s for s in defined if s.startswith("arm_")] == []


# What a firmware developer must learn from both the README's "Use it in your firmware" section and the output
# folder's README.md ({name}: the model's --name, {NAME}: its macro prefix; the README writes NAME for both).
README_FACTS = ("add_subdirectory", "target_link_libraries(your_firmware PRIVATE {name})", "{NAME}_SET_CPU_FLAGS",
                "lib{name}.a", "{NAME}_ARENA_SECTION", "{NAME}_NO_STATIC_ARENA", "{name}_init(", "{name}_copy_output(",
                "{NAME}_OUTPUT_BYTES", "tinyc_kernels", "ZEPHYR_EXTRA_MODULES", "tinyc_nn_names.h", "--kernels cmsis-nn",
                "`kws`, `KWS`", "#error", "tinyc.json", "`{NAME}_OUTPUT_OVERLAPS_INPUT`")


def test_readme_section_and_output_readme_say_the_same() -> None:
    text = (REPO / "README.md").read_text()
    section = text[text.index("## Use it in your firmware"):]
    section = section[:section.index("\n## ", 1)]
    planned = _planned(Objective.MIN_SRAM)
    output = library_files(_description(planned))["README.md"]
    for fact in README_FACTS:
        assert fact.format(name="NAME", NAME="NAME") in section, f"README.md's section lacks {fact!r}"
        assert fact.format(name="kws", NAME="KWS") in output, f"the output README.md lacks {fact!r}"
