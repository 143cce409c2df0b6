"""`tinyc` command line: compile, verify, report, boards."""

from __future__ import annotations

import functools
import json
import math
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tinyc.errors import TinycError
from tinyc.plan.report import Candidate, MemoryReport, ScheduleSummary

if TYPE_CHECKING:
    from tinyc.boards import BoardRef
    from tinyc.plan.search import ScheduleOptions
    from tinyc.frontend.weights import WeightOptions
    from tinyc.run.accuracy import AccuracyResult

console = Console(stderr=True)
out = Console(width=None if sys.stdout.isatty() else 150)

MODEL_ARG = click.argument("model", type=click.Path(path_type=Path))


def _note(text: str) -> None:
    """A note on stderr; its text is printed as it is (a `[sram]` or a path like `old[1]/m.py` is not Rich markup)."""
    console.print(f"[yellow]note:[/yellow] {escape(text)}", highlight=False, soft_wrap=True)


def board_options(func: Callable[..., None]) -> Callable[..., None]:
    """--board NAME (a bundled board) or --board-file PATH.toml (the user's own), validated here and handed to the
    command as one `board: BoardRef`."""
    options = [
        click.option("--board", "-b", "board_name", default=None, help="Target board (see `tinyc boards`)."),
        click.option("--board-file", type=click.Path(path_type=Path), default=None,
                     help="Your own board: a .toml file in the format of the bundled boards/*.toml."),
    ]

    @functools.wraps(func)
    def command(*args: Any, board_name: str | None, board_file: Path | None, **kwargs: Any) -> None:
        from tinyc.boards import get_board
        if (board_name is None) == (board_file is None):
            raise click.UsageError("give the target board with --board NAME (see `tinyc boards`) or "
                                   "--board-file PATH.toml" + (", not both" if board_name is not None else ""))
        board: BoardRef = board_file if board_file is not None else str(board_name)
        get_board(board)  # an unknown board or an invalid board file is refused before the model runs
        func(*args, board=board, **kwargs)

    for option in reversed(options):
        command = option(command)
    return command

def cache_options(func: Callable[..., None]) -> Callable[..., None]:
    """--no-cache: convert the model afresh, reading and writing no conversion cache entry (tinyc.frontend.cache)."""

    @click.option("--no-cache", is_flag=True,
                  help="Convert the model afresh: read and write no entry of the conversion cache (see README.md, "
                       "the conversion cache).")
    @functools.wraps(func)
    def command(*args: Any, no_cache: bool, **kwargs: Any) -> None:
        from tinyc.frontend.cache import cache_disabled
        if not no_cache:
            func(*args, **kwargs)
            return
        with cache_disabled():
            func(*args, **kwargs)

    return command


CALIBRATION_OPT = click.option(
    "--calibration", type=click.Path(path_type=Path, dir_okay=False), default=None,
    help="Calibration data for a .keras, .onnx or .py model: FILE.npy (one array) or FILE.npz (one array per model "
         "input), samples on the first axis, in the model's own layout (NCHW for an ONNX image model) (replaces "
         "representative_dataset(); without either, tinyc calibrates on random data and says so).")


def weight_options(func: Callable[..., None]) -> Callable[..., None]:
    """--weights int8|int4 and --int8-layers, passed on as one `weights: WeightOptions` (tinyc.frontend.weights)."""

    @click.option("--weights", "weight_bits", type=click.Choice(["int8", "int4"]), default="int8", show_default=True,
                  help="Weight precision: int4 quantizes CONV_2D and DEPTHWISE_CONV_2D weights per channel to 4 bits "
                       "(TFLite's packed INT4 tensors; activations stay int8; FULLY_CONNECTED stays int8, which "
                       "TFLite Micro's reference cannot run with int4 weights).")
    @click.option("--int8-layers", default="", metavar="LAYERS",
                  help="With --weights int4: layers that stay int8, comma-separated: first, last (of the layers with "
                       "weights), their index among those layers, or a layer name from the report.")
    @functools.wraps(func)
    def command(*args: Any, weight_bits: str, int8_layers: str, **kwargs: Any) -> None:
        from tinyc.frontend.weights import WeightBits, WeightOptions
        layers = tuple(part.strip() for part in int8_layers.split(",") if part.strip())
        func(*args, weights=WeightOptions(bits=WeightBits(weight_bits), int8_layers=layers), **kwargs)

    return command


def progress_options(func: Callable[..., None]) -> Callable[..., None]:
    """--quiet; otherwise progress on stderr for every step over a second (load, convert, plan, render, build, emulate,
    reference): a Rich spinner on a terminal, plain `tinyc: STEP: ...` lines in logs (tinyc.progress)."""

    @click.option("--quiet", "-q", is_flag=True,
                  help="No progress lines (by default every step over a second is shown on stderr: load, convert, "
                       "plan, render, build, emulate, reference).")
    @functools.wraps(func)
    def command(*args: Any, quiet: bool, **kwargs: Any) -> None:
        from tinyc.progress import PlainLines, Reporter, RichSpinner, Silent, set_reporter
        reporter: Reporter = (Silent() if quiet else RichSpinner(console) if console.is_terminal
                              else PlainLines(console.file))
        previous = set_reporter(reporter)
        try:
            func(*args, **kwargs)
        finally:
            set_reporter(previous)

    return command


class GridType(click.ParamType):  # type: ignore[type-arg]
    """ROWSxCOLS, both at least 1 and at most MAX_GRID_SIDE."""
    name = "ROWSxCOLS"

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        if isinstance(value, tuple):
            return value
        try:
            rows, cols = (int(v) for v in str(value).lower().split("x"))
        except ValueError:
            self.fail(f"takes ROWSxCOLS such as 4x4, not {value!r}", param, ctx)
        if not (1 <= rows <= MAX_GRID_SIDE and 1 <= cols <= MAX_GRID_SIDE):
            self.fail(f"rows and columns must be 1 to {MAX_GRID_SIDE}, not {value!r}", param, ctx)
        return rows, cols


