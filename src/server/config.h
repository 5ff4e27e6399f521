// The server's config file (`baton server --config FILE`; TOML for .toml, YAML for .yaml/.yml,
// else JSON). Every section is optional; every error names its path and changes nothing.
//
//   [scheduling]                      # docs/operations.md, "Scheduling"
//   user_running_max = 20             # running jobs per user (0: no limit)
//   user_type_running_max = 0         # running jobs per user and type
//   resources_max = { cpu = 64, gpu = 8 }   # the most one worker may have of each
//   resource_max_default = 1000000000       # of resources not listed
//   [scheduling.users.alice]
//   running_max = 50
//   type_running_max = 10
//   types = { render = 4 }
//   [scheduling.types.render]
//   running_max = 100                 # all users together
//   rate = 20.0                       # attempts started per second (token bucket)
//   burst = 40
//
//   [retention]                       # docs/operations.md, "Retention"
//   finished = "7d"                   # finished jobs, with their files, logs and results (0: keep)
//   events = "7d"                     # events, by age (0: keep)
//   interval = "1m"                   # how often the cleaner looks
//   types = { scratch = "1h" }        # per type; a job's own retention_ms comes first
//
//   [[schedules]]                     # cron schedules, put at every start (docs/api.md)
//   name = "nightly-report"
//   cron = "0 3 * * *"
//   time_zone = "Europe/Paris"
//   catch_up = "once"                 # or "skip" (the default)
//   owner = "alice"                   # the user its jobs belong to
//   job = { type = "report", payload = { scope = "all" } }
//
// Thread rules: pure functions.
#pragma once

#include <boost/json.hpp>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/types.h"

namespace baton::server {

// How long finished jobs and events are kept, in ms; 0 keeps them forever.
struct RetentionPolicy {
  static constexpr int64_t kWeekMs = 7 * 86'400'000LL;
  int64_t finished_ms = kWeekMs;
  int64_t events_ms = kWeekMs;
  int64_t interval_ms = 60'000;
  std::map<std::string, int64_t> types;
  // Jobs deleted per commit; the cleaner pauses between batches so it never holds up the engine.
  size_t batch_max = 500;
  int64_t batch_pause_ms = 20;

  // A job's retention: its own, else its type's, else finished_ms.
  int64_t For(const std::string& type, int64_t job_retention_ms) const {
    if (job_retention_ms > 0) return job_retention_ms;
    auto it = types.find(type);
    return it != types.end() ? it->second : finished_ms;
  }
};

struct ServerConfig {
  engine::SchedulingPolicy scheduling;
  RetentionPolicy retention;
  std::vector<engine::ScheduleRecord> schedules;
};

// The config as JSON text (documents.h converts TOML and YAML).
Result<ServerConfig> ParseConfig(std::string_view json_text);
// Reads and parses the file; errors start with "--config PATH: ".
Result<ServerConfig> LoadConfig(const std::string& path);

// The [retention] table: durations as text ("7d", "90m") or ms; 0 keeps forever.
Result<RetentionPolicy> ParseRetention(const boost::json::value& v, const std::string& path);

Result<engine::SchedulingPolicy> ParseSchedulingPolicy(const boost::json::value& v,
                                                       const std::string& path);
boost::json::object SchedulingPolicyJson(const engine::SchedulingPolicy& p);
boost::json::object RetentionPolicyJson(const RetentionPolicy& p);

// {"name", "cron", "time_zone", "catch_up", "job", "paused", "owner"}: a schedule as the API and
// the config file write it; `path` prefixes errors. The job is kept as JSON text, unchecked.
Result<engine::ScheduleRecord> ParseSchedule(const boost::json::value& v, const std::string& path);

}  // namespace baton::server
