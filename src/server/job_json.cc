#include "server/job_json.h"

#include <charconv>
#include <limits>

namespace baton::server {

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

Result<engine::RetryPolicy> ParseRetry(const json::value& v, const std::string& path) {
  if (!v.is_object()) return Wrong(path, "an object", v);
  engine::RetryPolicy r;
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
        auto outcome = engine::ParseOutcome(*name);
        if (!outcome || (engine::OutcomeBit(*outcome) & engine::kRetryableOutcomes) == 0) {
          return InvalidArgument(item_field +
                                 ": must be one of error, timeout, lost, rejected, got \"" + *name +
                                 "\"");
        }
        r.retry_on |= engine::OutcomeBit(*outcome);
      }
    } else {
      return InvalidArgument(field +
                             ": unknown field (known: delay_initial_ms, multiplier, "
                             "delay_max_ms, jitter, retry_on)");
    }
  }
  return r;
}

std::string Prefix(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

}  // namespace

Result<engine::ChildrenPolicy> ParseChildrenPolicy(const json::value& v, const std::string& field) {
  const std::string expected = R"("all", {"failures_max": N} or {"quorum": N})";
  if (v.is_string() && v.as_string() == "all") return engine::ChildrenPolicy{};
  if (!v.is_object() || v.as_object().size() != 1) return Wrong(field, expected, v);
  const auto& [key, n] = *v.as_object().begin();
  engine::ChildrenPolicy p;
  if (key == "failures_max") {
    p.kind = engine::ChildrenPolicy::kFailuresMax;
  } else if (key == "quorum") {
    p.kind = engine::ChildrenPolicy::kQuorum;
  } else {
    return Wrong(field, expected, v);
  }
  auto count = Int(n, field + "." + std::string(key), p.kind == engine::ChildrenPolicy::kQuorum,
                   std::numeric_limits<uint32_t>::max());
  if (!count.ok()) return count.status();
  p.n = static_cast<uint32_t>(*count);
  return p;
}

json::value ChildrenPolicyJson(const engine::ChildrenPolicy& p) {
  if (p.kind == engine::ChildrenPolicy::kAll) return "all";
  json::object o;
  o[p.kind == engine::ChildrenPolicy::kQuorum ? "quorum" : "failures_max"] = p.n;
  return o;
}

json::value EmbeddedJson(const std::string& text) {
  if (text.empty()) return nullptr;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return json::string(text);  // stored text that is not JSON is shown as a string
  return v;
}

Result<engine::JobSpec> ParseJobSpec(const json::value& value, const std::string& path) {
  if (!value.is_object()) return Wrong(path.empty() ? "job" : path, "an object", value);
  engine::JobSpec spec;
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
      spec.idempotency_key = std::move(*s);
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
      spec.parent_id = static_cast<engine::JobId>(*n);
    } else if (key == "verify") {
      if (!v.is_bool()) return Wrong(field, "true or false", v);
      spec.verify = v.as_bool();
    } else if (key == "splitter" || key == "aggregator" || key == "verifier") {
      auto s = String(v, field);
      if (!s.ok()) return s.status();
      (key == "splitter"     ? spec.splitter
       : key == "aggregator" ? spec.aggregator
                             : spec.verifier) = std::move(*s);
    } else if (key == "children_policy") {
      auto p = ParseChildrenPolicy(v, field);
      if (!p.ok()) return p.status();
      spec.children_policy = *p;
    } else {
      return InvalidArgument(field +
                             ": unknown field (known: type, payload, priority, run_after_ms, "
                             "run_by_ms, timeout_ms, heartbeat_timeout_ms, attempts_max, retry, "
                             "idempotency_key, tags, parent_id, verify, splitter, aggregator, "
                             "verifier, children_policy)");
    }
  }
  if (!has_type) return InvalidArgument(Prefix(path, "type") + ": is required");
  return spec;
}

Result<SubmitBody> ParseSubmitBody(std::string_view body, size_t batch_max) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return InvalidArgument("body: not JSON: " + ec.message());
  SubmitBody out;
  if (v.is_object()) {
    auto spec = ParseJobSpec(v, "");
    if (!spec.ok()) return spec.status();
    out.specs.push_back(std::move(*spec));
    return out;
  }
  if (!v.is_array()) return Wrong("body", "a job object or an array of them", v);
  const json::array& jobs = v.as_array();
  if (jobs.empty()) return InvalidArgument("body: the array holds no job");
  if (jobs.size() > batch_max) {
    return InvalidArgument("body: " + std::to_string(jobs.size()) + " jobs in one batch, at most " +
                           std::to_string(batch_max) + " allowed (batch_max)");
  }
  out.batch = true;
  out.specs.reserve(jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    auto spec = ParseJobSpec(jobs[i], Indexed("", i));
    if (!spec.ok()) return spec.status();
    out.specs.push_back(std::move(*spec));
  }
  return out;
}

