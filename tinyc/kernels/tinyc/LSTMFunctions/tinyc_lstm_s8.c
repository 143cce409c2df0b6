/*
 * tinyc_lstm_s8 (see tinyc_lstm.h). The integer primitives below restate TFLite's arithmetic (they are private
 * to this file, as the portable kernels keep theirs in tinyc_support.h):
 *   requantize  MultiplyByQuantizedMultiplier (rounding doubling high multiply, then rounding right shift);
 *   sigmoid16   TFLite's int16 logistic: |x| split into a table index (x >> 9) and a 9-bit fraction, linear
 *               interpolation between two entries, the negative half mirrored as 1 - sigmoid(|x|);
 *   tanh16      the same table read at twice the rate (x >> 8, 8-bit fraction) as 2 sigmoid(2x) - 1.
 */
#include "tinyc_lstm.h"

#define TINYC_LSTM_INT16_MIN (-32768)
#define TINYC_LSTM_INT16_MAX 32767
#define TINYC_LSTM_TABLE_BIAS 32768u /* table[i] + TINYC_LSTM_TABLE_BIAS: sigmoid(i / 24) in unsigned Q0.16 */

static int32_t lstm_clamp(const int32_t value, const int32_t low, const int32_t high)
{
    return value < low ? low : (value > high ? high : value);
}

/* One requantization (TFLite's MultiplyByQuantizedMultiplier, no single rounding), its shifts and rounding terms
 * computed once per call: x << left_shift, SaturatingRoundingDoublingHighMul by multiplier, RoundingDivideByPOT. */
typedef struct
{
    int32_t multiplier;
    int32_t left_shift;
    int32_t right_shift;
    int32_t mask;      /* 2^right_shift - 1 */
    int32_t threshold; /* mask / 2: a remainder above it (above it + 1 for a negative value) rounds up */
} lstm_requant;

static lstm_requant lstm_requant_of(const int32_t multiplier, const int32_t shift)
{
    lstm_requant q;
    q.multiplier = multiplier;
    q.left_shift = shift > 0 ? shift : 0;
    q.right_shift = shift > 0 ? 0 : -shift;
    q.mask = (int32_t)(((int64_t)1 << q.right_shift) - 1);
    q.threshold = q.mask >> 1;
    return q;
}

/* TFLite's SaturatingRoundingDoublingHighMul(a, b) = (a*b + nudge) / 2^31 truncated, nudge = 2^30 for a*b >= 0 and
 * 1 - 2^30 otherwise: for every product that is floor((a*b + 2^30) / 2^31), one 64-bit add and shift. Its one
 * saturating case, a = b = INT32_MIN, cannot occur: tinyc's multipliers lie in [2^30, 2^31) or are 0. Then
 * RoundingDivideByPOT: value / 2^right_shift, halves away from zero. (int32 wrap-around of x << left_shift.) */
static inline __attribute__((always_inline)) int32_t lstm_requantize(const int32_t value, const lstm_requant q)
{
    const int32_t shifted = (int32_t)((uint32_t)value << q.left_shift);
    const int32_t high = (int32_t)(((int64_t)shifted * q.multiplier + ((int64_t)1 << 30)) >> 31);
    const int32_t remainder = high & q.mask;
    const int32_t threshold = q.threshold + (high < 0 ? 1 : 0);
    return (high >> q.right_shift) + (remainder > threshold ? 1 : 0);
}

static uint32_t lstm_table(const int16_t *table, const uint32_t index)
{
    return (uint32_t)((int32_t)table[index] + (int32_t)TINYC_LSTM_TABLE_BIAS);
}

/* Sigmoid of a scaled int16 input x (x = gate * 3 for a Q3.12 gate); Q0.15 output. */
static int16_t lstm_sigmoid16(const int32_t x, const int16_t *table)
{
    const uint32_t magnitude = (uint32_t)(x < 0 ? -x : x);
    const uint32_t index = magnitude >> 9;
    uint32_t value;
    if (index >= 255u)
    {
        value = 0x7FFFu << 10;
    }
    else
    {
        const uint32_t low = lstm_table(table, index);
        const uint32_t high = lstm_table(table, index + 1u);
        value = (low << 9) + (magnitude & 0x1FFu) * (high - low);
    }
    value = x >= 0 ? value + (1u << 9) : (1u << 25) - value + (1u << 9) - 1u;
    return (int16_t)(value >> 10);
}

