// What the engine checks of a job before it takes it: every field of a spec against the limits,
// with the declared types' defaults filled in (Engine::Validate), and what a job may demand of a
// worker.
#include <string>

#include "common/json.h"
#include "engine/engine.h"
#include "engine/engine_job.h"

namespace baton::engine {

using detail::CheckTypeName;
using detail::Num;

namespace {

bool ValidName(std::string_view s) {
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == ':' || c == '/';
    if (!ok) return false;
  }
  return true;
}

// The helper job types (splitter, aggregator, verifier) and what the children policy and a
// verdict by API ask of them.
Status CheckHelpers(const JobSpec& spec, const EngineLimits& lim) {
  BATON_RETURN_IF_ERROR(CheckTypeName("splitter", spec.splitter, lim.type_bytes_max));
  BATON_RETURN_IF_ERROR(CheckTypeName("aggregator", spec.aggregator, lim.type_bytes_max));
  BATON_RETURN_IF_ERROR(CheckTypeName("verifier", spec.verifier, lim.type_bytes_max));
  if (spec.children_policy->kind == ChildrenPolicy::kQuorum && spec.children_policy->n == 0) {
    return InvalidArgument("children_policy.quorum: must be at least 1");
  }
  if (spec.verdict_timeout_ms != 0 && (!spec.verify || !spec.verifier.empty())) {
    return InvalidArgument(
        "verdict_timeout_ms: only with verify: true, for a verdict by API (a verifier job has "
        "its own timeout)");
  }
  return Status::Ok();
}

Status CheckOwnerAndPayload(const JobSpec& spec, const EngineLimits& lim) {
  if (spec.owner.empty()) return InvalidArgument("owner: must not be empty");
  if (spec.owner.size() > lim.owner_bytes_max) {
    return TooLong("owner", spec.owner.size(), lim.owner_bytes_max);
  }
  if (spec.payload.empty()) return InvalidArgument("payload: must be a JSON document, got nothing");
  // A helper's input (every sub-job's result, or the result it judges) may be larger than a
  // submitter's payload.
  const size_t payload_max =
      spec.role == JobRole::kJob ? lim.payload_bytes_max : lim.aggregate_bytes_max;
  if (spec.payload.size() > payload_max) {
    return TooLong("payload", spec.payload.size(), payload_max);
  }
  if (spec.priority < lim.priority_min || spec.priority > lim.priority_max) {
    return InvalidArgument("priority: must be between " + std::to_string(lim.priority_min) +
                           " and " + std::to_string(lim.priority_max) + ", got " +
                           std::to_string(spec.priority));
  }
  return Status::Ok();
}

Status CheckRetry(const RetryPolicy& r, const EngineLimits& lim) {
  if (r.delay_ms_initial < 0 || r.delay_ms_initial > lim.delay_ms_max) {
    return InvalidArgument("retry.delay_initial: must be between 0 and " +
                           std::to_string(lim.delay_ms_max) + " ms, got " +
                           std::to_string(r.delay_ms_initial));
  }
  if (r.delay_ms_max < r.delay_ms_initial || r.delay_ms_max > lim.delay_ms_max) {
    return InvalidArgument("retry.delay_max: must be between retry.delay_initial (" +
                           std::to_string(r.delay_ms_initial) + ") and " +
                           std::to_string(lim.delay_ms_max) + " ms, got " +
                           std::to_string(r.delay_ms_max));
  }
  if (!(r.multiplier >= 1.0 && r.multiplier <= 100.0)) {
    return InvalidArgument("retry.multiplier: must be between 1 and 100, got " +
                           std::to_string(r.multiplier));
  }
  if (!(r.jitter >= 0.0 && r.jitter <= 1.0)) {
    return InvalidArgument("retry.jitter: must be between 0 and 1, got " +
                           std::to_string(r.jitter));
  }
  if ((r.retry_on & ~kRetryableOutcomes) != 0) {
    return InvalidArgument("retry.retry_on: may name only error, timeout, lost and rejected");
  }
  return Status::Ok();
}

Status CheckKeysAndTags(const JobSpec& spec, const EngineLimits& lim) {
  if (spec.idempotency_key.size() > lim.idempotency_key_bytes_max) {
    return TooLong("idempotency_key", spec.idempotency_key.size(), lim.idempotency_key_bytes_max);
  }
  if (spec.tags.size() > lim.tags_max) {
    return InvalidArgument("tags: at most " + Num(lim.tags_max) + " tags, got " +
                           Num(spec.tags.size()));
  }
  // Tags and keys that did not come through a JSON parser (a header, a multipart field) may not
  // be UTF-8, and the store keeps them as JSON or as text that JSON answers quote.
  for (size_t i = 0; i < spec.tags.size(); ++i) {
    const std::string& tag = spec.tags[i];
    if (tag.empty() || tag.size() > lim.tag_bytes_max) {
      return InvalidArgument("tags[" + Num(i) + "]: must be 1 to " + Num(lim.tag_bytes_max) +
                             " bytes, got " + Num(tag.size()));
    }
    if (baton::json::InvalidUtf8At(tag) != std::string_view::npos) {
      return InvalidArgument("tags[" + Num(i) + "]: must be UTF-8 text");
    }
  }
  if (baton::json::InvalidUtf8At(spec.idempotency_key) != std::string_view::npos) {
    return InvalidArgument("idempotency_key: must be UTF-8 text");
  }
  if (baton::json::InvalidUtf8At(spec.concurrency_key) != std::string_view::npos) {
    return InvalidArgument("concurrency.key: must be UTF-8 text");
  }
  return Status::Ok();
}

}  // namespace

