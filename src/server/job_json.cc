#include "server/job_json.h"

#include <charconv>
#include <limits>

#include "engine/spec_json.h"

namespace baton::server {

namespace json = boost::json;

namespace {

using engine::Indexed;
using engine::Wrong;

}  // namespace

json::value EmbeddedJson(const std::string& text) {
  if (text.empty()) return nullptr;
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return json::string(text);  // stored text that is not JSON is shown as a string
  return v;
}

Result<SubmitBody> ParseSubmitBody(std::string_view body, size_t batch_max) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return InvalidArgument("body: not JSON: " + ec.message());
  SubmitBody out;
  if (v.is_object()) {
    auto spec = engine::ParseJobSpec(v, "");
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
    auto spec = engine::ParseJobSpec(jobs[i], Indexed("", i));
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
  if (spec.timeout_ms == engine::kNoTimeout) {
    o["timeout_ms"] = nullptr;  // none: as long as it heartbeats
  } else {
    o["timeout_ms"] = spec.timeout_ms;
  }
  o["heartbeat_timeout_ms"] = spec.heartbeat_timeout_ms;
  o["attempts_max"] = spec.attempts_max;
  o["attempts_used"] = s.attempts_used;
  o["attempt_id"] = s.attempt_id;
  o["worker_id"] = s.worker_id.view();
  o["last_outcome"] = engine::OutcomeName(s.last_outcome);
  o["progress"] = s.progress;
  o["progress_message"] = s.progress_message.view();
  o["result"] = EmbeddedJson(s.result);
  o["error"] = s.error.view();
  json::array tags;
  for (const std::string& t : spec.tags) tags.emplace_back(t);
  o["tags"] = std::move(tags);
  json::array inputs;
  for (const std::string& f : spec.input_files) inputs.emplace_back(f);
  o["input_files"] = std::move(inputs);
  o["idempotency_key"] = spec.idempotency_key.view();
  o["parent_id"] = spec.parent_id;
  o["verify"] = spec.verify;
  o["verdict_timeout_ms"] = spec.verdict_timeout_ms;
  json::object children;
  children["total"] = s.children_total;
  children["done"] = s.children_done;
  children["failed"] = s.children_failed;
  children["policy"] =
      engine::ChildrenPolicyJson(spec.children_policy.value_or(engine::ChildrenPolicy{}));
  o["children"] = std::move(children);
  o["parent_attempt"] = spec.parent_attempt;
  o["splitter"] = spec.splitter;
  o["aggregator"] = spec.aggregator.view();
  o["verifier"] = spec.verifier.view();
  o["helper_id"] = s.helper_id;  // the aggregator or verifier job at work for this one; 0: none
  o["role"] = engine::JobRoleName(spec.role);
  o["subject_id"] = spec.subject_id;  // for an aggregator or verifier: the job it works for
  o["retention_ms"] = spec.retention_ms;
  o["resources"] = engine::ResourcesJson(spec.resources);
  o["labels"] = engine::LabelsJson(spec.labels);
  if (spec.concurrency_key.empty()) {
    o["concurrency"] = nullptr;
  } else {
    o["concurrency"] = {{"key", spec.concurrency_key}, {"limit", spec.concurrency_limit}};
  }
  return o;
}

json::object ChildrenStatusJson(const engine::JobRecord& job) {
  const engine::JobStatus& s = job.status;
  const engine::ChildrenPolicy policy = job.spec.children_policy.value_or(engine::ChildrenPolicy{});
  json::object o;
  o["id"] = job.id;
  o["state"] = engine::JobStateName(s.state);
  o["policy"] = engine::ChildrenPolicyJson(policy);
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
      message = s.error.view();
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
