#include "common/zip.h"

#include <zlib.h>

#include <cassert>
#include <stdexcept>

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
void Put64(std::string& out, uint64_t v) {
  Put32(out, static_cast<uint32_t>(v));
  Put32(out, static_cast<uint32_t>(v >> 32));
}

constexpr uint32_t kDosTime = 0;                                // 00:00:00
constexpr uint32_t kDosDate = (2020 - 1980) << 9 | 1 << 5 | 1;  // 2020-01-01: a fixed, valid date
constexpr uint32_t kDescriptor = 1 << 3;                        // sizes follow the data
constexpr uint32_t kUtf8Names = 1 << 11;
constexpr uint32_t kStored = 0, kDeflated = 8;
constexpr uint32_t kVersion20 = 20, kVersion45 = 45;  // 4.5: ZIP64
constexpr uint32_t kMax32 = 0xffffffff;
constexpr uint32_t kMax16 = 0xffff;
// An entry announced at least this big gets ZIP64 sizes from its local header on: its compressed
// size may exceed the original a little (deflate's worst case is about 0.03 %).
constexpr uint64_t kZip64Announce = 0xf0000000;
constexpr size_t kTrialBytes = 64 << 10;
constexpr int kLevel = 1;

}  // namespace

// zlib's raw deflate (no zlib header: ZIP frames the data itself), reset for each entry.
struct ZipStream::Deflater {
  z_stream z{};
  Deflater() {
    if (deflateInit2(&z, kLevel, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      throw std::bad_alloc();
    }
  }
  ~Deflater() { deflateEnd(&z); }
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  // Deflates `in` (all of it; with `finish`, the end of the entry too) and hands each piece of
  // output to `out`.
  template <typename Out>
  void Run(std::string_view in, bool finish, Out&& out) {
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    unsigned char buffer[32 << 10];
    for (;;) {
      z.next_out = buffer;
      z.avail_out = sizeof buffer;
      const int rc = deflate(&z, finish ? Z_FINISH : Z_NO_FLUSH);
      assert(rc != Z_STREAM_ERROR);
      out(std::string_view(reinterpret_cast<char*>(buffer), sizeof buffer - z.avail_out));
      if (finish ? rc == Z_STREAM_END : (z.avail_in == 0 && z.avail_out != 0)) break;
    }
  }
};

ZipStream::ZipStream() : ZipStream(Options{}) {}
ZipStream::ZipStream(Options options) : options_(options) {}
ZipStream::~ZipStream() = default;
ZipStream::ZipStream(ZipStream&&) noexcept = default;
ZipStream& ZipStream::operator=(ZipStream&&) noexcept = default;

void ZipStream::Emit(std::string_view bytes) {
  out_.append(bytes);
  written_ += bytes.size();
}

std::string ZipStream::Take() {
  std::string out;
  out.swap(out_);
  return out;
}

void ZipStream::Begin(std::string_view name, uint64_t size) {
  assert(!finished_);
  if (open_) End();
  Entry e;
  e.name = std::string(name);
  e.offset = written_;
  e.zip64 = options_.zip64 == Zip64::kAlways || size >= kZip64Announce;
  entries_.push_back(std::move(e));
  open_ = true;
  started_ = false;
  trial_.clear();
  crc_ = static_cast<uint32_t>(crc32(0, nullptr, 0));
}

void ZipStream::Write(std::string_view data) {
  assert(open_);
  if (data.empty()) return;
  if (!started_) {
    const size_t take = std::min(data.size(), kTrialBytes - trial_.size());
    trial_.append(data.substr(0, take));
    data.remove_prefix(take);
    if (trial_.size() < kTrialBytes) return;
    Start();
  }
  Feed(data);
}

void ZipStream::Start() {
  Entry& e = entries_.back();
  if (options_.deflate && !trial_.empty()) {
    if (!deflater_) deflater_ = std::make_unique<Deflater>();
    size_t compressed = 0;
    deflateReset(&deflater_->z);
    deflater_->Run(trial_, true, [&](std::string_view piece) { compressed += piece.size(); });
    deflateReset(&deflater_->z);
    e.deflated = compressed < trial_.size() - trial_.size() / 10;
  }
  std::string h;
  Put32(h, 0x04034b50);  // local file header
  Put16(h, e.zip64 ? kVersion45 : kVersion20);
  Put16(h, kDescriptor | kUtf8Names);
  Put16(h, e.deflated ? kDeflated : kStored);
  Put16(h, kDosTime);
  Put16(h, kDosDate);
  Put32(h, 0);  // CRC and sizes: in the data descriptor
  Put32(h, e.zip64 ? kMax32 : 0);
  Put32(h, e.zip64 ? kMax32 : 0);
  Put16(h, static_cast<uint32_t>(e.name.size()));
  Put16(h, e.zip64 ? 20 : 0);  // extra field length
  h += e.name;
  if (e.zip64) {  // ZIP64 extended information: sizes to follow in the descriptor
    Put16(h, 0x0001);
    Put16(h, 16);
    Put64(h, 0);
    Put64(h, 0);
  }
  Emit(h);
  started_ = true;
  std::string trial;
  trial.swap(trial_);
  Feed(trial);
}

void ZipStream::Feed(std::string_view data) {
  if (data.empty()) return;
  Entry& e = entries_.back();
  crc_ = static_cast<uint32_t>(
      crc32(crc_, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
  e.size += data.size();
  if (!e.deflated) {
    Emit(data);
    e.compressed += data.size();
    return;
  }
  deflater_->Run(data, false, [&](std::string_view piece) {
    Emit(piece);
    e.compressed += piece.size();
  });
}

void ZipStream::End() {
  if (!started_) Start();
  Entry& e = entries_.back();
  if (e.deflated) {
    deflater_->Run({}, true, [&](std::string_view piece) {
      Emit(piece);
      e.compressed += piece.size();
    });
    deflateReset(&deflater_->z);
  }
  e.crc = crc_;
  // The data descriptor; 64-bit sizes where the local header said ZIP64 or a size needs them.
  const bool wide = e.zip64 || e.size >= kMax32 || e.compressed >= kMax32;
  std::string d;
  Put32(d, 0x08074b50);
  Put32(d, e.crc);
  if (wide) {
    Put64(d, e.compressed);
    Put64(d, e.size);
  } else {
    Put32(d, static_cast<uint32_t>(e.compressed));
    Put32(d, static_cast<uint32_t>(e.size));
  }
  Emit(d);
  open_ = false;
}

void ZipStream::Finish() {
  assert(!finished_);
  if (open_) End();
  finished_ = true;
  const bool always = options_.zip64 == Zip64::kAlways;
  const uint64_t directory_offset = written_;
  const size_t before = out_.size();
  for (const Entry& e : entries_) {
    const bool big_sizes = always || e.zip64 || e.size >= kMax32 || e.compressed >= kMax32;
    const bool big_offset = always || e.offset >= kMax32;
    std::string extra;
    if (big_sizes) {
      Put64(extra, e.size);
      Put64(extra, e.compressed);
    }
    if (big_offset) Put64(extra, e.offset);
    Put32(out_, 0x02014b50);  // central directory header
    const uint32_t version = big_sizes || big_offset ? kVersion45 : kVersion20;
    Put16(out_, 0x0300 | version);  // made by: Unix
    Put16(out_, version);
    Put16(out_, kDescriptor | kUtf8Names);
    Put16(out_, e.deflated ? kDeflated : kStored);
    Put16(out_, kDosTime);
    Put16(out_, kDosDate);
    Put32(out_, e.crc);
    Put32(out_, big_sizes ? kMax32 : static_cast<uint32_t>(e.compressed));
    Put32(out_, big_sizes ? kMax32 : static_cast<uint32_t>(e.size));
    Put16(out_, static_cast<uint32_t>(e.name.size()));
    Put16(out_, extra.empty() ? 0 : static_cast<uint32_t>(4 + extra.size()));
    Put16(out_, 0);               // comment
    Put16(out_, 0);               // disk number
    Put16(out_, 0);               // internal attributes
    Put32(out_, 0100644u << 16);  // external attributes: a regular file, rw-r--r--
    Put32(out_, big_offset ? kMax32 : static_cast<uint32_t>(e.offset));
    out_ += e.name;
    if (!extra.empty()) {
      Put16(out_, 0x0001);
      Put16(out_, static_cast<uint32_t>(extra.size()));
      out_ += extra;
    }
  }
  const uint64_t directory_size = out_.size() - before;
  const uint64_t count = entries_.size();
  const bool zip64 =
      always || count >= kMax16 || directory_offset >= kMax32 || directory_size >= kMax32;
  if (zip64) {
    const uint64_t record_offset = directory_offset + directory_size;
    Put32(out_, 0x06064b50);  // ZIP64 end of central directory record
    Put64(out_, 44);          // its size after this field
    Put16(out_, 0x0300 | kVersion45);
    Put16(out_, kVersion45);
    Put32(out_, 0);  // this disk
    Put32(out_, 0);  // the directory's disk
    Put64(out_, count);
    Put64(out_, count);
    Put64(out_, directory_size);
    Put64(out_, directory_offset);
    Put32(out_, 0x07064b50);  // its locator
    Put32(out_, 0);
    Put64(out_, record_offset);
    Put32(out_, 1);  // disks
  }
  Put32(out_, 0x06054b50);  // end of central directory
  Put16(out_, 0);
  Put16(out_, 0);
  Put16(out_, zip64 ? kMax16 : static_cast<uint32_t>(count));
  Put16(out_, zip64 ? kMax16 : static_cast<uint32_t>(count));
  Put32(out_, zip64 ? kMax32 : static_cast<uint32_t>(directory_size));
  Put32(out_, zip64 ? kMax32 : static_cast<uint32_t>(directory_offset));
  Put16(out_, 0);
  written_ = directory_offset + (out_.size() - before);
  entries_.clear();
}

}  // namespace baton
