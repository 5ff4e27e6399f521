// POST /v1/jobs bodies: one job or a batch, parsed and validated all or nothing.
#include "fuzz/fuzz.h"
#include "server/job_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = baton::server::ParseSubmitBody(AsText(data, size), 16);
  if (parsed.ok()) {
    FUZZ_CHECK(parsed->batch || parsed->specs.size() == 1);
    FUZZ_CHECK(parsed->specs.size() <= 16);
  } else {
    FUZZ_CHECK(!parsed.status().message().empty());
  }
  return 0;
}
