"""Verify: build the firmware, run it in an emulator, and compare it with TFLite Micro byte for byte.

Every sample's final output is compared; the first sample also runs traced, so that every op's output tensor
(each patch stage's output in patch schedules) is compared with TFLite Micro's intermediate tensors
(`every_op`, on by default; `--outputs-only` turns it off). A mismatch names the first diverging op.
"""

from __future__ import annotations

from typing import Any

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tinyc.progress import Step, step
from tinyc.boards import Board, BoardRef
from tinyc.codegen.target import emulator_target
from tinyc.errors import EmulatorError
from tinyc.ir.lower import SoftmaxCall
from tinyc.ir.reader import without_final_softmax
from tinyc.plan.pipeline import Planned, input_samples, plan_loaded, plan_model
from tinyc.plan.report import MemoryReport
from tinyc.plan.search import ScheduleOptions
from tinyc.run.build import BuildResult
from tinyc.run.compare import (TFLM, Comparison, Mismatch, OpCheck, Reference, compare_ops, compare_outputs,
                               output_warnings, reference_outputs, tflm_model)
from tinyc.run.emulators import Emulator, EmulatorChoice, build_and_run
from tinyc.run.oracle import OracleCrash, SecondOpinion, second_opinion
from tinyc.run.protocol import RunResult

# The real-board build keeps its samples in the part's flash; leave this much for alignment and the harness.
BOARD_FLASH_MARGIN_BYTES = 4096
MAX_BATCH_SAMPLES = 512  # per firmware build: bounds the emulator run time and the size of the generated C

# (stage, done, total), e.g. ("firmware", 64, 450)
Progress = Callable[[str, int, int], None]


def silent(stage: str, done: int, total: int) -> None:
    pass


