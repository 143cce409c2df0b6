"""tinyc's Python API: what the `tinyc` commands do, returning the typed records they print as JSON.

    import tinyc
    planned = tinyc.plan("models/digits_mcunet.py", board="stm32f412")   # .report: the memory report
    built = tinyc.compile(planned, output="build/")                      # .as_json(): build/tinyc.json
    proof = tinyc.verify(planned, samples=20)                            # .as_json(): `tinyc verify --json`
    speed = tinyc.bench(planned)                                         # .as_json(): `tinyc bench --json`

Every function takes a model file (`str` or `Path`: .py, .keras, float .onnx, int8 .tflite) with `board=` (a bundled board's name,
or a `Path` to a board file), or the `Planned` model `plan()` returned (its board), so one conversion and one plan
serve every step. `calibration=` (a .npy / .npz file) and `cache=False` (no conversion cache) apply where a model file
is converted. Errors are `tinyc.errors.TinycError`s, as the CLI's. The CLI (`tinyc.cli`) is a thin layer over these.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tinyc.errors import DoesNotFitError, TinycError

if TYPE_CHECKING:
    import numpy as np

    from tinyc.boards import BoardRef
    from tinyc.frontend.weights import WeightOptions
    from tinyc.codegen.library import BuildDescription
    from tinyc.plan.pipeline import Planned
    from tinyc.plan.search import ScheduleOptions
    from tinyc.run.accuracy import AccuracyResult
    from tinyc.run.bench import BenchResult
    from tinyc.run.build import BuildResult
    from tinyc.run.renode import RenodeFiles
    from tinyc.run.verify import Progress, VerifyResult

ModelFile = str | os.PathLike[str]


class ApiUsageError(TinycError):
    """A call that cannot be carried out as given (a missing board, options for an already planned model)."""


@contextlib.contextmanager
def _caching(cache: bool) -> Iterator[None]:
    if cache:
        yield
        return
    from tinyc.frontend.cache import cache_disabled
    with cache_disabled():
        yield


def _options(options: ScheduleOptions | None) -> ScheduleOptions:
    from tinyc.plan.search import ScheduleOptions
    return options if options is not None else ScheduleOptions()


def plan(model: ModelFile, *, board: BoardRef, options: ScheduleOptions | None = None,
         calibration: ModelFile | None = None, cache: bool = True, tflm_arena: bool = False,
         weights: str | WeightOptions = "int8", int8_layers: tuple[str, ...] | list[str] = ()) -> Planned:
    """Convert (or read from the conversion cache), lower, schedule and place `model` for `board`: `tinyc report`.
    The result's `.report` is the memory report (`.report.as_json()` is `tinyc report --json`; `.report.fits`).
    `tflm_arena`: also find the smallest arena TFLite Micro needs (`.report.tflm_arena_bytes`; where its interpreter
    crashes, a note says so). `weights="int4"`: int4 CONV_2D and DEPTHWISE_CONV_2D weights, `int8_layers` kept int8
    ("first", "last", indices, names; `--weights int4 --int8-layers`)."""
    from tinyc.plan.pipeline import plan_model
    from tinyc.run.oracle import OracleCrash, tflm_arena_bytes
    with _caching(cache):
        planned = plan_model(Path(model), board, options=_options(options),
                             calibration=Path(calibration) if calibration is not None else None,
                             weights=_weights(weights, int8_layers))
    if not tflm_arena:
        return planned
    try:
        report = replace(planned.report, tflm_arena_bytes=tflm_arena_bytes(planned.loaded.tflite))
    except OracleCrash as crash:
        report = replace(planned.report, notes=(*planned.report.notes, f"no TFLM arena figure: {crash}"))
    return replace(planned, report=report)


def _weights(weights: str | WeightOptions, int8_layers: tuple[str, ...] | list[str]) -> WeightOptions:
    from tinyc.frontend.weights import WeightBits, WeightOptions
    if isinstance(weights, WeightOptions):
        return weights
    try:
        bits = WeightBits(weights)
    except ValueError:
        raise ApiUsageError(f"weights={weights!r}: give 'int8' or 'int4'") from None
    return WeightOptions(bits=bits, int8_layers=tuple(int8_layers))


def _planned(model: ModelFile | Planned, board: BoardRef | None, options: ScheduleOptions | None,
             calibration: ModelFile | None, cache: bool, weights: str | WeightOptions = "int8",
             int8_layers: tuple[str, ...] | list[str] = ()) -> Planned:
    """`model` planned: as given when `plan()` returned it, else planned now."""
    from tinyc.plan.pipeline import Planned
    if isinstance(model, Planned):
        given = [name for name, value in (("board", board), ("options", options), ("calibration", calibration),
                                          ("weights", None if weights == "int8" else weights),
                                          ("int8_layers", tuple(int8_layers) or None)) if value is not None]
        if given:
            raise ApiUsageError(f"{', '.join(given)} given with an already planned model: pass them to tinyc.plan()")
        return model
    if board is None:
        raise ApiUsageError(f"{model}: give the board (board='stm32f412', or a Path to a board file)")
    return plan(model, board=board, options=options, calibration=calibration, cache=cache, weights=weights,
                int8_layers=int8_layers)


@dataclass(frozen=True)
class CompileResult:
    """What `tinyc compile` wrote: the C project, its ELF, the real-board build and the Renode suite."""
    planned: Planned
    output: Path
    build: BuildResult  # the emulator (self-test) firmware
    board_build: BuildResult | None  # the firmware for the part itself (None: the board has no [part] table)
    renode: RenodeFiles | None  # the .resc and .robot beside the real-board ELF, where the board has Renode's part
    description: BuildDescription  # OUTPUT/tinyc.json
    notes: tuple[str, ...] = field(default=())  # e.g. why no Renode suite was written

    @property
    def report(self) -> Any:
        """The memory report measured from the linked ELF (a MemoryReport)."""
        return self.description.report

    def as_json(self) -> dict[str, Any]:
        """`tinyc compile --json`: the build description (OUTPUT/tinyc.json)."""
        from tinyc.codegen.library import describe_build
        return describe_build(self.description)


def compile(model: ModelFile | Planned, *, output: ModelFile, board: BoardRef | None = None, name: str = "tinyc",
            cmsis_nn: ModelFile | None = None, options: ScheduleOptions | None = None,
            calibration: ModelFile | None = None, cache: bool = True, weights: str | WeightOptions = "int8",
            int8_layers: tuple[str, ...] | list[str] = ()) -> CompileResult:
    """`tinyc compile`: the C project, the model as a library and firmware.elf in `output` (new, empty or tinyc's;
    replaced whole only when every step succeeded), the real-board firmware in `output/board`. `name`: the C name
    prefixing every global symbol; `cmsis_nn`: build against Arm's CMSIS-NN checkout."""
    from tinyc.codegen.api import api_names, model_interface, validate_c_name
    from tinyc.codegen.library import BuildDescription, library_files
    from tinyc.codegen.render import Harness
    from tinyc.plan.pipeline import input_samples
    from tinyc.run.firmware import build_firmware
    from tinyc.run.output_folder import add_files, check_output_folder, staged_output
    folder = Path(output)
    c_name = validate_c_name(name)
    checkout = Path(cmsis_nn) if cmsis_nn is not None else None
    check_output_folder(folder)  # before the slow steps
    planned = _planned(model, board, options, calibration, cache, weights, int8_layers)
    if not planned.report.fits:  # before anything is written
        from tinyc.plan.fit_advice import does_not_fit_message
        raise DoesNotFitError(does_not_fit_message(planned))
    samples = input_samples(planned, 1)
    notes: list[str] = []
    renode = None
    with staged_output(folder) as stage:  # the whole project is swapped in only when every step succeeded
        built = build_firmware(planned, stage, samples, cmsis_nn=checkout, c_name=c_name)
        part = (build_firmware(planned, stage / "board", samples, harness=Harness.BOARD_UART, cmsis_nn=checkout,
                               c_name=c_name)
                if planned.board.part is not None else None)
        if part is not None and planned.board.renode is not None:
            renode = _write_renode_files(planned, part.folder, samples, notes)
        measured = planned.measured_report(built.sizes)
        description = BuildDescription(
            model_name=planned.loaded.source.name, board=planned.board,
            interface=model_interface(planned.schedule, planned.plan, api_names(c_name)), schedule=planned.schedule,
            report=measured, cmsis_nn_dir=str(checkout.absolute()) if checkout is not None else None,
            onnx_layouts=tuple(layout.as_json() for layout in planned.loaded.layouts))
        add_files(library_files(description), stage)
    moved = replace(built, folder=folder, elf=folder / built.elf.name)
    moved_part = (replace(part, folder=folder / "board", elf=folder / "board" / part.elf.name)
                  if part is not None else None)
    if renode is not None:
        renode = replace(renode, resc=folder / "board" / renode.resc.name, robot=folder / "board" / renode.robot.name)
    return CompileResult(planned=planned, output=folder, build=moved, board_build=moved_part, renode=renode,
                         description=description, notes=tuple(notes))


