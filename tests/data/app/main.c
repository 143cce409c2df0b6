/* A minimal application of its own (not tinyc's harness): runs each linked tinyc model once through its C API on a
 * float sample, and prints the int8 output over Arm semihosting as `OUT <name> <hex>`, then `APP-DONE`.
 * app_models.h (written by tests/test_integration_app.py) includes each model's NAME.h, its float sample
 * NAME_sample and the list APP_MODELS(X): X(name, NAME, own_arena); an own_arena model is built with
 * NAME_NO_STATIC_ARENA and runs in the app's arena through NAME_init(). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "app_models.h"

static int32_t semihost(int32_t operation, void *argument)
{
    register int32_t r0 __asm__("r0") = operation;
    register void *r1 __asm__("r1") = argument;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static void put(const char *text) { (void)semihost(0x04 /* SYS_WRITE0 */, (void *)text); }

static __attribute__((noreturn)) void quit(int32_t code)
{
    uint32_t block[2] = {0x20026u /* ADP_Stopped_ApplicationExit */, (uint32_t)code};
    (void)semihost(0x20 /* SYS_EXIT_EXTENDED */, block);
    for (;;) {
    }
}

static void put_output(const char *name, const int8_t *data, int32_t size)
{
    static const char digits[] = "0123456789abcdef";
    static char line[2 * 4096 + 64];
    size_t pos = 0;
    const char *parts[] = {"OUT ", name, " "};
    for (size_t p = 0; p < 3; ++p) {
        for (const char *t = parts[p]; *t != '\0'; ++t) {
            line[pos++] = *t;
        }
    }
    for (int32_t i = 0; i < size && pos < sizeof(line) - 3; ++i) {
        line[pos++] = digits[(uint8_t)data[i] >> 4];
        line[pos++] = digits[(uint8_t)data[i] & 0xFu];
    }
    line[pos++] = '\n';
    line[pos] = '\0';
    put(line);
}

static void fail(const char *what)
{
    put("APP-FAIL ");
    put(what);
    put("\n");
    quit(1);
}

#define APP_RUN(name, NAME, own_arena)                                                                    \
    static void run_##name(void)                                                                          \
    {                                                                                                     \
        static int8_t arena[(own_arena) ? NAME##_ARENA_BYTES + NAME##_ARENA_ALIGNMENT : 1]                \
            __attribute__((aligned(NAME##_ARENA_ALIGNMENT)));                                             \
        if (own_arena) { /* built with NAME_NO_STATIC_ARENA: nothing runs before init */                 \
            if (name##_invoke() != NAME##_ERROR_NO_ARENA || name##_input() != NULL) {                     \
                fail(#name ": invoke ran without an arena");                                              \
            }                                                                                             \
            if (name##_init(&arena[1], NAME##_ARENA_BYTES) != NAME##_ERROR_NO_ARENA) {                    \
                fail(#name ": a misaligned arena was accepted");                                          \
            }                                                                                             \
            if (name##_init(arena, NAME##_ARENA_BYTES - 1) != NAME##_ERROR_NO_ARENA) {                    \
                fail(#name ": a short arena was accepted");                                               \
            }                                                                                             \
            if (name##_init(arena, sizeof(arena)) != 0) {                                                 \
                fail(#name ": the arena was refused");                                                    \
            }                                                                                             \
        }                                                                                                 \
        int8_t *input = name##_input();                                                                   \
        for (int32_t i = 0; i < NAME##_INPUT_BYTES; ++i) {                                                \
            input[i] = name##_quantize_input(name##_sample[i]);                                           \
        }                                                                                                 \
        if (name##_invoke() != 0) {                                                                       \
            fail(#name ": invoke failed");                                                                \
        }                                                                                                 \
        int8_t output[NAME##_OUTPUT_BYTES];                                                               \
        name##_copy_output(output);                                                                       \
        if (memcmp(output, name##_output(), NAME##_OUTPUT_BYTES) != 0) {                                  \
            fail(#name ": the copy differs from the output");                                             \
        }                                                                                                 \
        put_output(#name, output, NAME##_OUTPUT_BYTES);                                                   \
    }

APP_MODELS(APP_RUN)

#define APP_CALL(name, NAME, own_arena) run_##name();

int main(void)
{
    put("APP-BEGIN\n");
    APP_MODELS(APP_CALL)
    put("APP-DONE\n");
    quit(0);
}
