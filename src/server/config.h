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
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/types.h"

namespace baton::server {

struct ServerConfig {
  engine::SchedulingPolicy scheduling;
  std::vector<engine::ScheduleRecord> schedules;
};

// The config as JSON text (documents.h converts TOML and YAML).
Result<ServerConfig> ParseConfig(std::string_view json_text);
// Reads and parses the file; errors start with "--config PATH: ".
Result<ServerConfig> LoadConfig(const std::string& path);

Result<engine::SchedulingPolicy> ParseSchedulingPolicy(const boost::json::value& v,
                                                       const std::string& path);
boost::json::object SchedulingPolicyJson(const engine::SchedulingPolicy& p);

// {"name", "cron", "time_zone", "catch_up", "job", "paused", "owner"}: a schedule as the API and
// the config file write it; `path` prefixes errors. The job is kept as JSON text, unchecked.
Result<engine::ScheduleRecord> ParseSchedule(const boost::json::value& v, const std::string& path);

}  // namespace baton::server
