"""`tinyc search`, top to bottom: read the search file and its data; open (or resume) the Optuna study in OUT's
journal; for the default space, TinyNAS's first step chooses its width and resolution by planning hundreds of
untrained samples (space_choice.py; kept in OUT/space.json, so --resume searches the same space); then per trial: the space proposes, tinyc plans (costs.py) and rejects what does not fit with its reason,
before any training; Ray trains the rest, up to `workers` at a time; finally OUT's files (outputs.py).

Optuna's study is multi-objective (validation accuracy up, estimated latency down) under a constraint
(`Trial.set_constraint`, which Optuna's TPE reads): a trained trial is told its values and a met constraint; a rejected one (it does not fit) accuracy
0, its estimated latency and a violated constraint, so the sampler learns where the limits are instead of proposing
the same over-the-limit candidates again; a failed one is told FAIL. Every trial's record (reason, costs) is kept in
its user attributes, so trials.json is rebuilt from the journal alone and `--resume` continues with every earlier
trial.

Ctrl-C (or SIGTERM) stops cleanly: the trials in training are cancelled and told FAIL ("interrupted"), Ray is shut
down, trials.json, best.py and the plots are written from the finished trials, then KeyboardInterrupt goes on to the
CLI (exit status 130); the journal holds every finished trial and `--resume` continues.
"""

from __future__ import annotations

import enum
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from tinyc.boards import BoardRef, get_board
from tinyc.errors import SearchError, TinycError
from tinyc.frontend.count import count
from tinyc.frontend.synthetic import synthetic_graph
from tinyc.plan.pipeline import plan_graph
from tinyc.search.costs import Limits, costs_of, plan_candidate, rejection
from tinyc.search.outputs import (TrialRecord, TrialStatus, best_trial, pareto_front, save_weights, write_best,
                                  write_plots, write_trials)
from tinyc.search.recipe import Recipe, build_candidate, search_module
from tinyc.search.space import DataShape, SpaceChoice, data_shape, default_spec
from tinyc.search.space_choice import DEFAULT_SAMPLES, PairScore, SpaceDecision, choose_space
from tinyc.search.train import Trained, prepare_inputs, train_candidate

JOURNAL_FILE = "study.journal"
STUDY_NAME = "tinyc-search"
RECORD_ATTR = "tinyc_record"
CONSTRAINT = "over_limits"  # the trial's Optuna constraint: 1.0 rejected (does not fit), 0.0 fits
WEIGHTS_DIR = "weights"
SPACE_FILE = "space.json"  # TinyNAS's first step: the chosen width and resolution, and every pair's score
INTERRUPTED = "interrupted (Ctrl-C) before its training finished"
REJECTED_UNKNOWN_MS = 1e6  # the latency told for a candidate tinyc cannot plan
PROPOSALS_PER_TRIAL = 25  # candidates rejected before training do not count as trials: at most this many per trial


class PlanSource(enum.Enum):
    """Where a trial's costs come from (trials.json's costs.planned_from)."""
    SYNTHETIC = "synthetic int8 graph (untrained; SRAM and MACs exact, flash approximate)"
    CONVERTED = "the int8 conversion of the Keras model"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SearchOptions:
    board: BoardRef
    output: Path
    sram_kb: float | None = None
    flash_kb: float | None = None
    latency_ms: float | None = None
    trials: int = 8
    epochs: int = 2
    workers: int = 1
    address: str | None = None  # join this Ray cluster instead of starting a local one
    resume: bool = False
    seed: int = 0
    max_proposals: int | None = None  # candidates proposed at most (default: trials x PROPOSALS_PER_TRIAL)
    space_samples: int = DEFAULT_SAMPLES  # TinyNAS's first step: samples planned per (width, resolution) pair


@dataclass(frozen=True)
class SearchData:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    shape: DataShape


@dataclass(frozen=True)
class SearchResult:
    output: Path
    records: tuple[TrialRecord, ...]
    best: TrialRecord | None
    best_file: Path | None
    plot: Path | None
    limits: Limits
    space: SpaceDecision | None = None

    def as_json(self) -> dict[str, Any]:
        return {"output": str(self.output), "trials": [r.as_json() for r in self.records],
                "best": self.best.as_json() if self.best is not None else None,
                "best_file": str(self.best_file) if self.best_file else None,
                "plot": str(self.plot) if self.plot else None,
                "space": self.space.as_json() if self.space is not None else None,
                "limits": {"sram_bytes": self.limits.sram_bytes, "flash_bytes": self.limits.flash_bytes,
                           "latency_ms": self.limits.latency_ms}}


