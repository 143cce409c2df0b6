#!/usr/bin/env python3
"""Benchmark the model zoo on the boards of BOARDS (Cortex-M4, M7, M33), portable vs optimized kernels, and write BENCHMARKS.md.

    python scripts/bench_zoo.py            # writes BENCHMARKS.md at the repository root
    python scripts/bench_zoo.py --jobs 2 --output BENCHMARKS.md
    python scripts/bench_zoo.py --cmsis-nn PATH   # plus the per-op table against a CMSIS-NN v7.0.0 checkout
    python scripts/bench_zoo.py --models kws_lstm # re-measure some models; the others' rows are kept
    python scripts/bench_zoo.py --models --mlperf ../shared/mlperf-tiny   # only MLPerf Tiny's four trained models
                                                  # (stm32l4r5 and stm32f412 with the constants in flash and with
                                                  # --constants auto, and stage on the stm32l4r5; stm32h743 and
                                                  # alif_e7_hp)
    python scripts/bench_zoo.py --models --mlperf ../shared/mlperf-tiny --cmsis-nn PATH   # and, on the Cortex-M55
                                                  # (alif_e7_hp), per op kind against CMSIS-NN's Helium kernels

Every measurement is kept in scripts/results/benchmarks.json (model x board, and the CMSIS-NN comparison per
model); BENCHMARKS.md is rendered from all of them in the zoo's order, so a run for some models replaces only their
rows.

Counts are instructions per inference in QEMU with -icount shift=0 (`tinyc bench`), deterministic run to
run. A model that does not fit a board (tinyc's memory report) is listed as such and not run.
"""

from __future__ import annotations

import argparse
import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

ROOT = Path(__file__).resolve().parents[1]
MODELS = ("tiny_dscnn", "tiny_mbv2", "tiny_resnet", "digits_mcunet", "kws_dscnn", "ic_resnet8", "vww_mbv1",
          "mcunet_f412", "mcunet_h743", "mbv3_small_96", "fomo_96", "unet_small", "ad_autoencoder", "har_conv1d",
          "kws_lstm")
RESULTS = ROOT / "scripts" / "results" / "benchmarks.json"
MCUNET_STYLE = ("digits_mcunet", "mcunet_f412", "mcunet_h743")
BOARDS = ("stm32f412", "stm32h743", "stm32u575", "alif_e7_hp")  # Cortex-M4, M7, M33, M55 (Helium)
COMMAND = "python scripts/bench_zoo.py"
GOAL_MODELS = ("kws_dscnn", "vww_mbv1", "ic_resnet8", "mcunet_f412")  # issue 9: <= 1.2 instructions/MAC on the M4
GOAL_INSTRUCTIONS_PER_MAC = 1.2
CMSIS_MODELS = ("kws_dscnn", "vww_mbv1", "ic_resnet8")  # per op kind against Arm's CMSIS-NN, same schedule
CMSIS_GOAL = 0.8  # every op kind at most 0.8x CMSIS-NN's instructions
S4_MODELS = ("digits_mcunet", "kws_dscnn")  # --weights int4 against Arm's s4 kernels (issue 26), on the M4 board
MLPERF_CLOCK_HZ = 120_000_000  # NUCLEO-L4R5ZI (Cortex-M4), MLPerf Tiny v1.2 closed division
MLPERF_MS = {"vww_mbv1": 88.9, "ic_resnet8": 165.1, "kws_dscnn": 43.2}  # the best published latencies
# MLPerf Tiny's trained reference models (../shared/mlperf-tiny/README.md): file stem, and the best published
# closed-division latency on the NUCLEO-L4R5ZI at 120 MHz (ms).
MLPERF_FILES = {"kws_ref_model": 43.2, "pretrainedResnet_quant": 165.1, "vww_96_int8": 88.9, "ad01_int8": 4.05}
# The Cortex-M7's best (NUCLEO-H7A3ZI-Q @ 280 MHz, ST X-CUBE-AI, v1.2): the stm32h743 rows' comparison.
MLPERF_M7 = {"kws_ref_model": 11.3, "pretrainedResnet_quant": 40.8, "vww_96_int8": 23.8}
# The fastest Cortex-M result (v1.3, 2025): a Cortex-M85 (Helium) @ 480 MHz with TFLite Micro + CMSIS-NN: the
# alif_e7_hp rows' comparison (issue 27).
MLPERF_M85 = {"kws_ref_model": 3.46, "pretrainedResnet_quant": 8.48, "vww_96_int8": 13.4}
MLPERF_BOARDS = ("stm32l4r5", "stm32f412", "stm32h743", "alif_e7_hp")
# --constants per board: the H743's and the E7's estimates model no flash, so where their constants live does not show
MLPERF_CONSTANTS = {"stm32l4r5": ("flash", "auto", "stage"), "stm32f412": ("flash", "auto"), "stm32h743": ("flash",),
                    "alif_e7_hp": ("flash",)}
