// Helpers for engine tests: a fixture with a simulated clock and shortcuts that drive a job into
// each state. Test-only.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "engine/engine.h"

namespace baton::engine::testing {

inline constexpr int64_t kStartMs = 1'700'000'000'000;

inline EngineConfig TestConfig() {
  EngineConfig c;
  c.timeout_ms_default = 60'000;
  c.heartbeat_timeout_ms_default = 10'000;
  c.attempts_max_default = 3;
  c.retry_default = RetryPolicy{1000, 2.0, 8000, 0.0, kRetryableOutcomes};
  c.seed = 7;
  return c;
}

class EngineTest : public ::testing::Test {
 protected:
  explicit EngineTest(EngineConfig config = TestConfig()) : engine_(config) {
    engine_.Tick(kStartMs);
  }

  static JobSpec Spec(std::string type = "t", std::string owner = "alice") {
    JobSpec s;
    s.type = std::move(type);
    s.owner = std::move(owner);
    s.payload = R"({"n":1})";
    return s;
  }

  JobId Submit(JobSpec spec = Spec()) {
    Result<SubmitResult> r = engine_.Submit(std::move(spec));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->job_id : 0;
  }

  std::vector<Assignment> Dispatch(const std::string& worker, std::vector<std::string> types,
                                   uint32_t capacity) {
    return engine_.Dispatch(DispatchRequest{worker, std::move(types), capacity});
  }

  // Dispatches exactly one job of type `type` to `worker` and returns its assignment.
  Assignment DispatchOne(const std::string& worker = "w1", const std::string& type = "t") {
    auto a = Dispatch(worker, {type}, 1);
    EXPECT_EQ(a.size(), 1u);
    return a.empty() ? Assignment{} : a.front();
  }

  // The attempt of an assignment, spoken for by the worker it went to (the job's current worker:
  // the one it was dispatched to, as long as no later attempt started).
  AttemptRef Ref(const Assignment& a) {
    const JobRecord* r = engine_.Find(a.job_id);
    return AttemptRef{a.job_id, a.attempt_id, r != nullptr ? r->status.worker_id.str() : ""};
  }
  // The same attempt, spoken for by another worker.
  static AttemptRef RefFrom(const Assignment& a, std::string worker) {
    return AttemptRef{a.job_id, a.attempt_id, std::move(worker)};
  }
  AttemptRef CurrentRef(JobId id) {
    const JobStatus& s = Job(id).status;
    return AttemptRef{id, s.attempt_id, s.worker_id.str()};
  }

  static Completion Ok(std::string result = R"({"ok":true})") {
    return Completion{Outcome::kSucceeded, std::move(result), "", true};
  }
  static Completion Error(std::string error = "boom", bool retryable = true) {
    return Completion{Outcome::kError, "", std::move(error), retryable};
  }
  static Completion Decline() { return Completion{Outcome::kDeclined, "", "", true}; }

  const JobRecord& Job(JobId id) {
    const JobRecord* r = engine_.Find(id);
    EXPECT_NE(r, nullptr) << "job " << id;
    static const JobRecord kNone;
    return r ? *r : kNone;
  }
  JobState State(JobId id) { return Job(id).status.state; }

  void Advance(int64_t ms) { engine_.Tick(engine_.now_ms() + ms); }

  RecordBatch Take() {
    RecordBatch b;
    engine_.TakeRecords(&b);
    return b;
  }
  std::vector<Notice> Notices() {
    std::vector<Notice> n;
    engine_.TakeNotices(&n);
    return n;
  }

  // Drives a new job into `state` and returns its id; pending records are taken.
  JobId MakeJobIn(JobState state);

