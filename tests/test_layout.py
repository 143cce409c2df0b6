"""The tree shows the pipeline: stage folders, imports only downwards, no import cycle; the package installs."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO

PACKAGE = REPO / "tinyc"

# Stages, lowest first: a module may import its own stage and lower ones only. The IR (graph, op kinds, reader,
# lowering) is the vocabulary every later stage speaks, the front end's analytic counts included.
# The package itself (`import tinyc`) is the Python API's face, so it sits with the API and the CLI at the top.
STAGES: tuple[tuple[str, ...], ...] = (
    ("tinyc.errors", "tinyc.resources", "tinyc.kernels", "tinyc.progress", "tinyc.version"),
    ("tinyc.boards",),
    ("tinyc.ir",),
    ("tinyc.frontend",),
    ("tinyc.plan",),
    ("tinyc.codegen",),
    ("tinyc.run",),
    ("tinyc", "tinyc.api", "tinyc.cli"),
)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def stage_of(module: str) -> int:
    best = (-1, -1)  # (length of the matching prefix, stage)
    for rank, prefixes in enumerate(STAGES):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best[0]:
                best = (len(prefix), rank)
    assert best[1] >= 0, f"{module} belongs to no stage: add it to STAGES"
    return best[1]


def imports_in(source: str, modules: set[str]) -> set[str]:
    """The tinyc modules `source` imports anywhere (function-level imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        found.update(n for n in names if n in modules)
    return found


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(paths)
    return {m: imports_in(p.read_text(), modules) - {m} for m, p in paths.items()}


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{m} (stage {stage_of(m)}) imports {i} (stage {stage_of(i)})"
                  for m, imported in graph.items() for i in imported if stage_of(i) > stage_of(m))


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for nxt in sorted(graph.get(module, ())):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return cycles


def test_imports_point_only_to_the_same_or_an_earlier_stage() -> None:
    assert upward_imports(import_graph()) == []


def test_no_import_cycle() -> None:
    assert import_cycles(import_graph()) == []


def test_the_checks_can_fail() -> None:
    graph = {"tinyc.plan.pipeline": {"tinyc.run.verify"}, "tinyc.run.verify": {"tinyc.run.emulators"},
             "tinyc.run.emulators": {"tinyc.run.verify"}}
    assert upward_imports(graph) == ["tinyc.plan.pipeline (stage 4) imports tinyc.run.verify (stage 6)"]
    assert import_cycles(graph) == [["tinyc.run.verify", "tinyc.run.emulators", "tinyc.run.verify"]]
    modules = {"tinyc.run.verify"}
    assert imports_in("def f():\n    from tinyc.run.verify import verify\n", modules) == modules


def test_cli_choices_are_the_enum_values() -> None:
    from tinyc.cli import EMULATOR_CHOICES, KERNEL_CHOICES, OBJECTIVES, PLACEMENTS, SCHEDULE_CHOICES
    from tinyc.plan.search import Objective, Placement, ScheduleChoice
    from tinyc.run import emulators
    assert SCHEDULE_CHOICES == tuple(c.value for c in ScheduleChoice)
    assert OBJECTIVES == tuple(o.value for o in Objective)
    assert PLACEMENTS == tuple(p.value for p in Placement)
    assert EMULATOR_CHOICES == emulators.EMULATOR_CHOICES
    from tinyc.codegen.render import Kernels
    assert KERNEL_CHOICES == tuple(k.value for k in Kernels)
    from tinyc.cli import CONSTANTS_CHOICES
    from tinyc.plan.constants import ConstantsPolicy
    assert CONSTANTS_CHOICES == tuple(p.value for p in ConstantsPolicy)


def test_every_harness_renders_its_files() -> None:
    from tinyc.codegen.render import HARNESSES, Harness, render_firmware
    from tinyc.plan.pipeline import input_samples, plan_model
    planned = plan_model(REPO / "tests" / "data" / "golden_tiny.tflite", "stm32f412")
    samples = input_samples(planned, 1)
    for harness in Harness:
        files = render_firmware(planned.schedule, planned.plan, planned.board, harness, model_name="golden_tiny",
                                samples=samples)
        for name in ("model.c", "model.h", "model_weights.c", "Makefile", *HARNESSES[harness].templates):
            assert files[name].strip(), f"{harness.value}: {name} is empty"
    assert np.asarray(samples[0]).size > 0


@pytest.mark.slow
def test_wheel_installs_and_reports(tmp_path: Path) -> None:
    """`pip install .` (not editable) ships boards/ and firmware_templates/ as package data."""
    source = tmp_path / "source"  # a copy: building writes build/ and *.egg-info/ beside pyproject.toml
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "tinyc", "boards", "firmware_templates"):
        copy = shutil.copytree if (REPO / name).is_dir() else shutil.copy
        copy(REPO / name, source / name, **({"ignore": shutil.ignore_patterns("__pycache__")}
                                            if (REPO / name).is_dir() else {}))
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(wheels), str(source)], check=True, capture_output=True)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", *map(str, wheels.glob("*.whl"))],
                   check=True, capture_output=True)
    where = subprocess.run([str(python), "-c", "import tinyc, tinyc.resources as r; "
                            "print(tinyc.__file__, r.templates_dir(), r.boards_dir())"],
                           cwd=tmp_path, check=True, capture_output=True, text=True).stdout.split()
    assert all(str(venv) in w for w in where), where  # the installed copy, not the source tree
    report = subprocess.run([str(venv / "bin" / "tinyc"), "report", str(REPO / "models" / "tiny_dscnn.py"),
                             "--board", "stm32f412", "--json", "--no-tflm-arena"],
                            cwd=tmp_path, capture_output=True, text=True)
    assert report.returncode == 0, report.stderr[-2000:]
    assert json.loads(report.stdout)["model"] == "tiny_dscnn"
    # Templates in nested folders ship too (the real-board UART drivers: board/uart/*.j2).
    nested = subprocess.run([str(python), "-c", "import tinyc.resources as r; "
                             "print((r.templates_dir() / 'board' / 'uart' / 'nrf_uarte.h.j2').is_file())"],
                            cwd=tmp_path, check=True, capture_output=True, text=True).stdout.strip()
    assert nested == "True"



def test_supported_ops_document_is_current() -> None:
    """SUPPORTED_OPS.md is what `python -m tinyc.frontend.supported_ops` prints from the rules and the ONNX table."""
    from tinyc.frontend.supported_ops import supported_ops_document
    assert (REPO / "SUPPORTED_OPS.md").read_text() == supported_ops_document()
