// A ZIP archive of stored (uncompressed) entries, as `GET /v1/jobs/{id}/output.zip` serves it and
// a worker sends a running attempt's snapshot: any unzip reads it, and storing costs no CPU. No
// ZIP64: the caller keeps every entry and the whole archive under 4 GiB (the file limits do).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace baton {

class ZipWriter {
 public:
  // Appends one file; `name` is a relative path with '/' separators.
  void Add(std::string_view name, std::string_view data);
  // The archive: the entries, then the central directory. The writer is spent afterwards.
  std::string Finish();

 private:
  struct Entry {
    std::string name;
    uint32_t crc = 0;
    uint32_t size = 0;
    uint32_t offset = 0;
  };
  void PutEntry(const Entry& e);
  std::string out_;
  std::vector<Entry> entries_;
};

}  // namespace baton
