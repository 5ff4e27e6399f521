// The JSON form of jobs in the REST API: parsing a submit body into JobSpecs (each job as
// engine/spec_json.h reads it) and writing a job back out. The owner is never in the body: it is
// the caller's identity.
//
// Thread rules: pure functions.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/spec_json.h"
#include "engine/types.h"

namespace baton::server {

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