/* Tanh of a scaled int16 input x; Q0.15 output. */
static int16_t lstm_tanh16(const int32_t x, const int16_t *table)
{
    const uint32_t magnitude = (uint32_t)(x < 0 ? -x : x);
    const uint32_t index = magnitude >> 8;
    int32_t value;
    if (index >= 255u)
    {
        value = (int32_t)(0xFFFFu << 8);
    }
    else
    {
        const uint32_t low = lstm_table(table, index);
        const uint32_t high = lstm_table(table, index + 1u);
        value = (int32_t)((low << 8) + (magnitude & 0xFFu) * (high - low));
    }
    value = x >= 0 ? value - (1 << 23) + (1 << 7) : -value + (1 << 23) + (1 << 7) - 1;
    return (int16_t)(value >> 8);
}

#if defined(__ARM_FEATURE_DSP) && !defined(TINYC_PORTABLE_KERNELS)
#include <arm_acle.h>
#include <string.h>
#define TINYC_LSTM_DSP 1

static inline __attribute__((always_inline)) int32_t lstm_load_word(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof(v)); /* LDR: ARMv7-M allows unaligned word loads */
    return v;
}

static inline __attribute__((always_inline)) int32_t lstm_sxtb16_ror8(const int32_t v)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}
#else
#define TINYC_LSTM_DSP 0
#endif

/* Each group of 4 int8 of v as two int16 pairs in SXTB16's lane order: (v0, v2), (v1, v3); the tail (n % 4) is
 * read as int8 by lstm_dot. */
static void lstm_pack(const int8_t *v, const int32_t n, int32_t *pairs)
{
#if TINYC_LSTM_DSP
    for (int32_t k = 0; k + 4 <= n; k += 4)
    {
        const int32_t word = lstm_load_word(v + k);
        pairs[k / 2] = __sxtb16(word);
        pairs[k / 2 + 1] = lstm_sxtb16_ror8(word);
    }
#else
    (void)v;
    (void)n;
    (void)pairs;
#endif
}

/* sum(w[k] * v[k]) over n int8 pairs (the zero points are folded into the bias); `pairs` is v packed by lstm_pack.
 * Integer sums wrap, so any order gives TFLM's int32 result. */
static inline __attribute__((always_inline)) int32_t lstm_dot(const int8_t *w, const int8_t *v, const int32_t *pairs, const int32_t n)
{
    int32_t acc = 0;
    int32_t k = 0;
#if TINYC_LSTM_DSP
    const int8_t *wp = w;
    const int32_t *pp = pairs;
    for (; k + 8 <= n; k += 8) /* two groups of 4 per iteration */
    {
        const int32_t word0 = lstm_load_word(wp);
        const int32_t word1 = lstm_load_word(wp + 4);
        acc = __smlad(__sxtb16(word0), pp[0], acc);
        acc = __smlad(lstm_sxtb16_ror8(word0), pp[1], acc);
        acc = __smlad(__sxtb16(word1), pp[2], acc);
        acc = __smlad(lstm_sxtb16_ror8(word1), pp[3], acc);
        wp += 8;
        pp += 4;
    }
    if (k + 4 <= n)
    {
        const int32_t word = lstm_load_word(wp);
        acc = __smlad(__sxtb16(word), pp[0], acc);
        acc = __smlad(lstm_sxtb16_ror8(word), pp[1], acc);
        k += 4;
    }
#else
    (void)pairs;
#endif
    for (; k < n; k++)
    {
        acc += (int32_t)w[k] * (int32_t)v[k];
    }
    return acc;
}

/* The sums of four rows with the same vector (their `n`-byte rows stored as one quad, tinyc.ir.lstm.row_quads):
 * per group of four columns 16 bytes, the rows' four bytes side by side, then the rows' last n % 4 bytes row by
 * row. Each packed pair is loaded once for the four rows and one pointer walks the quad. */
