"""`tinyc` command line: compile, verify, report, boards."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from tinyc.errors import TinycError
from tinyc.report import MemoryReport

if TYPE_CHECKING:
    from tinyc.emulators import Emulator
    from tinyc.search import ScheduleOptions

console = Console(stderr=True)
out = Console(width=None if sys.stdout.isatty() else 150)

MODEL_ARG = click.argument("model", type=click.Path(path_type=Path))
BOARD_OPT = click.option("--board", "-b", required=True, help="Target board (see `tinyc boards`).")
CMSIS_OPT = click.option("--cmsis-nn", "cmsis_nn", type=click.Path(path_type=Path, file_okay=False),
                         envvar="TINYC_CMSIS_NN", default=None,
                         help="Build against a real CMSIS-NN checkout (its Include/ and Source/) instead of "
                              "tinyc's kernels [env: TINYC_CMSIS_NN].")


def schedule_options(func):
    """--schedule, --split, --grid, --mac-budget, --no-inplace: shared by compile, verify and report."""
    options = [
        click.option("--schedule", "schedule_kind", type=click.Choice(["auto", "per-layer", "patch"]), default="auto",
                     show_default=True, help="auto: the least peak SRAM within the MAC budget."),
        click.option("--split", type=int, default=None, help="patch: run ops 0..SPLIT-1 patch by patch."),
        click.option("--grid", default=None, help="patch: ROWSxCOLS patches, e.g. 4x4."),
        click.option("--mac-budget", type=float, default=0.15, show_default=True,
                     help="auto: the extra MACs a patch schedule may cost, as a fraction."),
        click.option("--objective", type=click.Choice(["peak", "fit"]), default="peak", show_default=True,
                     help="peak: the least SRAM within the MAC budget; fit: the fewest MACs that fit the board."),
        click.option("--no-inplace", is_flag=True, help="Do not run depthwise convolutions in place."),
        click.option("--stream-input", is_flag=True,
                     help="patch: do not keep the input frame in SRAM; the application serves input patches "
                          "through tinyc_read_input_block()."),
        click.option("--verbose-plan", is_flag=True, help="Show every schedule candidate considered."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _options(schedule_kind: str, split: int | None, grid: str | None, mac_budget: float, no_inplace: bool,
             stream_input: bool, objective: str):
    from tinyc.search import ScheduleOptions
    parsed = None
    if grid is not None:
        try:
            rows, cols = (int(v) for v in grid.lower().split("x"))
            parsed = (rows, cols)
        except ValueError:
            raise click.BadParameter(f"--grid takes ROWSxCOLS such as 4x4, not {grid!r}") from None
    return ScheduleOptions(kind=schedule_kind, split=split, grid=parsed, mac_budget=mac_budget, in_place=not no_inplace,
                           stream_input=stream_input, objective=objective)


def _print_json(data: dict, *, wall_seconds: float) -> None:
    out.print_json(json.dumps({**data, "wall_seconds": round(wall_seconds, 2)}))


def _print_candidates(report: MemoryReport) -> None:
    table = Table(title="schedule candidates (arena bytes, MAC overhead)")
    for column in ("kind", "split", "grid", "arena B", "MAC overhead"):
        table.add_column(column)
    for c in report.schedule_json.get("candidates", []):
        table.add_row(c["kind"], str(c["split"] or ""), "x".join(map(str, c["grid"] or [])), f"{c['arena_bytes']:,}",
                      f"{100 * c['mac_overhead']:+.1f}%")
    out.print(table)


def _print_report(report: MemoryReport) -> None:
    table = Table(title=f"{report.model_name} on {report.board.name} — per-layer memory", show_lines=False)
    for column in ("#", "op", "layer", "output", "patch", "MACs", "weights B", "live act. B", "scratch B", ""):
        table.add_column(column, justify="right" if column not in ("op", "layer", "output", "patch") else "left")
    peak = report.peak_step
    for row_index, r in enumerate(report.layers):
        table.add_row(str(r.op_index), r.op, r.layer[:40], "x".join(map(str, r.output_shape)),
                      "x".join(map(str, r.patch_shape[1:])) if r.patch_shape else "", f"{r.macs:,}",
                      f"{r.weights_bytes:,}", f"{r.live_activation_bytes:,}", f"{r.scratch_bytes:,}",
                      "◀ peak" if row_index == peak else "")
    out.print(table)
    how = "from the linked ELF" if report.measured else "estimated before linking"
    totals = Table(show_header=True, title="totals")
    for column in ("memory", "bytes", "limit", "what"):
        totals.add_column(column)
    totals.add_row("arena", f"{report.arena_bytes:,}", "", "activations + scratch (planned)")
    totals.add_row("stack", f"{report.stack_bytes:,}", "", "reserved by the linker script")
    totals.add_row("statics", f"{report.statics_bytes:,}", "", f"other .data/.bss ({how})")
    totals.add_row("peak SRAM", f"{report.peak_sram_bytes:,}", f"{report.board.sram.size_bytes:,}", "")
    totals.add_row("weights", f"{report.weights_bytes:,}", "", "int8 weights, int32 biases and requant params")
    totals.add_row("code", f"{report.code_bytes:,}", "", how)
    totals.add_row("flash", f"{report.flash_bytes:,}", f"{report.board.flash.size_bytes:,}", "")
    if report.tflm_arena_bytes is not None:
        totals.add_row("TFLM arena", f"{report.tflm_arena_bytes:,}", "",
                       "smallest arena TFLite Micro allocates this model in (incl. its interpreter's own data)")
    out.print(totals)
    sj = report.schedule_json
    line = f"schedule: {report.schedule}"
    if sj.get("kind") == "patch":
        line += (f"; per-layer peak {sj['per_layer_peak_bytes']:,} B → {sj['patch_peak_bytes']:,} B with patches, "
                 f"MAC overhead {100 * sj['mac_overhead']:+.1f}% "
                 f"(patch stage {100 * sj['stage_mac_overhead']:+.1f}%); input {sj['input']}")
    out.print(line)
    if report.measured_stack_bytes is not None:
        out.print(f"stack measured in the emulator (painting): {report.measured_stack_bytes:,} of "
                  f"{report.stack_bytes:,} B reserved")
    for note in report.notes:
        console.print(f"[yellow]note:[/yellow] {note}")
    colour = "green" if report.fits else "red"
    out.print(f"[{colour}]{report.verdict()}[/{colour}]")


@click.group()
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """tinyc: Keras / int8 TFLite models → bit-exact CMSIS-NN firmware for STM32."""
    ctx.obj = {"debug": debug}


@cli.command()
def boards() -> None:
    """List the known boards and their limits."""
    from tinyc.boards import known_boards
    table = Table(title="boards")
    for column in ("name", "cpu", "clock", "SRAM", "flash", "emulator"):
        table.add_column(column)
    for b in known_boards().values():
        table.add_row(b.name, b.cpu, f"{b.clock_hz // 1_000_000} MHz", f"{b.sram.size_bytes // 1024} KB",
                      f"{b.flash.size_bytes // 1024} KB", f"qemu {b.qemu.machine}")
    out.print(table)


@cli.command()
@MODEL_ARG
@BOARD_OPT
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--tflm-arena/--no-tflm-arena", default=True, show_default=True,
              help="Also find the smallest arena TFLite Micro's interpreter needs for the same model.")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also draw memory per layer (per-layer vs the chosen schedule, against the SRAM limit): "
                   "FILE.png, or FILE.html with the table.")
@schedule_options
def report(model: Path, board: str, as_json: bool, tflm_arena: bool, plot_path: Path | None, schedule_kind: str,
           split: int | None,
           grid: str | None, mac_budget: float, no_inplace: bool, verbose_plan: bool,
           stream_input: bool, objective: str) -> None:
    """Memory report only (no toolchain needed; works even if the model does not fit)."""
    from dataclasses import replace

    from tinyc.driver import plan_model
    planned = plan_model(model, board, options=_options(schedule_kind, split, grid, mac_budget, no_inplace, stream_input, objective))
    rep = planned.report
    if tflm_arena:
        from tinyc.oracle import OracleCrash, tflm_arena_bytes
        try:
            rep = replace(rep, tflm_arena_bytes=tflm_arena_bytes(planned.loaded.tflite))
        except OracleCrash as crash:
            console.print(f"[yellow]note:[/yellow] no TFLM arena figure: {crash}")
    if plot_path is not None:
        from tinyc.plot import write_memory_plot
        if plot_path.exists():
            raise click.ClickException(f"{plot_path} exists; tinyc does not overwrite files (remove it or pick another name)")
        write_memory_plot(replace(planned, report=rep), plot_path)
        console.print(f"memory plot written to {plot_path}")
    if as_json:
        out.print_json(json.dumps(rep.as_json()))
    else:
        if verbose_plan:
            _print_candidates(rep)
        _print_report(rep)


@cli.command(name="compile")
@MODEL_ARG
@BOARD_OPT
@click.option("--output", "-o", type=click.Path(path_type=Path, file_okay=False), default=Path("build"),
              show_default=True, help="Folder for the C project and firmware.elf (must be new, empty, or tinyc's).")
@CMSIS_OPT
@schedule_options
def compile_cmd(model: Path, board: str, output: Path, cmsis_nn: Path | None, schedule_kind: str, split: int | None,
                grid: str | None, mac_budget: float, no_inplace: bool, verbose_plan: bool,
           stream_input: bool, objective: str) -> None:
    """Compile MODEL (.py with build(), .keras, or int8 .tflite) to a C project and firmware.elf.

    OUTPUT/ holds the QEMU build; OUTPUT/board/ the firmware for the part itself (flash it; output on its USART)."""
    from tinyc.board_firmware import build_board_firmware
    from tinyc.driver import build_firmware, input_samples, plan_model
    from tinyc.report import memory_report
    planned = plan_model(model, board, options=_options(schedule_kind, split, grid, mac_budget, no_inplace, stream_input, objective))
    if verbose_plan:
        _print_candidates(planned.report)
    _print_report(planned.report)
    samples = input_samples(planned, 1)
    result = build_firmware(planned, output, samples, cmsis_nn=cmsis_nn)
    measured = memory_report(planned.schedule, planned.plan, planned.board, model_name=planned.loaded.name,
                             sizes=result.sizes, schedule_json=planned.report.schedule_json)
    out.print(f"wrote {output}/ and {result.elf}: flash {measured.flash_bytes:,} B "
              f"(code {measured.code_bytes:,}), peak SRAM {measured.peak_sram_bytes:,} B — {measured.verdict()}")
    if planned.board.part is not None:
        part = build_board_firmware(planned, output / "board", input_samples(planned, 1), cmsis_nn=cmsis_nn)
        out.print(f"wrote {part.elf} for the {planned.board.name} part itself: flash "
                  f"{part.sizes.flash_bytes:,} B, output on {planned.board.part.usart}")


@cli.command(name="verify")
@MODEL_ARG
@BOARD_OPT
@click.option("--samples", "-n", default=10, show_default=True, help="How many inputs to compare.")
@click.option("--emulator", type=click.Choice(["qemu", "renode"]), default="qemu", show_default=True,
              help="qemu: the emulator build on an mps2 machine; renode: the real-board build on Renode's model "
                   "of the part (needs renode on PATH).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--seed", default=0, show_default=True, help="Seed of the random inputs.")
@click.option("--dataset", "use_dataset", is_flag=True,
              help="Run the labelled samples of the model file's dataset() instead, and report top-1 of float "
                   "Keras, TFLite Micro and the firmware.")
@click.option("--limit", type=int, default=None, help="--dataset: use only the first LIMIT samples.")
@CMSIS_OPT
@schedule_options
def verify_cmd(model: Path, board: str, samples: int, emulator: str, as_json: bool, seed: int, use_dataset: bool,
               limit: int | None, cmsis_nn: Path | None, schedule_kind: str, split: int | None, grid: str | None,
               mac_budget: float, no_inplace: bool, verbose_plan: bool, stream_input: bool, objective: str) -> None:
    """Run MODEL's firmware in the emulator and compare every output byte with TFLite Micro."""
    from tinyc.driver import verify
    from tinyc.emulators import Emulator
    started = time.monotonic()
    options = _options(schedule_kind, split, grid, mac_budget, no_inplace, stream_input, objective)
    if limit is not None and not use_dataset:
        raise click.BadParameter("--limit caps the samples of --dataset; without it, use --samples")
    if use_dataset:
        _verify_dataset(model, board, limit=limit, options=options, emulator=Emulator(emulator), cmsis_nn=cmsis_nn,
                        as_json=as_json, started=started)
        return
    with console.status(f"building and running {model} on {board} in {emulator}…"):
        result = verify(model, board, samples=samples, cmsis_nn=cmsis_nn, seed=seed, options=options,
                        emulator=Emulator(emulator))
    elapsed = time.monotonic() - started
    if as_json:
        _print_json(result.as_json(), wall_seconds=elapsed)
    else:
        so = result.second_opinion
        if verbose_plan:
            _print_candidates(result.report)
        out.print(f"schedule: {result.report.schedule}")
        out.print(f"{result.run.emulator}: {result.samples} samples, {result.mismatched_samples} mismatching "
                  f"(TFLite Micro reference), stack used {result.run.stack_used_bytes:,} B, {elapsed:.1f} s")
        if so is None:
            out.print("second opinion: LiteRT's BUILTIN_REF interpreter crashed on this model")
        else:
            out.print(f"second opinion, LiteRT BUILTIN_REF vs {result.reference}: {so.differing_bytes} of "
                      f"{so.total_bytes} output bytes differ (max {so.max_abs_diff} LSB)")
        for note in result.report.notes:
            console.print(f"[yellow]note:[/yellow] {note}")
    if result.first_mismatch is not None:
        raise click.ClickException(f"MISMATCH: {result.first_mismatch.describe()}")
    if not as_json:
        out.print(f"[green]bit-exact: every output byte equals the reference's ({result.reference})[/green]")


