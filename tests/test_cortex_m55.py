"""Cortex-M55 board (issue 27): alif_e7_hp loads as an emulator-only board on QEMU's mps3-an547, its CPU flags select
tinyc's DSP and Helium (MVE) kernels, the cycle estimate has an M55 table, and models verify bit-exact."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, needs_toolchain, run_cli
from tinyc.boards import get_board, load_board_file
from tinyc.errors import BoardError

BOARD = "alif_e7_hp"
E7 = (REPO / "boards" / f"{BOARD}.toml").read_text()


def test_e7_board_loads() -> None:
    board = get_board(BOARD)
    assert (board.cpu, board.clock_hz, board.sram.origin, board.sram.size_bytes, board.flash.origin,
            board.flash.size_bytes) == ("cortex-m55", 400_000_000, 0x20000000, 1024 * 1024, 0x80000000,
                                        5632 * 1024)  # the HP core's DTCM, the MRAM
    assert board.cflags == ("-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard")
    # mps3-an547 boots Secure: code in the QSPI flash's Secure alias, data in the SSE-300 SRAM's
    assert (board.qemu.machine, board.qemu.flash_origin, board.qemu.sram_origin) == ("mps3-an547", 0x38000000,
                                                                                     0x31000000)
    assert (board.part, board.renode, board.flash_timing) == (None, None, None)  # emulator build only


def test_the_an547_build_boots_from_the_itcm() -> None:
    """The an547 reads its vector table at 0x10000000 (ITCM) at reset: the linker puts it there, the code in QSPI, and
    the 8 MiB QSPI holds the 5.5 MB MRAM's worth of code and the harness's samples after it."""
    from tinyc.codegen.target import emulator_target
    target = emulator_target(get_board(BOARD))
    assert (target.vector_origin, target.flash_origin, target.testdata_bytes) == (0x10000000, 0x38000000,
                                                                                  8 * 1024 * 1024 - 5632 * 1024)
    assert emulator_target(get_board("stm32u575")).vector_origin is None  # the mps2 machines boot from the code


@pytest.mark.parametrize("replace, message", [
    ((('machine = "mps3-an547"', 'machine = "mps2-an505"'),),
     "alif_e7_hp.toml: [emulator.qemu] machine must be 'mps3-an547' for a cortex-m55 (tinyc's emulator build runs "
     "there), got 'mps2-an505'"),
    ((('"-mcpu=cortex-m55", ', '"-mcpu=cortex-m33", '),),
     "alif_e7_hp.toml: cflags must hold -mcpu=cortex-m55 (the cpu the board names)"),
    ((('"-mthumb"', '"-mthumb", "-march=armv8.1-m.main"'),),
     "alif_e7_hp.toml: cflags must not hold -march=armv8.1-m.main: -mcpu=cortex-m55 names the architecture and its "
     "extensions (on a cortex-m55: DSP, Helium/MVE and the FPU)"),
    ((('"-mthumb"', '"-mthumb", "-mcpu=cortex-m55+nomve"'),),
     "alif_e7_hp.toml: cflags must name the cpu once, as -mcpu=cortex-m55, got also -mcpu=cortex-m55+nomve"),
    ((('cpu = "cortex-m55"', 'cpu = "cortex-m0plus"'),),
     "alif_e7_hp.toml: cpu must be one of cortex-m4, cortex-m7, cortex-m33, cortex-m55, got 'cortex-m0plus' (a core "
     "without the DSP extension, such as cortex-m0plus or cortex-m23, is refused: tinyc's kernels, cycle tables and "
     "emulator machines assume it)"),
])
def test_bad_m55_files_name_the_problem(tmp_path: Path, replace: tuple[tuple[str, str], ...], message: str) -> None:
    text = E7
    for old, new in replace:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / f"{BOARD}.toml"
    path.write_text(text)
    with pytest.raises(BoardError, match=re.escape(message)):
        load_board_file(path)


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="arm-none-eabi-gcc is needed")
def test_m55_flags_select_the_dsp_and_helium_kernels() -> None:
    """tinyc's DSP kernels are compiled under __ARM_FEATURE_DSP, its Helium ones under __ARM_FEATURE_MVE (integer
    MVE: bit 0): -mcpu=cortex-m55 defines both (MVE with floating point: 3) and the hard-float ABI."""
    defines = subprocess.run(["arm-none-eabi-gcc", *get_board(BOARD).cflags, "-dM", "-E", "-"], input="",
                             capture_output=True, text=True, check=True).stdout.split("\n")
    assert {"#define __ARM_FEATURE_DSP 1", "#define __ARM_FEATURE_MVE 3", "#define __ARM_ARCH_8M_MAIN__ 1",
            "#define __ARM_PCS_VFP 1"} <= set(defines)


def test_the_cycle_estimate_has_an_m55_table_labelled_an_estimate() -> None:
    from tinyc.run.cycles import TIMING_TABLES
    assert "estimate" in TIMING_TABLES["cortex-m55"].core


def test_boards_lists_the_m55_board(monkeypatch, capsys) -> None:
    code, out, _ = run_cli(monkeypatch, capsys, "boards")
    assert code == 0
    assert "alif_e7_hp │ cortex-m55 │ 400 MHz │ 1024 KB" in " ".join(out.split())


@needs_toolchain
@pytest.mark.emulator
def test_golden_tiny_bit_exact_on_the_m55() -> None:
    from tinyc.run.verify import verify
    result = verify(REPO / "tests" / "data" / "golden_tiny.tflite", BOARD, samples=3)
    assert result.first_mismatch is None, result.first_mismatch.describe()
    assert result.mismatched_samples == 0 and len(result.run.outputs) == 3


@pytest.fixture(scope="module")
def zoo_tflite(tmp_path_factory):
    from tinyc.frontend.loader import load_model
    folder = tmp_path_factory.mktemp("zoo")

    def tflite(name: str) -> Path:
        path = folder / f"{name}.tflite"
        if not path.exists():
            path.write_bytes(load_model(REPO / "models" / f"{name}.py").tflite)
        return path
    return tflite


@needs_toolchain
@pytest.mark.emulator
@pytest.mark.parametrize("name", ["kws_dscnn", "tiny_resnet"])
def test_zoo_models_bit_exact_on_the_m55(name: str, zoo_tflite) -> None:
    """kws_dscnn: convolutions, depthwise convolutions, average pooling and a fully connected layer; tiny_resnet:
    residual ADDs. Both on the kernels the M55 gets (DSP, and Helium where tinyc has them)."""
    from tinyc.run.verify import verify
    result = verify(zoo_tflite(name), BOARD, samples=2)
    assert result.first_mismatch is None, result.first_mismatch.describe()
    assert result.mismatched_samples == 0 and len(result.run.outputs) == 2


@needs_toolchain
@pytest.mark.emulator
def test_bench_on_an547_counts_and_estimates_m55_cycles() -> None:
    """SysTick (32 MHz on the an547: 31.25 instructions a tick) and the translation-block log work on mps3-an547:
    the instruction count and the M55 estimate agree."""
    from tinyc.run.bench import bench
    result = bench(REPO / "tests" / "data" / "golden_tiny.tflite", BOARD, cycles=True)
    estimate = result.cycles
    assert result.instructions_per_tick == 31.25
    assert estimate is not None and estimate.flash is None  # no [flash.timing]: the zero-wait figure only
    assert "Cortex-M55" in estimate.core and "estimate" in estimate.core
    assert abs(estimate.instructions - result.instructions) <= 2 * result.instructions_per_tick
    assert estimate.cycles > 0 and estimate.instructions > 0
    assert result.as_json()["cycle_model"] == estimate.core


@pytest.mark.parametrize(("kind", "kwargs", "dsp", "helium"), [
    # KWS's first convolution (10x4 over 49x10x1, padding 4/1): four int8 columns of align16(40) on MVE
    ("conv", dict(input_nhwc=(1, 49, 10, 1), filter_hw=(10, 4), output_nhwc=(1, 25, 5, 64), stride_hw=(2, 2),
                  padding_hw=(4, 1)), 2 * 40 * 2, 4 * 48),
    ("conv", dict(input_nhwc=(1, 25, 5, 64), filter_hw=(1, 1), output_nhwc=(1, 25, 5, 64), stride_hw=(1, 1),
                  padding_hw=(0, 0)), 0, 0),  # 1x1: none on either
    # 3x3 depthwise: none on DSP (its 3x3 kernel), arm_depthwise_conv_s8_opt's 4 * 124 * 9 bytes on MVE
    ("depthwise", dict(input_nhwc=(1, 25, 5, 64), filter_hw=(3, 3), output_nhwc=(1, 25, 5, 64), stride_hw=(1, 1),
                       padding_hw=(1, 1)), 0, 4 * 124 * 9),
    ("fully_connected", dict(accum_depth=64, output_depth=12), 0, 48),  # the kernel sums on MVE
])
def test_the_helium_scratch_covers_cmsis_nn_mve(kind: str, kwargs: dict, dsp: int, helium: int) -> None:
    """A Cortex-M55 plan reserves the larger of CMSIS-NN v7.0.0's DSP and MVE scratch, so that the same plan runs
    its Helium kernels (tinyc bench --cmsis-nn)."""
    from tinyc.kernels import buffer_sizes
    size = getattr(buffer_sizes, f"{kind}_scratch_bytes")
    assert (size(**kwargs), size(**kwargs, helium=True)) == (dsp, max(dsp, helium))
    assert get_board(BOARD).helium and not get_board("stm32u575").helium


def test_the_m55_cycle_model_cuts_and_prices_helium_instructions() -> None:
    """QEMU's disassembler splits MVE instructions into wrong pieces (a VMLADAV `eef0 af24` is logged as `.byte` and
    an `add`): the block's halfwords are cut again, vector instructions priced by beats (2 cycles, 1 when they
    overlap one of the other group), the loop end LE as one cycle, the scalar ones by their names."""
    from tinyc.run.cycles import TIMING_TABLES, Block, VectorGroup, _block_cycles, split_block
    m55 = TIMING_TABLES["cortex-m55"]
    logged = [(0x100, 4, "ldc", "p14, c1, [r1], #0x40", (0xECB1, 0x1E10)),  # VLDRB.8 q0, [r1], #16
              (0x104, 2, ".byte", "0xf0, 0xee", (0xEEF0,)),  # VMLADAVA.S8 r10, q0, q2 ...
              (0x106, 2, "add", "r7, sp, #0x90", (0xAF24,)),  # ... its second halfword
              (0x108, 4, "ff24 4b40", "", (0xFF24, 0x4B40)),  # VQRDMULH.S32 (0xFF: vector data processing)
              (0x10C, 2, "adds", "r0, #4", (0x3004,)),
              (0x10E, 4, "le", "", (0xF00F, 0xC0A9))]  # LE lr, back
    addresses, sizes, insns = split_block(logged, m55)
    assert addresses == (0x100, 0x104, 0x108, 0x10C, 0x10E) and sizes == (4, 4, 4, 2, 4)
    assert [i.vector for i in insns] == [VectorGroup.MEMORY, VectorGroup.ARITHMETIC, VectorGroup.ARITHMETIC,
                                         VectorGroup.NONE, VectorGroup.NONE]
    block = Block(insns, 0x112, len(insns), addresses)
    assert _block_cycles(block, m55, taken=True) == 2 + 1 + 2 + 1 + 1  # load, overlapped MAC, multiply, add, LE


def test_helium_layouts() -> None:
    """The constant layouts tinyc_helium_conv.h and tinyc_helium_depthwise.h read, on small tables: per quad of
    output channels the record (starts with the input offset folded in and wrapped to int32, multipliers, left
    shifts, negated right shifts), then the int8 weights by chunks of 16 k (zero padded); the depthwise blocks with
    int32 weights by tap."""
    import numpy as np
    from tinyc.plan.specialize import (GemmLayer, helium_conv_blocks, helium_depthwise_layout, helium_records,
                                       helium_weights_layout)
    w = np.arange(5 * 20).reshape(5, 20) % 7 - 3  # 5 output channels, k = 20
    layer = GemmLayer(op_index=0, weights=w, bias=np.array([1, 2, 3, 4, 2**31 - 1]), multipliers=[11, 12, 13, 14, 15],
                      shifts=[-3, 2, 0, -1, -31], input_offset=5, output_offset=-1, act_min=-128, act_max=127)
    records = helium_records(layer).reshape(2, 4, 4)  # quad, field, channel
    starts = (layer.bias + 5 * w.sum(axis=1) + 2**31) % 2**32 - 2**31
    assert records[0, 0].tolist() == starts[:4].tolist() and records[1, 0, 0] == starts[4]
    assert records[0, 2].tolist() == [0, 2, 0, 0] and records[0, 3].tolist() == [-3, 0, 0, -1]
    assert records[1, 1].tolist() == [15, 0, 0, 0] and records[1, 3, 0] == -31
    weights = helium_weights_layout(w, 5, 20).reshape(2, 2, 4, 16)  # quad, chunk, channel, lane
    assert weights[0, 1, 2, :4].tolist() == w[2, 16:].tolist() and not weights[0, 1, :, 4:].any()
    assert weights[1, 0, 0].tolist() == w[4, :16].tolist() and not weights[1, :, 1:].any()
    blocks = helium_conv_blocks(layer).reshape(2, -1)
    assert blocks.shape == (2, 64 + 2 * 64)  # the record's 64 bytes, then 2 chunks of 64
    assert blocks[0, :64].view("<i4").tolist() == helium_records(layer)[:16].tolist()
    dw = np.arange(9 * 8, dtype=np.int64).reshape(9, 8) % 11 - 5  # taps x channels
    packed = helium_depthwise_layout(dw.reshape(-1), np.arange(32, dtype=np.int32), 8).reshape(2, 52)
    assert packed[1, :16].tolist() == list(range(16, 32))
    assert packed[1, 16:].reshape(9, 4)[3].tolist() == dw[3, 4:].tolist()
