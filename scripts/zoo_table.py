#!/usr/bin/env python3
"""The model zoo on both boards: sizes, arenas (tinyc vs TFLite Micro), fit, and a 2-sample QEMU check; writes ZOO.md.

    python scripts/zoo_table.py                       # writes ZOO.md at the repository root
    python scripts/zoo_table.py --jobs 2 --models tiny_dscnn digits_mcunet   # re-run some; the others' rows kept
    python scripts/zoo_table.py --boards alif_e7_hp   # every model on one board; the other boards' rows kept

Every model's rows are kept in scripts/results/zoo.json; ZOO.md is rendered from all of them in the zoo's order.

Each model runs in its own child process (`--one MODEL` prints its rows as JSON), so a reference interpreter
that aborts the process costs that model's verification, not the table. Per model: the int8 graph's parameters,
MACs and weight bytes; TFLite Micro's smallest arena (`tinyc.run.oracle.tflm_arena_bytes`);
per board: tinyc's plan (the schedule `auto` chooses, and the per-layer arena; where that does not fit in SRAM
alone, patches with the input frame streamed, as the docker regression does), the memory verdict, and where it
fits, `tinyc verify` with 2 samples (QEMU, byte for byte against TFLite Micro). The model file is converted to
int8 once per child: the conversion is deterministic, and the same file otherwise converts once per plan.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tinyc.boards import known_boards  # noqa: E402  (after the path: runs from a checkout)
MODELS = ("tiny_dscnn", "tiny_mbv2", "tiny_resnet", "digits_mcunet", "kws_dscnn", "ic_resnet8", "vww_mbv1",
          "mbv3_small_96", "fomo_96", "unet_small", "ad_autoencoder", "har_conv1d", "kws_lstm", "mcunet_f412", "mcunet_f412_patch",
          "mcunet_h743", "mbv2_224", "mbv2_224_rd", "mbv2_035_144")
REPORT_ONLY = {"mbv2_224": "report only: far too big for either board",
               "mbv2_224_rd": "report only: far too big for either board",
               "mbv2_035_144": "report only: the msf-CNN comparison point (1000-class random weights)"}
BOARDS = tuple(known_boards())  # every board file in boards/
VERIFY_SAMPLES = 2
COMMAND = "python scripts/zoo_table.py"
RESULTS = ROOT / "scripts" / "results" / "zoo.json"
CHILD_TIMEOUT_S = 1200


def _params(graph) -> int:  # type: ignore[no-untyped-def]
    """Weights + biases of every conv, depthwise, fully connected and LSTM op (BatchNorm is folded in)."""
    from tinyc.ir.graph import OpKind
    weighted = {OpKind.CONV_2D: 3, OpKind.DEPTHWISE_CONV_2D: 3, OpKind.FULLY_CONNECTED: 3,
                OpKind.UNIDIRECTIONAL_SEQUENCE_LSTM: 13}  # inputs 1 .. n-1: weights and biases
    return sum(graph.tensor(i).num_elements for op in graph.ops if op.kind in weighted
               for i in op.inputs[1:weighted[op.kind]] if i >= 0)


def one_model(model: str, boards_asked: tuple[str, ...] = BOARDS) -> dict:
    """Everything the table says about one model, on the boards asked."""
    from tinyc.plan.pipeline import plan_model
    from tinyc.run.verify import verify
    from tinyc.errors import TinycError
    from tinyc.run.oracle import OracleCrash, tflm_arena_bytes
    from tinyc.plan.search import ScheduleOptions
    path = ROOT / "models" / f"{model}.py"
    boards: dict[str, dict] = {}
    first = None
    for board in boards_asked:
        started = time.monotonic()
        options = ScheduleOptions()
        planned = plan_model(path, board, options=options)
        if planned.report.sram_over_bytes > 0 and planned.report.flash_over_bytes <= 0:
            streamed = ScheduleOptions(stream_input=True)  # patches without the input frame in SRAM may fit
            candidate = plan_model(path, board, options=streamed)
            if candidate.report.fits:
                options, planned = streamed, candidate
        first = first or planned
        rep, summary = planned.report, planned.report.schedule_summary
        row: dict = {"fits": rep.fits, "verdict": rep.verdict(), "arena_bytes": rep.arena_bytes,
                     "per_layer_arena_bytes": summary.per_layer_peak_bytes, "schedule": summary.kind.value,
                     "split": summary.split, "grid": list(summary.grid) if summary.grid else None,
                     "mac_overhead": round(summary.mac_overhead, 4),
                     "stream_input": options.stream_input,
                     "peak_sram_bytes": rep.peak_sram_bytes, "flash_bytes": rep.flash_bytes,
                     "sram_over_bytes": rep.sram_over_bytes, "flash_over_bytes": rep.flash_over_bytes,
                     "verified": None}
        if model in REPORT_ONLY:
            row["verified"] = {"status": "skipped", "detail": REPORT_ONLY[model]}
        elif rep.fits:
            try:
                result = verify(path, board, samples=VERIFY_SAMPLES, options=options)
                row["verified"] = {"status": "passed" if result.mismatched_samples == 0 else "mismatch",
                                   "reference": result.reference, "samples": result.samples,
                                   "mismatches": result.mismatched_samples,
                                   "first_mismatch": result.first_mismatch.describe() if result.first_mismatch else None,
                                   "notes": [n for n in result.report.notes if "interpreter" in n],
                                   "flash_bytes": result.report.flash_bytes,
                                   "peak_sram_bytes": result.report.peak_sram_bytes}
            except OracleCrash as crash:
                row["verified"] = {"status": "reference crashed", "detail": str(crash)}
            except TinycError as exc:
                row["verified"] = {"status": "failed", "detail": f"{type(exc).__name__}: {exc}"}
        else:
            row["verified"] = {"status": "skipped", "detail": "does not fit"}
        row["seconds"] = round(time.monotonic() - started, 1)
        boards[board] = row
    assert first is not None
    tflm, tflm_problem = None, None
    try:
        tflm = tflm_arena_bytes(first.loaded.tflite)  # in a child process: TFLM aborts on some models
    except OracleCrash as crash:
        tflm_problem = f"TFLM crashed: {crash}"
    graph = first.graph
    return {"model": model, "weights": getattr(first.loaded.module, "WEIGHTS", "?"), "params": _params(graph),
            "macs": graph.macs, "weights_bytes": first.report.weights_bytes, "tflm_arena_bytes": tflm,
            "tflm_arena_problem": tflm_problem, "boards": boards}


def run_child(model: str, boards: tuple[str, ...] = BOARDS) -> dict:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, __file__, "--one", model, "--boards", *boards], capture_output=True,
                          text=True,
                          timeout=CHILD_TIMEOUT_S, cwd=ROOT)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = " ".join(proc.stderr.strip().splitlines()[-3:])[-400:]
        print(f"{model}: child exited {proc.returncode}: {tail}", file=sys.stderr)
        return {"model": model, "error": f"the child process exited with status {proc.returncode}: {tail}"}
    print(f"{model}: {time.monotonic() - started:.0f} s", file=sys.stderr)
    return json.loads(lines[-1])


def _schedule(row: dict) -> str:
    if row["schedule"] == "patch":
        streamed = ", input streamed" if row["stream_input"] else ""
        return (f"patch {'x'.join(map(str, row['grid']))}, ops 0..{row['split'] - 1}{streamed}, "
                f"{100 * row['mac_overhead']:+.1f}% MACs")
    return row["schedule"]


def _fits(row: dict, board: str) -> str:
    if row["fits"]:
        return "yes"
    over = []
    if row["sram_over_bytes"] > 0:
        over.append(f"SRAM +{row['sram_over_bytes']:,} B")
    if row["flash_over_bytes"] > 0:
        over.append(f"flash +{row['flash_over_bytes']:,} B")
    return f"**no**: {', '.join(over)}"


def _verified(v: dict) -> str:
    status = v["status"]
    if status == "passed":
        ref = "TFLM" if v["reference"] == "tflite-micro" else f"{v['reference']} (see notes)"
        return f"yes: {v['samples']} samples bit-exact vs {ref}"
    if status == "mismatch":
        return f"**MISMATCH** ({v['mismatches']} of {v['samples']} samples): {v['first_mismatch']}"
    if status == "reference crashed":
        return "**not verified**: both reference interpreters crashed (firmware ran; see notes)"
    if status == "failed":
        return f"**failed**: {v['detail']}"
    return f"— ({v['detail']})"


def render(results: list[dict]) -> str:
    lines = [
        "# Model zoo × boards",
        "",
        f"Generated by `{COMMAND}` (every `models/*.py` of the zoo on every board of `boards/`; about 20 minutes on 2 "
        "cores; `--models NAME ...` re-runs some and keeps the others' rows from scripts/results/zoo.json).",
        "",
        "- **params**: weights + biases of the int8 graph's conv, depthwise and fully connected ops (BatchNorm",
        "  folded). **MACs**: the int8 graph's (conv, depthwise, fully connected). **weights B**: every constant the",
        "  ops read (int8 weights, int32 biases, requantization data), i.e. what goes to flash besides code.",
        "- **tinyc arena**: the schedule `tinyc` chooses by default (`--objective fastest`: the fewest MACs whose",
        "  arena leaves 10% of the board's SRAM free, or failing that fits) and, next to it, the per-layer",
        "  schedule's arena (in-place depthwise/1×1/ADD where they save bytes).",
        "- **TFLM arena**: the smallest arena TFLite Micro's interpreter allocates the model in",
        "  (`tinyc.run.oracle.tflm_arena_bytes`, bisection to 16 B; board independent).",
        "- **fits**: tinyc's memory report before linking (arena + stack + statics vs SRAM; weights + code vs",
        "  flash), with the default options; where only SRAM is over, also with patches and the input frame",
        "  streamed (`--stream-input`), and that plan is the one shown. The full verdicts are below the table.",
        f"- **verified**: `tinyc verify MODEL --board B --samples {VERIFY_SAMPLES}`: the firmware in QEMU, every",
        "  output byte against TFLite Micro (LiteRT's BUILTIN_REF kernels where TFLM itself crashes, said so).",
        "- **weights**: `trained` or `random` (fixed seed), as the model file says.",
        "",
        "| model | weights | board | params | MACs | weights B | tinyc arena B (schedule) | tinyc per-layer arena B |"
        " TFLM arena B | fits | verified |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    verdicts, crashes = [], []
    for r in results:
        if "error" in r:
            lines.append(f"| {r['model']} | | | | | | | | | | **error**: {r['error']} |")
            continue
        tflm = f"{r['tflm_arena_bytes']:,}" if r["tflm_arena_bytes"] is not None else r["tflm_arena_problem"]
        for board in (b for b in BOARDS if b in r["boards"]):
            row = r["boards"][board]
            lines.append(
                f"| {r['model']} | {r['weights']} | {board} | {r['params']:,} | {r['macs']:,} | "
                f"{r['weights_bytes']:,} | {row['arena_bytes']:,} ({_schedule(row)}) | "
                f"{row['per_layer_arena_bytes']:,} | {tflm} | {_fits(row, board)} | {_verified(row['verified'])} |")
            streamed = " (with `--stream-input`)" if row["stream_input"] else ""
            verdicts.append(f"- {r['model']} on {board}{streamed}: {row['verdict']}")
            v = row["verified"]
            if v["status"] == "reference crashed":
                crashes.append(f"- {r['model']} on {board}: not verified: {v['detail']}")
            elif v["status"] in ("passed", "mismatch") and v["reference"] != "tflite-micro":
                crashes.append(f"- {r['model']} on {board}: compared with {v['reference']}: {' '.join(v['notes'])}")
    if crashes:
        lines += ["", "## Notes on verification", "", *crashes]
    lines += ["", "## Verdicts (`tinyc report MODEL --board B`)", "", *verdicts]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="models in parallel (one child process each)")
    parser.add_argument("--output", type=Path, default=ROOT / "ZOO.md")
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--results", type=Path, default=RESULTS, help="the stored rows (JSON)")
    parser.add_argument("--boards", nargs="*", default=list(BOARDS), choices=BOARDS,
                        help="run these boards only (the other boards' rows of a model are kept)")
    parser.add_argument("--one", metavar="MODEL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    boards = tuple(args.boards)
    if args.one:
        print(json.dumps(one_model(args.one, boards)))
        return
    unknown = sorted(set(args.models) - set(MODELS))
    if unknown:
        raise SystemExit(f"not in the zoo table's list: {', '.join(unknown)} (add them to MODELS)")
    stored = json.loads(args.results.read_text()) if args.results.exists() else []
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        fresh = list(pool.map(lambda m: run_child(m, boards), args.models))
    before = {r["model"]: r for r in stored}
    for r in fresh:  # a model's rows on the boards not run this time are kept
        if "boards" in r and "boards" in before.get(r["model"], {}):
            r["boards"] = {b: row for b, row in {**before[r["model"]]["boards"], **r["boards"]}.items()
                           if b in BOARDS}
    results = [r for r in stored if r["model"] in MODELS and r["model"] not in args.models] + fresh
    results.sort(key=lambda r: MODELS.index(r["model"]))
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    args.output.write_text(render(results))
    print(args.output.read_text())


if __name__ == "__main__":
    main()
