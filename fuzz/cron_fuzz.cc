// Cron expressions and time zones (first line: the expression; second: the zone), and the next
// ticks of what parses: each strictly after the last.
#include <string>

#include "engine/cron.h"
#include "fuzz/fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = AsText(data, size);
  const size_t nl = text.find('\n');
  const std::string_view expression = nl == std::string_view::npos ? text : text.substr(0, nl);
  const std::string_view zone = nl == std::string_view::npos ? "UTC" : text.substr(nl + 1);
  auto cron = baton::engine::CronExpr::Parse(expression, zone);
  if (!cron.ok()) {
    FUZZ_CHECK(!cron.status().message().empty());
    return 0;
  }
  int64_t t = 1'795'000'000'000;  // November 2026
  for (int i = 0; i < 3; ++i) {
    const int64_t next = cron->NextAfter(t);
    if (next == INT64_MAX) break;
    FUZZ_CHECK(next > t);
    t = next;
  }
  return 0;
}
