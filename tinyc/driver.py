"""The whole pipeline, top to bottom: model file → graph → kernel calls → plan → C → ELF → emulator → comparison."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from tinyc.boards import Board, get_board
from tinyc.build import BuildResult, build, write_project
from tinyc.codegen import emulator_target, render_project
from tinyc.emulators import Emulator, build_and_run
from tinyc.errors import DoesNotFitError, EmulatorError
from tinyc.graph import Graph
from tinyc.loader import LoadedModel, load_model
from tinyc.lower import LoweredModel, SoftmaxCall, lower
from tinyc.oracle import OracleCrash, SecondOpinion, litert_ref_outputs, second_opinion, tflm_outputs, tflm_tensors
from tinyc.planner import MemoryPlan
from tinyc.qemu import RunResult, run_qemu
from tinyc.reader import name_output, read_tflite, without_final_softmax
from tinyc.report import MemoryReport, memory_report
from tinyc.schedule import Schedule
from tinyc.search import ScheduleOptions, choose_schedule
from tinyc.verify_plan import verify_plan

@dataclass(frozen=True)
class Planned:
    loaded: LoadedModel
    graph: Graph
    lowered: LoweredModel
    schedule: Schedule
    plan: MemoryPlan
    board: Board
    report: MemoryReport


def plan_model(model_path: Path, board_name: str, *, options: ScheduleOptions = ScheduleOptions()) -> Planned:
    """Front end, lowering, scheduling and planning, with every stage's check; no toolchain needed."""
    get_board(board_name)  # an unknown board is refused before the model is built
    return plan_loaded(load_model(model_path), board_name, options=options)


def plan_loaded(loaded: LoadedModel, board_name: str, *, options: ScheduleOptions = ScheduleOptions()) -> Planned:
    """Lowering, scheduling and planning of an already loaded model."""
    board = get_board(board_name)
    graph = name_output(read_tflite(loaded.tflite), loaded.output_layer)
    lowered = lower(graph)
    choice = choose_schedule(lowered, board, options)
    schedule, plan = choice.schedule, choice.plan
    verify_plan(schedule, plan)
    report = memory_report(schedule, plan, board, model_name=loaded.name, notes=loaded.notes,
                           schedule_json=choice.as_json())
    return Planned(loaded=loaded, graph=graph, lowered=lowered, schedule=schedule, plan=plan, board=board,
                   report=report)


def input_samples(planned: Planned, count: int, *, seed: int = 0) -> list[np.ndarray]:
    """int8 inputs: the model's representative data (quantized) first, then seeded random bytes."""
    x = planned.graph.tensor(planned.lowered.input)
    samples: list[np.ndarray] = []
    module = planned.loaded.module
    representative = getattr(module, "representative_dataset", None) if module else None
    if callable(representative):
        for batch in representative():
            if len(samples) == count:
                break
            real = np.asarray(batch[0], dtype=np.float32).reshape(x.shape)
            q = np.round(real / np.float32(x.scale)) + x.zero_point
            samples.append(np.clip(q, -128, 127).astype(np.int8))
    rng = np.random.default_rng(seed)
    while len(samples) < count:
        samples.append(rng.integers(-128, 128, size=x.shape).astype(np.int8))
    return samples


def build_firmware(planned: Planned, folder: Path, samples: list[np.ndarray], *, cmsis_nn: Path | None = None,
                   trace: bool = False) -> BuildResult:
    if not planned.report.fits:
        raise DoesNotFitError(f"{planned.loaded.source.name}: {planned.report.verdict()}")
    files = render_project(planned.schedule, planned.plan, emulator_target(planned.board),
                           model_name=planned.loaded.source.name, samples=[s.reshape(-1) for s in samples],
                           cmsis_nn_dir=cmsis_nn)
    write_project(files, folder)
    return build(folder, make_args=("EXTRA_CFLAGS=-DTINYC_TRACE",) if trace else ())


