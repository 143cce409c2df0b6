"""What `tinyc compile` writes for an application beside the self-test firmware: `tinyc.json` (machine-readable:
memory report, schedule, quantization, version, board), `README.md` (which files to copy, what to link, the call
sequence, memory placement), `CMakeLists.txt` (the model as a static library) and the forwarding header `NAME.h`.

The description is built once, as typed values, and turned into a dict only for JSON (`describe_build`); the
templates in `firmware_templates/library/` print the same numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tinyc.version import __version__
from tinyc.boards import Board
from tinyc.codegen.api import LIBRARY_SOURCES, ModelInterface
from tinyc.codegen.render import CMSIS_NN_FOLDER, TINYC_KERNELS_FOLDER, Kernels, kernels_of
from tinyc.codegen.templates import render
from tinyc.plan.report import MemoryReport
from tinyc.plan.schedule import Schedule

DESCRIPTION_FILE = "tinyc.json"
DESCRIPTION_FORMAT = 1
MODEL_SOURCES = LIBRARY_SOURCES
MODEL_HEADERS = ("model.h", "model_weights.h")
LIBRARY_TEMPLATES = {"README.md": "library/README.md.j2", "CMakeLists.txt": "library/CMakeLists.txt.j2",
                     "zephyr/module.yml": "library/zephyr/module.yml.j2",
                     "zephyr/CMakeLists.txt": "library/zephyr/CMakeLists.txt.j2"}
ZEPHYR_MODULE_PREFIX = "tinyc_model_"  # + the model's --name: unique among the application's modules
FORWARDING_HEADER_TEMPLATE = "library/forward.h.j2"


@dataclass(frozen=True)
class BuildDescription:
    """One compiled model as an application (or a CI, an IDE plugin) sees it."""
    model_name: str  # the model file's name
    board: Board
    interface: ModelInterface
    schedule: Schedule
    report: MemoryReport  # measured from the linked self-test ELF
    cmsis_nn_dir: str | None = None  # the user's CMSIS-NN checkout (--cmsis-nn), else the bundled cmsis_nn/
    onnx_layouts: tuple[dict[str, Any], ...] = ()  # an ONNX model's input and output mapping (EdgeLayout.as_json())

    @property
    def kernels(self) -> Kernels:
        return kernels_of(self.cmsis_nn_dir)

    @property
    def external_cmsis_nn(self) -> bool:
        return self.kernels is Kernels.CMSIS_NN

    @property
    def include_dirs(self) -> tuple[str, ...]:
        return (".", TINYC_KERNELS_FOLDER) + (() if self.external_cmsis_nn else (f"{CMSIS_NN_FOLDER}/Include",))


def describe_build(d: BuildDescription) -> dict[str, Any]:
    """The content of tinyc.json (and of `tinyc compile --json`): deterministic, no paths outside the folder."""
    summary = d.report.schedule_summary
    return {
        "format": DESCRIPTION_FORMAT,
        "tinyc_version": __version__,
        "model": d.model_name,
        "name": d.interface.names.prefix,
        "board": {"name": d.board.name, "cpu": d.board.cpu, "clock_hz": d.board.clock_hz,
                  "cflags": list(d.board.cflags), "sram_bytes": d.board.sram.size_bytes,
                  "sram_regions": [{"name": r.name, "origin": r.origin, "size_bytes": r.size_bytes}
                                   for r in d.board.sram_regions],
                  "flash_bytes": d.board.flash.size_bytes},
        "input": d.interface.input.as_json(),
        "output": d.interface.output.as_json(),
        "arena": {"size_bytes": d.interface.arena_bytes, "alignment_bytes": d.interface.arena_alignment_bytes,
                  "input_streamed": d.interface.input_streamed,
                  "output_overlaps_input": d.interface.output_overlaps_input,
                  "input_preserved": d.interface.input_preserved},
        "schedule": {"description": d.schedule.describe(), "steps": len(d.schedule.steps), "macs": d.schedule.macs,
                     **summary.as_json()},
        "memory": d.report.as_json(),
        "library": {"target": d.interface.names.library, "header": d.interface.names.header,
                    "sources": list(MODEL_SOURCES), "headers": list(MODEL_HEADERS),
                    "include_dirs": list(d.include_dirs),
                    "kernels": d.kernels.value},
        **({"onnx_layouts": list(d.onnx_layouts)} if d.onnx_layouts else {}),
    }


def description_json(d: BuildDescription) -> str:
    return json.dumps(describe_build(d), indent=1, sort_keys=True) + "\n"


def library_files(d: BuildDescription) -> dict[str, str]:
    """README.md, CMakeLists.txt, zephyr/ (module.yml, CMakeLists.txt), NAME.h and tinyc.json, by relative path."""
    names = d.interface.names
    context: dict[str, object] = dict(
        d=d, api=names, interface=d.interface, board=d.board, report=d.report, model_name=d.model_name,
        schedule_note=d.schedule.describe(), sources=MODEL_SOURCES, headers=MODEL_HEADERS,
        include_dirs=d.include_dirs, kernels_folder=TINYC_KERNELS_FOLDER, cmsis_nn_folder=CMSIS_NN_FOLDER,
        description_file=DESCRIPTION_FILE, cpu_flags=" ".join(d.board.cflags),
        zephyr_module=ZEPHYR_MODULE_PREFIX + names.prefix,
        input_shape="x".join(map(str, d.interface.input.shape)),
        output_shape="x".join(map(str, d.interface.output.shape)))
    files = {path: render(template, **context) for path, template in LIBRARY_TEMPLATES.items()}
    files[names.header] = render(FORWARDING_HEADER_TEMPLATE, **context)
    files[DESCRIPTION_FILE] = description_json(d)
    return dict(sorted(files.items()))
