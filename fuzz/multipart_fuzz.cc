// multipart/form-data uploads: the first line is the Content-Type header, the rest the body.
#include "fuzz/fuzz.h"
#include "server/multipart.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = AsText(data, size);
  const size_t nl = text.find('\n');
  const std::string_view content_type = nl == std::string_view::npos ? text : text.substr(0, nl);
  const std::string_view body = nl == std::string_view::npos ? "" : text.substr(nl + 1);
  auto parts = baton::server::ParseMultipart(content_type, body, 8);
  if (parts.ok()) {
    FUZZ_CHECK(parts->size() <= 8);
    for (const auto& p : *parts) {
      // Every part is a view into the body it came from.
      FUZZ_CHECK(p.data.empty() || (p.data.data() >= body.data() &&
                                    p.data.data() + p.data.size() <= body.data() + body.size()));
    }
  } else {
    FUZZ_CHECK(!parts.status().message().empty());
  }
  return 0;
}
