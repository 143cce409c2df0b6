"""Code generation: a scheduled and planned model → the C sources of one firmware flavour, as `dict[path, str]`.

A firmware is the model code (`common/` templates: model, weights, kernels, Makefile) plus a harness, chosen by
`Harness`: the QEMU semihosting self-test, the part's own firmware with framed USART output, or the
instruction-counting bench. Each harness names its target addresses, its templates and what they print in one
registry entry; adding a harness is one entry here plus its templates. Output is byte-for-byte deterministic: no
timestamps, no absolute paths, sorted iteration.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyc.boards import Board
from tinyc.codegen.api import DEFAULT_C_NAME, ERROR_NO_ARENA, LIBRARY_SOURCES, api_names, model_interface
from tinyc.codegen.board import board_harness_context
from tinyc.codegen.kernels import step_code
from tinyc.codegen.target import Target, emulator_target, part_target
from tinyc.codegen.templates import render
from tinyc.ir.lower import ConstArray
from tinyc.plan.constants import ConstantsPlacement
from tinyc.plan.placement import MemoryPlan
from tinyc.plan.schedule import Schedule
from tinyc.plan.specialize import KernelChoice, choose_kernels
from tinyc.resources import kernels_dir

APP_SOURCES = ("model.c", "model_weights.c", "startup.c", "harness.c")
CMSIS_NN_FOLDER = "cmsis_nn"
TINYC_KERNELS_FOLDER = "tinyc_kernels"
COMMON_TEMPLATES = {"model.h": "common/model.h.j2", "model.c": "common/model.c.j2",
                    "model_weights.h": "common/model_weights.h.j2", "model_weights.c": "common/model_weights.c.j2",
                    "Makefile": "common/Makefile.j2"}

BENCH_RUNS = 2  # inferences per bench firmware run; their counts must agree to one tick
CALIBRATION_LOOPS = 1_000_000  # 2,000,000 instructions
PROFILE_FLAG = "-DTINYC_PROFILE"
TRACE_FLAG = "-DTINYC_TRACE"
PORTABLE_FLAG = "-DTINYC_PORTABLE_KERNELS"
# The application's switches: read by model.c and the harnesses only, never by a kernel source (a test keeps it so),
# so they stay out of the kernel flags and of the kernel cache's key (tinyc.run.kernel_cache).
APP_FLAGS = frozenset({PROFILE_FLAG, TRACE_FLAG})


class Kernels(enum.Enum):
    """Which implementation of the CMSIS-NN int8 API the model code calls (`tinyc compile --kernels`)."""
    TINYC = "tinyc"  # tinyc's own, bundled in cmsis_nn/ and compiled under tinyc_nn_* names (no arm_* symbol)
    CMSIS_NN = "cmsis-nn"  # Arm's CMSIS-NN, the application's checkout: the output holds no cmsis_nn/


def kernels_of(cmsis_nn_dir: Path | str | None) -> Kernels:
    """A project built against a CMSIS-NN checkout runs Arm's kernels; without one, tinyc's."""
    return Kernels.TINYC if cmsis_nn_dir is None else Kernels.CMSIS_NN


class Harness(enum.Enum):
    SEMIHOSTING = "semihosting"  # emulator build: samples after the board's flash, output over semihosting (QEMU)
    BOARD_UART = "board-uart"  # the part itself: vector table in flash, framed output on its USART (Renode, a board)
    BENCH = "bench"  # emulator build counting instructions per schedule step (QEMU -icount)


HarnessContext = Callable[[Board, list[np.ndarray]], dict[str, object]]


def _no_context(board: Board, samples: list[np.ndarray]) -> dict[str, object]:
    return {}


def _board_context(board: Board, samples: list[np.ndarray]) -> dict[str, object]:
    return board_harness_context(board)


def _bench_context(board: Board, samples: list[np.ndarray]) -> dict[str, object]:
    return {"sample": samples[0], "runs": BENCH_RUNS, "calibration_loops": CALIBRATION_LOOPS}


@dataclass(frozen=True)
class HarnessSpec:
    description: str
    target: Callable[[Board], Target]
    templates: dict[str, str]  # project file -> template
    context: HarnessContext  # what the harness's templates print beyond the common context
    cflags: tuple[str, ...] = ()  # EXTRA_CFLAGS the harness needs


HARNESSES: dict[Harness, HarnessSpec] = {
    Harness.SEMIHOSTING: HarnessSpec(
        "QEMU mps2 machine, the board's sizes on the emulator's addresses, output over semihosting",
        emulator_target, {"startup.c": "emulator/startup.c.j2", "linker.ld": "emulator/linker.ld.j2",
                          "harness.c": "emulator/harness.c.j2"}, _no_context),
    Harness.BOARD_UART: HarnessSpec(
        "the part itself, its memory map, framed output on its USART",
        part_target, {"startup.c": "board/startup.c.j2", "linker.ld": "board/linker.ld.j2",
                      "harness.c": "board/harness.c.j2", "usart.h": "board/usart.h.j2"}, _board_context),
    Harness.BENCH: HarnessSpec(
        "QEMU mps2 machine with -icount: instructions per schedule step",
        emulator_target, {"startup.c": "emulator/startup.c.j2", "linker.ld": "emulator/linker.ld.j2",
                          "harness.c": "bench/harness.c.j2"}, _bench_context, cflags=(PROFILE_FLAG,)),
}


def kernel_sources(*, include_cmsis_nn: bool) -> dict[str, str]:
    """tinyc's kernel sources, copied into the generated project (CMSIS-NN replacement optional)."""
    files: dict[str, str] = {}
    folders = [("tinyc", TINYC_KERNELS_FOLDER)] + ([("cmsis_nn", CMSIS_NN_FOLDER)] if include_cmsis_nn else [])
    for src, dst in folders:
        root = kernels_dir() / src
        for path in sorted(root.rglob("*")):
            if path.suffix in (".c", ".h"):
                files[f"{dst}/{path.relative_to(root).as_posix()}"] = path.read_text()
    return files


