// The job type registry (`baton server --types FILE`): what each declared type's payload may
// hold, and its defaults. Submit checks a payload against its type's parameters, fills the
// defaults, and lists every violation at once.
//
// The document (JSON, or TOML for a .toml file: [[types]] tables with the same fields):
//   {"types": [{"name": "render", "description": "...", "version": "1.2",
//               "parameters": {"frame": {"type": "integer", "min": 0, "max": 100000},
//                              "quality": {"type": "string", "enum": ["low", "high"],
//                                          "default": "low"},
//                              "start": {"type": "datetime"}, "end": {"type": "datetime"},
//                              "budget": {"type": "duration", "max": "2h", "required": false}},
//               "constraints": ["end > start"],
//               "timeout_ms": 60000, "attempts_max": 3, "retry": {"delay_initial_ms": 500},
//               "resources": {"cpu": 1}, "aggregator": "t", "verifier": "t", "splitter": "t",
//               "children_policy": {"failures_max": 2}}]}
// Parameter types: string, boolean, integer, float, datetime (RFC 3339: 2026-11-23T10:00:00Z or
// with an offset), duration ("250ms", "90s", "5m", "1h30m", "2d", or a number of milliseconds).
// A parameter without a default is required unless "required": false. A constraint compares two
// parameters of the same kind with <, <=, >, >=, == or != and holds when either is absent.
//
// Thread rules: immutable once parsed; const methods are thread-safe.
#pragma once

#include <boost/json.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "common/time_text.h"
#include "engine/types.h"

namespace baton::server {

enum class ParamKind { kString, kBoolean, kInteger, kFloat, kDatetime, kDuration };

struct ParamSpec {
  std::string name;
  ParamKind kind = ParamKind::kString;
  std::string description;
  std::optional<boost::json::value> default_value;
  bool required = true;
  std::optional<double> min, max;           // in the parameter's comparable form (ms for time)
  std::vector<boost::json::value> allowed;  // enum
};

struct Constraint {
  std::string left, op, right;
  std::string text;  // as written, for messages
};

struct JobType {
  std::string name, description, version;
  std::vector<ParamSpec> params;
  std::vector<Constraint> constraints;
  int64_t timeout_ms = 0;                    // 0: the server's default
  uint32_t attempts_max = 0;                 // 0: the server's default
  std::optional<engine::RetryPolicy> retry;  // unset: the server's default
  engine::Resources resources;               // what its jobs need when they ask for nothing
  std::string aggregator, verifier, splitter;
  std::optional<engine::ChildrenPolicy> children_policy;
  boost::json::object source;  // the declaration as written, for GET /v1/types
};

class TypeRegistry {
 public:
  // Every error names its path: "types[1].parameters.frame.min: must be a number".
  static Result<TypeRegistry> Parse(std::string_view document);
  static Result<TypeRegistry> Load(const std::string& path);

  const JobType* Find(std::string_view name) const;
  // What the engine applies at submit (timeouts, attempts, helpers, children policy).
  std::unordered_map<std::string, engine::TypeDefaults> EngineDefaults() const;
  const std::map<std::string, JobType, std::less<>>& types() const { return types_; }

  // Checks `payload` against `type`: unknown parameters, missing required ones, wrong kinds,
  // bounds, enums and constraints. Fills defaults. Every violation is in the one error, each
  // naming its field ("payload.frame: must be at most 100000, got 200000").
  // `path` names the payload in messages ("[3].payload" in a batch).
  static Status Check(const JobType& type, boost::json::object& payload,
                      const std::string& path = "payload");

  // With strict set (server --strict-types), a type the registry does not declare is refused.
  void set_strict(bool strict) { strict_ = strict; }
  bool strict() const { return strict_; }
  // Checks each spec's payload against its declared type (Check) and refuses undeclared types
  // when strict. `batch`: errors are prefixed "[i].". The engine fills the type's timeout,
  // attempts, helpers and children policy (EngineDefaults).
  Status Apply(std::vector<engine::JobSpec>& specs, bool batch) const;

 private:
  std::map<std::string, JobType, std::less<>> types_;
  bool strict_ = false;
};

}  // namespace baton::server
