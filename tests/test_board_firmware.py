"""Real-board firmware: the ELF layout checked with readelf/objdump against the board files, the framed protocol,
and the F412 build run on QEMU's netduinoplus2 (an STM32F405: same flash/SRAM origins and USART2 address).

The layout checks read `boards/*.toml` with tomllib and the ELF with binutils: they share no code with the
linker-script template or `tinyc.boards`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import tomllib
import zlib
from pathlib import Path

import numpy as np
import pytest

from conftest import BOARDS, REPO
from tinyc.codegen.board import FRAME
from tinyc.run.protocol import output_checksum, parse_framed_output
from tinyc.errors import EmulatorError

needs_binutils = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("arm-none-eabi-readelf") is None,
    reason="arm-none-eabi-gcc and binutils are needed (apt-get install -y gcc-arm-none-eabi libnewlib-arm-none-eabi)")

TINY = REPO / "tests" / "data" / "golden_tiny.tflite"
# Every bundled board with a [part] table: the two above plus a part with an LPUART behind a power switch and
# three SRAM blocks (NUCLEO-L4R5ZI) and a non-ST part whose UART sends by DMA (nRF52840).
# And the Cortex-M33 parts (NUCLEO-U575ZI-Q: USART1 at the non-secure aliases of TrustZone-off; the nRF5340's
# application core: UARTE0 at its Secure address).
PART_BOARDS = (*BOARDS, "stm32l4r5", "nrf52840", "stm32u575", "nrf5340")
SAMPLES = 3


def board_data(board: str) -> dict:
    with (REPO / "boards" / f"{board}.toml").open("rb") as f:
        return tomllib.load(f)


@pytest.fixture(scope="module")
def board_elves(tmp_path_factory) -> dict[str, tuple[Path, list[np.ndarray]]]:
    from tinyc.codegen.render import Harness
    from tinyc.run.firmware import build_firmware
    from tinyc.plan.pipeline import input_samples, plan_model
    built = {}
    for board in PART_BOARDS:
        planned = plan_model(TINY, board)
        inputs = input_samples(planned, SAMPLES)
        result = build_firmware(planned, tmp_path_factory.mktemp(board), inputs, harness=Harness.BOARD_UART)
        built[board] = (result.elf, inputs)
    return built


def sections(elf: Path) -> dict[str, tuple[int, int, int, str]]:
    """name -> (VMA, LMA, size, flags) of the allocated sections, from objdump -h."""
    text = subprocess.run(["arm-none-eabi-objdump", "-h", "-w", str(elf)], capture_output=True, text=True,
                          check=True).stdout
    found = {}
    for m in re.finditer(r"^\s*\d+\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+\S+\s+\S+\s+(.*)$", text,
                         re.MULTILINE):
        name, size, vma, lma, flags = m.group(1), int(m.group(2), 16), int(m.group(3), 16), int(m.group(4), 16), m.group(5)
        if "ALLOC" in flags:
            found[name] = (vma, lma, size, flags)
    return found


def symbol(elf: Path, name: str) -> int:
    text = subprocess.run(["arm-none-eabi-readelf", "-s", "-W", str(elf)], capture_output=True, text=True,
                          check=True).stdout
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 8 and fields[7] == name:
            return int(fields[1], 16)
    raise AssertionError(f"symbol {name} not in {elf}")


def vector_words(elf: Path, count: int) -> list[int]:
    text = subprocess.run(["arm-none-eabi-objdump", "-s", "-j", ".isr_vector", str(elf)], capture_output=True,
                          text=True, check=True).stdout
    words: list[int] = []
    for line in text.splitlines():
        m = re.match(r"^\s*[0-9a-f]{4,8}\s+((?:[0-9a-f]{8}\s?){1,4})", line)  # objdump pads addresses to 4 digits
        if m:
            words += [int.from_bytes(bytes.fromhex(w), "little") for w in m.group(1).split()]
    return words[:count]


def inside(address: int, size: int, region: dict) -> bool:
    return region["origin"] <= address and address + size <= region["origin"] + region["size_bytes"]


@needs_binutils
@pytest.mark.parametrize("board", PART_BOARDS)
def test_vector_table_at_flash_origin(board: str, board_elves) -> None:
    elf, _ = board_elves[board]
    data = board_data(board)
    found = sections(elf)
    vma, lma, size, _ = found[".isr_vector"]
    assert vma == lma == data["flash"]["origin"] == {"nrf52840": 0, "nrf5340": 0}.get(board, 0x08000000)
    assert size == 4 * (16 + data["part"]["irq_count"])  # 16 system vectors + the part's interrupts
    sp, reset = vector_words(elf, 2)
    stack_ram = data["part"].get("stack_ram", data["sram"])
    assert inside(sp - 8, 8, stack_ram), f"initial SP {sp:#x} outside the stack RAM {stack_ram}"
    assert sp == symbol(elf, "_estack")
    assert reset == symbol(elf, "Reset_Handler") | 1  # Thumb bit
    assert inside(reset & ~1, 2, data["flash"])


EXPECTED_REGIONS = {  # section -> the board-file table its run address must lie in
    "stm32f412": {".isr_vector": "flash", ".text": "flash", ".data": "sram", ".bss": "sram", ".stack": "sram"},
    "stm32h743": {".isr_vector": "flash", ".text": "flash", ".data": "sram", ".bss": "sram", ".stack": "stack_ram"},
    "stm32l4r5": {".isr_vector": "flash", ".text": "flash", ".data": "sram", ".bss": "sram", ".stack": "sram"},
    "nrf52840": {".isr_vector": "flash", ".text": "flash", ".data": "sram", ".bss": "sram", ".stack": "sram"},
    "stm32u575": {".isr_vector": "flash", ".text": "flash", ".data": "sram", ".bss": "sram", ".stack": "sram"},
    "nrf5340": {".isr_vector": "flash", ".text": "flash", ".data": "sram", ".bss": "sram", ".stack": "sram"},
}


@needs_binutils
@pytest.mark.parametrize("board", PART_BOARDS)
def test_sections_inside_the_board_regions(board: str, board_elves) -> None:
    elf, _ = board_elves[board]
    data = board_data(board)
    regions = {"flash": data["flash"], "sram": data["sram"], "stack_ram": data["part"].get("stack_ram")}
    found = sections(elf)
    for name, (vma, lma, size, flags) in found.items():
        table = EXPECTED_REGIONS[board].get(name, "flash")
        assert inside(vma, size, regions[table]), f"{name} at {vma:#x}+{size} outside [{table}] {regions[table]}"
        if "LOAD" in flags and size:  # initialised contents are stored in flash
            assert inside(lma, size, data["flash"]), f"{name} loads from {lma:#x}, outside flash"
    assert found[".stack"][2] >= data["stack"]["size_bytes"]
    if board == "stm32h743":  # arena in AXI SRAM, stack in DTCM
        assert found[".bss"][0] == 0x24000000 and found[".stack"][0] == 0x20000000
    # The arena is in .bss: its symbol lies in SRAM.
    assert inside(symbol(elf, "tinyc_arena"), 1, data["sram"])


def load_segments(elf: Path) -> list[tuple[int, int, int, int]]:
    """(VirtAddr, PhysAddr, FileSiz, MemSiz) of each PT_LOAD, from readelf -l."""
    text = subprocess.run(["arm-none-eabi-readelf", "-l", "-W", str(elf)], capture_output=True, text=True,
                          check=True).stdout
    return [(int(m.group(1), 16), int(m.group(2), 16), int(m.group(3), 16), int(m.group(4), 16)) for m in
            re.finditer(r"^\s*LOAD\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)",
                        text, re.MULTILINE)]


def assert_no_zero_fill_in_flash(elf: Path, board: str) -> None:
    """A loader writes each PT_LOAD's FileSiz bytes at PhysAddr and zeros up to MemSiz: in flash, nothing but the
    program image may be written (issue 14, bug 5). Zero-filled memory (.bss, .stack) loads where it runs."""
    flash = board_data(board)["flash"]
    segments = load_segments(elf)
    assert segments
    for vaddr, paddr, filesz, memsz in segments:
        if inside(paddr, 1, flash):
            assert memsz == filesz, (f"the segment at {vaddr:#x} loading at {paddr:#x} asks for {memsz - filesz} "
                                     f"zero bytes in flash past its {filesz} bytes")
        if memsz > filesz:
            assert paddr == vaddr, f"the zero-filled segment at {vaddr:#x} loads at {paddr:#x}"


@needs_binutils
@pytest.mark.parametrize("board", PART_BOARDS)
def test_no_load_segment_writes_zeros_in_flash(board: str, board_elves) -> None:
    elf, _ = board_elves[board]
    assert_no_zero_fill_in_flash(elf, board)


@needs_binutils
@pytest.mark.parametrize("board", PART_BOARDS)
def test_no_zeros_in_flash_with_initialised_data(board: str, board_elves, tmp_path: Path) -> None:
    """The same with non-empty .data (the model's firmware has none today): the board's own linker script and
    startup with a program that has initialised data and .bss."""
    elf, _ = board_elves[board]
    folder = elf.parent
    (tmp_path / "main.c").write_text("int tinyc_data[4] = {1, 2, 3, 4};\nint tinyc_bss[16];\n"
                                     "int main(void) { return tinyc_data[1] + tinyc_bss[2]; }\n")
    cpu = re.search(r"^CPUFLAGS\s*=\s*(.*)$", (folder / "Makefile").read_text(), re.MULTILINE)
    assert cpu is not None
    out = tmp_path / "data.elf"
    subprocess.run(["arm-none-eabi-gcc", *cpu.group(1).split(), "-O2", "-T", str(folder / "linker.ld"),
                    "-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs", "-o", str(out),
                    str(folder / "startup.c"), str(tmp_path / "main.c")], check=True, capture_output=True)
    assert sections(out)[".data"][2] == 16
    assert_no_zero_fill_in_flash(out, board)


USART_DRIVER_LINES = {  # the register writes of the generated driver, exactly
    "stm32f412": ["TINYC_REG(0x40023830u) |= 0x00000001u; /* GPIO port clock */",
                  "TINYC_REG(0x40023840u) |= 0x00020000u; /* USART clock */",
                  "TINYC_REG(0x40020000u) = (TINYC_REG(0x40020000u) & ~0x00000030u) | 0x00000020u; "
                  "/* TX pin: alternate function mode */",
                  "TINYC_REG(0x40020020u) = (TINYC_REG(0x40020020u) & ~0x00000F00u) | 0x00000700u; /* TX pin: AF7 */",
                  "TINYC_REG(0x40004408u) = 139u; /* BRR = 16000000 / 115200, rounded */",
                  "TINYC_REG(0x4000440Cu) = 0x00002008u; /* CR1: UE | TE */",
                  "while ((TINYC_REG(0x40004400u) & 0x00000080u) == 0u) {",
                  "TINYC_REG(0x40004404u) = (uint32_t)(uint8_t)c;"],
    "stm32h743": ["TINYC_REG(0x580244E0u) |= 0x00000008u; /* GPIO port clock */",
                  "TINYC_REG(0x580244E8u) |= 0x00040000u; /* USART clock */",
                  "TINYC_REG(0x58020C00u) = (TINYC_REG(0x58020C00u) & ~0x00030000u) | 0x00020000u; "
                  "/* TX pin: alternate function mode */",
                  "TINYC_REG(0x58020C24u) = (TINYC_REG(0x58020C24u) & ~0x0000000Fu) | 0x00000007u; /* TX pin: AF7 */",
                  "TINYC_REG(0x4000480Cu) = 556u; /* BRR = 64000000 / 115200, rounded */",
                  "TINYC_REG(0x40004800u) = 0x00000009u; /* CR1: UE | TE */",
                  "while ((TINYC_REG(0x4000481Cu) & 0x00000080u) == 0u) {",
                  "TINYC_REG(0x40004828u) = (uint32_t)(uint8_t)c;"],
    # RM0432: PWREN (RCC_APB1ENR1 bit 28) and PWR_CR2.IOSV (bit 9) before port G; LPUART1 BRR = 256 * 4 MHz / 115200.
    "stm32l4r5": ["TINYC_REG(0x40021058u) |= 0x10000000u; /* power / supply for the TX pin's port (1 of 2) */",
                  "TINYC_REG(0x40007004u) |= 0x00000200u; /* power / supply for the TX pin's port (2 of 2) */",
                  "TINYC_REG(0x4002104Cu) |= 0x00000040u; /* GPIO port clock */",
                  "TINYC_REG(0x4002105Cu) |= 0x00000001u; /* USART clock */",
                  "TINYC_REG(0x48001800u) = (TINYC_REG(0x48001800u) & ~0x0000C000u) | 0x00008000u; "
                  "/* TX pin: alternate function mode */",
                  "TINYC_REG(0x48001820u) = (TINYC_REG(0x48001820u) & ~0xF0000000u) | 0x80000000u; /* TX pin: AF8 */",
                  "TINYC_REG(0x4000800Cu) = 8889u; /* BRR = 256 * 4000000 / 115200, rounded */",
                  "TINYC_REG(0x40008000u) = 0x00000009u; /* CR1: UE | TE */",
                  "while ((TINYC_REG(0x4000801Cu) & 0x00000080u) == 0u) {",
                  "TINYC_REG(0x40008028u) = (uint32_t)(uint8_t)c;"],
    # stm32u575xx.h: RCC_AHB2ENR1 0x46020C8C (GPIOAEN bit 0), RCC_APB2ENR 0x46020CA4 (USART1EN bit 14), GPIOA MODER
    # bits 18-19 and AFRH bits 4-7 for PA9, USART1 BRR = 4 MHz (MSIS) / 115200.
    "stm32u575": ["TINYC_REG(0x46020C8Cu) |= 0x00000001u; /* GPIO port clock */",
                  "TINYC_REG(0x46020CA4u) |= 0x00004000u; /* USART clock */",
                  "TINYC_REG(0x42020000u) = (TINYC_REG(0x42020000u) & ~0x000C0000u) | 0x00080000u; "
                  "/* TX pin: alternate function mode */",
                  "TINYC_REG(0x42020024u) = (TINYC_REG(0x42020024u) & ~0x000000F0u) | 0x00000070u; /* TX pin: AF7 */",
                  "TINYC_REG(0x4001380Cu) = 35u; /* BRR = 4000000 / 115200, rounded */",
                  "TINYC_REG(0x40013800u) = 0x00000009u; /* CR1: UE | TE */",
                  "while ((TINYC_REG(0x4001381Cu) & 0x00000080u) == 0u) {",
                  "TINYC_REG(0x40013828u) = (uint32_t)(uint8_t)c;"],
    # nRF52840 PS, UARTE0 at 0x40002000: PSEL.TXD 0x50C, BAUDRATE 0x524 (115200: 0x01D60000), CONFIG 0x56C,
    # ENABLE 0x500 (8), TXD.PTR 0x544, TXD.MAXCNT 0x548, TASKS_STARTTX 0x008, EVENTS_ENDTX 0x120.
    "nrf52840": ["TINYC_REG(0x4000250Cu) = 0x00000006u; /* PSEL.TXD: P0.06, connected */",
                 "TINYC_REG(0x40002524u) = 0x01D60000u; /* BAUDRATE: 115200 */",
                 "TINYC_REG(0x4000256Cu) = 0x00000000u; /* CONFIG: 8N1, no flow control */",
                 "TINYC_REG(0x40002500u) = 0x00000008u; /* ENABLE: UARTE */",
                 "TINYC_REG(0x40002120u) = 0u; /* EVENTS_ENDTX */",
                 "TINYC_REG(0x40002544u) = (uint32_t)(uintptr_t)&tinyc_usart_tx_byte; /* TXD.PTR */",
                 "TINYC_REG(0x40002548u) = 1u; /* TXD.MAXCNT */",
                 "TINYC_REG(0x40002008u) = 1u; /* TASKS_STARTTX */",
                 "while (TINYC_REG(0x40002120u) == 0u) { /* EVENTS_ENDTX: the byte is out */"],
    # nrf5340_application.h: UARTE0 Secure at 0x50008000, the same offsets; P0.20.
    "nrf5340": ["TINYC_REG(0x5000850Cu) = 0x00000014u; /* PSEL.TXD: P0.20, connected */",
                "TINYC_REG(0x50008524u) = 0x01D60000u; /* BAUDRATE: 115200 */",
                "TINYC_REG(0x5000856Cu) = 0x00000000u; /* CONFIG: 8N1, no flow control */",
                "TINYC_REG(0x50008500u) = 0x00000008u; /* ENABLE: UARTE */",
                "TINYC_REG(0x50008120u) = 0u; /* EVENTS_ENDTX */",
                "TINYC_REG(0x50008544u) = (uint32_t)(uintptr_t)&tinyc_usart_tx_byte; /* TXD.PTR */",
                "TINYC_REG(0x50008548u) = 1u; /* TXD.MAXCNT */",
                "TINYC_REG(0x50008008u) = 1u; /* TASKS_STARTTX */",
                "while (TINYC_REG(0x50008120u) == 0u) { /* EVENTS_ENDTX: the byte is out */"],
}


@needs_binutils
@pytest.mark.parametrize("board", PART_BOARDS)
def test_usart_driver_writes_the_board_registers(board: str, board_elves) -> None:
    """RCC enables, PA2/PD8 in AF7, BRR from the reset clock, CR1 = UE|TE, and the TXE poll / data write at the
    part's offsets (F4: SR 0x00, DR 0x04, BRR 0x08, CR1 0x0C; H7: CR1 0x00, BRR 0x0C, ISR 0x1C, TDR 0x28)."""
    elf, _ = board_elves[board]
    driver = [line.strip() for line in (elf.parent / "usart.h").read_text().splitlines()]
    for line in USART_DRIVER_LINES[board]:
        assert line in driver


@needs_binutils
@pytest.mark.emulator
@pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="qemu-system-arm not on PATH")
def run_on_netduinoplus2(elf: Path) -> str:
    """The UART text of a real-board F412 ELF on QEMU's netduinoplus2, up to the frame's last line."""
    proc = subprocess.Popen(["qemu-system-arm", "-M", "netduinoplus2", "-nographic", "-monitor", "none",
                             "-serial", "null", "-serial", "stdio", "-kernel", str(elf)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    deadline = time.monotonic() + 60
    try:
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.strip() in (FRAME.done, FRAME.fail):
                break
    finally:
        proc.kill()  # the firmware sleeps after the frame; QEMU does not exit by itself
        proc.wait()
    return "".join(lines)


@needs_binutils
@pytest.mark.emulator
@pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="qemu-system-arm not on PATH")
def test_f412_board_firmware_runs_on_an_stm32f4_machine(board_elves) -> None:
    """QEMU has no STM32F412, but its netduinoplus2 (STM32F405) has flash at 0x08000000, SRAM at 0x20000000 and
    USART2 at 0x40004400: the real-board F412 ELF of a tiny model runs there unchanged and its framed UART
    output equals TFLite Micro's."""
    from tinyc.run.oracle import tflm_outputs
    elf, inputs = board_elves["stm32f412"]
    run = parse_framed_output(run_on_netduinoplus2(elf), "qemu netduinoplus2")
    reference = tflm_outputs(TINY.read_bytes(), inputs)
    assert len(run.outputs) == SAMPLES
    for got, want in zip(run.outputs, reference):
        assert np.array_equal(got, want)
    assert 0 < run.stack_used_bytes <= board_data("stm32f412")["stack"]["size_bytes"]


@needs_binutils
@pytest.mark.emulator
@pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="qemu-system-arm not on PATH")
def test_traced_board_firmware_sends_short_lines_that_reassemble_to_tflm_tensors(tmp_path) -> None:
    """A traced real-board build sends each op's output TRACE_LINE_BYTES a line (TRACE, then TRACE+ lines: Renode's
    line hooks are quadratic in a line's length); read back, every op's output equals TFLite Micro's tensor."""
    from tinyc.codegen.board import TRACE_LINE_BYTES
    from tinyc.codegen.render import Harness
    from tinyc.plan.pipeline import input_samples, plan_model
    from tinyc.run.compare import compare_ops
    from tinyc.run.firmware import build_firmware
    planned = plan_model(TINY, "stm32f412")
    inputs = input_samples(planned, 1)
    elf = build_firmware(planned, tmp_path, inputs, harness=Harness.BOARD_UART, trace=True).elf
    text = run_on_netduinoplus2(elf)
    trace_lines = [line for line in text.splitlines() if line.startswith(("TRACE ", f"{FRAME.trace_more} "))]
    assert any(line.startswith(f"{FRAME.trace_more} ") for line in trace_lines)
    assert max(len(line.split()[-1]) for line in trace_lines) == 2 * TRACE_LINE_BYTES
    run = parse_framed_output(text, "qemu netduinoplus2")
    assert len(run.traces) == len(planned.lowered.calls)
    assert max(trace.size for _, trace in run.traces) > TRACE_LINE_BYTES
    check = compare_ops(planned, inputs[0], run.traces)
    assert check.divergence is None and check.ops_compared == len(run.traces)


