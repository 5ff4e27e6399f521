// DataLock: one server per data directory. `DATA/server.lock` is held with flock(2) for as long
// as the server runs and names its process; a second server on the same directory is refused
// with that process's id. The kernel drops the lock when the process ends however it ends
// (SIGKILL included), so a lock file left behind never blocks a restart.
//
// Thread rules: Acquire from one thread; the lock is released when the object goes.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"

namespace baton::server {

class DataLock {
 public:
  // FailedPrecondition naming the holder's pid if another process holds `dir`'s lock.
  static Result<std::unique_ptr<DataLock>> Acquire(const std::string& dir);
  ~DataLock();
  DataLock(const DataLock&) = delete;
  DataLock& operator=(const DataLock&) = delete;

 private:
  explicit DataLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace baton::server