def read_search_file(path: Path) -> tuple[str, SearchData, bool]:
    """The search file's source, its data and whether it defines its own space()."""
    if not path.is_file():
        raise SearchError(f"{path}: no such file; give a search file defining dataset() (and optionally space())")
    source = path.read_text()
    try:
        module = search_module(source, path.name)
    except Exception as exc:
        raise SearchError(f"{path}: importing it raised {type(exc).__name__}: {exc}") from exc
    if not callable(getattr(module, "dataset", None)):
        raise SearchError(f"{path}: defines no dataset() returning ((x_train, y_train), (x_val, y_val))")
    try:
        (x_train, y_train), (x_val, y_val) = module.dataset()
    except Exception as exc:
        raise SearchError(f"{path}: dataset() raised or did not return ((x_train, y_train), (x_val, y_val)): "
                          f"{type(exc).__name__}: {exc}") from exc
    arrays = [np.asarray(a) for a in (x_train, y_train, x_val, y_val)]
    try:
        shape = data_shape(arrays[0], arrays[1])
    except ValueError as exc:
        raise SearchError(f"{path}: {exc}") from None
    data = SearchData(arrays[0].astype(np.float32), arrays[1], arrays[2].astype(np.float32), arrays[3], shape)
    return source, data, callable(getattr(module, "space", None))


def _open_study(options: SearchOptions) -> Any:
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    journal = options.output / JOURNAL_FILE
    if journal.exists() and not options.resume:
        raise SearchError(f"{options.output} holds a search already ({journal.name}): continue it with --resume, "
                          "or give another -o folder")
    if options.resume and not journal.exists():
        raise SearchError(f"--resume: {options.output} holds no search ({journal.name}) to continue")
    options.output.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = JournalStorage(JournalFileBackend(str(journal)))
    sampler = optuna.samplers.TPESampler(seed=options.seed + len(_previous_numbers(journal)))
    return optuna.create_study(study_name=STUDY_NAME, storage=storage, directions=["maximize", "minimize"],
                               sampler=sampler, load_if_exists=options.resume)


def _previous_numbers(journal: Path) -> list[int]:
    """Only to vary the sampler's seed on --resume: the journal's line count."""
    return list(range(len(journal.read_text().splitlines()))) if journal.exists() else []


def _start_ray(options: SearchOptions) -> Any:
    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    env = {"TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0"}
    try:
        if options.address is not None:
            ray.init(address=options.address, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.ERROR, runtime_env={"env_vars": env})
        else:
            ray.init(num_cpus=options.workers, include_dashboard=False, log_to_driver=False,
                     logging_level=logging.ERROR, _node_ip_address="127.0.0.1",
                     runtime_env={"env_vars": {**env, **_pythonpath()}})
    except Exception as exc:  # ray raises ConnectionError, RuntimeError, ValueError ... for an unreachable cluster
        hint = ("; a cluster started with `ray start` uses token authentication by default (Ray 2.60): run tinyc with "
                "RAY_AUTH_MODE=token, the cluster's token in ~/.ray/auth_token or RAY_AUTH_TOKEN"
                if options.address is not None and os.environ.get("RAY_AUTH_MODE") != "token" else "")
        raise SearchError(f"Ray did not start ({'--address ' + options.address if options.address else 'local'}): "
                          f"{type(exc).__name__}: {exc}{hint}") from exc
    return ray


def _pythonpath() -> dict[str, str]:
    value = os.environ.get("PYTHONPATH")
    return {"PYTHONPATH": value} if value else {}


def _record(trial: Any) -> TrialRecord | None:
    data = trial.user_attrs.get(RECORD_ATTR)
    return TrialRecord.from_json(data) if isinstance(data, dict) else None


