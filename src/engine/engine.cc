#include "engine/engine.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <limits>
#include <string>

#include "engine/engine_job.h"
#include "engine/spec_json.h"

namespace baton::engine {

using detail::CheckTypeName;
using detail::KeyOf;
using detail::Num;
using detail::RunType;
using detail::Str;

int32_t& Engine::TimerPos::operator()(Timer& t) const { return t.job->timer_pos[t.slot]; }

Engine::Engine(EngineConfig config) : config_(config), random_(config_.seed) {}
Engine::~Engine() = default;

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
  sink_.records.events.push_back(Event{++sink_.event_seq_last, job.rec.id, sink_.now_ms, kind,
                                       s.state, s.attempt_id, outcome, s.progress,
                                       std::string(message), job.rec.spec.workflow_id});
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
  s.updated_ms = sink_.now_ms;
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
  s.attempt_started_ms = sink_.now_ms;
  s.lease_expires_ms = sink_.now_ms + spec.heartbeat_timeout_ms;
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
  sink_.records.attempts.push_back(AttemptRecord{s.attempt_id, job.rec.id, s.attempts_started,
                                                 s.worker_id, s.attempt_started_ms, sink_.now_ms,
                                                 outcome, std::string(error), std::string(result)});
  job.rec.status.last_outcome = outcome;
}

void Engine::StopRunningAttempt(Job& job, Outcome reason) {
  const JobStatus& s = job.rec.status;
  sink_.notices.push_back(Notice{s.worker_id, job.rec.id, s.attempt_id, reason});
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
    s.ready_at_ms = sink_.now_ms + BackoffMs(job);
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

void Engine::Finish(Job& job, JobState state, Outcome outcome, std::string_view message) {
  BATON_CHECK(IsTerminal(state));
  // Only a rejected result takes a job out of a terminal state, and only out of succeeded.
  BATON_CHECK(!IsTerminal(job.rec.status.state) || job.rec.status.state == JobState::kSucceeded);
  JobStatus& s = job.rec.status;
  Unqueue(job);
  DisarmTimer(job, kStateTimer);
  DisarmTimer(job, kDeadlineTimer);
  s.finished_ms = sink_.now_ms;
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
  if (job.rec.spec.workflow_id != 0) workflows_.JobFinished(job.rec);
}

// ---------------------------------------------------------------------------------------------
// Commands

Result<SubmitResult> Engine::Submit(JobSpec spec) {
  BATON_RETURN_IF_ERROR(Validate(spec));
  if (!spec.idempotency_key.empty()) {
    auto it = keys_.find(KeyOf(spec.owner, spec.idempotency_key));
    if (it != keys_.end() && it->second.created_ms + config_.idempotency_ttl_ms > sink_.now_ms) {
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
  job.rec.created_ms = sink_.now_ms;
  job.rec.spec = std::move(spec);
  jobs_.emplace(job.rec.id, std::move(owned));
  ++state_counts_[static_cast<size_t>(JobState::kPending)];

  JobSpec& s = job.rec.spec;
  if (!s.idempotency_key.empty()) {
    std::string map_key = KeyOf(s.owner, s.idempotency_key);
    keys_[map_key] = KeyEntry{job.rec.id, sink_.now_ms};
    key_order_.emplace_back(std::move(map_key), sink_.now_ms);
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
  if (s.run_after_ms > sink_.now_ms) {
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
  const EventSeq before = sink_.event_seq_last;
  for (JobSpec& spec : specs) {
    Result<SubmitResult> r = Submit(std::move(spec));
    BATON_CHECK(r.ok());  // everything that could refuse it was checked above
    r->event_seq = before;
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
  scheduler_.SetNow(sink_.now_ms);
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
  if (spec.run_by_ms != 0 && spec.run_by_ms <= sink_.now_ms) {
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
  sink_.now_ms = std::max(sink_.now_ms, now_ms);
  scheduler_.SetNow(sink_.now_ms);
  while (!timers_.empty() && timers_.top().due_ms <= sink_.now_ms) {
    Timer t = timers_.Pop();
    FireTimer(*t.job, t.slot);
  }
  schedules_.Fire(sink_.now_ms, [this](JobSpec spec) { return Submit(std::move(spec)); });
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
      if (sink_.now_ms >= deadline_ms) {
        const std::string why =
            "attempt ran longer than its timeout of " + std::to_string(spec.timeout_ms) + " ms";
        StopRunningAttempt(job, Outcome::kTimeout);
        EndAttempt(job, Outcome::kTimeout, why);
        RetryOrFail(job, Outcome::kTimeout, why);
      } else if (sink_.now_ms >= s.lease_expires_ms) {
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
  while (!key_order_.empty() &&
         key_order_.front().second + config_.idempotency_ttl_ms <= sink_.now_ms) {
    auto it = keys_.find(key_order_.front().first);
    if (it != keys_.end() && it->second.created_ms == key_order_.front().second) keys_.erase(it);
    key_order_.pop_front();
  }
}

// ---------------------------------------------------------------------------------------------
// Cron schedules

Status Engine::PauseType(const std::string& type, bool paused) {
  if (type.empty()) return InvalidArgument("type: must not be empty");
  BATON_RETURN_IF_ERROR(CheckTypeName("type", type, config_.limits.type_bytes_max));
  if (scheduler_.Paused(type) == paused) return Status::Ok();
  scheduler_.PauseType(type, paused);
  sink_.records.type_pauses.emplace_back(type, paused);
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
  return schedules_.Put(std::move(rec), sink_.now_ms,
                        [this](const ScheduleRecord& r) { return ScheduleTemplate(r); });
}

// ---------------------------------------------------------------------------------------------
// Workflows (workflow_runner.h)

JobId Engine::CreateStepJob(JobSpec spec) { return CreateJob(std::move(spec)).rec.id; }

void Engine::CancelStepJob(JobId id, const std::string& reason) {
  Job* job = FindJob(id);
  if (job == nullptr || IsTerminal(job->rec.status.state)) return;
  const Outcome ended = EndOpenAttempt(*job, Outcome::kCancelled, reason);
  Finish(*job, JobState::kCancelled, ended, reason);
}

}  // namespace baton::engine
