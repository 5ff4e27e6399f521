// Job type declarations (baton server --types FILE), as JSON.
#include "fuzz/fuzz.h"
#include "server/job_types.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto types = baton::server::TypeRegistry::Parse(AsText(data, size));
  if (!types.ok()) FUZZ_CHECK(!types.status().message().empty());
  return 0;
}