def run_search(search_file: Path, options: SearchOptions, progress: Progress) -> SearchResult:
    from optuna.trial import TrialState

    board = get_board(options.board)
    limits = Limits.for_board(board, sram_kb=options.sram_kb, flash_kb=options.flash_kb,
                              latency_ms=options.latency_ms)
    source, data, own_space = read_search_file(search_file)
    study = _open_study(options)
    for stale in study.get_trials(states=(TrialState.RUNNING,)):  # an interrupted run's last trials
        study.tell(stale.number, state=TrialState.FAIL)
    (options.output / WEIGHTS_DIR).mkdir(exist_ok=True)
    progress(f"search: {search_file.name} for {board.name}: SRAM <= {limits.sram_bytes:,} B, flash <= "
             f"{limits.flash_bytes:,} B" + (f", estimated latency <= {limits.latency_ms:g} ms"
                                            if limits.latency_ms is not None else "")
             + f"; {options.trials} new trials, {options.epochs} epochs each")
    space = None if own_space else _space_decision(study, data.shape, board, limits, options, progress)
    fixed = space.chosen if space is not None else None
    try:
        _run_trials(study, source, search_file.name, data, own_space, fixed, board, limits, options, progress)
    except KeyboardInterrupt:
        _write_outputs(study, source, data, own_space, board.name, limits, options, progress, space)
        progress(f"search: interrupted; {options.output} holds every finished trial: continue with --resume")
        raise
    return _write_outputs(study, source, data, own_space, board.name, limits, options, progress, space)


def _space_decision(study: Any, shape: DataShape, board: Any, limits: Limits, options: SearchOptions,
                    progress: Progress) -> SpaceDecision | None:
    """TinyNAS's first step, or its earlier result on --resume (None: a study begun before it existed, whose
    parameters range over every width and resolution, continues so)."""
    path = options.output / SPACE_FILE
    if path.exists():
        decision = SpaceDecision.from_json(json.loads(path.read_text()))
        progress(f"search: space from {path.name}: width {decision.chosen.width:g}, resolution "
                 f"{decision.chosen.resolution}")
        return decision
    if study.get_trials():
        return None

    def said(score: PairScore) -> None:
        progress(f"search: space width {score.choice.width:g} x resolution {score.choice.resolution}: "
                 f"{score.fitting}/{score.samples} samples fit, {score.mean_fitting_macs / 1e6:.2f} M MACs on "
                 "average (planned, untrained)")

    decision = choose_space(shape, board, limits, samples=options.space_samples, seed=options.seed, progress=said)
    path.write_text(json.dumps(decision.as_json(), indent=1, sort_keys=True) + "\n")
    progress(f"search: space chosen: width {decision.chosen.width:g}, resolution {decision.chosen.resolution} "
             f"({decision.rule})")
    return decision


class _Ray:
    """Ray, started when the first candidate fits (a search whose candidates are all rejected never starts it)."""

    def __init__(self, options: SearchOptions, data: SearchData) -> None:
        self.options, self.data = options, data
        self.ray: Any = None
        self.train: Any = None
        self.data_refs: list[Any] = []

    def submit(self, recipe: Recipe, *, epochs: int, seed: int) -> Any:
        if self.ray is None:
            self.ray = _start_ray(self.options)
            self.train = self.ray.remote(num_cpus=1)(train_candidate)
            self.data_refs = [self.ray.put(a) for a in (self.data.x_train, self.data.y_train, self.data.x_val,
                                                         self.data.y_val)]
        return self.train.remote(recipe, *self.data_refs, epochs=epochs, seed=seed)

    def wait(self, refs: list[Any]) -> Any:
        """The first of `refs` to finish."""
        done, _ = self.ray.wait(refs, num_returns=1)
        return done[0]

    def get(self, ref: Any) -> Any:
        return self.ray.get(ref)

    def cancel(self, ref: Any) -> None:
        self.ray.cancel(ref, force=True)

    def shutdown(self) -> None:
        if self.ray is not None:
            self.ray.shutdown()


def _run_trials(study: Any, source: str, name: str, data: SearchData, own_space: bool, fixed: SpaceChoice | None,
                board: Any, limits: Limits, options: SearchOptions, progress: Progress) -> None:
    ray = _Ray(options, data)
    pending: dict[Any, tuple[Any, Recipe, dict[str, Any]]] = {}
    try:
        _trial_loop(study, ray, pending, source, name, data, own_space, fixed, board, limits, options, progress)
    except KeyboardInterrupt:
        _interrupted(study, ray, pending)
        raise
    finally:
        ray.shutdown()


def _interrupted(study: Any, ray: _Ray, pending: dict[Any, tuple[Any, Recipe, dict[str, Any]]]) -> None:
    """Ctrl-C: cancel the trainings in flight and tell their trials FAIL with the reason (trial asked but not yet
    planned stay RUNNING in the journal: --resume tells them FAIL)."""
    from optuna.trial import TrialState

    for ref, (trial, recipe, costs) in pending.items():
        ray.cancel(ref)
        record = TrialRecord(trial.number, TrialStatus.FAILED, recipe.param_dict, costs, None, INTERRUPTED)
        trial.set_user_attr(RECORD_ATTR, record.as_json())
        study.tell(trial, state=TrialState.FAIL)
    pending.clear()