def _write_renode_files(planned: Planned, folder: Path, samples: list[np.ndarray],
                        notes: list[str]) -> RenodeFiles | None:
    """The `.resc` and `.robot` beside the real-board ELF, the suite expecting the checksum of the reference outputs
    for the embedded samples (TFLite Micro's, on the native ops of folded chains; LiteRT's BUILTIN_REF where TFLM
    aborts, said in a note); none when both reference interpreters crash on the model."""
    from tinyc.run.compare import reference_outputs
    from tinyc.run.oracle import OracleCrash
    from tinyc.run.renode import write_renode_files
    try:
        reference = reference_outputs(planned, samples)
    except OracleCrash as crash:
        notes.append(f"no Renode suite: {crash}")
        return None
    notes.extend(f"Renode suite reference: {note}" for note in reference.notes)
    return write_renode_files(folder, planned.board, model_name=planned.loaded.source.name,
                              reference=reference.outputs, macs=planned.lowered.macs)


def verify(model: ModelFile | Planned, *, board: BoardRef | None = None, samples: int = 10, seed: int = 0,
           emulator: str = "auto", every_op: bool = True, cmsis_nn: ModelFile | None = None,
           options: ScheduleOptions | None = None, calibration: ModelFile | None = None,
           cache: bool = True, weights: str | WeightOptions = "int8",
            int8_layers: tuple[str, ...] | list[str] = ()) -> VerifyResult:
    """`tinyc verify`: build, run `samples` inputs in the emulator (`auto`, `qemu` or `renode`) and compare every
    output byte (with `every_op`, every op's output of the first sample) with TFLite Micro. The result's
    `.first_mismatch` is None when bit-exact; `.as_json()` is `tinyc verify --json`."""
    from tinyc.run.emulators import choose_emulator
    from tinyc.run.verify import verify_model
    if samples < 1 or seed < 0:
        raise ApiUsageError(f"samples must be at least 1 and seed at least 0, not {samples} and {seed}")
    planned = _planned(model, board, options, calibration, cache, weights, int8_layers)
    choice = choose_emulator(emulator, planned.board)
    result = verify_model(planned, samples=samples, seed=seed, cmsis_nn=Path(cmsis_nn) if cmsis_nn else None,
                          emulator=choice.emulator, every_op=every_op)
    return replace(result, choice=choice)


