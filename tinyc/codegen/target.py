"""Where a firmware runs: the board's sizes on the emulator's addresses, or on the part's own."""

from __future__ import annotations

from dataclasses import dataclass

from tinyc.boards import Board, MemoryRegion, PartTarget
from tinyc.errors import BoardError


@dataclass(frozen=True)
class Target:
    """Where the firmware runs: the board's sizes on the emulator's or the part's addresses."""
    board: Board
    flash_origin: int
    sram_origin: int
    note: str
    testdata_bytes: int = 0  # emulator only: memory after the board's flash for the harness's input samples
    vector_origin: int | None = None  # emulator only: where the machine reads its vector table at reset, when the
    # code is elsewhere (the linker puts .isr_vector there, the code at flash_origin)

    @property
    def testdata_origin(self) -> int:
        return self.flash_origin + self.board.flash.size_bytes


# QEMU's mps2 machines have 4 MiB of code memory at the code origin; what the board's flash does not use holds the
# harness's input samples, so that test data never counts against (or overflows) the board's flash. The mps3-an547's
# code memory is its QSPI flash, 8 MiB (its 512 KiB ITCM is too small for the Cortex-M55 boards' code and weights).
QEMU_CODE_MEMORY_BYTES = 4 * 1024 * 1024
QEMU_CODE_MEMORY_BYTES_BY_MACHINE = {"mps3-an547": 8 * 1024 * 1024}
# The address a machine reads its vector table from at reset (its initial Secure VTOR), where that is not the code's
# origin: the mps3-an547 boots from its ITCM (Secure alias 0x10000000); the vector table goes there, and the reset
# handler it points to runs from the QSPI flash.
QEMU_RESET_VECTORS = {"mps3-an547": 0x10000000}


def emulator_target(board: Board) -> Target:
    code_bytes = QEMU_CODE_MEMORY_BYTES_BY_MACHINE.get(board.qemu.machine, QEMU_CODE_MEMORY_BYTES)
    vectors = QEMU_RESET_VECTORS.get(board.qemu.machine)
    if code_bytes < board.flash.size_bytes:
        raise BoardError(f"board {board.name!r}: its flash ({board.flash.size_bytes:,} B) is larger than QEMU "
                         f"{board.qemu.machine}'s code memory ({code_bytes:,} B)")
    return Target(board=board, flash_origin=board.qemu.flash_origin, sram_origin=board.qemu.sram_origin,
                  note=f"QEMU {board.qemu.machine}: the board's flash and SRAM sizes and CPU flags "
                       f"on the emulator's addresses",
                  testdata_bytes=code_bytes - board.flash.size_bytes,
                  vector_origin=vectors if vectors != board.qemu.flash_origin else None)


def require_part(board: Board) -> PartTarget:
    if board.part is None:
        raise BoardError(f"board {board.name!r} has no [part] table in boards/{board.name}.toml, so tinyc cannot "
                         "build firmware for the part itself (add the output USART, its clock-enable bits and TX pin)")
    return board.part


def part_target(board: Board) -> Target:
    """The part's own addresses: flash and SRAM where the board file puts them."""
    part = require_part(board)
    stack = "DTCM-style stack RAM" if part.stack_ram is not None else "stack after .bss"
    return Target(board=board, flash_origin=board.flash.origin, sram_origin=board.sram.origin,
                  note=f"the {board.name} part: flash {board.flash.origin:#010x}, SRAM {board.sram.origin:#010x}, "
                       f"{stack}, output on {part.usart}")


def stack_region(board: Board) -> tuple[str, MemoryRegion]:
    """The linker memory the stack goes into, and that region."""
    part = require_part(board)
    if part.stack_ram is not None:
        return "STACK_RAM", part.stack_ram
    return "RAM", board.sram
