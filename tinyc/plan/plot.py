"""The picture a user looks at before flashing: memory per layer, per-layer schedule vs the chosen one,
against the board's SRAM limit (PNG with matplotlib, or an HTML page that embeds it with the table)."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from tinyc.plan.pipeline import Planned
from tinyc.plan.placement import plan_memory
from tinyc.plan.report import MemoryReport, memory_report
from tinyc.plan.schedule import per_layer_schedule


def _per_layer_report(planned: Planned) -> MemoryReport:
    schedule = per_layer_schedule(planned.lowered, in_place=True)
    return memory_report(schedule, plan_memory(schedule), planned.board, model_name=planned.loaded.name)


def _png(planned: Planned) -> bytes:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    chosen = planned.report
    per_layer = _per_layer_report(planned)
    fixed = chosen.stack_bytes + chosen.statics_bytes
    fig, ax = plt.subplots(figsize=(10, 4.5), dpi=110)
    for report, label, style in ((per_layer, f"per-layer (arena {per_layer.arena_bytes:,} B)", "--"),
                                 (chosen, f"{chosen.schedule} (arena {chosen.arena_bytes:,} B)", "-")):
        xs = [r.op_index for r in report.layers]
        ys = [(r.live_activation_bytes + r.scratch_bytes + fixed) / 1024 for r in report.layers]
        ax.step(xs, ys, where="mid", linestyle=style, label=label)
    ax.axhline(chosen.board.sram.size_bytes / 1024, color="red", linewidth=1,
               label=f"{chosen.board.name} SRAM {chosen.board.sram.size_bytes // 1024} KB")
    ax.set_ylabel("SRAM in use (KB)")
    ax.set_xlabel("op  (SRAM = live activations + scratch + stack + statics)")
    ax.set_title(f"{chosen.model_name} on {chosen.board.name}: {chosen.verdict().split(';')[0]}", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return figure_png(fig)


def figure_png(fig) -> bytes:  # type: ignore[no-untyped-def]
    """A finished matplotlib figure as PNG bytes, closed; no version or date in the file: same bytes each time."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def _html(planned: Planned, png: bytes) -> str:
    r = planned.report
    rows = "\n".join(
        f"<tr><td>{x.op_index}</td><td>{html.escape(x.op)}</td><td>{html.escape(x.layer)}</td>"
        f"<td>{'x'.join(map(str, x.output_shape))}</td>"
        f"<td>{'x'.join(map(str, x.patch_shape[1:])) if x.patch_shape else ''}</td><td>{x.macs:,}</td>"
        f"<td>{x.live_activation_bytes:,}</td><td>{x.scratch_bytes:,}</td></tr>" for x in r.layers)
    image = base64.b64encode(png).decode()
    return (f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{html.escape(r.model_name)} memory</title>"
            "<style>body{font-family:sans-serif}td,th{padding:2px 8px;text-align:right}</style></head><body>\n"
            f"<h1>{html.escape(r.model_name)} on {html.escape(r.board.name)}</h1>\n<p>{html.escape(r.verdict())}</p>\n"
            f"<p>schedule: {html.escape(r.schedule)}</p>\n<img src='data:image/png;base64,{image}'>\n"
            "<table><tr><th>op</th><th>kind</th><th>layer</th><th>output</th><th>patch</th><th>MACs</th>"
            f"<th>live B</th><th>scratch B</th></tr>\n{rows}\n</table></body></html>\n")


def write_memory_plot(planned: Planned, path: Path) -> None:
    """PNG for a .png path, an HTML page (embedding the PNG and the per-layer table) otherwise."""
    png = _png(planned)
    if path.suffix.lower() == ".png":
        path.write_bytes(png)
    else:
        path.write_text(_html(planned, png))
