"""Where the model's constants live: in flash (the default), or copied to SRAM at start-up.

Weights, biases, requantization parameters and the specialized kernels' layouts are read-only, so they live in
flash, and every read that misses the flash accelerator's small caches waits for the flash's wait states (5 on the
STM32L4R5 at 120 MHz; tinyc/run/flash.py models them). Most boards have far more SRAM than a model's arena needs;
a constant placed there is linked into `.data` (its load image stays in flash, the start-up code copies it once,
as for any initialized variable) and the kernels read it at zero wait states. The flash does not shrink, the SRAM
grows by the bytes moved: the memory report shows both.

- `flash`: every constant in flash (the default: the application keeps the SRAM).
- `sram`: every constant in SRAM; refused, with the bytes short, when they do not fit beside the arena.
- `auto`: the constants read most per byte first (the MACs of the steps that read an array, per byte of it: a
  convolution's weights are read again for every tile of pixels, a fully connected layer's once), while the
  board keeps the same share of its SRAM free as the default schedule objective does.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from tinyc.boards import Board
from tinyc.errors import PlanError
from tinyc.ir.lower import ConstArray
from tinyc.plan.schedule import Schedule
from tinyc.plan.specialize import KernelChoice


class ConstantsPolicy(enum.Enum):
    FLASH = "flash"
    SRAM = "sram"
    AUTO = "auto"


@dataclass(frozen=True)
class ConstantsPlacement:
    """The constants copied to SRAM at start-up (by C name), and why. `sram_bytes` counts what the optimized kernels
    read (`in_sram` also names the generic arrays those replace, for the portable and Arm CMSIS-NN builds)."""
    policy: ConstantsPolicy = ConstantsPolicy.FLASH
    in_sram: frozenset[str] = frozenset()
    sram_bytes: int = 0
    total_bytes: int = 0  # every constant's bytes, wherever it lives
    reason: str = ""

    def describe(self) -> str:
        if self.policy is ConstantsPolicy.FLASH:
            return "constants in flash (--constants flash)"
        return (f"{self.sram_bytes:,} of {self.total_bytes:,} B, copied to SRAM at "
                f"start-up (--constants {self.policy.value}): {self.reason}")


def step_arrays(schedule: Schedule, kernels: Sequence[KernelChoice]) -> list[tuple[ConstArray, int]]:
    """Every constant array the optimized kernels read, once, with the MACs of the steps that read it (a specialized
    step reads its layouts, not the generic call's arrays; patch steps share their op's arrays)."""
    arrays: dict[str, ConstArray] = {}
    macs: dict[str, int] = {}
    for step, choice in zip(schedule.steps, kernels):
        for a in choice.consts or step.call.consts:
            arrays.setdefault(a.name, a)
            macs[a.name] = macs.get(a.name, 0) + step.call.macs
    return [(a, macs[name]) for name, a in arrays.items()]


def _with_generic(names: frozenset[str], schedule: Schedule, kernels: Sequence[KernelChoice]) -> frozenset[str]:
    """`names` and, for a specialized step whose layouts are among them, the generic call's arrays: a portable or
    Arm CMSIS-NN build (bench's comparisons) reads those instead, from the same memory; the optimized build does not
    reference them, and the linker drops them (each array has a section of its own)."""
    extra = {a.name for step, choice in zip(schedule.steps, kernels)
             if choice.consts and any(c.name in names for c in choice.consts) for a in step.call.consts}
    return names | extra


def place_constants(schedule: Schedule, kernels: Sequence[KernelChoice], board: Board, *, policy: ConstantsPolicy,
                    sram_used_bytes: int, headroom_fraction: float) -> ConstantsPlacement:
    """Choose the arrays copied to SRAM. `sram_used_bytes`: arena, stack and statics (the memory report's peak
    without constants); `headroom_fraction`: the share of the board's SRAM `auto` leaves free."""
    arrays = step_arrays(schedule, kernels)
    total = sum(a.size_bytes for a, _ in arrays)
    if policy is ConstantsPolicy.FLASH or not arrays:
        return ConstantsPlacement(policy=policy, total_bytes=total, reason="no constants" if not arrays else "")
    free = board.sram.size_bytes - sram_used_bytes
    if policy is ConstantsPolicy.SRAM:
        if total > free:
            raise PlanError(f"--constants sram: the model's constants need {total:,} B of SRAM and {board.name} has "
                            f"{max(free, 0):,} B left beside the arena, stack and statics ({total - free:,} B short); "
                            "--constants auto moves the ones read most that fit")
        return ConstantsPlacement(policy=policy, in_sram=_with_generic(frozenset(a.name for a, _ in arrays), schedule,
                                                                       kernels), sram_bytes=total,
                                  total_bytes=total, reason="all of them")
    budget = free - int(headroom_fraction * board.sram.size_bytes)
    chosen: list[ConstArray] = []
    used = 0
    # the most MACs per byte first; ties by name, so the choice is the same run to run
    for a, m in sorted(arrays, key=lambda am: (-am[1] / max(am[0].size_bytes, 1), am[0].name)):
        if used + a.size_bytes <= budget:
            chosen.append(a)
            used += a.size_bytes
    if len(chosen) == len(arrays):
        reason = f"all of them, leaving {headroom_fraction:.0%} of the board's SRAM free"
    else:
        reason = (f"the ones read most per byte that leave {headroom_fraction:.0%} of the board's SRAM free "
                  f"({total - used:,} B stay in flash)")
    return ConstantsPlacement(policy=policy, in_sram=_with_generic(frozenset(a.name for a in chosen), schedule, kernels),
                              sram_bytes=used,
                              total_bytes=total, reason=reason)


__all__ = ["ConstantsPolicy", "ConstantsPlacement", "place_constants", "step_arrays"]
