"""--board-file: a user's own board, validated with one clear message per problem; it plans, compiles and verifies
like a bundled board."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import REPO, needs_toolchain, run_cli
from tinyc.boards import get_board, load_board_file
from tinyc.errors import BoardError

F412 = (REPO / "boards" / "stm32f412.toml").read_text()
MODEL = REPO / "tests" / "data" / "golden_tiny.tflite"


def custom_board(folder: Path, name: str = "my_board", *, text: str | None = None,
                 replace: tuple[tuple[str, str], ...] = ()) -> Path:
    """The F412's file as the user's board `name`, without the real part ([part], [renode]), edited by `replace`."""
    body = F412.split("# The part itself")[0] if text is None else text
    body = body.replace('name = "stm32f412"', f'name = "{name}"').replace("size_bytes = 262_144", "size_bytes = 65_536")
    for old, new in replace:
        assert old in body, old
        body = body.replace(old, new)
    path = folder / f"{name}.toml"
    path.write_text(body)
    return path


def test_custom_board_loads(tmp_path: Path) -> None:
    board = get_board(custom_board(tmp_path))
    assert (board.name, board.cpu, board.sram.size_bytes, board.part, board.renode) == \
        ("my_board", "cortex-m4", 65_536, None, None)


@pytest.mark.parametrize("replace, message", [
    ((('cpu = "cortex-m4"', 'cpu = "cortex-m0plus"'),),
     "my_board.toml: cpu must be one of cortex-m4, cortex-m7, cortex-m33, cortex-m55, got 'cortex-m0plus'"),
    ((('cpu = "cortex-m4"', 'cpu = "cortex-m33"'),), "my_board.toml: cflags must hold -mcpu=cortex-m33 (the cpu the board names)"),
    ((('cpu = "cortex-m4"', 'cpu = "cortex-m33"'), ("-mcpu=cortex-m4", "-mcpu=cortex-m33")),
     "my_board.toml: [emulator.qemu] machine must be 'mps2-an505' for a cortex-m33 (tinyc's emulator build runs there), got 'mps2-an386'"),
    ((("clock_hz = 100_000_000", 'clock_hz = "fast"'),), "my_board.toml: the board clock_hz must be an integer, got 'fast'"),
    ((("clock_hz = 100_000_000", "clock_hz = 0"),), "my_board.toml: clock_hz must be positive, got 0"),
    ((('"-mcpu=cortex-m4", ', ""),), "my_board.toml: cflags must hold -mcpu=cortex-m4 (the cpu the board names)"),
    ((("cflags = [", "cflags = 3 #"),), "my_board.toml: cflags must be a list of compiler flags"),
    ((("size_bytes = 65_536", "size_bytes = 1000"),), "my_board.toml: [sram] size_bytes must be a positive multiple of 1024, got 1000"),
    ((("[sram]", "[sramx]"),), "my_board.toml: [sram] needs integer 'origin' and 'size_bytes'"),
    ((("size_bytes = 8_192", "size_bytes = 40_000"),),
     "my_board.toml: [stack] size_bytes must be positive and at most half the SRAM (32,768 B), got 40,000"),
    ((("[stack]\nsize_bytes = 8_192", ""),), "my_board.toml: missing the table [stack]"),
    ((('machine = "mps2-an386"', 'machine = "virt"'),),
     "my_board.toml: [emulator.qemu] machine must be 'mps2-an386' for a cortex-m4 (tinyc's emulator build runs there), got 'virt'"),
    ((("[emulator.qemu]", "[emulator.renode]"),), "my_board.toml: missing the table [emulator.qemu] (machine = \"mps2-an386\""),
    ((("sram_origin = 0x20000000", ""),), "my_board.toml: [emulator.qemu] is missing the key 'sram_origin'"),
    ((('name = "my_board"', 'name = "other"'),), "my_board.toml: name 'other' must equal the file name 'my_board'"),
])
def test_bad_board_files_name_the_problem(tmp_path: Path, replace: tuple[tuple[str, str], ...], message: str) -> None:
    with pytest.raises(BoardError, match=re.escape(message)):
        load_board_file(custom_board(tmp_path, replace=replace))


def test_not_toml_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(BoardError, match=re.escape("must be a .toml file")):
        get_board(tmp_path / "board.json")
    with pytest.raises(BoardError, match=re.escape(f"board file {tmp_path / 'none.toml'} does not exist")):
        get_board(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\ncpu = [\n')
    with pytest.raises(BoardError, match=re.escape("board file bad.toml is not valid TOML")):
        get_board(bad)


def test_board_options_are_exclusive_and_checked_before_the_model_runs(monkeypatch, capsys, tmp_path) -> None:
    model = tmp_path / "m.py"
    model.write_text("def build():\n    raise AssertionError('not reached')\n")
    code, _, err = run_cli(monkeypatch, capsys, "report", str(model))
    assert code == 2 and "give the target board with --board NAME (see `tinyc boards`) or --board-file PATH.toml" in err
    code, _, err = run_cli(monkeypatch, capsys, "report", str(model), "--board", "stm32f412", "--board-file",
                           str(custom_board(tmp_path)))
    assert code == 2 and "not both" in err
    broken = custom_board(tmp_path, "broken", replace=(("clock_hz = 100_000_000", "clock_hz = -1"),))
    code, _, err = run_cli(monkeypatch, capsys, "report", str(model), "--board-file", str(broken))
    assert code == 2 and "error: broken.toml: clock_hz must be positive, got -1" in err


def test_report_on_a_custom_board(monkeypatch, capsys, tmp_path) -> None:
    code, out, err = run_cli(monkeypatch, capsys, "report", str(MODEL), "--board-file", str(custom_board(tmp_path)),
                             "--json", "--no-tflm-arena")
    assert code == 0, err
    data = json.loads(out)
    assert data["board"] == "my_board" and data["sram_limit_bytes"] == 65_536 and data["fits"]


def test_boards_lists_the_folder(monkeypatch, capsys) -> None:
    code, out, _ = run_cli(monkeypatch, capsys, "boards")
    assert code == 0
    for path in sorted((REPO / "boards").glob("*.toml")):
        assert path.stem in out
    assert "640 KB (SRAM1 192 + SRAM2 64 + SRAM3 384)" in " ".join(out.split())
    assert "--board-file" in out


@needs_toolchain
@pytest.mark.emulator
def test_custom_board_verifies_end_to_end_and_compile_says_there_is_no_part_firmware(monkeypatch, capsys,
                                                                                     tmp_path) -> None:
    board = custom_board(tmp_path)
    code, out, err = run_cli(monkeypatch, capsys, "verify", str(MODEL), "--board-file", str(board), "--samples", "3",
                             "--emulator", "qemu", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert (result["board"], result["samples"], result["mismatches"], result["first_mismatch"]) == ("my_board", 3, 0, None)
    code, out, err = run_cli(monkeypatch, capsys, "compile", str(MODEL), "--board-file", str(board), "-o",
                             str(tmp_path / "out"), "--placement", "greedy")
    assert code == 0, err
    assert "board my_board has no [part] table" in err and "no real-board firmware was written" in err
    assert json.loads((tmp_path / "out" / "tinyc.json").read_text())["board"]["name"] == "my_board"
    assert not (tmp_path / "out" / "board").exists()


L4R5 = (REPO / "boards" / "stm32l4r5.toml").read_text()
NRF = (REPO / "boards" / "nrf52840.toml").read_text()


def test_new_boards_load_with_their_regions_and_uart_families() -> None:
    from tinyc.boards import NamedRegion, UsartKind
    l4 = get_board("stm32l4r5")
    assert l4.sram.size_bytes == 640 * 1024 and l4.flash.size_bytes == 2 * 1024 * 1024
    assert l4.sram_regions == (NamedRegion("SRAM1", 0x20000000, 192 * 1024), NamedRegion("SRAM2", 0x20030000, 64 * 1024),
                               NamedRegion("SRAM3", 0x20040000, 384 * 1024))
    assert l4.part is not None and l4.part.usart_kind is UsartKind.STM32_LPUART and len(l4.part.power_enable) == 2
    assert l4.renode is None  # Renode 1.15 has no STM32L4
    nrf = get_board("nrf52840")
    assert (nrf.sram.size_bytes, nrf.flash.origin, nrf.flash.size_bytes) == (256 * 1024, 0, 1024 * 1024)
    assert nrf.part is not None and nrf.part.usart_kind is UsartKind.NRF_UARTE and nrf.part.usart_enable is None
    assert nrf.renode is not None and nrf.renode.platform == "platforms/cpus/nrf52840.repl"


def _edited(tmp_path: Path, text: str, name: str, replace: tuple[tuple[str, str], ...]) -> Path:
    for old, new in replace:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("replace, message", [
    ((("origin = 0x20030000", "origin = 0x20031000"),),
     "stm32l4r5.toml: [[sram.regions]] SRAM2 starts at 0x20031000, expected 0x20030000: the regions must tile [sram]"),
    ((("size_bytes = 393_216", "size_bytes = 131_072"),),
     "stm32l4r5.toml: [[sram.regions]] add up to 393,216 B, but [sram] size_bytes is 655,360"),
    ((('name = "SRAM1"\n', ""),), "stm32l4r5.toml: every [[sram.regions]] needs a 'name' string"),
    ((("usart_clock_hz = 4_000_000", "usart_clock_hz = 100_000"),),
     "stm32l4r5.toml: [part] an LPUART needs 3 x baud <= usart_clock_hz <= 4096 x baud, got 100000 Hz for 115200 baud"),
    ((("gpio_enable = ", "# "),), "stm32l4r5.toml: [part] usart_kind 'stm32-lpuart' needs 'gpio_enable'"),
    ((("pin = 7, af = 8", "pin = 7"),), "stm32l4r5.toml: [part] tx_pin needs 'af' for usart_kind 'stm32-lpuart'"),
    ((("bit = 28", "bit = 32"),), "stm32l4r5.toml: [part] power_enable bit must be 0..31, got 32"),
])
def test_bad_l4r5_files_name_the_problem(tmp_path: Path, replace: tuple[tuple[str, str], ...], message: str) -> None:
    with pytest.raises(BoardError, match=re.escape(message)):
        load_board_file(_edited(tmp_path, L4R5, "stm32l4r5", replace))


@pytest.mark.parametrize("replace, message", [
    ((("baud = 115_200", "baud = 100_000"),), "nrf52840.toml: [part] baud 100000 is not a rate of the nRF UARTE; one of 9600,"),
    ((("tx_pin = { port = 0, pin = 6 }", "tx_pin = { port = 2, pin = 6 }"),),
     "nrf52840.toml: [part] tx_pin of an nRF UARTE: port 0..1 and pin 0..31"),
    ((("baud = 115_200", "baud = 115_200\nusart_clock_hz = 16_000_000"),),
     "nrf52840.toml: [part] usart_kind 'nrf-uarte' has no usart_clock_hz (an nRF UARTE needs no clock enables; its TX pin "
     "is tx_pin = { port = 0, pin = 6 })"),
    ((("tx_pin = { port = 0, pin = 6 }", "tx_pin = { port = 0, pin = 6, af = 7 }"),),
     "nrf52840.toml: [part] usart_kind 'nrf-uarte' has no tx_pin.af"),
    ((('usart_kind = "nrf-uarte"', 'usart_kind = "nrf-uart"'),),
     "nrf52840.toml: [part] usart_kind must be one of stm32f4, stm32h7, stm32-lpuart, nrf-uarte, got 'nrf-uart'"),
])
def test_bad_nrf_files_name_the_problem(tmp_path: Path, replace: tuple[tuple[str, str], ...], message: str) -> None:
    with pytest.raises(BoardError, match=re.escape(message)):
        load_board_file(_edited(tmp_path, NRF, "nrf52840", replace))
