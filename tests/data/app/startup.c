/* The test application's own startup: vector table, FPU on, .data and .bss, main. */
#include <stdint.h>
#include <string.h>

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
extern int main(void);
void app_reset(void);
void app_fault(void);

void app_fault(void)
{
    for (;;) {
    }
}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))(&_estack), app_reset, app_fault, app_fault, app_fault, app_fault, app_fault, 0, 0, 0, 0,
    app_fault, app_fault, 0, app_fault, app_fault,
};

void app_reset(void)
{
    *(volatile uint32_t *)0xE000ED88u |= (0xFu << 20); /* CPACR: CP10, CP11 full access */
    __asm__ volatile("dsb\n\tisb");
    memcpy(&_sdata, &_sidata, (size_t)((char *)&_edata - (char *)&_sdata));
    memset(&_sbss, 0, (size_t)((char *)&_ebss - (char *)&_sbss));
    (void)main();
    for (;;) {
    }
}
