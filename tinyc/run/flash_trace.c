/*
 * tinyc's QEMU TCG plugin for the flash model (tinyc/run/flash.py): it records, in execution order, every executed
 * translation block and every data load from the flash range, as little-endian 32-bit words:
 *
 *   0xC0000000 | id, n, then n words (vaddr | 1 when the instruction is 4 bytes)   a block's definition (at translation)
 *   0x80000000 | id                                                              an execution of block `id`
 *   addr (< 0x40000000)                                                          a data load from [lo, hi)
 *   0x40000000 | insn (insn < 0x40000000)                                        a peripheral access (below)
 *
 * Executions and loads are written from the first execution of the block starting at `stop` (the bench harness's
 * profile hook: called once before every schedule step and once after the last) until it begins for the `count`-th
 * time, so only the first inference is written; block definitions are written from the start.
 * With -icount, QEMU executes an instruction that accesses a peripheral (address >= 0x40000000 on the mps2 machines:
 * the harness reads SysTick) in a one-instruction block of its own, which it instruments for memory callbacks only:
 * such a block's execution is seen here as its access, written with the instruction's address: the block executed
 * before it ran only up to that instruction (QEMU rewound it there).
 * Arguments: out=FILE,lo=ADDR,hi=ADDR,stop=ADDR,count=N (numbers in C syntax: 0x.. or decimal).
 *
 * QEMU ships its plugin API as a header (qemu-plugin.h) that Debian's packages leave out; the few declarations
 * this plugin calls are written below from the API's documented signatures (QEMU 7.2, plugin API version 1).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the QEMU plugin API used here (declarations; the symbols are QEMU's) ---- */
typedef uint64_t qemu_plugin_id_t;
typedef uint32_t qemu_plugin_meminfo_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef struct {
    const char *target_name;
    struct { int min; int cur; } version;
    bool system_emulation;
    union { struct { int smp_vcpus; int max_vcpus; } system; };
} qemu_info_t;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_CB_R_REGS, QEMU_PLUGIN_CB_RW_REGS };
enum qemu_plugin_mem_rw { QEMU_PLUGIN_MEM_R = 1, QEMU_PLUGIN_MEM_W, QEMU_PLUGIN_MEM_RW };
typedef void (*qemu_plugin_tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_udata_cb_t)(unsigned int vcpu_index, void *userdata);
typedef void (*qemu_plugin_mem_cb_t)(unsigned int vcpu_index, qemu_plugin_meminfo_t info, uint64_t vaddr,
                                     void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, qemu_plugin_tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, qemu_plugin_vcpu_udata_cb_t cb,
                                          enum qemu_plugin_cb_flags flags, void *userdata);
void qemu_plugin_register_vcpu_mem_cb(struct qemu_plugin_insn *insn, qemu_plugin_mem_cb_t cb,
                                      enum qemu_plugin_cb_flags flags, enum qemu_plugin_mem_rw rw, void *userdata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
bool qemu_plugin_mem_is_store(qemu_plugin_meminfo_t info);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* ---- the recorder ---- */
enum { BUFFER_WORDS = 1 << 16 };
static FILE *out;
static uint32_t buffer[BUFFER_WORDS];
static size_t used;
static uint64_t lo, hi, stop;
static uint64_t count, seen;
static bool recording;  /* executions and loads: between the first and the count-th start of `stop` */
static bool finished;
static uint32_t next_id;

static void flush(void) {
    if (out != NULL && used) {
        fwrite(buffer, sizeof buffer[0], used, out);
    }
    used = 0;
}

static void emit(uint32_t word) {
    if (used == BUFFER_WORDS) {
        flush();
    }
    buffer[used++] = word;
}

static void finish(void) {
    recording = false;
    finished = true;
    flush();
    if (out != NULL) {
        fclose(out);
        out = NULL;
    }
}

struct block { uint32_t id; uint64_t vaddr; };

static void on_exec(unsigned int vcpu_index, void *userdata) {
    (void)vcpu_index;
    const struct block *b = userdata;
    if (finished) {
        return;
    }
    if (b->vaddr == stop) {
        recording = true;
        if (++seen >= count) {
            finish();
            return;
        }
    }
    if (recording) {
        emit(0x80000000u | b->id);
    }
}

enum { PERIPHERALS = 0x40000000u };

static void on_access(unsigned int vcpu_index, qemu_plugin_meminfo_t info, uint64_t vaddr, void *userdata) {
    (void)vcpu_index;
    if (!recording) {
        return;
    }
    if (vaddr >= PERIPHERALS) {
        emit(PERIPHERALS | ((uint32_t)(uintptr_t)userdata & (PERIPHERALS - 1u)));
    } else if (vaddr >= lo && vaddr < hi && !qemu_plugin_mem_is_store(info)) {
        emit((uint32_t)vaddr);
    }
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    size_t n = qemu_plugin_tb_n_insns(tb);
    struct block *b = malloc(sizeof *b);
    if (b == NULL) {
        abort();
    }
    b->id = next_id++ & 0x3FFFFFFFu;
    b->vaddr = qemu_plugin_tb_vaddr(tb);
    if (!finished) {
        emit(0xC0000000u | b->id);
        emit((uint32_t)n);
    }
    for (size_t i = 0; i < n; i++) {
        struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
        if (!finished) {
            emit((uint32_t)qemu_plugin_insn_vaddr(insn) | (qemu_plugin_insn_size(insn) == 4 ? 1u : 0u));
        }
        qemu_plugin_register_vcpu_mem_cb(insn, on_access, QEMU_PLUGIN_CB_NO_REGS, QEMU_PLUGIN_MEM_RW,
                                         (void *)(uintptr_t)qemu_plugin_insn_vaddr(insn));
    }
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_exec, QEMU_PLUGIN_CB_NO_REGS, b);
}

static void on_qemu_exit(qemu_plugin_id_t id, void *userdata) {
    (void)id; (void)userdata;
    finish();
}

__attribute__((visibility("default")))
int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv) {
    (void)info;
    const char *path = NULL;
    for (int i = 0; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (eq == NULL) {
            fprintf(stderr, "tinyc flash_trace: argument %s is not key=value\n", argv[i]);
            return -1;
        }
        size_t key = (size_t)(eq - argv[i]);
        const char *value = eq + 1;
        if (key == 3 && strncmp(argv[i], "out", 3) == 0) {
            path = value;
        } else if (key == 2 && strncmp(argv[i], "lo", 2) == 0) {
            lo = strtoull(value, NULL, 0);
        } else if (key == 2 && strncmp(argv[i], "hi", 2) == 0) {
            hi = strtoull(value, NULL, 0);
        } else if (key == 4 && strncmp(argv[i], "stop", 4) == 0) {
            stop = strtoull(value, NULL, 0);
        } else if (key == 5 && strncmp(argv[i], "count", 5) == 0) {
            count = strtoull(value, NULL, 0);
        } else {
            fprintf(stderr, "tinyc flash_trace: unknown argument %s\n", argv[i]);
            return -1;
        }
    }
    if (path == NULL || hi <= lo || hi > PERIPHERALS || count == 0) {
        fprintf(stderr, "tinyc flash_trace: needs out=FILE, lo < hi <= 0x40000000, stop=ADDR, count=N > 0\n");
        return -1;
    }
    out = fopen(path, "wb");
    if (out == NULL) {
        fprintf(stderr, "tinyc flash_trace: cannot write %s\n", path);
        return -1;
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
    qemu_plugin_register_atexit_cb(id, on_qemu_exit, NULL);
    return 0;
}