Status detail::CheckTypeName(std::string_view field, const std::string& name, size_t max) {
  if (name.size() > max) return TooLong(field, name.size(), max);
  if (!ValidName(name)) {
    return InvalidArgument(std::string(field) +
                           ": may hold only letters, digits and _ - . : /, got \"" + name + "\"");
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Validation

void Engine::SetTypes(std::unordered_map<std::string, TypeDefaults> types) {
  type_defaults_ = std::move(types);
}

Status Engine::ValidateDemand(const JobSpec& spec) const {
  const EngineLimits& lim = config_.limits;
  if (spec.resources.size() > lim.resources_max || spec.labels.size() > lim.resources_max) {
    return InvalidArgument("resources: at most " + Num(lim.resources_max) +
                           " resources and as many labels");
  }
  for (size_t i = 0; i < spec.resources.size(); ++i) {
    const auto& [name, amount] = spec.resources[i];
    if (!ValidSchedulingName(name)) {
      return InvalidArgument("resources: \"" + name +
                             "\" is not a resource name (1 to 64 of a-z A-Z 0-9 _ - . /)");
    }
    if (amount <= 0) return InvalidArgument("resources." + name + ": must be above 0");
    if (i > 0 && spec.resources[i - 1].first >= name) {
      return InvalidArgument("resources: must be sorted by name, each once");
    }
  }
  for (size_t i = 0; i < spec.labels.size(); ++i) {
    const auto& [name, value] = spec.labels[i];
    if (!ValidSchedulingName(name) || !ValidSchedulingName(value)) {
      return InvalidArgument("labels." + name +
                             ": names and values are 1 to 64 of a-z A-Z 0-9 _ - . /");
    }
    if (i > 0 && spec.labels[i - 1].first >= name) {
      return InvalidArgument("labels: must be sorted by name, each once");
    }
  }
  if (!spec.concurrency_key.empty()) {
    if (spec.concurrency_key.size() > lim.idempotency_key_bytes_max) {
      return TooLong("concurrency.key", spec.concurrency_key.size(), lim.idempotency_key_bytes_max);
    }
    if (spec.concurrency_limit == 0) {
      return InvalidArgument("concurrency.limit: must be at least 1");
    }
  } else if (spec.concurrency_limit != 0) {
    return InvalidArgument("concurrency.limit: needs a concurrency.key");
  }
  return scheduler_.CheckDemand(spec);
}

Status Engine::Validate(JobSpec& spec) const {
  // In this order: the first violation is the one named.
  const EngineLimits& lim = config_.limits;
  if (spec.type.empty()) return InvalidArgument("type: must not be empty");
  BATON_RETURN_IF_ERROR(CheckTypeName("type", spec.type, lim.type_bytes_max));
  FillTypeDefaults(spec);
  BATON_RETURN_IF_ERROR(CheckHelpers(spec, lim));
  BATON_RETURN_IF_ERROR(ValidateDemand(spec));
  BATON_RETURN_IF_ERROR(CheckOwnerAndPayload(spec, lim));
  BATON_RETURN_IF_ERROR(ValidateTiming(spec));
  if (!spec.retry) spec.retry = config_.retry_default;
  BATON_RETURN_IF_ERROR(CheckRetry(*spec.retry, lim));
  return CheckKeysAndTags(spec, lim);
}

void Engine::FillTypeDefaults(JobSpec& spec) const {
  auto it = type_defaults_.find(spec.type);
  if (it != type_defaults_.end()) {
    const TypeDefaults& d = it->second;
    if (spec.timeout_ms == 0) spec.timeout_ms = d.timeout_ms;
    if (spec.attempts_max == 0) spec.attempts_max = d.attempts_max;
    if (!spec.retry) spec.retry = d.retry;
    if (spec.role == JobRole::kJob) {
      // A helper job does not take its own type's helpers: no verifier of a verifier.
      if (spec.splitter.empty()) spec.splitter = d.splitter;
      if (spec.aggregator.empty()) spec.aggregator = d.aggregator;
      if (spec.verifier.empty()) spec.verifier = d.verifier;
    }
    if (!spec.children_policy) spec.children_policy = d.children_policy;
    if (spec.resources.empty()) spec.resources = d.resources;
  }
  if (!spec.children_policy) spec.children_policy = ChildrenPolicy{};
}

Status Engine::ValidateTiming(JobSpec& spec) const {
  const EngineLimits& lim = config_.limits;
  if (spec.run_after_ms < 0) return InvalidArgument("run_after: must not be negative");
  if (spec.run_by_ms < 0) return InvalidArgument("run_by: must not be negative");
  if (spec.run_by_ms != 0) {
    if (spec.run_by_ms <= sink_.now_ms) {
      return InvalidArgument("run_by: is in the past (" + std::to_string(spec.run_by_ms) +
                             " <= now " + std::to_string(sink_.now_ms) + ")");
    }
    if (spec.run_by_ms <= spec.run_after_ms) {
      return InvalidArgument("run_by: must be later than run_after");
    }
  }
  if (spec.timeout_ms == 0) spec.timeout_ms = config_.timeout_ms_default;
  if ((spec.timeout_ms < 0 && spec.timeout_ms != kNoTimeout) ||
      spec.timeout_ms > lim.timeout_ms_max) {
    return InvalidArgument("timeout: must be between 1 and " + std::to_string(lim.timeout_ms_max) +
                           " ms, or none, got " + std::to_string(spec.timeout_ms));
  }
  if (spec.heartbeat_timeout_ms == 0) {
    spec.heartbeat_timeout_ms = config_.heartbeat_timeout_ms_default;
  }
  if (spec.heartbeat_timeout_ms < 0 || spec.heartbeat_timeout_ms > lim.heartbeat_timeout_ms_max) {
    return InvalidArgument("heartbeat_timeout: must be between 1 and " +
                           std::to_string(lim.heartbeat_timeout_ms_max) + " ms, got " +
                           std::to_string(spec.heartbeat_timeout_ms));
  }
  if (spec.attempts_max == 0) spec.attempts_max = config_.attempts_max_default;
  if (spec.attempts_max > lim.attempts_max) {
    return InvalidArgument("attempts_max: must be between 1 and " + Num(lim.attempts_max) +
                           ", got " + Num(spec.attempts_max));
  }
  return Status::Ok();
}

}  // namespace baton::engine
