/*
 * tinyc_lstm_s8 (see tinyc_lstm.h). The integer primitives below restate TFLite's arithmetic (they are private
 * to this file, as tinyc_kernels.c keeps its own):
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

/* Round(a * b / 2^31), halves away from zero, saturating INT32_MIN * INT32_MIN. */
static inline __attribute__((always_inline)) int32_t lstm_doubling_high_mult(const int32_t a, const int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN)
    {
        return INT32_MAX;
    }
    const int64_t product = (int64_t)a * (int64_t)b;
    const int64_t nudge = product >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    return (int32_t)((product + nudge) / ((int64_t)1 << 31));
}

/* value / 2^exponent, halves away from zero. */
static inline __attribute__((always_inline)) int32_t lstm_divide_by_power_of_two(const int32_t value, const int32_t exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = value & mask;
    const int32_t threshold = (mask >> 1) + (value < 0 ? 1 : 0);
    return (value >> exponent) + (remainder > threshold ? 1 : 0);
}

/* shift > 0 is a left shift (int32 wrap-around). */
static inline __attribute__((always_inline)) int32_t lstm_requantize(const int32_t value, const int32_t multiplier, const int32_t shift)
{
    const int32_t left_shift = shift > 0 ? shift : 0;
    const int32_t right_shift = shift > 0 ? 0 : -shift;
    const int32_t shifted = (int32_t)((uint32_t)value << left_shift);
    return lstm_divide_by_power_of_two(lstm_doubling_high_mult(shifted, multiplier), right_shift);
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

/* lstm_dot of two rows with the same vector: each packed pair is loaded once for both rows. */
static inline __attribute__((always_inline)) void lstm_dot2(const int8_t *w0, const int8_t *w1, const int8_t *v,
                                                            const int32_t *pairs, const int32_t n, int32_t *acc0,
                                                            int32_t *acc1)
{
    int32_t a0 = 0;
    int32_t a1 = 0;
    int32_t k = 0;
#if TINYC_LSTM_DSP
    const int8_t *p0 = w0;
    const int8_t *p1 = w1;
    const int32_t *pp = pairs;
    for (int32_t groups = n >> 2; groups > 0; groups--)
    {
        const int32_t even = pp[0];
        const int32_t odd = pp[1];
        const int32_t word0 = lstm_load_word(p0);
        const int32_t word1 = lstm_load_word(p1);
        a0 = __smlad(__sxtb16(word0), even, a0);
        a1 = __smlad(__sxtb16(word1), even, a1);
        a0 = __smlad(lstm_sxtb16_ror8(word0), odd, a0);
        a1 = __smlad(lstm_sxtb16_ror8(word1), odd, a1);
        pp += 2;
        p0 += 4;
        p1 += 4;
    }
    k = n & ~(int32_t)3;
#else
    (void)pairs;
#endif
    for (; k < n; k++)
    {
        a0 += (int32_t)w0[k] * (int32_t)v[k];
        a1 += (int32_t)w1[k] * (int32_t)v[k];
    }
    *acc0 = a0;
    *acc1 = a1;
}

/* One gate value from its two FC sums (bias included): each requantized to Q3.12 and saturated to int16, their
 * saturated sum through the int16 sigmoid (tanh for the cell gate). */
static inline __attribute__((always_inline)) int16_t lstm_gate(const int32_t from_input_acc, const int32_t from_state_acc,
                                                               const int32_t g, const int32_t *multiplier,
                                                               const int32_t *shift, const int32_t gate_multiplier,
                                                               const int16_t *table)
{
    const int32_t from_input = lstm_clamp(lstm_requantize(from_input_acc, multiplier[g], shift[g]),
                                          TINYC_LSTM_INT16_MIN, TINYC_LSTM_INT16_MAX);
    const int32_t from_state = lstm_clamp(lstm_requantize(from_state_acc, multiplier[4 + g], shift[4 + g]),
                                          TINYC_LSTM_INT16_MIN, TINYC_LSTM_INT16_MAX);
    const int32_t sum = lstm_clamp(from_input + from_state, TINYC_LSTM_INT16_MIN, TINYC_LSTM_INT16_MAX);
    return g == 2 ? lstm_tanh16(sum * gate_multiplier, table) : lstm_sigmoid16(sum * gate_multiplier, table);
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
            const int8_t *w = weights + g * units * p.features;
            const int8_t *r = recurrent + g * units * units;
            const int32_t *b = bias + g * units;
            const int32_t *rb = bias + (4 + g) * units;
            int32_t u = 0;
            for (; u + 2 <= units; u += 2) /* two units at a time: the vectors' pairs are loaded once */
            {
                int32_t in0, in1, st0, st1;
                lstm_dot2(w + u * p.features, w + (u + 1) * p.features, x, input_pairs, p.features, &in0, &in1);
                lstm_dot2(r + u * units, r + (u + 1) * units, hidden, hidden_pairs, units, &st0, &st1);
                gates[g * units + u] = lstm_gate(in0 + b[u], st0 + rb[u], g, multiplier, shift, p.gate_multiplier,
                                                 table);
                gates[g * units + u + 1] = lstm_gate(in1 + b[u + 1], st1 + rb[u + 1], g, multiplier, shift,
                                                     p.gate_multiplier, table);
            }
            if (u < units)
            {
                gates[g * units + u] = lstm_gate(lstm_dot(w + u * p.features, x, input_pairs, p.features) + b[u],
                                                 lstm_dot(r + u * units, hidden, hidden_pairs, units) + rb[u], g,
                                                 multiplier, shift, p.gate_multiplier, table);
            }
        }
        const int16_t *input_gate = gates;
        const int16_t *forget_gate = gates + units;
        const int16_t *cell_gate = gates + 2 * units;
        const int16_t *output_gate = gates + 3 * units;
        for (int32_t u = 0; u < units; u++)
        {
            const int32_t kept = lstm_clamp(
                lstm_requantize((int32_t)forget_gate[u] * (int32_t)cell[u], p.forget_multiplier, p.forget_shift),
                TINYC_LSTM_INT16_MIN, TINYC_LSTM_INT16_MAX);
            const int32_t added = lstm_clamp(
                lstm_requantize((int32_t)input_gate[u] * (int32_t)cell_gate[u], p.input_multiplier, p.input_shift),
                TINYC_LSTM_INT16_MIN, TINYC_LSTM_INT16_MAX);
            int32_t c = lstm_clamp(kept + added, TINYC_LSTM_INT16_MIN, TINYC_LSTM_INT16_MAX);
            if (p.cell_clip > 0)
            {
                c = lstm_clamp(c, -p.cell_clip, p.cell_clip);
            }
            cell[u] = (int16_t)c;
            const int32_t round = p.cell_tanh_shift > 0 ? (1 << (p.cell_tanh_shift - 1)) : 0;
            const int16_t squashed = lstm_tanh16((c * p.cell_tanh_multiplier + round) >> p.cell_tanh_shift, table);
            const int32_t h = lstm_requantize((int32_t)squashed * (int32_t)output_gate[u], p.output_multiplier,
                                              p.output_shift) + p.hidden_zero_point;
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
