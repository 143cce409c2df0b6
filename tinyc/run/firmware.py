"""One firmware builder for every flavour: check the fit, render the harness's project, write it, make the ELF."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tinyc.codegen.api import DEFAULT_C_NAME
from tinyc.codegen.render import APP_FLAGS, HARNESSES, TRACE_FLAG, Harness, render_firmware
from tinyc.errors import DoesNotFitError
from tinyc.plan.pipeline import Planned
from tinyc.run import kernel_cache
from tinyc.run.build import BuildResult, build, make
from tinyc.run.output_folder import write_files
from tinyc.progress import Step, step


def build_firmware(planned: Planned, folder: Path, samples: list[np.ndarray], *,
                   harness: Harness = Harness.SEMIHOSTING, cmsis_nn: Path | None = None, trace: bool = False,
                   cflags: tuple[str, ...] = (), c_name: str = DEFAULT_C_NAME) -> BuildResult:
    """The `harness` flavour of `planned`'s firmware in `folder` (new, empty or tinyc's own), built.

    `trace` makes the firmware print every op's output (TINYC_TRACE); `cflags` adds compiler flags such as
    `-DTINYC_PORTABLE_KERNELS`; `c_name` prefixes the model code's global symbols (`--name`)."""
    if not planned.report.fits:
        from tinyc.plan.fit_advice import does_not_fit_message
        raise DoesNotFitError(does_not_fit_message(planned))
    what = f"{planned.loaded.name}'s {harness.value} firmware for {planned.board.name}"
    with step(Step.RENDER, what):
        files = render_firmware(planned.schedule, planned.plan, planned.board, harness,
                                model_name=planned.loaded.source.name, samples=samples, cmsis_nn_dir=cmsis_nn,
                                c_name=c_name, kernels=planned.kernels, constants=planned.constants,
                                layout_notes=planned.loaded.layout_notes)
        write_files(files, folder)
    flags = (*HARNESSES[harness].cflags, *((TRACE_FLAG,) if trace else ()), *cflags)
    kernel_flags = tuple(f for f in flags if f not in APP_FLAGS)  # the application's switches stay out of the key
    app_flags = tuple(f for f in flags if f in APP_FLAGS)
    make_args = tuple(f"{name}={' '.join(values)}" for name, values in
                      (("EXTRA_CFLAGS", kernel_flags), ("APP_CFLAGS", app_flags)) if values)
    # tinyc's own kernels come from the kernel cache (when it is on); Arm's CMSIS-NN is compiled in the project
    key = (kernel_cache.archive_key(folder, planned.board.cflags, kernel_flags)
           if cmsis_nn is None and kernel_cache.kernel_cache_dir() is not None else None)
    archive = kernel_cache.lookup(key) if key is not None else None
    note = "" if key is None else "; kernels from the cache" if archive else "; kernels compiled for the cache"
    with step(Step.BUILD, f"{what} (make{note})"):
        if key is not None and archive is None:
            archive = _compile_kernels(folder, key, make_args)
        return build(folder, make_args=(*make_args, *((f"{kernel_cache.ARCHIVE_VARIABLE}={archive}",)
                                                      if archive is not None else ())))


def _compile_kernels(folder: Path, key: str, make_args: tuple[str, ...]) -> Path:
    """The kernel archive of `key`: built by the project's own `kernels` target (its flags) once, then cached."""
    with kernel_cache.locked(key):
        archive = kernel_cache.lookup(key)  # another process may have built it while this one waited
        if archive is None:
            make(folder, ("kernels", *make_args))
            built = folder / kernel_cache.ARCHIVE_IN_PROJECT
            archive = kernel_cache.store(key, built) or built
        return archive
