"""Renode backend: the real-board firmware on Renode's model of the part, read back from its USART.

Renode emulates the STM32 parts themselves (`platforms/cpus/stm32f412.repl`, `stm32h743.repl`): the firmware it runs
is the one a user flashes (`tinyc.codegen.board`). tinyc generates

- a `.resc` script: load the part's platform and the ELF, point the CPU at the vector table, log the USART to a file;
- a `renode-test` (Robot Framework) suite per model x board asserting the frame header, the done token and the
  CRC-32 of TFLite Micro's outputs for the embedded samples;

and runs Renode headless, reading the framed output into the same `RunResult` as a QEMU run. Renode is a functional
emulator: it verifies correctness, not timing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyc.boards import Board
from tinyc.codegen.board import FRAME
from tinyc.codegen.renode import (UART_LOG_NAME, monitor_path, render_resc, render_robot, require_renode_target,
                                  suite_stem)
from tinyc.errors import EmulatorError, ToolchainError
from tinyc.run.output_folder import record_files
from tinyc.run.protocol import RunResult, output_checksum, parse_framed_output

RENODE_TOOLS = ("renode", "renode-test")
RENODE_HINT = ("Renode is in no package registry: install a release from https://github.com/renode/renode/releases "
               "(linux-portable-dotnet .tar.gz) and put its folder on PATH, build v1.15.3 from source with Mono, or "
               "build the Docker image with INSTALL_RENODE=1 (see README.md)")
DEFAULT_TIMEOUT_S = 600
POLL_INTERVAL_S = 0.25
RENODE_LOG_NAME = "renode.log"


def renode_missing_reason() -> str | None:
    """None when `renode` and `renode-test` are on PATH; otherwise why the Renode backend cannot run."""
    missing = [tool for tool in RENODE_TOOLS if shutil.which(tool) is None]
    if not missing:
        return None
    return f"{' and '.join(missing)} not on PATH: {RENODE_HINT}"


def board_without_renode(board: Board) -> str | None:
    """None when Renode can run `board`'s real-board firmware; otherwise why not (no part or no Renode platform)."""
    if board.renode is None or board.part is None:
        return f"board {board.name} has no Renode platform ([renode] and [part] in boards/{board.name}.toml)"
    return None


@contextlib.contextmanager
def private_tmpdir() -> Iterator[dict[str, str]]:
    """The environment to start Renode in: TMPDIR set to a temp folder of its own, removed afterwards.

    On every start Renode deletes each folder named `renode-*` in its temp folder whose suffix is not the id of a
    live process (`TemporaryFilesManager.Cleanup`): in a private temp folder that can only be its own."""
    folder = tempfile.mkdtemp(prefix="tinyc-renode-tmp-")
    try:
        yield {**os.environ, "TMPDIR": folder}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class RenodeFiles:
    resc: Path
    robot: Path
    checksum: int


def write_renode_files(folder: Path, board: Board, *, model_name: str, reference: list[np.ndarray],
                       macs: int) -> RenodeFiles:
    """Write the `.resc` and `.robot` beside the real-board ELF in `folder` and record them in its manifest."""
    stem = suite_stem(model_name, board)
    checksum = output_checksum(reference)
    resc, robot = folder / f"{stem}.resc", folder / f"{stem}.robot"
    resc.write_text(render_resc(board, model_name=model_name))
    robot.write_text(render_robot(board, model_name=model_name, checksum=checksum, samples=len(reference),
                                  output_bytes=int(np.asarray(reference[0]).size), macs=macs))
    record_files(folder, [resc, robot])
    return RenodeFiles(resc=resc, robot=robot, checksum=checksum)


