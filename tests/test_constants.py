"""--constants: which weights and layouts are copied to SRAM at start-up (the placement rules, the memory report, the
linked ELF), and that firmware reading them from SRAM stays bit-exact with TFLite Micro and loses its flash stalls."""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, needs_toolchain, run_cli
from tinyc.boards import get_board
from tinyc.errors import PlanError
from tinyc.plan.constants import STAGE_MIN_MACS_PER_BYTE, ConstantsPolicy, place_constants, stage_bytes, \
    staged_steps, step_arrays
from tinyc.plan.specialize import Variant
from tinyc.plan.pipeline import plan_model
from tinyc.plan.search import ScheduleOptions

TINY = REPO / "tests" / "data" / "golden_tiny.tflite"
AD = REPO.parent / "shared" / "mlperf-tiny" / "ad01_int8.tflite"
RESNET = REPO / "models" / "tiny_resnet.py"


def _planned(policy: ConstantsPolicy, board: str = "stm32f412"):
    return plan_model(TINY, board, options=ScheduleOptions(constants=policy))


def test_flash_is_the_default_and_moves_nothing() -> None:
    planned = plan_model(TINY, "stm32f412")
    assert planned.constants.policy is ConstantsPolicy.FLASH
    assert planned.constants.in_sram == frozenset() and planned.report.sram_constants_bytes == 0


def test_sram_moves_every_array_the_kernels_read_and_the_report_counts_them() -> None:
    flash, sram = _planned(ConstantsPolicy.FLASH), _planned(ConstantsPolicy.SRAM)
    read = step_arrays(sram.schedule, sram.kernels)
    total = sum(a.size_bytes for a, _ in read)
    assert total > 0 and sram.constants.sram_bytes == total == sram.report.sram_constants_bytes
    assert {a.name for a, _ in read} <= sram.constants.in_sram
    assert sram.report.peak_sram_bytes == flash.report.peak_sram_bytes + total
    assert sram.report.flash_bytes == flash.report.flash_bytes  # the load image stays in flash
    assert sram.report.as_json()["sram_constants_bytes"] == total


def test_sram_refused_with_the_bytes_short() -> None:
    planned = _planned(ConstantsPolicy.FLASH)
    total = sum(a.size_bytes for a, _ in step_arrays(planned.schedule, planned.kernels))
    used = planned.report.peak_sram_bytes
    small = dataclasses.replace(planned.board, sram=dataclasses.replace(planned.board.sram,
                                                                         size_bytes=used + total - 100))
    with pytest.raises(PlanError) as error:
        place_constants(planned.schedule, planned.kernels, small, policy=ConstantsPolicy.SRAM, sram_used_bytes=used,
                        headroom_fraction=0.1)
    assert str(error.value) == (f"--constants sram: the model's constants need {total:,} B of SRAM and "
                                f"{small.name} has {total - 100:,} B left beside the arena, stack and statics (100 B "
                                "short); --constants auto moves the ones read most that fit")


def test_auto_takes_the_most_read_per_byte_first_within_the_headroom() -> None:
    planned = _planned(ConstantsPolicy.FLASH)
    read = step_arrays(planned.schedule, planned.kernels)
    ranked = sorted(read, key=lambda am: (-am[1] / max(am[0].size_bytes, 1), am[0].name))
    first = ranked[0][0]
    used = planned.report.peak_sram_bytes
    # room for exactly the first array above the 10% headroom of a board this size
    size = int((used + first.size_bytes) / 0.9) + 1
    board = dataclasses.replace(planned.board, sram=dataclasses.replace(planned.board.sram, size_bytes=size))
    placed = place_constants(planned.schedule, planned.kernels, board, policy=ConstantsPolicy.AUTO,
                             sram_used_bytes=used, headroom_fraction=0.1)
    assert placed.sram_bytes <= size - used - int(0.1 * size)
    assert first.name in placed.in_sram and placed.sram_bytes >= first.size_bytes
    roomy = place_constants(planned.schedule, planned.kernels, get_board("stm32l4r5"), policy=ConstantsPolicy.AUTO,
                            sram_used_bytes=used, headroom_fraction=0.1)
    assert roomy.sram_bytes == sum(a.size_bytes for a, _ in read) and "all of them" in roomy.reason


