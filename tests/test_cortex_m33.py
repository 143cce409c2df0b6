"""Cortex-M33 boards (issue 27): stm32u575 and nrf5340 load as emulator-only boards on QEMU's mps2-an505, their
CPU flags select tinyc's DSP kernels, the cycle estimate has an (M4-based) table, and models verify bit-exact."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, needs_toolchain, run_cli
from tinyc.boards import NamedRegion, get_board, load_board_file
from tinyc.errors import BoardError

M33_BOARDS = ("stm32u575", "nrf5340")
U575 = (REPO / "boards" / "stm32u575.toml").read_text()


@pytest.mark.parametrize(("name", "clock_hz", "sram_bytes", "flash_origin", "flash_bytes"), [
    ("stm32u575", 160_000_000, 768 * 1024, 0x08000000, 2 * 1024 * 1024),
    ("nrf5340", 128_000_000, 512 * 1024, 0x00000000, 1024 * 1024),
])
def test_m33_boards_load(name: str, clock_hz: int, sram_bytes: int, flash_origin: int, flash_bytes: int) -> None:
    board = get_board(name)
    assert (board.cpu, board.clock_hz, board.sram.origin, board.sram.size_bytes, board.flash.origin,
            board.flash.size_bytes) == ("cortex-m33", clock_hz, 0x20000000, sram_bytes, flash_origin, flash_bytes)
    assert board.cflags == ("-mcpu=cortex-m33", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-sp-d16")
    # mps2-an505 boots Secure: code in SSRAM1's Secure alias, data in SSRAM2+3's (4 MiB each)
    assert (board.qemu.machine, board.qemu.flash_origin, board.qemu.sram_origin) == ("mps2-an505", 0x10000000,
                                                                                     0x38000000)
    assert (board.renode, board.flash_timing) == (None, None)  # no Renode platform, no flash model
    assert board.part is not None  # real-board firmware: checked as an ELF in tests/test_board_firmware.py


def test_u575_sram_blocks_tile_its_sram() -> None:
    assert get_board("stm32u575").sram_regions == (NamedRegion("SRAM1", 0x20000000, 192 * 1024),
                                                   NamedRegion("SRAM2", 0x20030000, 64 * 1024),
                                                   NamedRegion("SRAM3", 0x20040000, 512 * 1024))


@pytest.mark.parametrize("replace, message", [
    ((('machine = "mps2-an505"', 'machine = "mps2-an386"'),),
     "stm32u575.toml: [emulator.qemu] machine must be 'mps2-an505' for a cortex-m33 (tinyc's emulator build runs "
     "there), got 'mps2-an386'"),
    ((('"-mcpu=cortex-m33", ', '"-mcpu=cortex-m4", '),),
     "stm32u575.toml: cflags must hold -mcpu=cortex-m33 (the cpu the board names)"),
    ((('"-mthumb"', '"-mthumb", "-mcpu=cortex-m33+nodsp"'),),
     "stm32u575.toml: cflags must name the cpu once, as -mcpu=cortex-m33, got also -mcpu=cortex-m33+nodsp (a core "
     "variant such as +nodsp, a Cortex-M33 without the DSP extension, is not supported)"),
    ((('"-mcpu=cortex-m33"', '"-mcpu=cortex-m33+nodsp"'),),
     "stm32u575.toml: cflags must hold -mcpu=cortex-m33 (the cpu the board names)"),
    ((('cpu = "cortex-m33"', 'cpu = "cortex-m23"'),),
     "stm32u575.toml: cpu must be one of cortex-m4, cortex-m7, cortex-m33, cortex-m55, got 'cortex-m23'"),
])
def test_bad_m33_files_name_the_problem(tmp_path: Path, replace: tuple[tuple[str, str], ...], message: str) -> None:
    text = U575
    for old, new in replace:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "stm32u575.toml"
    path.write_text(text)
    with pytest.raises(BoardError, match=re.escape(message)):
        load_board_file(path)


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc is needed")
@pytest.mark.parametrize("name", M33_BOARDS)
def test_m33_flags_select_the_dsp_kernels(name: str) -> None:
    """tinyc's DSP kernels are compiled under __ARM_FEATURE_DSP (tinyc_dsp.h): -mcpu=cortex-m33 defines it."""
    defines = subprocess.run(["arm-none-eabi-gcc", *get_board(name).cflags, "-dM", "-E", "-"], input="",
                             capture_output=True, text=True, check=True).stdout.split("\n")
    assert {"#define __ARM_FEATURE_DSP 1", "#define __ARM_ARCH_8M_MAIN__ 1", "#define __ARM_PCS_VFP 1"} <= set(defines)


def test_the_cycle_estimate_has_an_m33_table_labelled_an_estimate() -> None:
    from tinyc.run.cycles import TIMING_TABLES
    assert "estimate" in TIMING_TABLES["cortex-m33"].core


def test_boards_lists_the_m33_boards(monkeypatch, capsys) -> None:
    code, out, _ = run_cli(monkeypatch, capsys, "boards")
    text = " ".join(out.split())
    assert code == 0
    assert "stm32u575 │ cortex-m33 │ 160 MHz │ 768 KB (SRAM1 192 + SRAM2 64 + SRAM3 512)" in text
    assert "nrf5340 │ cortex-m33 │ 128 MHz │ 512 KB" in text


@needs_toolchain
@pytest.mark.emulator
@pytest.mark.parametrize("board", M33_BOARDS)
def test_golden_tiny_bit_exact_on_the_m33_boards(board: str) -> None:
    from tinyc.run.verify import verify
    result = verify(REPO / "tests" / "data" / "golden_tiny.tflite", board, samples=3)
    assert result.first_mismatch is None, result.first_mismatch.describe()
    assert result.mismatched_samples == 0 and len(result.run.outputs) == 3


@pytest.fixture(scope="module")
def kws_dscnn_tflite(tmp_path_factory) -> Path:
    from tinyc.frontend.loader import load_model
    path = tmp_path_factory.mktemp("zoo") / "kws_dscnn.tflite"
    path.write_bytes(load_model(REPO / "models" / "kws_dscnn.py").tflite)
    return path


@needs_toolchain
@pytest.mark.emulator
@pytest.mark.parametrize("board", M33_BOARDS)
def test_kws_dscnn_bit_exact_on_the_m33_boards(board: str, kws_dscnn_tflite: Path) -> None:
    """A zoo model whose convolutions, depthwise convolutions and pooling take the DSP kernels on the M33."""
    from tinyc.run.verify import verify
    result = verify(kws_dscnn_tflite, board, samples=2)
    assert result.first_mismatch is None, result.first_mismatch.describe()
    assert result.mismatched_samples == 0 and len(result.run.outputs) == 2


@needs_toolchain
@pytest.mark.emulator
def test_bench_on_an505_counts_and_estimates_m33_cycles() -> None:
    """SysTick and the translation-block log work on mps2-an505: the instruction count and the M33 estimate agree."""
    from tinyc.run.bench import bench
    result = bench(REPO / "tests" / "data" / "golden_tiny.tflite", "stm32u575", cycles=True)
    estimate = result.cycles
    assert estimate is not None and estimate.flash is None  # no [flash.timing]: the zero-wait figure only
    assert estimate.core == "Cortex-M33 (the Cortex-M4's timings: an estimate)"
    assert abs(estimate.instructions - result.instructions) <= 2 * result.instructions_per_tick
    assert estimate.cycles >= estimate.instructions > 0
    assert result.as_json()["cycle_model"] == estimate.core