  Engine engine_;
};

inline JobId EngineTest::MakeJobIn(JobState state) {
  JobSpec spec = Spec();
  JobId id = 0;
  switch (state) {
    case JobState::kPending:
      spec.run_after_ms = engine_.now_ms() + 10'000;
      id = Submit(spec);
      break;
    case JobState::kQueued:
      id = Submit(spec);
      break;
    case JobState::kRunning:
      id = Submit(spec);
      DispatchOne();
      break;
    case JobState::kSubmitted:
      spec.verify = true;
      id = Submit(spec);
      EXPECT_TRUE(engine_.Complete(Ref(DispatchOne()), Ok()).ok());
      break;
    case JobState::kWaitingChildren: {
      id = Submit(spec);
      Assignment a = DispatchOne();
      JobSpec child = Spec("child");
      child.parent_id = id;
      Submit(child);
      EXPECT_TRUE(engine_.Complete(Ref(a), Ok()).ok());
      break;
    }
    case JobState::kRetryWait:
      id = Submit(spec);
      EXPECT_TRUE(engine_.Complete(Ref(DispatchOne()), Error()).ok());
      break;
    case JobState::kSucceeded:
      id = Submit(spec);
      EXPECT_TRUE(engine_.Complete(Ref(DispatchOne()), Ok()).ok());
      break;
    case JobState::kFailed:
      spec.attempts_max = 1;
      id = Submit(spec);
      EXPECT_TRUE(engine_.Complete(Ref(DispatchOne()), Error()).ok());
      break;
    case JobState::kCancelled:
      id = Submit(spec);
      EXPECT_TRUE(engine_.Cancel(id, "").ok());
      break;
  }
  EXPECT_EQ(State(id), state);
  Take();
  Notices();
  return id;
}

// Applies records the way a store would (store.h's contract), so that recovery can be tested
// without one.
struct FakeStore {
  std::map<JobId, JobRecord> jobs;
  std::map<AttemptId, AttemptRecord> attempts;
  std::vector<Event> events;
  std::map<WorkflowId, WorkflowRecord> workflows;
  std::map<std::string, ScheduleRecord> schedules;
  std::set<std::string> paused_types;

  void Apply(RecordBatch& b) {
    for (auto& r : b.schedules) {
      if (r.deleted) {
        schedules.erase(r.name);
      } else {
        schedules[r.name] = r;
      }
    }
    for (auto& [t, p] : b.type_pauses) {
      if (p) {
        paused_types.insert(t);
      } else {
        paused_types.erase(t);
      }
    }
    for (auto& w : b.workflow_inserts) workflows[w.id] = w;
    for (auto& u : b.workflow_updates) workflows.at(u.id).status = u.status;
    for (auto& r : b.inserts) jobs[r.id] = r;
    for (auto& u : b.updates) jobs.at(u.id).status = u.status;
    for (auto& a : b.attempts) attempts[a.id] = a;
    for (auto& e : b.events) events.push_back(e);
  }
  RecoveredState Recover() const {
    RecoveredState st;
    for (const auto& [id, r] : jobs) {
      bool recovered = !IsTerminal(r.status.state);
      if (!recovered && r.spec.parent_id != 0) {
        auto parent = jobs.find(r.spec.parent_id);
        const JobState ps =
            parent == jobs.end() ? JobState::kSucceeded : parent->second.status.state;
        recovered = ps == JobState::kRunning || ps == JobState::kSubmitted ||
                    ps == JobState::kWaitingChildren;
      }
      if (recovered) st.jobs.push_back(r);
      if (!r.spec.idempotency_key.empty()) {
        st.keys.push_back({r.spec.owner, r.spec.idempotency_key, id, r.created_ms});
      }
      st.job_id_max = std::max(st.job_id_max, id);
      st.attempt_id_max = std::max(st.attempt_id_max, r.status.attempt_id);
    }
    for (const auto& [id, a] : attempts) st.attempt_id_max = std::max(st.attempt_id_max, id);
    if (!events.empty()) st.event_seq_max = events.back().seq;
    for (const auto& [id, w] : workflows) {
      if (!IsTerminal(w.status.state)) st.workflows.push_back(w);
      st.workflow_id_max = std::max(st.workflow_id_max, id);
    }
    for (const auto& [name, r] : schedules) st.schedules.push_back(r);
    st.paused_types.assign(paused_types.begin(), paused_types.end());
    return st;
  }
};

}  // namespace baton::engine::testing
