"""A board file is untrusted data: every string field has an allow-list and every integer a 32-bit range, so no
shell, make, linker-script, Renode or C syntax in a downloaded `.toml` reaches a generated file (issue 22)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, run_cli
from tinyc.boards import load_board_file
from tinyc.errors import BoardError

H743 = (REPO / "boards" / "stm32h743.toml").read_text()
MODEL = REPO / "tests" / "data" / "golden_tiny.tflite"


def hostile(folder: Path, *replace: tuple[str, str], name: str = "evil") -> Path:
    """The H743's file as the board `name` (with [part] and [renode]: every string field), edited by `replace`."""
    text = H743.replace('name = "stm32h743"', f'name = "{name}"')
    for old, new in replace:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


FLAGS = 'cflags = ["-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16"]'
CFLAGS_MESSAGE = ("evil.toml: cflags must be at most 64 flags, each a - and then letters, digits and _ = + , . : / - only "
                  "(no spaces, quotes, $ or newlines), got ")
DOTTED = "a Renode peripheral name such as \"sysbus.usart2\" (letters, digits, _ and dots)"
PLATFORM = ("a relative path in Renode's tree such as \"platforms/cpus/stm32f4.repl\" (letters, digits, _ . + - and /; "
            "no .., no spaces or quotes)")
DESCRIPTION = ("evil.toml: description must be one line of printable text (no control characters, no /* or */, at most "
               "200 characters), got ")

# (edit, the one-line message): every string field, with shell, make, C-comment and Renode syntax.
INJECTIONS = [
    ((FLAGS, 'cflags = ["-mcpu=cortex-m7", "$(shell touch pwned)"]'), CFLAGS_MESSAGE + "'$(shell touch pwned)'"),
    ((FLAGS, 'cflags = ["-mcpu=cortex-m7", "-DX=$(shell touch pwned)"]'), CFLAGS_MESSAGE + "'-DX=$(shell touch pwned)'"),
    ((FLAGS, 'cflags = ["-mcpu=cortex-m7", "-O2\\npwn:\\n\\ttouch pwned"]'),
     CFLAGS_MESSAGE + "'-O2\\npwn:\\n\\ttouch pwned'"),
    ((FLAGS, 'cflags = ["-mcpu=cortex-m7", "-O2 `touch pwned`"]'), CFLAGS_MESSAGE + "'-O2 `touch pwned`'"),
    ((FLAGS, 'cflags = ["-mcpu=cortex-m7", "-O2;touch pwned"]'), CFLAGS_MESSAGE + "'-O2;touch pwned'"),
    ((FLAGS, 'cflags = ["-mcpu=cortex-m7", "-O2 # comment"]'), CFLAGS_MESSAGE + "'-O2 # comment'"),
    ((FLAGS, 'cflags = ["-mcpu=cortex-m7", "-DX=\\"a\\""]'), CFLAGS_MESSAGE + "'-DX=\"a\"'"),
    ((FLAGS, 'cflags = ["-mcpu=cortex-m7", "-I\\\\x"]'), CFLAGS_MESSAGE + "'-I\\\\x'"),
    ((FLAGS, 'cflags = ["-mcpu=cortex-m7", "mthumb"]'), CFLAGS_MESSAGE + "'mthumb'"),
    (('description = "STM32H743', 'description = "a */ #error x /* STM32H743'),
     DESCRIPTION + "'a */ #error x /* STM32H743 — Cortex-M7 @ 480 MHz, 512 KB AXI SRAM (+128 KB DTCM), 2 MB flash'"),
    (('description = "STM32H743', 'description = "line\\npwn:\\n\\ttouch pwned'),
     DESCRIPTION + "'line\\npwn:\\n\\ttouch pwned — Cortex-M7 @ 480 MHz, 512 KB AXI SRAM (+128 KB DTCM), 2 MB flash'"),
    (('description = "STM32H743', 'description = "bell\\u0007'),
     DESCRIPTION + "'bell\\x07 — Cortex-M7 @ 480 MHz, 512 KB AXI SRAM (+128 KB DTCM), 2 MB flash'"),
    (('usart = "usart3"', 'usart = "usart3 */ int x; /*"'),
     "evil.toml: [part] usart must be a C identifier such as \"usart2\", got 'usart3 */ int x; /*'"),
    (('usart = "usart3"', 'usart = 3'), "evil.toml: [part] usart must be a C identifier such as \"usart2\", got 3"),
    (('uart = "sysbus.usart3"', 'uart = "sysbus.usart3 CreateFileBackend /tmp/x true\\nos.system"'),
     f"evil.toml: [renode] uart must be {DOTTED}, got 'sysbus.usart3 CreateFileBackend /tmp/x true\\nos.system'"),
    (('cpu = "sysbus.cpu"', 'cpu = "sysbus.cpu; python \\"import os\\""'),
     f"evil.toml: [renode] cpu must be {DOTTED}, got 'sysbus.cpu; python \"import os\"'"),
    (('cpu = "sysbus.cpu"', 'cpu = "sysbus..cpu"'), f"evil.toml: [renode] cpu must be {DOTTED}, got 'sysbus..cpu'"),
    (('platform = "platforms/cpus/stm32h743.repl"', 'platform = "../../etc/passwd"'),
     f"evil.toml: [renode] platform must be {PLATFORM}, got '../../etc/passwd'"),
    (('platform = "platforms/cpus/stm32h743.repl"', 'platform = "/etc/x.repl"'),
     f"evil.toml: [renode] platform must be {PLATFORM}, got '/etc/x.repl'"),
    (('platform = "platforms/cpus/stm32h743.repl"', 'platform = "platforms/a b.repl"'),
     f"evil.toml: [renode] platform must be {PLATFORM}, got 'platforms/a b.repl'"),
    (('platform = "platforms/cpus/stm32h743.repl"', 'platform = "platforms/x.repl\\"; sysbus"'),
     f"evil.toml: [renode] platform must be {PLATFORM}, got 'platforms/x.repl\"; sysbus'"),
    (('platform = "platforms/cpus/stm32h743.repl"', 'platform = "platforms/../../x.repl"'),
     f"evil.toml: [renode] platform must be {PLATFORM}, got 'platforms/../../x.repl'"),
    (('[renode]', '[renode]\n'), None),  # (control: the unedited file loads)
]


