"""`tinyc search` (issue 25): a candidate that does not fit is rejected with its reason before any training; TinyNAS's
first step (a synthetic graph plans as the converted model does; the rule choosing width x resolution); Ctrl-C keeps
the journal and --resume continues; a duplicate is not trained again; an end-to-end search on digits (2 trials, 1
epoch) on a Ray cluster started separately and joined with --address, whose best.py `tinyc report` takes, and
--resume adds trials to the same study; the "does not fit" advice (boards it fits, the largest width or resolution
by bisection)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tinyc.boards import get_board
from tinyc.search.costs import Costs, Limits, rejection
from tinyc.search.latency import LatencyEstimate
from tinyc.search.outputs import TrialStatus
from tinyc.search.space import DataShape, SpaceChoice

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


DIGITS = DataShape((32, 32, 1), 10)
FIXED_SPACE = SpaceChoice(width=0.5, resolution=32)


def _fixed_space(*args: Any, **kwargs: Any) -> Any:
    """TinyNAS's first step replaced by a fixed choice (the tests of the step itself are below)."""
    from tinyc.search.space_choice import SpaceDecision
    return SpaceDecision(FIXED_SPACE, (), "fixed by the test")


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
    monkeypatch.setattr(driver, "choose_space", _fixed_space)
    options = driver.SearchOptions(board="stm32f412", output=tmp_path / "out", sram_kb=4, trials=1, epochs=1,
                                   max_proposals=1)
    result = driver.run_search(SEARCH_FILE, options, progress=lambda line: None)
    (record,) = result.records
    assert record.status is TrialStatus.REJECTED
    assert record.val_accuracy is None and record.costs is not None
    assert record.reason is not None and record.reason.startswith(f"peak SRAM {record.costs['peak_sram_bytes']:,} B")
    assert record.reason.endswith("exceeds the SRAM limit 4,096 B")
    assert result.best_file is None
    trials = json.loads((tmp_path / "out" / "trials.json").read_text())
    assert trials["trials"][0]["reason"] == record.reason


