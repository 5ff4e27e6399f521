// The local-disk BlobStore: each blob a file under the root, its key the path below it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include "store/blob_store.h"

namespace baton::store {

namespace fs = std::filesystem;

namespace {

// Temporary names end in ".tmp" (no key does: JobFiles reserves the suffix), with a number so
// that two uploads of one name do not write into each other.
constexpr std::string_view kTmp = ".tmp";
std::atomic<uint64_t> tmp_numbers{0};

Status Errno(const std::string& what, const fs::path& path, int err) {
  return Unavailable(what + " " + path.string() + ": " + std::strerror(err));
}

Status FsyncDir(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open", dir, errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return Errno("fsync", dir, err);
  return Status::Ok();
}

bool IsTmp(const std::string& name) { return name.size() > kTmp.size() && name.ends_with(kTmp); }

class DiskReader : public BlobReader {
 public:
  DiskReader(int fd, uint64_t size, fs::path path) : fd_(fd), size_(size), path_(std::move(path)) {}
  ~DiskReader() override { ::close(fd_); }
  DiskReader(const DiskReader&) = delete;
  DiskReader& operator=(const DiskReader&) = delete;
  uint64_t size() const override { return size_; }
  Result<std::string> Read(size_t max) override {
    std::string out(max, '\0');
    ssize_t n;
    do {
      n = ::read(fd_, out.data(), max);
    } while (n < 0 && errno == EINTR);
    if (n < 0) return Errno("read", path_, errno);
    out.resize(static_cast<size_t>(n));
    return out;
  }

 private:
  int fd_;
  uint64_t size_;
  fs::path path_;
};

class DiskWriter : public BlobWriter {
 public:
  DiskWriter(int fd, fs::path tmp, fs::path path)
      : fd_(fd), tmp_(std::move(tmp)), path_(std::move(path)) {}
  ~DiskWriter() override {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(tmp_.c_str());
  }
  DiskWriter(const DiskWriter&) = delete;
  DiskWriter& operator=(const DiskWriter&) = delete;

  Status Write(std::string_view data) override {
    if (fd_ < 0) return FailedPrecondition("write " + path_.string() + ": already committed");
    while (!data.empty()) {
      const ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return Errno("write", tmp_, n < 0 ? errno : ENOSPC);
      data.remove_prefix(static_cast<size_t>(n));
      size_ += static_cast<uint64_t>(n);
    }
    return Status::Ok();
  }
  uint64_t size() const override { return size_; }
  Status Commit() override {
    if (fd_ < 0) return FailedPrecondition("write " + path_.string() + ": already committed");
    const bool synced = ::fsync(fd_) == 0;
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    if (!synced) return Errno("fsync", tmp_, err);
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) return Errno("rename", tmp_, errno);
    committed_ = true;
    return Status::Ok();
  }

 private:
  int fd_;
  fs::path tmp_, path_;
  uint64_t size_ = 0;
  bool committed_ = false;
};

class DiskBlobStore : public BlobStore {
 public:
  explicit DiskBlobStore(fs::path root) : root_(std::move(root)) {}

  Result<std::unique_ptr<BlobWriter>> Create(const std::string& key) override {
    const fs::path path = root_ / key;
    // A first directory below the root that is new must have its name made durable too; Publish
    // syncs only from the blob's directory up to that one.
    const fs::path top = root_ / fs::path(key).begin()->string();
    std::error_code ec;
    const bool new_top = !fs::exists(top, ec);
    fs::create_directories(path.parent_path(), ec);
    if (ec) return Unavailable("create " + path.parent_path().string() + ": " + ec.message());
    if (new_top) BATON_RETURN_IF_ERROR(FsyncDir(root_));
    const fs::path tmp =
        path.string() + "." + std::to_string(tmp_numbers.fetch_add(1)) + std::string(kTmp);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return Errno("write", tmp, errno);
    return std::unique_ptr<BlobWriter>(std::make_unique<DiskWriter>(fd, tmp, path));
  }

  Result<std::unique_ptr<BlobReader>> Open(const std::string& key) const override {
    const fs::path path = root_ / key;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT || errno == ENOTDIR || errno == EISDIR) return NotFound(key);
      return Errno("read", path, errno);
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      return NotFound(key);
    }
    return std::unique_ptr<BlobReader>(
        std::make_unique<DiskReader>(fd, static_cast<uint64_t>(st.st_size), path));
  }

  Status Publish(const std::vector<std::string>& keys) override {
    std::set<fs::path> done;
    for (const std::string& key : keys) {
      const fs::path top = root_ / fs::path(key).begin()->string();
      for (fs::path dir = (root_ / key).parent_path();; dir = dir.parent_path()) {
        if (done.insert(dir).second) BATON_RETURN_IF_ERROR(FsyncDir(dir));
        if (dir == top || dir == root_ || !dir.has_relative_path()) break;
      }
    }
    return Status::Ok();
  }

  Result<std::vector<BlobInfo>> List(const std::string& prefix) const override {
    const fs::path dir = root_ / prefix;
    std::vector<BlobInfo> out;
    std::error_code ec;
    if (!fs::exists(dir, ec)) return out;
    for (auto it = fs::recursive_directory_iterator(dir, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      std::string name = fs::relative(it->path(), dir, ec).string();
      if (IsTmp(name)) continue;  // a write in flight
      out.push_back({std::move(name), static_cast<uint64_t>(it->file_size(ec))});
    }
    if (ec) return Unavailable("list " + dir.string() + ": " + ec.message());
    std::sort(out.begin(), out.end(),
              [](const BlobInfo& a, const BlobInfo& b) { return a.name < b.name; });
    return out;
  }

  Result<std::vector<std::string>> Children(const std::string& prefix) const override {
    const fs::path dir = root_ / prefix;
    std::vector<std::string> out;
    std::error_code ec;
    if (!fs::exists(dir, ec)) return out;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      out.push_back(entry.path().filename().string());
    }
    if (ec) return Unavailable("list " + dir.string() + ": " + ec.message());
    std::sort(out.begin(), out.end());
    return out;
  }

  void Remove(const std::string& key) override {
    std::error_code ec;
    fs::remove(root_ / key, ec);
  }
  void RemoveAll(const std::string& prefix) override {
    std::error_code ec;
    fs::remove_all(root_ / prefix, ec);
  }

 private:
  fs::path root_;
};

}  // namespace

Result<std::unique_ptr<BlobStore>> OpenDiskBlobStore(const std::string& root) {
  std::error_code ec;
  fs::create_directories(root, ec);
  if (ec) return Unavailable("files: cannot create " + root + ": " + ec.message());
  return std::unique_ptr<BlobStore>(std::make_unique<DiskBlobStore>(root));
}

}  // namespace baton::store