@pytest.mark.parametrize("replace, message", INJECTIONS)
def test_every_string_field_has_an_allow_list(tmp_path: Path, replace: tuple[str, str], message: str | None) -> None:
    path = hostile(tmp_path, replace)
    if message is None:
        assert load_board_file(path).renode is not None
        return
    with pytest.raises(BoardError) as caught:
        load_board_file(path)
    assert str(caught.value) == message
    assert "\n" not in str(caught.value) or "\\n" in message  # one line (a newline in the value shows as \n)


def test_board_names_and_region_names_are_identifiers(tmp_path: Path) -> None:
    path = tmp_path / "ev$il.toml"
    path.write_text(H743.replace('name = "stm32h743"', 'name = "ev$il"'))
    with pytest.raises(BoardError, match=re.escape("ev$il.toml: name must be letters, digits, _ and - (starting with a "
                                                   "letter or _, at most 64 characters), got 'ev$il'")):
        load_board_file(path)
    l4 = (REPO / "boards" / "stm32l4r5.toml").read_text().replace('name = "SRAM1"', 'name = "SRAM1 */ x"')
    (tmp_path / "stm32l4r5.toml").write_text(l4)
    with pytest.raises(BoardError, match=re.escape("stm32l4r5.toml: [[sram.regions]] name must be a C identifier such as "
                                                   "\"sram1\", got 'SRAM1 */ x'")):
        load_board_file(tmp_path / "stm32l4r5.toml")


@pytest.mark.parametrize("replace, message", [
    (("origin = 0x08000000", "origin = 0xFFFF0000"),
     "evil.toml: [flash] origin 0xffff0000 + size_bytes 2,097,152 must lie in the 32-bit address space"),
    (("origin = 0x08000000", "origin = -4096"), "evil.toml: [flash] origin -0x1000 + size_bytes 2,097,152 must lie"),
    (("size_bytes = 524_288", "size_bytes = 0"), "evil.toml: [sram] size_bytes must be a positive multiple of 1024, got 0"),
    (("origin = 0x24000000", "origin = 0x100000000"), "evil.toml: [sram] origin 0x100000000 + size_bytes 524,288 must"),
    (("origin = 0x24000000", "origin = true"), "evil.toml: [sram] needs integer 'origin' and 'size_bytes'"),
    (("origin = 0x20000000\nsize_bytes = 131_072", "origin = 0xFFFFF000\nsize_bytes = 131_072"),
     "evil.toml: [part.stack_ram] origin 0xfffff000 + size_bytes 131,072 must lie in the 32-bit address space"),
    (("usart_base = 0x40004800", "usart_base = 0x1_0000_0000"),
     "evil.toml: [part] usart_base must be 0..4,294,967,295, got 4,294,967,296"),
    (("usart_base = 0x40004800", "usart_base = -1"), "evil.toml: [part] usart_base must be 0..4,294,967,295, got -1"),
    (("usart_base = 0x40004800", "usart_base = 1.5"), "evil.toml: [part] usart_base must be an integer, got 1.5"),
    (("usart_base = 0x40004800", 'usart_base = "0x40004800"'),
     "evil.toml: [part] usart_base must be an integer, got '0x40004800'"),
    (("baud = 115_200", "baud = 0"), "evil.toml: [part] baud must be 1..4,294,967,295, got 0"),
    (("baud = 115_200", "baud = 99999999999"), "evil.toml: [part] baud must be 1..4,294,967,295, got 99,999,999,999"),
    (("usart_clock_hz = 64_000_000", "usart_clock_hz = -64"), "evil.toml: [part] usart_clock_hz must be 1..4,294,967,295"),
    (("register = 0x580244E8", "register = 0x1_5802_44E8"), "evil.toml: [part] usart_enable register must be 0..4,294,967,295"),
    (("bit = 18", "bit = -1"), "evil.toml: [part] usart_enable bit must be 0..31, got -1"),
    (("gpio_base = 0x58020C00", "gpio_base = -3"), "evil.toml: [part] tx_pin gpio_base must be 0..4,294,967,295, got -3"),
    (("irq_count = 150", "irq_count = 0"), "evil.toml: [part] irq_count must be 1..496, got 0"),
    (("clock_hz = 480_000_000", "clock_hz = 5_000_000_000"), "evil.toml: clock_hz must be at most 4,294,967,295 (32 bits)"),
    (("sram_origin = 0x20000000", "sram_origin = 0xFFFFFFFF"),
     "evil.toml: [emulator.qemu] sram_origin 0xffffffff + the size 524,288 runs past the 32-bit address space"),
    (("flash_origin = 0x00000000", "flash_origin = -1"),
     "evil.toml: [emulator.qemu] flash_origin must be 0..4,294,967,295, got -1"),
    (("tx_pin = { gpio_base = 0x58020C00, pin = 8, af = 7 }", 'tx_pin = "PD8"'),
     "evil.toml: [part] tx_pin must be a table, got 'PD8'"),
    (('cpu = "cortex-m7"\n', 'cpu = "cortex-m7"\nrenode = 3\n'), "evil.toml: the board's renode must be a table, got 3"),
])
def test_integers_and_tables_are_checked(tmp_path: Path, replace: tuple[str, str], message: str) -> None:
    if "renode = 3" in replace[1]:
        replace_renode = ("[renode]\n", "[renode_x]\n")
        path = hostile(tmp_path, replace, replace_renode)
    else:
        path = hostile(tmp_path, replace)
    with pytest.raises(BoardError, match="^" + re.escape(message)):
        load_board_file(path)


