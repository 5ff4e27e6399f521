#include "common/zip.h"

#include <boost/crc.hpp>

namespace baton {

namespace {
void Put16(std::string& out, uint32_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>((v >> 8) & 0xff));
}
void Put32(std::string& out, uint32_t v) {
  Put16(out, v & 0xffff);
  Put16(out, v >> 16);
}
constexpr uint32_t kDosTime = 0;                                // 00:00:00
constexpr uint32_t kDosDate = (2020 - 1980) << 9 | 1 << 5 | 1;  // 2020-01-01: a fixed, valid date
constexpr uint32_t kUtf8Names = 1 << 11;                        // general purpose flag bit 11
}  // namespace

// The fields local and central headers share: version needed (2.0), flags, method (stored),
// time, date, CRC, sizes, name length.
void ZipWriter::PutEntry(const Entry& e) {
  Put16(out_, 20);
  Put16(out_, kUtf8Names);
  Put16(out_, 0);
  Put16(out_, kDosTime);
  Put16(out_, kDosDate);
  Put32(out_, e.crc);
  Put32(out_, e.size);
  Put32(out_, e.size);
  Put16(out_, static_cast<uint32_t>(e.name.size()));
}

void ZipWriter::Add(std::string_view name, std::string_view data) {
  boost::crc_32_type crc;
  crc.process_bytes(data.data(), data.size());
  Entry e{std::string(name), crc.checksum(), static_cast<uint32_t>(data.size()),
          static_cast<uint32_t>(out_.size())};
  Put32(out_, 0x04034b50);  // local file header
  PutEntry(e);
  Put16(out_, 0);  // extra field length
  out_ += e.name;
  out_.append(data);
  entries_.push_back(std::move(e));
}

std::string ZipWriter::Finish() {
  const uint32_t directory_offset = static_cast<uint32_t>(out_.size());
  for (const Entry& e : entries_) {
    Put32(out_, 0x02014b50);  // central directory header
    Put16(out_, 0x0314);      // made by: Unix, 2.0
    PutEntry(e);
    Put16(out_, 0);               // extra
    Put16(out_, 0);               // comment
    Put16(out_, 0);               // disk number
    Put16(out_, 0);               // internal attributes
    Put32(out_, 0100644u << 16);  // external attributes: a regular file, rw-r--r--
    Put32(out_, e.offset);
    out_ += e.name;
  }
  const uint32_t directory_size = static_cast<uint32_t>(out_.size()) - directory_offset;
  Put32(out_, 0x06054b50);  // end of central directory
  Put16(out_, 0);
  Put16(out_, 0);
  Put16(out_, static_cast<uint32_t>(entries_.size()));
  Put16(out_, static_cast<uint32_t>(entries_.size()));
  Put32(out_, directory_size);
  Put32(out_, directory_offset);
  Put16(out_, 0);
  entries_.clear();
  return std::move(out_);
}

}  // namespace baton