# The framed protocol, without a toolchain.

def frame(outputs: list[bytes], *, checksum: int | None = None, done: bool = True) -> str:
    crc = zlib.crc32(b"".join(outputs)) if checksum is None else checksum
    lines = [f"{FRAME.begin} samples={len(outputs)} output_bytes={len(outputs[0])}"]
    lines += [f"OUT {i} {o.hex()}" for i, o in enumerate(outputs)]
    lines += ["STACK 456", f"CHECKSUM {crc:08x}"] + ([FRAME.done] if done else [])
    return "\r\n".join(lines) + "\r\n"


def test_framed_output_parses_into_a_run_result() -> None:
    run = parse_framed_output("boot noise\n" + frame([b"\x01\xff", b"\x80\x7f"]), "renode test")
    assert [o.tolist() for o in run.outputs] == [[1, -1], [-128, 127]]
    assert run.stack_used_bytes == 456 and run.exit_code == 0 and run.emulator == "renode test"


def test_trace_lines_reassemble_per_op() -> None:
    more = FRAME.trace_more
    traces = f"TRACE 0 0a0b\r\n{more} 0c\r\nTRACE 0 ff\r\nTRACE 1 01\r\n{more} 02\r\n{more} 03\r\n"
    text = frame([b"\x01\x02"]).replace("STACK", traces + "STACK")
    run = parse_framed_output(text, "renode test")
    assert [(op, t.tolist()) for op, t in run.traces] == [(0, [10, 11, 12]), (0, [-1]), (1, [1, 2, 3])]