HELIUM_BOARD = "alif_e7_hp"  # MLPerf Tiny's models against CMSIS-NN's Helium (MVE) kernels here
HELIUM_CMSIS_FILES = ("kws_ref_model", "pretrainedResnet_quant", "vww_96_int8")


def run_one(model: str, board: str) -> dict:
    from tinyc.run.bench import bench_planned
    from tinyc.plan.pipeline import plan_model
    planned = plan_model(ROOT / "models" / f"{model}.py", board)
    if not planned.report.fits:
        return {"model": model, "board": board, "fits": False, "verdict": planned.report.verdict()}
    fast = bench_planned(planned, cycles=True)
    slow = bench_planned(planned, portable=True)
    if (fast.output != slow.output).any():
        raise SystemExit(f"{model} on {board}: optimized output differs from portable")
    by_op: dict[str, list[int]] = {}
    for layer in fast.layers:
        entry = by_op.setdefault(layer.op, [0, 0])
        entry[0] += layer.instructions
        entry[1] += layer.macs
    return {"model": model, "board": board, "fits": True, "macs": fast.macs, "clock_hz": fast.clock_hz,
            "portable": slow.instructions, "optimized": fast.instructions, "by_op": by_op,
            "code_portable": slow.kernel_code_bytes, "code_optimized": fast.kernel_code_bytes,
            "model_code": fast.model_code_bytes, "resolution": fast.instructions_per_tick,
            "cycles": fast.cycles.cycles if fast.cycles else None, "core": fast.cycles.core if fast.cycles else "",
            "cycles_with_flash": fast.cycles_with_flash}


def run_mlperf(path: str, board: str, constants: str = "flash") -> dict:
    """One MLPerf Tiny model on one board: optimized kernels, cycles at zero wait states and with the flash; the
    constants where `--constants` puts them."""
    from tinyc.plan.constants import ConstantsPolicy
    from tinyc.plan.search import ScheduleOptions
    from tinyc.run.bench import bench
    result = bench(Path(path), board, cycles=True, options=ScheduleOptions(constants=ConstantsPolicy(constants)))
    flash = result.cycles.flash if result.cycles else None
    return {"model": Path(path).stem, "board": board, "constants": constants,
            "sram_constants_bytes": result.sram_constants_bytes, "macs": result.macs, "clock_hz": result.clock_hz,
            "instructions": result.instructions, "cycles": result.cycles.cycles if result.cycles else None,
            "cycles_with_flash": result.cycles_with_flash, "flash": flash.as_json() if flash else None}


