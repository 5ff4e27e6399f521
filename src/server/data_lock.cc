#include "server/data_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace baton::server {

Result<std::unique_ptr<DataLock>> DataLock::Acquire(const std::string& dir) {
  const std::string path = dir + "/server.lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return Unavailable("--data " + dir + ": cannot open " + path + ": " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    char buf[32] = {};
    const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    ::close(fd);
    if (err != EWOULDBLOCK) {
      return Unavailable("--data " + dir + ": cannot lock " + path + ": " + std::strerror(err));
    }
    std::string pid(buf, n > 0 ? static_cast<size_t>(n) : 0);
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return FailedPrecondition("--data " + dir + ": another baton server (pid " +
                              (pid.empty() ? std::string("unknown") : pid) +
                              ") uses this data directory; stop it, or give this one another "
                              "--data");
  }
  // Ours: say who holds it.
  const std::string line = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, line.data(), line.size(), 0) < 0) {
    const int err = errno;
    ::close(fd);
    return Unavailable("--data " + dir + ": cannot write " + path + ": " + std::strerror(err));
  }
  return std::unique_ptr<DataLock>(new DataLock(fd));
}

DataLock::~DataLock() { ::close(fd_); }  // the lock goes with the descriptor

}  // namespace baton::server
