"""One firmware builder for every flavour: check the fit, render the harness's project, write it, make the ELF."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyc.codegen.api import DEFAULT_C_NAME
from tinyc.codegen.render import HARNESSES, TRACE_FLAG, Harness, render_firmware
from tinyc.errors import DoesNotFitError
from tinyc.plan.pipeline import Planned
from tinyc.run.build import BuildResult, build
from tinyc.run.output_folder import write_files
from tinyc.progress import Step, step


def build_firmware(planned: Planned, folder: Path, samples: list[np.ndarray], *,
                   harness: Harness = Harness.SEMIHOSTING, cmsis_nn: Path | None = None, trace: bool = False,
                   cflags: tuple[str, ...] = (), c_name: str = DEFAULT_C_NAME) -> BuildResult:
    """The `harness` flavour of `planned`'s firmware in `folder` (new, empty or tinyc's own), built.

    `trace` makes the firmware print every op's output (TINYC_TRACE); `cflags` adds compiler flags such as
    `-DTINYC_PORTABLE_KERNELS`; `c_name` prefixes the model code's global symbols (`--name`)."""
    if not planned.report.fits:
        raise DoesNotFitError(f"{planned.loaded.source.name}: {planned.report.verdict()}")
    what = f"{planned.loaded.name}'s {harness.value} firmware for {planned.board.name}"
    with step(Step.RENDER, what):
        files = render_firmware(planned.schedule, planned.plan, planned.board, harness,
                                model_name=planned.loaded.source.name, samples=samples, cmsis_nn_dir=cmsis_nn,
                                c_name=c_name)
        write_files(files, folder)
    flags = (*HARNESSES[harness].cflags, *((TRACE_FLAG,) if trace else ()), *cflags)
    with step(Step.BUILD, f"{what} (make)"):
        return build(folder, make_args=(f"EXTRA_CFLAGS={' '.join(flags)}",) if flags else ())