json::object JobToJson(const engine::JobRecord& job) {
  const engine::JobSpec& spec = job.spec;
  const engine::JobStatus& s = job.status;
  json::object o;
  o["id"] = job.id;
  o["type"] = spec.type;
  o["owner"] = spec.owner;
  o["state"] = engine::JobStateName(s.state);
  o["payload"] = EmbeddedJson(spec.payload);
  o["priority"] = spec.priority;
  o["created_ms"] = job.created_ms;
  o["updated_ms"] = s.updated_ms;
  o["finished_ms"] = s.finished_ms;
  o["run_after_ms"] = spec.run_after_ms;
  o["run_by_ms"] = spec.run_by_ms;
  o["timeout_ms"] = spec.timeout_ms;
  o["heartbeat_timeout_ms"] = spec.heartbeat_timeout_ms;
  o["attempts_max"] = spec.attempts_max;
  o["attempts_used"] = s.attempts_used;
  o["attempt_id"] = s.attempt_id;
  o["worker_id"] = s.worker_id;
  o["last_outcome"] = engine::OutcomeName(s.last_outcome);
  o["progress"] = s.progress;
  o["progress_message"] = s.progress_message;
  o["result"] = EmbeddedJson(s.result);
  o["error"] = s.error;
  json::array tags;
  for (const std::string& t : spec.tags) tags.emplace_back(t);
  o["tags"] = std::move(tags);
  json::array inputs;
  for (const std::string& f : spec.input_files) inputs.emplace_back(f);
  o["input_files"] = std::move(inputs);
  o["idempotency_key"] = spec.idempotency_key;
  o["parent_id"] = spec.parent_id;
  o["verify"] = spec.verify;
  json::object children;
  children["total"] = s.children_total;
  children["done"] = s.children_done;
  children["failed"] = s.children_failed;
  children["policy"] = ChildrenPolicyJson(spec.children_policy.value_or(engine::ChildrenPolicy{}));
  o["children"] = std::move(children);
  o["parent_attempt"] = spec.parent_attempt;
  o["splitter"] = spec.splitter;
  o["aggregator"] = spec.aggregator;
  o["verifier"] = spec.verifier;
  o["helper_id"] = s.helper_id;  // the aggregator or verifier job at work for this one; 0: none
  o["role"] = engine::JobRoleName(spec.role);
  o["subject_id"] = spec.subject_id;  // for an aggregator or verifier: the job it works for
  return o;
}

json::object ChildrenStatusJson(const engine::JobRecord& job) {
  const engine::JobStatus& s = job.status;
  const engine::ChildrenPolicy policy = job.spec.children_policy.value_or(engine::ChildrenPolicy{});
  json::object o;
  o["id"] = job.id;
  o["state"] = engine::JobStateName(s.state);
  o["policy"] = ChildrenPolicyJson(policy);
  o["total"] = s.children_total;
  o["done"] = s.children_done;
  o["failed"] = s.children_failed;
  o["helper_id"] = s.helper_id;
  std::string why;
  using engine::JobState;
  if (s.state == JobState::kWaitingChildren && s.helper_id != 0) {
    why = "its aggregator, job " + std::to_string(s.helper_id) + ", has not finished";
  } else if (s.state == JobState::kWaitingChildren) {
    why = std::to_string(s.children_total - s.children_done) + " of " +
          std::to_string(s.children_total) + " sub-jobs have not finished (policy " +
          engine::ChildrenPolicyText(policy) + ")";
  } else if (s.state == JobState::kRunning) {
    why = "its own attempt is running; it has " + std::to_string(s.children_total) +
          " sub-jobs so far";
  } else if (!engine::IsTerminal(s.state)) {
    why = "it is " + std::string(engine::JobStateName(s.state));
  }
  if (why.empty()) {
    o["waiting_for"] = nullptr;
  } else {
    o["waiting_for"] = why;
  }
  return o;
}

std::string_view CompatStatusName(engine::JobState state) {
  using engine::JobState;
  switch (state) {
    case JobState::kPending:
    case JobState::kQueued:
    case JobState::kRetryWait:
      return "Queued";
    case JobState::kRunning:
    case JobState::kSubmitted:
    case JobState::kWaitingChildren:
      return "Running";
    case JobState::kSucceeded:
      return "Completed";
    case JobState::kFailed:
      return "Failed";
    case JobState::kCancelled:
      return "Killed";
  }
  return "Unknown";
}

json::object CompatStatus(const engine::JobRecord& job) {
  const engine::JobStatus& s = job.status;
  json::object o;
  o["id"] = job.id;
  constexpr std::string_view kUser = "user_id:";
  o["user_id"] = nullptr;
  for (const std::string& tag : job.spec.tags) {
    if (tag.rfind(kUser, 0) != 0) continue;
    const std::string value = tag.substr(kUser.size());
    int64_t n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec == std::errc() && end == value.data() + value.size()) {
      o["user_id"] = n;
    } else {
      o["user_id"] = value;
    }
  }
  o["service"] = job.spec.type;
  o["status"] = CompatStatusName(s.state);
  std::string message;
  switch (s.state) {
    case engine::JobState::kRunning:
      message = "running, " + std::to_string(static_cast<int>(s.progress * 100)) + "%";
      if (!s.progress_message.empty()) message += ": " + s.progress_message;
      break;
    case engine::JobState::kSucceeded:
      message = "done: download the results";
      break;
    case engine::JobState::kFailed:
    case engine::JobState::kCancelled:
      message = s.error;
      break;
    case engine::JobState::kRetryWait:
      message = "waiting to retry after: " + s.error;
      break;
    default:
      message =
          "waiting for a worker (Baton state " + std::string(engine::JobStateName(s.state)) + ")";
  }
  o["message"] = message;
  return o;
}

}  // namespace baton::server
