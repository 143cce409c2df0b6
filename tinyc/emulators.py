"""The emulators `tinyc verify` can run on, as a registry: each builds its firmware and returns a `RunResult`.

- QEMU (`mps2-an386` / `mps2-an500`): the emulator build — the board's sizes on the machine's addresses, output
  over semihosting.
- Renode (`platforms/cpus/stm32f412.repl` / `stm32h743.repl`): the real-board build — the part's memory map, output
  on its USART in tinyc's framed protocol.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tinyc.build import BuildResult
from tinyc.qemu import RunResult

if TYPE_CHECKING:
    from tinyc.driver import Planned


class Emulator(enum.Enum):
    QEMU = "qemu"
    RENODE = "renode"


BuildAndRun = Callable[["Planned", Path, list[np.ndarray], "Path | None"], tuple[BuildResult, RunResult]]


@dataclass(frozen=True)
class EmulatorBackend:
    description: str
    build_and_run: BuildAndRun


def _qemu(planned: Planned, folder: Path, inputs: list[np.ndarray],
          cmsis_nn: Path | None) -> tuple[BuildResult, RunResult]:
    from tinyc.driver import build_firmware
    from tinyc.qemu import run_qemu
    result = build_firmware(planned, folder, inputs, cmsis_nn=cmsis_nn)
    return result, run_qemu(planned.board, result.elf)


def _renode(planned: Planned, folder: Path, inputs: list[np.ndarray],
            cmsis_nn: Path | None) -> tuple[BuildResult, RunResult]:
    from tinyc.renode import build_and_run_renode
    return build_and_run_renode(planned, folder, inputs, cmsis_nn=cmsis_nn)


EMULATORS: dict[Emulator, EmulatorBackend] = {
    Emulator.QEMU: EmulatorBackend("QEMU mps2 machine, emulator build, semihosting output", _qemu),
    Emulator.RENODE: EmulatorBackend("Renode model of the part, real-board build, USART output", _renode),
}


def build_and_run(emulator: Emulator, planned: Planned, folder: Path, inputs: list[np.ndarray], *,
                  cmsis_nn: Path | None = None) -> tuple[BuildResult, RunResult]:
    return EMULATORS[emulator].build_and_run(planned, folder, inputs, cmsis_nn)
