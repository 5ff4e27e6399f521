// The engine's sub-jobs and helper jobs (aggregators, verifiers): what a parent does as its
// sub-jobs end, and how a helper's end acts on its subject. The rules are children.h's; this
// file applies them to the engine's jobs.
#include <string>
#include <vector>

#include "engine/children.h"
#include "engine/engine.h"
#include "engine/engine_job.h"

namespace baton::engine {

using detail::Num;
using detail::Str;

children::Verdict Engine::JudgeChildren(const Job& parent, std::string* why) const {
  const JobStatus& s = parent.rec.status;
  return children::Judge(*parent.rec.spec.children_policy,
                         {s.children_total, s.children_done, s.children_failed},
                         !parent.rec.spec.aggregator.empty(), why);
}

void Engine::SucceedOrWait(Job& job) {
  JobStatus& s = job.rec.status;
  s.error.clear();
  DisarmTimer(job, kStateTimer);
  std::string why;
  switch (JudgeChildren(job, &why)) {
    case children::Verdict::kSucceed:
      Finish(job, JobState::kSucceeded, Outcome::kSucceeded, "");
      return;
    case children::Verdict::kFail:
      Finish(job, JobState::kFailed, Outcome::kSucceeded, why);
      return;
    case children::Verdict::kWait:
      SetState(job, JobState::kWaitingChildren, Outcome::kSucceeded,
               "waiting for " + Num(s.children_total - s.children_done) + " sub-jobs");
      return;
    case children::Verdict::kAggregate:
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
    case children::Verdict::kWait:
      return;
    case children::Verdict::kSucceed:
      Finish(parent, JobState::kSucceeded, Outcome::kNone, "");
      return;
    case children::Verdict::kFail:
      Finish(parent, JobState::kFailed, Outcome::kNone, why);
      return;
    case children::Verdict::kAggregate:
      break;
  }
  // The aggregator's input: the parent, then every sub-job of this attempt in id order.
  std::vector<const JobRecord*> records;
  records.reserve(parent.children.size());
  for (JobId id : parent.children) {
    const Job* child = FindJob(id);
    BATON_CHECK(child != nullptr);  // pinned in memory until the parent finishes
    records.push_back(&child->rec);
  }
  Result<std::string> in =
      children::AggregatorInput(parent.rec, records, config_.limits.aggregate_bytes_max);
  if (!in.ok()) {
    Finish(parent, JobState::kFailed, Outcome::kNone, in.status().message());
    return;
  }
  Result<Job*> helper = StartHelper(parent, JobRole::kAggregator, std::move(*in));
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
  const std::optional<children::VerifierVerdict> verdict = children::ParseVerdict(h.result.view());
  if (!verdict) {
    RejectResult(*subject, who + " gave no verdict: " + std::string(children::kVerdictForm));
  } else if (verdict->accept) {
    AcceptResult(*subject);
  } else {
    RejectResult(*subject,
                 "rejected by " + who + (verdict->reason.empty() ? "" : ": " + verdict->reason));
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

void Engine::ChildFinished(Job& parent, const Job& child) {
  JobStatus& p = parent.rec.status;
  ++p.children_done;
  if (child.rec.status.state != JobState::kSucceeded) ++p.children_failed;
  BATON_CHECK(p.children_done <= p.children_total);
  MarkDirty(parent);
  if (p.state == JobState::kWaitingChildren) SettleParent(parent);
}

}  // namespace baton::engine