def renode_command(board: Board, elf: Path, resc: Path, uart_log: Path) -> list[str]:
    renode = require_renode_target(board)
    quit_hook = "monitor.Parse('quit')"
    monitor = "; ".join([
        f"$elf={monitor_path(elf.resolve())}", f"$uart_log={monitor_path(uart_log.resolve())}",
        f"include {monitor_path(resc.resolve())}",
        f'{renode.uart} AddLineHook "{FRAME.done}" "{quit_hook}"',
        f'{renode.uart} AddLineHook "{FRAME.fail}" "{quit_hook}"', "start"])
    return ["renode", "--disable-xwt", "--console", "--plain", "-e", monitor]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the Renode this module started (its own process group, by its id)."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _finished(text: str) -> bool:
    lines = text.splitlines()
    return FRAME.done in lines or FRAME.fail in lines


def run_renode(board: Board, elf: Path, *, model_name: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> RunResult:
    """Run the real-board ELF in Renode headless; return its framed UART output as a `RunResult`. Gives up when the
    firmware sends nothing for `timeout_s` (wall clock) before its done line.

    The script and logs go to `obj/renode/` beside the ELF (a build product folder, so the project folder stays
    tinyc's own)."""
    if shutil.which("renode") is None:
        raise ToolchainError(f"renode not on PATH: {RENODE_HINT}")
    folder = elf.parent / "obj" / "renode"
    folder.mkdir(parents=True, exist_ok=True)
    resc = folder / f"{suite_stem(model_name, board)}.resc"
    resc.write_text(render_resc(board, model_name=model_name))
    uart_log, renode_log = folder / UART_LOG_NAME, folder / RENODE_LOG_NAME
    uart_log.unlink(missing_ok=True)
    emulator = f"renode {require_renode_target(board).platform}"
    progress, sent = time.monotonic(), -1
    command = renode_command(board, elf, resc, uart_log)
    with renode_log.open("w") as log, private_tmpdir() as env:
        proc = subprocess.Popen(command, cwd=folder, stdin=subprocess.PIPE, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            while True:
                text = uart_log.read_text(errors="replace") if uart_log.is_file() else ""
                if _finished(text) or proc.poll() is not None:
                    break
                if len(text) != sent:  # the firmware is alive while its UART output grows (a big model in
                    progress, sent = time.monotonic(), len(text)  # Renode can take many minutes in all)
                if time.monotonic() - progress > timeout_s:
                    raise EmulatorError(f"{emulator}: {elf.name} sent nothing for {timeout_s:.0f} s and no "
                                        f"{FRAME.done} (the firmware hung or faulted); UART so far: {text[-300:]!r}; "
                                        f"Renode's log: {renode_log}")
                time.sleep(POLL_INTERVAL_S)
        finally:
            _stop(proc)
            record_files(elf.parent, [resc, uart_log, renode_log])  # tinyc's own build products from now on
    text = uart_log.read_text(errors="replace") if uart_log.is_file() else ""
    if not text:
        tail = "\n".join(renode_log.read_text(errors="replace").splitlines()[-15:])
        raise EmulatorError(f"{emulator}: Renode exited (status {proc.returncode}) before the firmware wrote to "
                            f"the UART; Renode's log ends:\n{tail}")
    return parse_framed_output(text, emulator)


@dataclass(frozen=True)
class RobotResult:
    passed: bool
    output: str


def run_renode_test(robot: Path, results: Path, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> RobotResult:
    """Run one generated suite with `renode-test`, its results (and the suite's UART log) in `results`, not in
    Renode's install folder nor beside the suite."""
    if shutil.which("renode-test") is None:
        raise ToolchainError(f"renode-test not on PATH: {RENODE_HINT}")
    results.mkdir(parents=True, exist_ok=True)
    with private_tmpdir() as env:
        try:
            proc = subprocess.run(["renode-test", "-r", str(results.resolve()), str(robot.resolve())],
                                  cwd=results, capture_output=True, text=True, timeout=timeout_s, env=env,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise EmulatorError(f"renode-test {robot.name} did not finish within {timeout_s:.0f} s") from None
    return RobotResult(passed=proc.returncode == 0, output=proc.stdout + proc.stderr)