@contextlib.contextmanager
def _ray_head() -> Iterator[str]:
    """A Ray cluster started separately, as a user would: `ray start --head` on 127.0.0.1 (its own port and temp
    folder; stopped by ending that process group, never `ray stop`, which would stop every Ray on the machine)."""
    ray_exe = Path(sys.executable).with_name("ray")
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="/tmp/tr")  # short: Ray's socket paths have a length limit
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "RAY_USAGE_STATS_ENABLED": "0"}
    head = subprocess.Popen([str(ray_exe), "start", "--head", "--block", "--port", str(port), "--num-cpus", "1",
                             "--node-ip-address", "127.0.0.1", "--include-dashboard", "false", "--temp-dir", temp,
                             "--disable-usage-stats"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=10)  # `ray start --block` often outlives SIGTERM by more than half a minute
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait(timeout=30)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.slow
def test_search_end_to_end_on_a_separate_ray_cluster_resume_and_report(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole search joined to a Ray cluster started separately (--address; the local `--workers` Ray is the
    README example's, run by hand: it costs another minute here), then --resume, the refusal without it, and
    `tinyc report` of best.py."""
    from tinyc.cli import cli
    out = tmp_path / "out"
    runner = CliRunner()
    # `ray start` enables token authentication (Ray 2.60): a client joins with RAY_AUTH_MODE=token and the token in
    # ~/.ray/auth_token, which the head wrote or found there. A latency limit makes TinyNAS's first step choose a
    # small space (16x16): quick to train.
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    with _ray_head() as address:
        first = runner.invoke(cli, ["search", str(SEARCH_FILE), "--board", "stm32f412", "-o", str(out), "--trials",
                                    "2", "--epochs", "1", "--space-samples", "2", "--latency-ms", "10", "--address",
                                    address, "--json"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    trials = json.loads((out / "trials.json").read_text())["trials"]
    assert [t["number"] for t in trials] == list(range(len(trials)))
    trained = [t for t in trials if t["status"] == "trained"]
    assert len(trained) == 2, trials
    for t in trained:
        assert 0.0 <= t["val_accuracy"] <= 1.0
        assert t["costs"]["arena_bytes"] > 0 and t["costs"]["flash_bytes"] > 0 and t["costs"]["estimated_ms"] > 0
    assert (out / "best.py").is_file() and (out / "pareto.png").is_file()
    assert "data:image/png;base64," in (out / "pareto.html").read_text()
    space = json.loads((out / "space.json").read_text())
    assert len(space["pairs"]) == 10 and all(p["samples"] == 2 for p in space["pairs"])  # 5 widths x (32, 16)
    assert all(t["params"]["width"] == space["chosen"]["width"] for t in trials)
    assert space["chosen"]["resolution"] == 16 and all(t["costs"]["estimated_ms"] <= 10 for t in trained)
    # --resume continues the same study (a tight SRAM limit: the new trial is rejected, so no training is needed)
    from tinyc.search import driver
    driver.run_search(SEARCH_FILE, driver.SearchOptions(board="stm32f412", output=out, sram_kb=4, trials=1,
                                                        resume=True, max_proposals=1), progress=lambda line: None)
    resumed = json.loads((out / "trials.json").read_text())["trials"]
    assert [t["number"] for t in resumed] == list(range(len(trials) + 1))
    assert resumed[-1]["status"] == "rejected" and "exceeds the SRAM limit 4,096 B" in resumed[-1]["reason"]
    assert resumed[-1]["costs"]["planned_from"].startswith("synthetic")  # rejected without a conversion
    refused = runner.invoke(cli, ["search", str(SEARCH_FILE), "--board", "stm32f412", "-o", str(out)])
    assert refused.exit_code != 0 and "--resume" in str(refused.exception)
    report = runner.invoke(cli, ["report", str(out / "best.py"), "--board", "stm32f412", "--no-tflm-arena", "--json"],
                           catch_exceptions=False)
    assert report.exit_code == 0, report.output
    assert json.loads(report.stdout)["fits"] is True


@pytest.mark.parametrize("se", [False, True])
def test_synthetic_graph_plans_as_the_converted_model(se: bool) -> None:
    """TinyNAS's first step plans synthetic graphs: the same MACs, arena, peak SRAM and schedule as the converted
    Keras model of the same spec (flash differs only by the specialized layouts of random weights)."""
    import optuna

    from tinyc.frontend.blocks import build_model
    from tinyc.frontend.data import digits_split
    from tinyc.frontend.synthetic import synthetic_graph
    from tinyc.plan.pipeline import plan_graph
    from tinyc.search.costs import plan_candidate
    from tinyc.search.space import default_spec

    board = get_board("stm32f412")
    limits = Limits.for_board(board, sram_kb=32, flash_kb=None, latency_ms=None)
    params = {"width": 0.75, "resolution": 32, **{f"stage{i}_{k}": v for i in range(4) for k, v in
                                                   (("depth", 1 + i % 2), ("kernel", (3, 5, 7)[i % 3]),
                                                    ("expansion", (3, 4, 6)[i % 3]), ("se", se and i % 2 == 0))}}
    spec = default_spec(optuna.trial.FixedTrial(params), DIGITS)
    synthetic = plan_graph(synthetic_graph(spec), limits.board(board), name="synthetic")
    x_train = digits_split()[0]
    converted = plan_candidate(build_model(spec, seed=0, batch_size=1), x_train, board, limits, name="converted")
    assert (synthetic.macs, synthetic.arena_bytes, synthetic.peak_sram_bytes, synthetic.schedule) == (
        converted.macs, converted.arena_bytes, converted.peak_sram_bytes, converted.schedule)


def test_space_choice_takes_the_most_macs_among_pairs_where_enough_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    """A table of invented sample costs: width 1.0 has the most MACs but too few fit; 0.75 wins. With nothing
    fitting often enough, the pair with the most fitting samples."""
    from tinyc.search import space_choice

    def fake(fit_every: dict[float, int]) -> Any:
        counter: dict[tuple[float, int], int] = {}

        def sample_fits(spec: Any, board: Any, limits: Any) -> tuple[int, bool]:
            key = (spec.width, spec.resolution)
            counter[key] = counter.get(key, 0) + 1  # the n-th sample of this pair fits when n % fit_every == 0
            return int(spec.width * 1e6) + spec.resolution, counter[key] % fit_every[spec.width] == 0
        return sample_fits

    board = get_board("stm32f412")
    limits = Limits(32_768, 1 << 20)
    monkeypatch.setattr(space_choice, "sample_fits", fake({0.25: 1, 0.35: 1, 0.5: 1, 0.75: 2, 1.0: 8}))
    decision = space_choice.choose_space(DIGITS, board, limits, samples=8)
    assert decision.chosen == SpaceChoice(0.75, 32)
    assert [(s.choice.width, s.choice.resolution, s.fitting) for s in decision.scores][:5] == [
        (0.25, 32, 8), (0.35, 32, 8), (0.5, 32, 8), (0.75, 32, 4), (1.0, 32, 1)]
    assert space_choice.SpaceDecision.from_json(json.loads(json.dumps(decision.as_json()))) == decision
    monkeypatch.setattr(space_choice, "sample_fits", fake({0.25: 10, 0.35: 10, 0.5: 10, 0.75: 10, 1.0: 5}))
    decision = space_choice.choose_space(DIGITS, board, limits, samples=10)  # 1/10 fit, 2/10 at width 1.0
    assert decision.chosen == SpaceChoice(1.0, 32) and decision.rule.startswith("no pair has 25%")


class _InterruptedRay(_NoRay):
    """Ray as Ctrl-C finds it: a training in flight when the user interrupts."""
    cancelled: list[Any] = []

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        return "training"

    def wait(self, refs: list[Any]) -> Any:
        raise KeyboardInterrupt

    def cancel(self, ref: Any) -> None:
        self.cancelled.append(ref)


def test_ctrl_c_keeps_the_journal_and_resume_continues(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tinyc.search import driver
    monkeypatch.setattr(driver, "_Ray", _InterruptedRay)
    monkeypatch.setattr(driver, "choose_space", _fixed_space)
    out = tmp_path / "out"
    lines: list[str] = []
    with pytest.raises(KeyboardInterrupt):
        driver.run_search(SEARCH_FILE, driver.SearchOptions(board="stm32f412", output=out, trials=2, workers=1),
                          progress=lines.append)
    assert _InterruptedRay.cancelled == ["training"]
    assert lines[-1] == f"search: interrupted; {out} holds every finished trial: continue with --resume"
    (first,) = json.loads((out / "trials.json").read_text())["trials"]
    assert first["status"] == "failed" and first["reason"] == driver.INTERRUPTED and first["costs"] is not None
    monkeypatch.setattr(driver, "_Ray", _NoRay)
    resumed = driver.run_search(SEARCH_FILE, driver.SearchOptions(board="stm32f412", output=out, sram_kb=4, trials=1,
                                                                  resume=True, max_proposals=1), progress=lines.append)
    assert [(r.number, r.status) for r in resumed.records] == [(0, TrialStatus.FAILED), (1, TrialStatus.REJECTED)]
    assert resumed.space is not None and resumed.space.chosen == FIXED_SPACE  # from OUT/space.json


def _free_port() -> int:
    """A port free on every interface (Ray connects to 127.0.0.1 through the node's own address, where another
    Ray on this machine may listen)."""
    with socket.socket() as s:
        s.bind(("", 0))
        port: int = s.getsockname()[1]
        return port


def test_fit_advice_names_boards_and_the_largest_resolution(monkeypatch: pytest.MonkeyPatch, capsys: Any,
                                                            tmp_path: Path) -> None:
    """tiny_mbv2 (a builder's model: SPEC) on a 4 KB board: it fits every bundled board; at this width no smaller
    resolution than 16 ... is searched by bisection; the largest that fits is 16."""
    from conftest import run_cli
    board = (ROOT / "boards" / "stm32f412.toml").read_text().replace('name = "stm32f412"', 'name = "tight"')
    board = board.replace("size_bytes = 8_192\n", "size_bytes = 1_024\n").replace("size_bytes = 262_144",
                                                                                  "size_bytes = 4_096")
    (tmp_path / "tight.toml").write_text(board)
    code, out, _ = run_cli(monkeypatch, capsys, "report", str(ROOT / "models" / "tiny_mbv2.py"), "--board-file",
                           str(tmp_path / "tight.toml"), "--no-tflm-arena", "--json")
    advice = json.loads(out)["fit_advice"]
    assert code == 0 and advice["boards_that_fit"] == ["alif_e7_hp", "nrf52840", "nrf5340", "stm32f412", "stm32h743",
                                                       "stm32l4r5", "stm32u575"]
    assert advice["largest_width"] is None and advice["largest_resolution"]["value"] == 16
    assert advice["largest_resolution"]["peak_sram_bytes"] <= 4_096


def test_bisection_finds_the_largest_fitting_value() -> None:
    from tinyc.plan.fit_advice import largest_fitting

    class Report:
        def __init__(self, value: float) -> None:
            self.fits = value <= 0.6

    asked: list[float] = []

    def plan(value: float) -> Any:
        asked.append(value)
        return Report(value)

    grid = [round(0.1 + 0.05 * i, 2) for i in range(18)]  # 0.1 .. 0.95
    found = largest_fitting(grid, plan)
    assert found is not None and found[0] == 0.6 and len(asked) <= 5
    assert largest_fitting(grid, lambda v: Report(9.9)) is None


def test_a_duplicate_architecture_is_told_the_earlier_result_not_trained_again() -> None:
    import optuna

    from tinyc.search import driver
    from tinyc.search.outputs import TrialRecord
    from tinyc.search.recipe import Recipe

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(directions=["maximize", "minimize"])
    first = study.ask()
    first.suggest_categorical("kernel", [3, 5, 7])
    first.set_user_attr(driver.RECORD_ATTR, TrialRecord(0, TrialStatus.TRAINED, dict(first.params),
                                                        {"estimated_ms": 5.0}, 0.9, None).as_json())
    first.set_constraint(driver.CONSTRAINT, 0.0)
    study.tell(first, [0.9, 5.0])
    study.enqueue_trial(dict(first.params))
    again = study.ask()
    again.suggest_categorical("kernel", [3, 5, 7])
    recipe = Recipe(search_source="", search_name="space.py", params=tuple(sorted(again.params.items())),
                    shape=DIGITS, default_space=False)
    lines: list[str] = []
    assert driver._told_as_duplicate(study, again, recipe, lines.append)
    told = study.trials[1]
    assert told.values == [0.9, 5.0] and told.constraints == {driver.CONSTRAINT: 0.0}
    assert told.user_attrs[driver.RECORD_ATTR]["status"] == "duplicate"
    assert lines == ["search: trial 1: the same architecture as trial 0 (not trained again)"]
    study.enqueue_trial({"kernel": next(k for k in (3, 5, 7) if k != first.params["kernel"])})
    other = study.ask()
    other.suggest_categorical("kernel", [3, 5, 7])
    assert not driver._told_as_duplicate(study, other, Recipe("", "space.py", tuple(sorted(other.params.items())),
                                                              DIGITS, False), lines.append)