static inline __attribute__((always_inline)) void lstm_dot4(const int8_t *quad, const int8_t *v, const int32_t *pairs,
                                                            const int32_t n, int32_t *acc)
{
    int32_t a0 = 0;
    int32_t a1 = 0;
    int32_t a2 = 0;
    int32_t a3 = 0;
    const int32_t whole = n & ~(int32_t)3;
#if TINYC_LSTM_DSP
    const int8_t *wp = quad;
    const int32_t *pp = pairs;
    for (int32_t groups = n >> 2; groups > 0; groups--)
    {
        const int32_t even = pp[0];
        const int32_t odd = pp[1];
        const int32_t word0 = lstm_load_word(wp);
        const int32_t word1 = lstm_load_word(wp + 4);
        a0 = __smlad(__sxtb16(word0), even, a0);
        a0 = __smlad(lstm_sxtb16_ror8(word0), odd, a0);
        a1 = __smlad(__sxtb16(word1), even, a1);
        a1 = __smlad(lstm_sxtb16_ror8(word1), odd, a1);
        const int32_t word2 = lstm_load_word(wp + 8);
        const int32_t word3 = lstm_load_word(wp + 12);
        a2 = __smlad(__sxtb16(word2), even, a2);
        a2 = __smlad(lstm_sxtb16_ror8(word2), odd, a2);
        a3 = __smlad(__sxtb16(word3), even, a3);
        a3 = __smlad(lstm_sxtb16_ror8(word3), odd, a3);
        pp += 2;
        wp += 16;
    }
#else
    (void)pairs;
    for (int32_t k = 0; k < whole; k += 4)
    {
        const int8_t *group = quad + 4 * k;
        for (int32_t i = 0; i < 4; i++)
        {
            const int32_t x = v[k + i];
            a0 += (int32_t)group[i] * x;
            a1 += (int32_t)group[4 + i] * x;
            a2 += (int32_t)group[8 + i] * x;
            a3 += (int32_t)group[12 + i] * x;
        }
    }
#endif
    const int32_t rest = n - whole;
    const int8_t *tail = quad + 4 * whole;
    for (int32_t i = 0; i < rest; i++)
    {
        const int32_t x = v[whole + i];
        a0 += (int32_t)tail[i] * x;
        a1 += (int32_t)tail[rest + i] * x;
        a2 += (int32_t)tail[2 * rest + i] * x;
        a3 += (int32_t)tail[3 * rest + i] * x;
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* Saturate to int16: SSAT where the core has it (ARMv7-M), else a compare. (arm_acle.h's __ssat converts through
 * unsigned inside its macro, which -Wsign-conversion rejects: the instruction itself, as tinyc_dsp_support.h does.) */
static inline __attribute__((always_inline)) int32_t lstm_sat16(const int32_t value)
{
#if defined(__ARM_FEATURE_SAT) && !defined(TINYC_PORTABLE_KERNELS)
    int32_t saturated;
    __asm__("ssat %0, #16, %1" : "=r"(saturated) : "r"(value));
    return saturated;
#else
    return lstm_clamp(value, TINYC_LSTM_INT16_MIN, TINYC_LSTM_INT16_MAX);
#endif
}

/* The gate's input to its sigmoid / tanh from its two FC sums (bias included): each requantized to Q3.12 and
 * saturated to int16, their saturated sum times the activation's input scaling. */
static inline __attribute__((always_inline)) int32_t lstm_gate_input(const int32_t from_input_acc,
                                                                     const int32_t from_state_acc,
                                                                     const lstm_requant from_input_q,
                                                                     const lstm_requant from_state_q,
                                                                     const int32_t gate_multiplier)
{
    const int32_t from_input = lstm_sat16(lstm_requantize(from_input_acc, from_input_q));
    const int32_t from_state = lstm_sat16(lstm_requantize(from_state_acc, from_state_q));
    return lstm_sat16(from_input + from_state) * gate_multiplier;
}

/* One gate's `units` values for this step (TFLM's CalculateLstmGate): the input and recurrent FC sums four rows
 * (one quad) at a time, the rows after the last quad one by one, then the activation (tanh for the cell gate,
 * sigmoid otherwise). */
static void lstm_gate(const int8_t *w, const int8_t *r, const int32_t *b, const int32_t *rb, const int8_t *x,
                      const int32_t *input_pairs, const int8_t *hidden, const int32_t *hidden_pairs,
                      const int32_t features, const int32_t units, const lstm_requant from_input_q,
                      const lstm_requant from_state_q, const int32_t gate_multiplier, const int32_t is_tanh,
                      const int16_t *table, int16_t *gate)
{
    int32_t u = 0;
    for (; u + 4 <= units; u += 4)
    {
        int32_t in[4];
        int32_t st[4];
        lstm_dot4(w + u * features, x, input_pairs, features, in);
        lstm_dot4(r + u * units, hidden, hidden_pairs, units, st);
        for (int32_t j = 0; j < 4; j++)
        {
            const int32_t value = lstm_gate_input(in[j] + b[u + j], st[j] + rb[u + j], from_input_q, from_state_q,
                                                  gate_multiplier);
            gate[u + j] = is_tanh ? lstm_tanh16(value, table) : lstm_sigmoid16(value, table);
        }
    }
    for (; u < units; u++)
    {
        const int32_t value = lstm_gate_input(lstm_dot(w + u * features, x, input_pairs, features) + b[u],
                                              lstm_dot(r + u * units, hidden, hidden_pairs, units) + rb[u],
                                              from_input_q, from_state_q, gate_multiplier);
        gate[u] = is_tanh ? lstm_tanh16(value, table) : lstm_sigmoid16(value, table);
    }
}

void tinyc_lstm_s8(const int8_t *input,
                   const int8_t *weights,
                   const int32_t *bias,
                   const int32_t *multiplier,
                   const int32_t *shift,
                   const int16_t *table,
                   const tinyc_lstm_params *params,
                   int16_t *scratch,
                   int8_t *output)
{
    const tinyc_lstm_params p = *params;
    const int32_t units = p.units;
    int32_t *input_pairs = (int32_t *)(void *)scratch;           /* features / 4 x 2 words */
    int32_t *hidden_pairs = input_pairs + (p.features / 4) * 2;   /* units / 4 x 2 words */
    int16_t *cell = (int16_t *)(void *)(hidden_pairs + (units / 4) * 2);
    int16_t *gates = cell + units; /* 4 x units: input, forget, cell, output */
    int8_t *hidden = (int8_t *)(gates + 4 * units);
    const int8_t *recurrent = weights + 4 * units * p.features;
    lstm_requant fc[8]; /* input-to-gate i, f, c, o, then recurrent i, f, c, o */
    for (int32_t i = 0; i < 8; i++)
    {
        fc[i] = lstm_requant_of(multiplier[i], shift[i]);
    }
    const lstm_requant forget_q = lstm_requant_of(p.forget_multiplier, p.forget_shift);
    const lstm_requant input_q = lstm_requant_of(p.input_multiplier, p.input_shift);
    const lstm_requant output_q = lstm_requant_of(p.output_multiplier, p.output_shift);
    const int32_t tanh_round = p.cell_tanh_shift > 0 ? (1 << (p.cell_tanh_shift - 1)) : 0;

    for (int32_t u = 0; u < units; u++)
    {
        cell[u] = 0;
        hidden[u] = (int8_t)p.hidden_zero_point;
    }
    for (int32_t t = 0; t < p.time_steps; t++)
    {
        const int8_t *x = input + t * p.features;
        lstm_pack(x, p.features, input_pairs);
        lstm_pack(hidden, units, hidden_pairs);
        for (int32_t g = 0; g < 4; g++)
        {
            lstm_gate(weights + g * units * p.features, recurrent + g * units * units, bias + g * units,
                      bias + (4 + g) * units, x, input_pairs, hidden, hidden_pairs, p.features, units, fc[g],
                      fc[4 + g], p.gate_multiplier, g == 2, table, gates + g * units);
        }
        const int16_t *input_gate = gates;
        const int16_t *forget_gate = gates + units;
        const int16_t *cell_gate = gates + 2 * units;
        const int16_t *output_gate = gates + 3 * units;
        for (int32_t u = 0; u < units; u++)
        {
            const int32_t kept = lstm_sat16(lstm_requantize((int32_t)forget_gate[u] * (int32_t)cell[u], forget_q));
            const int32_t added = lstm_sat16(lstm_requantize((int32_t)input_gate[u] * (int32_t)cell_gate[u], input_q));
            int32_t c = lstm_sat16(kept + added);
            if (p.cell_clip > 0)
            {
                c = lstm_clamp(c, -p.cell_clip, p.cell_clip);
            }
            cell[u] = (int16_t)c;
            const int16_t squashed = lstm_tanh16((c * p.cell_tanh_multiplier + tanh_round) >> p.cell_tanh_shift, table);
            const int32_t h = lstm_requantize((int32_t)squashed * (int32_t)output_gate[u], output_q) +
                              p.hidden_zero_point;
            hidden[u] = (int8_t)lstm_clamp(h, -128, 127);
        }
        if (!p.last_step_only)
        {
            for (int32_t u = 0; u < units; u++)
            {
                output[t * units + u] = hidden[u];
            }
        }
    }
    if (p.last_step_only)
    {
        for (int32_t u = 0; u < units; u++)
        {
            output[u] = hidden[u];
        }
    }
}
