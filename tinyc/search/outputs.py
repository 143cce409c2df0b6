"""What a search writes in OUT: trials.json (every trial), best.py with best.json, best.weights.npz and
search_space.py beside it, and pareto.png (validation accuracy against estimated latency, arena as colour) with
pareto.html (the same plot embedded, and a table of every trial)."""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

TRIALS_FILE = "trials.json"
BEST_FILE = "best.py"
PLOT_FILE = "pareto.png"
HTML_FILE = "pareto.html"


class TrialStatus(enum.Enum):
    """What became of a trial (trials.json's `status`)."""
    TRAINED = "trained"
    REJECTED = "rejected"  # did not fit the limits (`reason`), before any training
    DUPLICATE = "duplicate"  # the architecture of an earlier trial, not trained again (`reason` names it)
    FAILED = "failed"  # training failed or was interrupted (`reason`)


@dataclass(frozen=True)
class TrialRecord:
    """One trial as trials.json shows it."""
    number: int
    status: TrialStatus
    params: dict[str, Any]
    costs: dict[str, Any] | None
    val_accuracy: float | None
    reason: str | None

    @staticmethod
    def from_json(data: dict[str, Any]) -> TrialRecord:
        return TrialRecord(number=int(data["number"]), status=TrialStatus(data["status"]), params=dict(data["params"]),
                           costs=data.get("costs"), val_accuracy=data.get("val_accuracy"), reason=data.get("reason"))

    def as_json(self) -> dict[str, Any]:
        return {"number": self.number, "status": self.status.value, "params": self.params, "costs": self.costs,
                "val_accuracy": self.val_accuracy, "reason": self.reason}

    @property
    def estimated_ms(self) -> float:
        assert self.costs is not None
        return float(self.costs["estimated_ms"])


def pareto_front(trained: list[TrialRecord]) -> list[TrialRecord]:
    """The trained trials no other beats on both accuracy (higher) and estimated latency (lower), by latency."""
    front = [t for t in trained
             if not any((o.val_accuracy or 0) >= (t.val_accuracy or 0) and o.estimated_ms <= t.estimated_ms
                        and ((o.val_accuracy or 0) > (t.val_accuracy or 0) or o.estimated_ms < t.estimated_ms)
                        for o in trained)]
    return sorted(front, key=lambda t: t.estimated_ms)


def best_trial(trained: list[TrialRecord]) -> TrialRecord | None:
    """The most accurate trained trial; the faster (estimated) of equals, then the earlier."""
    if not trained:
        return None
    return min(trained, key=lambda t: (-(t.val_accuracy or 0.0), t.estimated_ms, t.number))


def write_trials(folder: Path, records: list[TrialRecord], summary: dict[str, Any]) -> Path:
    path = folder / TRIALS_FILE
    path.write_text(json.dumps({**summary, "trials": [r.as_json() for r in records]}, indent=1, sort_keys=True)
                    + "\n")
    return path


def save_weights(target: Path | io.BytesIO, weights: list[np.ndarray]) -> None:
    """An .npz of `weights` in keras.Model.get_weights() order, named w0, w1, ..."""
    named: dict[str, Any] = {f"w{index}": w for index, w in enumerate(weights)}
    np.savez(target, **named)


def write_best(folder: Path, record: TrialRecord, *, search_source: str, input_shape: tuple[int, int, int],
               num_classes: int, default_space: bool, weights: list[np.ndarray]) -> Path:
    """best.py and the files it reads beside it. best.py ends with the digest of its weights and parameters, so
    that tinyc's conversion cache (keyed on the model file's bytes) never serves an older search's model."""
    description = {"trial": record.number, "params": record.params, "input_shape": list(input_shape),
                   "num_classes": num_classes, "default_space": default_space, "val_accuracy": record.val_accuracy,
                   "costs": record.costs}
    (folder / "best.json").write_text(json.dumps(description, indent=1, sort_keys=True) + "\n")
    (folder / "search_space.py").write_text(search_source)
    buffer = io.BytesIO()
    save_weights(buffer, weights)
    (folder / "best.weights.npz").write_bytes(buffer.getvalue())
    digest = hashlib.sha256(buffer.getvalue() + json.dumps(description, sort_keys=True).encode()).hexdigest()
    template = (Path(__file__).with_name("best_model.py")).read_text()
    path = folder / BEST_FILE
    path.write_text(template + f'\nSEARCH_DIGEST = "{digest}"  # the weights and parameters this file loads\n')
    return path


