"""The emulators `tinyc verify` can run on, as a registry of backends: each names the firmware flavour it runs
and takes that ELF to a `RunResult`. Adding an emulator is one entry here plus its module.

- QEMU (`mps2-an386` / `mps2-an500`): the emulator build — the board's sizes on the machine's addresses, output
  over semihosting.
- Renode (`platforms/cpus/stm32f412.repl` / `stm32h743.repl`): the real-board build — the part's memory map, output
  on its USART in tinyc's framed protocol.

`choose_emulator` turns `tinyc verify --emulator auto|qemu|renode` into one of them, with the reason.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyc.progress import Step, step
from tinyc.boards import Board
from tinyc.codegen.render import Harness
from tinyc.codegen.renode import require_renode_target
from tinyc.plan.pipeline import Planned
from tinyc.run.build import BuildResult
from tinyc.run.firmware import build_firmware
from tinyc.run.protocol import RunResult
from tinyc.run.qemu import run_qemu
from tinyc.run.renode import board_without_renode, renode_missing_reason, run_renode


class Emulator(enum.Enum):
    QEMU = "qemu"
    RENODE = "renode"


AUTO = "auto"
EMULATOR_CHOICES = (AUTO, *(e.value for e in Emulator))


@dataclass(frozen=True)
class EmulatorChoice:
    """The emulator a run uses and why (shown by `tinyc verify`, text and JSON)."""
    emulator: Emulator
    reason: str


def choose_emulator(requested: str, board: Board) -> EmulatorChoice:
    """`auto`: Renode (the real-board firmware on the part's model) where `renode` and `renode-test` are on PATH
    and the board has a Renode platform and a part; QEMU otherwise. `qemu` / `renode`: that one, as asked."""
    if requested != AUTO:
        return EmulatorChoice(Emulator(requested), f"--emulator {requested}")
    without = board_without_renode(board)
    if without is not None:
        return EmulatorChoice(Emulator.QEMU, f"auto: {without}")
    missing = renode_missing_reason()
    if missing is not None:
        return EmulatorChoice(Emulator.QEMU, f"auto: {missing.split(':')[0]}")
    return EmulatorChoice(Emulator.RENODE, f"auto: renode and renode-test on PATH, and {board.name} has Renode's "
                                           f"model of the part ({require_renode_target(board).platform})")


RunElf = Callable[[Board, Path, str], RunResult]  # board, ELF, model name


def _qemu(board: Board, elf: Path, model_name: str) -> RunResult:
    return run_qemu(board, elf)


def _renode(board: Board, elf: Path, model_name: str) -> RunResult:
    return run_renode(board, elf, model_name=model_name)


def _any_board(board: Board) -> None:
    """Every board file has a [qemu] table."""


def _renode_board(board: Board) -> None:
    require_renode_target(board)


@dataclass(frozen=True)
class EmulatorBackend:
    description: str
    harness: Harness  # the firmware flavour this emulator runs
    run: RunElf
    check_board: Callable[[Board], None]  # refuses, before anything is built, a board the emulator cannot run


EMULATORS: dict[Emulator, EmulatorBackend] = {
    Emulator.QEMU: EmulatorBackend("QEMU mps2 machine, emulator build, semihosting output", Harness.SEMIHOSTING,
                                   _qemu, _any_board),
    Emulator.RENODE: EmulatorBackend("Renode model of the part, real-board build, USART output", Harness.BOARD_UART,
                                     _renode, _renode_board),
}


def build_and_run(emulator: Emulator, planned: Planned, folder: Path, inputs: list[np.ndarray], *,
                  cmsis_nn: Path | None = None, trace: bool = False) -> tuple[BuildResult, RunResult]:
    """Build the firmware flavour `emulator` runs, with `inputs` embedded, and run it."""
    backend = EMULATORS[emulator]
    backend.check_board(planned.board)
    result = build_firmware(planned, folder, inputs, harness=backend.harness, cmsis_nn=cmsis_nn, trace=trace)
    with step(Step.EMULATE, f"{emulator.value}: {len(inputs)} sample{'s' if len(inputs) != 1 else ''} of "
                            f"{planned.loaded.name} on {planned.board.name}"):
        return result, backend.run(planned.board, result.elf, planned.loaded.source.name)
