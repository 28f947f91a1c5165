// SwiftPM links every executable with `main` aliased to `<module>_main` (for testable executables), so libFuzzer's
// own main is never linked in; this is that main, handing the command line to libFuzzer's driver with the Swift
// entry point. The only C of the fuzz harness; the daemon's C stays in Sources/CGRPC.
#include "fuzz_driver.h"

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int dnsgrpcd_fuzz_main(int argc, char **argv) {
  return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput);
}
