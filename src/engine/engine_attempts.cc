// What the worker holding an attempt may say about it: heartbeats, progress, output files and its
// completion, each fenced (only the job's running attempt, only from its worker); and what a
// worker's reconnect tells about the attempts it no longer holds.
#include <string>

#include "engine/children.h"
#include "engine/engine.h"
#include "engine/engine_job.h"

namespace baton::engine {

using detail::Num;
using detail::RunType;
using detail::Str;

namespace {

// What a worker may hand in: a result for a success, an error (and what it handed in) for a
// failure, or a decline; each within its limit. Fills an empty error's message.
Status CheckCompletion(Completion& c, const EngineLimits& lim) {
  switch (c.outcome) {
    case Outcome::kSucceeded:
      if (c.result.empty()) return InvalidArgument("result: must be a JSON document, got nothing");
      if (c.result.size() > lim.result_bytes_max) {
        return TooLong("result", c.result.size(), lim.result_bytes_max);
      }
      break;
    case Outcome::kError:
      if (c.error.size() > lim.error_bytes_max) {
        return TooLong("error", c.error.size(), lim.error_bytes_max);
      }
      if (c.error.empty()) c.error = "the attempt failed without a message";
      if (c.result.size() > lim.result_bytes_max) {
        return TooLong("result", c.result.size(), lim.result_bytes_max);
      }
      break;
    case Outcome::kDeclined:
      break;
    default:
      return InvalidArgument("outcome: a worker reports succeeded, error or declined, got " +
                             std::string(OutcomeName(c.outcome)));
  }
  return Status::Ok();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// What a worker says of its attempts

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
  s.updated_ms = sink_.now_ms;
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
  s.lease_expires_ms = sink_.now_ms + job.rec.spec.heartbeat_timeout_ms;
  // The lease timer is re-armed lazily when it fires. The store hears of a renewal only when the
  // lease moved by half a period, so heartbeats do not each cost a write; recovery may therefore
  // see a lease up to half a period shorter than the real one.
  if (s.lease_expires_ms - job.lease_persisted_ms >= job.rec.spec.heartbeat_timeout_ms / 2) {
    job.lease_persisted_ms = s.lease_expires_ms;
    s.updated_ms = sink_.now_ms;
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
  s.updated_ms = sink_.now_ms;
  MarkDirty(job);
  EmitEvent(job, EventKind::kProgress, Outcome::kNone, s.progress_message);
  return Status::Ok();
}

// A succeeded attempt's result: the job succeeds (or waits for its sub-jobs), unless a verifier
// job or a verdict by API must judge it first.
void Engine::ResultHandedIn(Job& job, const std::string& result) {
  JobStatus& s = job.rec.status;
  s.result = result;
  const JobSpec& spec = job.rec.spec;
  if (!spec.verifier.empty()) {
    // The attempt stays open until its verifier job's verdict (or one by API).
    std::string in = children::VerifierInput(job.rec);
    SetState(job, JobState::kSubmitted, Outcome::kNone,
             "awaiting verification by a " + spec.verifier + " job");
    Result<Job*> helper = StartHelper(job, JobRole::kVerifier, std::move(in));
    if (!helper.ok())
      RejectResult(job, "its verifier could not start: " + helper.status().message());
    return;
  }
  if (spec.verify) {
    // The attempt stays open until the verdict: a result handed in is work done, so it waits
    // for as long as it takes, unless the job set a verdict deadline.
    if (spec.verdict_timeout_ms > 0) {
      ArmTimer(job, kStateTimer, sink_.now_ms + spec.verdict_timeout_ms);
    }
    SetState(job, JobState::kSubmitted, Outcome::kNone, "awaiting verification");
    return;
  }
  EndAttempt(job, Outcome::kSucceeded, "");
  SucceedOrWait(job);
}

Status Engine::Complete(const AttemptRef& ref, Completion c) {
  BATON_RETURN_IF_ERROR(CheckCompletion(c, config_.limits));
  Result<Job*> found = FindForAttempt(ref, "completion");
  if (!found.ok()) return found.status();
  Job& job = **found;
  JobStatus& s = job.rec.status;
  DisarmTimer(job, kStateTimer);

  if (c.outcome == Outcome::kSucceeded) {
    ResultHandedIn(job, c.result);
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
  // Sub-jobs it spawned belonged to the attempt: they no longer count (the next attempt starts
  // afresh, as after a failed one).
  if (!job.children.empty() || s.children_total != 0) {
    DetachChildren(job, "its parent's attempt was declined by " + s.worker_id);
  }
  Enqueue(job);
  SetState(job, JobState::kQueued, Outcome::kDeclined, "declined by " + s.worker_id);
  return Status::Ok();
}

}  // namespace baton::engine
