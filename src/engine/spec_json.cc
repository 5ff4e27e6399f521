#include "engine/spec_json.h"

#include <algorithm>
#include <limits>

namespace baton::engine {

namespace json = boost::json;

namespace {

std::string Describe(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return v.as_bool() ? "true" : "false";
    case json::kind::string: {
      std::string s = json::serialize(v);
      return s.size() > 40 ? s.substr(0, 37) + "...\"" : s;
    }
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
    default:
      return json::serialize(v);
  }
}

}  // namespace

// "field[i]", appended piece by piece (GCC 12 warns falsely about "[" + std::to_string(i)).
std::string Indexed(const std::string& field, size_t i) {
  std::string out = field;
  out += '[';
  out += std::to_string(i);
  out += ']';
  return out;
}

Status Wrong(const std::string& field, std::string_view want, const json::value& got) {
  return InvalidArgument(field + ": must be " + std::string(want) + ", got " + Describe(got));
}

// Reads an integer in [min, max] (JSON numbers without a fraction).
Result<int64_t> Int(const json::value& v, const std::string& field, int64_t min, int64_t max) {
  int64_t out = 0;
  if (v.is_int64()) {
    out = v.as_int64();
  } else if (v.is_uint64()) {  // only values above INT64_MAX parse as uint64
    return InvalidArgument(field + ": must be between " + std::to_string(min) + " and " +
                           std::to_string(max) + ", got " + std::to_string(v.as_uint64()));
  } else {
    return Wrong(field, "an integer", v);
  }
  if (out < min || out > max) {
    return InvalidArgument(field + ": must be between " + std::to_string(min) + " and " +
                           std::to_string(max) + ", got " + std::to_string(out));
  }
  return out;
}

Result<double> Number(const json::value& v, const std::string& field) {
  if (v.is_double()) return v.as_double();
  if (v.is_int64()) return static_cast<double>(v.as_int64());
  if (v.is_uint64()) return static_cast<double>(v.as_uint64());
  return Wrong(field, "a number", v);
}

Result<std::string> String(const json::value& v, const std::string& field) {
  if (!v.is_string()) return Wrong(field, "a string", v);
  return std::string(v.as_string());
}

Result<RetryPolicy> ParseRetry(const json::value& v, const std::string& path) {
  if (!v.is_object()) return Wrong(path, "an object", v);
  RetryPolicy r;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  for (const auto& [key, value] : v.as_object()) {
    const std::string field = path + "." + std::string(key);
    if (key == "delay_initial_ms") {
      auto n = Int(value, field, 0, kMax);
      if (!n.ok()) return n.status();
      r.delay_ms_initial = *n;
    } else if (key == "delay_max_ms") {
      auto n = Int(value, field, 0, kMax);
      if (!n.ok()) return n.status();
      r.delay_ms_max = *n;
    } else if (key == "multiplier") {
      auto d = Number(value, field);
      if (!d.ok()) return d.status();
      r.multiplier = *d;
    } else if (key == "jitter") {
      auto d = Number(value, field);
      if (!d.ok()) return d.status();
      r.jitter = *d;
    } else if (key == "retry_on") {
      if (!value.is_array()) return Wrong(field, "an array of outcomes", value);
      r.retry_on = 0;
      for (size_t i = 0; i < value.as_array().size(); ++i) {
        const json::value& item = value.as_array()[i];
        const std::string item_field = Indexed(field, i);
        auto name = String(item, item_field);
        if (!name.ok()) return name.status();
        auto outcome = ParseOutcome(*name);
        if (!outcome || (OutcomeBit(*outcome) & kRetryableOutcomes) == 0) {
          return InvalidArgument(item_field +
                                 ": must be one of error, timeout, lost, rejected, got \"" + *name +
                                 "\"");
        }
        r.retry_on |= OutcomeBit(*outcome);
      }
    } else {
      return InvalidArgument(field +
                             ": unknown field (known: delay_initial_ms, multiplier, "
                             "delay_max_ms, jitter, retry_on)");
    }
  }
  return r;
}