@dataclass(frozen=True)
class Mismatch:
    sample: int
    index: int
    got: int
    expected: int
    op_index: int | None  # first diverging op, when the trace could name it
    op_name: str
    tensor_name: str
    tensor_index_in_op: int | None
    tensor_got: int | None
    tensor_expected: int | None

    def describe(self) -> str:
        where = f"sample {self.sample}, output byte {self.index}: got {self.got}, expected {self.expected}"
        if self.op_index is None:
            return where
        return (f"{where}; first diverging op {self.op_index} ({self.op_name}), tensor {self.tensor_name!r} "
                f"index {self.tensor_index_in_op}: got {self.tensor_got}, expected {self.tensor_expected}")


@dataclass(frozen=True)
class VerifyResult:
    planned: Planned
    build: BuildResult
    run: RunResult
    reference: str  # "tflite-micro", or "litert-builtin-ref" where TFLM itself crashed
    samples: int
    mismatched_samples: int
    mismatched_bytes: int
    first_mismatch: Mismatch | None
    second_opinion: SecondOpinion | None
    report: MemoryReport

    def as_json(self) -> dict:
        return {"board": self.planned.board.name, "emulator": self.run.emulator, "reference": self.reference,
                "samples": self.samples,
                "mismatches": self.mismatched_samples, "mismatched_bytes": self.mismatched_bytes,
                "first_mismatch": self.first_mismatch.describe() if self.first_mismatch else None,
                "stack_used_bytes": self.run.stack_used_bytes,
                "litert_builtin_ref_differing_bytes": self.second_opinion.differing_bytes if self.second_opinion else None,
                "litert_builtin_ref_max_abs_diff": self.second_opinion.max_abs_diff if self.second_opinion else None,
                "report": self.report.as_json()}


def _first_diverging_op(planned: Planned, sample: np.ndarray, folder: Path, cmsis_nn: Path | None) -> tuple:
    """Rebuild with TINYC_TRACE for one sample and compare every op's output with TFLM's tensors."""
    result = build_firmware(planned, folder, [sample], cmsis_nn=cmsis_nn, trace=True)
    run = run_qemu(planned.board, result.elf)
    calls = {c.op_index: c for c in planned.lowered.calls}
    expected = tflm_tensors(planned.loaded.tflite, sample, [calls[i].output for i, _ in run.traces])
    for op_index, got in run.traces:
        call = calls[op_index]
        want = expected[call.output][:got.size]
        diff = np.nonzero(got != want)[0]
        if diff.size:
            i = int(diff[0])
            return op_index, call.kind.value, planned.graph.tensor(call.output).name, i, int(got[i]), int(want[i])
    return None, "", "", None, None, None


# TFLite's reference int8 SOFTMAX checks that a row's exponentials, in units of the row maximum's,
# sum to less than 2**9, and aborts otherwise (measured: 512 equal logits pass, 513 abort).
SOFTMAX_REFERENCE_ROW_LIMIT = 512


def reference_crash_hint(lowered: LoweredModel) -> str:
    """A known cause of the reference interpreters aborting, when the model has it."""
    rows = [c.row_size for c in lowered.calls if isinstance(c, SoftmaxCall)]
    if rows and max(rows) > SOFTMAX_REFERENCE_ROW_LIMIT:
        return (f" (known cause: a SOFTMAX over {max(rows)} classes; TFLite's reference int8 softmax aborts when "
                f"more than {SOFTMAX_REFERENCE_ROW_LIMIT} logits are close to the maximum, as with random weights "
                "or random inputs)")
    return ""


# The real-board build keeps its samples in the part's flash; leave this much for alignment and the harness.
BOARD_FLASH_MARGIN_BYTES = 4096


