"""Code generation: a lowered, scheduled and planned model → C sources, as `dict[path, str]`.

Templates in `firmware_templates/` hold all C text; this module only computes what they print.
Output is byte-for-byte deterministic: no timestamps, no absolute paths, sorted iteration.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np

from tinyc.boards import Board
from tinyc.lower import ConstArray
from tinyc.planner import MemoryPlan
from tinyc.resources import kernels_dir, templates_dir
from tinyc.schedule import Schedule

APP_SOURCES = ("model.c", "model_weights.c", "startup.c", "harness.c")
CMSIS_NN_FOLDER = "cmsis_nn"
TINYC_KERNELS_FOLDER = "tinyc_kernels"


@dataclass(frozen=True)
class Target:
    """Where the firmware runs: the board's sizes on the emulator's or the part's addresses."""
    board: Board
    flash_origin: int
    sram_origin: int
    note: str
    testdata_bytes: int = 0  # emulator only: memory after the board's flash for the harness's input samples

    @property
    def testdata_origin(self) -> int:
        return self.flash_origin + self.board.flash.size_bytes


# QEMU's mps2 machines have 4 MiB of code memory at 0x0; what the board's flash does not use holds the
# harness's input samples, so that test data never counts against (or overflows) the board's flash.
QEMU_CODE_MEMORY_BYTES = 4 * 1024 * 1024


def emulator_target(board: Board) -> Target:
    return Target(board=board, flash_origin=board.qemu.flash_origin, sram_origin=board.qemu.sram_origin,
                  note=f"QEMU {board.qemu.machine}: the board's flash and SRAM sizes and CPU flags "
                       f"on the emulator's addresses",
                  testdata_bytes=QEMU_CODE_MEMORY_BYTES - board.flash.size_bytes)


def c_values(values: np.ndarray, per_line: int = 24) -> str:
    flat = np.asarray(values).reshape(-1).tolist()
    rows = (", ".join(str(v) for v in flat[i:i + per_line]) for i in range(0, len(flat), per_line))
    return ",\n".join(f"    {row}" for row in rows)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=False, autoescape=False)
    env.filters["c_values"] = c_values
    return env


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


def render_project(schedule: Schedule, plan: MemoryPlan, target: Target, *, model_name: str,
                   samples: list[np.ndarray], cmsis_nn_dir: Path | None = None) -> dict[str, str]:
    """All files of the firmware project, by relative path."""
    env = _environment()
    graph = schedule.graph
    arrays: dict[str, ConstArray] = {}
    for step in schedule.steps:  # patch steps share their op's constants
        for a in step.call.consts:
            arrays.setdefault(a.name, a)
    x, y = graph.tensor(schedule.input), graph.tensor(schedule.output)
    context = dict(
        model_name=model_name, board=target.board, target_note=target.note, steps=schedule.steps,
        arrays=list(arrays.values()), arena_bytes=plan.arena_bytes, offset=plan.offsets(),
        scratch=[plan.scratch(i) for i in range(len(schedule.steps))],
        tensor_bytes={t.index: t.size_bytes for t in graph.tensors}, input=schedule.input, output=schedule.output,
        stream_input=schedule.stream_input, input_width=x.shape[2] if len(x.shape) == 4 else 0,
        input_channels=x.shape[3] if len(x.shape) == 4 else 0,
        input_bytes=x.size_bytes, output_bytes=y.size_bytes, input_shape="x".join(map(str, x.shape)),
        output_shape="x".join(map(str, y.shape)), input_scale=repr(x.scale), input_zero_point=x.zero_point,
        output_scale=repr(y.scale), output_zero_point=y.zero_point, macs=schedule.macs, schedule_note=schedule.describe(),
        samples=samples, flash_origin=target.flash_origin, sram_origin=target.sram_origin,
        testdata_origin=target.testdata_origin, testdata_bytes=target.testdata_bytes,
        app_sources=APP_SOURCES, cmsis_nn_dir=str(cmsis_nn_dir) if cmsis_nn_dir else CMSIS_NN_FOLDER,
    )
    rendered = {
        "model.h": "model.h.j2", "model.c": "model.c.j2", "model_weights.h": "model_weights.h.j2",
        "model_weights.c": "model_weights.c.j2", "startup.c": "startup.c.j2", "linker.ld": "linker.ld.j2",
        "harness.c": "harness_semihosting.c.j2", "Makefile": "Makefile.j2",
    }
    files = {path: env.get_template(template).render(**context) for path, template in rendered.items()}
    files.update(kernel_sources(include_cmsis_nn=cmsis_nn_dir is None))
    return dict(sorted(files.items()))
