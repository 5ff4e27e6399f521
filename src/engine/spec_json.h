// The JSON form of a job spec, as POST /v1/jobs, spawned sub-jobs and workflow steps write it:
// strict parsing where every error names its field and unknown fields are refused.
//
// A job (every field but "type" may be left out):
//   {"type": "render", "payload": {...}, "priority": 0, "run_after_ms": 0, "run_by_ms": 0,
//    "timeout_ms": 60000, "heartbeat_timeout_ms": 30000, "attempts_max": 3,
//    "retry": {"delay_initial_ms": 1000, "multiplier": 2, "delay_max_ms": 300000,
//              "jitter": 0.2, "retry_on": ["error", "timeout", "lost", "rejected"]},
//    "idempotency_key": "order-17", "tags": ["blue"], "parent_id": 0, "verify": false,
//    "splitter": "t", "aggregator": "t", "verifier": "t", "children_policy": "all"}
// children_policy is "all", {"failures_max": N} or {"quorum": N}. What the job needs from its
// worker: "resources": {"cpu": 2, "gpu": 1}, "labels": {"zone": "eu"}, and
// "concurrency": {"key": "customer-42", "limit": 1} (limit 1 if left out).
//
// Thread rules: pure functions.
#pragma once

#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "common/status.h"
#include "engine/types.h"

namespace baton::engine {

// One job object; `path` prefixes error messages ("jobs[3]" gives "jobs[3].priority: ...").
Result<JobSpec> ParseJobSpec(const boost::json::value& value, const std::string& path);

// "all", {"failures_max": N} or {"quorum": N} (N >= 1); an error names `field`.
Result<ChildrenPolicy> ParseChildrenPolicyJson(const boost::json::value& v,
                                               const std::string& field);
boost::json::value ChildrenPolicyJson(const ChildrenPolicy& p);

// {"delay_initial_ms", "multiplier", "delay_max_ms", "jitter", "retry_on": [outcomes]}; fields
// left out keep the engine's defaults. An error names `path`.
Result<RetryPolicy> ParseRetry(const boost::json::value& v, const std::string& path);

// {"cpu": 2, "gpu": 1}: amounts of at least 1 by name; sorted by name.
Result<Resources> ParseResourcesJson(const boost::json::value& v, const std::string& field);
// {"zone": "eu"}; sorted by name.
Result<Labels> ParseLabelsJson(const boost::json::value& v, const std::string& field);
boost::json::object ResourcesJson(const Resources& r);
boost::json::object LabelsJson(const Labels& l);

// Helpers for strict JSON reading, shared with the API layer.
// "field[i]".
std::string Indexed(const std::string& field, size_t i);
// "field: must be WANT, got <what it was>".
Status Wrong(const std::string& field, std::string_view want, const boost::json::value& got);
// An integer in [min, max] (a JSON number without a fraction).
Result<int64_t> Int(const boost::json::value& v, const std::string& field, int64_t min,
                    int64_t max);
Result<std::string> String(const boost::json::value& v, const std::string& field);

}  // namespace baton::engine