namespace {

std::string Prefix(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

}  // namespace

Result<ChildrenPolicy> ParseChildrenPolicyJson(const json::value& v, const std::string& field) {
  const std::string expected = R"("all", {"failures_max": N} or {"quorum": N})";
  if (v.is_string() && v.as_string() == "all") return ChildrenPolicy{};
  if (!v.is_object() || v.as_object().size() != 1) return Wrong(field, expected, v);
  const auto& [key, n] = *v.as_object().begin();
  ChildrenPolicy p;
  if (key == "failures_max") {
    p.kind = ChildrenPolicy::kFailuresMax;
  } else if (key == "quorum") {
    p.kind = ChildrenPolicy::kQuorum;
  } else {
    return Wrong(field, expected, v);
  }
  auto count = Int(n, field + "." + std::string(key), p.kind == ChildrenPolicy::kQuorum,
                   std::numeric_limits<uint32_t>::max());
  if (!count.ok()) return count.status();
  p.n = static_cast<uint32_t>(*count);
  return p;
}

json::value ChildrenPolicyJson(const ChildrenPolicy& p) {
  if (p.kind == ChildrenPolicy::kAll) return "all";
  json::object o;
  o[p.kind == ChildrenPolicy::kQuorum ? "quorum" : "failures_max"] = p.n;
  return o;
}

Result<Resources> ParseResourcesJson(const json::value& v, const std::string& field) {
  if (!v.is_object()) return Wrong(field, R"(an object of amounts, like {"cpu": 2, "gpu": 1})", v);
  Resources out;
  for (const auto& [key, amount] : v.as_object()) {
    const std::string name(key);
    const std::string at = field + "." + name;
    if (!ValidSchedulingName(name)) {
      return InvalidArgument(at + ": not a resource name (1 to 64 of a-z A-Z 0-9 _ - . /)");
    }
    auto n = Int(amount, at, 1, std::numeric_limits<int64_t>::max());
    if (!n.ok()) return n.status();
    out.emplace_back(name, *n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<Labels> ParseLabelsJson(const json::value& v, const std::string& field) {
  if (!v.is_object()) return Wrong(field, R"(an object of strings, like {"zone": "eu"})", v);
  Labels out;
  for (const auto& [key, value] : v.as_object()) {
    const std::string name(key);
    const std::string at = field + "." + name;
    if (!ValidSchedulingName(name)) {
      return InvalidArgument(at + ": not a label name (1 to 64 of a-z A-Z 0-9 _ - . /)");
    }
    if (!value.is_string() || !ValidSchedulingName(value.as_string())) {
      return Wrong(at, "a string of 1 to 64 of a-z A-Z 0-9 _ - . /", value);
    }
    out.emplace_back(name, std::string(value.as_string()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

json::object ResourcesJson(const Resources& r) {
  json::object o;
  for (const auto& [name, amount] : r) o[name] = amount;
  return o;
}

json::object LabelsJson(const Labels& l) {
  json::object o;
  for (const auto& [name, value] : l) o[name] = value;
  return o;
}

// Longer than the 80 lines we aim for: one branch per field of the job object, each a few lines,
// in the order docs/api.md lists them; split up, the fields would be harder to check against it.
Result<JobSpec> ParseJobSpec(const json::value& value, const std::string& path) {
  if (!value.is_object()) return Wrong(path.empty() ? "job" : path, "an object", value);
  JobSpec spec;
  bool has_type = false;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  for (const auto& [key, v] : value.as_object()) {
    const std::string field = Prefix(path, key);
    if (key == "type") {
      auto s = String(v, field);
      if (!s.ok()) return s.status();
      spec.type = std::move(*s);
      has_type = true;
    } else if (key == "payload") {
      spec.payload = json::serialize(v);
    } else if (key == "priority") {
      auto n =
          Int(v, field, std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max());
      if (!n.ok()) return n.status();
      spec.priority = static_cast<int32_t>(*n);
    } else if (key == "timeout_ms" && v.is_null()) {
      spec.timeout_ms = kNoTimeout;  // no timeout: as long as it heartbeats
    } else if (key == "run_after_ms" || key == "run_by_ms" || key == "timeout_ms" ||
               key == "heartbeat_timeout_ms") {
      auto n = Int(v, field, 0, kMax);
      if (!n.ok()) return n.status();
      if (key == "run_after_ms") spec.run_after_ms = *n;
      if (key == "run_by_ms") spec.run_by_ms = *n;
      if (key == "timeout_ms") spec.timeout_ms = *n;
      if (key == "heartbeat_timeout_ms") spec.heartbeat_timeout_ms = *n;
    } else if (key == "attempts_max") {
      auto n = Int(v, field, 1, std::numeric_limits<uint32_t>::max());
      if (!n.ok()) return n.status();
      spec.attempts_max = static_cast<uint32_t>(*n);
    } else if (key == "retry") {
      auto r = ParseRetry(v, field);
      if (!r.ok()) return r.status();
      spec.retry = *r;
    } else if (key == "idempotency_key") {
      auto s = String(v, field);
      if (!s.ok()) return s.status();
      spec.idempotency_key = *s;
    } else if (key == "tags") {
      if (!v.is_array()) return Wrong(field, "an array of strings", v);
      for (size_t i = 0; i < v.as_array().size(); ++i) {
        auto s = String(v.as_array()[i], Indexed(field, i));
        if (!s.ok()) return s.status();
        spec.tags.push_back(std::move(*s));
      }
    } else if (key == "parent_id") {
      auto n = Int(v, field, 0, kMax);
      if (!n.ok()) return n.status();
      spec.parent_id = static_cast<JobId>(*n);
    } else if (key == "verify") {
      if (!v.is_bool()) return Wrong(field, "true or false", v);
      spec.verify = v.as_bool();
    } else if (key == "splitter" || key == "aggregator" || key == "verifier") {
      auto s = String(v, field);
      if (!s.ok()) return s.status();
      if (key == "splitter") {
        spec.splitter = std::move(*s);
      } else {
        (key == "aggregator" ? spec.aggregator : spec.verifier) = *s;
      }
    } else if (key == "children_policy") {
      auto p = ParseChildrenPolicyJson(v, field);
      if (!p.ok()) return p.status();
      spec.children_policy = *p;
    } else if (key == "retention_ms") {
      auto n = Int(v, field, 0, kMax);
      if (!n.ok()) return n.status();
      spec.retention_ms = *n;
    } else if (key == "verdict_timeout_ms") {
      auto n = Int(v, field, 0, kMax);
      if (!n.ok()) return n.status();
      spec.verdict_timeout_ms = *n;
    } else if (key == "resources") {
      auto r = ParseResourcesJson(v, field);
      if (!r.ok()) return r.status();
      spec.resources = std::move(*r);
    } else if (key == "labels") {
      auto l = ParseLabelsJson(v, field);
      if (!l.ok()) return l.status();
      spec.labels = std::move(*l);
    } else if (key == "concurrency") {
      const std::string want = R"({"key": "customer-42", "limit": 1})";
      if (!v.is_object() || !v.as_object().contains("key")) return Wrong(field, want, v);
      for (const auto& [ck, cv] : v.as_object()) {
        if (ck == "key") {
          auto k = String(cv, field + ".key");
          if (!k.ok()) return k.status();
          if (k->empty()) return InvalidArgument(field + ".key: must not be empty");
          spec.concurrency_key = *k;
        } else if (ck == "limit") {
          auto n = Int(cv, field + ".limit", 1, std::numeric_limits<uint32_t>::max());
          if (!n.ok()) return n.status();
          spec.concurrency_limit = static_cast<uint32_t>(*n);
        } else {
          return InvalidArgument(field + "." + std::string(ck) +
                                 ": unknown field (known: key, limit)");
        }
      }
      if (spec.concurrency_limit == 0) spec.concurrency_limit = 1;
    } else {
      return InvalidArgument(
          field +
          ": unknown field (known: type, payload, priority, run_after_ms, "
          "run_by_ms, timeout_ms, heartbeat_timeout_ms, attempts_max, retry, "
          "idempotency_key, tags, parent_id, verify, splitter, aggregator, "
          "verifier, children_policy, resources, labels, concurrency, retention_ms, "
          "verdict_timeout_ms)");
    }
  }
  if (!has_type) return InvalidArgument(Prefix(path, "type") + ": is required");
  return spec;
}

}  // namespace baton::engine
