// LogStore: what jobs print, one append-only log per job, kept apart from the jobs' committed
// state. JobLogs (server/job_logs.h) keeps the limits and the followers; a backend only keeps
// bytes, and reads them back in bounded pieces. Logs are for people, not for recovery: an append
// need not be durable.
//
// The local-disk backend (OpenDiskLogStore) keeps one file per job, appended with O_APPEND. The
// PostgreSQL one (postgres/postgres_files.h) keeps them in a table that every server reaches.
//
// Thread rules: thread-safe; appends to one job's log are made in order by one caller at a time
// (JobLogs holds its lock across them).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "engine/types.h"

namespace baton::store {

class LogStore {
 public:
  virtual ~LogStore() = default;
  virtual Status Append(engine::JobId job, std::string_view data) = 0;
  // The log's length; 0 for a job that never logged.
  virtual Result<uint64_t> Size(engine::JobId job) const = 0;
  // Up to `max` bytes from `offset`; empty past the end or for a job that never logged.
  virtual Result<std::string> Read(engine::JobId job, uint64_t offset, size_t max) const = 0;
  virtual void Remove(engine::JobId job) = 0;
};

// A file per job under `dir` (created if missing): DIR/<job>.log.
Result<std::unique_ptr<LogStore>> OpenDiskLogStore(const std::string& dir);

}  // namespace baton::store
