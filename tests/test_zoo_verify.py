"""Every zoo model that fits, under every schedule, on both boards: bit-exact with TFLite Micro in QEMU.

Schedules: per-layer without in-place ops, per-layer with them, and patch-based (split and grid chosen
by the search, input frame streamed). The models are converted once per session.
"""

from __future__ import annotations

import pytest

from conftest import BOARDS, REPO, needs_toolchain
from tinyc.run.verify import verify
from tinyc.plan.search import Objective, ScheduleChoice, ScheduleOptions

pytestmark = [needs_toolchain, pytest.mark.emulator, pytest.mark.slow]

ZOO = ("tiny_mbv2", "tiny_dscnn", "tiny_resnet", "digits_mcunet", "kws_dscnn", "ic_resnet8", "vww_mbv1", "mbv3_small_96",
       "fomo_96", "unet_small", "ad_autoencoder", "har_conv1d", "kws_lstm")
SCHEDULES = {
    "per-layer": ScheduleOptions(kind=ScheduleChoice.PER_LAYER, in_place=False),
    "in-place": ScheduleOptions(kind=ScheduleChoice.PER_LAYER, in_place=True),
    "patch": ScheduleOptions(kind=ScheduleChoice.PATCH, stream_input=True, objective=Objective.MIN_SRAM),
}


@pytest.fixture(scope="session")
def zoo_tflite(tmp_path_factory):
    from tinyc.frontend.loader import load_model
    folder = tmp_path_factory.mktemp("zoo")
    cache = {}
    def convert(name: str):
        if name not in cache:
            cache[name] = folder / f"{name}.tflite"
            cache[name].write_bytes(load_model(REPO / "models" / f"{name}.py").tflite)
        return cache[name]
    return convert


NO_PATCH = {"ad_autoencoder": "Dense layers only", "har_conv1d": "its first op is Conv1D's EXPAND_DIMS",
            "kws_lstm": "an LSTM and a Dense layer: no spatially local op"}


@pytest.mark.parametrize("board", BOARDS)
@pytest.mark.parametrize(("name", "schedule"), [(n, s) for n in ZOO for s in sorted(SCHEDULES)
                                                if not (s == "patch" and n in NO_PATCH)])
def test_zoo_model_bit_exact(name: str, board: str, schedule: str, zoo_tflite) -> None:
    result = verify(zoo_tflite(name), board, samples=2, options=SCHEDULES[schedule])
    assert result.first_mismatch is None, result.first_mismatch.describe()
    assert result.mismatched_samples == 0 and len(result.run.outputs) == 2
    kinds = {s.overwrites is not None for s in result.planned.schedule.steps}
    if schedule == "per-layer":
        assert kinds == {False}
    if schedule == "patch":
        assert result.planned.schedule.patch is not None


# The boards that prove the board model general: NUCLEO-L4R5ZI (640 KB in three SRAM blocks, LPUART) in QEMU's
# emulator build, and the nRF52840 (a non-ST part, UARTE by DMA) as its real-board firmware on Renode's model of
# the part where Renode is installed (QEMU's emulator build otherwise); and the Cortex-M33 boards (issue 27),
# NUCLEO-U575ZI-Q and the nRF5340's application core, in QEMU's mps2-an505 (no Renode platform models either part),
# and the Cortex-M55 (Helium) board, Alif Ensemble E7's HP core, in QEMU's mps3-an547.
NEW_BOARDS = ("stm32l4r5", "nrf52840", "stm32u575", "nrf5340", "alif_e7_hp")


@pytest.mark.parametrize("board", NEW_BOARDS)
@pytest.mark.parametrize("name", ZOO)
def test_zoo_model_bit_exact_on_the_new_boards(name: str, board: str, zoo_tflite) -> None:
    from tinyc.plan.pipeline import plan_model
    from tinyc.run.emulators import choose_emulator
    planned = plan_model(zoo_tflite(name), board)
    if not planned.report.fits:
        pytest.skip(f"{name} does not fit {board}: {planned.report.verdict()}")
    emulator = choose_emulator("auto", planned.board).emulator
    result = verify(zoo_tflite(name), board, samples=2, emulator=emulator)
    assert result.first_mismatch is None, result.first_mismatch.describe()
    assert result.mismatched_samples == 0 and len(result.run.outputs) == 2


def test_an_arena_across_the_l4r5_sram_blocks(zoo_tflite) -> None:
    """mcunet_f412_patch per layer needs a 294,912 B arena: more than the F412's whole SRAM, and on the L4R5 it runs
    from SRAM1 through SRAM2 into SRAM3 (contiguous on the bus); bit-exact in QEMU all the same."""
    result = verify(zoo_tflite("mcunet_f412_patch"), "stm32l4r5", samples=2,
                    options=ScheduleOptions(kind=ScheduleChoice.PER_LAYER))
    sram1, sram2, _ = result.planned.board.sram_regions
    assert result.planned.plan.arena_bytes == 294_912 > sram1.size_bytes + sram2.size_bytes
    assert result.first_mismatch is None and result.mismatched_samples == 0
