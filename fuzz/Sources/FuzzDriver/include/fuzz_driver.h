#ifndef FUZZ_DRIVER_H
#define FUZZ_DRIVER_H
#include <stddef.h>
#include <stdint.h>

/// The process's main (see driver.c).
int dnsgrpcd_fuzz_main(int argc, char **argv);
#endif
