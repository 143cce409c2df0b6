"""Mutation test of verify itself: a check that cannot fail is a defect.

For every op with constants of a few models, one bias word of that op is changed in the generated
`model_weights.c`; the traced firmware must then differ from TFLite Micro, and the per-op comparison that
`tinyc verify` runs by default must name exactly that op as the first diverging one (an op inside a patch stage:
the stage's output op, the first tensor of the stage that is complete and traced).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import REPO, needs_toolchain
from test_random_models import random_model
from tinyc.plan.pipeline import Planned, input_samples, plan_model
from tinyc.plan.specialize import Variant
from tinyc.run.build import build
from tinyc.run.compare import compare_ops
from tinyc.run.firmware import build_firmware
from tinyc.run.qemu import run_qemu

pytestmark = [needs_toolchain, pytest.mark.emulator, pytest.mark.slow]

BOARD = "stm32f412"
# Added to or taken from one bias word: large enough to move that output channel past any rounding.
DELTAS = (1 << 20, -(1 << 20))


def bias_array(planned: Planned, op_index: int) -> str | None:
    """The array holding the op's bias in the build: the generic call's, or for a specialized kernel its per-channel
    records (tinyc/plan/specialize.py), whose first word is channel 0's bias with the input offset folded in."""
    call = next(c for c in planned.lowered.calls if c.op_index == op_index)
    names = [a.name for a in call.consts if a.ctype == "int32_t" and a.name.endswith("_bias")]
    if not names:
        return None
    for step, choice in zip(planned.schedule.steps, planned.kernels):
        if step.call.op_index == op_index and choice.variant in (Variant.FAST_CONV, Variant.FAST_FC,
                                                                 Variant.FAST_DEPTHWISE):
            return choice.quant.name
    return names[0]


def mutate(text: str, array: str, delta: int) -> str:
    """The weights source with the first value of `tinyc_<array>` changed by `delta`."""
    pattern = re.compile(rf"(tinyc_{re.escape(array)}\[\d+\][^=]*= \{{\s*)(-?\d+)")
    mutated, count = pattern.subn(lambda m: f"{m.group(1)}{int(m.group(2)) + delta}", text, count=1)
    assert count == 1, f"array tinyc_{array} not found in model_weights.c"
    return mutated


def check_mutations(planned: Planned, folder: Path) -> dict[int, str]:
    """For each op with a bias: the op the per-op comparison named (or why none), with that bias mutated."""
    sample = input_samples(planned, 1)[0]
    result = build_firmware(planned, folder, [sample], trace=True)
    clean = compare_ops(planned, sample, run_qemu(planned.board, result.elf).traces)
    assert clean.divergence is None and clean.ops_compared > 0  # the unmutated firmware is bit-exact
    weights = folder / "model_weights.c"
    original = weights.read_text()
    named: dict[int, str] = {}
    ops = sorted({c.op_index for c in planned.lowered.calls if bias_array(planned, c.op_index)})
    for op_index in ops:
        array = bias_array(planned, op_index)
        assert array is not None
        named[op_index] = "no divergence for either sign"
        for delta in DELTAS:
            weights.write_text(mutate(original, array, delta))
            traced = run_qemu(planned.board, build(folder, make_args=result.make_args).elf).traces
            divergence = compare_ops(planned, sample, traced).divergence
            if divergence is not None:
                named[op_index] = f"op {divergence.op_index}"
                break
    weights.write_text(original)
    return named


@pytest.mark.parametrize("model", ["tiny_mbv2", "kws_dscnn", "random_7"])
def test_verify_names_every_mutated_op(model: str, tmp_path: Path, tflite_of) -> None:
    if model.startswith("random_"):
        seed = int(model.split("_")[1])
        path = tflite_of(model, lambda: random_model(seed))
    else:
        path = REPO / "models" / f"{model}.py"
    planned = plan_model(path, BOARD)
    named = check_mutations(planned, tmp_path / "firmware")
    assert len(named) >= 3, named
    # Ops of a patch stage are compared through the stage's output (traced after its last patch).
    traced = sorted({s.call.op_index for s in planned.schedule.steps if s.trace_tensor is not None})
    assert named == {op: f"op {min(t for t in traced if t >= op)}" for op in named}
