#include "engine/engine.h"

#include <map>
#include <set>

#include "engine/engine_test_util.h"

namespace baton::engine::testing {
namespace {

using ::testing::HasSubstr;

// ---------------------------------------------------------------------------------------------
// Submit, events, records

TEST_F(EngineTest, SubmitQueuesTheJobAndRecordsIt) {
  JobId id = Submit();
  EXPECT_EQ(id, 1u);
  EXPECT_EQ(State(id), JobState::kQueued);
  const JobRecord& job = Job(id);
  EXPECT_EQ(job.created_ms, kStartMs);
  EXPECT_EQ(job.spec.timeout_ms, 60'000);  // defaults were filled in
  EXPECT_EQ(job.spec.attempts_max, 3u);
  ASSERT_TRUE(job.spec.retry.has_value());

  RecordBatch b = Take();
  ASSERT_EQ(b.inserts.size(), 1u);
  EXPECT_EQ(b.inserts[0], job);
  EXPECT_TRUE(b.updates.empty());
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(b.events[0].seq, 1u);
  EXPECT_EQ(b.events[0].state, JobState::kQueued);
  EXPECT_FALSE(engine_.HasRecords());
}

TEST_F(EngineTest, ChangesWhileACommitIsInFlightCoalesceIntoOneRow) {
  JobId id = Submit();
  Assignment a = DispatchOne();
  ASSERT_TRUE(engine_.Complete(Ref(a), Ok()).ok());
  RecordBatch b = Take();
  ASSERT_EQ(b.inserts.size(), 1u);  // one row, holding the final state
  EXPECT_EQ(b.inserts[0].status.state, JobState::kSucceeded);
  EXPECT_TRUE(b.updates.empty());
  ASSERT_EQ(b.attempts.size(), 1u);
  EXPECT_EQ(b.attempts[0].outcome, Outcome::kSucceeded);
  EXPECT_EQ(b.attempts[0].worker_id, "w1");
  ASSERT_EQ(b.events.size(), 5u);  // but every transition keeps its event
  EXPECT_EQ(b.events[0].state, JobState::kQueued);
  EXPECT_EQ(b.events[1].state, JobState::kRunning);
  // Progress at both ends of the bar: 0 as the attempt starts, 1 before the job's success.
  EXPECT_EQ(b.events[2].kind, EventKind::kProgress);
  EXPECT_EQ(b.events[2].progress, 0.0);
  EXPECT_EQ(b.events[3].kind, EventKind::kProgress);
  EXPECT_EQ(b.events[3].progress, 1.0);
  EXPECT_EQ(b.events[4].state, JobState::kSucceeded);
  EXPECT_EQ(b.events[4].kind, EventKind::kState);
  EXPECT_EQ(b.inserts[0].status.progress, 1.0);

  ASSERT_TRUE(engine_.Reject(id, "bad").ok());
  b = Take();
  EXPECT_TRUE(b.inserts.empty());
  ASSERT_EQ(b.updates.size(), 1u);  // later changes are updates
  EXPECT_EQ(b.updates[0].status.state, JobState::kRetryWait);
}

TEST_F(EngineTest, ProgressStartsAtZeroForEachAttemptAndEndsAtOneOnlyOnSuccess) {
  JobSpec spec = Spec();
  spec.attempts_max = 2;
  const JobId id = Submit(spec);
  Assignment first = DispatchOne();
  ASSERT_TRUE(engine_.Progress(Ref(first), 0.7, "most").ok());
  ASSERT_TRUE(engine_.Complete(Ref(first), Error()).ok());
  Take();
  Advance(10'000);  // the back-off
  Assignment second = DispatchOne();
  RecordBatch b = Take();
  ASSERT_FALSE(b.events.empty());
  EXPECT_EQ(b.events.back().kind, EventKind::kProgress) << "the new attempt starts at 0";
  EXPECT_EQ(b.events.back().progress, 0.0);
  EXPECT_EQ(Job(id).status.progress, 0.0);
  ASSERT_TRUE(engine_.Complete(Ref(second), Error()).ok());  // failed for good
  b = Take();
  for (const Event& e : b.events) EXPECT_NE(e.kind, EventKind::kProgress) << "no 1 on failure";
  EXPECT_EQ(State(id), JobState::kFailed);
}

TEST_F(EngineTest, ABatchIsAllOrNothing) {
  JobSpec bad = Spec();
  bad.priority = 5000;
  Result<std::vector<SubmitResult>> r = engine_.SubmitBatch({Spec(), bad, Spec()});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "[1].priority: must be between -1000 and 1000, got 5000");
  EXPECT_FALSE(engine_.HasRecords());
  EXPECT_EQ(engine_.Stats().jobs_in_memory, 0u);

  Result<std::vector<SubmitResult>> ok = engine_.SubmitBatch({Spec(), Spec(), Spec()});
  ASSERT_TRUE(ok.ok());
  ASSERT_EQ(ok->size(), 3u);
  EXPECT_EQ((*ok)[2].job_id, 3u);
}

TEST_F(EngineTest, ABatchCountsItsChildrenAgainstTheLimitBeforeCreatingAny) {
  EngineConfig c = TestConfig();
  c.limits.children_max = 2;
  Engine e(c);
  e.Tick(kStartMs);
  JobId parent = e.Submit(Spec()).value().job_id;
  ASSERT_EQ(e.Dispatch(DispatchRequest{"w", {"t"}, 1}).size(), 1u);
  JobSpec child = Spec("c");
  child.parent_id = parent;
  Result<std::vector<SubmitResult>> r = e.SubmitBatch({child, child, child});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(r.status().message().rfind("[0].parent_id: job 1 would have more than 2", 0), 0u)
      << r.status().message();
  EXPECT_EQ(e.Find(parent)->status.children_total, 0u);
  EXPECT_TRUE(e.SubmitBatch({child, child}).ok());
}

TEST_F(EngineTest, EventSequenceIsGapFreeAcrossJobs) {
  for (int i = 0; i < 5; ++i) Submit();
  for (const Assignment& a : Dispatch("w", {"t"}, 5)) {
    ASSERT_TRUE(engine_.Progress(Ref(a), 0.5, "half").ok());
    ASSERT_TRUE(engine_.Complete(Ref(a), Ok()).ok());
  }
  RecordBatch b = Take();
  // Per job: queued, running, progress 0, progress 0.5, progress 1, succeeded.
  ASSERT_EQ(b.events.size(), 30u);
  for (size_t i = 0; i < b.events.size(); ++i) EXPECT_EQ(b.events[i].seq, i + 1);
  EXPECT_EQ(engine_.Stats().event_seq_last, 30u);
}

TEST_F(EngineTest, ValidationNamesTheFieldAndChangesNothing) {
  struct Case {
    std::function<void(JobSpec&)> mutate;
    std::string prefix;
  };
  const std::vector<Case> cases = {
      {[](JobSpec& s) { s.type = ""; }, "type: must not be empty"},
      {[](JobSpec& s) { s.type = "has space"; }, "type: may hold only"},
      {[](JobSpec& s) { s.type = std::string(129, 'x'); }, "type: must be at most 128 bytes"},
      {[](JobSpec& s) { s.owner = ""; }, "owner: must not be empty"},
      {[](JobSpec& s) { s.payload = ""; }, "payload: must be a JSON document"},
      {[](JobSpec& s) { s.payload = std::string((1 << 20) + 1, ' '); }, "payload: must be at most"},
      {[](JobSpec& s) { s.priority = 5000; }, "priority: must be between -1000 and 1000, got 5000"},
      {[](JobSpec& s) { s.run_after_ms = -1; }, "run_after: must not be negative"},
      {[](JobSpec& s) { s.run_by_ms = kStartMs - 1; }, "run_by: is in the past"},
      {[](JobSpec& s) {
         s.run_after_ms = kStartMs + 100;
         s.run_by_ms = kStartMs + 50;
       },
       "run_by: must be later than run_after"},
      {[](JobSpec& s) { s.timeout_ms = -5; }, "timeout: must be between"},
      {[](JobSpec& s) { s.heartbeat_timeout_ms = -5; }, "heartbeat_timeout: must be between"},
      {[](JobSpec& s) { s.attempts_max = 101; }, "attempts_max: must be between 1 and 100"},
      {[](JobSpec& s) {
         s.retry = RetryPolicy{-1, 2, 10, 0, kRetryableOutcomes};
       },
       "retry.delay_initial"},
      {[](JobSpec& s) {
         s.retry = RetryPolicy{100, 2, 10, 0, kRetryableOutcomes};
       },
       "retry.delay_max"},
      {[](JobSpec& s) {
         s.retry = RetryPolicy{1, 0.5, 10, 0, kRetryableOutcomes};
       },
       "retry.multiplier"},
      {[](JobSpec& s) {
         s.retry = RetryPolicy{1, 2, 10, 1.5, kRetryableOutcomes};
       },
       "retry.jitter"},
      {[](JobSpec& s) {
         s.retry = RetryPolicy{1, 2, 10, 0, OutcomeBit(Outcome::kDeclined)};
       },
       "retry.retry_on"},
      {[](JobSpec& s) { s.idempotency_key = std::string(257, 'k'); }, "idempotency_key:"},
      {[](JobSpec& s) { s.tags = std::vector<std::string>(33, "x"); }, "tags: at most 32"},
      {[](JobSpec& s) {
         s.tags = {"ok", ""};
       },
       "tags[1]: must be 1 to 64 bytes"},
      // From a header or a multipart field, text may not be UTF-8.
      {[](JobSpec& s) {
         s.tags = {"ok", "user_id:\xff"};
       },
       "tags[1]: must be UTF-8 text"},
      {[](JobSpec& s) { s.idempotency_key = "k\xc3"; }, "idempotency_key: must be UTF-8 text"},
      {[](JobSpec& s) {
         s.concurrency_key = "\xed\xa0\x80";
         s.concurrency_limit = 1;
       },
       "concurrency.key: must be UTF-8 text"},
  };
  for (const Case& c : cases) {
    JobSpec spec = Spec();
    c.mutate(spec);
    Result<SubmitResult> r = engine_.Submit(spec);
    ASSERT_FALSE(r.ok()) << c.prefix;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.prefix;
    EXPECT_EQ(r.status().message().rfind(c.prefix, 0), 0u) << r.status().message();
  }
  EXPECT_FALSE(engine_.HasRecords());
  EXPECT_EQ(engine_.Stats().jobs_in_memory, 0u);
}

// ---------------------------------------------------------------------------------------------
// Dispatch

TEST_F(EngineTest, HigherPriorityFirstThenFifo) {
  JobSpec low = Spec(), high = Spec();
  low.priority = -1;
  high.priority = 5;
  JobId a = Submit(low), b = Submit(), c = Submit(high), d = Submit(), e = Submit(high);
  std::vector<JobId> order;
  for (const Assignment& as : Dispatch("w", {"t"}, 10)) order.push_back(as.job_id);
  EXPECT_EQ(order, (std::vector<JobId>{c, e, b, d, a}));
}

TEST_F(EngineTest, DispatchMergesTypesByPriorityAndAge) {
  JobSpec x = Spec("x"), y = Spec("y"), z = Spec("z");
  JobId x1 = Submit(x), y1 = Submit(y), x2 = Submit(x);
  y.priority = 1;
  JobId y2 = Submit(y);
  Submit(z);
  std::vector<JobId> order;
  for (const Assignment& as : Dispatch("w", {"x", "y", "nope", "x"}, 10)) {
    order.push_back(as.job_id);
  }
  EXPECT_EQ(order, (std::vector<JobId>{y2, x1, y1, x2}));
  EXPECT_EQ(engine_.Stats().jobs_by_state[static_cast<int>(JobState::kQueued)], 1u);  // z
}

TEST_F(EngineTest, DispatchRespectsCapacityAndItsLimit) {
  for (int i = 0; i < 5; ++i) Submit();
  EXPECT_TRUE(Dispatch("w", {"t"}, 0).empty());
  auto a = Dispatch("w", {"t"}, 2);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].attempt, 1u);
  EXPECT_EQ(a[0].type, "t");
  EXPECT_EQ(a[0].payload, R"({"n":1})");
  EXPECT_EQ(a[0].lease_expires_ms, kStartMs + 10'000);
  EXPECT_NE(a[0].attempt_id, a[1].attempt_id);
  EXPECT_EQ(Dispatch("w", {"t"}, 100).size(), 3u);
}

TEST_F(EngineTest, DispatchBatchIsCappedByTheLimit) {
  EngineConfig c = TestConfig();
  c.limits.dispatch_batch_max = 4;
  Engine e(c);
  e.Tick(kStartMs);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(e.Submit(Spec()).ok());
  EXPECT_EQ(e.Dispatch(DispatchRequest{"w", {"t"}, 1000}).size(), 4u);
}

// ---------------------------------------------------------------------------------------------
// Retries and back-off

TEST_F(EngineTest, BackoffGrowsByTheMultiplierUpToTheMaximum) {
  JobSpec spec = Spec();
  spec.attempts_max = 6;
  JobId id = Submit(spec);
  const int64_t expected[] = {1000, 2000, 4000, 8000, 8000};
  for (int64_t delay : expected) {
    Assignment a = DispatchOne();
    ASSERT_TRUE(engine_.Complete(Ref(a), Error("e")).ok());
    ASSERT_EQ(State(id), JobState::kRetryWait);
    EXPECT_EQ(Job(id).status.ready_at_ms, engine_.now_ms() + delay);
    EXPECT_EQ(engine_.NextTimerMs(), engine_.now_ms() + delay);
    Advance(delay - 1);
    EXPECT_EQ(State(id), JobState::kRetryWait);
    Advance(1);
    EXPECT_EQ(State(id), JobState::kQueued);
  }
  ASSERT_TRUE(engine_.Complete(Ref(DispatchOne()), Error("last")).ok());
  EXPECT_EQ(State(id), JobState::kFailed);
  EXPECT_EQ(Job(id).status.error, "last (attempts used up: 6 of 6)");
  EXPECT_EQ(Job(id).status.attempts_used, 6u);
}

TEST_F(EngineTest, JitterStaysWithinItsBounds) {
  std::set<int64_t> seen;
  for (int i = 0; i < 200; ++i) {
    JobSpec spec = Spec();
    spec.retry = RetryPolicy{10'000, 2.0, 10'000, 0.5, kRetryableOutcomes};
    JobId id = Submit(spec);
    Assignment a = DispatchOne();
    ASSERT_TRUE(engine_.Complete(Ref(a), Error()).ok());
    const int64_t delay = Job(id).status.ready_at_ms - engine_.now_ms();
    ASSERT_GE(delay, 5'000);
    ASSERT_LE(delay, 10'000);
    seen.insert(delay);
    ASSERT_TRUE(engine_.Cancel(id, "").ok());
  }
  EXPECT_GT(seen.size(), 100u);  // the delays really are spread out
}

TEST_F(EngineTest, JitterReplaysFromTheSeed) {
  auto delays = [](uint64_t seed) {
    EngineConfig c = TestConfig();
    c.seed = seed;
    c.retry_default.jitter = 1.0;
    Engine e(c);
    e.Tick(kStartMs);
    std::vector<int64_t> out;
    for (int i = 0; i < 20; ++i) {
      JobId id = e.Submit(Spec()).value().job_id;
      Assignment a = e.Dispatch(DispatchRequest{"w", {"t"}, 1}).at(0);
      EXPECT_TRUE(e.Complete(RefFrom(a, "w"), Error()).ok());
      out.push_back(e.Find(id)->status.ready_at_ms);
    }
    return out;
  };
  EXPECT_EQ(delays(3), delays(3));
  EXPECT_NE(delays(3), delays(4));
}

TEST_F(EngineTest, NonRetryableErrorFailsAtOnce) {
  JobId id = Submit();
  ASSERT_TRUE(engine_.Complete(Ref(DispatchOne()), Error("bad input", false)).ok());
  EXPECT_EQ(State(id), JobState::kFailed);
  EXPECT_EQ(Job(id).status.error, "bad input (not retryable)");
  EXPECT_EQ(Job(id).status.last_outcome, Outcome::kError);
}

TEST_F(EngineTest, RetryOnSaysWhichOutcomesRetry) {
  JobSpec spec = Spec();
  spec.retry = RetryPolicy{100, 1, 100, 0, OutcomeBit(Outcome::kLost)};
  JobId id = Submit(spec);
  ASSERT_TRUE(engine_.Complete(Ref(DispatchOne()), Error("e")).ok());
  EXPECT_EQ(State(id), JobState::kFailed);
  EXPECT_EQ(Job(id).status.error, "e");

  JobId lost = Submit(spec);
  DispatchOne();
  Advance(10'000);
  EXPECT_EQ(State(lost), JobState::kRetryWait);
}

// ---------------------------------------------------------------------------------------------
// Timeouts, leases, deadlines

// timeout_ms = kNoTimeout (the API's null): an attempt runs for as long as it heartbeats, far
// past any timeout; it ends only when its worker falls silent.
TEST_F(EngineTest, AJobWithNoTimeoutRunsAsLongAsItHeartbeats) {
  JobSpec spec = Spec();
  spec.timeout_ms = kNoTimeout;
  const JobId id = Submit(spec);
  EXPECT_EQ(Job(id).spec.timeout_ms, kNoTimeout) << "not replaced by the default";
  Assignment a = DispatchOne();
  for (int hour = 0; hour < 30; ++hour) {  // 30 hours, a heartbeat every 5 s
    for (int i = 0; i < 720; ++i) {
      Advance(5'000);
      ASSERT_TRUE(engine_.Heartbeat(Ref(a)).ok()) << "hour " << hour;
    }
  }
  EXPECT_EQ(State(id), JobState::kRunning);
  Advance(10'001);  // the lease, with no heartbeat
  EXPECT_EQ(State(id), JobState::kRetryWait);
  EXPECT_EQ(Job(id).status.last_outcome, Outcome::kLost);
  // A verified job with no timeout waits for its verdict with no deadline.
  JobSpec verify = Spec();
  verify.timeout_ms = kNoTimeout;
  verify.verify = true;
  const JobId v = Submit(verify);
  Advance(1);
  Assignment va = Dispatch("w2", {"t"}, 10).back();
  ASSERT_EQ(va.job_id, v);
  ASSERT_TRUE(engine_.Complete(Ref(va), Ok()).ok());
  Advance(7LL * 24 * 3600 * 1000);  // a week with no verdict: still waiting for one
  EXPECT_EQ(State(v), JobState::kSubmitted);
  JobSpec bad = Spec();
  bad.timeout_ms = -2;
  EXPECT_EQ(engine_.Submit(bad).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(EngineTest, AttemptTimeoutEndsTheAttemptTellsTheWorkerAndRetries) {
  JobSpec spec = Spec();
  spec.timeout_ms = 5'000;
  spec.heartbeat_timeout_ms = 60'000;
  JobId id = Submit(spec);
  Assignment a = DispatchOne();
  Take();
  Advance(4'999);
  EXPECT_EQ(State(id), JobState::kRunning);
  Advance(1);
  EXPECT_EQ(State(id), JobState::kRetryWait);
  EXPECT_EQ(Job(id).status.last_outcome, Outcome::kTimeout);
  EXPECT_THAT(Job(id).status.error, HasSubstr("longer than its timeout of 5000 ms"));
  std::vector<Notice> n = Notices();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].worker_id, "w1");
  EXPECT_EQ(n[0].attempt_id, a.attempt_id);
  EXPECT_EQ(n[0].reason, Outcome::kTimeout);
  RecordBatch b = Take();
  ASSERT_EQ(b.attempts.size(), 1u);
  EXPECT_EQ(b.attempts[0].outcome, Outcome::kTimeout);
  EXPECT_EQ(b.attempts[0].ended_ms, kStartMs + 5'000);
  // The late completion of the timed-out attempt is refused.
  EXPECT_EQ(engine_.Complete(Ref(a), Ok()).code(), StatusCode::kStaleAttempt);
}

TEST_F(EngineTest, HeartbeatsKeepTheLeaseSilenceLosesIt) {
  JobSpec spec = Spec();
  spec.timeout_ms = 3'600'000;
  JobId id = Submit(spec);
  Assignment a = DispatchOne();
  for (int i = 0; i < 10; ++i) {
    Advance(9'000);
    ASSERT_TRUE(engine_.Heartbeat(Ref(a)).ok());
    ASSERT_EQ(State(id), JobState::kRunning);
  }
  EXPECT_EQ(Job(id).status.lease_expires_ms, engine_.now_ms() + 10'000);
  Advance(10'000);
  EXPECT_EQ(State(id), JobState::kRetryWait);
  EXPECT_EQ(Job(id).status.last_outcome, Outcome::kLost);
  EXPECT_THAT(Job(id).status.error, HasSubstr("worker w1 stopped heartbeating"));
  EXPECT_EQ(engine_.Heartbeat(Ref(a)).code(), StatusCode::kStaleAttempt);
}

TEST_F(EngineTest, AReconnectingWorkerLosesTheAttemptsItDoesNotHold) {
  const JobId kept = Submit(Spec()), gone = Submit(Spec()), other = Submit(Spec());
  const Assignment a_kept = DispatchOne("w1"), a_gone = DispatchOne("w1");
  DispatchOne("w2");
  ASSERT_EQ(a_kept.job_id, kept);
  ASSERT_EQ(a_gone.job_id, gone);
  Take();
  // w1 comes back holding only the first attempt: the second ends as lost at once, w2's stays.
  const Engine::Release r = engine_.ReleaseWorker("w1", {a_kept.attempt_id});
  EXPECT_EQ(r.lost, 1u);
  ASSERT_EQ(r.held.size(), 1u);
  EXPECT_EQ(r.held[0].first, a_kept.attempt_id);
  EXPECT_EQ(r.held[0].second, "t");
  EXPECT_EQ(State(kept), JobState::kRunning);
  EXPECT_EQ(State(other), JobState::kRunning);
  EXPECT_EQ(State(gone), JobState::kRetryWait);
  EXPECT_EQ(Job(gone).status.last_outcome, Outcome::kLost);
  EXPECT_THAT(Job(gone).status.error, HasSubstr("worker w1 reconnected without this attempt"));
  RecordBatch b = Take();
  ASSERT_EQ(b.attempts.size(), 1u);
  EXPECT_EQ(b.attempts[0].id, a_gone.attempt_id);
  EXPECT_EQ(b.attempts[0].outcome, Outcome::kLost);
  EXPECT_TRUE(Notices().empty()) << "nobody to tell: the worker does not have it";
  EXPECT_EQ(engine_.Complete(Ref(a_gone), Ok()).code(), StatusCode::kStaleAttempt);
  EXPECT_TRUE(engine_.Complete(Ref(a_kept), Ok()).ok());
  // Nothing held elsewhere: a second call finds nothing more.
  EXPECT_EQ(engine_.ReleaseWorker("w1", {}).lost, 0u);
}

TEST_F(EngineTest, HeartbeatsAreWrittenOnlyEveryHalfLease) {
  Submit();
  Assignment a = DispatchOne();
  Take();
  Advance(1'000);
  ASSERT_TRUE(engine_.Heartbeat(Ref(a)).ok());
  EXPECT_FALSE(engine_.HasRecords());  // the lease moved by 1 s of 10 s
  Advance(4'000);
  ASSERT_TRUE(engine_.Heartbeat(Ref(a)).ok());
  RecordBatch b = Take();
  ASSERT_EQ(b.updates.size(), 1u);
  EXPECT_EQ(b.updates[0].status.lease_expires_ms, engine_.now_ms() + 10'000);
}

TEST_F(EngineTest, DeadlineFailsTheJobInEveryActiveState) {
  for (JobState state : {JobState::kPending, JobState::kQueued, JobState::kRunning,
                         JobState::kSubmitted, JobState::kRetryWait}) {
    SCOPED_TRACE(std::string(JobStateName(state)));
    JobSpec spec = Spec();
    spec.run_by_ms = engine_.now_ms() + 3'000;
    spec.verify = state == JobState::kSubmitted;
    if (state == JobState::kPending) spec.run_after_ms = engine_.now_ms() + 2'000;
    spec.retry = RetryPolicy{60'000, 1, 60'000, 0, kRetryableOutcomes};
    JobId id = Submit(spec);
    if (state != JobState::kPending && state != JobState::kQueued) {
      Assignment a = DispatchOne();
      if (state == JobState::kSubmitted) {
        ASSERT_TRUE(engine_.Complete(Ref(a), Ok()).ok());
      } else if (state == JobState::kRetryWait) {
        ASSERT_TRUE(engine_.Complete(Ref(a), Error()).ok());
      }
    }
    if (state == JobState::kPending) {
      EXPECT_EQ(State(id), JobState::kPending);
      Take();
      // Reaching run_after queues it; the test takes it off the queue by failing the deadline.
      engine_.Tick(engine_.now_ms() + 1'000);
      ASSERT_EQ(State(id), JobState::kPending);
    }
    ASSERT_EQ(State(id), state);
    Notices();
    engine_.Tick(spec.run_by_ms);
    EXPECT_EQ(State(id), JobState::kFailed);
    EXPECT_THAT(Job(id).status.error, HasSubstr("deadline passed"));
    std::vector<Notice> n = Notices();
    EXPECT_EQ(n.size(), state == JobState::kRunning ? 1u : 0u);
  }
}

TEST_F(EngineTest, DeadlineOfAParentCancelsItsChildren) {
  JobSpec parent = Spec();
  parent.run_by_ms = engine_.now_ms() + 5'000;
  JobId p = Submit(parent);
  Assignment pa = DispatchOne();
  JobSpec child = Spec("c");
  child.parent_id = p;
  JobId c1 = Submit(child), c2 = Submit(child);
  Assignment ca = DispatchOne("w2", "c");
  ASSERT_TRUE(engine_.Complete(Ref(pa), Ok()).ok());
  EXPECT_EQ(State(p), JobState::kWaitingChildren);
  Notices();
  Advance(5'000);
  EXPECT_EQ(State(p), JobState::kFailed);
  EXPECT_EQ(State(c1), JobState::kCancelled);
  EXPECT_EQ(State(c2), JobState::kCancelled);
  std::vector<Notice> n = Notices();
  ASSERT_EQ(n.size(), 1u);  // the running child's worker is told
  EXPECT_EQ(n[0].attempt_id, ca.attempt_id);
}

TEST_F(EngineTest, RunAfterDelaysTheJob) {
  JobSpec spec = Spec();
  spec.run_after_ms = engine_.now_ms() + 500;
  JobId id = Submit(spec);
  EXPECT_EQ(State(id), JobState::kPending);
  EXPECT_TRUE(Dispatch("w", {"t"}, 1).empty());
  Advance(499);
  EXPECT_EQ(State(id), JobState::kPending);
  Advance(1);
  EXPECT_EQ(State(id), JobState::kQueued);
  EXPECT_EQ(DispatchOne().job_id, id);
}

TEST_F(EngineTest, ClockNeverRunsBackwards) {
  Advance(1'000);
  const int64_t now = engine_.now_ms();
  engine_.Tick(now - 500);
  EXPECT_EQ(engine_.now_ms(), now);
}

// ---------------------------------------------------------------------------------------------
// Decline, verification, reject

TEST_F(EngineTest, DeclineDoesNotUseAnAttemptAndPrefersAnotherWorker) {
  JobId declined = Submit();
  Assignment a = DispatchOne("w1");
  ASSERT_TRUE(engine_.Complete(Ref(a), Decline()).ok());
  EXPECT_EQ(State(declined), JobState::kQueued);
  EXPECT_EQ(Job(declined).status.attempts_used, 0u);
  EXPECT_EQ(Job(declined).status.attempts_started, 1u);
  EXPECT_EQ(Job(declined).status.last_outcome, Outcome::kDeclined);
  JobId other = Submit();
  // w1 gets the other job although the declined one is older.
  EXPECT_EQ(DispatchOne("w1").job_id, other);
  // w2 gets the declined one.
  EXPECT_EQ(DispatchOne("w2").job_id, declined);
}

TEST_F(EngineTest, ADeclinedJobGoesBackToItsWorkerWhenNothingElseIsThere) {
  JobId id = Submit();
  ASSERT_TRUE(engine_.Complete(Ref(DispatchOne("w1")), Decline()).ok());
  Assignment again = DispatchOne("w1");
  EXPECT_EQ(again.job_id, id);
  EXPECT_EQ(again.attempt, 2u);
}

TEST_F(EngineTest, TooManyDeclinesCountAsAnError) {
  EngineConfig c = TestConfig();
  c.limits.declines_max = 2;
  Engine e(c);
  e.Tick(kStartMs);
  JobId id = e.Submit(Spec()).value().job_id;
  for (int i = 0; i < 2; ++i) {
    Assignment a = e.Dispatch(DispatchRequest{"w", {"t"}, 1}).at(0);
    ASSERT_TRUE(e.Complete(RefFrom(a, "w"), Decline()).ok());
    ASSERT_EQ(e.Find(id)->status.state, JobState::kQueued);
  }
  Assignment a = e.Dispatch(DispatchRequest{"w", {"t"}, 1}).at(0);
  ASSERT_TRUE(e.Complete(RefFrom(a, "w"), Decline()).ok());
  EXPECT_EQ(e.Find(id)->status.state, JobState::kRetryWait);
  EXPECT_EQ(e.Find(id)->status.attempts_used, 1u);
  EXPECT_THAT(e.Find(id)->status.error, HasSubstr("declined 3 times"));
}

TEST_F(EngineTest, VerifiedJobWaitsForItsVerdict) {
  JobSpec spec = Spec();
  spec.verify = true;
  spec.attempts_max = 2;
  JobId id = Submit(spec);
  ASSERT_TRUE(engine_.Complete(Ref(DispatchOne()), Ok(R"("first")")).ok());
  EXPECT_EQ(State(id), JobState::kSubmitted);
  EXPECT_EQ(Job(id).status.result, R"("first")");
  RecordBatch b = Take();
  EXPECT_TRUE(b.attempts.empty());  // the attempt is still open

  ASSERT_TRUE(engine_.Reject(id, "wrong").ok());
  EXPECT_EQ(State(id), JobState::kRetryWait);
  EXPECT_EQ(Job(id).status.last_outcome, Outcome::kRejected);
  EXPECT_EQ(Job(id).status.result, "");
  b = Take();
  ASSERT_EQ(b.attempts.size(), 1u);
  EXPECT_EQ(b.attempts[0].outcome, Outcome::kRejected);
  EXPECT_EQ(b.attempts[0].error, "wrong");

  Advance(1'000);
  ASSERT_TRUE(engine_.Complete(Ref(DispatchOne()), Ok(R"("second")")).ok());
  ASSERT_TRUE(engine_.Accept(id).ok());
  EXPECT_EQ(State(id), JobState::kSucceeded);
  EXPECT_EQ(Job(id).status.result, R"("second")");
}

// A result handed in is work done: it waits for its verdict for as long as it takes, whatever the
// attempt's timeout, unless the job set a verdict deadline. Past that the job fails with its
// result kept, and the work is not done again.
TEST_F(EngineTest, AVerdictThatNeverComesFailsTheJobWithItsResultKept) {
  JobSpec patient = Spec();
  patient.verify = true;
  patient.timeout_ms = 5'000;
  const JobId waits = Submit(patient);
  ASSERT_TRUE(engine_.Complete(Ref(DispatchOne()), Ok(R"("waits")")).ok());
  Advance(3'600'000);
  EXPECT_EQ(State(waits), JobState::kSubmitted);
  ASSERT_TRUE(engine_.Accept(waits).ok());

  JobSpec spec = Spec();
  spec.verify = true;
  spec.timeout_ms = 5'000;
  spec.verdict_timeout_ms = 60'000;
  JobId id = Submit(spec);
  ASSERT_TRUE(engine_.Complete(Ref(DispatchOne()), Ok(R"({"rows":3})")).ok());
  Advance(59'999);
  EXPECT_EQ(State(id), JobState::kSubmitted);
  Take();
  Advance(1);
  EXPECT_EQ(State(id), JobState::kFailed);
  EXPECT_EQ(Job(id).status.last_outcome, Outcome::kTimeout);
  EXPECT_EQ(Job(id).status.error,
            "no verdict: the result waited longer than its verdict_timeout_ms of 60000 ms");
  EXPECT_EQ(Job(id).status.result, R"({"rows":3})");
  EXPECT_EQ(Job(id).status.attempts_used, 1u);  // not run again
  RecordBatch b = Take();
  ASSERT_EQ(b.attempts.size(), 1u);
  EXPECT_EQ(b.attempts[0].outcome, Outcome::kTimeout);
  EXPECT_EQ(b.attempts[0].result, R"({"rows":3})");
  EXPECT_EQ(engine_.Accept(id).code(), StatusCode::kFailedPrecondition);

  // Only with verify, and not with a verifier job (which has a timeout of its own).
  JobSpec stray = Spec();
  stray.verdict_timeout_ms = 1'000;
  EXPECT_EQ(engine_.Submit(stray).status().message(),
            "verdict_timeout_ms: only with verify: true, for a verdict by API (a verifier job has "
            "its own timeout)");
}

// A failed attempt keeps what it handed in: as the attempt's result, and as the job's until the
// next attempt starts; the error stays the one line it was.
TEST_F(EngineTest, AFailedAttemptKeepsTheResultItHandedIn) {
  JobSpec spec = Spec();
  spec.attempts_max = 2;
  const JobId id = Submit(spec);
  Assignment a = DispatchOne();
  ASSERT_TRUE(engine_.RecordOutput(Ref(a), "log.txt", 12).ok());
  ASSERT_TRUE(engine_.RecordOutput(Ref(a), "log.txt", 14).ok());  // uploaded again: replaced
  ASSERT_TRUE(engine_.RecordOutput(Ref(a), "a.csv", 3).ok());
  EXPECT_EQ(Job(id).status.outputs, R"({"log.txt":14,"a.csv":3})");
  Completion failed = Error("exit code 2");
  failed.result = R"({"messages":[{"severity":"error","text":"no input","object":7}]})";
  Take();
  ASSERT_TRUE(engine_.Complete(Ref(a), failed).ok());
  EXPECT_EQ(State(id), JobState::kRetryWait);
  EXPECT_EQ(Job(id).status.error, "exit code 2");
  EXPECT_EQ(Job(id).status.result, failed.result);
  RecordBatch b = Take();
  ASSERT_EQ(b.attempts.size(), 1u);
  EXPECT_EQ(b.attempts[0].result, failed.result);

  Advance(60'000);
  Assignment second = DispatchOne();
  ASSERT_EQ(second.job_id, id);
  EXPECT_EQ(Job(id).status.result, "");    // the new attempt has handed in nothing yet
  EXPECT_EQ(Job(id).status.outputs, "");   // nothing handed in yet
  Completion bare = Error("exit code 3");  // no result: "null" is none
  ASSERT_TRUE(engine_.Complete(Ref(second), bare).ok());
  EXPECT_EQ(State(id), JobState::kFailed);
  EXPECT_EQ(Job(id).status.result, "");
  EXPECT_EQ(Take().attempts.at(0).result, "");

  Completion huge = Error("x");
  huge.result = "\"" + std::string(TestConfig().limits.result_bytes_max, 'x') + "\"";
  const JobId other = Submit(Spec());
  Assignment c = DispatchOne();
  ASSERT_EQ(c.job_id, other);
  EXPECT_EQ(engine_.Complete(Ref(c), huge).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(State(other), JobState::kRunning);
}

TEST_F(EngineTest, AVerdictInTimeStopsTheVerdictTimer) {
  JobSpec spec = Spec();
  spec.verify = true;
  spec.verdict_timeout_ms = 5'000;
  JobId id = Submit(spec);
  ASSERT_TRUE(engine_.Complete(Ref(DispatchOne()), Ok()).ok());
  ASSERT_TRUE(engine_.Accept(id).ok());
  EXPECT_EQ(engine_.Stats().timers, 0u);
  Advance(10'000);
  EXPECT_EQ(State(id), JobState::kSucceeded);
}

TEST_F(EngineTest, RejectingTheLastAttemptFailsTheJob) {
  JobSpec spec = Spec();
  spec.verify = true;
  spec.attempts_max = 1;
  JobId id = Submit(spec);
  ASSERT_TRUE(engine_.Complete(Ref(DispatchOne()), Ok()).ok());
  ASSERT_TRUE(engine_.Reject(id, "no").ok());
  EXPECT_EQ(State(id), JobState::kFailed);
  EXPECT_EQ(Job(id).status.error, "no (attempts used up: 1 of 1)");
}

TEST_F(EngineTest, OwnerCanRejectASucceededJob) {
  JobId id = Submit();
  ASSERT_TRUE(engine_.Complete(Ref(DispatchOne()), Ok()).ok());
  ASSERT_TRUE(engine_.Reject(id, "not what I wanted").ok());
  EXPECT_EQ(State(id), JobState::kRetryWait);
  EXPECT_EQ(Job(id).status.finished_ms, 0);
  EXPECT_EQ(Job(id).status.result, "");
  Advance(1'000);
  Assignment a = DispatchOne();
  EXPECT_EQ(a.attempt, 2u);
}

TEST_F(EngineTest, ASucceededSubJobCannotBeRejected) {
  JobId p = Submit();
  Assignment pa = DispatchOne();
  JobSpec child = Spec("c");
  child.parent_id = p;
  JobId c = Submit(child);
  ASSERT_TRUE(engine_.Complete(Ref(DispatchOne("w", "c")), Ok()).ok());
  Status s = engine_.Reject(c, "");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("reject the parent instead"));
  ASSERT_TRUE(engine_.Complete(Ref(pa), Ok()).ok());
  EXPECT_EQ(State(p), JobState::kSucceeded);
}

// ---------------------------------------------------------------------------------------------
// Cancel, stale attempts, retry

TEST_F(EngineTest, CancelARunningJobTellsTheWorkerAndRefusesItsLateResult) {
  JobId id = Submit();
  Assignment a = DispatchOne();
  Take();
  ASSERT_TRUE(engine_.Cancel(id, "changed my mind").ok());
  EXPECT_EQ(State(id), JobState::kCancelled);
  std::vector<Notice> n = Notices();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].reason, Outcome::kCancelled);
  EXPECT_EQ(n[0].attempt_id, a.attempt_id);
  RecordBatch b = Take();
  ASSERT_EQ(b.attempts.size(), 1u);
  EXPECT_EQ(b.attempts[0].outcome, Outcome::kCancelled);
  Status late = engine_.Complete(Ref(a), Ok());
  EXPECT_EQ(late.code(), StatusCode::kStaleAttempt);
  EXPECT_THAT(late.message(), HasSubstr("has already ended (the job is cancelled)"));
}

TEST_F(EngineTest, CompletionOfAnOldAttemptIsRefused) {
  JobId id = Submit();
  Assignment first = DispatchOne();
  Advance(10'000);  // lease lost
  Advance(1'000);   // back-off over
  Assignment second = DispatchOne("w2");
  Status s = engine_.Complete(Ref(first), Ok());
  EXPECT_EQ(s.code(), StatusCode::kStaleAttempt);
  EXPECT_EQ(s.message(), "attempt " + std::to_string(first.attempt_id) +
                             " is not the current attempt of job " + std::to_string(id) +
                             " (current: " + std::to_string(second.attempt_id) +
                             "); its completion was refused");
  EXPECT_EQ(engine_.Progress(Ref(first), 0.1, "").code(), StatusCode::kStaleAttempt);
  EXPECT_EQ(engine_.Heartbeat(Ref(first)).code(), StatusCode::kStaleAttempt);
  EXPECT_TRUE(engine_.Complete(Ref(second), Ok()).ok());
}

TEST_F(EngineTest, UnknownJobsAndBadCompletionsAreRefused) {
  EXPECT_EQ(engine_.Cancel(99, "").code(), StatusCode::kNotFound);
  EXPECT_EQ(engine_.Heartbeat({99, 1}).code(), StatusCode::kNotFound);
  Submit();
  Assignment a = DispatchOne();
  Completion weird{Outcome::kLost, "", "", true};
  EXPECT_EQ(engine_.Complete(Ref(a), weird).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_.Complete(Ref(a), Ok("")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_.Progress(Ref(a), 1.5, "").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_.Progress(Ref(a), std::nan(""), "").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(State(a.job_id), JobState::kRunning);
}

TEST_F(EngineTest, ProgressIsKeptAndEmitted) {
  JobId id = Submit();
  Assignment a = DispatchOne();
  Take();
  ASSERT_TRUE(engine_.Progress(Ref(a), 0.42, "reading input").ok());
  EXPECT_DOUBLE_EQ(Job(id).status.progress, 0.42);
  EXPECT_EQ(Job(id).status.progress_message, "reading input");
  RecordBatch b = Take();
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(b.events[0].kind, EventKind::kProgress);
  EXPECT_DOUBLE_EQ(b.events[0].progress, 0.42);
  EXPECT_EQ(b.events[0].message, "reading input");
  EXPECT_EQ(b.events[0].state, JobState::kRunning);
}

TEST_F(EngineTest, RetryGivesAFailedJobAFreshBudget) {
  JobSpec spec = Spec();
  spec.attempts_max = 1;
  JobId id = Submit(spec);
  ASSERT_TRUE(engine_.Complete(Ref(DispatchOne()), Error()).ok());
  ASSERT_EQ(State(id), JobState::kFailed);
  ASSERT_TRUE(engine_.Retry(id).ok());
  EXPECT_EQ(State(id), JobState::kQueued);
  EXPECT_EQ(Job(id).status.attempts_used, 0u);
  EXPECT_EQ(Job(id).status.error, "");
  Assignment a = DispatchOne();
  EXPECT_EQ(a.attempt, 2u);
  ASSERT_TRUE(engine_.Complete(Ref(a), Ok()).ok());
  EXPECT_EQ(State(id), JobState::kSucceeded);
}

// ---------------------------------------------------------------------------------------------
// Idempotency

TEST_F(EngineTest, IdempotencyKeyReturnsTheFirstJob) {
  JobSpec spec = Spec();
  spec.idempotency_key = "order-17";
  Result<SubmitResult> first = engine_.Submit(spec);
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->existed);
  Take();
  spec.payload = R"({"different":true})";
  Result<SubmitResult> second = engine_.Submit(spec);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->existed);
  EXPECT_EQ(second->job_id, first->job_id);
  EXPECT_FALSE(engine_.HasRecords());  // nothing new

  JobSpec other = Spec("t", "bob");
  other.idempotency_key = "order-17";
  Result<SubmitResult> bobs = engine_.Submit(other);
  ASSERT_TRUE(bobs.ok());
  EXPECT_FALSE(bobs->existed);  // keys are per owner
  EXPECT_NE(bobs->job_id, first->job_id);
}

TEST_F(EngineTest, IdempotencyKeySurvivesTheJobAndExpiresAfterItsTtl) {
  EngineConfig c = TestConfig();
  c.idempotency_ttl_ms = 60'000;
  c.finished_jobs_max = 0;
  Engine e(c);
  e.Tick(kStartMs);
  JobSpec spec = Spec();
  spec.idempotency_key = "k";
  JobId id = e.Submit(spec).value().job_id;
  Assignment a = e.Dispatch(DispatchRequest{"w", {"t"}, 1}).at(0);
  ASSERT_TRUE(e.Complete(RefFrom(a, "w"), Ok()).ok());
  RecordBatch b;
  e.TakeRecords(&b);
  EXPECT_EQ(e.Find(id), nullptr);  // finished and evicted
  Result<SubmitResult> again = e.Submit(spec);
  EXPECT_TRUE(again->existed);
  EXPECT_EQ(again->job_id, id);
  e.Tick(kStartMs + 60'000);
  EXPECT_EQ(e.Stats().idempotency_keys, 0u);
  Result<SubmitResult> fresh = e.Submit(spec);
  EXPECT_FALSE(fresh->existed);
  EXPECT_NE(fresh->job_id, id);
}

// ---------------------------------------------------------------------------------------------
// Sub-jobs

TEST_F(EngineTest, ParentWaitsForItsChildren) {
  JobId p = Submit();
  Assignment pa = DispatchOne();
  JobSpec child = Spec("c");
  child.parent_id = p;
  JobId c1 = Submit(child), c2 = Submit(child);
  EXPECT_EQ(Job(p).status.children_total, 2u);
  ASSERT_TRUE(engine_.Complete(Ref(pa), Ok()).ok());
  EXPECT_EQ(State(p), JobState::kWaitingChildren);
  auto as = Dispatch("w", {"c"}, 2);
  ASSERT_EQ(as.size(), 2u);
  ASSERT_TRUE(engine_.Complete(Ref(as[0]), Ok()).ok());
  EXPECT_EQ(State(p), JobState::kWaitingChildren);
  EXPECT_EQ(Job(p).status.children_done, 1u);
  Take();
  ASSERT_TRUE(engine_.Complete(Ref(as[1]), Ok()).ok());
  EXPECT_EQ(State(p), JobState::kSucceeded);
  EXPECT_EQ(State(c1), JobState::kSucceeded);
  EXPECT_EQ(State(c2), JobState::kSucceeded);
  // The child's completion and the parent's count are in the same batch.
  RecordBatch b = Take();
  ASSERT_EQ(b.updates.size(), 2u);
}

TEST_F(EngineTest, AFailedChildFailsItsParent) {
  JobId p = Submit();
  Assignment pa = DispatchOne();
  JobSpec child = Spec("c");
  child.parent_id = p;
  child.attempts_max = 1;
  Submit(child);
  ASSERT_TRUE(engine_.Complete(Ref(DispatchOne("w", "c")), Error()).ok());
  ASSERT_TRUE(engine_.Complete(Ref(pa), Ok()).ok());
  EXPECT_EQ(State(p), JobState::kFailed);
  EXPECT_EQ(Job(p).status.error, "1 of 1 sub-jobs did not succeed");
}

TEST_F(EngineTest, CancellingAParentCancelsItsDescendants) {
  JobId p = Submit();
  DispatchOne();
  JobSpec child = Spec("c");
  child.parent_id = p;
  JobId c = Submit(child);
  Assignment ca = DispatchOne("w", "c");
  JobSpec grandchild = Spec("g");
  grandchild.parent_id = c;
  JobId g = Submit(grandchild);
  Notices();
  ASSERT_TRUE(engine_.Cancel(p, "stop").ok());
  EXPECT_EQ(State(p), JobState::kCancelled);
  EXPECT_EQ(State(c), JobState::kCancelled);
  EXPECT_EQ(State(g), JobState::kCancelled);
  EXPECT_EQ(Notices().size(), 2u);  // the parent's worker and the child's
  EXPECT_EQ(engine_.Complete(Ref(ca), Ok()).code(), StatusCode::kStaleAttempt);
}

TEST_F(EngineTest, SubJobsNeedAnActiveParentOfTheSameOwner) {
  JobSpec child = Spec("c");
  child.parent_id = 42;
  EXPECT_EQ(engine_.Submit(child).status().code(), StatusCode::kNotFound);
  JobId p = MakeJobIn(JobState::kSucceeded);
  child.parent_id = p;
  EXPECT_EQ(engine_.Submit(child).status().code(), StatusCode::kFailedPrecondition);
  JobId q = Submit();
  JobSpec foreign = Spec("c", "mallory");
  foreign.parent_id = q;
  EXPECT_EQ(engine_.Submit(foreign).status().code(), StatusCode::kNotFound);
}

TEST_F(EngineTest, RetryingAFailedChildReopensItsSlot) {
  JobId p = Submit();
  DispatchOne();
  JobSpec child = Spec("c");
  child.parent_id = p;
  child.attempts_max = 1;
  JobId c = Submit(child);
  ASSERT_TRUE(engine_.Complete(Ref(DispatchOne("w", "c")), Error()).ok());
  EXPECT_EQ(Job(p).status.children_failed, 1u);
  ASSERT_TRUE(engine_.Retry(c).ok());
  EXPECT_EQ(Job(p).status.children_done, 0u);
  EXPECT_EQ(Job(p).status.children_failed, 0u);
}

// ---------------------------------------------------------------------------------------------
// Memory and recovery

TEST_F(EngineTest, FinishedJobsAreEvictedBeyondTheCache) {
  EngineConfig c = TestConfig();
  c.finished_jobs_max = 2;
  Engine e(c);
  e.Tick(kStartMs);
  std::vector<JobId> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(e.Submit(Spec()).value().job_id);
  for (const Assignment& a : e.Dispatch(DispatchRequest{"w", {"t"}, 4})) {
    ASSERT_TRUE(e.Complete(RefFrom(a, "w"), Ok()).ok());
  }
  EXPECT_EQ(e.Stats().jobs_in_memory, 4u);  // evicted only after their records are taken
  RecordBatch b;
  e.TakeRecords(&b);
  EXPECT_EQ(e.Stats().jobs_in_memory, 2u);
  EXPECT_EQ(e.Find(ids[0]), nullptr);
  EXPECT_NE(e.Find(ids[3]), nullptr);
  EXPECT_EQ(e.Stats().jobs_by_state[static_cast<int>(JobState::kSucceeded)], 2u);
}

TEST_F(EngineTest, RestoreRebuildsQueuesTimersLeasesAndKeys) {
  FakeStore store;
  JobSpec keyed = Spec();
  keyed.idempotency_key = "k1";
  JobId queued = Submit(keyed);
  JobSpec later = Spec();
  later.run_after_ms = engine_.now_ms() + 60'000;
  JobId pending = Submit(later);
  JobId running = Submit();
  JobId expiring = Submit();
  auto as = Dispatch("w", {"t"}, 1);                        // takes `queued`
  ASSERT_TRUE(engine_.Complete(Ref(as[0]), Error()).ok());  // -> retry_wait
  auto more = Dispatch("w", {"t"}, 2);                      // running, expiring
  ASSERT_EQ(more.size(), 2u);
  JobId parent = Submit();
  Assignment pa = DispatchOne("w", "t");
  JobSpec child = Spec("c");
  child.parent_id = parent;
  JobId kid = Submit(child);
  ASSERT_TRUE(engine_.Complete(Ref(pa), Ok()).ok());
  RecordBatch b = Take();
  store.Apply(b);
  Advance(9'000);
  ASSERT_TRUE(engine_.Heartbeat(Ref(more[0])).ok());  // persisted: moved 9 s of a 10 s lease
  b = Take();
  store.Apply(b);

  // A new process, 5 s later: `expiring`'s lease ran out while it was down.
  Engine fresh(TestConfig());
  ASSERT_TRUE(fresh.Restore(store.Recover()).ok());
  EXPECT_EQ(fresh.Stats().event_seq_last, engine_.Stats().event_seq_last);
  fresh.Tick(engine_.now_ms() + 5'000);
  EXPECT_EQ(fresh.Find(queued)->status.state, JobState::kQueued);  // back-off over
  EXPECT_EQ(fresh.Find(pending)->status.state, JobState::kPending);
  EXPECT_EQ(fresh.Find(running)->status.state, JobState::kRunning);
  EXPECT_EQ(fresh.Find(expiring)->status.state, JobState::kRetryWait);
  EXPECT_EQ(fresh.Find(expiring)->status.last_outcome, Outcome::kLost);
  EXPECT_EQ(fresh.Find(parent)->status.state, JobState::kWaitingChildren);
  // The running attempt goes on under its old id.
  EXPECT_TRUE(fresh.Heartbeat(Ref(more[0])).ok());
  // Idempotency keys survive.
  Result<SubmitResult> dup = fresh.Submit(keyed);
  EXPECT_TRUE(dup->existed);
  EXPECT_EQ(dup->job_id, queued);
  // New ids continue after the stored ones; events stay gap-free.
  JobId next = fresh.Submit(Spec()).value().job_id;
  EXPECT_GT(next, kid);
  RecordBatch fb;
  fresh.TakeRecords(&fb);
  ASSERT_FALSE(fb.events.empty());
  EXPECT_EQ(fb.events.front().seq, store.events.back().seq + 1);
  // Children still count towards their parent.
  Assignment ka = fresh.Dispatch(DispatchRequest{"w", {"c"}, 1}).at(0);
  ASSERT_TRUE(fresh.Complete(RefFrom(ka, "w"), Ok()).ok());
  EXPECT_EQ(fresh.Find(parent)->status.state, JobState::kSucceeded);
  EXPECT_GT(ka.attempt_id, more[1].attempt_id);
}

TEST_F(EngineTest, AnEvictedJobCanBeLoadedBackAndRetried) {
  EngineConfig c = TestConfig();
  c.finished_jobs_max = 0;
  Engine e(c);
  e.Tick(kStartMs);
  JobSpec spec = Spec();
  spec.attempts_max = 1;
  JobId id = e.Submit(spec).value().job_id;
  Assignment a = e.Dispatch({"w", {"t"}, 1}).at(0);
  ASSERT_TRUE(e.Complete(RefFrom(a, "w"), Error()).ok());
  RecordBatch b;
  e.TakeRecords(&b);
  JobRecord stored = b.inserts.at(0);
  ASSERT_EQ(e.Find(id), nullptr);
  EXPECT_EQ(e.Retry(id).code(), StatusCode::kNotFound);
  ASSERT_TRUE(e.Load(stored).ok());
  ASSERT_TRUE(e.Retry(id).ok());
  EXPECT_EQ(e.Find(id)->status.state, JobState::kQueued);
  EXPECT_EQ(e.Dispatch({"w", {"t"}, 1}).at(0).attempt, 2u);
  // Only finished jobs, and not ones it holds or never made.
  stored.status.state = JobState::kQueued;
  EXPECT_EQ(e.Load(stored).code(), StatusCode::kFailedPrecondition);
  JobRecord unknown = b.inserts.at(0);
  unknown.id = 999;
  EXPECT_EQ(e.Load(unknown).code(), StatusCode::kInvalidArgument);
}

TEST_F(EngineTest, RestoreRefusesAnEngineWithState) {
  Submit();
  EXPECT_EQ(engine_.Restore({}).code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace baton::engine::testing
