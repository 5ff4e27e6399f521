// Workflow and type documents as users write them: YAML and TOML, read into JSON. The first byte
// picks the format.
#include <boost/json.hpp>

#include "fuzz/fuzz.h"
#include "server/documents.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const auto format = data[0] % 2 == 0 ? baton::server::DocumentFormat::kYaml
                                       : baton::server::DocumentFormat::kToml;
  auto json = baton::server::DocumentToJson(AsText(data + 1, size - 1), format);
  if (json.ok()) {
    boost::system::error_code ec;
    boost::json::parse(*json, ec);
    FUZZ_CHECK(!ec);  // what it gives back is JSON
  } else {
    FUZZ_CHECK(!json.status().message().empty());
  }
  return 0;
}
