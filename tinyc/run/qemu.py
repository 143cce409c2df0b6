"""QEMU backend: run an emulator-build ELF on the board's mps2 machine and return what it printed."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tinyc.boards import Board
from tinyc.errors import EmulatorError
from tinyc.run.build import require_tool
from tinyc.run.protocol import BenchCounts, RunResult, parse_bench, parse_semihosting

QEMU_HINT = "apt-get install -y qemu-system-arm"
DEFAULT_TIMEOUT_S = 600


def qemu_command(board: Board, elf: Path, *, icount: bool = False) -> list[str]:
    cmd = ["qemu-system-arm", "-M", board.qemu.machine, "-nographic", "-monitor", "none", "-serial", "none",
           "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)]
    if icount:
        cmd[1:1] = ["-icount", "shift=0"]
    return cmd


def qemu_output(board: Board, elf: Path, *, icount: bool = False, timeout_s: float = DEFAULT_TIMEOUT_S) -> tuple[str, int]:
    """Run the ELF; its semihosting output and QEMU's exit status."""
    require_tool("qemu-system-arm", QEMU_HINT)
    try:
        proc = subprocess.run(qemu_command(board, elf, icount=icount), capture_output=True, text=True,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise EmulatorError(f"QEMU ({board.qemu.machine}) did not finish {elf.name} within {timeout_s:.0f} s "
                            "(the firmware hung or the model is too slow for the emulator)") from None
    return proc.stderr + proc.stdout, proc.returncode  # QEMU writes semihosting output to its stderr


def emulator_name(board: Board) -> str:
    return f"qemu {board.qemu.machine}"


def run_qemu(board: Board, elf: Path, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> RunResult:
    text, status = qemu_output(board, elf, timeout_s=timeout_s)
    return parse_semihosting(text, emulator_name(board), status)


def bench_qemu(board: Board, elf: Path, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> BenchCounts:
    """Run a bench-harness ELF with `-icount shift=0` (one virtual nanosecond per instruction)."""
    text, status = qemu_output(board, elf, icount=True, timeout_s=timeout_s)
    return parse_bench(text, emulator_name(board), status)
