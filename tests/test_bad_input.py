"""Bad input whose errors were themselves bugs: Rich markup in messages, `-o .`, an exception in
representative_dataset(), --seed -5, --name model / stdint, --json errors on stdout, a SIGKILLed compile's staging
folder, a .toml given to --board, report --check, --version."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, run_cli

TINY = REPO / "tests" / "data" / "golden_tiny.tflite"
NEVER_RUN = "def build():\n    raise AssertionError('not reached')\n"
F412 = (REPO / "boards" / "stm32f412.toml").read_text().split("# The part itself")[0]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# --- 3. messages are text, not Rich markup ------------------------------------------------------------------------

@pytest.mark.parametrize("folder", ["old[1]", "a[/x]", "[bold]b", "c[/]"])
def test_paths_with_brackets_are_printed_as_they_are(monkeypatch, capsys, tmp_path, folder) -> None:
    model = write(tmp_path / folder / "m.py", "x = 1\n")
    code, _, err = run_cli(monkeypatch, capsys, "report", str(model), "--board", "stm32f412")
    assert code == 2
    assert f"error: {model}: defines no build() function" in err


def test_a_board_error_keeps_its_table_name(monkeypatch, capsys, tmp_path) -> None:
    board = write(tmp_path / "my_board.toml", F412.replace('name = "stm32f412"', 'name = "my_board"')
                  .replace("size_bytes = 262_144", "size_bytes = 1000"))
    code, _, err = run_cli(monkeypatch, capsys, "report", str(write(tmp_path / "m.py", NEVER_RUN)), "--board-file",
                           str(board))
    assert code == 2
    assert err == "error: my_board.toml: [sram] size_bytes must be a positive multiple of 1024, got 1000"


def test_notes_are_printed_as_they_are(capsys) -> None:
    from tinyc.cli import _note
    _note("[sram] and [part] of old[1]/m.py [/x]")
    assert " ".join(capsys.readouterr().err.split()) == "note: [sram] and [part] of old[1]/m.py [/x]"


# --- 4. -o ., representative_dataset(), --seed, --name, --json, stale staging folders --------------------------

@pytest.mark.parametrize("output, what", [
    (".", "the current folder"), ("", "the current folder"), ("./", "the current folder"),
    ("..", "a folder holding the current folder"), ("../work", "the current folder"),
])
def test_output_into_the_current_folder_is_refused_up_front(monkeypatch, capsys, tmp_path, output, what) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    code, _, err = run_cli(monkeypatch, capsys, "compile", str(TINY), "--board", "stm32f412", "-o", output)
    assert code == 2
    assert err.startswith(f"error: output folder {Path(output)} is {what}")
    assert err.endswith("tinyc replaces its output folder whole, so give a folder of its own, such as -o build")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"] and not list(work.iterdir())


def test_an_exception_in_representative_dataset_names_the_file(monkeypatch, capsys, tmp_path) -> None:
    model = write(tmp_path / "rd.py", NEVER_RUN + "def representative_dataset():\n    yield 1\n"
                  "    raise ValueError('no data here')\n")
    code, _, err = run_cli(monkeypatch, capsys, "report", str(model), "--board", "stm32f412")
    assert code == 2
    assert err == f"error: {model}: representative_dataset() raised ValueError: no data here"
    model = write(tmp_path / "rd2.py", NEVER_RUN + "def representative_dataset():\n    raise KeyError('k')\n")
    code, _, err = run_cli(monkeypatch, capsys, "report", str(model), "--board", "stm32f412")
    assert (code, err) == (2, f"error: {model}: representative_dataset() raised KeyError: 'k'")


@pytest.mark.parametrize("command", ["verify", "bench"])
def test_a_negative_seed_is_a_usage_error(monkeypatch, capsys, tmp_path, command) -> None:
    code, _, err = run_cli(monkeypatch, capsys, command, str(write(tmp_path / "m.py", NEVER_RUN)), "--board",
                           "stm32f412", "--seed", "-5")
    assert code == 2 and "Invalid value for '--seed': -5 is not in the range x>=0." in err


@pytest.mark.parametrize("name, message", [
    ("model", "'model' would clash with the project's own model.c / model.h (the API header is NAME.h); choose "
              "another name"),
    ("model_weights", "'model_weights' would clash with the project's own model_weights.c / model_weights.h"),
    ("usart", "'usart' would clash with the project's own usart.c / usart.h"),
    ("stdint", "'stdint' would write stdint.h, which shadows the standard header <stdint.h>; choose another name"),
    ("String", "'String' would write String.h, which shadows the standard header <string.h>"),
    *((n, f"{n!r} would write {n}.h, which shadows the standard header <{n}.h>")
      for n in ("stddef", "stdlib", "string", "math", "stdio", "stdbool", "limits", "errno", "assert")),
    ("float", "'float' is a C keyword; choose another name"),
    ("arm_math", "'arm_math' would clash with the kernels' CMSIS-NN names (arm_*)"),
])
def test_a_name_that_clashes_with_a_file_or_header_is_refused_before_the_build(monkeypatch, capsys, tmp_path, name,
                                                                              message) -> None:
    monkeypatch.chdir(tmp_path)
    model = write(tmp_path / "m.py", NEVER_RUN)
    code, _, err = run_cli(monkeypatch, capsys, "compile", str(model), "--board", "stm32f412", "--name", name)
    assert code == 2 and f"Invalid value for '--name': {message}" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.py"]


def test_every_generated_file_name_is_refused_as_a_name() -> None:
    from tinyc.codegen.api import ModelNameError, validate_c_name
    from tinyc.codegen.render import HARNESSES, COMMON_TEMPLATES
    files = [*(f for spec in HARNESSES.values() for f in spec.templates), *COMMON_TEMPLATES]
    stems = {Path(f).stem for f in files if Path(f).suffix in (".c", ".h")}
    assert {"model", "model_weights", "harness", "startup", "usart"} <= stems
    for stem in sorted(stems):
        with pytest.raises(ModelNameError):
            validate_c_name(stem)


@pytest.mark.parametrize("args, error_type, message", [
    (("report", "MISSING.py", "--board", "stm32f412"), "ModelLoadError", "MISSING.py: no such file"),
    (("report", "MODEL", "--board", "stm32f4"), "BoardError", "unknown board 'stm32f4'; known boards: alif_e7_hp, "
                                                               "nrf52840, "
                                                               "nrf5340, stm32f412, stm32h743, stm32l4r5, stm32u575"),
    (("verify", "MODEL", "--board", "stm32f412", "--seed", "-5"), "BadParameter",
     "Invalid value for '--seed': -5 is not in the range x>=0."),
    (("compile", "MODEL", "--board", "stm32f412", "-o", "."), "OutputDirError",
     "output folder . is the current folder; tinyc replaces its output folder whole, so give a folder of its own, "
     "such as -o build"),
])
def test_json_errors_are_a_json_object_on_stdout(monkeypatch, capsys, tmp_path, args, error_type, message) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "MODEL", "")
    model = write(tmp_path / "m.py", NEVER_RUN)
    args = tuple(str(model) if a == "MODEL" else a for a in args)
    code, out, err = run_cli(monkeypatch, capsys, *args, "--json")
    assert code == 2 and message in err
    assert json.loads(out) == {"error": message, "error_type": error_type}


STAGE_AND_DIE = """
import os, signal, sys
from pathlib import Path
from tinyc.run.output_folder import staged_output, write_files
with staged_output(Path(sys.argv[1])) as stage:
    write_files({"model.c": "int x;\\n"}, stage)
    (stage / "obj").mkdir()
    (stage / "obj" / "half.o").write_bytes(b"half")
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_compiles_staging_folder_is_cleaned_by_the_next(tmp_path) -> None:
    from tinyc.run.output_folder import staged_output
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-c", STAGE_AND_DIE, str(tmp_path / "out")], env=env)
    assert proc.wait(timeout=60) == -9
    stale = [p.name for p in tmp_path.iterdir()]
    assert len(stale) == 1 and stale[0].startswith(f".tinyc-staging-out-{proc.pid}-")
    # not tinyc's (no manifest), of a live process, or of another output folder: left alone
    keep = [tmp_path / ".tinyc-staging-out-1-user", tmp_path / f".tinyc-staging-out-{os.getpid()}-live",
            tmp_path / f".tinyc-staging-other-{proc.pid}-x", tmp_path / f".tinyc-staging-out-{proc.pid}-nomanifest"]
    for k in keep:
        k.mkdir()
        (k / "file.txt").write_text("a user's")
    with staged_output(tmp_path / "out") as stage:
        (stage / "model.c").write_text("int y;\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out", *(k.name for k in keep)])
    assert (tmp_path / "out" / "model.c").read_text() == "int y;\n"