def _verify_dataset(model: Path, board: str, *, limit: int | None, options: ScheduleOptions, emulator: Emulator,
                    cmsis_nn: Path | None, as_json: bool, started: float) -> None:
    """`verify --dataset`: top-1 of float Keras, the int8 reference and the firmware, with a progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from tinyc.accuracy import measure_accuracy
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        result = measure_accuracy(model, board, limit=limit, options=options, emulator=emulator, cmsis_nn=cmsis_nn,
                                  progress=progress)
    elapsed = time.monotonic() - started
    if as_json:
        _print_json(result.as_json(), wall_seconds=elapsed)
    else:
        table = Table(title=f"{result.model_name} on {result.board}: top-1 on {result.samples} labelled samples")
        for column in ("", "correct", "top-1"):
            table.add_column(column, justify="left" if not column else "right")
        for name, predictions in (("float Keras", result.float_predictions),
                                  (f"int8 reference ({result.reference})", result.reference_predictions),
                                  (f"firmware ({result.emulator})", result.firmware_predictions)):
            table.add_row(name, f"{result.correct(predictions)} / {result.samples}",
                          f"{100 * result.correct(predictions) / result.samples:.2f}%")
        out.print(table)
        out.print(f"int8 drop vs float: {100 * result.int8_drop:+.2f} points (firmware); schedule: "
                  f"{result.report.schedule}; {result.batches} firmware build(s), stack used "
                  f"{result.stack_used_bytes:,} B, {elapsed:.1f} s")
        out.print(f"mismatches: {result.mismatched_samples} of {result.samples} samples differ from {result.reference} "
                  f"({result.mismatched_bytes} bytes)")
        for note in result.notes:
            console.print(f"[yellow]note:[/yellow] {note}")
    if result.first_mismatch is not None:
        raise click.ClickException(f"MISMATCH: {result.first_mismatch}")
    if not as_json:
        out.print(f"[green]bit-exact: the firmware equals {result.reference} on every sample[/green]")


@cli.command("bench")
@MODEL_ARG
@BOARD_OPT
@click.option("--portable", is_flag=True, help="Benchmark the portable reference kernels (-DTINYC_PORTABLE_KERNELS) "
                                                "instead of the optimized DSP kernels.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--seed", default=0, show_default=True, help="Seed of the random input (without representative data).")
@click.option("--cmsis-nn", "cmsis_nn", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Build against this CMSIS-NN checkout (its int8 sources) instead of tinyc's own kernels, to "
                   "compare; tinyc's in-place kernels stay tinyc's (use --no-inplace for a like-for-like run).")
@schedule_options
def bench_cmd(model: Path, board: str, portable: bool, as_json: bool, seed: int, cmsis_nn: Path | None,
              schedule_kind: str, split: int | None, grid: str | None, mac_budget: float, no_inplace: bool,
              verbose_plan: bool, stream_input: bool, objective: str) -> None:
    """Count MODEL's instructions per inference in QEMU (-icount shift=0), in total and per layer."""
    from tinyc.bench import bench
    if portable and cmsis_nn is not None:
        raise click.UsageError("--portable and --cmsis-nn exclude each other")
    options = _options(schedule_kind, split, grid, mac_budget, no_inplace, stream_input, objective)
    with console.status(f"building and benchmarking {model} on {board} in QEMU…"):
        result = bench(model, board, portable=portable, seed=seed, options=options, cmsis_nn_dir=cmsis_nn)
    if as_json:
        out.print_json(json.dumps(result.as_json()))
        return
    table = Table(title=f"{result.model} on {result.board}, {result.kernels} kernels")
    for column in ("op", "layer", "kind", "instructions", "MACs", "instr/MAC"):
        table.add_column(column, justify="left" if column in ("layer", "kind") else "right")
    for layer in result.layers:
        per_mac = f"{layer.instructions_per_mac:.2f}" if layer.instructions_per_mac is not None else ""
        table.add_row(str(layer.op_index), layer.name, layer.op, f"{layer.instructions:,}", f"{layer.macs:,}", per_mac)
    out.print(table)
    per_mac = f"{result.instructions_per_mac:.3f}" if result.instructions_per_mac is not None else "n/a"
    out.print(f"total: {result.instructions:,} instructions per inference, {result.macs:,} MACs, {per_mac} "
              f"instructions/MAC; kernel code {result.kernel_code_bytes:,} B")
    out.print(f"estimated latency at {result.clock_hz / 1e6:.0f} MHz: {result.latency_ms:.2f} ms, assuming one cycle "
              f"per instruction (QEMU counts instructions, not cycles; resolution {result.instructions_per_tick} "
              f"instructions)")


def main() -> None:
    debug = "--debug" in sys.argv
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except TinycError as exc:
        if debug:
            raise
        console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True, markup=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