def samples_per_build(planned: Planned, emulator: Emulator, sample_bytes: int) -> int:
    """How many input samples one firmware build can embed: QEMU builds keep them in the emulator's test-data
    region after the board's flash; a real-board build (Renode) in what the part's flash leaves free."""
    if emulator is Emulator.QEMU:
        room = emulator_target(planned.board).testdata_bytes
    else:
        room = planned.board.flash.size_bytes - planned.report.flash_bytes - BOARD_FLASH_MARGIN_BYTES
    return max(1, room // sample_bytes)


def verify(model_path: Path, board_name: str, *, samples: int, folder: Path | None = None,
           cmsis_nn: Path | None = None, seed: int = 0, options: ScheduleOptions = ScheduleOptions(),
           emulator: Emulator = Emulator.QEMU) -> VerifyResult:
    """Build, run in the emulator and compare every output byte with the reference. Where both reference
    interpreters abort and the model ends in a SOFTMAX, everything up to the logits is verified instead."""
    planned = plan_model(model_path, board_name, options=options)
    inputs = input_samples(planned, samples, seed=seed)
    try:
        return _verify_planned(planned, inputs, folder=folder, cmsis_nn=cmsis_nn, emulator=emulator)
    except OracleCrash as crash:
        prefix = without_final_softmax(planned.loaded.tflite)
        if prefix is None:
            raise
        logits = plan_loaded(replace(planned.loaded, tflite=prefix, output_layer=None), board_name, options=options)
        result = _verify_planned(logits, inputs, folder=folder, cmsis_nn=cmsis_nn, emulator=emulator)
        note = (f"{crash}. Verified instead: the same model without its final SOFTMAX, i.e. every op up to the "
                "logits, byte for byte; the softmax kernel itself is checked against TFLite Micro by the kernel tests")
        return replace(result, reference=f"{result.reference} (up to the final SOFTMAX)",
                       report=replace(result.report, notes=(*result.report.notes, note)))


def _verify_planned(planned: Planned, inputs: list[np.ndarray], *, folder: Path | None, cmsis_nn: Path | None,
                    emulator: Emulator) -> VerifyResult:
    notes = planned.loaded.notes
    with tempfile.TemporaryDirectory(prefix="tinyc-verify-") as tmp:
        work = folder or Path(tmp) / "firmware"
        per_build = samples_per_build(planned, emulator, inputs[0].size)
        outputs: list[np.ndarray] = []
        stack_bytes = 0
        for start in range(0, len(inputs), per_build):  # as many builds as the embedded samples need
            batch = inputs[start:start + per_build]
            result, run = build_and_run(emulator, planned, work, batch, cmsis_nn=cmsis_nn)
            if len(run.outputs) != len(batch):
                raise EmulatorError(f"{run.emulator}: printed {len(run.outputs)} outputs for {len(batch)} samples")
            outputs.extend(run.outputs)
            stack_bytes = max(stack_bytes, run.stack_used_bytes)
        run = replace(run, outputs=tuple(outputs), stack_used_bytes=stack_bytes)
        try:
            reference, reference_name = tflm_outputs(planned.loaded.tflite, inputs), "tflite-micro"
        except OracleCrash as crash:
            # The stated fallback: LiteRT's reference kernels (never its optimized ones), said loudly.
            try:
                reference, reference_name = litert_ref_outputs(planned.loaded.tflite, inputs), "litert-builtin-ref"
            except OracleCrash:
                raise OracleCrash(f"{crash}, and so did LiteRT's BUILTIN_REF interpreter: the firmware ran "
                                  f"but cannot be compared{reference_crash_hint(planned.lowered)}") from None
            notes = (*notes, f"{crash}; compared with LiteRT's BUILTIN_REF reference kernels instead")
        bad = [(s, np.nonzero(got != want)[0]) for s, (got, want) in enumerate(zip(run.outputs, reference))]
        bad = [(s, d) for s, d in bad if d.size]
        first = None
        if bad:
            s, d = bad[0]
            i = int(d[0])
            op = _first_diverging_op(planned, inputs[s], Path(tmp) / "trace", cmsis_nn)
            first = Mismatch(s, i, int(run.outputs[s][i]), int(reference[s][i]), *op)
    report = memory_report(planned.schedule, planned.plan, planned.board, model_name=planned.loaded.name,
                           sizes=result.sizes, notes=notes, measured_stack_bytes=run.stack_used_bytes,
                           schedule_json=planned.report.schedule_json)
    return VerifyResult(planned=planned, build=result, run=run, reference=reference_name, samples=len(inputs),
                        mismatched_samples=len(bad),
                        mismatched_bytes=int(sum(d.size for _, d in bad)), first_mismatch=first,
                        second_opinion=second_opinion(planned.loaded.tflite, inputs, reference), report=report)