def test_a_trace_continuation_without_its_trace_line_is_refused() -> None:
    with pytest.raises(EmulatorError, match=r"a TRACE\+ line before any TRACE line"):
        parse_framed_output(frame([b"\x01\x02"]).replace("STACK", f"{FRAME.trace_more} 0c\r\nSTACK"), "renode x")


def test_checksum_is_zlib_crc32_over_the_int8_outputs() -> None:
    outputs = [np.array([1, -1], dtype=np.int8), np.array([-128, 127], dtype=np.int8)]
    assert output_checksum(outputs) == zlib.crc32(b"\x01\xff\x80\x7f") == 0xDC597872


@pytest.mark.parametrize("text, message", [
    ("hello\n", "renode x: the firmware sent no TINYC-FRAME-BEGIN on the UART; UART output: 'hello\\n'"),
    (frame([b"\x01\x02"], checksum=0x12345678),
     "renode x: the UART bytes do not match the firmware's checksum: firmware 12345678, received b6cc4292 "
     "(corrupted transfer)"),
    (f"{FRAME.begin} samples=2 output_bytes=2\nOUT 0 0102\nSTACK 4\nCHECKSUM b6cc4292\n{FRAME.done}\n",
     "renode x: the frame announced 2 samples of 2 bytes but carried 1 outputs"),
    (f"{FRAME.begin} samples=1 output_bytes=2\nERROR 3\n{FRAME.fail}\n",
     "renode x: the kernel of op 3 returned an error status"),
])
def test_framed_output_errors_are_exact(text: str, message: str) -> None:
    with pytest.raises(EmulatorError) as info:
        parse_framed_output(text, "renode x")
    assert str(info.value) == message


def test_a_frame_without_done_token_names_the_cause() -> None:
    with pytest.raises(EmulatorError, match="the frame has no TINYC-FRAME-DONE"):
        parse_framed_output(frame([b"\x01\x02"], done=False), "renode x")
