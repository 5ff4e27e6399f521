// The server's config file (as JSON): scheduling policy, retention, cron schedules.
#include "fuzz/fuzz.h"
#include "server/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto config = baton::server::ParseConfig(AsText(data, size));
  if (!config.ok()) FUZZ_CHECK(!config.status().message().empty());
  return 0;
}