def _trial_loop(study: Any, ray: _Ray, pending: dict[Any, tuple[Any, Recipe, dict[str, Any]]], source: str,
                name: str, data: SearchData, own_space: bool, fixed: SpaceChoice | None, board: Any,
                limits: Limits, options: SearchOptions, progress: Progress) -> None:
    from optuna.trial import TrialState

    asked = accepted = 0
    limit = options.max_proposals if options.max_proposals is not None else options.trials * PROPOSALS_PER_TRIAL
    while (accepted < options.trials and asked < limit) or pending:
        while accepted < options.trials and asked < limit and len(pending) < options.workers:
            trial = study.ask()
            asked += 1
            if _told_as_duplicate(study, trial, _suggest(trial, source, name, data, own_space, fixed)[0], progress):
                continue
            recipe, costs, reason = _propose(trial, source, name, data, own_space, fixed, board, limits)
            if reason is not None:
                record = TrialRecord(trial.number, TrialStatus.REJECTED, recipe.param_dict, costs, None, reason)
                trial.set_user_attr(RECORD_ATTR, record.as_json())
                trial.set_constraint(CONSTRAINT, 1.0)
                study.tell(trial, [0.0, float(costs["estimated_ms"]) if costs else REJECTED_UNKNOWN_MS])
                progress(f"search: trial {trial.number} rejected before training: {reason}")
                if asked == limit and accepted < options.trials:
                    progress(f"search: {asked} candidates proposed, {accepted} fit: stopping (widen the limits or "
                             "give a smaller space)")
                continue
            accepted += 1
            assert costs is not None
            progress(f"search: trial {trial.number} fits ({costs['peak_sram_bytes']:,} B SRAM, "
                     f"{costs['flash_bytes']:,} B flash, {costs['estimated_ms']:.2f} ms estimated): training")
            ref = ray.submit(recipe, epochs=options.epochs, seed=options.seed + trial.number)
            pending[ref] = (trial, recipe, costs)
        if not pending:
            continue
        done = ray.wait(list(pending))
        trial, recipe, costs = pending.pop(done)
        try:
            trained: Trained = ray.get(done)
        except Exception as exc:  # a RayTaskError wraps whatever the training raised
            reason = f"training failed: {type(exc).__name__}: {str(exc).strip().splitlines()[-1]}"
            record = TrialRecord(trial.number, TrialStatus.FAILED, recipe.param_dict, costs, None, reason)
            trial.set_user_attr(RECORD_ATTR, record.as_json())
            study.tell(trial, state=TrialState.FAIL)
            progress(f"search: trial {trial.number} {reason}")
            continue
        save_weights(options.output / WEIGHTS_DIR / f"trial{trial.number}.npz", trained.weights)
        record = TrialRecord(trial.number, TrialStatus.TRAINED, recipe.param_dict, costs, trained.val_accuracy, None)
        trial.set_user_attr(RECORD_ATTR, record.as_json())
        trial.set_constraint(CONSTRAINT, 0.0)
        study.tell(trial, [trained.val_accuracy, float(costs["estimated_ms"])])
        best = best_trial([r for t in study.get_trials() if (r := _record(t)) and r.status is TrialStatus.TRAINED])
        progress(f"search: trial {trial.number} val accuracy {trained.val_accuracy:.4f} (trained "
                 f"{trained.train_seconds:.1f} s); best so far: trial {best.number if best else '-'}"
                 + (f" {best.val_accuracy:.4f}" if best and best.val_accuracy is not None else ""))


def _told_as_duplicate(study: Any, trial: Any, recipe: Recipe, progress: Progress) -> bool:
    """A proposal with the parameters of an earlier finished trial is not planned or trained again: it is told the
    earlier trial's values and constraint (a DUPLICATE record naming it). True when it was."""
    from optuna.trial import TrialState

    earlier = next((t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                    if t.number != trial.number and tuple(sorted(t.params.items())) == recipe.params), None)
    if earlier is None:
        return False
    before = _record(earlier)
    record = TrialRecord(trial.number, TrialStatus.DUPLICATE, recipe.param_dict, before.costs if before else None, None,
                         f"the same architecture as trial {earlier.number} (not trained again)")
    trial.set_user_attr(RECORD_ATTR, record.as_json())
    trial.set_constraint(CONSTRAINT, float(earlier.constraints.get(CONSTRAINT, 0.0)))
    study.tell(trial, list(earlier.values))
    progress(f"search: trial {trial.number}: {record.reason}")
    return True


