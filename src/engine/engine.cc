#include "engine/engine.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <limits>
#include <string>

#include "common/json.h"
#include "engine/spec_json.h"

namespace baton::engine {

struct Engine::Job : SchedEntry {
  JobRecord rec;
  std::array<int32_t, 2> timer_pos{-1, -1};
  int64_t lease_persisted_ms = 0;  // the lease expiry the store last saw
  bool dirty = false;
  bool is_new = true;  // not yet handed to the store
  bool in_finished = false;
  bool attached = false;  // a sub-job counted by its parent's current attempt
  std::vector<JobId> children;
};

struct Engine::Workflow {
  WorkflowRecord rec;
  WorkflowPlan plan;  // the document's steps, then the plugin steps added as they started
  bool dirty = false;
  bool is_new = true;
  bool cancelling = false;
};

int32_t& Engine::TimerPos::operator()(Timer& t) const { return t.job->timer_pos[t.slot]; }

namespace {

std::string Str(JobState s) { return std::string(JobStateName(s)); }
std::string Num(uint64_t n) { return std::to_string(n); }

bool ValidName(std::string_view s) {
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.' || c == ':' || c == '/';
    if (!ok) return false;
  }
  return true;
}

std::string KeyOf(const std::string& owner, const std::string& key) {
  std::string k;
  k.reserve(owner.size() + 1 + key.size());
  k += owner;
  k += '\0';
  k += key;
  return k;
}

Status TooLong(std::string_view field, size_t size, size_t max) {
  return InvalidArgument(std::string(field) + ": must be at most " + Num(max) + " bytes, got " +
                         Num(size));
}

Status CheckTypeName(std::string_view field, const std::string& name, size_t max) {
  if (name.size() > max) return TooLong(field, name.size(), max);
  if (!ValidName(name)) {
    return InvalidArgument(std::string(field) +
                           ": may hold only letters, digits and _ - . : /, got \"" + name + "\"");
  }
  return Status::Ok();
}

// The type whose workers run the job's attempts: its splitter's, if it has one.
const std::string& RunType(const JobSpec& spec) {
  return spec.splitter.empty() ? spec.type : spec.splitter;
}

std::string Quote(std::string_view s) { return boost::json::serialize(boost::json::string(s)); }

// A stored JSON text as a value in a JSON document being written: empty text is null.
std::string_view JsonOrNull(const std::string& text) {
  return text.empty() ? std::string_view("null") : std::string_view(text);
}

}  // namespace

