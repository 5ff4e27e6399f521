// ZIP archives written as a stream, as `GET /v1/jobs/{id}/output.zip` serves them and a worker
// sends a running attempt's snapshot: each entry's header, then its data as it comes, then a data
// descriptor with its CRC and sizes; the central directory at the end. Any unzip reads them.
//
// - No size limit: ZIP64 records appear where a size, an offset or the number of entries needs
//   them (Options::zip64 = kAlways writes them everywhere, for tests and strict readers).
// - Deflate where it pays: an entry's first 64 KiB are tried; if deflate saves less than a tenth
//   (media, archives, random data), the entry is stored and costs no CPU. Level 1: a download
//   should not cost the server much more than reading the file.
// - Bounded memory: the writer holds the entry being tried, zlib's state (about 256 KiB) and one
//   central-directory entry per file; what it produced waits in `pending` until Take().
//
// Thread rules: one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace baton {

class ZipStream {
 public:
  enum class Zip64 { kWhenNeeded, kAlways };
  struct Options {
    bool deflate = true;  // false: every entry stored
    Zip64 zip64 = Zip64::kWhenNeeded;
  };
  ZipStream();
  explicit ZipStream(Options options);
  ~ZipStream();
  ZipStream(ZipStream&&) noexcept;
  ZipStream& operator=(ZipStream&&) noexcept;

  // Starts an entry (the one before ends); `name` is a relative path with '/' separators.
  // `size`: what the caller expects to write; an entry that may pass 4 GiB has ZIP64 sizes from
  // its local header on (one that passes it unannounced still gets them in the directory).
  void Begin(std::string_view name, uint64_t size = 0);
  // Adds to the current entry.
  void Write(std::string_view data);
  // Ends the last entry and writes the central directory. Nothing may follow.
  void Finish();

  // The archive's bytes produced since the last Take.
  std::string Take();
  size_t pending() const { return out_.size(); }

  // A whole entry at once.
  void Add(std::string_view name, std::string_view data) {
    Begin(name, data.size());
    Write(data);
  }

 private:
  struct Entry {
    std::string name;
    uint32_t crc = 0;
    uint64_t size = 0;        // uncompressed
    uint64_t compressed = 0;  // as written
    uint64_t offset = 0;      // of its local header
    bool deflated = false;
    bool zip64 = false;  // ZIP64 sizes in its local header and data descriptor
  };
  struct Deflater;
  // Decides the current entry's method from what was tried, and writes its header and that data.
  void Start();
  void Feed(std::string_view data);
  void End();
  void Emit(std::string_view bytes);

  Options options_;
  std::string out_;
  uint64_t written_ = 0;  // bytes of the archive so far (taken or pending)
  std::vector<Entry> entries_;
  bool open_ = false;     // an entry is current
  bool started_ = false;  // its header is out
  bool finished_ = false;
  std::string trial_;  // the current entry's first bytes, before its method is chosen
  std::unique_ptr<Deflater> deflater_;
  uint32_t crc_ = 0;
};

}  // namespace baton
