/*
 * tinyc_lstm_s8: int8 UNIDIRECTIONAL_SEQUENCE_LSTM (Keras LSTM), bit-exact with TFLite Micro's integer LSTM
 * (8-bit activations and weights, int16 gates and cell state, int32 biases). Every number comes from
 * tinyc/ir/lstm.py; depends on no CMSIS-NN header.
 */
#ifndef TINYC_LSTM_H
#define TINYC_LSTM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Arguments of tinyc_lstm_s8 (tinyc.ir.lstm.LstmParams). */
typedef struct
{
    int32_t time_steps, features, units;
    int32_t last_step_only;    /* 1: write only the last step's hidden state (return_sequences=False) */
    int32_t hidden_zero_point; /* the hidden state's reset value and its MUL's output offset */
    int32_t gate_multiplier;   /* int16 sigmoid / tanh input of a Q3.12 gate: x * gate_multiplier */
    int32_t forget_multiplier, forget_shift; /* forget gate x cell state -> cell state */
    int32_t input_multiplier, input_shift;   /* input gate x cell gate -> cell state */
    int32_t output_multiplier, output_shift; /* tanh(cell) x output gate -> hidden state */
    int32_t cell_clip;                       /* |cell| <= cell_clip; 0: no clip */
    int32_t cell_tanh_multiplier, cell_tanh_shift; /* tanh(cell) input: (c * multiplier + round) >> shift */
} tinyc_lstm_params;

/** Bytes of tinyc_lstm_s8's scratch (tinyc.ir.lstm.lstm_scratch_bytes): the step's input and hidden state as int16
 *  pairs (whole groups of 4), the int16 cell state and 4 gate vectors, the int8 hidden state. */
#define TINYC_LSTM_SCRATCH_BYTES(features, units) (((features) / 4 + (units) / 4) * 8 + (units) * 11)

/**
 * One batch-1 sequence through an int8 LSTM, as TFLM's lstm_eval: per step, each gate g in (input, forget, cell,
 * output) is act(sat16(requant16(W_g x_t + bias_g) + requant16(R_g h + rbias_g))) with TFLite's int16
 * interpolating sigmoid (tanh for the cell gate); then c = sat16(mul(forget, c) + mul(input, cell)) (clipped),
 * h = mul(tanh(c), output) + zero point (int8), written as the step's output.
 * weights: input-to-gate i, f, c, o (units x features each), then recurrent i, f, c, o (units x units each).
 * bias: 8 x units int32: per gate the bias minus input zero point x row sum, then per gate minus hidden zero
 * point x row sum. multiplier, shift: the 8 FC requantizations in the same order. table: TFLite's 256-entry
 * sigmoid table minus 32768. scratch: TINYC_LSTM_SCRATCH_BYTES(features, units), 4-byte aligned. The state starts at zero
 * (hidden: its zero point) on every call. output: time_steps x units, or units when last_step_only.
 */
void tinyc_lstm_s8(const int8_t *input,
                   const int8_t *weights,
                   const int32_t *bias,
                   const int32_t *multiplier,
                   const int32_t *shift,
                   const int16_t *table,
                   const tinyc_lstm_params *params,
                   int16_t *scratch,
                   int8_t *output);

#ifdef __cplusplus
}
#endif

#endif /* TINYC_LSTM_H */
