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
- `stage`: everything stays in flash, but before a specialized convolution whose layouts are read again and again
  (at least STAGE_MIN_MACS_PER_BYTE MACs per byte) runs, its weights and requantization records are copied into
  one SRAM buffer as large as the largest layer's (a static array, not the arena): the copy reads each flash line
  once, the kernel's tiles then read SRAM. The SRAM cost is one layer's layouts, not the model's.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from tinyc.boards import Board
from tinyc.errors import PlanError
from tinyc.ir.lower import ConstArray
from tinyc.plan.schedule import Schedule
from tinyc.plan.specialize import KernelChoice, Variant


class ConstantsPolicy(enum.Enum):
    FLASH = "flash"
    SRAM = "sram"
    AUTO = "auto"
    STAGE = "stage"


STAGE_MIN_MACS_PER_BYTE = 8  # below this a convolution's layouts are read too few times to be worth a copy
STAGE_ALIGN_BYTES = 8


def _stage_slot(array: ConstArray) -> int:
    """The bytes an array takes in the stage buffer (rounded up to STAGE_ALIGN_BYTES)."""
    return -(-array.size_bytes // STAGE_ALIGN_BYTES) * STAGE_ALIGN_BYTES


def stage_layout(arrays: Sequence[ConstArray]) -> tuple[tuple[ConstArray, int], ...]:
    """Where each of a step's staged arrays goes in the stage buffer (8-byte aligned offsets)."""
    offsets = []
    at = 0
    for a in arrays:
        offsets.append((a, at))
        at += _stage_slot(a)
    return tuple(offsets)


def stage_bytes(arrays: Sequence[ConstArray]) -> int:
    return sum(_stage_slot(a) for a in arrays)


@dataclass(frozen=True)
class ConstantsPlacement:
    """The constants copied to SRAM at start-up (by C name), and why. `sram_bytes` counts what the optimized kernels
    read (`in_sram` also names the generic arrays those replace, for the portable and Arm CMSIS-NN builds)."""
    policy: ConstantsPolicy = ConstantsPolicy.FLASH
    in_sram: frozenset[str] = frozenset()
    sram_bytes: int = 0
    total_bytes: int = 0  # every constant's bytes, wherever it lives
    reason: str = ""
    staged: frozenset[str] = frozenset()  # `stage`: the arrays copied into the stage buffer before their step
    stage_bytes: int = 0  # the stage buffer (counted in sram_bytes)

    def describe(self) -> str:
        if self.policy is ConstantsPolicy.FLASH:
            return "constants in flash (--constants flash)"
        if self.policy is ConstantsPolicy.STAGE:
            return (f"constants in flash; {len(self.staged)} arrays of the convolutions that read them most copied "
                    f"into a {self.stage_bytes:,} B SRAM buffer before their layer runs (--constants stage): {self.reason}")
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
    budget = free - int(headroom_fraction * board.sram.size_bytes)  # what `auto` and `stage` may take
    if policy is ConstantsPolicy.STAGE:
        return _staged(schedule, kernels, total, budget, headroom_fraction)
    if policy is ConstantsPolicy.SRAM:
        if total > free:
            raise PlanError(f"--constants sram: the model's constants need {total:,} B of SRAM and {board.name} has "
                            f"{max(free, 0):,} B left beside the arena, stack and statics ({total - free:,} B short); "
                            "--constants auto moves the ones read most that fit")
        return ConstantsPlacement(policy=policy, in_sram=_with_generic(frozenset(a.name for a, _ in arrays), schedule,
                                                                       kernels), sram_bytes=total,
                                  total_bytes=total, reason="all of them")
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
    in_sram = _with_generic(frozenset(a.name for a in chosen), schedule, kernels)
    return ConstantsPlacement(policy=policy, in_sram=in_sram, sram_bytes=used, total_bytes=total, reason=reason)


def staged_steps(schedule: Schedule, kernels: Sequence[KernelChoice]) -> list[tuple[ConstArray, ...]]:
    """The layouts `stage` would copy, per step that reads them often enough (else an empty tuple)."""
    out: list[tuple[ConstArray, ...]] = []
    for step, choice in zip(schedule.steps, kernels):
        fast = choice.variant is Variant.FAST_CONV and bool(choice.consts)
        arrays: tuple[ConstArray, ...] = (choice.weights, choice.quant) if fast else ()
        read = sum(a.size_bytes for a in arrays)
        out.append(arrays if arrays and step.call.macs >= STAGE_MIN_MACS_PER_BYTE * read else ())
    return out


def _staged(schedule: Schedule, kernels: Sequence[KernelChoice], total: int, budget: int,
            headroom_fraction: float) -> ConstantsPlacement:
    per_step = [a for a in staged_steps(schedule, kernels) if a]
    fits = [a for a in per_step if stage_bytes(a) <= budget]
    size = max((stage_bytes(a) for a in fits), default=0)
    left = len(per_step) - len(fits)
    reason = (f"{len(fits)} layers staged" + (f", {left} larger than the SRAM left with {headroom_fraction:.0%} free"
                                              if left else ""))
    return ConstantsPlacement(policy=ConstantsPolicy.STAGE, staged=frozenset(a.name for arrays in fits for a in arrays),
                              stage_bytes=size, sram_bytes=size, total_bytes=total, reason=reason)


__all__ = ["ConstantsPolicy", "ConstantsPlacement", "STAGE_MIN_MACS_PER_BYTE", "place_constants", "stage_bytes",
           "stage_layout", "staged_steps", "step_arrays"]
