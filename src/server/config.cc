#include "server/config.h"

#include <fstream>
#include <limits>
#include <sstream>

#include "common/time_text.h"
#include "engine/spec_json.h"
#include "server/documents.h"

namespace baton::server {

namespace json = boost::json;
using engine::Int;
using engine::Wrong;

namespace {

constexpr int64_t kCountMax = 1'000'000;

Result<uint32_t> Count(const json::value& v, const std::string& field) {
  auto n = Int(v, field, 0, kCountMax);
  if (!n.ok()) return n.status();
  return static_cast<uint32_t>(*n);
}

Status Unknown(const std::string& field, std::string_view known) {
  return InvalidArgument(field + ": unknown field (known: " + std::string(known) + ")");
}

Result<engine::UserPolicy> ParseUser(const json::value& v, const std::string& path) {
  if (!v.is_object()) return Wrong(path, "a table", v);
  engine::UserPolicy u;
  for (const auto& [key, value] : v.as_object()) {
    const std::string field = path + "." + std::string(key);
    if (key == "running_max" || key == "type_running_max") {
      auto n = Count(value, field);
      if (!n.ok()) return n.status();
      (key == "running_max" ? u.running_max : u.type_running_max) = *n;
    } else if (key == "types") {
      if (!value.is_object()) return Wrong(field, "a table of type = running_max", value);
      for (const auto& [type, n] : value.as_object()) {
        auto count = Count(n, field + "." + std::string(type));
        if (!count.ok()) return count.status();
        u.types[std::string(type)] = *count;
      }
    } else {
      return Unknown(field, "running_max, type_running_max, types");
    }
  }
  return u;
}

Result<engine::TypePolicy> ParseType(const json::value& v, const std::string& path) {
  if (!v.is_object()) return Wrong(path, "a table", v);
  engine::TypePolicy t;
  for (const auto& [key, value] : v.as_object()) {
    const std::string field = path + "." + std::string(key);
    if (key == "running_max" || key == "burst") {
      auto n = Count(value, field);
      if (!n.ok()) return n.status();
      (key == "running_max" ? t.running_max : t.burst) = *n;
    } else if (key == "rate") {
      double rate = 0;
      if (value.is_double()) {
        rate = value.as_double();
      } else if (value.is_int64()) {
        rate = static_cast<double>(value.as_int64());
      } else {
        return Wrong(field, "a number of attempts started per second", value);
      }
      if (!(rate >= 0.001 && rate <= 1e6)) {
        return InvalidArgument(field + ": must be between 0.001 and 1000000 a second");
      }
      t.rate_per_s = rate;
    } else {
      return Unknown(field, "running_max, rate, burst");
    }
  }
  if (t.burst != 0 && t.rate_per_s == 0) {
    return InvalidArgument(path + ".burst: needs a rate");
  }
  return t;
}

}  // namespace

Result<engine::SchedulingPolicy> ParseSchedulingPolicy(const json::value& v,
                                                       const std::string& path) {
  if (!v.is_object()) return Wrong(path, "a table", v);
  engine::SchedulingPolicy p;
  for (const auto& [key, value] : v.as_object()) {
    const std::string field = path + "." + std::string(key);
    if (key == "user_running_max" || key == "user_type_running_max") {
      auto n = Count(value, field);
      if (!n.ok()) return n.status();
      (key == "user_running_max" ? p.user_running_max : p.user_type_running_max) = *n;
    } else if (key == "users" || key == "types") {
      if (!value.is_object()) return Wrong(field, "a table of tables", value);
      for (const auto& [name, entry] : value.as_object()) {
        const std::string at = field + "." + std::string(name);
        if (key == "users") {
          auto u = ParseUser(entry, at);
          if (!u.ok()) return u.status();
          p.users[std::string(name)] = std::move(*u);
        } else {
          auto t = ParseType(entry, at);
          if (!t.ok()) return t.status();
          p.types[std::string(name)] = *t;
        }
      }
    } else if (key == "resources_max") {
      Result<engine::Resources> r = engine::ParseResourcesJson(value, field);
      if (!r.ok()) return r.status();
      for (const auto& [name, amount] : *r) p.resources_max[name] = amount;
    } else if (key == "resource_max_default") {
      auto n = Int(value, field, 0, std::numeric_limits<int64_t>::max());
      if (!n.ok()) return n.status();
      p.resource_max_default = *n;
    } else {
      return Unknown(field,
                     "user_running_max, user_type_running_max, users, types, resources_max, "
                     "resource_max_default");
    }
  }
  return p;
}

json::object RetentionPolicyJson(const RetentionPolicy& p) {
  json::object types;
  for (const auto& [type, ms] : p.types) types[type] = ms;
  return json::object{{"finished_ms", p.finished_ms},
                      {"events_ms", p.events_ms},
                      {"interval_ms", p.interval_ms},
                      {"types", std::move(types)}};
}

json::object SchedulingPolicyJson(const engine::SchedulingPolicy& p) {
  json::object o;
  o["user_running_max"] = p.user_running_max;
  o["user_type_running_max"] = p.user_type_running_max;
  json::object users;
  for (const auto& [name, u] : p.users) {
    json::object uo;
    if (u.running_max) uo["running_max"] = *u.running_max;
    if (u.type_running_max) uo["type_running_max"] = *u.type_running_max;
    json::object types;
    for (const auto& [type, n] : u.types) types[type] = n;
    uo["types"] = std::move(types);
    users[name] = std::move(uo);
  }
  o["users"] = std::move(users);
  json::object types;
  for (const auto& [name, t] : p.types) {
    json::object to;
    to["running_max"] = t.running_max;
    to["rate"] = t.rate_per_s;
    to["burst"] = t.burst;
    types[name] = std::move(to);
  }
  o["types"] = std::move(types);
  json::object max;
  for (const auto& [name, amount] : p.resources_max) max[name] = amount;
  o["resources_max"] = std::move(max);
  o["resource_max_default"] = p.resource_max_default;
  return o;
}

Result<engine::ScheduleRecord> ParseSchedule(const json::value& v, const std::string& path) {
  if (!v.is_object()) return engine::Wrong(path, "an object", v);
  engine::ScheduleRecord r;
  bool has_cron = false, has_job = false;
  for (const auto& [key, value] : v.as_object()) {
    const std::string field = path.empty() ? std::string(key) : path + "." + std::string(key);
    if (key == "name" || key == "cron" || key == "time_zone" || key == "owner") {
      Result<std::string> s = engine::String(value, field);
      if (!s.ok()) return s.status();
      (key == "name"        ? r.name
       : key == "cron"      ? r.cron
       : key == "time_zone" ? r.time_zone
                            : r.owner) = std::move(*s);
      has_cron |= key == "cron";
    } else if (key == "catch_up") {
      auto c = value.is_string() ? engine::ParseCatchUp(value.as_string()) : std::nullopt;
      if (!c) return engine::Wrong(field, "\"skip\" or \"once\"", value);
      r.catch_up = *c;
    } else if (key == "job") {
      if (!value.is_object()) return engine::Wrong(field, "a job object, as POST /v1/jobs", value);
      r.job = json::serialize(value);
      has_job = true;
    } else if (key == "paused") {
      if (!value.is_bool()) return engine::Wrong(field, "true or false", value);
      r.paused = value.as_bool();
    } else {
      return InvalidArgument(field +
                             ": unknown field (known: name, cron, time_zone, catch_up, job, "
                             "paused, owner)");
    }
  }
  const std::string prefix = path.empty() ? "" : path + ".";
  if (r.name.empty()) return InvalidArgument(prefix + "name: is required");
  if (!has_cron) return InvalidArgument(prefix + "cron: is required");
  if (!has_job) return InvalidArgument(prefix + "job: is required");
  return r;
}

namespace {

// A duration: text ("7d", "1h30m", "0") or a number of ms, from 0 to 100 years.
Result<int64_t> Duration(const json::value& v, const std::string& field) {
  constexpr int64_t kMax = 100LL * 365 * 86'400'000;
  if (v.is_string()) {
    const std::string_view text = v.as_string();
    std::optional<int64_t> ms = text == "0" ? std::optional<int64_t>(0) : ParseDurationMs(text);
    if (!ms || *ms < 0 || *ms > kMax) {
      return InvalidArgument(field +
                             ": must be a duration like \"7d\", \"12h\" or \"90m\" (0: "
                             "forever), got \"" +
                             std::string(text) + "\"");
    }
    return *ms;
  }
  return Int(v, field, 0, kMax);
}

}  // namespace

Result<RetentionPolicy> ParseRetention(const json::value& v, const std::string& path) {
  if (!v.is_object()) return Wrong(path, "a table", v);
  RetentionPolicy r;
  for (const auto& [key, value] : v.as_object()) {
    const std::string field = path + "." + std::string(key);
    if (key == "finished" || key == "events" || key == "interval") {
      auto ms = Duration(value, field);
      if (!ms.ok()) return ms.status();
      if (key == "interval" && *ms < 1000) {
        return InvalidArgument(field + ": must be at least 1s");
      }
      (key == "finished" ? r.finished_ms : key == "events" ? r.events_ms : r.interval_ms) = *ms;
    } else if (key == "types") {
      if (!value.is_object()) return Wrong(field, "a table of type = duration", value);
      for (const auto& [type, d] : value.as_object()) {
        auto ms = Duration(d, field + "." + std::string(type));
        if (!ms.ok()) return ms.status();
        r.types[std::string(type)] = *ms;
      }
    } else {
      return Unknown(field, "finished, events, interval, types");
    }
  }
  return r;
}

Result<ServerConfig> ParseConfig(std::string_view json_text) {
  boost::system::error_code ec;
  json::value v = json::parse(json_text, ec);
  if (ec) return InvalidArgument("not valid JSON: " + ec.message());
  if (!v.is_object()) return Wrong("config", "a table", v);
  ServerConfig c;
  for (const auto& [key, value] : v.as_object()) {
    if (key == "scheduling") {
      auto p = ParseSchedulingPolicy(value, "scheduling");
      if (!p.ok()) return p.status();
      c.scheduling = std::move(*p);
    } else if (key == "schedules") {
      if (!value.is_array()) return Wrong("schedules", "an array of schedules", value);
      for (size_t i = 0; i < value.as_array().size(); ++i) {
        auto s = ParseSchedule(value.as_array()[i], engine::Indexed("schedules", i));
        if (!s.ok()) return s.status();
        if (s->owner.empty()) {
          return InvalidArgument(engine::Indexed("schedules", i) +
                                 ".owner: is required (the user its jobs belong to)");
        }
        c.schedules.push_back(std::move(*s));
      }
    } else if (key == "retention") {
      auto r = ParseRetention(value, "retention");
      if (!r.ok()) return r.status();
      c.retention = std::move(*r);
    } else {
      return Unknown(std::string(key), "scheduling, retention, schedules");
    }
  }
  return c;
}

Result<ServerConfig> LoadConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return InvalidArgument("--config " + path + ": cannot read it");
  std::stringstream s;
  s << in.rdbuf();
  Result<std::string> text = DocumentToJson(s.str(), FormatOfPath(path));
  if (!text.ok()) return text.status().WithContext("--config " + path);
  Result<ServerConfig> c = ParseConfig(*text);
  if (!c.ok()) return c.status().WithContext("--config " + path);
  return c;
}

}  // namespace baton::server