MAX_GRID_SIDE = 64
# The values of tinyc.plan.search's ScheduleChoice and Objective (a test keeps them equal; importing the planner
# here would make `tinyc --help` load it).
SCHEDULE_CHOICES = ("auto", "per-layer", "patch")
OBJECTIVES = ("fastest", "min-sram")
PLACEMENTS = ("optimal", "greedy")
CONSTANTS_CHOICES = ("flash", "sram", "auto", "stage")  # tinyc.plan.constants.ConstantsPolicy's values (a test keeps them equal)
KERNEL_CHOICES = ("tinyc", "cmsis-nn")  # tinyc.codegen.render.Kernels' values (a test keeps them equal)
EMULATOR_CHOICES = ("auto", "qemu", "renode")  # tinyc.run.emulators.EMULATOR_CHOICES (a test keeps them equal)


def _finite_fraction(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise click.BadParameter(f"must be a fraction of at least 0 such as 0.15, not {value}")
    return value


def _cmsis_nn_checkout(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    if value is not None and not (value / "Include").is_dir():
        raise click.BadParameter(f"{value} is not a CMSIS-NN checkout: it has no Include/ folder "
                                 "(give the folder that holds Include/ and Source/)")
    return value


def _new_file_in_existing_folder(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    if value is not None and not value.parent.is_dir():
        raise click.BadParameter(f"folder {value.parent} does not exist (create it first)")
    return value


CMSIS_OPT = click.option("--cmsis-nn", "cmsis_nn", callback=_cmsis_nn_checkout,
                         type=click.Path(path_type=Path, file_okay=False, exists=True),
                         envvar="TINYC_CMSIS_NN", default=None,
                         help="Build against a real CMSIS-NN checkout (its Include/ and Source/) instead of "
                              "tinyc's kernels [env: TINYC_CMSIS_NN].")


def schedule_options(func: Callable[..., None]) -> Callable[..., None]:
    """--schedule, --split, --grid, --mac-budget, --objective, --no-inplace, --stream-input (shared by every
    command), validated here and handed to the command as one `options: ScheduleOptions`."""
    options = [
        click.option("--schedule", "schedule_kind", type=click.Choice(SCHEDULE_CHOICES), default="auto",
                     show_default=True, help="auto: what --objective asks for, per layer or patch by patch."),
        click.option("--split", type=click.IntRange(min=1), default=None,
                     help="patch: run ops 0..SPLIT-1 patch by patch."),
        click.option("--grid", type=GridType(), default=None, help="patch: ROWSxCOLS patches, e.g. 4x4."),
        click.option("--mac-budget", type=float, default=0.15, show_default=True, callback=_finite_fraction,
                     help="min-sram: the extra MACs a patch schedule may cost, as a fraction."),
        click.option("--objective", type=click.Choice(OBJECTIVES), default="fastest", show_default=True,
                     help="fastest: the fewest MACs whose arena leaves 10% of the board's SRAM free (or, failing that, "
                          "fits at all); min-sram: the least SRAM within the MAC budget."),
        click.option("--placement", type=click.Choice(PLACEMENTS), default="optimal", show_default=True,
                     help="optimal: a constraint solver (OR-Tools CP-SAT) places the chosen schedule's buffers, "
                          "starting from the best greedy order; greedy: the greedy orders only."),
        click.option("--no-inplace", is_flag=True, help="Do not run depthwise convolutions in place."),
        click.option("--stream-input", is_flag=True,
                     help="patch: do not keep the input frame in SRAM; the application serves input patches "
                          "through tinyc_read_input_block()."),
        click.option("--stages", "stage_labels", default=None, metavar="FIRST-LAST:BANDSxCOLS,...",
                     help="Run exactly these stages, the other ops per layer: FIRST-LAST:BANDSxCOLS runs ops FIRST..LAST "
                          "band by band (halo rows cached, no recompute), e.g. 0-12:28x4,13-16:28x1; add ' patches' "
                          "to a stage at op 0 to recompute halos instead (MCUNetV2). --verbose-plan lists the "
                          "fused candidates in this form."),
        click.option("--constants", "constants", type=click.Choice(CONSTANTS_CHOICES), default="flash",
                     show_default=True,
                     help="Where weights and kernel layouts live: flash; sram: all copied to SRAM at start-up (read "
                          "without flash wait states); auto: the ones read most per byte, while 10% of the SRAM "
                          "stays free; stage: each convolution's copied to one SRAM buffer before it runs."),
        click.option("--verbose-plan", is_flag=True, help="Show every schedule candidate considered."),
    ]

    @functools.wraps(func)
    def command(*args: Any, schedule_kind: str, split: int | None, grid: tuple[int, int] | None,
                mac_budget: float, objective: str, placement: str, no_inplace: bool, stream_input: bool,
                stage_labels: str | None, constants: str, **kwargs: Any) -> None:
        from tinyc.plan.fused import StageSpec
        from tinyc.plan.constants import ConstantsPolicy
        from tinyc.plan.search import Objective, Placement, ScheduleChoice, ScheduleOptions
        try:
            stages = None if stage_labels is None else tuple(StageSpec.parse(s) for s in stage_labels.split(","))
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--stages") from None
        options = ScheduleOptions(kind=ScheduleChoice(schedule_kind), split=split, grid=grid, mac_budget=mac_budget,
                                  in_place=not no_inplace, stream_input=stream_input, objective=Objective(objective),
                                  placement=Placement(placement), stages=stages,
                                  constants=ConstantsPolicy(constants))
        func(*args, options=options, **kwargs)

    for option in reversed(options):
        command = option(command)
    return command


_JSON_WRITTEN: list[bool] = []  # a command's JSON result is on stdout (an error after it adds no second object)


def _emit_json(text: str) -> None:
    out.print_json(text)
    _JSON_WRITTEN.append(True)


def _print_json(data: dict[str, Any], *, wall_seconds: float) -> None:
    _emit_json(json.dumps({**data, "wall_seconds": round(wall_seconds, 2)}))


def _print_candidates(report: MemoryReport) -> None:
    table = Table(title="schedule candidates (arena bytes, MAC overhead)")
    for column in ("kind", "split", "grid", "stages (ops:bands x columns, rows cached)", "arena B", "MAC overhead"):
        table.add_column(column)
    for c in report.schedule_summary.candidates:
        table.add_row(c.kind.value, "" if c.stages else str(c.split or ""),
                      "" if c.stages else "x".join(map(str, c.grid or ())), c.stages, f"{c.arena_bytes:,}",
                      f"{100 * c.mac_overhead:+.1f}%")
    out.print(table)


def _describe_candidate(c: Candidate) -> str:
    where = "" if c.split is None or c.grid is None else f"ops 0..{c.split - 1} in {c.grid[0]}x{c.grid[1]} patches, "
    if c.stages:
        where = f"fused stages {c.stages}, "
    return f"{where}arena {c.arena_bytes:,} B, MACs {100 * c.mac_overhead:+.1f}%"


def _alternatives(summary: ScheduleSummary) -> list[tuple[str, Candidate]]:
    """What the other choices would cost, one line each: per layer, the smallest arena, the fewest extra MACs."""
    if len(summary.candidates) < 2:
        return []
    per_layer = summary.candidates[0]
    patches = summary.candidates[1:]
    smallest = min(patches, key=lambda c: (c.arena_bytes, c.macs))
    cheapest = min(patches, key=lambda c: (c.macs, c.arena_bytes))
    rows = [("per layer", per_layer), ("smallest arena", smallest)]
    if cheapest != smallest:
        rows.append(("fewest MACs with patches", cheapest))
    return rows


def _print_weight_precision(report: MemoryReport) -> None:
    """--weights int4: which layers are int4, their weight bytes, and the flash saved."""
    precision = report.weight_precision
    assert precision is not None
    table = Table(title="weights per layer (--weights int4)")
    for column in ("#", "op", "layer", "weights", "int8 B", "now B", "why int8"):
        table.add_column(column, justify="right" if column in ("#", "int8 B", "now B") else "left")
    for layer in precision.layers:
        table.add_row(str(layer.op_index), layer.kind.name, escape(layer.layer[:40]), f"int{layer.bits}",
                      f"{layer.int8_bytes:,}", f"{layer.bytes:,}", escape(layer.why_int8[:60]))
    out.print(table)
    int4 = sum(1 for layer in precision.layers if layer.bits == 4)
    out.print(escape(f"int4 weights: {int4} of {len(precision.layers)} layers; weight tensors {precision.int8_bytes:,} "
                     f"→ {precision.bytes:,} B ({100 * precision.bytes / max(precision.int8_bytes, 1):.1f}%); flash "
                     f"saved {precision.saved_bytes:,} B; all weights with biases and requant params "
                     f"{report.int8_weights_bytes:,} → {report.weights_bytes:,} B "
                     f"({100 * report.weights_bytes / max(report.int8_weights_bytes, 1):.1f}%)"))


def _print_report(report: MemoryReport) -> None:
    table = Table(title=escape(f"{report.model_name} on {report.board.name} — per-layer memory"), show_lines=False)
    for column in ("#", "op", "layer", "output", "patch", "MACs", "weights B", "live act. B", "scratch B", ""):
        table.add_column(column, justify="right" if column not in ("op", "layer", "output", "patch") else "left")
    peak = report.peak_step
    for row_index, r in enumerate(report.layers):
        table.add_row(str(r.op_index), r.op, escape(r.layer[:40]), "x".join(map(str, r.output_shape)),
                      "x".join(map(str, r.patch_shape[1:])) if r.patch_shape else "", f"{r.macs:,}",
                      f"{r.weights_bytes:,}", f"{r.live_activation_bytes:,}", f"{r.scratch_bytes:,}",
                      "◀ peak" if row_index == peak else "")
    out.print(table)
    how = "from the linked ELF" if report.measured else "estimated before linking"
    totals = Table(show_header=True, title="totals")
    for column in ("memory", "bytes", "limit", "what"):
        totals.add_column(column)
    placement = ("= the live peak: no placement needs less" if report.arena_bytes <= report.live_peak_bytes else
                 f"live peak {report.live_peak_bytes:,} B; the solver's budget ran out above it")
    totals.add_row("arena", f"{report.arena_bytes:,}", "", f"activations + scratch (planned; {placement})")
    totals.add_row("stack", f"{report.stack_bytes:,}", "", "reserved by the linker script")
    totals.add_row("statics", f"{report.statics_bytes:,}", "", f"other .data/.bss ({how})")
    if report.sram_constants_bytes:
        totals.add_row("constants", f"{report.sram_constants_bytes:,}", "",
                       "weights and layouts in SRAM (--constants: copied at start-up, or a layer's before it runs "
                       "with `stage`; also in flash)")
    totals.add_row("peak SRAM", f"{report.peak_sram_bytes:,}", f"{report.board.sram.size_bytes:,}", "")
    precision = report.weight_precision
    totals.add_row("weights", f"{report.weights_bytes:,}", "",
                   "int8 weights, int32 biases and requant params" if precision is None else
                   f"int4/int8 weights, int32 biases and requant params (all int8: {report.int8_weights_bytes:,})")
    totals.add_row("code", f"{report.code_bytes:,}", "", how)
    totals.add_row("flash", f"{report.flash_bytes:,}", f"{report.board.flash.size_bytes:,}", "")
    if report.tflm_arena_bytes is not None:
        totals.add_row("TFLM arena", f"{report.tflm_arena_bytes:,}", "",
                       "smallest arena TFLite Micro allocates this model in (incl. its interpreter's own data)")
    out.print(totals)
    if precision is not None:
        _print_weight_precision(report)
    summary = report.schedule_summary
    if summary.reason:
        out.print(escape(f"why: {summary.reason}"))
    for label, alternative in _alternatives(summary):
        out.print(f"  {label}: {_describe_candidate(alternative)}")
    line = f"schedule: {report.schedule}"
    if summary.patch_peak_bytes is not None and summary.stage_mac_overhead is not None:
        line += (f"; per-layer peak {summary.per_layer_peak_bytes:,} B → {summary.patch_peak_bytes:,} B with patches, "
                 f"MAC overhead {100 * summary.mac_overhead:+.1f}% "
                 f"(patch stage {100 * summary.stage_mac_overhead:+.1f}%); input "
                 f"{'streamed' if summary.input_streamed else 'in arena'}")
    out.print(escape(line))
    if report.measured_stack_bytes is not None:
        out.print(f"stack measured in the emulator (painting): {report.measured_stack_bytes:,} of "
                  f"{report.stack_bytes:,} B reserved")
    for note in report.notes:
        _note(note)
    colour = "green" if report.fits else "red"
    out.print(f"[{colour}]{escape(report.verdict())}[/{colour}]")


def _version() -> str:
    from importlib import metadata
    try:
        return metadata.version("tinyc")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


@click.group()
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(_version(), "--version", prog_name="tinyc", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """tinyc: Keras / int8 TFLite models → bit-exact CMSIS-NN firmware for Arm Cortex-M microcontrollers (the
    bundled boards: STM32F412, STM32H743, STM32L4R5, nRF52840; `tinyc boards`; your own with --board-file).

    MODEL is a .py file defining build() (and optionally representative_dataset() and dataset()), a .keras file,
    a float .onnx file (converted by onnx2tf), or an int8 .tflite. A .py model file is executed as Python code, like
    setup.py: only run model files you trust."""
    ctx.obj = {"debug": debug}


@cli.command()
def boards() -> None:
    """List the bundled boards (the boards/ folder) and their limits."""
    from tinyc.boards import known_boards
    from tinyc.resources import boards_dir
    table = Table(title="boards")
    for column in ("name", "cpu", "clock", "SRAM", "flash", "emulator", "real-board firmware"):
        table.add_column(column, no_wrap=column in ("name", "cpu", "SRAM"))  # wrap the prose columns first
    for b in known_boards().values():
        regions = " + ".join(f"{r.name} {r.size_bytes // 1024}" for r in b.sram_regions)
        table.add_row(b.name, b.cpu, f"{b.clock_hz // 1_000_000} MHz",
                      f"{b.sram.size_bytes // 1024} KB" + (f" ({regions})" if regions else ""),
                      f"{b.flash.size_bytes // 1024} KB",
                      f"qemu {b.qemu.machine}" + (f", renode {Path(b.renode.platform).stem}" if b.renode is not None else ""),
                      f"output on {b.part.usart}" if b.part is not None else "none (no \\[part] table)")
    out.print(table)
    out.print(escape(f"from {boards_dir()}/*.toml; your own board: --board-file PATH.toml in the same format"))


@cli.command()
@MODEL_ARG
@board_options
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--tflm-arena/--no-tflm-arena", default=True, show_default=True,
              help="Also find the smallest arena TFLite Micro's interpreter needs for the same model.")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              callback=_new_file_in_existing_folder,
              help="Also draw memory per layer (per-layer vs the chosen schedule, against the SRAM limit): "
                   "FILE.png, or FILE.html with the table.")
@click.option("--pareto", "pareto_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              callback=_new_file_in_existing_folder,
              help="Also measure every candidate schedule (per layer, patches at each split and grid, fused "
                   "row-by-row stages and their combinations) and write peak SRAM against MAC overhead, the Pareto "
                   "front and the chosen point: FILE.json, FILE.png, or FILE.html (plot and table).")
@click.option("--check", is_flag=True,
              help="Exit with status 1 when the model does not fit the board (after printing the report); without "
                   "it, report exits 0 either way.")
@CALIBRATION_OPT
@weight_options
@progress_options
@cache_options
@schedule_options
def report(model: Path, board: BoardRef, as_json: bool, tflm_arena: bool, plot_path: Path | None,
           pareto_path: Path | None, check: bool, calibration: Path | None, weights: WeightOptions,
           options: ScheduleOptions, verbose_plan: bool) -> None:
    """Memory report only (no toolchain needed; works even if the model does not fit: exit status 0, or 1 with
    --check when it does not fit)."""
    import tinyc
    planned = tinyc.plan(model, board=board, options=options, calibration=calibration, tflm_arena=tflm_arena,
                         weights=weights)
    rep = planned.report
    if plot_path is not None:
        from tinyc.plan.plot import write_memory_plot
        if plot_path.exists():
            raise click.ClickException(f"{plot_path} exists; tinyc does not overwrite files (remove it or pick another name)")
        write_memory_plot(planned, plot_path)
        console.print(escape(f"memory plot written to {plot_path}"))
    if pareto_path is not None:
        from tinyc.plan.pareto import pareto, pareto_html, pareto_png
        if pareto_path.exists():
            raise click.ClickException(f"{pareto_path} exists; tinyc does not overwrite files (remove it or pick another "
                                       "name)")
        front = pareto(planned)
        suffix = pareto_path.suffix.lower()
        if suffix == ".json":
            pareto_path.write_text(json.dumps(front.as_json(), indent=1) + "\n")
        elif suffix == ".png":
            pareto_path.write_bytes(pareto_png(front))
        else:
            pareto_path.write_text(pareto_html(front, pareto_png(front)))
        console.print(escape(f"Pareto front written to {pareto_path} ({len(front.points)} schedules, "
                             f"{len(front.front)} on the front)"))
    advice = None
    if not rep.fits:
        from tinyc.plan.fit_advice import fit_advice
        advice = fit_advice(planned)
    if as_json:
        _emit_json(json.dumps({**rep.as_json(), "fit_advice": advice.as_json() if advice is not None else None}))
    else:
        if verbose_plan:
            _print_candidates(rep)
        _print_report(rep)
        if advice is not None:
            out.print(f"[red]{escape(advice.text())}[/red]", soft_wrap=True)
    if check and not rep.fits:
        sys.exit(1)


def _c_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from tinyc.codegen.api import ModelNameError, validate_c_name
    try:
        return validate_c_name(value)
    except ModelNameError as exc:
        raise click.BadParameter(str(exc)) from None


@cli.command(name="compile")
@MODEL_ARG
@board_options
@click.option("--output", "-o", type=click.Path(path_type=Path, file_okay=False), default=Path("build"),
              show_default=True, help="Folder for the C project and firmware.elf (must be new, empty, or tinyc's).")
@click.option("--name", "c_name", default="tinyc", show_default=True, callback=_c_name,
              help="C name of the model: prefixes every global symbol (NAME_invoke, NAME_input, ...) and macro "
                   "(NAME_INPUT_BYTES, ...), so that several models link into one firmware.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the build description (the folder's tinyc.json) on stdout instead of the report.")
@click.option("--kernels", type=click.Choice(KERNEL_CHOICES), default=None,
              help="tinyc (default): tinyc's own CMSIS-NN-API kernels, compiled under tinyc_nn_* names (no arm_* "
                   "symbol, so the library links beside Arm's CMSIS-NN); cmsis-nn: the model calls Arm's CMSIS-NN, "
                   "the checkout --cmsis-nn names, and the output holds none of tinyc's copy.")
@CMSIS_OPT
@CALIBRATION_OPT
@weight_options
@progress_options
@cache_options
@schedule_options
def compile_cmd(model: Path, board: BoardRef, output: Path, c_name: str, as_json: bool, kernels: str | None,
                cmsis_nn: Path | None, calibration: Path | None, weights: WeightOptions, options: ScheduleOptions,
                verbose_plan: bool) -> None:
    """Compile MODEL (.py with build(), .keras, float .onnx, or int8 .tflite) to a C project and firmware.elf.

    A .py MODEL is executed as Python code (like setup.py): only compile model files you trust.

    OUTPUT/ holds the QEMU build, the model as a library (README.md, CMakeLists.txt, model.h) and tinyc.json;
    OUTPUT/board/ the firmware for the part itself (flash it; output on its USART)."""
    import tinyc
    from tinyc.run.output_folder import check_output_folder
    _check_kernels(kernels, cmsis_nn)
    check_output_folder(output)  # before the slow steps
    planned = tinyc.plan(model, board=board, options=options, calibration=calibration, weights=weights)
    if verbose_plan:
        _print_candidates(planned.report)
    if not as_json:
        _print_report(planned.report)
    result = tinyc.compile(planned, output=output, name=c_name, cmsis_nn=cmsis_nn)
    printer = console if as_json else out  # --json: stdout holds the JSON only

    def say(text: str) -> None:
        printer.print(escape(text))

    measured = result.description.report
    for note in result.notes:
        _note(note)
    say(f"wrote {output}/ and {result.build.elf}: flash {measured.flash_bytes:,} B "
        f"(code {measured.code_bytes:,}), peak SRAM {measured.peak_sram_bytes:,} B — {measured.verdict()}")
    say(f"the model as a library: {output / 'README.md'} (CMakeLists.txt, model.h; C names {c_name}_*), "
        f"description {output / 'tinyc.json'}")
    if planned.board.part is None:
        _note(f"board {planned.board.name} has no [part] table (the part's USART and vector table): no real-board "
              "firmware was written, only the emulator build")
    part = result.board_build
    if part is not None and planned.board.part is not None:
        say(f"wrote {part.elf} for the {planned.board.name} part itself: flash "
            f"{part.sizes.flash_bytes:,} B, output on {planned.board.part.usart}")
    renode_files = result.renode
    if renode_files is not None:
        say(f"wrote {renode_files.resc} and {renode_files.robot} (expected "
            f"checksum {renode_files.checksum:08x}, TFLite Micro's outputs for the embedded sample); run them "
            f"in Renode with: renode-test -r RESULTS_FOLDER {renode_files.robot}, or "
            f"renode {renode_files.resc} then `start` (see README.md, Renode)")
    if as_json:
        _emit_json(json.dumps(result.as_json()))


def _check_kernels(kernels: str | None, cmsis_nn: Path | None) -> None:
    """--kernels cmsis-nn needs the checkout to build and measure against; --cmsis-nn alone means cmsis-nn."""
    if kernels == "cmsis-nn" and cmsis_nn is None:
        raise click.UsageError("--kernels cmsis-nn needs Arm's CMSIS-NN checkout: give --cmsis-nn PATH (or "
                               "TINYC_CMSIS_NN); the self-test firmware and the memory report are built against it")
    if kernels == "tinyc" and cmsis_nn is not None:
        raise click.UsageError(f"--kernels tinyc and --cmsis-nn {cmsis_nn} exclude each other (--cmsis-nn builds "
                               "against Arm's CMSIS-NN: --kernels cmsis-nn)")


@cli.command(name="verify")
@MODEL_ARG
@board_options
@click.option("--samples", "-n", type=click.IntRange(min=1), default=10, show_default=True,
              help="How many inputs to compare.")
@click.option("--emulator", type=click.Choice(EMULATOR_CHOICES), default="auto", show_default=True,
              help="auto: Renode where renode and renode-test are on PATH (and the board has Renode's model of "
                   "the part), QEMU otherwise; qemu: the emulator build on an mps2 machine; renode: the real-board "
                   "build on Renode's model of the part.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the random inputs.")
@click.option("--outputs-only", is_flag=True,
              help="Compare only the final outputs (quicker); by default the first sample also runs traced and "
                   "every op's output is compared with TFLite Micro's intermediate tensors.")
@click.option("--dataset", "use_dataset", is_flag=True,
              help="Run the samples of the model file's dataset() instead: top-1 of float Keras, TFLite Micro and the "
                   "firmware for class labels; RMSE, max abs error, cosine and SNR of the outputs for every model.")
@click.option("--data", "data_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="--dataset from a .npz file instead of the model file's dataset() (for a .keras or .onnx model): "
                   "array x (samples on the first axis, in the model file's own layout: NCHW for an ONNX image "
                   "model) and optionally y (one integer class per sample, or float targets). Implies --dataset.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="--dataset: use only the first LIMIT samples.")
@CMSIS_OPT
@CALIBRATION_OPT
@weight_options
@progress_options
@cache_options
@schedule_options
def verify_cmd(model: Path, board: BoardRef, samples: int, emulator: str, as_json: bool, seed: int, outputs_only: bool,
               use_dataset: bool, data_file: Path | None, limit: int | None, cmsis_nn: Path | None,
               calibration: Path | None, weights: WeightOptions, options: ScheduleOptions, verbose_plan: bool) -> None:
    """Run MODEL's firmware in the emulator and compare every output byte with TFLite Micro."""
    import tinyc
    started = time.monotonic()
    use_dataset = use_dataset or data_file is not None
    if limit is not None and not use_dataset:
        raise click.BadParameter("--limit caps the samples of --dataset; without it, use --samples")
    if use_dataset:
        _verify_dataset(model, board, limit=limit, options=options, emulator=emulator, cmsis_nn=cmsis_nn,
                        calibration=calibration, weights=weights, as_json=as_json, started=started,
                        data_file=data_file)
        return
    with console.status(f"building and running {model} on {board} in the emulator…"):
        result = tinyc.verify(model, board=board, samples=samples, cmsis_nn=cmsis_nn, seed=seed, options=options,
                              emulator=emulator, every_op=not outputs_only, calibration=calibration,
                              weights=weights)
    elapsed = time.monotonic() - started
    choice = result.choice
    if as_json:
        _print_json(result.as_json(), wall_seconds=elapsed)
    else:
        so = result.second_opinion
        if verbose_plan:
            _print_candidates(result.report)
        if choice is not None:
            out.print(f"emulator: {choice.emulator.value} ({escape(choice.reason)})")
        out.print(f"model: {escape(result.planned.loaded.describe_conversion())}")
        out.print(escape(f"schedule: {result.report.schedule}"))
        out.print(f"{result.run.emulator}: {result.samples} samples, {result.mismatched_samples} mismatching "
                  f"(TFLite Micro reference), stack used {result.run.stack_used_bytes:,} B, {elapsed:.1f} s")
        if result.ops_compared is not None:
            out.print(f"every op of sample 0 compared with TFLite Micro's intermediate tensors: "
                      f"{result.ops_compared} op outputs")
        if so is None:
            out.print("second opinion: LiteRT's BUILTIN_REF interpreter crashed on this model")
        else:
            out.print(f"second opinion, LiteRT BUILTIN_REF vs {result.reference}: {so.differing_bytes} of "
                      f"{so.total_bytes} output bytes differ (max {so.max_abs_diff} LSB)")
        for note in result.report.notes:
            _note(note)
    if result.first_mismatch is not None:
        raise click.ClickException(f"MISMATCH: {result.first_mismatch.describe()}")
    if not as_json:
        what = "every output byte" + (" and every op's output" if result.ops_compared is not None else "")
        out.print(f"[green]bit-exact: {what} equals the reference's ({result.reference})[/green]")


def _verify_dataset(model: Path, board: BoardRef, *, limit: int | None, options: ScheduleOptions, emulator: str,
                    cmsis_nn: Path | None, calibration: Path | None, weights: WeightOptions, as_json: bool,
                    started: float, data_file: Path | None = None) -> None:
    """`verify --dataset`: top-1 of float Keras, the int8 reference and the firmware, with a progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    import tinyc
    from tinyc.progress import Silent, set_reporter
    from tinyc.run.accuracy import read_labelled
    data = read_labelled(data_file) if data_file is not None else None  # before the slow steps
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    previous = set_reporter(Silent())  # the bar is the progress here (Rich shows one live display at a time)
    with Progress(*columns, console=console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        try:
            result = tinyc.verify_dataset(model, board=board, limit=limit, options=options, emulator=emulator,
                                          cmsis_nn=cmsis_nn, calibration=calibration, progress=progress, data=data,
                                          weights=weights)
        finally:
            set_reporter(previous)
    elapsed = time.monotonic() - started
    if as_json:
        _print_json(result.as_json(), wall_seconds=elapsed)
    else:
        if result.choice is not None:
            out.print(f"emulator: {result.choice.emulator.value} ({escape(result.choice.reason)})")
        out.print(f"model: {escape(result.conversion_text)}")
        if result.classes:
            _print_top1(result)
        _print_metrics(result)
        out.print(escape(f"schedule: {result.report.schedule}; {result.batches} firmware build(s), stack used "
                         f"{result.stack_used_bytes:,} B, {elapsed:.1f} s"))
        out.print(f"mismatches: {result.mismatched_samples} of {result.samples} samples differ from {result.reference} "
                  f"({result.mismatched_bytes} bytes)")
        for note in result.notes:
            _note(note)
    if result.first_mismatch is not None:
        raise click.ClickException(f"MISMATCH: {result.first_mismatch}")
    if not as_json:
        out.print(f"[green]bit-exact: the firmware equals {result.reference} on every sample[/green]")


def _print_top1(result: AccuracyResult) -> None:
    table = Table(title=escape(f"{result.model_name} on {result.board}: top-1 on {result.samples} labelled samples"))
    for column in ("", "correct", "top-1"):
        table.add_column(column, justify="left" if not column else "right")
    quantized = "int8" if result.report.weight_precision is None else "int8, int4 weights"
    for name, predictions in (("float Keras", result.float_predictions),
                              (f"{quantized} reference ({result.reference})", result.reference_predictions),
                              (f"firmware ({result.emulator})", result.firmware_predictions)):
        table.add_row(name, f"{result.correct(predictions)} / {result.samples}",
                      f"{100 * result.correct(predictions) / result.samples:.2f}%")
    out.print(table)
    out.print(f"{quantized} drop vs float: {100 * result.int8_drop:+.2f} points (firmware)")


def _print_metrics(result: AccuracyResult) -> None:
    """RMSE, max abs error, cosine similarity and SNR of each pair of outputs (dequantized int8 vs float)."""
    table = Table(title=escape(f"outputs compared over {result.samples} samples (int8 dequantized)"))
    for column in ("", "RMSE", "max abs error", "cosine", "SNR dB"):
        table.add_column(column, justify="left" if not column else "right")
    names = {"int8_reference_vs_float": f"int8 reference ({result.reference}) vs float Keras",
             "firmware_vs_float": "firmware vs float Keras",
             "firmware_vs_int8_reference": f"firmware vs {result.reference}",
             "float_vs_targets": "float Keras vs targets", "int8_reference_vs_targets": "int8 reference vs targets",
             "firmware_vs_targets": "firmware vs targets"}
    for key, m in result.metrics().items():
        table.add_row(escape(names[key]), f"{m.rmse:.6g}", f"{m.max_abs_error:.6g}", f"{m.cosine_similarity:.6f}",
                      f"{m.snr_db:.2f}")
    out.print(table)


@cli.command("bench")
@MODEL_ARG
@board_options
@click.option("--portable", is_flag=True, help="Benchmark the portable reference kernels (-DTINYC_PORTABLE_KERNELS) "
                                                "instead of the optimized DSP kernels.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the random input (without representative data).")
@click.option("--cmsis-nn", "cmsis_nn", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Build against this CMSIS-NN checkout (its int8 sources) instead of tinyc's own kernels, to "
                   "compare; tinyc's in-place kernels stay tinyc's (use --no-inplace for a like-for-like run).")
@click.option("--cycles/--no-cycles", default=True, show_default=True,
              help="Also estimate cycles: a second QEMU run logs the executed instructions, priced by the core's "
                   "timing table (tinyc/run/cycles.py).")
@CALIBRATION_OPT
@weight_options
@progress_options
@cache_options
@schedule_options
def bench_cmd(model: Path, board: BoardRef, portable: bool, as_json: bool, seed: int, cmsis_nn: Path | None,
              cycles: bool, calibration: Path | None, weights: WeightOptions, options: ScheduleOptions,
              verbose_plan: bool) -> None:
    """Count MODEL's instructions per inference in QEMU (-icount shift=0), in total and per layer, and estimate
    its cycles."""
    import tinyc
    if portable and cmsis_nn is not None:
        raise click.UsageError("--portable and --cmsis-nn exclude each other")
    with console.status(f"building and benchmarking {model} on {board} in QEMU…"):
        result = tinyc.bench(model, board=board, portable=portable, seed=seed, options=options, cmsis_nn=cmsis_nn,
                             cycles=cycles, calibration=calibration, weights=weights)
    if as_json:
        _emit_json(json.dumps(result.as_json()))
        return
    table = Table(title=escape(f"{result.model} on {result.board}, {result.kernels} kernels"))
    with_flash = result.cycles_with_flash is not None
    columns = (("op", "layer", "kind", "instructions", "MACs", "instr/MAC")
               + (("est. cycles 0 WS",) if result.cycles else ()) + (("est. cycles w/ flash",) if with_flash else ()))
    for column in columns:
        table.add_column(column, justify="left" if column in ("layer", "kind") else "right")
    for layer in result.layers:
        per_mac = f"{layer.instructions_per_mac:.2f}" if layer.instructions_per_mac is not None else ""
        row = [str(layer.op_index), escape(layer.name), layer.op, f"{layer.instructions:,}", f"{layer.macs:,}", per_mac]
        if layer.estimated_cycles is not None:
            row.append(f"{layer.estimated_cycles:,.0f}")
        if layer.estimated_cycles_with_flash is not None:
            row.append(f"{layer.estimated_cycles_with_flash:,.0f}")
        table.add_row(*row)
    out.print(table)
    per_mac = f"{result.instructions_per_mac:.3f}" if result.instructions_per_mac is not None else "n/a"
    out.print(f"total: {result.instructions:,} instructions per inference, {result.macs:,} MACs, {per_mac} "
              f"instructions/MAC; code linked: kernels {result.kernel_code_bytes:,} B, model (with its specialized "
              f"kernels) {result.model_code_bytes:,} B")
    if result.cycles is not None:
        out.print(f"estimated cycles at zero wait states: {result.cycles.cycles:,.0f} ({result.cycles_per_mac:.3f} per "
                  f"MAC; {result.cycles.core} timing table, an estimate: see tinyc/run/cycles.py), "
                  f"{result.estimated_latency_ms():.2f} ms at {result.clock_hz / 1e6:.0f} MHz")
        flash = result.cycles.flash
        if flash is not None and result.cycles_with_flash is not None:
            t = flash.timing
            out.print(f"estimated cycles with the flash: {result.cycles_with_flash:,.0f} "
                      f"({result.cycles_with_flash / result.cycles.cycles - 1:+.1%}: {t.wait_states} wait states, "
                      f"{t.line_bytes}-byte lines, I-cache {t.icache_lines} / D-cache {t.dcache_lines} lines, prefetch "
                      f"{'on' if t.prefetch else 'off'}; fetch {flash.fetch_stall_cycles:,.0f} + data "
                      f"{flash.data_stall_cycles:,.0f} stall cycles: see tinyc/run/flash.py), "
                      f"{result.estimated_latency_ms_with_flash():.2f} ms at {result.clock_hz / 1e6:.0f} MHz")
        else:
            out.print(escape(f"flash wait states not modelled: {result.board}'s board file has no [flash.timing]"))
        if result.sram_constants_bytes:
            when = "before each staged layer runs" if result.constants == "stage" else "at start-up"
            out.print(f"constants: {result.sram_constants_bytes:,} B of weights and layouts read from SRAM "
                      f"(--constants {result.constants}; copied from flash {when})")
    out.print(f"at one cycle per instruction: {result.latency_ms:.2f} ms (QEMU counts instructions, not cycles; "
              f"resolution {result.instructions_per_tick} instructions)")



@cli.command("search")
@click.argument("search_file", type=click.Path(path_type=Path, dir_okay=False))
@board_options
@click.option("--output", "-o", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder for the study's journal, trials.json, best.py and pareto.png.")
@click.option("--sram-kb", type=click.FloatRange(min=1), default=None, help="SRAM limit (default: the board's).")
@click.option("--flash-kb", type=click.FloatRange(min=1), default=None, help="Flash limit (default: the board's).")
@click.option("--latency-ms", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Limit on the ESTIMATED latency (MACs x per-op instructions/MAC; no emulator runs).")
@click.option("--trials", type=click.IntRange(min=1), default=8, show_default=True,
              help="New trials to train (candidates rejected before training, which cost no training, do not count; "
                   "at most 25 candidates are proposed per trial).")
@click.option("--epochs", type=click.IntRange(min=1), default=2, show_default=True, help="Training epochs per trial.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Trials trained at once: a local Ray with this many CPUs (or tasks in flight on --address).")
@click.option("--address", default=None, help="Join this Ray cluster (e.g. 10.0.0.5:6379, or `auto`) instead of "
                                               "starting a local Ray.")
@click.option("--resume", is_flag=True, help="Continue the search stored in --output.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="The sampler's seed.")
@click.option("--space-samples", type=click.IntRange(min=1), default=24, show_default=True,
              help="Default space: untrained samples planned per (width, resolution) pair to choose the pair "
                   "(TinyNAS's first step: the most MACs among the samples that fit).")
@click.option("--json", "as_json", is_flag=True, help="Print the result (every trial) as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines on stderr (one per trial by default).")
def search_cmd(search_file: Path, board: BoardRef, output: Path, sram_kb: float | None, flash_kb: float | None,
               latency_ms: float | None, trials: int, epochs: int, workers: int, address: str | None, resume: bool,
               seed: int, space_samples: int, as_json: bool, quiet: bool) -> None:
    """Search the most accurate network that fits the board: every candidate is planned by tinyc and rejected with
    its reason before training when it does not fit; the rest are trained as Ray tasks (Optuna, accuracy vs
    estimated latency). SEARCH_FILE defines dataset() -> ((x_train, y_train), (x_val, y_val)) and optionally
    space(trial) -> a keras.Model builder."""
    from tinyc.search.driver import SearchOptions, run_search
    started = time.monotonic()

    def progress(line: str) -> None:
        if not quiet:
            console.print(escape(f"tinyc: {line}"), highlight=False, soft_wrap=True)

    options = SearchOptions(board=board, output=output, sram_kb=sram_kb, flash_kb=flash_kb, latency_ms=latency_ms,
                            trials=trials, epochs=epochs, workers=workers, address=address, resume=resume, seed=seed,
                            space_samples=space_samples)
    result = run_search(search_file, options, progress)
    if as_json:
        _print_json(result.as_json(), wall_seconds=time.monotonic() - started)
        return
    for record in result.records:
        costs = record.costs or {}
        detail = (f"val accuracy {record.val_accuracy:.4f}" if record.val_accuracy is not None
                  else f"{record.status}: {record.reason}")
        cost = (f"{costs['peak_sram_bytes']:,} B SRAM, {costs['flash_bytes']:,} B flash, "
                f"{costs['estimated_ms']:.2f} ms (estimate); " if costs else "")
        out.print(escape(f"trial {record.number}: {cost}{detail}"), highlight=False, soft_wrap=True)
    if result.best_file is not None:
        out.print(escape(f"best: trial {result.best.number if result.best else '-'} -> {result.best_file}"))


def main() -> None:
    debug = "--debug" in sys.argv
    # SIGTERM is handled as Ctrl-C: KeyboardInterrupt unwinds the stack, so temporary folders are removed and
    # subprocess.run kills the QEMU / make it is waiting for; exit status 128 + 15.
    terminated: list[int] = []

    def on_sigterm(signum: int, frame: object) -> None:
        if terminated:
            return  # already unwinding: let the clean-up finish
        terminated.append(signum)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)
    _JSON_WRITTEN.clear()
    try:
        cli.main(standalone_mode=False)
    except (click.exceptions.Abort, KeyboardInterrupt):
        sys.exit(128 + terminated[0] if terminated else 130)
    except click.ClickException as exc:
        exc.show()
        _json_error(exc.format_message(), type(exc).__name__)
        sys.exit(exc.exit_code)
    except TinycError as exc:
        if debug:
            raise
        console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True, markup=True)
        _json_error(str(exc), type(exc).__name__)
        sys.exit(2)


def _json_error(message: str, kind: str) -> None:
    """With --json, an error is also a JSON object on stdout (the line on stderr stays), so that a script reading
    stdout always gets JSON."""
    if "--json" in sys.argv[1:] and not _JSON_WRITTEN:
        sys.stdout.write(json.dumps({"error": message, "error_type": kind}) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
