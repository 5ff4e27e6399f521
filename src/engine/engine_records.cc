// The engine's way to and from the store: the records of a commit (TakeRecords), recovery
// (Restore, Load), retention (Forget), and the figures the server reports.
#include <algorithm>
#include <string>

#include "engine/engine.h"
#include "engine/engine_job.h"

namespace baton::engine {

using detail::KeyOf;
using detail::Num;
using detail::RunType;
using detail::Str;

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
  workflows_.TakeRecords(out);
  append(out->attempts, sink_.records.attempts);
  append(out->events, sink_.records.events);
  append(out->schedules, sink_.records.schedules);
  append(out->type_pauses, sink_.records.type_pauses);
  append(out->job_deletes, sink_.records.job_deletes);
  out->events_before = std::max(out->events_before, sink_.records.events_before);
  sink_.records.events_before = 0;
  EvictFinished();
}

void Engine::EvictFinished() {
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
  out->insert(out->end(), std::make_move_iterator(sink_.notices.begin()),
              std::make_move_iterator(sink_.notices.end()));
  sink_.notices.clear();
}

// One job read back at recovery, with its timers armed and its place in the queue or among the
// running again.
void Engine::RestoreJob(JobRecord rec) {
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

Status Engine::Restore(RecoveredState state) {
  if (!jobs_.empty() || !workflows_.empty() || sink_.event_seq_last != 0 || job_id_last_ != 0) {
    return FailedPrecondition("restore: the engine already holds state; restore a new engine");
  }
  job_id_last_ = state.job_id_max;
  attempt_id_last_ = state.attempt_id_max;
  for (const std::string& type : state.paused_types) scheduler_.PauseType(type, true);
  schedules_.Restore(std::move(state.schedules),
                     [this](const ScheduleRecord& rec) { return ScheduleTemplate(rec); });
  sink_.event_seq_last = state.event_seq_max;
  std::sort(state.jobs.begin(), state.jobs.end(),
            [](const JobRecord& a, const JobRecord& b) { return a.id < b.id; });
  for (JobRecord& rec : state.jobs) {
    if (rec.id == 0 || rec.id > job_id_last_ || !rec.spec.retry ||
        rec.status.attempt_id > attempt_id_last_) {
      return DataLoss("restore: job " + Num(rec.id) + " is inconsistent with the stored ids");
    }
    RestoreJob(std::move(rec));
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
  BATON_RETURN_IF_ERROR(workflows_.Restore(state.workflow_id_max, std::move(state.workflows)));
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
  st.event_seq_last = sink_.event_seq_last;
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
      if (job.rec.spec.workflow_id != 0 && workflows_.Running(job.rec.spec.workflow_id)) continue;
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
  sink_.records.job_deletes.insert(sink_.records.job_deletes.end(), out.begin(), out.end());
  sink_.records.events_before = std::max(sink_.records.events_before, events_before);
  return out;
}

}  // namespace baton::engine