# --- 5. wrong-cause messages; report --check; --version; help ----------------------------------------------------

def test_a_toml_path_given_to_board_points_to_board_file(monkeypatch, capsys, tmp_path) -> None:
    code, _, err = run_cli(monkeypatch, capsys, "report", str(write(tmp_path / "m.py", NEVER_RUN)), "--board",
                           "my_board.toml")
    assert code == 2
    assert err == ("error: unknown board 'my_board.toml': --board takes a bundled board's name (alif_e7_hp, nrf52840, "
                   "nrf5340, stm32f412, stm32h743, stm32l4r5, stm32u575); give a board file of your own with --board-file my_board.toml")


def test_report_check_exits_1_when_the_model_does_not_fit(monkeypatch, capsys, tmp_path) -> None:
    small = write(tmp_path / "small.toml", F412.replace('name = "stm32f412"', 'name = "small"')
                  .replace("size_bytes = 1_048_576", "size_bytes = 16_384"))
    args = ("report", str(TINY), "--board-file", str(small), "--no-tflm-arena")
    code, out, _ = run_cli(monkeypatch, capsys, *args)
    assert code == 0 and "does NOT fit small: over flash" in " ".join(out.split())  # without --check: a report
    code, out, _ = run_cli(monkeypatch, capsys, *args, "--check")
    assert code == 1 and "does NOT fit small: over flash" in " ".join(out.split())
    code, out, _ = run_cli(monkeypatch, capsys, *args, "--check", "--json")
    assert code == 1 and json.loads(out)["fits"] is False
    code, _, _ = run_cli(monkeypatch, capsys, "report", str(TINY), "--board", "stm32f412", "--no-tflm-arena", "--check")
    assert code == 0
    code, out, _ = run_cli(monkeypatch, capsys, "report", "--help")
    assert "--check" in out and "Exit with status 1 when the model does not fit" in " ".join(out.split())
    assert "tinyc report  model.py --board stm32f412 --check" in (REPO / "README.md").read_text()