def verify_dataset(model: ModelFile | Planned, *, board: BoardRef | None = None, limit: int | None = None,
                   emulator: str = "auto", cmsis_nn: ModelFile | None = None, options: ScheduleOptions | None = None,
                   calibration: ModelFile | None = None, cache: bool = True, weights: str | WeightOptions = "int8",
                   int8_layers: tuple[str, ...] | list[str] = (), progress: Progress | None = None,
                   data: tuple[np.ndarray, np.ndarray | None] | None = None) -> AccuracyResult:
    """`tinyc verify --dataset`: the model file's `dataset()` through float Keras, TFLite Micro and the firmware:
    top-1 for class labels, RMSE / max abs error / cosine / SNR for every model (`.metrics()`), the firmware
    compared with the reference byte for byte; `.as_json()` is `tinyc verify --dataset --json`. `progress(stage,
    done, total)` is called as the stages advance. `data=(x, y)` instead of `dataset()` (for a .keras or .onnx
    model: x in the model file's own layout, NCHW for an ONNX image model; y classes, float targets or None)."""
    from tinyc.run.accuracy import model_accuracy
    from tinyc.run.emulators import choose_emulator
    from tinyc.run.verify import silent
    planned = _planned(model, board, options, calibration, cache, weights, int8_layers)
    choice = choose_emulator(emulator, planned.board)
    result = model_accuracy(planned, limit=limit, emulator=choice.emulator,
                            cmsis_nn=Path(cmsis_nn) if cmsis_nn else None, progress=progress or silent, data=data)
    return replace(result, choice=choice)


def bench(model: ModelFile | Planned, *, board: BoardRef | None = None, portable: bool = False, seed: int = 0,
          cmsis_nn: ModelFile | None = None, cycles: bool = True, options: ScheduleOptions | None = None,
          calibration: ModelFile | None = None, cache: bool = True, weights: str | WeightOptions = "int8",
            int8_layers: tuple[str, ...] | list[str] = ()) -> BenchResult:
    """`tinyc bench`: instructions per inference in QEMU, in total and per layer, and (with `cycles`) the estimated
    cycles; `.as_json()` is `tinyc bench --json`."""
    from tinyc.run.bench import bench_planned
    if portable and cmsis_nn is not None:
        raise ApiUsageError("portable=True and cmsis_nn exclude each other")
    planned = _planned(model, board, options, calibration, cache, weights, int8_layers)
    return bench_planned(planned, portable=portable, seed=seed, cmsis_nn_dir=Path(cmsis_nn) if cmsis_nn else None,
                         cycles=cycles)