def render_firmware(schedule: Schedule, plan: MemoryPlan, board: Board, harness: Harness, *, model_name: str,
                    samples: list[np.ndarray], cmsis_nn_dir: Path | None = None,
                    c_name: str = DEFAULT_C_NAME, kernels: tuple[KernelChoice, ...] | None = None,
                    constants: ConstantsPlacement = ConstantsPlacement(),
                    layout_notes: tuple[str, ...] = ()) -> dict[str, str]:
    """All files of one firmware project, by relative path; `c_name` prefixes the model code's symbols; `kernels`:
    each step's kernel as the plan chose it (Planned.kernels), chosen here when not given; `constants`: the arrays
    linked into .data (copied to SRAM at start-up) and those copied into the stage buffer before their step
    (Planned.constants); `layout_notes`: how an ONNX model's input and output map onto the int8 model's
    (LoadedModel.layout_notes, said in model.h)."""
    spec = HARNESSES[harness]
    api = api_names(c_name)
    interface = model_interface(schedule, plan, api)
    target = spec.target(board)
    samples = [np.asarray(s).reshape(-1) for s in samples]
    graph = schedule.graph
    choices = kernels if kernels is not None else choose_kernels(schedule, board)
    assert len(choices) == len(schedule.steps), "one kernel choice per schedule step"
    arrays: dict[str, ConstArray] = {}
    for step, choice in zip(schedule.steps, choices):  # patch steps share their op's constants
        for a in step.call.consts + choice.consts:
            arrays.setdefault(a.name, a)
    x, y = graph.tensor(schedule.input), graph.tensor(schedule.output)
    context: dict[str, object] = dict(
        model_name=model_name, board=board, target_note=target.note, layout_notes=layout_notes, steps=schedule.steps,
        arrays=list(arrays.values()), sram_constants=constants.in_sram, arena_bytes=plan.arena_bytes,
        offset=plan.offsets(),
        scratch=[plan.scratch(i) for i in range(len(schedule.steps))],
        tensor_bytes={t.index: t.size_bytes for t in graph.tensors}, input=schedule.input, output=schedule.output,
        stream_input=schedule.stream_input, input_width=x.shape[2] if len(x.shape) == 4 else 0,
        input_channels=x.shape[3] if len(x.shape) == 4 else 0,
        input_bytes=x.size_bytes, output_bytes=y.size_bytes, input_shape="x".join(map(str, x.shape)),
        output_shape="x".join(map(str, y.shape)), input_scale=repr(x.scale), input_zero_point=x.zero_point,
        output_scale=repr(y.scale), output_zero_point=y.zero_point, macs=schedule.macs,
        schedule_note=schedule.describe(), samples=samples, flash_origin=target.flash_origin,
        sram_origin=target.sram_origin, testdata_origin=target.testdata_origin, testdata_bytes=target.testdata_bytes,
        vector_origin=target.vector_origin,
        app_sources=APP_SOURCES, tinyc_cmsis_nn_dir=CMSIS_NN_FOLDER, cmsis_nn_dir=str(cmsis_nn_dir) if cmsis_nn_dir else CMSIS_NN_FOLDER,
        external_cmsis_nn=kernels_of(cmsis_nn_dir) is Kernels.CMSIS_NN,
        step_code=[step_code(s, streamed_input=schedule.input if schedule.stream_input else None, choice=c,
                             staged=constants.staged)
                   for s, c in zip(schedule.steps, choices)],
        stage_words=-(-constants.stage_bytes // 4) if constants.staged else 0,
    )
    context.update(spec.context(board, samples))
    context.update(api=api, interface=interface, library_sources=LIBRARY_SOURCES, error_no_arena=ERROR_NO_ARENA,
                   output_overlaps_input=interface.output_overlaps_input, input_preserved=interface.input_preserved)
    templates = {**COMMON_TEMPLATES, **spec.templates}
    files = {path: render(template, **context) for path, template in templates.items()}
    files.update(kernel_sources(include_cmsis_nn=kernels_of(cmsis_nn_dir) is Kernels.TINYC))
    return dict(sorted(files.items()))