def write_plots(folder: Path, trained: list[TrialRecord], *, board_name: str) -> Path | None:
    """pareto.png and pareto.html (the PNG embedded, with a table of the trained trials); the PNG's path."""
    if not trained:
        return None
    png = _plot_png(trained, board_name=board_name)
    path = folder / PLOT_FILE
    path.write_bytes(png)
    (folder / HTML_FILE).write_text(_plot_html(trained, png, board_name=board_name))
    return path


def _plot_html(trained: list[TrialRecord], png: bytes, *, board_name: str) -> str:
    front = {t.number for t in pareto_front(trained)}
    rows = []
    for t in sorted(trained, key=lambda r: r.number):
        costs = t.costs or {}
        params = ", ".join(f"{k}={v}" for k, v in sorted(t.params.items()))
        rows.append(f"<tr><td>{t.number}</td><td>{'yes' if t.number in front else ''}</td>"
                    f"<td>{(t.val_accuracy or 0.0):.4f}</td><td>{t.estimated_ms:.3f}</td>"
                    f"<td>{costs.get('macs', 0):,}</td><td>{costs.get('arena_bytes', 0):,}</td>"
                    f"<td>{costs.get('peak_sram_bytes', 0):,}</td><td>{costs.get('flash_bytes', 0):,}</td>"
                    f"<td style='text-align:left'>{html.escape(str(costs.get('schedule', '')))}</td>"
                    f"<td style='text-align:left'>{html.escape(params)}</td></tr>")
    image = base64.b64encode(png).decode()
    title = f"tinyc search on {html.escape(board_name)}: validation accuracy against estimated latency"
    return (f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{title}</title>"
            "<style>td,th{padding:2px 8px;text-align:right}table{border-collapse:collapse}</style></head><body>\n"
            f"<h1>{title}</h1>\n<p>Estimated latency: MACs x per-op instructions/MAC (not measured; "
            "<code>tinyc bench</code> measures). Accuracy: the float model on the validation split.</p>\n"
            f"<img src='data:image/png;base64,{image}'>\n<table border='1'><tr><th>trial</th><th>Pareto</th>"
            "<th>val accuracy</th><th>est. ms</th><th>MACs</th><th>arena B</th><th>peak SRAM B</th><th>flash B</th>"
            f"<th>schedule</th><th>parameters</th></tr>\n" + "\n".join(rows) + "\n</table></body></html>\n")


def _plot_png(trained: list[TrialRecord], *, board_name: str) -> bytes:
    """Validation accuracy against estimated latency, the arena bytes as colour, the Pareto front as a line."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=100)
    ms = [t.estimated_ms for t in trained]
    accuracy = [t.val_accuracy or 0.0 for t in trained]
    arena_kb = [float((t.costs or {})["arena_bytes"]) / 1024 for t in trained]
    points = axes.scatter(ms, accuracy, c=arena_kb, cmap="viridis")
    figure.colorbar(points, ax=axes, label="arena (KiB)")
    front = pareto_front(trained)
    axes.plot([t.estimated_ms for t in front], [t.val_accuracy or 0.0 for t in front], "r--", label="Pareto front")
    for t in trained:
        axes.annotate(str(t.number), (t.estimated_ms, t.val_accuracy or 0.0), fontsize=7)
    axes.set_xlabel(f"estimated latency on {board_name} (ms; MACs x per-op instructions/MAC, not measured)")
    axes.set_ylabel("validation accuracy (float)")
    axes.legend(loc="best")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()