Engine::Engine(EngineConfig config) : config_(config), random_(config_.seed) {}
Engine::~Engine() = default;

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
  const EngineLimits& lim = config_.limits;
  if (spec.type.empty()) return InvalidArgument("type: must not be empty");
  BATON_RETURN_IF_ERROR(CheckTypeName("type", spec.type, lim.type_bytes_max));
  if (auto it = type_defaults_.find(spec.type); it != type_defaults_.end()) {
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
  BATON_RETURN_IF_ERROR(ValidateDemand(spec));
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
  if (spec.run_after_ms < 0) return InvalidArgument("run_after: must not be negative");
  if (spec.run_by_ms < 0) return InvalidArgument("run_by: must not be negative");
  if (spec.run_by_ms != 0) {
    if (spec.run_by_ms <= now_ms_) {
      return InvalidArgument("run_by: is in the past (" + std::to_string(spec.run_by_ms) +
                             " <= now " + std::to_string(now_ms_) + ")");
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
  if (!spec.retry) spec.retry = config_.retry_default;
  const RetryPolicy& r = *spec.retry;
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

// ---------------------------------------------------------------------------------------------
// Bookkeeping helpers

Engine::Job* Engine::FindJob(JobId id) const {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : it->second.get();
}

const JobRecord* Engine::Find(JobId id) const {
  Job* job = FindJob(id);
  return job ? &job->rec : nullptr;
}

Result<Engine::Job*> Engine::FindActive(JobId id) const {
  Job* job = FindJob(id);
  if (job == nullptr) return NotFound("job " + Num(id) + ": not found among active jobs");
  return job;
}

void Engine::MarkDirty(Job& job) {
  if (!job.dirty) {
    job.dirty = true;
    dirty_.push_back(&job);
  }
}

void Engine::EmitEvent(Job& job, EventKind kind, Outcome outcome, std::string_view message) {
  const JobStatus& s = job.rec.status;
  pending_.events.push_back(Event{++event_seq_last_, job.rec.id, now_ms_, kind, s.state,
                                  s.attempt_id, outcome, s.progress, std::string(message),
                                  job.rec.spec.workflow_id});
}

void Engine::SetState(Job& job, JobState state, Outcome outcome, std::string_view message) {
  JobStatus& s = job.rec.status;
  --state_counts_[static_cast<size_t>(s.state)];
  ++state_counts_[static_cast<size_t>(state)];
  // The scheduler counts running jobs (quotas, keys, the resources they hold).
  if (state == JobState::kRunning) {
    scheduler_.Started(job, job.rec.spec, RunType(job.rec.spec), s.worker_id);
  } else if (s.state == JobState::kRunning) {
    scheduler_.Stopped(job);
  }
  if (IsTerminal(state)) scheduler_.Finished(job);
  s.state = state;
  s.updated_ms = now_ms_;
  if (outcome != Outcome::kNone) s.last_outcome = outcome;
  MarkDirty(job);
  EmitEvent(job, EventKind::kState, outcome, message);
}

void Engine::Enqueue(Job& job) {
  scheduler_.Queue(job, job.rec.spec, RunType(job.rec.spec), /*keep_seq=*/false);
}

void Engine::Unqueue(Job& job) { scheduler_.Unqueue(job); }

void Engine::ArmTimer(Job& job, TimerSlot slot, int64_t due_ms) {
  DisarmTimer(job, slot);
  timers_.Push(Timer{due_ms, &job, slot});
}

void Engine::DisarmTimer(Job& job, TimerSlot slot) {
  if (job.timer_pos[slot] >= 0) timers_.RemoveAt(static_cast<size_t>(job.timer_pos[slot]));
}

int64_t Engine::NextTimerMs() const {
  const int64_t timer =
      timers_.empty() ? std::numeric_limits<int64_t>::max() : timers_.top().due_ms;
  return std::min({timer, scheduler_.NextWakeMs(), schedules_.NextDueMs()});
}

int64_t Engine::BackoffMs(const Job& job) {
  const RetryPolicy& r = *job.rec.spec.retry;
  const uint32_t n = std::max<uint32_t>(job.rec.status.attempts_used, 1);
  double delay = static_cast<double>(r.delay_ms_initial) * std::pow(r.multiplier, n - 1);
  delay = std::min(delay, static_cast<double>(r.delay_ms_max));
  delay *= 1.0 - r.jitter * random_.Uniform();
  return static_cast<int64_t>(delay);
}

// ---------------------------------------------------------------------------------------------
// Attempts and transitions

Assignment Engine::StartAttempt(Job& job, const std::string& worker_id) {
  JobStatus& s = job.rec.status;
  const JobSpec& spec = job.rec.spec;
  ++s.attempts_used;
  ++s.attempts_started;
  BATON_CHECK(s.attempts_used <= spec.attempts_max);
  s.attempt_id = ++attempt_id_last_;
  s.worker_id = worker_id;
  s.attempt_started_ms = now_ms_;
  s.lease_expires_ms = now_ms_ + spec.heartbeat_timeout_ms;
  s.progress = 0;
  s.progress_message.clear();
  s.result.clear();  // a failed attempt before it may have left one
  s.outputs.clear();
  job.lease_persisted_ms = s.lease_expires_ms;
  ArmTimer(job, kStateTimer, std::min(s.lease_expires_ms, AttemptDeadlineMs(job.rec)));
  SetState(job, JobState::kRunning, Outcome::kNone, worker_id);
  // A client drawing a bar sees both of its ends: 0 as each attempt starts, 1 as the job succeeds.
  EmitEvent(job, EventKind::kProgress, Outcome::kNone, "");
  return Assignment{job.rec.id,      s.attempt_id,    s.attempts_started,        RunType(spec),
                    spec.payload,    spec.timeout_ms, spec.heartbeat_timeout_ms, s.lease_expires_ms,
                    spec.input_files};
}

void Engine::EndAttempt(Job& job, Outcome outcome, std::string_view error,
                        std::string_view result) {
  const JobStatus& s = job.rec.status;
  pending_.attempts.push_back(AttemptRecord{s.attempt_id, job.rec.id, s.attempts_started,
                                            s.worker_id, s.attempt_started_ms, now_ms_, outcome,
                                            std::string(error), std::string(result)});
  job.rec.status.last_outcome = outcome;
}

void Engine::StopRunningAttempt(Job& job, Outcome reason) {
  const JobStatus& s = job.rec.status;
  notices_.push_back(Notice{s.worker_id, job.rec.id, s.attempt_id, reason});
}

Outcome Engine::EndOpenAttempt(Job& job, Outcome reason, std::string_view why) {
  const JobState state = job.rec.status.state;
  if (state == JobState::kRunning) StopRunningAttempt(job, reason);
  if (state != JobState::kRunning && state != JobState::kSubmitted) return Outcome::kNone;
  EndAttempt(job, reason, why);
  job.rec.status.result.clear();
  return reason;
}

void Engine::RetryOrFail(Job& job, Outcome outcome, std::string_view message) {
  JobStatus& s = job.rec.status;
  const JobSpec& spec = job.rec.spec;
  s.error = std::string(message);
  const bool retried = (spec.retry->retry_on & OutcomeBit(outcome)) != 0;
  if (retried && s.attempts_used < spec.attempts_max) {
    // (The reasons are built only when there is something to act on: this is every retry.)
    if (s.helper_id != 0) CancelHelper(job, "the attempt it served ended: " + std::string(message));
    if (!job.children.empty() || s.children_total != 0) {
      DetachChildren(job, "its parent's attempt ended: " + std::string(message));
    }
    s.ready_at_ms = now_ms_ + BackoffMs(job);
    ArmTimer(job, kStateTimer, s.ready_at_ms);
    SetState(job, JobState::kRetryWait, outcome, message);
    return;
  }
  std::string why(message);
  if (retried) {
    why += " (attempts used up: " + Num(s.attempts_used) + " of " + Num(spec.attempts_max) + ")";
  }
  Finish(job, JobState::kFailed, outcome, why);
}

Engine::ChildrenVerdict Engine::JudgeChildren(const Job& parent, std::string* why) const {
  const JobStatus& s = parent.rec.status;
  const ChildrenPolicy& p = *parent.rec.spec.children_policy;
  const uint32_t failed = s.children_failed, total = s.children_total;
  switch (p.kind) {
    case ChildrenPolicy::kAll:
      if (failed > 0) {
        *why = Num(failed) + " of " + Num(total) + " sub-jobs did not succeed";
        return ChildrenVerdict::kFail;
      }
      break;
    case ChildrenPolicy::kFailuresMax:
      if (failed > p.n) {
        *why = Num(failed) + " of " + Num(total) + " sub-jobs did not succeed; at most " +
               Num(p.n) + " may fail";
        return ChildrenVerdict::kFail;
      }
      break;
    case ChildrenPolicy::kQuorum:
      if (total - failed < p.n) {
        *why = "at most " + Num(total - failed) + " of " + Num(total) +
               " sub-jobs can succeed; the quorum is " + Num(p.n);
        return ChildrenVerdict::kFail;
      }
      break;
  }
  if (s.children_done < total) return ChildrenVerdict::kWait;
  if (total > 0 && !parent.rec.spec.aggregator.empty()) return ChildrenVerdict::kAggregate;
  return ChildrenVerdict::kSucceed;
}

void Engine::SucceedOrWait(Job& job) {
  JobStatus& s = job.rec.status;
  s.error.clear();
  DisarmTimer(job, kStateTimer);
  std::string why;
  switch (JudgeChildren(job, &why)) {
    case ChildrenVerdict::kSucceed:
      Finish(job, JobState::kSucceeded, Outcome::kSucceeded, "");
      return;
    case ChildrenVerdict::kFail:
      Finish(job, JobState::kFailed, Outcome::kSucceeded, why);
      return;
    case ChildrenVerdict::kWait:
      SetState(job, JobState::kWaitingChildren, Outcome::kSucceeded,
               "waiting for " + Num(s.children_total - s.children_done) + " sub-jobs");
      return;
    case ChildrenVerdict::kAggregate:
      SetState(job, JobState::kWaitingChildren, Outcome::kSucceeded,
               "all " + Num(s.children_total) + " sub-jobs finished; aggregating");
      SettleParent(job);
      return;
  }
}

void Engine::SettleParent(Job& parent) {
  BATON_CHECK(parent.rec.status.state == JobState::kWaitingChildren);
  if (parent.rec.status.helper_id != 0) return;  // its aggregator is at work
  std::string why;
  switch (JudgeChildren(parent, &why)) {
    case ChildrenVerdict::kWait:
      return;
    case ChildrenVerdict::kSucceed:
      Finish(parent, JobState::kSucceeded, Outcome::kNone, "");
      return;
    case ChildrenVerdict::kFail:
      Finish(parent, JobState::kFailed, Outcome::kNone, why);
      return;
    case ChildrenVerdict::kAggregate:
      break;
  }
  // The aggregator's input: the parent, then every sub-job of this attempt in id order.
  const JobSpec& ps = parent.rec.spec;
  std::string in = R"({"parent":{"id":)" + Num(parent.rec.id) + R"(,"type":)" + Quote(ps.type) +
                   R"(,"payload":)" + ps.payload + R"(,"result":)" +
                   std::string(JsonOrNull(parent.rec.status.result)) + R"(},"children":[)";
  const size_t max = config_.limits.aggregate_bytes_max;
  for (size_t i = 0; i < parent.children.size() && in.size() <= max; ++i) {
    const Job* child = FindJob(parent.children[i]);
    BATON_CHECK(child != nullptr);  // pinned in memory until the parent finishes
    const JobStatus& cs = child->rec.status;
    if (i > 0) in += ',';
    in += R"({"id":)" + Num(child->rec.id) + R"(,"type":)" + Quote(child->rec.spec.type) +
          R"(,"state":")" + Str(cs.state) + R"(","result":)";
    in += cs.state == JobState::kSucceeded ? JsonOrNull(cs.result) : "null";
    if (cs.state != JobState::kSucceeded) in += R"(,"error":)" + Quote(cs.error);
    in += '}';
  }
  in += "]}";
  if (in.size() > max) {
    Finish(parent, JobState::kFailed, Outcome::kNone,
           "the sub-jobs' results are larger than " + Num(max) +
               " bytes, the most an aggregator takes (aggregate_bytes_max)");
    return;
  }
  Result<Job*> helper = StartHelper(parent, JobRole::kAggregator, std::move(in));
  if (!helper.ok()) {
    Finish(parent, JobState::kFailed, Outcome::kNone,
           "its aggregator could not start: " + helper.status().message());
  }
}

Result<Engine::Job*> Engine::StartHelper(Job& subject, JobRole role, std::string payload) {
  const JobSpec& ss = subject.rec.spec;
  JobSpec spec;
  spec.type = role == JobRole::kAggregator ? ss.aggregator : ss.verifier;
  spec.owner = ss.owner;
  spec.payload = std::move(payload);
  spec.priority = ss.priority;
  spec.role = role;
  spec.subject_id = subject.rec.id;
  spec.subject_attempt = subject.rec.status.attempt_id;
  BATON_RETURN_IF_ERROR(Validate(spec));
  Job& helper = CreateJob(std::move(spec));
  subject.rec.status.helper_id = helper.rec.id;
  MarkDirty(subject);
  return &helper;
}

void Engine::HelperFinished(const Job& helper) {
  const JobSpec& hs = helper.rec.spec;
  Job* subject = FindJob(hs.subject_id);
  if (subject == nullptr || subject->rec.status.helper_id != helper.rec.id) return;  // stale
  JobStatus& s = subject->rec.status;
  s.helper_id = 0;
  MarkDirty(*subject);
  const JobStatus& h = helper.rec.status;
  const std::string who = std::string(JobRoleName(hs.role)) + " job " + Num(helper.rec.id);
  if (hs.role == JobRole::kAggregator) {
    if (s.state != JobState::kWaitingChildren) return;
    if (h.state == JobState::kSucceeded) {
      s.result = h.result;
      Finish(*subject, JobState::kSucceeded, Outcome::kNone, "result from " + who);
    } else {
      Finish(*subject, JobState::kFailed, Outcome::kNone,
             who + " " + Str(h.state) + (h.error.empty() ? "" : ": " + h.error));
    }
    return;
  }
  if (s.state != JobState::kSubmitted || s.attempt_id != hs.subject_attempt) return;
  if (h.state != JobState::kSucceeded) {
    RejectResult(*subject, who + " " + Str(h.state) + (h.error.empty() ? "" : ": " + h.error));
    return;
  }
  // The verdict: true, false, or {"accept": bool, "reason": "..."}.
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(h.result.view(), ec);
  const boost::json::value* accept = nullptr;
  std::string reason;
  if (!ec && v.is_bool()) {
    accept = &v;
  } else if (!ec && v.is_object()) {
    accept = v.as_object().if_contains("accept");
    if (const boost::json::value* r = v.as_object().if_contains("reason"); r && r->is_string()) {
      reason = std::string(r->as_string());
    }
  }
  if (accept == nullptr || !accept->is_bool()) {
    RejectResult(*subject, who + " gave no verdict: its result must be true, false or " +
                               R"({"accept": true|false, "reason": "..."})");
  } else if (accept->as_bool()) {
    AcceptResult(*subject);
  } else {
    RejectResult(*subject, "rejected by " + who + (reason.empty() ? "" : ": " + reason));
  }
}

void Engine::CancelHelper(Job& subject, std::string_view why) {
  JobStatus& s = subject.rec.status;
  if (s.helper_id == 0) return;
  Job* helper = FindJob(s.helper_id);
  s.helper_id = 0;  // first: the helper's end must not act on its subject
  MarkDirty(subject);
  if (helper == nullptr || IsTerminal(helper->rec.status.state)) return;
  const Outcome ended = EndOpenAttempt(*helper, Outcome::kCancelled, why);
  Finish(*helper, JobState::kCancelled, ended, why);
}

void Engine::AcceptResult(Job& job) {
  DisarmTimer(job, kStateTimer);
  CancelHelper(job, "a verdict came first");
  EndAttempt(job, Outcome::kSucceeded, "");
  SucceedOrWait(job);
}

void Engine::RejectResult(Job& job, std::string_view reason) {
  DisarmTimer(job, kStateTimer);
  EndAttempt(job, Outcome::kRejected, reason, job.rec.status.result);  // what was rejected
  job.rec.status.result.clear();
  RetryOrFail(job, Outcome::kRejected, reason);
}

void Engine::DetachChildren(Job& parent, std::string_view why) {
  JobStatus& p = parent.rec.status;
  if (parent.children.empty() && p.children_total == 0) return;
  std::vector<JobId> children;
  children.swap(parent.children);
  p.children_total = p.children_done = p.children_failed = 0;
  MarkDirty(parent);
  const std::string reason(why);
  for (JobId id : children) {
    Job* child = FindJob(id);
    if (child == nullptr) continue;
    child->attached = false;
    if (!IsTerminal(child->rec.status.state)) {
      const Outcome ended = EndOpenAttempt(*child, Outcome::kCancelled, reason);
      Finish(*child, JobState::kCancelled, ended, reason);
    } else if (!child->in_finished) {
      child->in_finished = true;
      finished_.push_back(id);
    }
  }
}

void Engine::Finish(Job& job, JobState state, Outcome outcome, std::string_view message) {
  BATON_CHECK(IsTerminal(state));
  // Only a rejected result takes a job out of a terminal state, and only out of succeeded.
  BATON_CHECK(!IsTerminal(job.rec.status.state) || job.rec.status.state == JobState::kSucceeded);
  JobStatus& s = job.rec.status;
  Unqueue(job);
  DisarmTimer(job, kStateTimer);
  DisarmTimer(job, kDeadlineTimer);
  s.finished_ms = now_ms_;
  if (state != JobState::kSucceeded) {
    s.error = std::string(message);
  } else {
    // The bar's other end, before the state event that ends a client's wait.
    s.progress = 1;
    s.progress_message.clear();
    EmitEvent(job, EventKind::kProgress, Outcome::kNone, "");
  }
  SetState(job, state, outcome, message);
  // The reasons below are built only when needed: this runs for every job that ends.
  if (s.helper_id != 0) CancelHelper(job, "job " + Num(job.rec.id) + " " + Str(state));
  // A sub-job stays in memory while its parent may still need it (its aggregator reads the
  // results); the parent's end releases it.
  Job* parent = job.rec.spec.parent_id != 0 ? FindJob(job.rec.spec.parent_id) : nullptr;
  const bool pinned = job.attached && parent != nullptr && !IsTerminal(parent->rec.status.state);
  if (!job.in_finished && !pinned) {
    job.in_finished = true;
    finished_.push_back(job.rec.id);
  }
  // A parent that did not succeed takes its unfinished descendants with it.
  const std::string why =
      job.children.empty() ? std::string() : "parent job " + Num(job.rec.id) + " " + Str(state);
  for (JobId child_id : job.children) {
    Job* child = FindJob(child_id);
    if (child == nullptr) continue;
    if (!IsTerminal(child->rec.status.state)) {
      BATON_CHECK(state != JobState::kSucceeded);
      const Outcome ended = EndOpenAttempt(*child, Outcome::kCancelled, why);
      Finish(*child, JobState::kCancelled, ended, why);
    } else if (!child->in_finished) {
      child->in_finished = true;
      finished_.push_back(child_id);
    }
  }
  if (job.attached && parent != nullptr) ChildFinished(*parent, job);
  if (job.rec.spec.role != JobRole::kJob) HelperFinished(job);
  if (job.rec.spec.workflow_id != 0) StepJobFinished(job);
}

void Engine::ChildFinished(Job& parent, const Job& child) {
  JobStatus& p = parent.rec.status;
  ++p.children_done;
  if (child.rec.status.state != JobState::kSucceeded) ++p.children_failed;
  BATON_CHECK(p.children_done <= p.children_total);
  MarkDirty(parent);
  if (p.state == JobState::kWaitingChildren) SettleParent(parent);
}

// ---------------------------------------------------------------------------------------------
// Commands

Result<SubmitResult> Engine::Submit(JobSpec spec) {
  BATON_RETURN_IF_ERROR(Validate(spec));
  if (!spec.idempotency_key.empty()) {
    auto it = keys_.find(KeyOf(spec.owner, spec.idempotency_key));
    if (it != keys_.end() && it->second.created_ms + config_.idempotency_ttl_ms > now_ms_) {
      return SubmitResult{it->second.job_id, true};
    }
  }
  BATON_RETURN_IF_ERROR(CheckParent(spec, 1));
  return SubmitResult{CreateJob(std::move(spec)).rec.id, false};
}

Engine::Job& Engine::CreateJob(JobSpec spec) {
  auto owned = std::make_unique<Job>();
  Job& job = *owned;
  job.rec.id = ++job_id_last_;
  job.rec.created_ms = now_ms_;
  job.rec.spec = std::move(spec);
  jobs_.emplace(job.rec.id, std::move(owned));
  ++state_counts_[static_cast<size_t>(JobState::kPending)];

  JobSpec& s = job.rec.spec;
  if (!s.idempotency_key.empty()) {
    std::string map_key = KeyOf(s.owner, s.idempotency_key);
    keys_[map_key] = KeyEntry{job.rec.id, now_ms_};
    key_order_.emplace_back(std::move(map_key), now_ms_);
  }
  if (s.parent_id != 0) {
    Job* parent = FindJob(s.parent_id);
    BATON_CHECK(parent != nullptr);  // CheckParent
    s.parent_attempt = parent->rec.status.attempt_id;
    job.attached = true;
    parent->children.push_back(job.rec.id);
    ++parent->rec.status.children_total;
    MarkDirty(*parent);
  }
  if (s.run_after_ms > now_ms_) {
    job.rec.status.ready_at_ms = s.run_after_ms;
    ArmTimer(job, kStateTimer, s.run_after_ms);
    SetState(job, JobState::kPending, Outcome::kNone, "");
  } else {
    Enqueue(job);
    SetState(job, JobState::kQueued, Outcome::kNone, "");
  }
  if (s.run_by_ms != 0) ArmTimer(job, kDeadlineTimer, s.run_by_ms);
  return job;
}

Status Engine::CheckParent(const JobSpec& spec, uint32_t added) const {
  if (spec.parent_id == 0) return Status::Ok();
  const Job* parent = FindJob(spec.parent_id);
  if (parent == nullptr || parent->rec.spec.owner != spec.owner) {
    return NotFound("parent_id: no active job " + Num(spec.parent_id) + " of this owner");
  }
  if (parent->rec.status.state != JobState::kRunning) {
    return FailedPrecondition("parent_id: job " + Num(spec.parent_id) + " is " +
                              Str(parent->rec.status.state) +
                              "; sub-jobs join a parent while an attempt of it runs");
  }
  if (parent->rec.status.children_total + added > config_.limits.children_max) {
    return ResourceExhausted("parent_id: job " + Num(spec.parent_id) + " would have more than " +
                             Num(config_.limits.children_max) +
                             " sub-jobs, the most a job may have (children_max)");
  }
  return Status::Ok();
}

Result<std::vector<SubmitResult>> Engine::SubmitBatch(std::vector<JobSpec> specs) {
  auto where = [&](size_t i) { return specs.size() == 1 ? std::string() : "[" + Num(i) + "]"; };
  std::unordered_map<JobId, uint32_t> added;  // children per parent in this batch
  for (const JobSpec& spec : specs) {
    if (spec.parent_id != 0) ++added[spec.parent_id];
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    Status s = Validate(specs[i]);
    if (s.ok()) s = CheckParent(specs[i], added[specs[i].parent_id]);
    if (!s.ok()) return specs.size() == 1 ? s : Status(s.code(), where(i) + "." + s.message());
  }
  std::vector<SubmitResult> out;
  out.reserve(specs.size());
  for (JobSpec& spec : specs) {
    Result<SubmitResult> r = Submit(std::move(spec));
    BATON_CHECK(r.ok());  // everything that could refuse it was checked above
    out.push_back(*r);
  }
  return out;
}

Result<std::vector<SubmitResult>> Engine::Spawn(const AttemptRef& ref, std::vector<JobSpec> specs) {
  Result<Job*> found = FindForAttempt(ref, "spawn");
  if (!found.ok()) return found.status();
  if (specs.empty()) return std::vector<SubmitResult>{};
  for (JobSpec& spec : specs) {
    spec.owner = (*found)->rec.spec.owner;
    spec.parent_id = ref.job_id;
  }
  return SubmitBatch(std::move(specs));
}

std::vector<Assignment> Engine::Dispatch(const DispatchRequest& request) {
  std::vector<Assignment> out;
  const uint32_t capacity = std::min(request.capacity, config_.limits.dispatch_batch_max);
  if (capacity == 0) return out;
  scheduler_.SetNow(now_ms_);
  Scheduler::Pass pass = scheduler_.Begin(request);
  std::vector<Job*> skipped;  // declined by this worker: offered to it only if nothing else is
  while (out.size() < capacity) {
    SchedEntry* next = pass.Next();
    if (next == nullptr) break;
    Job* job = static_cast<Job*>(next);
    if (job->rec.status.declined_by == request.worker_id &&
        skipped.size() < config_.limits.decline_skip_max) {
      pass.Skip(*job);
      skipped.push_back(job);
      continue;
    }
    out.push_back(StartAttempt(*job, request.worker_id));
  }
  for (Job* job : skipped) {
    if (out.size() < capacity && pass.Fits(*job)) {
      out.push_back(StartAttempt(*job, request.worker_id));
    } else {
      // Keeps its place: its sequence number is unchanged.
      scheduler_.Queue(*job, job->rec.spec, RunType(job->rec.spec), /*keep_seq=*/true);
    }
  }
  return out;
}

Result<Engine::Job*> Engine::FindForAttempt(const AttemptRef& ref, std::string_view command) const {
  Job* job = FindJob(ref.job_id);
  if (job == nullptr) {
    return NotFound("job " + Num(ref.job_id) + ": not found among active jobs; its " +
                    std::string(command) + " was refused");
  }
  const JobStatus& s = job->rec.status;
  if (s.attempt_id != ref.attempt_id || s.attempt_id == 0) {
    return StaleAttempt("attempt " + Num(ref.attempt_id) + " is not the current attempt of job " +
                        Num(ref.job_id) + " (current: " + Num(s.attempt_id) + "); its " +
                        std::string(command) + " was refused");
  }
  if (s.state != JobState::kRunning) {
    return StaleAttempt("attempt " + Num(ref.attempt_id) + " of job " + Num(ref.job_id) +
                        " has already ended (the job is " + Str(s.state) + "); its " +
                        std::string(command) + " was refused");
  }
  BATON_RETURN_IF_ERROR(CheckHolder(*job, ref, command));
  return job;
}

Status Engine::CheckHolder(const Job& job, const AttemptRef& ref, std::string_view command) const {
  // The worker that holds the attempt, and (for a private worker) only on its account's jobs.
  // What is refused names the attempt, never who holds it.
  if (job.rec.status.worker_id != ref.worker_id || !Scheduler::MayHold(job, job.rec.spec.owner)) {
    return PermissionDenied("attempt " + Num(ref.attempt_id) + " of job " + Num(ref.job_id) +
                            " is not held by worker " + ref.worker_id + "; its " +
                            std::string(command) + " was refused");
  }
  return Status::Ok();
}

Status Engine::Holds(const AttemptRef& ref) const {
  return FindForAttempt(ref, "file request").status();
}

Status Engine::RecordOutput(const AttemptRef& ref, std::string_view name, uint64_t size) {
  Result<Job*> found = FindForAttempt(ref, "file request");
  if (!found.ok()) return found.status();
  Job& job = **found;
  JobStatus& s = job.rec.status;
  boost::system::error_code ec;
  boost::json::value manifest =
      s.outputs.empty() ? boost::json::object() : boost::json::parse(s.outputs.view(), ec);
  if (ec || !manifest.is_object()) manifest = boost::json::object();
  manifest.as_object()[name] = size;  // a file uploaded again replaces the first
  s.outputs = boost::json::serialize(manifest);
  s.updated_ms = now_ms_;
  MarkDirty(job);
  return Status::Ok();
}

Engine::Release Engine::ReleaseWorker(const std::string& worker_id,
                                      const std::vector<AttemptId>& held) {
  // Collected first: ending attempts may finish jobs, which may evict others from jobs_.
  Release out;
  std::vector<JobId> lost;
  const std::string_view owner = scheduler_.WorkerOwner(worker_id);
  for (const auto& [id, job] : jobs_) {
    const JobStatus& s = job->rec.status;
    if (s.state != JobState::kRunning || s.worker_id != worker_id) continue;
    // An attempt the worker holds, of a job it may hold: confirmed. One on another account's job
    // (the same id once served a shared pool) is not this connection's to hold.
    if (std::find(held.begin(), held.end(), s.attempt_id) != held.end() &&
        (owner.empty() || InAccount(job->rec.spec.owner, owner))) {
      out.held.push_back({s.attempt_id, RunType(job->rec.spec)});
    } else {
      lost.push_back(id);
    }
  }
  std::sort(lost.begin(), lost.end());  // a deterministic order of events
  for (JobId id : lost) {
    Job& job = *jobs_.at(id);
    const std::string why =
        "worker " + worker_id + " reconnected without this attempt (it never arrived or was lost)";
    EndAttempt(job, Outcome::kLost, why);
    RetryOrFail(job, Outcome::kLost, why);
  }
  out.lost = lost.size();
  return out;
}

Status Engine::Heartbeat(const AttemptRef& ref) {
  Result<Job*> found = FindForAttempt(ref, "heartbeat");
  if (!found.ok()) return found.status();
  Job& job = **found;
  JobStatus& s = job.rec.status;
  s.lease_expires_ms = now_ms_ + job.rec.spec.heartbeat_timeout_ms;
  // The lease timer is re-armed lazily when it fires. The store hears of a renewal only when the
  // lease moved by half a period, so heartbeats do not each cost a write; recovery may therefore
  // see a lease up to half a period shorter than the real one.
  if (s.lease_expires_ms - job.lease_persisted_ms >= job.rec.spec.heartbeat_timeout_ms / 2) {
    job.lease_persisted_ms = s.lease_expires_ms;
    s.updated_ms = now_ms_;
    MarkDirty(job);
  }
  return Status::Ok();
}

Status Engine::Progress(const AttemptRef& ref, double fraction, const std::string& message) {
  if (!(fraction >= 0.0 && fraction <= 1.0)) {
    return InvalidArgument("progress: must be between 0 and 1, got " + std::to_string(fraction));
  }
  if (message.size() > config_.limits.message_bytes_max) {
    return TooLong("message", message.size(), config_.limits.message_bytes_max);
  }
  Result<Job*> found = FindForAttempt(ref, "progress");
  if (!found.ok()) return found.status();
  Job& job = **found;
  JobStatus& s = job.rec.status;
  s.progress = fraction;
  s.progress_message = message;
  s.updated_ms = now_ms_;
  MarkDirty(job);
  EmitEvent(job, EventKind::kProgress, Outcome::kNone, s.progress_message);
  return Status::Ok();
}

Status Engine::Complete(const AttemptRef& ref, Completion c) {
  switch (c.outcome) {
    case Outcome::kSucceeded:
      if (c.result.empty()) return InvalidArgument("result: must be a JSON document, got nothing");
      if (c.result.size() > config_.limits.result_bytes_max) {
        return TooLong("result", c.result.size(), config_.limits.result_bytes_max);
      }
      break;
    case Outcome::kError:
      if (c.error.size() > config_.limits.error_bytes_max) {
        return TooLong("error", c.error.size(), config_.limits.error_bytes_max);
      }
      if (c.error.empty()) c.error = "the attempt failed without a message";
      if (c.result.size() > config_.limits.result_bytes_max) {
        return TooLong("result", c.result.size(), config_.limits.result_bytes_max);
      }
      break;
    case Outcome::kDeclined:
      break;
    default:
      return InvalidArgument("outcome: a worker reports succeeded, error or declined, got " +
                             std::string(OutcomeName(c.outcome)));
  }
  Result<Job*> found = FindForAttempt(ref, "completion");
  if (!found.ok()) return found.status();
  Job& job = **found;
  JobStatus& s = job.rec.status;
  DisarmTimer(job, kStateTimer);

  if (c.outcome == Outcome::kSucceeded) {
    s.result = c.result;
    const JobSpec& spec = job.rec.spec;
    if (!spec.verifier.empty()) {
      // The attempt stays open until its verifier job's verdict (or one by API).
      std::string in = R"({"job":{"id":)" + Num(job.rec.id) + R"(,"type":)" + Quote(spec.type) +
                       R"(,"payload":)" + spec.payload + R"(,"attempt":)" + Num(s.attempt_id) +
                       R"(,"number":)" + Num(s.attempts_started) + R"(},"result":)" + s.result +
                       "}";
      SetState(job, JobState::kSubmitted, Outcome::kNone,
               "awaiting verification by a " + spec.verifier + " job");
      Result<Job*> helper = StartHelper(job, JobRole::kVerifier, std::move(in));
      if (!helper.ok())
        RejectResult(job, "its verifier could not start: " + helper.status().message());
      return Status::Ok();
    }
    if (spec.verify) {
      // The attempt stays open until the verdict: a result handed in is work done, so it waits
      // for as long as it takes, unless the job set a verdict deadline.
      if (spec.verdict_timeout_ms > 0) {
        ArmTimer(job, kStateTimer, now_ms_ + spec.verdict_timeout_ms);
      }
      SetState(job, JobState::kSubmitted, Outcome::kNone, "awaiting verification");
      return Status::Ok();
    }
    EndAttempt(job, Outcome::kSucceeded, "");
    SucceedOrWait(job);
    return Status::Ok();
  }
  if (c.outcome == Outcome::kError) {
    // What a failed attempt handed in stays, as the attempt's result and, until the next attempt
    // starts, the job's: the error is one line, the structure lives in the result.
    if (c.result == "null") c.result.clear();
    EndAttempt(job, Outcome::kError, c.error, c.result);
    s.result = c.result;
    if (!c.retryable) {
      Finish(job, JobState::kFailed, Outcome::kError, c.error + " (not retryable)");
    } else {
      RetryOrFail(job, Outcome::kError, c.error);
    }
    return Status::Ok();
  }
  // Declined: the attempt does not count, and the job goes back to the queue at once, unless this
  // job was declined too often; then the decline counts as a retryable error so that it ends.
  EndAttempt(job, Outcome::kDeclined, "");
  ++s.declines;
  s.declined_by = s.worker_id;
  if (s.declines > config_.limits.declines_max) {
    RetryOrFail(job, Outcome::kError,
                "declined " + Num(s.declines) + " times (the limit is declines_max = " +
                    Num(config_.limits.declines_max) + ")");
    return Status::Ok();
  }
  --s.attempts_used;
  Enqueue(job);
  SetState(job, JobState::kQueued, Outcome::kDeclined, "declined by " + s.worker_id);
  return Status::Ok();
}

Status Engine::Accept(JobId id) {
  Result<Job*> found = FindActive(id);
  if (!found.ok()) return found.status();
  Job* job = *found;
  if (job->rec.status.state != JobState::kSubmitted) {
    return FailedPrecondition("job " + Num(id) + " is " + Str(job->rec.status.state) +
                              "; only a submitted job (awaiting a verdict) can be accepted");
  }
  AcceptResult(*job);
  return Status::Ok();
}

Status Engine::Reject(JobId id, std::string reason) {
  if (reason.size() > config_.limits.message_bytes_max) {
    return TooLong("reason", reason.size(), config_.limits.message_bytes_max);
  }
  if (reason.empty()) reason = "the result was rejected";
  Result<Job*> found = FindActive(id);
  if (!found.ok()) return found.status();
  Job* job = *found;
  JobStatus& s = job->rec.status;
  if (s.state == JobState::kSucceeded) {
    if (job->rec.spec.parent_id != 0) {
      return FailedPrecondition("job " + Num(id) + " is a sub-job of job " +
                                Num(job->rec.spec.parent_id) +
                                " and its result has been counted; reject the parent instead");
    }
    if (s.attempt_id == 0) {
      return FailedPrecondition("job " + Num(id) +
                                " has no attempt whose result could be rejected");
    }
    s.finished_ms = 0;
  } else if (s.state != JobState::kSubmitted) {
    return FailedPrecondition("job " + Num(id) + " is " + Str(s.state) +
                              "; only a submitted or succeeded job can be rejected");
  }
  RejectResult(*job, reason);
  return Status::Ok();
}

Status Engine::Cancel(JobId id, std::string reason) {
  if (reason.size() > config_.limits.message_bytes_max) {
    return TooLong("reason", reason.size(), config_.limits.message_bytes_max);
  }
  if (reason.empty()) reason = "cancelled";
  Result<Job*> found = FindActive(id);
  if (!found.ok()) return found.status();
  Job* job = *found;
  const JobState state = job->rec.status.state;
  if (IsTerminal(state)) {
    return FailedPrecondition("job " + Num(id) + " has already " + Str(state) +
                              "; only a job that has not finished can be cancelled");
  }
  const Outcome ended = EndOpenAttempt(*job, Outcome::kCancelled, reason);
  Finish(*job, JobState::kCancelled, ended, reason);
  return Status::Ok();
}

Status Engine::Retry(JobId id) {
  Result<Job*> found = FindActive(id);
  if (!found.ok()) return found.status();
  Job* job = *found;
  JobStatus& s = job->rec.status;
  if (s.state != JobState::kFailed && s.state != JobState::kCancelled) {
    return FailedPrecondition("job " + Num(id) + " is " + Str(s.state) +
                              "; only a failed or cancelled job can be retried");
  }
  const JobSpec& spec = job->rec.spec;
  if (spec.run_by_ms != 0 && spec.run_by_ms <= now_ms_) {
    return FailedPrecondition("job " + Num(id) + " is past its deadline (run_by " +
                              std::to_string(spec.run_by_ms) + "); submit it anew");
  }
  if (spec.role != JobRole::kJob) {
    return FailedPrecondition("job " + Num(id) + " is the " + std::string(JobRoleName(spec.role)) +
                              " of job " + Num(spec.subject_id) + "; retry that job instead");
  }
  if (spec.parent_id != 0) {
    Job* parent = FindJob(spec.parent_id);
    if (parent == nullptr || IsTerminal(parent->rec.status.state)) {
      return FailedPrecondition("job " + Num(id) + " is a sub-job of job " + Num(spec.parent_id) +
                                ", which has finished; retry the parent instead");
    }
    if (!job->attached || parent->rec.status.helper_id != 0) {
      return FailedPrecondition("job " + Num(id) + " is a sub-job of job " + Num(spec.parent_id) +
                                " that no longer counts (its attempt ended, or its aggregator "
                                "runs); retry the parent instead");
    }
    JobStatus& p = parent->rec.status;
    --p.children_done;
    --p.children_failed;  // the child did not succeed, so it was counted as failed
    MarkDirty(*parent);
  }
  DetachChildren(*job, "its parent was retried");
  s.attempts_used = 0;
  s.declines = 0;
  s.declined_by.clear();
  s.error.clear();
  s.result.clear();
  s.finished_ms = 0;
  Enqueue(*job);
  if (spec.run_by_ms != 0) ArmTimer(*job, kDeadlineTimer, spec.run_by_ms);
  SetState(*job, JobState::kQueued, Outcome::kNone, "retried");
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Time

void Engine::Tick(int64_t now_ms) {
  now_ms_ = std::max(now_ms_, now_ms);
  scheduler_.SetNow(now_ms_);
  while (!timers_.empty() && timers_.top().due_ms <= now_ms_) {
    Timer t = timers_.Pop();
    FireTimer(*t.job, t.slot);
  }
  schedules_.Fire(now_ms_, [this](JobSpec spec) { return Submit(std::move(spec)); });
  ExpireKeys();
}

void Engine::FireTimer(Job& job, TimerSlot slot) {
  JobStatus& s = job.rec.status;
  const JobSpec& spec = job.rec.spec;
  if (slot == kDeadlineTimer) {
    BATON_CHECK(!IsTerminal(s.state));
    const std::string why = "deadline passed (run_by " + std::to_string(spec.run_by_ms) + ")";
    const Outcome ended = EndOpenAttempt(job, Outcome::kTimeout, why);
    Finish(job, JobState::kFailed, ended, why);
    return;
  }
  switch (s.state) {
    case JobState::kPending:
    case JobState::kRetryWait:
      Enqueue(job);
      SetState(job, JobState::kQueued, Outcome::kNone, "");
      return;
    case JobState::kRunning: {
      const int64_t deadline_ms = AttemptDeadlineMs(job.rec);
      if (now_ms_ >= deadline_ms) {
        const std::string why =
            "attempt ran longer than its timeout of " + std::to_string(spec.timeout_ms) + " ms";
        StopRunningAttempt(job, Outcome::kTimeout);
        EndAttempt(job, Outcome::kTimeout, why);
        RetryOrFail(job, Outcome::kTimeout, why);
      } else if (now_ms_ >= s.lease_expires_ms) {
        const std::string why = "worker " + s.worker_id + " stopped heartbeating (lease of " +
                                std::to_string(spec.heartbeat_timeout_ms) + " ms expired)";
        StopRunningAttempt(job, Outcome::kLost);
        EndAttempt(job, Outcome::kLost, why);
        RetryOrFail(job, Outcome::kLost, why);
      } else {
        ArmTimer(job, kStateTimer, std::min(s.lease_expires_ms, deadline_ms));
      }
      return;
    }
    case JobState::kSubmitted: {
      // The work is not done again: the job fails with its result kept for whoever looks.
      const std::string why =
          "no verdict: the result waited longer than its verdict_timeout_ms of " +
          std::to_string(spec.verdict_timeout_ms) + " ms";
      EndAttempt(job, Outcome::kTimeout, why, s.result);
      Finish(job, JobState::kFailed, Outcome::kTimeout, why);
      return;
    }
    default:
      // Every transition out of a timed state disarms its timer.
      BATON_CHECK(false && "state timer fired in a state without one");
  }
}

void Engine::ExpireKeys() {
  while (!key_order_.empty() && key_order_.front().second + config_.idempotency_ttl_ms <= now_ms_) {
    auto it = keys_.find(key_order_.front().first);
    if (it != keys_.end() && it->second.created_ms == key_order_.front().second) keys_.erase(it);
    key_order_.pop_front();
  }
}

// ---------------------------------------------------------------------------------------------
// Records, recovery, stats

void Engine::TakeRecords(RecordBatch* out) {
  for (Job* job : dirty_) {
    job->dirty = false;
    if (job->is_new) {
      job->is_new = false;
      out->inserts.push_back(job->rec);
    } else {
      out->updates.push_back(JobUpdate{job->rec.id, job->rec.status});
    }
  }
  dirty_.clear();
  auto append = [](auto& to, auto& from) {
    if (to.empty()) {
      to.swap(from);
    } else {
      to.insert(to.end(), std::make_move_iterator(from.begin()),
                std::make_move_iterator(from.end()));
    }
    from.clear();
  };
  for (Workflow* wf : dirty_workflows_) {
    wf->dirty = false;
    if (wf->is_new) {
      wf->is_new = false;
      out->workflow_inserts.push_back(wf->rec);
    } else {
      out->workflow_updates.push_back(WorkflowUpdate{wf->rec.id, wf->rec.status});
    }
  }
  dirty_workflows_.clear();
  append(out->attempts, pending_.attempts);
  append(out->events, pending_.events);
  append(out->schedules, pending_.schedules);
  append(out->type_pauses, pending_.type_pauses);
  append(out->job_deletes, pending_.job_deletes);
  out->events_before = std::max(out->events_before, pending_.events_before);
  pending_.events_before = 0;
  EvictFinished();
}

void Engine::EvictFinished() {
  while (finished_workflows_.size() > config_.finished_jobs_max) {
    auto it = workflows_.find(finished_workflows_.front());
    finished_workflows_.pop_front();
    if (it != workflows_.end() && IsTerminal(it->second->rec.status.state) && !it->second->dirty) {
      workflows_.erase(it);
    }
  }
  while (finished_.size() > config_.finished_jobs_max) {
    const JobId id = finished_.front();
    finished_.pop_front();
    auto it = jobs_.find(id);
    if (it == jobs_.end()) continue;
    Job& job = *it->second;
    job.in_finished = false;
    if (!IsTerminal(job.rec.status.state) || job.dirty) continue;
    --state_counts_[static_cast<size_t>(job.rec.status.state)];
    jobs_.erase(it);
  }
}

void Engine::TakeNotices(std::vector<Notice>* out) {
  out->insert(out->end(), std::make_move_iterator(notices_.begin()),
              std::make_move_iterator(notices_.end()));
  notices_.clear();
}

Status Engine::Restore(RecoveredState state) {
  if (!jobs_.empty() || !workflows_.empty() || event_seq_last_ != 0 || job_id_last_ != 0) {
    return FailedPrecondition("restore: the engine already holds state; restore a new engine");
  }
  job_id_last_ = state.job_id_max;
  attempt_id_last_ = state.attempt_id_max;
  for (const std::string& type : state.paused_types) scheduler_.PauseType(type, true);
  schedules_.Restore(std::move(state.schedules),
                     [this](const ScheduleRecord& rec) { return ScheduleTemplate(rec); });
  event_seq_last_ = state.event_seq_max;
  std::sort(state.jobs.begin(), state.jobs.end(),
            [](const JobRecord& a, const JobRecord& b) { return a.id < b.id; });
  for (JobRecord& rec : state.jobs) {
    if (rec.id == 0 || rec.id > job_id_last_ || !rec.spec.retry ||
        rec.status.attempt_id > attempt_id_last_) {
      return DataLoss("restore: job " + Num(rec.id) + " is inconsistent with the stored ids");
    }
    auto owned = std::make_unique<Job>();
    Job& job = *owned;
    job.rec = std::move(rec);
    job.is_new = false;
    job.lease_persisted_ms = job.rec.status.lease_expires_ms;
    ++state_counts_[static_cast<size_t>(job.rec.status.state)];
    const JobStatus& s = job.rec.status;
    switch (s.state) {
      case JobState::kPending:
      case JobState::kRetryWait:
        ArmTimer(job, kStateTimer, s.ready_at_ms);
        break;
      case JobState::kQueued:
        Enqueue(job);
        break;
      case JobState::kRunning:
        ArmTimer(job, kStateTimer, std::min(s.lease_expires_ms, AttemptDeadlineMs(job.rec)));
        scheduler_.Started(job, job.rec.spec, RunType(job.rec.spec), s.worker_id);
        break;
      case JobState::kSubmitted:
        // The verdict timer restarts: how long the verifier already had is not stored. A
        // verifier job has its own timers.
        if (s.helper_id == 0 && job.rec.spec.verdict_timeout_ms > 0) {
          ArmTimer(job, kStateTimer, s.updated_ms + job.rec.spec.verdict_timeout_ms);
        }
        break;
      case JobState::kWaitingChildren:
      case JobState::kSucceeded:
      case JobState::kFailed:
      case JobState::kCancelled:
        break;
    }
    if (!IsTerminal(s.state) && job.rec.spec.run_by_ms != 0) {
      ArmTimer(job, kDeadlineTimer, job.rec.spec.run_by_ms);
    }
    const JobId id = job.rec.id;
    jobs_.emplace(id, std::move(owned));
  }
  // Sub-jobs count for their parent's attempt if it is still the current one; finished sub-jobs
  // stay in memory for their parent (the store recovers those of active parents).
  std::vector<JobId> ids;
  ids.reserve(jobs_.size());
  for (const auto& [id, job] : jobs_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  for (JobId id : ids) {
    Job& job = *jobs_.at(id);
    Job* parent = job.rec.spec.parent_id != 0 ? FindJob(job.rec.spec.parent_id) : nullptr;
    if (parent != nullptr && job.rec.spec.parent_attempt == parent->rec.status.attempt_id) {
      const JobState ps = parent->rec.status.state;
      job.attached = ps == JobState::kRunning || ps == JobState::kSubmitted ||
                     ps == JobState::kWaitingChildren || IsTerminal(ps);
      if (job.attached) parent->children.push_back(id);
    }
    if (IsTerminal(job.rec.status.state) &&
        !(job.attached && !IsTerminal(parent->rec.status.state))) {
      job.in_finished = true;
      finished_.push_back(id);
    }
  }
  for (JobId id : ids) {
    const Job& job = *jobs_.at(id);
    const JobState ps = job.rec.status.state;
    const bool counts =
        ps == JobState::kRunning || ps == JobState::kSubmitted || ps == JobState::kWaitingChildren;
    if (counts && job.children.size() != job.rec.status.children_total) {
      return DataLoss("restore: job " + Num(id) + " counts " + Num(job.rec.status.children_total) +
                      " sub-jobs, but " + Num(job.children.size()) + " were recovered");
    }
  }
  workflow_id_last_ = state.workflow_id_max;
  for (WorkflowRecord& rec : state.workflows) {
    if (rec.id == 0 || rec.id > workflow_id_last_) {
      return DataLoss("restore: workflow " + Num(rec.id) + " is inconsistent with the stored ids");
    }
    Result<std::unique_ptr<Workflow>> wf = Rebuild(std::move(rec));
    if (!wf.ok()) return DataLoss("restore: " + wf.status().message());
    (*wf)->is_new = false;
    const WorkflowId id = (*wf)->rec.id;
    workflows_.emplace(id, std::move(*wf));
  }
  std::sort(
      state.keys.begin(), state.keys.end(),
      [](const IdempotencyKey& a, const IdempotencyKey& b) { return a.created_ms < b.created_ms; });
  for (const IdempotencyKey& k : state.keys) {
    std::string map_key = KeyOf(k.owner, k.key);
    keys_[map_key] = KeyEntry{k.job_id, k.created_ms};
    key_order_.emplace_back(std::move(map_key), k.created_ms);
  }
  return Status::Ok();
}

Status Engine::Load(JobRecord rec) {
  if (!IsTerminal(rec.status.state)) {
    return FailedPrecondition("load: job " + Num(rec.id) + " is " + Str(rec.status.state) +
                              "; only a finished job can be loaded");
  }
  if (rec.id == 0 || rec.id > job_id_last_ || !rec.spec.retry) {
    return InvalidArgument("load: job " + Num(rec.id) + " is not a job of this store");
  }
  if (FindJob(rec.id) != nullptr) return Status::Ok();
  auto owned = std::make_unique<Job>();
  Job& job = *owned;
  job.rec = std::move(rec);
  job.is_new = false;
  job.in_finished = true;
  ++state_counts_[static_cast<size_t>(job.rec.status.state)];
  finished_.push_back(job.rec.id);
  jobs_.emplace(job.rec.id, std::move(owned));
  return Status::Ok();
}

EngineStats Engine::Stats() const {
  EngineStats st;
  st.jobs_by_state = state_counts_;
  st.jobs_in_memory = jobs_.size();
  st.idempotency_keys = keys_.size();
  st.timers = timers_.size();
  st.event_seq_last = event_seq_last_;
  return st;
}

std::string Engine::WhyWaiting(JobId id) const {
  const Job* job = FindJob(id);
  if (job == nullptr) return "";
  const JobStatus& s = job->rec.status;
  switch (s.state) {
    case JobState::kPending:
      return "not before " + Num(static_cast<uint64_t>(s.ready_at_ms)) + " (run_after)";
    case JobState::kRetryWait:
      return "backing off after attempt " + Num(s.attempts_started) + " until " +
             Num(static_cast<uint64_t>(s.ready_at_ms));
    case JobState::kQueued:
      return scheduler_.WhyWaiting(*job, job->rec.spec, RunType(job->rec.spec));
    default:
      return "";
  }
}

std::vector<std::pair<std::string, size_t>> Engine::QueuedByType() const {
  return scheduler_.QueuedByType();
}

std::vector<JobId> Engine::Forget(const std::vector<IdempotencyKey>& jobs, EventSeq events_before) {
  std::vector<JobId> out;
  out.reserve(jobs.size());
  for (const IdempotencyKey& forget : jobs) {
    const JobId id = forget.job_id;
    auto it = jobs_.find(id);
    if (it != jobs_.end()) {
      Job& job = *it->second;
      // Retried since the cleaner read it, or waiting to be written, or kept for its parent or
      // its running workflow.
      if (!IsTerminal(job.rec.status.state) || job.dirty) continue;
      const Job* parent = job.rec.spec.parent_id != 0 ? FindJob(job.rec.spec.parent_id) : nullptr;
      if (parent != nullptr && !IsTerminal(parent->rec.status.state)) continue;
      if (job.rec.spec.workflow_id != 0) {
        auto wf = workflows_.find(job.rec.spec.workflow_id);
        if (wf != workflows_.end() && !IsTerminal(wf->second->rec.status.state)) continue;
      }
      --state_counts_[static_cast<size_t>(job.rec.status.state)];
      jobs_.erase(it);  // its entry in finished_ is skipped when it comes up
    }
    if (!forget.key.empty()) {
      // A later submit with the key makes a new job rather than naming a deleted one.
      auto key = keys_.find(KeyOf(forget.owner, forget.key));
      if (key != keys_.end() && key->second.job_id == id) keys_.erase(key);
    }
    out.push_back(id);
  }
  pending_.job_deletes.insert(pending_.job_deletes.end(), out.begin(), out.end());
  pending_.events_before = std::max(pending_.events_before, events_before);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Cron schedules

Status Engine::PauseType(const std::string& type, bool paused) {
  if (type.empty()) return InvalidArgument("type: must not be empty");
  BATON_RETURN_IF_ERROR(CheckTypeName("type", type, config_.limits.type_bytes_max));
  if (scheduler_.Paused(type) == paused) return Status::Ok();
  scheduler_.PauseType(type, paused);
  pending_.type_pauses.emplace_back(type, paused);
  return Status::Ok();
}

Result<JobSpec> Engine::ScheduleTemplate(const ScheduleRecord& rec) const {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(rec.job, ec);
  if (ec) return InvalidArgument("job: not JSON: " + ec.message());
  Result<JobSpec> spec = ParseJobSpec(v, "job");
  if (!spec.ok()) return spec.status();
  for (const auto& [field, set] : {std::pair{"run_after_ms", spec->run_after_ms != 0},
                                   {"run_by_ms", spec->run_by_ms != 0},
                                   {"idempotency_key", !spec->idempotency_key.empty()},
                                   {"parent_id", spec->parent_id != 0}}) {
    if (set) {
      return InvalidArgument(std::string("job.") + field +
                             ": not for a schedule's jobs, which start at their tick");
    }
  }
  spec->owner = rec.owner;
  JobSpec checked = *spec;
  Status valid = Validate(checked);
  if (!valid.ok()) return Status(valid.code(), "job." + valid.message());
  return spec;
}

Status Engine::PutSchedule(ScheduleRecord rec) {
  return schedules_.Put(std::move(rec), now_ms_,
                        [this](const ScheduleRecord& r) { return ScheduleTemplate(r); });
}

// ---------------------------------------------------------------------------------------------
// Workflows

namespace {

// A step's failure fails what it belongs to unless it is optional (a plugin step: unless its
// plugin is not mandatory).
bool Mandatory(const StepPlan& plan) { return !plan.optional; }

bool Failed(StepState s) { return s == StepState::kFailed || s == StepState::kCancelled; }

// A failed step as a roll-up names it: its name and its own error text, cut (at a character's
// start, so the text stays UTF-8) to keep the group's message bounded.
std::string FailedStepText(const std::string& name, const std::string& error) {
  constexpr size_t kErrorBytesMax = 300;
  if (error.empty()) return name;
  if (error.size() <= kErrorBytesMax) return name + " (" + error + ")";
  size_t cut = kErrorBytesMax;
  while (cut > 0 && (static_cast<unsigned char>(error[cut]) & 0xC0) == 0x80) --cut;
  return name + " (" + error.substr(0, cut) + "...)";
}

// Whether every mandatory step of a group is done (ended, or partial): then the group rolls up,
// to its end or to partial.
bool MandatoryDone(const WorkflowPlan& plan, const WorkflowStatus& status,
                   const std::vector<uint32_t>& members) {
  return std::all_of(members.begin(), members.end(), [&](uint32_t m) {
    return !Mandatory(plan.steps[m]) || Settled(status.steps[m].state);
  });
}

// The roll-up of a group of steps (an activity, or its plugins) into `group`, once its mandatory
// steps are done (docs/api.md has it as a table): skipped if all were skipped; failed if a
// mandatory one failed, whatever the optional ones show; partial while optional ones (or a
// partial group) still run; else succeeded, with a warning naming the optional ones that failed
// (or that succeeded with warnings of their own), which reads optional_failed.
void RollUp(const WorkflowPlan& plan, const WorkflowStatus& status,
            const std::vector<uint32_t>& members, StepStatus& group) {
  group.warning = false;
  bool all_skipped = !members.empty();
  std::string failed, warned, running;
  for (uint32_t m : members) {
    const StepStatus& st = status.steps[m];
    if (st.state != StepState::kSkipped) all_skipped = false;
    if (!IsTerminal(st.state)) {
      running += (running.empty() ? "" : ", ") + plan.steps[m].name;
      continue;
    }
    if (Failed(st.state)) {
      std::string& list = Mandatory(plan.steps[m]) ? failed : warned;
      list += (list.empty() ? "" : ", ") + FailedStepText(plan.steps[m].name, st.message);
    }
    if (st.state == StepState::kSucceeded && st.warning) {
      // A group that succeeded with warnings of its own (an activity's plugins): the optional
      // steps it names, each with its error, rather than the group's name.
      constexpr std::string_view kWarned = "warning: optional steps failed: ";
      const bool nested = st.message.compare(0, kWarned.size(), kWarned) == 0;
      warned += (warned.empty() ? "" : ", ") +
                (nested ? st.message.substr(kWarned.size()) : plan.steps[m].name);
    }
  }
  if (all_skipped) {
    group.state = StepState::kSkipped;
    group.message = "all its steps were skipped";
  } else if (!failed.empty()) {
    group.state = StepState::kFailed;
    group.message = "failed: " + failed + (warned.empty() ? "" : "; warnings: " + warned);
  } else if (!running.empty()) {
    group.state = StepState::kPartial;
    group.message = "mandatory completed; still running: " + running +
                    (warned.empty() ? "" : "; optional steps failed: " + warned);
  } else {
    group.state = StepState::kSucceeded;
    group.warning = !warned.empty();
    group.message = warned.empty() ? "" : "warning: optional steps failed: " + warned;
  }
}

}  // namespace

Engine::Workflow* Engine::FindWorkflowMutable(WorkflowId id) const {
  auto it = workflows_.find(id);
  return it == workflows_.end() ? nullptr : it->second.get();
}

const WorkflowRecord* Engine::FindWorkflow(WorkflowId id) const {
  Workflow* wf = FindWorkflowMutable(id);
  return wf ? &wf->rec : nullptr;
}

void Engine::MarkDirty(Workflow& wf) {
  wf.rec.status.updated_ms = now_ms_;
  if (!wf.dirty) {
    wf.dirty = true;
    dirty_workflows_.push_back(&wf);
  }
}

void Engine::EmitWorkflowEvent(Workflow& wf, JobId job, std::string message) {
  Event e;
  e.seq = ++event_seq_last_;
  e.job_id = job;
  e.at_ms = now_ms_;
  e.kind = EventKind::kWorkflow;
  e.message = std::move(message);
  e.workflow_id = wf.rec.id;
  pending_.events.push_back(std::move(e));
}

StepLookup Engine::Lookup(const Workflow& wf) const {
  return [&wf, views = std::make_shared<std::deque<StepView>>()](
             std::string_view name) -> const StepView* {
    const int32_t i = wf.plan.Find(name);
    if (i < 0) return nullptr;
    const StepStatus& st = wf.rec.status.steps[static_cast<size_t>(i)];
    views->push_back(StepView{st.state, st.job_id, &st.result});
    return &views->back();
  };
}

Result<std::unique_ptr<Engine::Workflow>> Engine::Rebuild(WorkflowRecord rec) const {
  Result<WorkflowPlan> plan = PlanOf(rec);
  if (!plan.ok()) return plan.status();
  auto wf = std::make_unique<Workflow>();
  wf->plan = std::move(*plan);
  wf->rec = std::move(rec);
  return wf;
}

Result<WorkflowId> Engine::SubmitWorkflow(const std::string& owner, std::string document,
                                          std::optional<WorkflowPlan> parsed) {
  if (owner.empty()) return InvalidArgument("owner: must not be empty");
  Result<WorkflowPlan> plan =
      parsed ? Result<WorkflowPlan>(std::move(*parsed)) : WorkflowPlan::Parse(document);
  if (!plan.ok()) return plan.status();
  // Every step's job must be valid as it stands (references are filled in later).
  for (const StepPlan& step : plan->steps) {
    if (step.kind != StepPlan::kJob) continue;
    JobSpec spec = step.job;
    spec.owner = owner;
    if (Status s = Validate(spec); !s.ok()) {
      return Status(s.code(), "steps." + step.name + "." + s.message());
    }
  }
  auto wf = std::make_unique<Workflow>();
  wf->rec.id = ++workflow_id_last_;
  wf->rec.owner = owner;
  wf->rec.name = plan->name;
  wf->rec.created_ms = now_ms_;
  wf->rec.document = std::move(document);
  wf->rec.status.steps.resize(plan->steps.size());
  wf->plan = std::move(*plan);
  Workflow& w = *wf;
  workflows_.emplace(w.rec.id, std::move(wf));
  MarkDirty(w);
  EmitWorkflowEvent(w, 0, "workflow: running");
  Advance(w);
  return w.rec.id;
}

void Engine::StartStep(Workflow& wf, uint32_t i) {
  const StepPlan& plan = wf.plan.steps[i];
  StepStatus& st = wf.rec.status.steps[i];
  JobSpec spec = plan.job;
  spec.owner = wf.rec.owner;
  spec.workflow_id = wf.rec.id;
  spec.workflow_step = i;
  spec.payload = FillReferences(spec.payload, Lookup(wf));
  if (Status s = Validate(spec); !s.ok()) {
    st.state = StepState::kFailed;
    st.message = "its job was refused: " + s.message();
    EmitWorkflowEvent(wf, 0, "step " + plan.name + ": failed: " + st.message);
    return;
  }
  Job& job = CreateJob(std::move(spec));
  st.state = StepState::kRunning;
  st.job_id = job.rec.id;
  st.result.clear();
  st.message.clear();
  ++st.runs;
  EmitWorkflowEvent(wf, job.rec.id, "step " + plan.name + ": running");
}

bool Engine::RolledUpAgain(Workflow& wf, const std::vector<uint32_t>& members, StepStatus& group) {
  const StepState state = group.state;
  const std::string message = group.message;
  RollUp(wf.plan, wf.rec.status, members, group);
  return group.state != state || group.message != message;
}

void Engine::Advance(Workflow& wf) {
  if (IsTerminal(wf.rec.status.state)) return;
  MarkDirty(wf);
  const WorkflowState read_before = ReadState(wf.plan, wf.rec.status);
  std::vector<StepStatus>& steps = wf.rec.status.steps;
  for (bool moved = true; moved;) {
    moved = false;
    for (uint32_t i = 0; i < steps.size(); ++i) {
      const StepPlan& plan = wf.plan.steps[i];
      StepStatus& st = steps[i];
      if ((st.state == StepState::kRunning || st.state == StepState::kPartial) &&
          plan.kind == StepPlan::kPlugins) {
        // It rolls up once its mandatory plugins are done: to partial while optional ones run.
        std::vector<uint32_t> mine;
        for (uint32_t k = 0; k < steps.size(); ++k) {
          if (steps[k].plugin_of == i + 1) mine.push_back(k);
        }
        if (!MandatoryDone(wf.plan, wf.rec.status, mine)) continue;
        if (!RolledUpAgain(wf, mine, st)) continue;
        EmitWorkflowEvent(wf, 0,
                          "step " + plan.name + ": " + std::string(StepReadName(st)) +
                              (st.state == StepState::kPartial ? " (" + st.message + ")" : ""));
        moved = true;
        continue;
      }
      if (plan.kind == StepPlan::kGate && st.state == StepState::kWaiting && !wf.cancelling) {
        // An activity reads running from its first step's start until it rolls up.
        bool started = false;
        for (uint32_t m : plan.members) started = started || steps[m].state != StepState::kWaiting;
        if (started && !MandatoryDone(wf.plan, wf.rec.status, plan.members)) {
          st.state = StepState::kRunning;
          EmitWorkflowEvent(wf, 0, "activity " + plan.name + ": running");
          moved = true;
          continue;
        }
      }
      // A running (or partial) activity rolls up once its mandatory steps are done.
      const bool gate_open = plan.kind == StepPlan::kGate &&
                             (st.state == StepState::kRunning || st.state == StepState::kPartial);
      if (st.state != StepState::kWaiting && !gate_open) continue;
      if (wf.cancelling) {
        st.state = StepState::kCancelled;
        st.message = "the workflow was cancelled";
        moved = true;
        continue;
      }
      if (plan.kind == StepPlan::kGate) {
        if (!MandatoryDone(wf.plan, wf.rec.status, plan.members)) continue;
        if (!RolledUpAgain(wf, plan.members, st)) continue;
        moved = true;
        EmitWorkflowEvent(wf, 0,
                          "activity " + plan.name + ": " + std::string(StepReadName(st)) +
                              (st.message.empty() ? "" : " (" + st.message + ")"));
        continue;
      }
      bool ready = true, all_ok = true, any_failed = false;
      std::string why;
      for (uint32_t d : plan.depends_on) {
        const StepState ds = steps[d].state;
        if (!Settled(ds)) {
          // An optional step of an activity's parallel stage does not hold up what follows: the
          // stage is done ("partial") once its mandatory steps are.
          const StepPlan& dp = wf.plan.steps[d];
          if (dp.optional && dp.stage == StepPlan::kParallel && ds == StepState::kRunning) {
            continue;
          }
          ready = false;
          break;
        }
        const bool failed = Failed(ds);
        any_failed |= failed;
        if (ds == StepState::kSkipped || (failed && Mandatory(wf.plan.steps[d]))) {
          all_ok = false;
          if (why.empty())
            why = "upstream " + wf.plan.steps[d].name + " " + std::string(StepStateName(ds));
        }
      }
      if (!ready) continue;
      bool run = false;
      switch (plan.when) {
        case StepPlan::kOnSuccess:
          run = all_ok;
          break;
        case StepPlan::kOnFailure:
          run = any_failed;
          if (!run) why = "no upstream step failed";
          break;
        case StepPlan::kAlways:
          run = true;
          break;
        case StepPlan::kExpression:
          run = plan.expression->Evaluate(Lookup(wf));
          if (!run) why = "its condition is false";
          break;
      }
      moved = true;
      if (plan.kind == StepPlan::kPlugins) {
        // Every plugin registered for the activity, lower order first; only those that always
        // run when the stage is skipped.
        std::map<std::pair<int32_t, std::string>, PluginRegistration> chosen;
        const std::string& activity = wf.plan.activities[static_cast<size_t>(plan.activity)].name;
        for (const auto& [worker, regs] : plugins_) {
          for (const PluginRegistration& r : regs) {
            if (r.activity != activity || (!run && !r.always_run)) continue;
            chosen.emplace(std::make_pair(r.order, r.type), r);
          }
        }
        const std::string name = plan.name;
        const std::string no_plugins = "no plugin is registered for activity " + activity;
        if (steps.size() + chosen.size() > WorkflowLimits{}.steps_max) {
          st.state = StepState::kFailed;
          st.message = Num(chosen.size()) + " plugins would make more than " +
                       Num(WorkflowLimits{}.steps_max) + " steps, the most a workflow may have";
          EmitWorkflowEvent(wf, 0, "step " + name + ": failed (" + st.message + ")");
          continue;
        }
        // (Appending invalidates `plan` and `st`: they are not used after this.)
        for (const auto& [key, r] : chosen) {
          StepStatus ps;
          ps.plugin_of = i + 1;
          ps.plugin_type = r.type;
          ps.plugin_mandatory = r.mandatory;
          ps.plugin_order = r.order;
          wf.plan.steps.push_back(PluginStep(wf.plan, i, ps, wf.rec.id));
          steps.push_back(std::move(ps));
        }
        StepStatus& now = steps[i];
        if (chosen.empty()) {
          now.state = run ? StepState::kSucceeded : StepState::kSkipped;
          now.message = run ? no_plugins : why;
        } else {
          now.state = StepState::kRunning;
        }
        EmitWorkflowEvent(wf, 0,
                          "step " + name + ": " + std::string(StepStateName(now.state)) + " (" +
                              Num(chosen.size()) + " plugins)");
        continue;
      }
      if (!run) {
        st.state = StepState::kSkipped;
        st.message = why;
        EmitWorkflowEvent(wf, 0, "step " + plan.name + ": skipped (" + why + ")");
        continue;
      }
      StartStep(wf, i);
    }
  }
  for (const StepStatus& st : steps) {
    if (!IsTerminal(st.state)) {
      // Still running; partial once only optional steps are left (it says so when that changes).
      const WorkflowState read = ReadState(wf.plan, wf.rec.status);
      if (read != read_before) {
        EmitWorkflowEvent(wf, 0, "workflow: " + std::string(WorkflowStateName(read)));
      }
      return;
    }
  }
  FinishWorkflow(wf);
}

void Engine::FinishWorkflow(Workflow& wf) {
  WorkflowStatus& s = wf.rec.status;
  std::string failed, warned;
  for (uint32_t i = 0; i < s.steps.size(); ++i) {
    const StepPlan& plan = wf.plan.steps[i];
    const StepStatus& st = s.steps[i];
    if (plan.kind == StepPlan::kGate) continue;  // its steps speak for it
    if (Failed(st.state)) {
      std::string& list = Mandatory(plan) ? failed : warned;
      list += (list.empty() ? "" : ", ") + plan.name;
    }
  }
  if (wf.cancelling) {
    s.state = WorkflowState::kCancelled;
  } else if (!failed.empty()) {
    s.state = WorkflowState::kFailed;
    s.message =
        "steps failed: " + failed + (warned.empty() ? "" : "; optional steps failed: " + warned);
  } else if (!warned.empty()) {
    s.state = WorkflowState::kOptionalFailed;
    s.message = "optional steps failed: " + warned;
  } else {
    s.state = WorkflowState::kSucceeded;
    s.message.clear();
  }
  s.finished_ms = now_ms_;
  wf.cancelling = false;
  MarkDirty(wf);
  EmitWorkflowEvent(wf, 0,
                    "workflow: " + std::string(WorkflowStateName(s.state)) +
                        (s.message.empty() ? "" : " (" + s.message + ")"));
  finished_workflows_.push_back(wf.rec.id);
}

void Engine::StepJobFinished(const Job& job) {
  Workflow* wf = FindWorkflowMutable(job.rec.spec.workflow_id);
  if (wf == nullptr) return;
  const uint32_t i = job.rec.spec.workflow_step;
  if (i >= wf->rec.status.steps.size()) return;
  StepStatus& st = wf->rec.status.steps[i];
  if (st.job_id != job.rec.id || st.state != StepState::kRunning) return;  // an earlier run's
  const JobStatus& js = job.rec.status;
  st.state = js.state == JobState::kSucceeded ? StepState::kSucceeded
             : js.state == JobState::kFailed  ? StepState::kFailed
                                              : StepState::kCancelled;
  st.result = js.state == JobState::kSucceeded ? js.result : "";
  st.message = js.state == JobState::kSucceeded ? "" : js.error;
  EmitWorkflowEvent(*wf, job.rec.id,
                    "step " + wf->plan.steps[i].name + ": " + std::string(StepStateName(st.state)));
  Advance(*wf);
}

Status Engine::CancelWorkflow(WorkflowId id, std::string reason) {
  if (reason.size() > config_.limits.message_bytes_max) {
    return TooLong("reason", reason.size(), config_.limits.message_bytes_max);
  }
  if (reason.empty()) reason = "cancelled";
  Workflow* wf = FindWorkflowMutable(id);
  if (wf == nullptr) return NotFound("workflow " + Num(id) + ": not found");
  if (IsTerminal(wf->rec.status.state)) {
    return FailedPrecondition("workflow " + Num(id) + " has already " +
                              std::string(WorkflowStateName(wf->rec.status.state)) +
                              "; only a running workflow can be cancelled");
  }
  wf->cancelling = true;
  wf->rec.status.message = reason;
  std::vector<JobId> running;
  for (const StepStatus& st : wf->rec.status.steps) {
    if (st.state == StepState::kRunning && st.job_id != 0) running.push_back(st.job_id);
  }
  for (JobId j : running) {
    Job* job = FindJob(j);
    if (job == nullptr || IsTerminal(job->rec.status.state)) continue;
    const Outcome ended = EndOpenAttempt(*job, Outcome::kCancelled, reason);
    Finish(*job, JobState::kCancelled, ended, reason);
  }
  // Plugins steps still running (or partial), and whatever waits.
  for (StepStatus& st : wf->rec.status.steps) {
    if (st.state == StepState::kRunning || st.state == StepState::kPartial) {
      st.state = StepState::kCancelled;
      st.message = reason;
    }
  }
  Advance(*wf);
  return Status::Ok();
}

Status Engine::RetryWorkflow(WorkflowId id) {
  Workflow* wf = FindWorkflowMutable(id);
  if (wf == nullptr) return NotFound("workflow " + Num(id) + ": not found");
  WorkflowStatus& s = wf->rec.status;
  if (s.state == WorkflowState::kRunning || s.state == WorkflowState::kSucceeded) {
    return FailedPrecondition("workflow " + Num(id) + " is " +
                              std::string(WorkflowStateName(s.state)) +
                              "; only a failed, cancelled or optional_failed workflow can be "
                              "retried");
  }
  // The failed steps, and everything downstream of them (in plan order, upstream comes first).
  std::vector<bool> again(s.steps.size(), false);
  for (uint32_t i = 0; i < s.steps.size(); ++i) {
    const StepPlan& plan = wf->plan.steps[i];
    bool redo = Failed(s.steps[i].state) && plan.kind == StepPlan::kJob;
    for (uint32_t d : plan.depends_on) redo = redo || again[d];
    if (s.steps[i].plugin_of != 0) redo = redo || again[s.steps[i].plugin_of - 1];
    again[i] = redo;
  }
  // Groups (activities, plugins) whose members run again resolve again; a second pass, since a
  // plugin step comes after its plugins step.
  for (uint32_t i = 0; i < s.steps.size(); ++i) {
    if (again[i] && s.steps[i].plugin_of != 0) again[s.steps[i].plugin_of - 1] = true;
  }
  for (uint32_t i = 0; i < s.steps.size(); ++i) {
    const StepPlan& plan = wf->plan.steps[i];
    if (plan.kind == StepPlan::kGate) {
      for (uint32_t m : plan.members) again[i] = again[i] || again[m];
    }
  }
  for (uint32_t i = 0; i < s.steps.size(); ++i) {
    if (!again[i]) continue;
    StepStatus& st = s.steps[i];
    // A plugins step keeps the plugin steps it added: they run again, not anew.
    const bool expanded = wf->plan.steps[i].kind == StepPlan::kPlugins &&
                          std::any_of(s.steps.begin(), s.steps.end(),
                                      [i](const StepStatus& o) { return o.plugin_of == i + 1; });
    st.state = expanded ? StepState::kRunning : StepState::kWaiting;
    st.result.clear();
    st.message.clear();
    st.warning = false;
  }
  s.state = WorkflowState::kRunning;
  s.finished_ms = 0;
  s.message.clear();
  EmitWorkflowEvent(*wf, 0, "workflow: retried");
  Advance(*wf);
  return Status::Ok();
}

Status Engine::LoadWorkflow(WorkflowRecord rec) {
  if (!IsTerminal(rec.status.state)) {
    return FailedPrecondition("load: workflow " + Num(rec.id) +
                              " is running; only a finished "
                              "workflow can be loaded");
  }
  if (rec.id == 0 || rec.id > workflow_id_last_) {
    return InvalidArgument("load: workflow " + Num(rec.id) + " is not a workflow of this store");
  }
  if (FindWorkflowMutable(rec.id) != nullptr) return Status::Ok();
  Result<std::unique_ptr<Workflow>> wf = Rebuild(std::move(rec));
  if (!wf.ok()) return wf.status();
  (*wf)->is_new = false;
  const WorkflowId id = (*wf)->rec.id;
  workflows_.emplace(id, std::move(*wf));
  finished_workflows_.push_back(id);
  return Status::Ok();
}

void Engine::RegisterPlugins(const std::string& worker_id,
                             std::vector<PluginRegistration> plugins) {
  if (plugins.empty()) {
    plugins_.erase(worker_id);
  } else {
    plugins_[worker_id] = std::move(plugins);
  }
}

}  // namespace baton::engine
