#include "server/job_logs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace baton::server {

Result<JobLogs> JobLogs::Open(const std::string& dir, size_t job_bytes_max) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Unavailable("logs: cannot create " + dir + ": " + ec.message());
  JobLogs logs;
  logs.dir_ = dir;
  logs.job_bytes_max_ = job_bytes_max;
  return logs;
}

std::string JobLogs::Path(engine::JobId job) const {
  return dir_ + "/" + std::to_string(job) + ".log";
}

void JobLogs::Append(engine::JobId job, const std::string& data) {
  const std::string path = Path(job);
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return;
  struct stat st {};
  if (::fstat(fd, &st) == 0) {
    const size_t size = static_cast<size_t>(st.st_size);
    if (size >= job_bytes_max_) {
      ::close(fd);
      return;
    }
    if (size + data.size() > job_bytes_max_) {
      const std::string cut = data.substr(0, job_bytes_max_ - size) +
                              "\n[baton: the log reached its limit of " +
                              std::to_string(job_bytes_max_) + " bytes; the rest is dropped]\n";
      [[maybe_unused]] ssize_t n = ::write(fd, cut.data(), cut.size());
      ::close(fd);
      return;
    }
  }
  [[maybe_unused]] ssize_t n = ::write(fd, data.data(), data.size());
  ::close(fd);
}

Result<std::string> JobLogs::Read(engine::JobId job, size_t offset, size_t max) const {
  const std::string path = Path(job);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::string();
    return Unavailable("logs: cannot read " + path + ": " + std::strerror(errno));
  }
  std::string out(max, '\0');
  const ssize_t n = ::pread(fd, out.data(), max, static_cast<off_t>(offset));
  ::close(fd);
  if (n < 0) return Unavailable("logs: cannot read " + path + ": " + std::strerror(errno));
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace baton::server
