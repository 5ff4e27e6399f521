// CopyDatabase: everything one database holds, copied into another that is empty: jobs with
// their status and attempts, the event log (with its sequence numbers), workflows, schedules,
// paused types, tokens, and the files and logs of each. What `baton migrate` does (SQLite to
// PostgreSQL, or any backend to any other), through the Database interfaces only.
//
// The source must not change meanwhile (the caller holds its server's lock); the target must be
// empty (no job, workflow, schedule or token: no server has used it), else FailedPrecondition
// and nothing is written. Each batch is one commit, so a copy that fails part way leaves a
// partial target: drop it and copy again.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"
#include "store/database.h"

namespace baton::store {

struct CopyCounts {
  uint64_t jobs = 0;
  uint64_t attempts = 0;
  uint64_t events = 0;
  uint64_t workflows = 0;
  uint64_t schedules = 0;
  uint64_t paused_types = 0;
  uint64_t tokens = 0;
  uint64_t files = 0;
  uint64_t file_bytes = 0;
  uint64_t logs = 0;
  uint64_t log_bytes = 0;
};

// `progress` hears a line now and then ("12000 jobs copied").
Result<CopyCounts> CopyDatabase(Database& from, FileStores& from_files, Database& to,
                                FileStores& to_files,
                                const std::function<void(const std::string&)>& progress);

}  // namespace baton::store
