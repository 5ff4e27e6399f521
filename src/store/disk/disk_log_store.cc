// The local-disk LogStore: DIR/<job>.log, appended with one write(2) under O_APPEND.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "store/log_store.h"

namespace baton::store {

namespace {

class DiskLogStore : public LogStore {
 public:
  explicit DiskLogStore(std::string dir) : dir_(std::move(dir)) {}

  Status Append(engine::JobId job, std::string_view data) override {
    const std::string path = Path(job);
    const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return Failed("write", path);
    const ssize_t n = ::write(fd, data.data(), data.size());
    const int err = errno;
    ::close(fd);
    if (n != static_cast<ssize_t>(data.size())) {
      return Unavailable("logs: cannot write " + path + ": " +
                         (n < 0 ? std::strerror(err) : "short write"));
    }
    return Status::Ok();
  }

  Result<uint64_t> Size(engine::JobId job) const override {
    struct stat st {};
    const std::string path = Path(job);
    if (::stat(path.c_str(), &st) != 0) {
      if (errno == ENOENT) return uint64_t{0};
      return Failed("read", path);
    }
    return static_cast<uint64_t>(st.st_size);
  }

  Result<std::string> Read(engine::JobId job, uint64_t offset, size_t max) const override {
    const std::string path = Path(job);
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) return std::string();
      return Failed("read", path);
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      const Status s = Failed("read", path);
      ::close(fd);
      return s;
    }
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    std::string out(offset >= size ? 0 : std::min<uint64_t>(max, size - offset), '\0');
    const ssize_t n =
        out.empty() ? 0 : ::pread(fd, out.data(), out.size(), static_cast<off_t>(offset));
    const int err = errno;
    ::close(fd);
    if (n < 0) return Unavailable("logs: cannot read " + path + ": " + std::strerror(err));
    out.resize(static_cast<size_t>(n));
    return out;
  }

  void Remove(engine::JobId job) override { ::unlink(Path(job).c_str()); }

 private:
  std::string Path(engine::JobId job) const { return dir_ + "/" + std::to_string(job) + ".log"; }
  static Status Failed(const char* what, const std::string& path) {
    return Unavailable(std::string("logs: cannot ") + what + " " + path + ": " +
                       std::strerror(errno));
  }
  std::string dir_;
};

}  // namespace

Result<std::unique_ptr<LogStore>> OpenDiskLogStore(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Unavailable("logs: cannot create " + dir + ": " + ec.message());
  return std::unique_ptr<LogStore>(std::make_unique<DiskLogStore>(dir));
}

}  // namespace baton::store
