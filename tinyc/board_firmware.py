"""Real-board firmware: the same model code on the part's own memory map, with output on a real USART.

The emulator build (`codegen.emulator_target`) keeps the board's sizes on QEMU's mps2 addresses and prints over
semihosting. The build here is what a user flashes: vector table at the start of flash, the part's RAM regions
(H743: code in flash, arena in AXI SRAM, stack in DTCM as `boards/*.toml` configures), a polled USART driver,
and a framed text protocol that a host (or Renode) reads from the UART:

    TINYC-FRAME-BEGIN samples=<count> output_bytes=<bytes per sample>
    OUT <sample> <hex>          once per sample
    STACK <bytes used>
    CHECKSUM <crc32 of all output bytes in sample order, 8 hex digits>
    TINYC-FRAME-DONE            (or ERROR <op index> and TINYC-FRAME-FAIL)

Only the startup, linker script and harness differ from the emulator project; `model.c`, the weights and the
kernels are rendered by `codegen.render_project` for the part's addresses.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tinyc.boards import Board, MemoryRegion, PartTarget, UsartKind
from tinyc.build import BuildResult, build, write_project
from tinyc.codegen import Target, _environment, render_project
from tinyc.errors import BoardError, DoesNotFitError, EmulatorError
from tinyc.planner import MemoryPlan
from tinyc.qemu import RunResult
from tinyc.schedule import Schedule

if TYPE_CHECKING:
    from tinyc.driver import Planned

IRQ_HANDLERS_PER_LINE = 6
BOARD_TEMPLATES = {"startup.c": "board_startup.c.j2", "linker.ld": "board_linker.ld.j2",
                   "harness.c": "board_harness.c.j2", "usart.h": "board_usart.h.j2"}


@dataclass(frozen=True)
class FrameTokens:
    begin: str
    done: str
    fail: str


FRAME = FrameTokens(begin="TINYC-FRAME-BEGIN", done="TINYC-FRAME-DONE", fail="TINYC-FRAME-FAIL")


@dataclass(frozen=True)
class UsartLayout:
    """Register offsets and bits of one USART family."""
    cr1_offset: int
    brr_offset: int
    status_offset: int
    data_offset: int
    cr1_enable: int  # UE | TE
    txe_mask: int  # status: transmit data register empty


USART_LAYOUTS: dict[UsartKind, UsartLayout] = {
    # RM0402 §26.6: SR 0x00, DR 0x04, BRR 0x08, CR1 0x0C; CR1.UE = bit 13, CR1.TE = bit 3; SR.TXE = bit 7.
    UsartKind.STM32F4: UsartLayout(cr1_offset=0x0C, brr_offset=0x08, status_offset=0x00, data_offset=0x04,
                                   cr1_enable=(1 << 13) | (1 << 3), txe_mask=1 << 7),
    # RM0433 §48.7: CR1 0x00, BRR 0x0C, ISR 0x1C, TDR 0x28; CR1.UE = bit 0, CR1.TE = bit 3; ISR.TXE = bit 7.
    UsartKind.STM32H7: UsartLayout(cr1_offset=0x00, brr_offset=0x0C, status_offset=0x1C, data_offset=0x28,
                                   cr1_enable=(1 << 0) | (1 << 3), txe_mask=1 << 7),
}

GPIO_MODER_OFFSET = 0x00
GPIO_AFRL_OFFSET = 0x20
GPIO_AFRH_OFFSET = 0x24
GPIO_MODE_ALTERNATE = 0b10


@dataclass(frozen=True)
class UsartSetup:
    """Every address and value the USART driver template prints."""
    name: str
    kind: str
    baud: int
    clock_hz: int
    gpio_base: int
    tx_pin: int
    tx_af: int
    gpio_enable_register: int
    gpio_enable_mask: int
    usart_enable_register: int
    usart_enable_mask: int
    moder_register: int
    moder_mask: int
    moder_value: int
    afr_register: int
    afr_mask: int
    afr_value: int
    brr_register: int
    brr_value: int
    cr1_register: int
    cr1_value: int
    status_register: int
    txe_mask: int
    data_register: int


def require_part(board: Board) -> PartTarget:
    if board.part is None:
        raise BoardError(f"board {board.name!r} has no [part] table in boards/{board.name}.toml, so tinyc cannot "
                         "build firmware for the part itself (add the output USART, its clock-enable bits and TX pin)")
    return board.part


def usart_setup(part: PartTarget) -> UsartSetup:
    layout = USART_LAYOUTS[part.usart_kind]
    pin, af = part.tx_pin.pin, part.tx_pin.af
    afr_offset, afr_shift = (GPIO_AFRL_OFFSET, 4 * pin) if pin < 8 else (GPIO_AFRH_OFFSET, 4 * (pin - 8))
    return UsartSetup(
        name=part.usart, kind=part.usart_kind.value, baud=part.baud, clock_hz=part.usart_clock_hz,
        gpio_base=part.tx_pin.gpio_base, tx_pin=pin, tx_af=af,
        gpio_enable_register=part.gpio_enable.register, gpio_enable_mask=1 << part.gpio_enable.bit,
        usart_enable_register=part.usart_enable.register, usart_enable_mask=1 << part.usart_enable.bit,
        moder_register=part.tx_pin.gpio_base + GPIO_MODER_OFFSET, moder_mask=0b11 << (2 * pin),
        moder_value=GPIO_MODE_ALTERNATE << (2 * pin),
        afr_register=part.tx_pin.gpio_base + afr_offset, afr_mask=0xF << afr_shift, afr_value=af << afr_shift,
        brr_register=part.usart_base + layout.brr_offset,
        brr_value=(part.usart_clock_hz + part.baud // 2) // part.baud,  # oversampling by 16: BRR = clock / baud
        cr1_register=part.usart_base + layout.cr1_offset, cr1_value=layout.cr1_enable,
        status_register=part.usart_base + layout.status_offset, txe_mask=layout.txe_mask,
        data_register=part.usart_base + layout.data_offset)


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


def render_board_project(schedule: Schedule, plan: MemoryPlan, board: Board, *, model_name: str,
                         samples: list[np.ndarray], cmsis_nn_dir: Path | None = None) -> dict[str, str]:
    """All files of the real-board project, by relative path: the emulator project's model, weights, kernels
    and Makefile on the part's addresses, with the part's startup, linker script, USART driver and harness."""
    target = part_target(board)
    part = require_part(board)
    files = render_project(schedule, plan, target, model_name=model_name, samples=samples,
                           cmsis_nn_dir=cmsis_nn_dir)
    memory, _ = stack_region(board)
    irqs = list(range(part.irq_count))
    context = dict(
        board=board, target_note=target.note, flash_origin=target.flash_origin, sram_origin=target.sram_origin,
        irq_count=part.irq_count,
        irq_rows=[irqs[i:i + IRQ_HANDLERS_PER_LINE] for i in range(0, len(irqs), IRQ_HANDLERS_PER_LINE)],
        stack_ram=part.stack_ram, stack_memory=memory, usart=usart_setup(part), frame=FRAME, samples=samples)
    env = _environment()
    files.update({path: env.get_template(template).render(**context) for path, template in BOARD_TEMPLATES.items()})
    return dict(sorted(files.items()))


def build_board_firmware(planned: Planned, folder: Path, samples: list[np.ndarray], *,
                         cmsis_nn: Path | None = None) -> BuildResult:
    """Render and build the firmware for the part itself (what a user flashes)."""
    if not planned.report.fits:
        raise DoesNotFitError(f"{planned.loaded.source.name}: {planned.report.verdict()}")
    files = render_board_project(planned.schedule, planned.plan, planned.board,
                                 model_name=planned.loaded.source.name, samples=[s.reshape(-1) for s in samples],
                                 cmsis_nn_dir=cmsis_nn)
    write_project(files, folder)
    return build(folder)


def output_checksum(outputs: list[np.ndarray] | tuple[np.ndarray, ...]) -> int:
    """CRC-32 (zlib) of all output bytes in sample order: what the firmware prints after CHECKSUM."""
    crc = 0
    for output in outputs:
        crc = zlib.crc32(np.asarray(output, dtype=np.int8).tobytes(), crc)
    return crc


def _hex(text: str, where: str, emulator: str) -> np.ndarray:
    try:
        return np.frombuffer(bytes.fromhex(text), dtype=np.int8).copy()
    except ValueError:
        raise EmulatorError(f"{emulator}: {where} is not hex bytes: {text[:80]!r}") from None


def parse_framed_output(text: str, emulator: str) -> RunResult:
    """Read the framed UART protocol into the same `RunResult` as a QEMU run; check counts and the checksum."""
    lines = [line.rstrip("\r") for line in text.splitlines()]
    begins = [i for i, line in enumerate(lines) if line.startswith(FRAME.begin)]
    if not begins:
        raise EmulatorError(f"{emulator}: the firmware sent no {FRAME.begin} on the UART; "
                            f"UART output: {text[-300:]!r}")
    frame = lines[begins[-1]:]  # a reset re-sends the frame: the last one counts
    header = dict(field.partition("=")[::2] for field in frame[0].split()[1:])
    try:
        count, output_bytes = int(header["samples"]), int(header["output_bytes"])
    except (KeyError, ValueError):
        raise EmulatorError(f"{emulator}: malformed frame header {frame[0]!r}; expected "
                            f"'{FRAME.begin} samples=<n> output_bytes=<n>'") from None
    outputs: list[np.ndarray] = []
    traces: list[tuple[int, np.ndarray]] = []
    stack = -1
    checksum: int | None = None
    for line in frame[1:]:
        tag, _, rest = line.partition(" ")
        if tag == "OUT":
            index, _, data = rest.partition(" ")
            if int(index) != len(outputs):
                raise EmulatorError(f"{emulator}: output of sample {index} arrived after {len(outputs)} outputs "
                                    "(UART lost or repeated a line)")
            outputs.append(_hex(data, f"output of sample {index}", emulator))
        elif tag == "TRACE":
            index, _, data = rest.partition(" ")
            traces.append((int(index), _hex(data, f"trace of op {index}", emulator)))
        elif tag == "STACK":
            stack = int(rest.split()[0])
        elif tag == "CHECKSUM":
            checksum = int(rest.strip(), 16)
        elif tag == "ERROR":
            raise EmulatorError(f"{emulator}: the kernel of op {rest.split()[0]} returned an error status")
        elif line == FRAME.done:
            break
    else:
        raise EmulatorError(f"{emulator}: the frame has no {FRAME.done} (the firmware hung, faulted or was stopped "
                            f"early); last UART output: {text[-300:]!r}")
    short = [i for i, o in enumerate(outputs) if o.size != output_bytes]
    if len(outputs) != count or short:
        raise EmulatorError(f"{emulator}: the frame announced {count} samples of {output_bytes} bytes but carried "
                            f"{len(outputs)} outputs" + (f", sample {short[0]} with {outputs[short[0]].size} bytes"
                                                         if short else ""))
    if checksum is None:
        raise EmulatorError(f"{emulator}: the frame has no CHECKSUM line")
    received = output_checksum(outputs)
    if received != checksum:
        raise EmulatorError(f"{emulator}: the UART bytes do not match the firmware's checksum: firmware "
                            f"{checksum:08x}, received {received:08x} (corrupted transfer)")
    return RunResult(emulator=emulator, outputs=tuple(outputs), traces=tuple(traces), stack_used_bytes=stack,
                     exit_code=0)
