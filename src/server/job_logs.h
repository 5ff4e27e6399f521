// JobLogs: what jobs print, as workers stream it: one file per job under DATA/logs, appended in
// the order the chunks arrive. Logs are for people, not for recovery: they are written without
// fsync and are not part of a job's committed state.
//
// Thread rules: thread-safe (each append is one write(2) with O_APPEND).
#pragma once

#include <string>

#include "common/status.h"
#include "engine/types.h"

namespace baton::server {

class JobLogs {
 public:
  // `dir` is created if missing. `job_bytes_max`: a job's log stops growing there (a line says so).
  static Result<JobLogs> Open(const std::string& dir, size_t job_bytes_max);

  void Append(engine::JobId job, const std::string& data);
  // Up to `max` bytes from `offset`; empty past the end (or when the job never logged).
  Result<std::string> Read(engine::JobId job, size_t offset, size_t max) const;

 private:
  std::string Path(engine::JobId job) const;
  std::string dir_;
  size_t job_bytes_max_ = 0;
};

}  // namespace baton::server