def test_version_and_top_level_help(monkeypatch, capsys) -> None:
    from importlib import metadata
    code, out, _ = run_cli(monkeypatch, capsys, "--version")
    assert code == 0 and out.strip() == f"tinyc {metadata.version('tinyc')}"
    code, out, _ = run_cli(monkeypatch, capsys, "--help")
    text = " ".join(out.split())
    assert code == 0 and "firmware for STM32." not in text
    assert "for Arm Cortex-M microcontrollers" in text and "nRF52840" in text


# tests/data/int16x8_conv.tflite and uint8_interface_conv.tflite: a 4x4x2 -> 1x1 Conv2D(3) (keras seed 0) converted
# with EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8 (float interface), and with TFLITE_BUILTINS_INT8
# and inference_input_type=inference_output_type=tf.uint8 (TensorFlow 2.x, 1.8 KB each).
@pytest.mark.parametrize("name, message", [
    ("int16x8_conv.tflite", "model input (quantized from float32 by the first QUANTIZE) "
                            "'serving_default_keras_tensor:0_int16' is int16: this is an int16x8 model (16-bit "
                            "activations, EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8); tinyc compiles "
                            "int8 models only: convert with supported_ops=[tf.lite.OpsSet.TFLITE_BUILTINS_INT8], or "
                            "give tinyc the Keras model"),
    ("uint8_interface_conv.tflite", "model input 'serving_default_keras_tensor:0' is uint8: tinyc needs an int8 (or "
                                    "float32) interface: convert with inference_input_type=inference_output_type="
                                    "tf.int8, or give tinyc the Keras model"),
])
def test_int16x8_and_uint8_interface_models_are_named(monkeypatch, capsys, name, message) -> None:
    code, _, err = run_cli(monkeypatch, capsys, "report", str(REPO / "tests" / "data" / name), "--board", "stm32f412",
                           "--no-tflm-arena")
    assert (code, err) == (2, f"error: {message}")