def _suggest(trial: Any, source: str, name: str, data: SearchData, own_space: bool, fixed: SpaceChoice | None
             ) -> tuple[Recipe, Any]:
    """The trial's recipe (its parameters suggested by the space) and, for the default space, its spec."""
    spec = None
    if own_space:
        module = search_module(source, name)
        module.space(trial)  # records the trial's parameters; the builder is rebuilt from them
    else:
        spec = default_spec(trial, data.shape, fixed=fixed)
    recipe = Recipe(search_source=source, search_name=name, params=tuple(sorted(trial.params.items())),
                    shape=data.shape, default_space=not own_space)
    return recipe, spec


def _propose(trial: Any, source: str, name: str, data: SearchData, own_space: bool, fixed: SpaceChoice | None,
             board: Any, limits: Limits) -> tuple[Recipe, dict[str, Any] | None, str | None]:
    """The trial's recipe, its costs and why it is rejected (None: it fits). A default-space candidate is planned
    from its synthetic graph first (milliseconds): one over the SRAM or latency limit is rejected without the
    seconds of an int8 conversion (the synthetic plan's SRAM and MACs are the converted model's; its flash is not
    exact, so flash is checked on the converted model only)."""
    recipe, spec = _suggest(trial, source, name, data, own_space, fixed)
    try:
        if spec is not None:
            report = plan_graph(synthetic_graph(spec), limits.board(board), name=f"trial{trial.number}")
            quick = costs_of(report, params=count(spec).params)
            reason = rejection(quick, replace(limits, flash_bytes=report.flash_bytes))  # flash: below
            if reason is not None:
                return recipe, {**quick.as_json(), "planned_from": PlanSource.SYNTHETIC.value}, reason
        model = build_candidate(recipe, batch_size=1)
        costs = plan_candidate(model, prepare_inputs(recipe, data.x_train), board, limits,
                               name=f"trial{trial.number}")
    except TinycError as exc:
        return recipe, None, f"tinyc cannot take it: {exc}"
    return recipe, {**costs.as_json(), "planned_from": PlanSource.CONVERTED.value}, rejection(costs, limits)


def _write_outputs(study: Any, source: str, data: SearchData, own_space: bool, board_name: str, limits: Limits,
                   options: SearchOptions, progress: Progress, space: SpaceDecision | None) -> SearchResult:
    records = [r if (r := _record(t)) is not None else
               TrialRecord(t.number, TrialStatus.FAILED, dict(t.params), None, None, "interrupted before it finished")
               for t in study.get_trials()]
    trained = [r for r in records if r.status is TrialStatus.TRAINED]
    best = best_trial(trained)
    summary = {"board": board_name, "limits": {"sram_bytes": limits.sram_bytes, "flash_bytes": limits.flash_bytes,
                                                "latency_ms": limits.latency_ms},
               "latency_note": "estimated_ms is an estimate: MACs x per-op instructions/MAC (tinyc/search/"
                               "latency.py), not a measurement; `tinyc bench OUT/best.py` measures",
               "accuracy_note": "val_accuracy: the float Keras model on the validation split of dataset()",
               "space": space.as_json() if space is not None else None,
               "best_trial": best.number if best else None,
               "pareto_front": [t.number for t in pareto_front(trained)]}
    write_trials(options.output, records, summary)
    best_file = None
    if best is not None:
        with np.load(options.output / WEIGHTS_DIR / f"trial{best.number}.npz") as saved:
            weights = [saved[f"w{index}"] for index in range(len(saved.files))]
        best_file = write_best(options.output, best, search_source=source, input_shape=data.shape.input_shape,
                               num_classes=data.shape.num_classes, default_space=not own_space, weights=weights)
    plot = write_plots(options.output, trained, board_name=board_name)
    progress(f"search: {len(records)} trials ({len(trained)} trained, "
             f"{sum(r.status is TrialStatus.REJECTED for r in records)} rejected before training); "
             + (f"best: trial {best.number}, val accuracy {best.val_accuracy:.4f}, {best.estimated_ms:.2f} ms "
                f"estimated -> {best_file}" if best is not None and best.val_accuracy is not None
                else "no trial was trained"))
    return SearchResult(output=options.output, records=tuple(records), best=best, best_file=best_file, plot=plot,
                        limits=limits, space=space)
