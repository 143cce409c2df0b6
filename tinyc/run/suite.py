"""One Renode suite case: the real-board firmware of a planned model with its generated `renode-test` suite, which
expects the checksum of the reference verify uses, run headless.

Where both reference interpreters abort on a model's final SOFTMAX (a 1000-class softmax over near-equal logits),
the suite is generated for the model up to its logits, as `tinyc.run.verify` checks it; no other crash is hidden.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinyc.boards import BoardRef
from tinyc.codegen.render import Harness
from tinyc.plan.pipeline import Planned
from tinyc.plan.search import ScheduleOptions
from tinyc.run.compare import reference_outputs
from tinyc.run.emulators import Emulator
from tinyc.run.firmware import build_firmware
from tinyc.run.oracle import OracleCrash
from tinyc.run.renode import RenodeFiles, RobotResult, run_renode_test, write_renode_files
from tinyc.run.verify import samples_per_build, up_to_logits


@dataclass(frozen=True)
class SuiteRun:
    files: RenodeFiles
    robot: RobotResult
    up_to_logits: bool  # the suite checks the model without its final SOFTMAX (both references abort on it)
    samples: int  # embedded in the suite's firmware: as many of the inputs as the part's flash leaves room for


def run_suite(planned: Planned, board: BoardRef, inputs: list[np.ndarray], folder: Path, *,
              options: ScheduleOptions = ScheduleOptions()) -> SuiteRun:
    """Build the real-board firmware of `planned` (or of its model up to the logits) in `folder`, write its `.resc`
    and `.robot` beside the ELF and run the suite, its results in `folder/robot-results`. The firmware embeds the
    first of `inputs` that fit the part's flash beside the model (at least one). Raises `OracleCrash` when the
    reference cannot run even the logits."""
    inputs = inputs[:samples_per_build(planned, Emulator.RENODE, int(inputs[0].size))]
    suite_model = planned
    try:  # the reference verify uses: TFLM on the native ops of folded chains, else BUILTIN_REF
        reference = reference_outputs(planned, inputs).outputs
    except OracleCrash:
        logits = up_to_logits(planned, board, options)
        if logits is None:
            raise
        suite_model, reference = logits, reference_outputs(logits, inputs).outputs
    build = build_firmware(suite_model, folder / "firmware", inputs, harness=Harness.BOARD_UART)
    files = write_renode_files(build.folder, suite_model.board, model_name=planned.loaded.source.name,
                               reference=reference, macs=suite_model.lowered.macs)
    robot = run_renode_test(files.robot, folder / "robot-results")
    return SuiteRun(files=files, robot=robot, up_to_logits=suite_model is not planned, samples=len(inputs))
