// The shell executor's "::progress FRACTION MESSAGE" lines, as jobs print them.
#include <cmath>

#include "cli/shell_executor.h"
#include "fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto p = baton::cli::ParseProgressLine(AsText(data, size));
  if (p) FUZZ_CHECK(p->fraction >= 0 && p->fraction <= 1);  // never NaN, never out of range
  return 0;
}
