"""Real-board firmware: the same model code on the part's own memory map, with output on a real USART.

The emulator build (`codegen.target.emulator_target`) keeps the board's sizes on QEMU's mps2 addresses and prints over
semihosting. The build here is what a user flashes: vector table at the start of flash, the part's RAM regions
(H743: code in flash, arena in AXI SRAM, stack in DTCM as `boards/*.toml` configures), a polled USART driver,
and a framed text protocol that a host (or Renode) reads from the UART:

    TINYC-FRAME-BEGIN samples=<count> output_bytes=<bytes per sample>
    OUT <sample> <hex>          once per sample
    TRACE <op> <hex>            traced builds, first sample: each op's output, TRACE_LINE_BYTES per line,
    TRACE+ <hex>                continued on TRACE+ lines (short lines: a UART reader's line buffer stays small)
    STACK <bytes used>
    CHECKSUM <crc32 of all output bytes in sample order, 8 hex digits>
    TINYC-FRAME-DONE            (or ERROR <op index> and TINYC-FRAME-FAIL)

Only the startup, linker script and harness differ from the emulator project; `model.c`, the weights and the
kernels are rendered by `codegen.render.render_firmware` for the part's addresses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tinyc.boards import NRF_UARTE_BAUD_CODES, Board, PartTarget, UsartKind
from tinyc.codegen.target import require_part, stack_region

IRQ_HANDLERS_PER_LINE = 6


@dataclass(frozen=True)
class FrameTokens:
    begin: str
    done: str
    fail: str
    trace_more: str  # the tag of a traced op output's continuation lines


FRAME = FrameTokens(begin="TINYC-FRAME-BEGIN", done="TINYC-FRAME-DONE", fail="TINYC-FRAME-FAIL", trace_more="TRACE+")
# Bytes of an op's output per TRACE line. Renode's UART line hooks grow their line one character at a time (a new
# string each): a whole 100 KB activation on one line took minutes to pass through them, 64-byte lines take nothing.
TRACE_LINE_BYTES = 64


@dataclass(frozen=True)
class UsartLayout:
    """Register offsets and bits of one USART family."""
    cr1_offset: int
    brr_offset: int
    status_offset: int
    data_offset: int
    cr1_enable: int  # UE | TE
    txe_mask: int  # status: transmit data register empty
    brr_scale: int = 1  # BRR = brr_scale * clock / baud (an LPUART: 256)


USART_LAYOUTS: dict[UsartKind, UsartLayout] = {
    # RM0402 §26.6: SR 0x00, DR 0x04, BRR 0x08, CR1 0x0C; CR1.UE = bit 13, CR1.TE = bit 3; SR.TXE = bit 7.
    UsartKind.STM32F4: UsartLayout(cr1_offset=0x0C, brr_offset=0x08, status_offset=0x00, data_offset=0x04,
                                   cr1_enable=(1 << 13) | (1 << 3), txe_mask=1 << 7),
    # RM0433 §48.7: CR1 0x00, BRR 0x0C, ISR 0x1C, TDR 0x28; CR1.UE = bit 0, CR1.TE = bit 3; ISR.TXE = bit 7.
    UsartKind.STM32H7: UsartLayout(cr1_offset=0x00, brr_offset=0x0C, status_offset=0x1C, data_offset=0x28,
                                   cr1_enable=(1 << 0) | (1 << 3), txe_mask=1 << 7),
    # RM0432 §54.7 (LPUART): the same offsets and bits; BRR = 256 * fck / baud.
    UsartKind.STM32_LPUART: UsartLayout(cr1_offset=0x00, brr_offset=0x0C, status_offset=0x1C, data_offset=0x28,
                                        cr1_enable=(1 << 0) | (1 << 3), txe_mask=1 << 7, brr_scale=256),
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
    power_enable: tuple[tuple[int, int], ...]  # (register, mask) set first, in order
    moder_register: int
    moder_mask: int
    moder_value: int
    afr_register: int
    afr_mask: int
    afr_value: int
    brr_register: int
    brr_value: int
    brr_formula: str  # how brr_value was computed, for the driver's comment
    cr1_register: int
    cr1_value: int
    status_register: int
    txe_mask: int
    data_register: int


def usart_setup(part: PartTarget) -> UsartSetup:
    layout = USART_LAYOUTS[part.usart_kind]
    pin, af, gpio_base = part.tx_pin.pin, part.tx_pin.af, part.tx_pin.gpio_base
    assert af is not None and gpio_base is not None and part.usart_clock_hz is not None  # checked by tinyc.boards
    assert part.gpio_enable is not None and part.usart_enable is not None
    afr_offset, afr_shift = (GPIO_AFRL_OFFSET, 4 * pin) if pin < 8 else (GPIO_AFRH_OFFSET, 4 * (pin - 8))
    return UsartSetup(
        name=part.usart, kind=part.usart_kind.value, baud=part.baud, clock_hz=part.usart_clock_hz,
        gpio_base=gpio_base, tx_pin=pin, tx_af=af,
        gpio_enable_register=part.gpio_enable.register, gpio_enable_mask=1 << part.gpio_enable.bit,
        usart_enable_register=part.usart_enable.register, usart_enable_mask=1 << part.usart_enable.bit,
        power_enable=tuple((b.register, 1 << b.bit) for b in part.power_enable),
        moder_register=gpio_base + GPIO_MODER_OFFSET, moder_mask=0b11 << (2 * pin),
        moder_value=GPIO_MODE_ALTERNATE << (2 * pin),
        afr_register=gpio_base + afr_offset, afr_mask=0xF << afr_shift, afr_value=af << afr_shift,
        brr_register=part.usart_base + layout.brr_offset,
        # oversampling by 16: BRR = clock / baud, rounded (an LPUART: 256 * clock / baud)
        brr_value=(layout.brr_scale * part.usart_clock_hz + part.baud // 2) // part.baud,
        brr_formula=(f"{layout.brr_scale} * " if layout.brr_scale != 1 else "") + f"{part.usart_clock_hz} / {part.baud}",
        cr1_register=part.usart_base + layout.cr1_offset, cr1_value=layout.cr1_enable,
        status_register=part.usart_base + layout.status_offset, txe_mask=layout.txe_mask,
        data_register=part.usart_base + layout.data_offset)



# nRF52 UARTE registers (nRF52840 product specification, UARTE): tasks, events and the EasyDMA transmit buffer.
UARTE_TASKS_STARTTX = 0x008
UARTE_EVENTS_ENDTX = 0x120
UARTE_ENABLE = 0x500
UARTE_ENABLE_VALUE = 8  # ENABLE = Enabled (UARTE)
UARTE_PSEL_TXD = 0x50C
UARTE_BAUDRATE = 0x524
UARTE_TXD_PTR = 0x544
UARTE_TXD_MAXCNT = 0x548
UARTE_CONFIG = 0x56C
UARTE_CONFIG_8N1 = 0  # no parity, one stop bit, no flow control
NRF_PSEL_PORT_SHIFT = 5  # PSEL = pin | port << 5 (CONNECT, bit 31, = 0: connected)


@dataclass(frozen=True)
class UarteSetup:
    """Every address and value the nRF UARTE driver template prints (transmit through a one-byte EasyDMA buffer)."""
    name: str
    kind: str
    baud: int
    port: int
    tx_pin: int
    psel_register: int
    psel_value: int
    baudrate_register: int
    baudrate_value: int
    config_register: int
    config_value: int
    enable_register: int
    enable_value: int
    txd_ptr_register: int
    txd_maxcnt_register: int
    starttx_register: int
    endtx_register: int


def uarte_setup(part: PartTarget) -> UarteSetup:
    base = part.usart_base
    return UarteSetup(
        name=part.usart, kind=part.usart_kind.value, baud=part.baud, port=part.tx_pin.port, tx_pin=part.tx_pin.pin,
        psel_register=base + UARTE_PSEL_TXD, psel_value=part.tx_pin.pin | part.tx_pin.port << NRF_PSEL_PORT_SHIFT,
        baudrate_register=base + UARTE_BAUDRATE, baudrate_value=NRF_UARTE_BAUD_CODES[part.baud],
        config_register=base + UARTE_CONFIG, config_value=UARTE_CONFIG_8N1,
        enable_register=base + UARTE_ENABLE, enable_value=UARTE_ENABLE_VALUE,
        txd_ptr_register=base + UARTE_TXD_PTR, txd_maxcnt_register=base + UARTE_TXD_MAXCNT,
        starttx_register=base + UARTE_TASKS_STARTTX, endtx_register=base + UARTE_EVENTS_ENDTX)


@dataclass(frozen=True)
class UartDriver:
    """One UART family's driver: the template of usart.h and the numbers it prints."""
    template: str
    setup: Callable[[PartTarget], UsartSetup | UarteSetup]


_STM32_DRIVER = UartDriver("board/uart/stm32.h.j2", usart_setup)
UART_DRIVERS: dict[UsartKind, UartDriver] = {
    UsartKind.STM32F4: _STM32_DRIVER,
    UsartKind.STM32H7: _STM32_DRIVER,
    UsartKind.STM32_LPUART: _STM32_DRIVER,
    UsartKind.NRF_UARTE: UartDriver("board/uart/nrf_uarte.h.j2", uarte_setup),
}


def board_harness_context(board: Board) -> dict[str, object]:
    """What the part's startup, linker script, USART driver and framed harness print."""
    part = require_part(board)
    memory, _ = stack_region(board)
    irqs = list(range(part.irq_count))
    driver = UART_DRIVERS[part.usart_kind]
    return dict(irq_count=part.irq_count,
                irq_rows=[irqs[i:i + IRQ_HANDLERS_PER_LINE] for i in range(0, len(irqs), IRQ_HANDLERS_PER_LINE)],
                stack_ram=part.stack_ram, stack_memory=memory, usart=driver.setup(part), usart_template=driver.template,
                sram_regions=board.sram_regions, frame=FRAME,
                trace_line_bytes=TRACE_LINE_BYTES)
