"""TinyNAS's first step (MCUNet, Lin et al. 2020, section 3.1): choose the default space's width multiplier and input
resolution before searching inside it, with no training.

For every (width, resolution) pair, `samples` architectures are drawn at random from the rest of the space (seeded)
and planned by tinyc for the board cut to the limits, from a synthetic int8 graph (tinyc.frontend.synthetic: the
converter's ops and shapes, random weights; milliseconds a candidate instead of the seconds of a conversion). The
proxy: among the pairs where at least MIN_FIT_FRACTION of the samples fit, the one whose fitting samples have the
most MACs on average (a larger fitting network tends to be a more accurate one); ties go to the smaller width.
When no pair reaches the fraction, the one with the most fitting samples.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tinyc.boards import Board
from tinyc.errors import TinycError
from tinyc.frontend.synthetic import synthetic_graph
from tinyc.plan.pipeline import plan_graph
from tinyc.search.costs import Limits, costs_of, rejection
from tinyc.search.space import WIDTHS, DataShape, SpaceChoice, default_spec, resolutions

MIN_FIT_FRACTION = 0.25
DEFAULT_SAMPLES = 24  # per (width, resolution) pair


class _RandomTrial:
    """A trial that picks every categorical choice at random (seeded): one sample of the space."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        return self.rng.choice(list(choices))


@dataclass(frozen=True)
class PairScore:
    """What the samples of one (width, resolution) pair gave."""
    choice: SpaceChoice
    samples: int
    fitting: int
    mean_fitting_macs: float  # 0 when none fits
    max_fitting_macs: int

    @property
    def fit_fraction(self) -> float:
        return self.fitting / self.samples if self.samples else 0.0

    def as_json(self) -> dict[str, Any]:
        return {**self.choice.as_json(), "samples": self.samples, "fitting": self.fitting,
                "mean_fitting_macs": round(self.mean_fitting_macs), "max_fitting_macs": self.max_fitting_macs}


@dataclass(frozen=True)
class SpaceDecision:
    chosen: SpaceChoice
    scores: tuple[PairScore, ...]
    rule: str  # which rule chose it, for trials.json and the progress line

    def as_json(self) -> dict[str, Any]:
        return {"chosen": self.chosen.as_json(), "rule": self.rule, "min_fit_fraction": MIN_FIT_FRACTION,
                "pairs": [s.as_json() for s in self.scores]}

    @staticmethod
    def from_json(data: dict[str, Any]) -> SpaceDecision:
        scores = tuple(PairScore(SpaceChoice(float(p["width"]), int(p["resolution"])), int(p["samples"]),
                                 int(p["fitting"]), float(p["mean_fitting_macs"]), int(p["max_fitting_macs"]))
                       for p in data["pairs"])
        chosen = data["chosen"]
        return SpaceDecision(SpaceChoice(float(chosen["width"]), int(chosen["resolution"])), scores,
                             str(data["rule"]))


def sample_fits(spec: Any, board: Board, limits: Limits) -> tuple[int, bool]:
    """MACs of `spec` and whether its plan fits the limits (a graph tinyc cannot take does not fit)."""
    try:
        report = plan_graph(synthetic_graph(spec), limits.board(board), name=spec.name)
    except TinycError:
        return 0, False
    return report.macs, rejection(costs_of(report, params=0), limits) is None


def score_pair(choice: SpaceChoice, shape: DataShape, board: Board, limits: Limits, *, samples: int,
               seed: int) -> PairScore:
    rng = random.Random(f"{seed}:{choice.width}:{choice.resolution}")
    fitting: list[int] = []
    for _ in range(samples):
        macs, fits = sample_fits(default_spec(_RandomTrial(rng), shape, fixed=choice), board, limits)
        if fits:
            fitting.append(macs)
    return PairScore(choice, samples, len(fitting), sum(fitting) / len(fitting) if fitting else 0.0,
                     max(fitting, default=0))


def choose_space(shape: DataShape, board: Board, limits: Limits, *, samples: int = DEFAULT_SAMPLES, seed: int = 0,
                 progress: Callable[[PairScore], None] = lambda score: None) -> SpaceDecision:
    """Score every (width, resolution) pair and choose one (see the module docstring)."""
    scores = []
    for resolution in resolutions(shape):
        for width in WIDTHS:
            score = score_pair(SpaceChoice(width, resolution), shape, board, limits, samples=samples, seed=seed)
            progress(score)
            scores.append(score)
    eligible = [s for s in scores if s.fitting and s.fit_fraction >= MIN_FIT_FRACTION]
    if eligible:
        best = max(eligible, key=lambda s: (s.mean_fitting_macs, -s.choice.width))
        rule = (f"the most MACs on average among the fitting samples of the pairs where at least "
                f"{MIN_FIT_FRACTION:.0%} fit")
    else:
        best = max(scores, key=lambda s: (s.fitting, -s.choice.width))
        rule = f"no pair has {MIN_FIT_FRACTION:.0%} of its samples fitting: the most fitting samples"
    return SpaceDecision(best.choice, tuple(scores), rule)
