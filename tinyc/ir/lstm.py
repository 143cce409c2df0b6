"""UNIDIRECTIONAL_SEQUENCE_LSTM (Keras `LSTM`): sizes, the converter's last-step slice, and every number of TFLite
Micro's integer LSTM (8-bit activations and weights, 16-bit gates and cell state, 32-bit biases).

TFLM's kernel (unidirectional_sequence_lstm / lstm_eval) runs, per time step and for each gate
g in (input, forget, cell, output):

    gate_g = act_g(sat16(FC16(x_t; W_g, bias_g) + FC16(h; R_g)))         act: sigmoid, or tanh for the cell gate

where FC16 is an int8 fully connected layer requantized to int16 at the fixed scale 2^-12 (Q3.12), and the
activations are TFLite's int16 interpolating logistic / tanh (256-entry `SIGMOID_TABLE_Q16`, output scale 2^-15).
Then, with int16 elementwise MULs requantized as TFLite's MUL:

    c = sat16(mul16(forget, c) + mul16(input, cell))  clipped to +-cell_clip when the model clips
    h = mul8(tanh16(c), output) + hidden zero point     (int8; also the step's output)

The hidden state starts at its zero point and the cell state at 0 at every inference: TFLM resets its variable
tensors on `Reset()`, which tinyc's reference comparison calls between samples; the firmware keeps both in
the call's scratch, so nothing persists between inferences.

This module computes, from the tensors' float32 scales exactly as TFLM's Prepare does, every multiplier and
shift, and folds the input zero point into the gate biases (the recurrent zero point into a second bias per gate),
so the C kernel (`tinyc_lstm_s8`, tinyc/kernels/tinyc/LSTMFunctions/tinyc_lstm_s8.c) only sums int8 products.
TFLM's integer path does not read the op's intermediate tensors (they only matter with layer normalization,
which tinyc refuses); neither does tinyc.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tinyc.ir.graph import Graph, LstmOptions, Op, SliceOptions, Tensor
from tinyc.ir.requant import _f32, fully_connected_multiplier, quantize_multiplier

GATES = ("input", "forget", "cell", "output")  # TFLite's order of the weights and biases
GATE_INPUT_SCALE = 2.0 ** -12  # the FC outputs: Q3.12, the int16 sigmoid / tanh input
GATE_OUTPUT_SCALE = 2.0 ** -15  # the int16 sigmoid / tanh output: Q0.15
GATE_ACTIVATION_MULTIPLIER = 3  # TFLM's int16 logistic / tanh for a Q3.12 input: x * 3, no shift
INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1
INT8_MIN, INT8_MAX = -128, 127

# TFLite's int16 sigmoid table: sigmoid(i / 24) in unsigned 0.16 fixed point, i = 0..255 (TFLite's
# kernels/internal/common.h). Its int16 LOGISTIC and TANH interpolate between neighbouring entries (tanh(x) =
# 2 sigmoid(2x) - 1). The entries are data, not a closed formula (44 of them differ by one from
# round(65536 sigmoid(i / 24))); tests/test_lstm.py reads every third entry back through TFLM's int16 TANH (the
# others are interpolated there) and runs saturating LSTMs against TFLM.
SIGMOID_TABLE_Q16 = (
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794, 41432, 42064, 42688,
    43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409,
    51865, 52311, 52745, 53169, 53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
    57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110,
    61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186,
    63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
    64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900,
    64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208,
    65221, 65234, 65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
    65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433, 65438, 65442, 65445, 65449,
    65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474, 65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491,
    65493, 65495, 65497, 65498, 65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
    65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524,
    65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530,
    65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535,
)
SIGMOID_TABLE_BIAS = 1 << 15  # every entry is >= 2^15: flash holds entry - 2^15 as int16


@dataclass(frozen=True)
class LstmSizes:
    batch: int
    time_steps: int
    features: int  # input values per step
    units: int  # state values


def lstm_sizes(graph: Graph, op: Op) -> LstmSizes:
    """Batch, steps, features and units, from the input (time-major or not) and the input-to-forget weights."""
    assert isinstance(op.options, LstmOptions)
    x = graph.tensor(op.inputs[0]).shape
    units = graph.tensor(op.inputs[2]).shape[0]  # input-to-forget weights (units, features): never absent
    batch, steps = (x[1], x[0]) if op.options.time_major else (x[0], x[1])
    return LstmSizes(batch=batch, time_steps=steps, features=x[2], units=units)


def is_last_step_slice(lstm: Op, slice_op: Op, tensors: tuple[Tensor, ...]) -> bool:
    """Keras' `LSTM(return_sequences=False)`: the converter emits the whole sequence, then a STRIDED_SLICE of the
    last time step ([:, -1, :] with the time axis shrunk, quantized as the sequence) of a batch-1, not time-major
    LSTM."""
    o, s = lstm.options, slice_op.options
    if not isinstance(o, LstmOptions) or not isinstance(s, SliceOptions) or o.time_major or len(slice_op.inputs) != 4:
        return False
    seq, y = tensors[lstm.outputs[0]], tensors[slice_op.outputs[0]]
    begin, end, strides = (tensors[i].data if i >= 0 else None for i in slice_op.inputs[1:4])
    if (begin is None or end is None or strides is None or len(seq.shape) != 3 or seq.shape[0] != 1
            or (s.shrink_axis_mask, s.ellipsis_mask, s.new_axis_mask, s.offset) != (2, 0, 0, False)):
        return False
    b, e, st = (np.asarray(v).reshape(-1).tolist() for v in (begin, end, strides))
    first = [0 if s.begin_mask >> k & 1 else v + seq.shape[k] if v < 0 else v for k, v in enumerate(b)]
    return (len(b) == len(e) == len(st) == 3 and st == [1, 1, 1] and first == [0, seq.shape[1] - 1, 0]
            and y.shape == (seq.shape[0], seq.shape[2]) and (y.quant, y.dtype) == (seq.quant, seq.dtype))


@dataclass(frozen=True)
class LstmParams:
    """The scalars of tinyc_lstm_s8 (struct tinyc_lstm_params); per-gate multipliers and shifts are arrays."""
    time_steps: int
    features: int
    units: int
    last_step_only: int  # 1: the output is the last step's hidden state (return_sequences=False)
    hidden_zero_point: int  # the hidden state's (= output's) zero point: its reset value and MUL output offset
    gate_multiplier: int  # the sigmoid / tanh input scaling of a Q3.12 gate: x * 3
    forget_multiplier: int  # forget gate (Q0.15) x cell state -> cell state
    forget_shift: int
    input_multiplier: int  # input gate (Q0.15) x cell gate (Q0.15) -> cell state
    input_shift: int
    output_multiplier: int  # tanh(cell) (Q0.15) x output gate (Q0.15) -> hidden state (int8)
    output_shift: int
    cell_clip: int  # quantized clip of the cell state; 0 = no clip
    cell_tanh_multiplier: int  # tanh(cell): (c * multiplier + round) >> shift brings the cell to Q3.12 x 3
    cell_tanh_shift: int


@dataclass(frozen=True)
class LstmConstants:
    """Everything in flash: int8 weights (input-to-gate i, f, c, o, each units x features; then recurrent i, f, c,
    o, each units x units; each matrix in `row_quads` order), int32 biases (per gate, with the input zero point
    folded in; then per gate the recurrent zero point's term), the 8 FC multipliers and shifts in the same order,
    the sigmoid table."""
    weights: np.ndarray
    bias: np.ndarray
    multiplier: np.ndarray
    shift: np.ndarray
    table: np.ndarray


ROW_QUAD = 4  # rows of a gate matrix tinyc_lstm_s8 reads together
GROUP = 4  # columns of one row per SMLAD pair of words


def row_quads(matrix: np.ndarray) -> np.ndarray:
    """A gate's units x n int8 matrix in tinyc_lstm_s8's order: each quad of rows (0-3, 4-7, ...) as its groups of
    four columns, the quad's four rows side by side per group (16 bytes: row 0's four, row 1's, row 2's, row 3's),
    then the quad's rows' last n % 4 columns, row by row; the rows after the last whole quad row by row. The kernel
    reads a group of the quad's four rows with one pointer (its inner loop then keeps every value in a register)."""
    rows, n = matrix.shape
    whole, groups = rows // ROW_QUAD * ROW_QUAD, n // GROUP * GROUP
    parts = []
    for q in range(0, whole, ROW_QUAD):
        quad = matrix[q:q + ROW_QUAD]
        parts.append(quad[:, :groups].reshape(ROW_QUAD, -1, GROUP).transpose(1, 0, 2).reshape(-1))
        parts.append(quad[:, groups:].reshape(-1))
    parts.append(matrix[whole:].reshape(-1))
    return np.concatenate(parts).astype(np.int8)


def _wrap_int32(values: np.ndarray) -> np.ndarray:
    """C's int32 sums wrap; so do the folded biases."""
    return ((values.astype(np.int64) + (1 << 31)) % (1 << 32) - (1 << 31)).astype(np.int32)


def _mul_params(scale1: float, scale2: float, output_scale: float) -> tuple[int, int]:
    """TFLM's CreateInterGateMulParams: the float scales' product and quotient in double."""
    return quantize_multiplier(float(scale1) * float(scale2) / float(output_scale))


def cell_scale_power(cell_scale: float) -> int:
    """TFLite's CheckedLog2: log2 of the cell state's scale, in float32, rounded (halves away from zero)."""
    log2 = np.float32(math.log(np.float32(cell_scale))) * np.float32(1.0 / np.float32(math.log(np.float32(2.0))))
    return int(math.copysign(math.floor(abs(float(log2)) + 0.5), float(log2)))


def quantized_cell_clip(cell_clip: float, cell_scale: float) -> int:
    """TFLM's CreateLstmCellStateInfo: clip / scale in double, limited to int16, truncated; 0 when not clipping."""
    if not cell_clip > 0:
        return 0
    return int(min(max(float(cell_clip) / float(cell_scale), -32768.0), 32767.0))


def cell_tanh_scaling(power: int) -> tuple[int, int]:
    """TFLM's Tanh(cell_state_scale_power) on the cell: (multiplier, right shift) of the int16 tanh's input."""
    left_shift = 15 + power - 3
    if left_shift < 0:
        return GATE_ACTIVATION_MULTIPLIER, -left_shift
    return GATE_ACTIVATION_MULTIPLIER << left_shift, 0  # the power-of-two case


def lstm_constants_and_params(graph: Graph, op: Op) -> tuple[LstmParams, LstmConstants]:
    """Every number of TFLM's integer LSTM for this op (see the module docstring)."""
    o = op.options
    assert isinstance(o, LstmOptions)
    sizes = lstm_sizes(graph, op)
    x, hidden, cell = graph.tensor(op.inputs[0]), graph.tensor(o.hidden_state), graph.tensor(o.cell_state)
    input_weights = [graph.tensor(op.inputs[1 + g]) for g in range(4)]
    recurrent_weights = [graph.tensor(op.inputs[5 + g]) for g in range(4)]
    biases = [graph.tensor(op.inputs[9 + g]) for g in range(4)]
    weights = np.concatenate([row_quads(np.asarray(w.data, dtype=np.int8).reshape(sizes.units, -1))
                              for w in (*input_weights, *recurrent_weights)])
    folded = []
    for w, b in zip(input_weights, biases):
        rows = np.asarray(w.data, dtype=np.int64).sum(axis=1)
        folded.append(np.asarray(b.data, dtype=np.int64).reshape(-1) - x.zero_point * rows)
    for w in recurrent_weights:
        folded.append(-hidden.zero_point * np.asarray(w.data, dtype=np.int64).sum(axis=1))
    fc = [fully_connected_multiplier(x.scale, w.scale, GATE_INPUT_SCALE) for w in input_weights]
    fc += [fully_connected_multiplier(hidden.scale, w.scale, GATE_INPUT_SCALE) for w in recurrent_weights]
    forget = _mul_params(GATE_OUTPUT_SCALE, cell.scale, cell.scale)
    inp = _mul_params(GATE_OUTPUT_SCALE, GATE_OUTPUT_SCALE, cell.scale)
    out = _mul_params(GATE_OUTPUT_SCALE, GATE_OUTPUT_SCALE, hidden.scale)
    tanh_multiplier, tanh_shift = cell_tanh_scaling(cell_scale_power(cell.scale))
    params = LstmParams(
        time_steps=sizes.time_steps, features=sizes.features, units=sizes.units,
        last_step_only=0 if o.return_sequences else 1, hidden_zero_point=hidden.zero_point,
        gate_multiplier=GATE_ACTIVATION_MULTIPLIER, forget_multiplier=forget[0], forget_shift=forget[1],
        input_multiplier=inp[0], input_shift=inp[1], output_multiplier=out[0], output_shift=out[1],
        cell_clip=quantized_cell_clip(_f32(o.cell_clip), cell.scale), cell_tanh_multiplier=tanh_multiplier,
        cell_tanh_shift=tanh_shift)
    constants = LstmConstants(
        weights=weights, bias=_wrap_int32(np.concatenate(folded)),
        multiplier=np.asarray([m for m, _ in fc], dtype=np.int32), shift=np.asarray([s for _, s in fc], dtype=np.int32),
        table=np.asarray([v - SIGMOID_TABLE_BIAS for v in SIGMOID_TABLE_Q16], dtype=np.int16))
    return params, constants


def lstm_scratch_bytes(features: int, units: int) -> int:
    """tinyc_lstm_s8's scratch (TINYC_LSTM_SCRATCH_BYTES): the step's input and the hidden state as int16 pairs for
    SMLAD (8 bytes per whole group of 4 values), the int16 cell state and four int16 gate vectors, the int8 hidden
    state."""
    return (features // 4 + units // 4) * 8 + units * (5 * 2 + 1)
