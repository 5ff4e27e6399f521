// The JSON form of jobs in the REST API: parsing a submit body into JobSpecs (strictly: every
// error names its field, unknown fields are refused) and writing a job back out.
//
// A job in a submit body (every field but "type" may be left out):
//   {"type": "render", "payload": {...}, "priority": 0, "run_after_ms": 0, "run_by_ms": 0,
//    "timeout_ms": 60000, "heartbeat_timeout_ms": 30000, "attempts_max": 3,
//    "retry": {"delay_initial_ms": 1000, "multiplier": 2, "delay_max_ms": 300000,
//              "jitter": 0.2, "retry_on": ["error", "timeout", "lost", "rejected"]},
//    "idempotency_key": "order-17", "tags": ["blue"], "parent_id": 0, "verify": false,
//    "splitter": "t", "aggregator": "t", "verifier": "t", "children_policy": "all"}
// children_policy is "all", {"failures_max": N} or {"quorum": N}.
// The owner is never in the body: it is the caller's identity.
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

// "all", {"failures_max": N} or {"quorum": N} (N >= 1); an error names `field`.
Result<engine::ChildrenPolicy> ParseChildrenPolicy(const boost::json::value& v,
                                                   const std::string& field);
boost::json::value ChildrenPolicyJson(const engine::ChildrenPolicy& p);

// One job object; `path` prefixes error messages ("jobs[3]" gives "jobs[3].priority: ...").
Result<engine::JobSpec> ParseJobSpec(const boost::json::value& value, const std::string& path);

// A submit body: one job object, or an array of at most `batch_max` of them. All or nothing:
// the first error is returned and no spec.
struct SubmitBody {
  std::vector<engine::JobSpec> specs;
  bool batch = false;  // an array (answered with {"jobs": [...]}) rather than one object
};
Result<SubmitBody> ParseSubmitBody(std::string_view body, size_t batch_max);

// A stored JSON text (payload, result) as a JSON value: empty text is null, text that is not
// JSON a string.
boost::json::value EmbeddedJson(const std::string& text);

// A job as the API shows it. Payload and result are embedded as JSON.
boost::json::object JobToJson(const engine::JobRecord& job);

// A parent's account of its sub-jobs: policy, counts of this attempt's sub-jobs, its helper, and
// "waiting_for", in words, while it has not finished.
boost::json::object ChildrenStatusJson(const engine::JobRecord& job);

// The job-orchestrator file API's view of a job (POST /upload, GET /download/{id},
// POST /terminate/{id}): {"id", "user_id", "service", "status", "message"}, where status is one of
// Queued (pending, queued, retry_wait), Running (running, submitted, waiting_children),
// Completed (succeeded), Failed (failed), Killed (cancelled). user_id comes from the tag
// "user_id:N" that /upload sets.
std::string_view CompatStatusName(engine::JobState state);
boost::json::object CompatStatus(const engine::JobRecord& job);

}  // namespace baton::server
