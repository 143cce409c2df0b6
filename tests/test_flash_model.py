"""The flash in the cycle estimate (tinyc/run/flash.py): the board file's [flash.timing], the accelerator's model on
hand-made address streams, and one emulator run whose two records (the translation-block log and the plugin's
trace) must agree."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from conftest import REPO, needs_toolchain
from tinyc.boards import FlashTiming, get_board, load_board_file
from tinyc.errors import BoardError
from tinyc.run.bench import bench
from tinyc.run.cycles import TIMING_TABLES, Block, classify
from tinyc.run.flash import FlashModel, replay, segments

F412 = (REPO / "boards" / "stm32f412.toml").read_text().split("# The part itself")[0]
FLASH_SECTION = F412[F412.index("[flash]\n"):F412.index("[sram]")]  # [flash] with its [flash.timing]
TIMING = FlashTiming(wait_states=5, line_bytes=16, icache_lines=4, dcache_lines=2, prefetch=True)


def _board(folder: Path, replace: tuple[tuple[str, str], ...]) -> Path:
    body = F412.replace('name = "stm32f412"', 'name = "my_board"')
    for old, new in replace:
        assert old in body, old
        body = body.replace(old, new)
    path = folder / "my_board.toml"
    path.write_text(body)
    return path


def test_bundled_boards_flash_timing() -> None:
    assert get_board("stm32f412").flash_timing == FlashTiming(3, 16, 64, 8, prefetch=True)
    assert get_board("stm32l4r5").flash_timing == FlashTiming(5, 8, 128, 32, prefetch=True)
    assert get_board("stm32h743").flash_timing is None  # the M7 figure stays a bound, no caches modelled
    assert get_board("nrf52840").flash_timing is None


def test_the_table_is_optional(tmp_path: Path) -> None:
    table = F412[F412.index("[flash.timing]"):F412.index("prefetch = true") + len("prefetch = true")]
    assert load_board_file(_board(tmp_path, ((table, ""),))).flash_timing is None


@pytest.mark.parametrize("replace, message", [
    (("wait_states = 3", "wait_states = 16"), "my_board.toml: [flash.timing] wait_states must be 0..15, got 16"),
    (("icache_lines = 64", "icache_lines = -1"), "my_board.toml: [flash.timing] icache_lines must be 0..4096, got -1"),
    (("line_bytes = 16", "line_bytes = 24"), "my_board.toml: [flash.timing] line_bytes must be a power of two, got 24"),
    (("line_bytes = 16", "line_bytes = 2"), "my_board.toml: [flash.timing] line_bytes must be 4..256, got 2"),
    (("line_bytes = 16", 'line_bytes = "16"'), "my_board.toml: [flash.timing] line_bytes must be an integer, got '16'"),
    (("dcache_lines = 8", "dcache_lines = true"),
     "my_board.toml: [flash.timing] dcache_lines must be an integer, got True"),
    (("prefetch = true", "prefetch = 1"), "my_board.toml: [flash.timing] prefetch must be true or false, got 1"),
    (("dcache_lines = 8\n", ""), "my_board.toml: [flash.timing] is missing the key 'dcache_lines'"),
    (("prefetch = true", "prefetch = true\nways = 2"),
     "my_board.toml: [flash.timing] has an unknown key 'ways'; the keys are wait_states, line_bytes, icache_lines, "
     "dcache_lines, prefetch"),
    ((FLASH_SECTION, "[flash]\norigin = 0x08000000\nsize_bytes = 1_048_576\ntiming = 3\n\n"),
     "my_board.toml: [flash.timing] must be a table (wait_states, line_bytes, icache_lines, dcache_lines, prefetch)"),
])
def test_bad_flash_timing_names_the_key(tmp_path: Path, replace: tuple[str, str], message: str) -> None:
    with pytest.raises(BoardError, match="^" + re.escape(message) + "$"):
        load_board_file(_board(tmp_path, (replace,)))


def _code(start: int, count: int, cycles: float, size: int = 2) -> tuple[tuple[int, float], ...]:
    """Straight-line code: `count` instructions of `size` bytes from `start`, each taking `cycles`."""
    return segments(((start + size * k, size, cycles) for k in range(count)), TIMING.line_bytes)


def test_segments_group_by_line_and_a_straddling_instruction_needs_both() -> None:
    assert segments([(0x100, 2, 1.0), (0x102, 4, 1.0), (0x10e, 4, 2.0), (0x112, 2, 1.0)], 16) == (
        (0x10, 4.0), (0x11, 1.0))


def test_a_loop_that_fits_the_icache_costs_nothing_after_its_first_pass() -> None:
    model = FlashModel(TIMING)
    loop = _code(0x100, 24, 1.0)  # 3 lines of 8 one-cycle instructions; the I-cache holds 4
    assert model.execute(loop) == 5  # the first line; the next two were prefetched in time
    assert [model.execute(loop) for _ in range(9)] == [0.0] * 9
    assert model.fetch_misses == 3


def test_a_loop_larger_than_the_icache_misses_every_line() -> None:
    model = FlashModel(FlashTiming(5, 16, 4, 2, prefetch=False))
    loop = _code(0x100, 48, 1.0)  # 6 lines through a 4-line LRU cache: each line is evicted before its reuse
    assert [model.execute(loop) for _ in range(3)] == [30.0, 30.0, 30.0]


def test_streaming_data_costs_the_wait_states_per_line() -> None:
    model = FlashModel(TIMING)
    weights = [0x4000 + 4 * k for k in range(64)]  # 256 bytes: 16 lines, the D-cache holds 2
    assert sum(model.load(a) for a in weights) == 16 * 5
    assert sum(model.load(a) for a in weights) == 16 * 5  # streamed again: nothing left in the cache
    assert (model.data_loads, model.data_misses) == (128, 32)
    small = [0x8000 + 4 * k for k in range(8)]  # 2 lines: fit the D-cache
    assert sum(model.load(a) for a in small) == 10
    assert sum(model.load(a) for a in small) == 0


def test_prefetch_hides_the_sequential_fetch_of_slow_code() -> None:
    slow = _code(0x200, 64, 1.0)  # 8 lines, 8 cycles each: the next line (6 cycles) arrives in time
    assert FlashModel(TIMING).execute(slow) == 5
    assert FlashModel(FlashTiming(5, 16, 4, 2, prefetch=False)).execute(slow) == 8 * 5
    fast = _code(0x200, 64, 0.5)  # 4 cycles a line: each next line waits 6 - 4 = 2
    assert FlashModel(TIMING).execute(fast) == 5 + 7 * 2
    assert FlashModel(FlashTiming(0, 16, 4, 2, prefetch=True)).execute(fast) == 0  # zero wait states: free


def test_replay_charges_steps_and_cuts_a_block_rewound_to_a_device_access() -> None:
    """flash_trace.c's words: two block definitions, executions, a flash load, and a device access by the
    instruction at 0x102, which QEMU ran in a block of its own after rewinding block A to it."""
    define_p, define_a = [0xC0000000, 1, 0x200], [0xC0000001, 3, 0x100, 0x102 | 1, 0x106]
    p, a = 0x80000000, 0x80000001
    words = np.array(define_p + define_a + [p, a, 0x4000, p, a, 0x40000000 | 0x102], dtype="<u4")
    estimate = replay(words, TIMING, {}, (0, 0x10000), profile_address=0x200, steps=2)
    assert estimate.instructions == (1 + 3) + (1 + 1 + 1)  # step 1: P, A's first instruction, the device access
    assert estimate.stall_cycles == (5 + 5 + 5, 0.0)  # P's line, A's line, the load; then all in the caches
    assert (estimate.fetch_misses, estimate.data_loads, estimate.data_misses) == (2, 1, 1)


def test_a_block_cut_where_qemu_rewound_it() -> None:
    m4 = TIMING_TABLES["cortex-m4"]
    alu, load = classify("adds", "r0, #1", m4), classify("ldr", "r0, [r1]", m4)
    block = Block((alu, load, alu), end=0x106, count=3, addresses=(0x100, 0x102, 0x104))
    assert block.until(0x102) == Block((alu,), end=0x102, count=1, addresses=(0x100,))
    assert block.until(0x100).count == 0


@needs_toolchain
@pytest.mark.emulator
def test_with_flash_costs_at_least_zero_wait_and_both_records_count_the_same_instructions() -> None:
    result = bench(REPO / "tests" / "data" / "golden_tiny.tflite", "stm32l4r5", cycles=True)
    estimate = result.cycles
    assert estimate is not None and estimate.flash is not None and result.cycles_with_flash is not None
    # the plugin's trace and the translation-block log of the same QEMU run (cycles.py raises when they differ)
    assert estimate.flash.instructions == estimate.instructions
    # ... and QEMU's icount of the bench run: the harness's marks differ by a few instructions, quantized by ticks
    assert abs(estimate.instructions - result.instructions) <= 2 * result.instructions_per_tick
    assert result.cycles_with_flash > estimate.cycles  # the weights are read from flash: some loads miss
    assert estimate.flash.data_misses > 0 and estimate.flash.fetch_misses > 0
    for layer in result.layers:
        assert layer.estimated_cycles is not None and layer.estimated_cycles_with_flash is not None
        assert layer.estimated_cycles_with_flash >= layer.estimated_cycles
    assert sum(layer.estimated_cycles_with_flash or 0 for layer in result.layers) == \
        pytest.approx(result.cycles_with_flash)
    data = result.as_json()
    assert data["estimated_cycles"] == data["estimated_cycles_zero_wait"] == estimate.cycles
    assert data["estimated_cycles_with_flash"] == result.cycles_with_flash
    assert data["flash_model"]["wait_states"] == 5 and data["flash_model"]["line_bytes"] == 8
    assert data["estimated_latency_ms_with_flash"] == pytest.approx(result.cycles_with_flash / 120e3)
    assert data["layers"][0]["estimated_cycles_with_flash"] == result.layers[0].estimated_cycles_with_flash
