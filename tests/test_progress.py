"""Progress lines: every step longer than SHOW_AFTER_SECONDS is shown on stderr (plain lines off a terminal, for
CI logs), nothing for quicker steps, nothing at all with --quiet, and stdout stays clean for --json."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest

from conftest import REPO, needs_toolchain, run_cli
from tinyc import progress
from tinyc.progress import PlainLines, Silent, Step, set_reporter, step

MODEL = REPO / "tests" / "data" / "golden_tiny.tflite"


def _lines(reporter_stream: io.StringIO) -> list[str]:
    return reporter_stream.getvalue().splitlines()


def test_plain_lines_show_a_long_step_while_it_runs_and_when_it_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "SHOW_AFTER_SECONDS", 0.05)
    stream = io.StringIO()
    previous = set_reporter(PlainLines(stream))
    try:
        with step(Step.BUILD, "firmware.elf"):
            time.sleep(0.3)
            assert _lines(stream) == ["tinyc: build: firmware.elf ..."]  # printed while the step still runs
        with step(Step.RENDER, "quick"):
            pass
    finally:
        set_reporter(previous)
    lines = _lines(stream)
    assert lines[0] == "tinyc: build: firmware.elf ..." and lines[1].startswith("tinyc: build: firmware.elf done in ")
    assert len(lines) == 2  # the quick step printed nothing


def test_a_failing_step_still_ends_its_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "SHOW_AFTER_SECONDS", 0.0)
    stream = io.StringIO()
    previous = set_reporter(PlainLines(stream))
    try:
        with pytest.raises(RuntimeError), step(Step.EMULATE, "qemu"):
            raise RuntimeError("boom")
    finally:
        set_reporter(previous)
    assert _lines(stream)[0] == "tinyc: emulate: qemu ..." and "done in" in _lines(stream)[1]


def test_the_library_is_silent_by_default() -> None:
    assert isinstance(set_reporter(Silent()), Silent)


@needs_toolchain
def test_compile_shows_its_steps_and_quiet_silences_them(monkeypatch, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(progress, "SHOW_AFTER_SECONDS", 0.0)  # every step, however quick
    code, out, err = run_cli(monkeypatch, capsys, "compile", str(MODEL), "--board", "stm32f412", "-o",
                             str(tmp_path / "a"), "--json", progress=True)
    assert code == 0, err
    json.loads(out)  # stdout holds the JSON only
    for line in ("tinyc: plan: golden_tiny for stm32f412 ...",
                 "tinyc: render: golden_tiny's semihosting firmware for stm32f412 ...",
                 "tinyc: build: golden_tiny's semihosting firmware for stm32f412 (make; kernels ",
                 "tinyc: build: golden_tiny's board-uart firmware for stm32f412 (make; kernels from the cache) done in "):
        assert line in err, line
    code, out, err = run_cli(monkeypatch, capsys, "compile", str(MODEL), "--board", "stm32f412", "-o",
                             str(tmp_path / "b"), "--json", "--quiet", progress=True)
    assert code == 0 and "tinyc: " not in err, err


def test_rich_spinner_on_a_terminal_prints_each_finished_step(monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    from tinyc.progress import RichSpinner
    monkeypatch.setattr(progress, "SHOW_AFTER_SECONDS", 0.0)
    stream = io.StringIO()
    spinner = RichSpinner(Console(file=stream, force_terminal=True, width=100, color_system=None))
    previous = set_reporter(spinner)
    try:
        with step(Step.PLAN, "tiny for [stm32f412]"), step(Step.RENDER, "inner"):
            assert spinner.labels == ["plan: tiny for \\[stm32f412]", "render: inner"]
    finally:
        set_reporter(previous)
    assert spinner.status is None and spinner.labels == []
    text = stream.getvalue()
    assert "✓ render: inner (" in text and "✓ plan: tiny for [stm32f412] (" in text


@needs_toolchain
@pytest.mark.emulator
def test_verify_shows_emulate_and_reference_steps(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(progress, "SHOW_AFTER_SECONDS", 0.0)
    code, out, err = run_cli(monkeypatch, capsys, "verify", str(MODEL), "--board", "stm32f412", "--samples", "2",
                             "--emulator", "qemu", "--json", progress=True)
    assert code == 0, err
    assert json.loads(out)["mismatches"] == 0
    for line in ("tinyc: emulate: qemu: 2 samples of golden_tiny on stm32f412 ...",
                 "tinyc: reference: TFLite Micro on 2 samples of golden_tiny done in ",
                 "tinyc: reference: LiteRT's BUILTIN_REF kernels on golden_tiny (second opinion) done in "):
        assert line in err, line