def samples_per_build(planned: Planned, emulator: Emulator, sample_bytes: int) -> int:
    """How many input samples one firmware build can embed: QEMU builds keep them in the emulator's test-data
    region after the board's flash; a real-board build (Renode) in what the part's flash leaves free."""
    if emulator is Emulator.QEMU:
        room = emulator_target(planned.board).testdata_bytes
    else:
        room = planned.board.flash.size_bytes - planned.report.flash_bytes - BOARD_FLASH_MARGIN_BYTES
    return max(1, min(MAX_BATCH_SAMPLES, room // sample_bytes))


@dataclass(frozen=True)
class FirmwareRuns:
    """The firmware's outputs for every input, over as many builds as the embedded samples need."""
    build: BuildResult  # the last build
    run: RunResult  # outputs of every sample; traces of the first sample when traced
    batches: int


def run_firmware(planned: Planned, inputs: list[np.ndarray], folder: Path, *, emulator: Emulator,
                 cmsis_nn: Path | None, trace_first: bool, max_batch_samples: int | None = None,
                 progress: Progress = silent) -> FirmwareRuns:
    per_build = samples_per_build(planned, emulator, int(inputs[0].size))
    if max_batch_samples is not None:
        per_build = min(per_build, max_batch_samples)
    outputs: list[np.ndarray] = []
    traces: tuple[tuple[int, np.ndarray], ...] = ()
    stack_bytes, batches = 0, 0
    progress("firmware", 0, len(inputs))
    for start in range(0, len(inputs), per_build):  # as many builds as the embedded samples need
        batch = inputs[start:start + per_build]
        result, run = build_and_run(emulator, planned, folder, batch, cmsis_nn=cmsis_nn,
                                    trace=trace_first and start == 0)
        if len(run.outputs) != len(batch):
            raise EmulatorError(f"{run.emulator}: printed {len(run.outputs)} outputs for {len(batch)} samples")
        outputs.extend(run.outputs)
        traces = traces or run.traces
        stack_bytes, batches = max(stack_bytes, run.stack_used_bytes), batches + 1
        progress("firmware", start + len(batch), len(inputs))
    return FirmwareRuns(build=result, run=replace(run, outputs=tuple(outputs), traces=traces,
                                                  stack_used_bytes=stack_bytes), batches=batches)


def localize(planned: Planned, inputs: list[np.ndarray], runs: FirmwareRuns, outputs: Comparison,
             op_check: OpCheck | None, folder: Path, *, emulator: Emulator, cmsis_nn: Path | None) -> Mismatch | None:
    """The first failure, with the first diverging op: from the traced first sample, or a traced rebuild of the
    first mismatching sample."""
    first = outputs.first
    if first is None:
        if op_check is not None and op_check.divergence is not None:
            return Mismatch(0, None, None, None, op_check.divergence)
        return None
    if op_check is not None and first.sample == 0:
        return replace(first, op=op_check.divergence)
    _, traced = build_and_run(emulator, planned, folder, [inputs[first.sample]], cmsis_nn=cmsis_nn, trace=True)
    return replace(first, op=compare_ops(planned, inputs[first.sample], traced.traces).divergence)


@dataclass(frozen=True)
class VerifyResult:
    planned: Planned
    build: BuildResult
    run: RunResult
    reference: str  # "tflite-micro", or "litert-builtin-ref" where TFLM itself crashed
    samples: int
    mismatched_samples: int
    mismatched_bytes: int
    first_mismatch: Mismatch | None  # a differing output byte, or an op whose output differs
    ops_compared: int | None  # op outputs of the traced sample compared with TFLite Micro's (None: outputs only)
    second_opinion: SecondOpinion | None
    report: MemoryReport
    choice: EmulatorChoice | None = None  # how the emulator was chosen (tinyc.verify / the CLI's --emulator)

    def as_json(self) -> dict[str, Any]:
        return {"board": self.planned.board.name, "emulator": self.run.emulator, "reference": self.reference,
                **self.planned.loaded.conversion_json(), "samples": self.samples,
                "mismatches": self.mismatched_samples, "mismatched_bytes": self.mismatched_bytes,
                "first_mismatch": self.first_mismatch.describe() if self.first_mismatch else None,
                "ops_compared": self.ops_compared,
                "stack_used_bytes": self.run.stack_used_bytes,
                "litert_builtin_ref_differing_bytes": self.second_opinion.differing_bytes if self.second_opinion else None,
                "litert_builtin_ref_max_abs_diff": self.second_opinion.max_abs_diff if self.second_opinion else None,
                "report": self.report.as_json(), **choice_json(self.choice)}


def choice_json(choice: EmulatorChoice | None) -> dict[str, str]:
    return {} if choice is None else {"emulator_used": choice.emulator.value, "emulator_reason": choice.reason}


def verify(model_path: Path, board_name: BoardRef, *, samples: int, folder: Path | None = None,
           cmsis_nn: Path | None = None, seed: int = 0, options: ScheduleOptions = ScheduleOptions(),
           emulator: Emulator = Emulator.QEMU, every_op: bool = True, calibration: Path | None = None) -> VerifyResult:
    """Plan `model_path` for `board_name`, then `verify_model`."""
    planned = plan_model(model_path, board_name, options=options, calibration=calibration)
    return verify_model(planned, samples=samples, folder=folder, cmsis_nn=cmsis_nn, seed=seed, emulator=emulator,
                        every_op=every_op)


def verify_model(planned: Planned, *, samples: int, folder: Path | None = None, cmsis_nn: Path | None = None,
                 seed: int = 0, emulator: Emulator = Emulator.QEMU, every_op: bool = True) -> VerifyResult:
    """Build, run in the emulator and compare every output byte (and, with `every_op`, every op's output for the
    first sample) with the reference. Where both reference interpreters abort and the model ends in a SOFTMAX,
    everything up to the logits is verified instead."""
    inputs = input_samples(planned, samples, seed=seed)
    try:
        return verify_planned(planned, inputs, folder=folder, cmsis_nn=cmsis_nn, emulator=emulator, every_op=every_op)
    except OracleCrash as crash:
        logits = up_to_logits(planned, planned.board, planned.options)
        if logits is None:
            raise
        result = verify_planned(logits, inputs, folder=folder, cmsis_nn=cmsis_nn, emulator=emulator,
                                every_op=every_op)
        note = (f"{crash}. Verified instead: the same model without its final SOFTMAX, i.e. every op up to the "
                "logits, byte for byte; the softmax kernel itself is checked against TFLite Micro by the kernel tests")
        return replace(result, reference=f"{result.reference} (up to the final SOFTMAX)",
                       report=replace(result.report, notes=(*result.report.notes, note)))


def up_to_logits(planned: Planned, board_name: BoardRef | Board, options: ScheduleOptions) -> Planned | None:
    """`planned`'s model without its final SOFTMAX (its logits are the output), planned for the same board; None when
    the model does not end in one. What is verified where both reference interpreters abort on the softmax."""
    prefix = without_final_softmax(planned.loaded.tflite)
    if prefix is None:
        return None
    return plan_loaded(replace(planned.loaded, tflite=prefix, output_layer=None), board_name, options=options)


def verify_planned(planned: Planned, inputs: list[np.ndarray], *, folder: Path | None, cmsis_nn: Path | None,
                   emulator: Emulator, every_op: bool = True) -> VerifyResult:
    with tempfile.TemporaryDirectory(prefix="tinyc-verify-") as tmp:
        work = folder or Path(tmp) / "firmware"
        runs = run_firmware(planned, inputs, work, emulator=emulator, cmsis_nn=cmsis_nn, trace_first=every_op)
        with step(Step.REFERENCE, f"TFLite Micro on {len(inputs)} sample{'s' if len(inputs) != 1 else ''} of "
                                  f"{planned.loaded.name}"):
            reference: Reference = reference_outputs(planned, inputs)
            outputs = compare_outputs(runs.run.outputs, reference.outputs)
            # TFLite Micro's intermediate tensors are the per-op reference; where it aborts, outputs only (noted).
            op_check = (compare_ops(planned, inputs[0], runs.run.traces) if every_op and reference.name == TFLM
                        else None)
        first = localize(planned, inputs, runs, outputs, op_check, Path(tmp) / "trace", emulator=emulator,
                         cmsis_nn=cmsis_nn)
    softmax = bool(planned.lowered.calls) and isinstance(planned.lowered.calls[-1], SoftmaxCall)
    notes = (*planned.loaded.notes, *reference.notes, *output_warnings(runs.run.outputs, softmax=softmax))
    report = planned.measured_report(runs.build.sizes, notes=notes, measured_stack_bytes=runs.run.stack_used_bytes)
    return VerifyResult(planned=planned, build=runs.build, run=runs.run, reference=reference.name,
                        samples=len(inputs), mismatched_samples=outputs.mismatched_samples,
                        mismatched_bytes=outputs.mismatched_bytes, first_mismatch=first,
                        ops_compared=op_check.ops_compared if op_check else None,
                        second_opinion=_second_opinion(planned, inputs, reference), report=report)


def _second_opinion(planned: Planned, inputs: list[np.ndarray], reference: Reference) -> SecondOpinion | None:
    with step(Step.REFERENCE, f"LiteRT's BUILTIN_REF kernels on {planned.loaded.name} (second opinion)"):
        return second_opinion(tflm_model(planned)[0], inputs, reference.outputs)  # the model the reference ran
