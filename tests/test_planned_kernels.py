"""The kernel choice is made once, by the plan (its flash is in the memory report), and carried to code generation
on `Planned`; a schedule or board put in its place gets a choice of its own."""

from __future__ import annotations

from dataclasses import replace

from conftest import REPO
from tinyc.plan import specialize
from tinyc.plan.pipeline import plan_model

MODEL = REPO / "tests" / "data" / "golden_tiny.tflite"


def test_the_plan_chooses_once_and_code_generation_reuses_it(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    planned = plan_model(MODEL, "stm32f412")
    calls = []
    original = specialize.choose_kernels
    monkeypatch.setattr("tinyc.plan.pipeline.choose_kernels", lambda *a: calls.append(a) or original(*a))
    assert planned.kernels is planned.kernels and len(planned.kernels) == len(planned.schedule.steps)
    assert not calls
    smaller = replace(planned, board=replace(planned.board, flash=replace(planned.board.flash, size_bytes=65_536)))
    assert len(smaller.kernels) == len(planned.schedule.steps) and len(calls) == 1  # chosen again for that board