@pytest.mark.parametrize("command", ["compile", "report"])
@pytest.mark.parametrize("flag", ["$(shell touch pwned)", "-O2\\npwned:\\n\\ttouch pwned", "-DX=`touch pwned`"])
def test_an_injected_flag_runs_nothing_and_writes_nothing(monkeypatch, capsys, tmp_path, command, flag) -> None:
    board = hostile(tmp_path, (FLAGS, f'cflags = ["-mcpu=cortex-m7", "{flag}"]'))
    monkeypatch.chdir(tmp_path)
    args = [command, str(MODEL), "--board-file", str(board)] + (["-o", "out"] if command == "compile" else [])
    code, out, err = run_cli(monkeypatch, capsys, *args)
    assert code == 2 and err.startswith("error: evil.toml: cflags must be at most 64 flags"), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.toml"]  # no marker, no output folder, no staging


def test_allowed_but_odd_values_reach_the_generated_files_verbatim(tmp_path: Path) -> None:
    """The widest values the allow-lists accept go into the Makefile, linker script, Renode scripts and C as they
    are, and the description (free text) is written nowhere."""
    from tinyc.codegen.render import Harness, render_firmware
    from tinyc.codegen.renode import render_resc, render_robot
    from tinyc.plan.pipeline import input_samples, plan_model
    flag = "-DODD_=a+b,c.d:e/f-g"
    description = "50% `$(x)` <b>&amp; 'q' \"dq\" \\ #"
    board_file = hostile(tmp_path, (FLAGS, FLAGS.replace('"-mthumb"', f'"-mthumb", "{flag}"')),
                         (H743.splitlines()[2], f"description = '''{description}'''"),
                         ('uart = "sysbus.usart3"', 'uart = "sysbus.usart_3"'),
                         ('platform = "platforms/cpus/stm32h743.repl"', 'platform = "platforms/cpus/my-part+2.repl"'),
                         name="_odd-board9")
    board = load_board_file(board_file)
    assert board.description == description
    planned = plan_model(MODEL, board_file)
    files = render_firmware(planned.schedule, planned.plan, board, Harness.BOARD_UART, model_name="golden_tiny",
                            samples=input_samples(planned, 1))
    files["firmware.resc"] = render_resc(board, model_name="golden_tiny")
    files["suite.robot"] = render_robot(board, model_name="golden_tiny", checksum=1, samples=1, output_bytes=10, macs=1)
    assert "CPUFLAGS = -mcpu=cortex-m7 -mthumb -DODD_=a+b,c.d:e/f-g -mfloat-abi=hard -mfpu=fpv5-d16" \
        in files["Makefile"].splitlines()
    assert files["Makefile"].splitlines()[0] == "# Generated by tinyc for _odd-board9. `make` builds firmware.elf."
    assert files["linker.ld"].splitlines()[0].startswith("/* Generated by tinyc for _odd-board9 (")
    assert "machine LoadPlatformDescription @platforms/cpus/my-part+2.repl" in files["firmware.resc"].splitlines()
    assert "sysbus.usart_3 CreateFileBackend $uart_log true" in files["firmware.resc"].splitlines()
    assert "${UART}                       sysbus.usart_3" in files["suite.robot"].splitlines()
    for name, text in files.items():
        assert description.split()[1] not in text, name
    assert np.asarray(input_samples(planned, 1)[0]).size > 0
