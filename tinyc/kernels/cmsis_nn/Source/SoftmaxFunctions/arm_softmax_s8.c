/*
 * tinyc portable reference implementation of the CMSIS-NN v7.0.0 int8 API subset:
 * softmax, bit-exact with TFLite's quantized reference softmax (gemmlowp fixed point).
 *
 * Fixed-point values are int32 raw values with a number of integer bits noted as Qi:
 * Q0 holds [-1, 1), Q5 holds [-32, 32), Q12 holds [-4096, 4096).
 */
#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"

#define ACCUM_INTEGER_BITS 12 /* integer bits of the sum of exponentials */
#define DIFF_INTEGER_BITS 5   /* integer bits of the scaled input difference */

/* x * 2^exponent, saturating to the int32 range. */
static int32_t saturating_shift_left(const int32_t x, const int32_t exponent)
{
    const int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
    if (x > threshold)
    {
        return INT32_MAX;
    }
    if (x < -threshold)
    {
        return INT32_MIN;
    }
    return arm_nn_shift_left_wrap(x, exponent);
}

/* (a + b) / 2 rounded half away from zero, without overflow. */
static int32_t rounding_half_sum(const int32_t a, const int32_t b)
{
    const int64_t sum = (int64_t)a + (int64_t)b;
    return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

static int32_t wrapping_add(const int32_t a, const int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

static int32_t wrapping_sub(const int32_t a, const int32_t b)
{
    return (int32_t)((uint32_t)a - (uint32_t)b);
}

static int32_t count_leading_zeros(const uint32_t x)
{
    int32_t count = 0;
    for (uint32_t bit = 0x80000000u; bit != 0u && (x & bit) == 0u; bit >>= 1)
    {
        count++;
    }
    return count;
}

/* exp(a) for a in [-1/4, 0), Q0 -> Q0: Taylor series around -1/8. */
static int32_t exp_on_interval_between_negative_one_quarter_and_0_excl(const int32_t a)
{
    const int32_t exp_minus_one_eighth = 1895147668; /* exp(-1/8) in Q0 */
    const int32_t one_third = 715827883;             /* 1/3 in Q0 */
    const int32_t x = wrapping_add(a, (int32_t)1 << 28); /* a + 1/8 */
    const int32_t x2 = arm_nn_doubling_high_mult(x, x);
    const int32_t x3 = arm_nn_doubling_high_mult(x2, x);
    const int32_t x4 = arm_nn_doubling_high_mult(x2, x2);
    const int32_t x4_over_4 = arm_nn_divide_by_power_of_two(x4, 2);
    const int32_t poly = arm_nn_divide_by_power_of_two(
        wrapping_add(arm_nn_doubling_high_mult(wrapping_add(x4_over_4, x3), one_third), x2), 1);
    return wrapping_add(exp_minus_one_eighth,
                        arm_nn_doubling_high_mult(exp_minus_one_eighth, wrapping_add(x, poly)));
}

/* exp(a) for a <= 0, a in Q5, result in Q0. */
static int32_t exp_on_negative_values(const int32_t a)
{
    /* exp(-2^k) in Q0 for k = -2 .. 4, applied for each set bit of the whole quarters of -a. */
    static const int32_t exp_of_minus_power_of_two[7] = {
        1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int32_t fractional_bits = 31 - DIFF_INTEGER_BITS;
    const int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
    const int32_t a_mod_quarter_minus_one_quarter = wrapping_sub(a & (one_quarter - 1), one_quarter);
    int32_t result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        saturating_shift_left(a_mod_quarter_minus_one_quarter, DIFF_INTEGER_BITS));
    const int32_t remainder = wrapping_sub(a_mod_quarter_minus_one_quarter, a);

    for (int32_t k = 0; k < 7; k++)
    {
        const int32_t bit = fractional_bits - 2 + k;
        if (bit < 31 && (remainder & ((int32_t)1 << bit)) != 0)
        {
            result = arm_nn_doubling_high_mult(result, exp_of_minus_power_of_two[k]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + a) for a in [0, 1), Q0 -> Q0: three Newton-Raphson steps. */
static int32_t one_over_one_plus_x_for_x_in_0_1(const int32_t a)
{
    const int32_t half_denominator = rounding_half_sum(a, INT32_MAX);
    const int32_t constant_48_over_17 = 1515870810;     /* Q2 */
    const int32_t constant_neg_32_over_17 = -1010580540; /* Q2 */
    const int32_t one_q2 = (int32_t)1 << 29;
    int32_t x = wrapping_add(constant_48_over_17, arm_nn_doubling_high_mult(half_denominator, constant_neg_32_over_17));
    for (int32_t i = 0; i < 3; i++)
    {
        const int32_t half_denominator_times_x = arm_nn_doubling_high_mult(half_denominator, x);
        const int32_t one_minus_half_denominator_times_x = wrapping_sub(one_q2, half_denominator_times_x);
        x = wrapping_add(x, saturating_shift_left(arm_nn_doubling_high_mult(x, one_minus_half_denominator_times_x), 2));
    }
    return saturating_shift_left(x, 1); /* x / 2, from Q1 to Q0 */
}

void arm_softmax_s8(const int8_t *input,
                    const int32_t num_rows,
                    const int32_t row_size,
                    const int32_t mult,
                    const int32_t shift,
                    const int32_t diff_min,
                    int8_t *output)
{
    for (int32_t row = 0; row < num_rows; row++)
    {
        const int8_t *in = input + row * row_size;
        int8_t *out = output + row * row_size;

        int32_t max = INT8_MIN;
        for (int32_t i = 0; i < row_size; i++)
        {
            max = MAX(max, (int32_t)in[i]);
        }

        int32_t sum_of_exps = 0; /* Q12 */
        for (int32_t i = 0; i < row_size; i++)
        {
            const int32_t diff = (int32_t)in[i] - max;
            if (diff >= diff_min)
            {
                const int32_t scaled_diff = arm_nn_doubling_high_mult(arm_nn_shift_left_wrap(diff, shift), mult);
                sum_of_exps += arm_nn_divide_by_power_of_two(exp_on_negative_values(scaled_diff), ACCUM_INTEGER_BITS);
            }
        }

        /* 1 / sum_of_exps as a Q0 mantissa in [0.5, 1) and a power-of-two exponent. */
        const int32_t headroom_plus_one = count_leading_zeros((uint32_t)sum_of_exps);
        const int32_t num_bits_over_unit = ACCUM_INTEGER_BITS - headroom_plus_one;
        const int32_t shifted_sum_minus_one =
            (int32_t)(((uint32_t)sum_of_exps << headroom_plus_one) - ((uint32_t)1 << 31));
        const int32_t reciprocal = one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one);

        for (int32_t i = 0; i < row_size; i++)
        {
            const int32_t diff = (int32_t)in[i] - max;
            if (diff >= diff_min)
            {
                const int32_t scaled_diff = arm_nn_doubling_high_mult(arm_nn_shift_left_wrap(diff, shift), mult);
                const int32_t exp = exp_on_negative_values(scaled_diff);
                int32_t value = arm_nn_divide_by_power_of_two(arm_nn_doubling_high_mult(reciprocal, exp),
                                                              num_bits_over_unit + 31 - 8);
                value += INT8_MIN;
                value = MAX(value, INT8_MIN);
                value = MIN(value, INT8_MAX);
                out[i] = (int8_t)value;
            }
            else
            {
                out[i] = INT8_MIN;
            }
        }
    }
}
