"""The Python API drives plan -> compile -> verify -> bench on one planned model and returns the records the CLI
prints as JSON; a planned model refuses a second board; `tinyc.plan` stays callable beside the planner package."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tinyc
from conftest import REPO, needs_toolchain, run_cli
from tinyc.api import ApiUsageError

TINY = REPO / "tests" / "data" / "golden_tiny.tflite"


def test_plan_returns_the_report_the_cli_prints(monkeypatch, capsys) -> None:
    planned = tinyc.plan(TINY, board="stm32f412")
    code, out, _ = run_cli(monkeypatch, capsys, "report", str(TINY), "--board", "stm32f412", "--json",
                           "--no-tflm-arena")
    # the CLI adds its does-not-fit advice (tinyc.plan.fit_advice; None for a model that fits)
    assert code == 0 and json.loads(out) == {**json.loads(json.dumps(planned.report.as_json())), "fit_advice": None}
    assert planned.report.fits


def test_plan_is_callable_and_the_planner_package_importable() -> None:
    import tinyc.plan.search as search
    from tinyc.plan.pipeline import Planned
    assert isinstance(tinyc.plan(str(TINY), board="stm32f412"), Planned)
    assert tinyc.plan.search is search and tinyc.plan.pipeline.Planned is Planned


def test_a_planned_model_takes_no_second_board() -> None:
    planned = tinyc.plan(TINY, board="stm32f412")
    with pytest.raises(ApiUsageError, match=r"board given with an already planned model: pass them to tinyc.plan\(\)"):
        tinyc.bench(planned, board="stm32h743")
    with pytest.raises(ApiUsageError, match="give the board"):
        tinyc.verify(TINY)


@needs_toolchain
@pytest.mark.emulator
def test_plan_compile_verify_bench(tmp_path: Path) -> None:
    planned = tinyc.plan(TINY, board="stm32f412")
    built = tinyc.compile(planned, output=tmp_path / "out", name="tiny")
    assert built.build.elf == tmp_path / "out" / "firmware.elf" and built.build.elf.is_file()
    assert built.as_json() == json.loads((tmp_path / "out" / "tinyc.json").read_text())
    assert built.board_build is not None and built.board_build.elf.is_file()
    proof = tinyc.verify(planned, samples=3, emulator="qemu")
    assert proof.first_mismatch is None and proof.mismatched_samples == 0
    data = proof.as_json()
    assert (data["samples"], data["emulator_used"], data["conversion"]) == (3, "qemu", "tflite")
    speed = tinyc.bench(planned, cycles=False)
    assert speed.instructions > 0 and speed.as_json()["board"] == "stm32f412"
