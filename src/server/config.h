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
// Thread rules: pure functions.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "common/status.h"
#include "engine/types.h"

namespace baton::server {

struct ServerConfig {
  engine::SchedulingPolicy scheduling;
};

// The config as JSON text (documents.h converts TOML and YAML).
Result<ServerConfig> ParseConfig(std::string_view json_text);
// Reads and parses the file; errors start with "--config PATH: ".
Result<ServerConfig> LoadConfig(const std::string& path);

Result<engine::SchedulingPolicy> ParseSchedulingPolicy(const boost::json::value& v,
                                                       const std::string& path);
boost::json::object SchedulingPolicyJson(const engine::SchedulingPolicy& p);

}  // namespace baton::server
