"""The cycle estimate's timing tables (tinyc/run/cycles.py) by instruction class; no emulator."""

from __future__ import annotations

from tinyc.run.cycles import TIMING_TABLES, Block, _block_cycles, classify

M4 = TIMING_TABLES["cortex-m4"]


def test_classes_of_the_cortex_m4_table() -> None:
    assert classify("smlad", "r0, r1, r2, r0", M4).cost == 1
    assert classify("ldrd", "r0, r1, [r2], #8", M4).cost == 3
    assert classify("ldr.w", "r3, [r2, #0xd88]", M4).load_store
    assert classify("push", "{r4, r5, r6, lr}", M4).cost == 5
    assert classify("pop", "{r4, r5, pc}", M4).cost == 1 + 3 + 2  # registers, then the pipeline refill
    assert classify("stmia", "r0!, {r1-r4}", M4).cost == 5
    assert classify("bne", "#0x1234", M4).taken_extra == 2
    assert classify("sdiv", "r0, r1, r2", M4).cost == 7


def test_loads_pipeline_and_taken_branches_refill() -> None:
    load = classify("ldr", "r0, [r1]", M4)
    branch = classify("bne", "#0x100", M4)
    block = Block((load, load, load, classify("adds", "r0, #1", M4), branch), end=0x200, count=5)
    assert _block_cycles(block, M4, taken=False) == 2 + 1 + 1 + 1 + 1
    assert _block_cycles(block, M4, taken=True) == 6 + 2
