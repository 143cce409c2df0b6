"""Golden files: the generated C for a small committed .tflite, per board, byte for byte.

Regenerate after an intended change with `TINYC_UPDATE_GOLDEN=1 python -m pytest tests/test_codegen_golden.py`
and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import BOARDS, REPO
from tinyc.codegen.render import Harness, render_firmware
from tinyc.plan.pipeline import input_samples, plan_model
from tinyc.plan.search import Objective, ScheduleOptions

MODEL = REPO / "tests" / "data" / "golden_tiny.tflite"
GOLDEN = REPO / "tests" / "golden"
CHECKED = ("model.c", "model.h", "model_weights.c", "model_weights.h", "linker.ld", "Makefile", "harness.c", "startup.c")


def _render(board: str) -> dict[str, str]:
    # The smallest arena (a patch stage over ops 0..1): the golden files show the patch code.
    planned = plan_model(MODEL, board, options=ScheduleOptions(objective=Objective.MIN_SRAM))
    return render_firmware(planned.schedule, planned.plan, planned.board, Harness.SEMIHOSTING, model_name=MODEL.name,
                           samples=input_samples(planned, 2))


@pytest.mark.parametrize("board", BOARDS)
def test_generated_sources_match_golden(board: str) -> None:
    files = _render(board)
    folder = GOLDEN / board
    if os.environ.get("TINYC_UPDATE_GOLDEN") == "1":
        folder.mkdir(parents=True, exist_ok=True)
        for name in CHECKED:
            (folder / name).write_text(files[name])
    for name in CHECKED:
        assert files[name] == (folder / name).read_text(), f"{board}/{name} differs from its golden file"


def test_rendering_is_deterministic_and_path_free(tmp_path: Path) -> None:
    first, second = _render("stm32f412"), _render("stm32f412")
    assert first == second
    for name, text in first.items():
        assert str(REPO) not in text and str(Path.home()) not in text, name
