"""Run a semihosted firmware in QEMU and read back what it printed."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyc.boards import Board
from tinyc.build import require_tool
from tinyc.errors import EmulatorError

QEMU_HINT = "apt-get install -y qemu-system-arm"
DEFAULT_TIMEOUT_S = 600


@dataclass(frozen=True)
class RunResult:
    emulator: str
    outputs: tuple[np.ndarray, ...]  # one int8 array per sample
    traces: tuple[tuple[int, np.ndarray], ...]  # (op index, output bytes), TINYC_TRACE builds only
    stack_used_bytes: int
    exit_code: int


def _hex(text: str) -> np.ndarray:
    return np.frombuffer(bytes.fromhex(text), dtype=np.int8).copy()


def parse_output(text: str, emulator: str, exit_code: int) -> RunResult:
    outputs: list[np.ndarray] = []
    traces: list[tuple[int, np.ndarray]] = []
    stack = -1
    lines = text.splitlines()
    if "TINYC-BEGIN" not in lines:
        raise EmulatorError(f"{emulator}: the firmware printed no TINYC-BEGIN (exit code {exit_code}); "
                            f"output: {text[-500:]!r}")
    for line in lines:
        tag, _, rest = line.partition(" ")
        if tag == "OUT":
            _, _, data = rest.partition(" ")
            outputs.append(_hex(data))
        elif tag == "TRACE":
            index, _, data = rest.partition(" ")
            traces.append((int(index), _hex(data)))
        elif tag == "STACK":
            stack = int(rest.split()[0])
        elif tag == "ERROR":
            raise EmulatorError(f"{emulator}: the kernel of op {rest.split()[0]} returned an error status")
    if "TINYC-END" not in lines or exit_code != 0:
        raise EmulatorError(f"{emulator}: the firmware did not finish (exit code {exit_code}); last output: {text[-300:]!r}")
    return RunResult(emulator=emulator, outputs=tuple(outputs), traces=tuple(traces), stack_used_bytes=stack,
                     exit_code=exit_code)


def qemu_command(board: Board, elf: Path, *, icount: bool = False) -> list[str]:
    cmd = ["qemu-system-arm", "-M", board.qemu.machine, "-nographic", "-monitor", "none", "-serial", "none",
           "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)]
    if icount:
        cmd[1:1] = ["-icount", "shift=0"]
    return cmd


def run_qemu(board: Board, elf: Path, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> RunResult:
    require_tool("qemu-system-arm", QEMU_HINT)
    try:
        proc = subprocess.run(qemu_command(board, elf), capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise EmulatorError(f"QEMU ({board.qemu.machine}) did not finish {elf.name} within {timeout_s:.0f} s "
                            "(the firmware hung or the model is too slow for the emulator)") from None
    # QEMU writes semihosting output to its stderr.
    return parse_output(proc.stderr + proc.stdout, f"qemu {board.qemu.machine}", proc.returncode)