def render_mlperf(mlperf: list[dict]) -> list[str]:
    lines = ["", "## MLPerf Tiny's trained models (`../shared/mlperf-tiny/`, MLCommons, Apache-2.0)", "",
             f"`{COMMAND} --models --mlperf ../shared/mlperf-tiny` (optimized kernels, the default schedule). "
             "Estimated ms at the board's clock, at zero wait states and with the board's flash (`[flash.timing]`: "
             "wait states behind the ART accelerator, tinyc/run/flash.py); the published figure is the best "
             "closed-division result on the NUCLEO-L4R5ZI at 120 MHz (MLPerf Tiny v1.1-v1.2) for the Cortex-M4 "
             "boards, on the NUCLEO-H7A3ZI-Q at 280 MHz (v1.2) for the stm32h743, whose estimate (480 MHz, single "
             "issue, no caches modelled) is an upper bound, and a Cortex-M85 at 480 MHz with TFLite Micro and "
             "CMSIS-NN (v1.3) for the alif_e7_hp (Cortex-M55 at 400 MHz: the dual-beat Helium estimate, MRAM "
             "caches not modelled). `constants`: `flash` keeps every weight and layout in "
             "flash (as the published results do by default); `auto` (`--constants auto`) copies the ones read most "
             "per byte to SRAM at start-up while 10% of the SRAM stays free (the bytes moved in brackets; the "
             "memory report counts them in SRAM), so those reads pay no wait states; `stage` (`--constants stage`) "
             "keeps them in flash and copies a convolution's layouts into one SRAM buffer (the largest layer's bytes, "
             "in brackets) before it runs.", "",
             "| model | board | constants | MACs | instructions | instr/MAC | est. ms 0 WS | est. ms with flash | "
             "flash share | published (ms) | estimate / published |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in mlperf:
        zero = r["cycles"] / r["clock_hz"] * 1e3
        flash = r["cycles_with_flash"] / r["clock_hz"] * 1e3 if r["cycles_with_flash"] is not None else None
        m7, m85 = r["board"] == "stm32h743", r["board"] == HELIUM_BOARD
        published = MLPERF_M7.get(r["model"]) if m7 else MLPERF_M85.get(r["model"]) if m85 \
            else MLPERF_FILES[r["model"]]
        where = "M7 @ 280 MHz" if m7 else "M85 @ 480 MHz" if m85 else "L4R5 @ 120 MHz"
        shown = f"{published} ({where})" if published is not None else "n/a"
        constants = r.get("constants", "flash")
        if r.get("sram_constants_bytes"):
            constants += f" ({r['sram_constants_bytes']:,} B in SRAM)"
        lines.append(f"| {r['model']} | {r['board']} @ {r['clock_hz'] / 1e6:.0f} MHz | {constants} | {r['macs']:,} | "
                     f"{r['instructions']:,} | {r['instructions'] / r['macs']:.2f} | {zero:.2f} | "
                     + (f"{flash:.2f} | {flash / zero - 1:+.1%} | {shown} | {flash / published:.2f} |"
                        if flash is not None and published is not None else
                        f"n/a | | {shown} | {zero / published:.2f} (0 WS) |" if published is not None else
                        f"n/a | | {shown} | |"))
    lines += ["", "The goal (issue 24): every model at or below the best published latency on the stm32l4r5, estimated "
              "with its flash, and 0.8x of it as the aim:", ""]
    for constants in MLPERF_CONSTANTS["stm32l4r5"]:
        rows = [r for r in mlperf if r["board"] == "stm32l4r5" and r.get("constants", "flash") == constants
                and r["cycles_with_flash"] is not None]
        if not rows:
            continue
        ratios = {r["model"]: r["cycles_with_flash"] / r["clock_hz"] * 1e3 / MLPERF_FILES[r["model"]] for r in rows}
        met = [m for m, x in ratios.items() if x <= 1.0]
        aim = [m for m, x in ratios.items() if x <= 0.8]
        shown = ", ".join(f"{m} {x:.2f}x" for m, x in ratios.items())
        lines.append(f"- constants `{constants}`: at or below the published figure {len(met)} of {len(ratios)}, at "
                     f"or below 0.8x {len(aim)} of {len(ratios)} ({shown}).")
    return lines


def per_op_kind(ours: Any, arm: Any) -> dict[str, list[int]]:
    """Two benchmarks of the same plan summed per op kind: [ours, arm, MACs, layers]."""
    by_op: dict[str, list[int]] = {}
    for a, b in zip(ours.layers, arm.layers, strict=True):
        entry = by_op.setdefault(a.op, [0, 0, 0, 0])
        entry[0] += a.instructions
        entry[1] += b.instructions
        entry[2] += a.macs
        entry[3] += 1
    return by_op


def run_cmsis(model: str, cmsis_nn: str) -> dict:
    """One model on the M4 board, per layer without in-place ops (CMSIS-NN has no in-place kernels): tinyc's
    kernels and Arm's, per op kind."""
    from tinyc.plan.pipeline import plan_model
    from tinyc.plan.search import ScheduleOptions
    from tinyc.run.bench import bench_planned
    planned = plan_model(ROOT / "models" / f"{model}.py", "stm32f412",
                         options=ScheduleOptions(kind="per-layer", in_place=False))
    ours = bench_planned(planned)
    arm = bench_planned(planned, cmsis_nn_dir=Path(cmsis_nn))
    if (ours.output != arm.output).any():
        raise SystemExit(f"{model}: tinyc's output differs from CMSIS-NN's")
    by_op = per_op_kind(ours, arm)
    return {"model": model, "ours": ours.instructions, "arm": arm.instructions, "by_op": by_op}


def run_cmsis_helium(path: str, cmsis_nn: str) -> dict:
    """One MLPerf Tiny model on the Cortex-M55 board, per layer without in-place ops: tinyc's kernels (Helium and
    DSP) and CMSIS-NN's built for the M55 (its MVE kernels), per op kind; instructions and estimated cycles."""
    from tinyc.plan.pipeline import plan_model
    from tinyc.plan.search import ScheduleOptions
    from tinyc.run.bench import bench_planned
    planned = plan_model(Path(path), HELIUM_BOARD, options=ScheduleOptions(kind="per-layer", in_place=False))
    ours = bench_planned(planned, cycles=True)
    arm = bench_planned(planned, cmsis_nn_dir=Path(cmsis_nn), cycles=True)
    if (ours.output != arm.output).any():
        raise SystemExit(f"{Path(path).stem}: tinyc's output differs from CMSIS-NN's on {HELIUM_BOARD}")
    by_op = per_op_kind(ours, arm)
    return {"model": Path(path).stem, "ours": ours.instructions, "arm": arm.instructions, "by_op": by_op,
            "clock_hz": ours.clock_hz, "ours_cycles": ours.cycles.cycles if ours.cycles else None,
            "arm_cycles": arm.cycles.cycles if arm.cycles else None}


def render_cmsis_helium(compared: list[dict]) -> list[str]:
    lines = ["", f"## Per op kind against CMSIS-NN v7.0.0's Helium kernels ({HELIUM_BOARD}, Cortex-M55)", "",
             f"`{COMMAND} --models --mlperf ../shared/mlperf-tiny --cmsis-nn PATH`: MLPerf Tiny's trained models, per "
             "layer with no op in place, built once with tinyc's kernels (Helium for convolutions, fully connected "
             "and 3x3 depthwise layers, DSP for the others) and once against CMSIS-NN v7.0.0 compiled with "
             "`-mcpu=cortex-m55` (its MVE kernels); both give the same output bytes. Goal (issue 27): each model at "
             f"most {CMSIS_GOAL}x CMSIS-NN's instructions. Estimated ms at 400 MHz from the M55 cycle estimate "
             "(tinyc/run/cycles.py), beside the fastest published Cortex-M result (a Cortex-M85 at 480 MHz).", "",
             "| model | op kind | layers | MACs | tinyc instr | CMSIS-NN instr | tinyc / CMSIS-NN |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for c in compared:
        for op, (ours, arm, macs, count) in sorted(c["by_op"].items(), key=lambda kv: -kv[1][1]):
            lines.append(f"| {c['model']} | {op} | {count} | {macs:,} | {ours:,} | {arm:,} | "
                         f"{ours / arm if arm else 0.0:.2f} |")
        ratio = c["ours"] / c["arm"]
        goal = "met" if ratio <= CMSIS_GOAL else f"missed by {ratio / CMSIS_GOAL - 1:.0%}"
        ms = (f"; est. {_ms(c['ours_cycles'], c['clock_hz'])} ms vs CMSIS-NN's "
              f"{_ms(c['arm_cycles'], c['clock_hz'])} ms at 400 MHz (M85 published: {MLPERF_M85[c['model']]} ms)") if c.get("ours_cycles") else ""
        lines.append(f"| {c['model']} | **whole model** ({goal}{ms}) | | | {c['ours']:,} | {c['arm']:,} | "
                     f"{ratio:.2f} |")
    return lines


def _ms(cycles: float, clock_hz: int) -> str:
    return f"{cycles / clock_hz * 1e3:,.2f}"


def run_s4(model: str, cmsis_nn: str) -> dict:
    """One model with --weights int4 on the M4 board: tinyc's s4 kernels, Arm's CMSIS-NN v7.0.0 s4 kernels (the
    same int4 file and schedule), and tinyc's int8 build beside them, per op kind."""
    from tinyc.frontend.weights import WeightBits, WeightOptions
    from tinyc.plan.pipeline import plan_model
    from tinyc.run.bench import bench_planned
    path = ROOT / "models" / f"{model}.py"
    int4 = plan_model(path, "stm32f412", weights=WeightOptions(bits=WeightBits.INT4))
    ours, arm = bench_planned(int4, cycles=False), bench_planned(int4, cmsis_nn_dir=Path(cmsis_nn), cycles=False)
    int8 = bench_planned(plan_model(path, "stm32f412"), cycles=False)
    if (ours.output != arm.output).any():
        raise SystemExit(f"{model} int4: tinyc's output differs from CMSIS-NN's")
    by_op = per_op_kind(ours, arm)
    return {"model": model, "ours": ours.instructions, "arm": arm.instructions, "int8": int8.instructions,
            "by_op": by_op}


def render_s4(rows: list[dict]) -> list[str]:
    lines = ["", "## int4 weights against Arm's CMSIS-NN v7.0.0 s4 kernels (stm32f412)", "",
             "`--weights int4` (issue 26): the same int4 file and schedule built with tinyc's s4 kernels and against "
             "Arm's (`--cmsis-nn`), both bit-exact with TFLite Micro; tinyc's int8 build of the model beside them. "
             "Fully connected layers stay int8 (TFLite Micro's reference refuses INT4 filters there).", "",
             "| model | op kind | MACs | tinyc s4 instr | CMSIS-NN s4 instr | tinyc / CMSIS-NN | instr/MAC tinyc / Arm |",
             "|---|---|---:|---:|---:|---:|---|"]
    for r in rows:
        for op, (ours, arm, macs, *_) in r["by_op"].items():
            per_mac = f"{ours / macs:.2f} / {arm / macs:.2f}" if macs else ""
            lines.append(f"| {r['model']} | {op} | {macs:,} | {ours:,} | {arm:,} | {ours / arm:.2f} | {per_mac} |")
        lines.append(f"| {r['model']} | **whole model** (tinyc int8: {r['int8']:,}) | | {r['ours']:,} | "
                     f"{r['arm']:,} | {r['ours'] / r['arm']:.2f} | |")
    return lines


def render(results: list[dict], cmsis: list[dict], mlperf: list[dict], helium: list[dict] = (),
           s4: list[dict] = ()) -> str:
    lines = [
        "# Benchmarks: instructions per inference",
        "",
        f"Generated by `{COMMAND}` ({', '.join(BOARDS)}, every zoo model that fits; about 20 minutes on 2 cores with "
        "`--cmsis-nn` and `--mlperf`; `--models NAME ...` re-measures some and keeps the others' rows from "
        "scripts/results/benchmarks.json).",
        "",
        "- **Instructions** are counted in QEMU with `-icount shift=0` by `tinyc bench` (SysTick at the mps2",
        f"  machines' 25 MHz clock with wrap counting: resolution {results[0].get('resolution', 40)} instructions;"
        " 31.25 on the mps3-an547's 32 MHz; the same input gives the same count run to run).",
        "- **portable**: tinyc's reference kernels (`-DTINYC_PORTABLE_KERNELS`); **optimized**: the ARMv7E-M DSP",
        "  kernels (SXTB16 / SMLAD / SMLABB), and on the Cortex-M55 (alif_e7_hp) tinyc's Helium (MVE) kernels for",
        "  convolutions, fully connected and 3x3 depthwise layers; all produce the same bytes (tests/test_dsp_kernels.py,",
        "  tests/test_helium_kernels.py).",
        "- **Estimated cycles** (optimized): a second QEMU run logs every executed instruction; each is priced by",
        "  the core's timing table from Arm's Technical Reference Manual (`tinyc/run/cycles.py`: loads 2 cycles or",
        "  1 when pipelined, LDRD 3, LDM 1+N, taken branches 1+2, multiply-accumulates 1). An estimate at zero",
        "  wait states, no bus contention. The M7 figure prices single issue (the M7 dual-issues): an upper bound.",
        "  **Latency** is from the estimated cycles at the board clock (F412 100 MHz, H743 480 MHz, U575 160 MHz:",
        "  the M33 priced with the M4's table; E7 HP 400 MHz); **with flash**",
        "  adds the F412's 3 wait states behind its ART accelerator (`tinyc/run/flash.py`; none modelled on the H743).",
        "- **Code**: `.text` linked into the ELF (from the linker map, discarded sections not counted): the kernel",
        "  objects, and `model.o`, which holds the specialized kernels inlined per layer.",
        "- One input (the model's first representative sample, or seeded random data); batch 1.",
        "",
        "| model | board | MACs | portable instr | optimized instr | speed-up | instr/MAC portable | "
        "instr/MAC optimized | est. cycles optimized | est. cycles/MAC | est. latency (ms) | "
        "est. latency with flash (ms) | kernel code portable / optimized (B) | model code optimized (B) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        if not r["fits"]:
            lines.append(f"| {r['model']} | {r['board']} | does not fit: {r['verdict']} | | | | | | | | | | | |")
            continue
        with_flash = r.get("cycles_with_flash")  # absent from runs stored before the flash model
        flash_ms = _ms(with_flash, r["clock_hz"]) if with_flash is not None else "n/a"
        lines.append(
            f"| {r['model']} | {r['board']} | {r['macs']:,} | {r['portable']:,} | {r['optimized']:,} | "
            f"{r['portable'] / r['optimized']:.2f}x | {r['portable'] / r['macs']:.2f} | "
            f"{r['optimized'] / r['macs']:.3f} | {r['cycles']:,.0f} | {r['cycles'] / r['macs']:.3f} | "
            f"{_ms(r['cycles'], r['clock_hz'])} | {flash_ms} | {r['code_portable']:,} / {r['code_optimized']:,} | "
            f"{r['model_code']:,} |")
    lines += ["", "## Where the optimized instructions go (per op kind)", "",
              "| model | board | op | instructions | share | MACs | instr/MAC |", "|---|---|---|---:|---:|---:|---:|"]
    for r in results:
        if not r["fits"]:
            continue
        for op, (instructions, macs) in sorted(r["by_op"].items(), key=lambda kv: -kv[1][0]):
            per_mac = f"{instructions / macs:.2f}" if macs else ""
            lines.append(f"| {r['model']} | {r['board']} | {op} | {instructions:,} | "
                         f"{instructions / r['optimized']:.1%} | {macs:,} | {per_mac} |")
    lines += ["", "## Goals (issue 9)", ""]
    for r in results:
        if r["fits"] and r["model"] in GOAL_MODELS and r["board"] == "stm32f412":
            per_mac = r["optimized"] / r["macs"]
            met = "met" if per_mac <= GOAL_INSTRUCTIONS_PER_MAC else f"missed by {per_mac / GOAL_INSTRUCTIONS_PER_MAC - 1:.0%}"
            lines.append(f"- {r['model']} on {r['board']}: {per_mac:.3f} instructions/MAC (goal <= "
                         f"{GOAL_INSTRUCTIONS_PER_MAC}: {met}); {r['cycles'] / r['macs']:.3f} estimated cycles/MAC")
    lines += ["", "### Against the best published Cortex-M4 latencies (MLPerf Tiny v1.2, NUCLEO-L4R5ZI, 120 MHz)", "",
              "| model | published (ms) | tinyc estimated cycles at 120 MHz (ms) | tinyc / published |",
              "|---|---:|---:|---:|"]
    for r in results:
        if r["fits"] and r["model"] in MLPERF_MS and r["board"] == "stm32f412":
            ms = r["cycles"] / MLPERF_CLOCK_HZ * 1e3
            lines.append(f"| {r['model']} | {MLPERF_MS[r['model']]} | {ms:.1f} | {ms / MLPERF_MS[r['model']]:.2f} |")
    lines += ["", "The published figures are measured on silicon with flash wait states (the L4R5's ART cache hides",
              "most); tinyc's are estimates from the instruction mix (above). Same int8 models in spirit (MLPerf Tiny's",
              "reference architectures), not the same weights."]
    lines += ["", "## Per op kind against Arm's CMSIS-NN v7.0.0 (stm32f412)", ""]
    if not cmsis:
        lines.append(f"Not measured in this run: `{COMMAND} --cmsis-nn PATH` with a CMSIS-NN v7.0.0 checkout.")
    else:
        lines += ["The same generated code and schedule (per layer, no op in place: CMSIS-NN has no in-place kernels),",
                  "built once with tinyc's kernels and once against Arm's CMSIS-NN v7.0.0 sources (`tinyc bench",
                  f"--cmsis-nn`); both give the same output bytes. Goal: every op kind <= {CMSIS_GOAL}x.", "",
                  "| model | op kind | layers | MACs | tinyc instr | CMSIS-NN instr | tinyc / CMSIS-NN | goal |",
                  "|---|---|---:|---:|---:|---:|---:|---|"]
        for c in cmsis:
            for op, (ours, arm, macs, count) in sorted(c["by_op"].items(), key=lambda kv: -kv[1][1]):
                ratio = ours / arm if arm else 0.0
                lines.append(f"| {c['model']} | {op} | {count} | {macs:,} | {ours:,} | {arm:,} | {ratio:.2f} | "
                             f"{'met' if ratio <= CMSIS_GOAL else 'missed'} |")
            lines.append(f"| {c['model']} | **whole model** | | | {c['ours']:,} | {c['arm']:,} | "
                         f"{c['ours'] / c['arm']:.2f} | |")
    if mlperf:
        lines += render_mlperf(mlperf)
    if helium:
        lines += render_cmsis_helium(list(helium))
    if s4:
        lines += render_s4(list(s4))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--boards", nargs="*", default=list(dict.fromkeys(BOARDS + MLPERF_BOARDS)),
                        choices=sorted(set(BOARDS + MLPERF_BOARDS)),
                        help="re-measure the zoo and MLPerf Tiny's models on these boards only (the others' rows are "
                             "kept)")
    parser.add_argument("--cmsis-nn", type=Path, default=None, help="a CMSIS-NN v7.0.0 checkout (Include/, Source/)")
    parser.add_argument("--results", type=Path, default=RESULTS, help="the stored measurements (JSON)")
    parser.add_argument("--mlperf", type=Path, default=None,
                        help="also MLPerf Tiny's trained models from this folder (../shared/mlperf-tiny)")
    args = parser.parse_args()
    unknown = sorted(set(args.models) - set(MODELS))
    if unknown:
        raise SystemExit(f"not in the zoo's benchmark list: {', '.join(unknown)} (add them to MODELS)")
    stored = json.loads(args.results.read_text()) if args.results.exists() else {"runs": [], "cmsis": []}
    stored.setdefault("mlperf", [])
    stored.setdefault("cmsis_helium", [])
    stored.setdefault("cmsis_s4", [])
    pairs = [(m, b) for m in args.models for b in args.boards if b in BOARDS]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(run_one, *zip(*pairs)))
        cmsis, s4 = [], []
        if args.cmsis_nn is not None:
            models = [m for m in CMSIS_MODELS if m in args.models]
            cmsis = list(pool.map(run_cmsis, models, [str(args.cmsis_nn.resolve())] * len(models)))
            int4 = [m for m in S4_MODELS if m in args.models]
            s4 = list(pool.map(run_s4, int4, [str(args.cmsis_nn.resolve())] * len(int4)))
        mlperf = []
        if args.mlperf is not None:
            files = [(str(args.mlperf.resolve() / f"{m}.tflite"), b, c) for m in MLPERF_FILES for b in MLPERF_BOARDS
                     if b in args.boards for c in MLPERF_CONSTANTS[b]]
            mlperf = list(pool.map(run_mlperf, *zip(*files)))
        helium = []
        if args.mlperf is not None and args.cmsis_nn is not None:
            paths = [str(args.mlperf.resolve() / f"{m}.tflite") for m in HELIUM_CMSIS_FILES]
            helium = list(pool.map(run_cmsis_helium, paths, [str(args.cmsis_nn.resolve())] * len(paths)))
    fresh = {(r["model"], r["board"]) for r in results}
    runs = [r for r in stored["runs"] if (r["model"], r["board"]) not in fresh and r["model"] in MODELS] + results
    compared = [c for c in stored["cmsis"] if c["model"] not in {c["model"] for c in cmsis}] + cmsis
    order = {m: k for k, m in enumerate(MODELS)}
    runs.sort(key=lambda r: (order[r["model"]], BOARDS.index(r["board"])))
    compared.sort(key=lambda c: CMSIS_MODELS.index(c["model"]))
    args.results.parent.mkdir(parents=True, exist_ok=True)
    key = lambda r: (r["model"], r["board"], r.get("constants", "flash"))  # noqa: E731
    again = {key(r) for r in mlperf}
    measured = [r for r in stored["mlperf"] if key(r) not in again] + mlperf  # --boards keeps the other boards' rows
    measured.sort(key=lambda r: (list(MLPERF_FILES).index(r["model"]), MLPERF_BOARDS.index(r["board"]),
                                 MLPERF_CONSTANTS[r["board"]].index(r.get("constants", "flash"))))
    helium_measured = helium or stored["cmsis_helium"]
    s4_measured = [c for c in stored["cmsis_s4"] if c["model"] not in {c["model"] for c in s4}] + s4
    s4_measured.sort(key=lambda c: S4_MODELS.index(c["model"]))
    args.results.write_text(json.dumps({"runs": runs, "cmsis": compared, "mlperf": measured,
                                        "cmsis_helium": helium_measured, "cmsis_s4": s4_measured}, indent=1,
                                       sort_keys=True) + "\n")
    args.output.write_text(render(runs, compared, measured, helium_measured, s4_measured))
    print(args.output.read_text())


if __name__ == "__main__":
    main()