def test_report_shows_the_constants_row(monkeypatch, capsys) -> None:
    code, out, _ = run_cli(monkeypatch, capsys, "report", str(TINY), "--board", "stm32f412", "--constants", "sram",
                           "--no-tflm-arena")
    assert code == 0 and "constants" in out and "weights and layouts in SRAM" in out
    code, out, _ = run_cli(monkeypatch, capsys, "report", str(TINY), "--board", "stm32f412", "--constants", "sram",
                           "--json", "--no-tflm-arena")
    assert code == 0 and json.loads(out)["sram_constants_bytes"] == _planned(ConstantsPolicy.SRAM).constants.sram_bytes


@needs_toolchain
@pytest.mark.emulator
def test_sram_constants_link_into_data_and_stay_bit_exact(tmp_path: Path) -> None:
    import tinyc
    planned = _planned(ConstantsPolicy.SRAM)
    built = tinyc.compile(planned, output=tmp_path / "out")
    symbols = subprocess.run(["arm-none-eabi-nm", str(built.build.elf)], capture_output=True, text=True,
                             check=True).stdout.split("\n")
    address = {line.split()[2]: int(line.split()[0], 16) for line in symbols if len(line.split()) == 3}
    board = get_board("stm32f412")
    for a, _ in step_arrays(planned.schedule, planned.kernels):  # the emulator's SRAM (QEMU's mps2 addresses)
        assert address[f"tinyc_{a.name}"] >= board.qemu.sram_origin, a.name
    assert built.report.sram_constants_bytes == planned.constants.sram_bytes
    proof = tinyc.verify(planned, samples=3, emulator="qemu")
    assert proof.first_mismatch is None and proof.mismatched_samples == 0


@needs_toolchain
@pytest.mark.emulator
@pytest.mark.skipif(not AD.exists(), reason=f"the MLPerf Tiny models are not in {AD.parent}")
def test_constants_in_sram_remove_the_flash_data_stalls() -> None:
    import tinyc
    runs = {policy: tinyc.bench(AD, board="stm32l4r5", options=ScheduleOptions(constants=policy)).as_json()
            for policy in (ConstantsPolicy.FLASH, ConstantsPolicy.AUTO)}
    flash, sram = runs[ConstantsPolicy.FLASH], runs[ConstantsPolicy.AUTO]
    assert flash["instructions"] == sram["instructions"]  # the same code, its data elsewhere
    assert flash["estimated_cycles_zero_wait"] == sram["estimated_cycles_zero_wait"]
    assert flash["flash_model"]["data_stall_cycles"] > 100_000 > 1_000 > sram["flash_model"]["data_stall_cycles"]
    assert (sram["constants"], flash["constants"], flash["sram_constants_bytes"]) == ("auto", "flash", 0)
    assert sram["sram_constants_bytes"] > 250_000


def test_stage_copies_the_convolutions_read_most_into_one_buffer_of_the_largest() -> None:
    planned = plan_model(RESNET, "stm32f412", options=ScheduleOptions(constants=ConstantsPolicy.STAGE))
    per_step = staged_steps(planned.schedule, planned.kernels)
    for step, choice, arrays in zip(planned.schedule.steps, planned.kernels, per_step):
        if arrays:
            assert choice.variant is Variant.FAST_CONV and arrays == (choice.weights, choice.quant)
            assert step.call.macs >= STAGE_MIN_MACS_PER_BYTE * sum(a.size_bytes for a in arrays)
    staged = [a for a in per_step if a]
    assert staged and planned.constants.in_sram == frozenset()
    assert planned.constants.staged == {a.name for arrays in staged for a in arrays}
    assert planned.constants.stage_bytes == max(stage_bytes(a) for a in staged) == planned.report.sram_constants_bytes


@needs_toolchain
@pytest.mark.emulator
def test_staged_convolutions_stay_bit_exact() -> None:
    import tinyc
    planned = plan_model(RESNET, "stm32f412", options=ScheduleOptions(constants=ConstantsPolicy.STAGE))
    assert planned.constants.staged
    proof = tinyc.verify(planned, samples=2, emulator="qemu")
    assert proof.first_mismatch is None and proof.mismatched_samples == 0 and proof.ops_compared
