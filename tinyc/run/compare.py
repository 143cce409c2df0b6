"""Comparison with the reference: which interpreter is the reference, byte-for-byte comparison of every sample's
output, and of every op's output tensor (from a traced build) with TFLite Micro's intermediate tensors.

Used by every kind of verify (`tinyc verify`, `verify --dataset`). The reference is TFLite Micro's interpreter;
where it aborts, LiteRT's BUILTIN_REF kernels, said loudly in a note; never LiteRT's optimized kernels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinyc.ir.lower import LoweredModel, SoftmaxCall
from tinyc.plan.pipeline import Planned
from tinyc.run.oracle import OracleCrash, litert_ref_outputs, tflm_outputs, tflm_tensors, with_native_ops

# TFLite's reference int8 SOFTMAX checks that a row's exponentials, in units of the row maximum's,
# sum to less than 2**9, and aborts otherwise (measured: 512 equal logits pass, 513 abort).
SOFTMAX_REFERENCE_ROW_LIMIT = 512
TFLM = "tflite-micro"
LITERT_REF = "litert-builtin-ref"


def reference_crash_hint(lowered: LoweredModel) -> str:
    """A known cause of the reference interpreters aborting, when the model has it."""
    rows = [c.row_size for c in lowered.calls if isinstance(c, SoftmaxCall)]
    if rows and max(rows) > SOFTMAX_REFERENCE_ROW_LIMIT:
        return (f" (known cause: a SOFTMAX over {max(rows)} classes; TFLite's reference int8 softmax aborts when "
                f"more than {SOFTMAX_REFERENCE_ROW_LIMIT} logits are close to the maximum, as with random weights "
                "or random inputs)")
    return ""


@dataclass(frozen=True)
class Reference:
    outputs: list[np.ndarray]
    name: str  # TFLM, or LITERT_REF where TFLM itself crashed
    notes: tuple[str, ...] = ()


def tflm_model(planned: Planned) -> tuple[bytes, tuple[str, ...]]:
    """The flatbuffer TFLite Micro runs as the reference, and a note when it is not the model file itself: the
    converter's chains that tinyc folds become the native ops they stand for (`tinyc.run.oracle.with_native_ops`)."""
    native = with_native_ops(planned.loaded.tflite)
    return native if native is not None else (planned.loaded.tflite, ())


def reference_outputs(planned: Planned, inputs: list[np.ndarray]) -> Reference:
    """TFLite Micro's outputs; LiteRT's BUILTIN_REF where TFLM aborts (with a note); `OracleCrash` if both abort."""
    model, notes = tflm_model(planned)
    try:
        return Reference(tflm_outputs(model, inputs), TFLM, notes)
    except OracleCrash as crash:
        try:
            outputs = litert_ref_outputs(model, inputs)
        except OracleCrash:
            raise OracleCrash(f"{crash}, and so did LiteRT's BUILTIN_REF interpreter: the firmware ran "
                              f"but cannot be compared{reference_crash_hint(planned.lowered)}") from None
        return Reference(outputs, LITERT_REF,
                         (f"{crash}; compared with LiteRT's BUILTIN_REF reference kernels instead",))


@dataclass(frozen=True)
class OpDivergence:
    """The first op (in schedule order) whose output tensor differs from TFLite Micro's."""
    op_index: int
    op_name: str
    tensor_name: str
    index: int
    got: int
    expected: int

    def describe(self) -> str:
        return (f"op {self.op_index} ({self.op_name}), tensor {self.tensor_name!r} index {self.index}: "
                f"got {self.got}, expected {self.expected}")


@dataclass(frozen=True)
class OpCheck:
    """Every traced op's output for one sample against TFLite Micro's intermediate tensors."""
    ops_compared: int
    divergence: OpDivergence | None


def compare_ops(planned: Planned, sample: np.ndarray, traces: tuple[tuple[int, np.ndarray], ...]) -> OpCheck:
    """Each traced op output (per-layer ops, and each patch stage's output) against TFLite Micro's tensor."""
    calls = {c.op_index: c for c in planned.lowered.calls}
    expected = tflm_tensors(tflm_model(planned)[0], sample, [calls[i].output for i, _ in traces])
    for op_index, got in traces:
        call = calls[op_index]
        want = expected[call.output][:got.size]
        diff = np.nonzero(got != want)[0]
        if diff.size:
            i = int(diff[0])
            return OpCheck(len(traces), OpDivergence(op_index, call.kind.value, planned.graph.tensor(call.output).name,
                                                     i, int(got[i]), int(want[i])))
    return OpCheck(len(traces), None)


@dataclass(frozen=True)
class Mismatch:
    """A differing output byte (index, got, expected), or, where every output byte matched, an op whose
    intermediate output differs (index None): either fails verify."""
    sample: int
    index: int | None
    got: int | None
    expected: int | None
    op: OpDivergence | None  # first diverging op, when the trace could name it

    def describe(self) -> str:
        if self.index is None:
            assert self.op is not None
            return (f"sample {self.sample}: every output byte equals the reference's, but an intermediate tensor "
                    f"differs: first diverging {self.op.describe()}")
        where = f"sample {self.sample}, output byte {self.index}: got {self.got}, expected {self.expected}"
        return where if self.op is None else f"{where}; first diverging {self.op.describe()}"


@dataclass(frozen=True)
class Comparison:
    samples: int
    mismatched_samples: int
    mismatched_bytes: int
    first: Mismatch | None


def compare_outputs(got: list[np.ndarray] | tuple[np.ndarray, ...], reference: list[np.ndarray]) -> Comparison:
    """Every output byte of every sample, `==`."""
    bad = [(s, np.nonzero(g != w)[0]) for s, (g, w) in enumerate(zip(got, reference, strict=True))]
    bad = [(s, d) for s, d in bad if d.size]
    first = None
    if bad:
        s, d = bad[0]
        i = int(d[0])
        first = Mismatch(s, i, int(got[s][i]), int(reference[s][i]), None)
    return Comparison(samples=len(reference), mismatched_samples=len(bad),
                      mismatched_bytes=int(sum(d.size for _, d in bad)), first=first)


# Outputs this close to the int8 limits, or the same for every sample, prove little when they match.
SATURATED_FRACTION = 0.9


def output_warnings(outputs: list[np.ndarray] | tuple[np.ndarray, ...], *, softmax: bool = False) -> tuple[str, ...]:
    """Loud notes when the final outputs cannot tell a right firmware from a wrong one. A SOFTMAX output is -128 for
    every unlikely class by design, so saturation is not a warning there."""
    notes: list[str] = []
    if len(outputs) > 1 and all(np.array_equal(outputs[0], o) for o in outputs[1:]):
        notes.append(f"WARNING: the model's output is the same for all {len(outputs)} samples; equal final outputs "
                     "prove little here (the per-op comparison of the traced sample is what checks this model)")
    flat = np.concatenate([np.asarray(o).reshape(-1) for o in outputs]) if outputs else np.zeros(0, np.int8)
    saturated = int(np.count_nonzero((flat == -128) | (flat == 127)))
    if flat.size and not softmax and saturated >= SATURATED_FRACTION * flat.size:
        notes.append(f"WARNING: {saturated} of {flat.size} output bytes are saturated at -128 or 127; equal final "
                     "outputs prove little here (the per-op comparison of the traced sample is what checks this model)")
    return tuple(notes)
