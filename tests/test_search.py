"""`tinyc search` (issue 25): a candidate that does not fit is rejected with its reason before any training; an
end-to-end search on digits (2 trials, 1 epoch, 1 Ray worker) whose best.py `tinyc report` takes; --resume adds
trials to the same study."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tinyc.boards import get_board
from tinyc.search.costs import Costs, Limits, rejection
from tinyc.search.latency import LatencyEstimate

ROOT = Path(__file__).resolve().parents[1]
SEARCH_FILE = ROOT / "models" / "search" / "digits.py"


def _costs(peak_sram_bytes: int) -> Costs:
    return Costs(macs=1000, params=100, arena_bytes=peak_sram_bytes - 2048, peak_sram_bytes=peak_sram_bytes,
                 flash_bytes=50_000, schedule="per-layer",
                 latency=LatencyEstimate(instructions=2000.0, cycles=2880.0, clock_hz=100_000_000))


def test_rejection_names_every_limit_exceeded() -> None:
    limits = Limits(sram_bytes=32_768, flash_bytes=40_000, latency_ms=0.01)
    assert rejection(_costs(30_000), Limits(sram_bytes=32_768, flash_bytes=1 << 20)) is None
    assert rejection(_costs(40_000), limits) == (
        "peak SRAM 40,000 B (arena 37,952 B, per-layer) exceeds the SRAM limit 32,768 B; "
        "flash 50,000 B exceeds the flash limit 40,000 B; estimated latency 0.03 ms exceeds the limit 0.01 ms")


def test_limits_never_exceed_the_board() -> None:
    board = get_board("stm32f412")
    assert Limits.for_board(board, sram_kb=32, flash_kb=None, latency_ms=None) == Limits(32_768, 1 << 20)
    assert Limits.for_board(board, sram_kb=10_000, flash_kb=None, latency_ms=None).sram_bytes == 262_144


class _NoRay:
    def __init__(self, *args: Any) -> None:
        pass

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a candidate over the SRAM limit was sent to training")

    def shutdown(self) -> None:
        pass


def test_candidate_over_the_sram_limit_is_rejected_before_training(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from tinyc.search import driver
    monkeypatch.setattr(driver, "_Ray", _NoRay)
    options = driver.SearchOptions(board="stm32f412", output=tmp_path / "out", sram_kb=4, trials=1, epochs=1)
    result = driver.run_search(SEARCH_FILE, options, progress=lambda line: None)
    (record,) = result.records
    assert record.status == "rejected"
    assert record.val_accuracy is None and record.costs is not None
    assert record.reason is not None and record.reason.startswith(f"peak SRAM {record.costs['peak_sram_bytes']:,} B")
    assert record.reason.endswith("exceeds the SRAM limit 4,096 B")
    assert result.best_file is None
    trials = json.loads((tmp_path / "out" / "trials.json").read_text())
    assert trials["trials"][0]["reason"] == record.reason


@pytest.mark.slow
def test_search_end_to_end_resume_and_report(tmp_path: Path) -> None:
    from tinyc.cli import cli
    out = tmp_path / "out"
    runner = CliRunner()
    first = runner.invoke(cli, ["search", str(SEARCH_FILE), "--board", "stm32f412", "-o", str(out), "--trials", "2",
                                "--epochs", "1", "--workers", "1", "--json"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    trials = json.loads((out / "trials.json").read_text())["trials"]
    assert [t["number"] for t in trials] == [0, 1]
    trained = [t for t in trials if t["status"] == "trained"]
    assert trained, trials
    for t in trained:
        assert 0.0 <= t["val_accuracy"] <= 1.0
        assert t["costs"]["arena_bytes"] > 0 and t["costs"]["flash_bytes"] > 0 and t["costs"]["estimated_ms"] > 0
    assert (out / "best.py").is_file() and (out / "pareto.png").is_file()
    # --resume continues the same study (a tight SRAM limit: the new trial is rejected, so no training is needed)
    again = runner.invoke(cli, ["search", str(SEARCH_FILE), "--board", "stm32f412", "-o", str(out), "--trials", "1",
                                "--sram-kb", "4", "--resume"], catch_exceptions=False)
    assert again.exit_code == 0, again.output
    resumed = json.loads((out / "trials.json").read_text())["trials"]
    assert [t["number"] for t in resumed] == [0, 1, 2]
    assert resumed[2]["status"] == "rejected" and "exceeds the SRAM limit 4,096 B" in resumed[2]["reason"]
    refused = runner.invoke(cli, ["search", str(SEARCH_FILE), "--board", "stm32f412", "-o", str(out)])
    assert refused.exit_code != 0 and "--resume" in str(refused.exception)
    report = runner.invoke(cli, ["report", str(out / "best.py"), "--board", "stm32f412", "--no-tflm-arena", "--json"],
                           catch_exceptions=False)
    assert report.exit_code == 0, report.output
    assert json.loads(report.stdout)["fits"] is True
