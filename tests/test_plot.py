"""`tinyc report --plot`: a PNG or an HTML page, deterministic, never over an existing file."""

from __future__ import annotations

from conftest import REPO, run_cli

MODEL = REPO / "tests" / "data" / "golden_tiny.tflite"


def test_png_is_written_and_deterministic(monkeypatch, capsys, tmp_path) -> None:
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    for path in (first, second):
        code, _, _ = run_cli(monkeypatch, capsys, "report", str(MODEL), "--board", "stm32f412", "--plot", str(path))
        assert code == 0
    assert first.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert first.read_bytes() == second.read_bytes()


def test_html_embeds_the_plot_and_the_table(monkeypatch, capsys, tmp_path) -> None:
    page = tmp_path / "memory.html"
    code, _, _ = run_cli(monkeypatch, capsys, "report", str(MODEL), "--board", "stm32h743", "--plot", str(page))
    assert code == 0
    text = page.read_text()
    assert "data:image/png;base64," in text
    assert text.count("<tr><td>") == 5  # one row per op of the model
    assert "fits stm32h743" in text


def test_existing_file_is_not_overwritten(monkeypatch, capsys, tmp_path) -> None:
    mine = tmp_path / "mine.png"
    mine.write_text("precious")
    code, _, err = run_cli(monkeypatch, capsys, "report", str(MODEL), "--board", "stm32f412", "--plot", str(mine))
    assert code == 1
    assert "exists; tinyc does not overwrite files" in err
    assert mine.read_text() == "precious"
