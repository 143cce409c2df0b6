"""Renode's script and test suite for the real-board firmware, as text (run by `tinyc.run.renode`)."""

from __future__ import annotations

import math
import re
from pathlib import Path

from tinyc.boards import Board, RenodeTarget
from tinyc.codegen.board import FRAME
from tinyc.codegen.templates import render
from tinyc.errors import BoardError, EmulatorError

ELF_NAME = "firmware.elf"
UART_LOG_NAME = "renode-uart.log"
RENODE_MIPS = 100  # Renode's default PerformanceInMips: converts instructions to emulated seconds
INSTRUCTIONS_PER_MAC = 40  # generous for the portable C kernels


def require_renode_target(board: Board) -> RenodeTarget:
    if board.renode is None:
        raise BoardError(f"board {board.name!r} has no [renode] table in boards/{board.name}.toml "
                         "(the Renode platform file and the name of the output UART in it)")
    return board.renode


def monitor_path(path: Path | str) -> str:
    """`path` as a token of Renode's monitor: `@` and the path with each space escaped (`\\ `), the one form its
    tokenizer reads as a single path. A path with another white-space character or a `;` (which ends a monitor
    command) cannot be written at all and is refused."""
    text = str(path)
    bad = sorted({c for c in text if (c.isspace() and c != " ") or c == ";"})
    if bad:
        raise EmulatorError(f"Renode's monitor cannot take the path {text!r} (it holds {' '.join(map(repr, bad))}); "
                            "use a folder whose path has no tab, newline or semicolon")
    return "@" + text.replace(" ", "\\ ")


_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9_.+-]")


def script_name(model_name: str) -> str:
    """The model file's name as it may appear in a Renode script, a Robot suite and their file names: letters,
    digits and `_.+-` kept, anything else (a newline, `${`, `*** `, a space, `;`, a `#`) an underscore. A file name
    is the user's, but it must not become a Renode command, a Robot variable or a new section of the suite."""
    return _UNSAFE_IN_NAME.sub("_", model_name) or "_"


def suite_stem(model_name: str, board: Board) -> str:
    return f"{Path(script_name(model_name)).stem}-{board.name}"


def render_resc(board: Board, *, model_name: str) -> str:
    """The `.resc` script: the part's platform, the ELF, the vector table, the USART logged to a file. The ELF and
    the log default to the script's own folder (`$ORIGIN`), wherever Renode was started."""
    renode = require_renode_target(board)
    return render("renode/firmware.resc.j2",
        model_name=script_name(model_name), board=board, renode=renode, elf_name=ELF_NAME, uart_log_name=UART_LOG_NAME,
        machine_name=board.name, flash_origin=board.flash.origin)


def robot_timeout_virtual_s(macs: int, samples: int) -> int:
    """Emulated seconds the Robot terminal tester waits: the model's MACs at a generous instruction count."""
    return 60 + math.ceil(macs * samples * INSTRUCTIONS_PER_MAC / (RENODE_MIPS * 1_000_000))


def render_robot(board: Board, *, model_name: str, checksum: int, samples: int, output_bytes: int,
                 macs: int) -> str:
    """The `renode-test` suite for one model on one board: it fails as soon as the firmware reports an error or
    sends a checksum other than TFLite Micro's, not at the timeout."""
    renode = require_renode_target(board)
    stem = suite_stem(model_name, board)
    return render("renode/suite.robot.j2",
        model_name=script_name(model_name), board=board, renode=renode, frame=FRAME, checksum=f"{checksum:08x}",
        samples=samples, output_bytes=output_bytes, elf_name=ELF_NAME, uart_log_name=f"{stem}-uart.log",
        resc_name=f"{stem}.resc", robot_name=f"{stem}.robot",
        test_name=f"{Path(script_name(model_name)).stem} On {board.name} Matches TFLite Micro",
        timeout_virtual_s=robot_timeout_virtual_s(macs, samples))
