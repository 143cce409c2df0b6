"""Real-board firmware: the same model code on the part's own memory map, with output on a real USART.

The emulator build (`codegen.target.emulator_target`) keeps the board's sizes on QEMU's mps2 addresses and prints over
semihosting. The build here is what a user flashes: vector table at the start of flash, the part's RAM regions
(H743: code in flash, arena in AXI SRAM, stack in DTCM as `boards/*.toml` configures), a polled USART driver,
and a framed text protocol that a host (or Renode) reads from the UART:

    TINYC-FRAME-BEGIN samples=<count> output_bytes=<bytes per sample>
    OUT <sample> <hex>          once per sample
    STACK <bytes used>
    CHECKSUM <crc32 of all output bytes in sample order, 8 hex digits>
    TINYC-FRAME-DONE            (or ERROR <op index> and TINYC-FRAME-FAIL)

Only the startup, linker script and harness differ from the emulator project; `model.c`, the weights and the
kernels are rendered by `codegen.render.render_firmware` for the part's addresses.
"""

from __future__ import annotations

from dataclasses import dataclass


from tinyc.boards import Board, PartTarget, UsartKind
from tinyc.codegen.target import require_part, stack_region

IRQ_HANDLERS_PER_LINE = 6


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




def board_harness_context(board: Board) -> dict[str, object]:
    """What the part's startup, linker script, USART driver and framed harness print."""
    part = require_part(board)
    memory, _ = stack_region(board)
    irqs = list(range(part.irq_count))
    return dict(irq_count=part.irq_count,
                irq_rows=[irqs[i:i + IRQ_HANDLERS_PER_LINE] for i in range(0, len(irqs), IRQ_HANDLERS_PER_LINE)],
                stack_ram=part.stack_ram, stack_memory=memory, usart=usart_setup(part), frame=FRAME)
