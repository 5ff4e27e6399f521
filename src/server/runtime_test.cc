#include "server/runtime.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "store/database.h"
#include "store/faulty_store.h"
#include "store/memory/memory_store.h"
#include "store/store_test_util.h"

namespace baton::server {
namespace {

using engine::Engine;
using engine::JobSpec;
using engine::JobState;
using engine::Outcome;

constexpr int64_t kStart = 1'700'000'000'000;

JobSpec Spec(std::string key = "") {
  JobSpec s;
  s.type = "t";
  s.owner = "alice";
  s.idempotency_key = std::move(key);
  return s;
}

using store::testing::GatedStore;

TEST(RuntimeTest, ASubmitIsAcknowledgedOnlyAfterItsCommit) {
  GatedStore store;
  ManualClock clock(kStart);
  auto rt = Runtime::Start(&store, &clock, {});
  ASSERT_TRUE(rt.ok()) << rt.status().ToString();
  auto submitted = (*rt)->Call([](Engine& e) { return e.Submit(Spec()); });
  store.WaitEntered(1);  // the commit holding the submit is in flight, held at the gate
  EXPECT_EQ(submitted.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  EXPECT_EQ(store.inner.job_count(), 0u);
  store.Open();
  Result<engine::SubmitResult> r = submitted.get();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(store.inner.job_count(), 1u);  // durable before the answer
  EXPECT_EQ(store.inner.GetJob(r->job_id).value().status.state, JobState::kQueued);
}

TEST(RuntimeTest, CommandsDuringACommitShareTheNextTransaction) {
  GatedStore store;
  ManualClock clock(kStart);
  RuntimeOptions one_at_a_time;
  one_at_a_time.commits_in_flight_max = 1;
  auto rt = Runtime::Start(&store, &clock, one_at_a_time);
  ASSERT_TRUE(rt.ok());
  auto first = (*rt)->Call([](Engine& e) { return e.Submit(Spec()); });
  store.WaitEntered(1);
  std::vector<std::future<Result<engine::SubmitResult>>> more;
  for (int i = 0; i < 50; ++i)
    more.push_back((*rt)->Call([](Engine& e) { return e.Submit(Spec()); }));
  // Dispatch and complete them while the first commit is still held: they coalesce.
  auto done = (*rt)->Call([](Engine& e) {
    int n = 0;
    for (const auto& a : e.Dispatch({"w", {"t"}, 100})) {
      n += e.Complete({a.job_id, a.attempt_id, "w"}, {Outcome::kSucceeded, "1", "", true}).ok();
    }
    return n;
  });
  store.Open();
  ASSERT_TRUE(first.get().ok());
  for (auto& f : more) ASSERT_TRUE(f.get().ok());
  Result<int> completed = done.get();
  ASSERT_TRUE(completed.ok());
  const Runtime::Stats stats = (*rt)->GetStats();
  // Everything that arrived while the first commit was held rode one more transaction.
  EXPECT_EQ(stats.committer.transactions, 2u);
  EXPECT_EQ(store.inner.job_count(), 51u);
  size_t succeeded = 0;
  for (engine::JobId id = 1; id <= 51; ++id) {
    succeeded += store.inner.GetJob(id).value().status.state == JobState::kSucceeded;
  }
  EXPECT_EQ(succeeded, static_cast<size_t>(*completed));
  EXPECT_EQ(*completed, 51);
}

TEST(RuntimeTest, AFailedCommitFailsItsCommandsAndTheEngineForgetsThem) {
  store::MemoryStore store;
  ManualClock clock(kStart);
  auto rt = Runtime::Start(&store, &clock, {});
  ASSERT_TRUE(rt.ok());
  ASSERT_TRUE((*rt)->Call([](Engine& e) { return e.Submit(Spec("a")); }).get().ok());
  store.FailApplies(1, Unavailable("disk full"));
  Result<engine::SubmitResult> lost =
      (*rt)->Call([](Engine& e) { return e.Submit(Spec("b")); }).get();
  ASSERT_FALSE(lost.ok());
  EXPECT_EQ(lost.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(lost.status().message().find("disk full"), std::string::npos);
  // The engine was rebuilt from the store: job 2 never existed, and the key "b" is free.
  Result<engine::SubmitResult> again =
      (*rt)->Call([](Engine& e) { return e.Submit(Spec("b")); }).get();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->existed);
  EXPECT_EQ(again->job_id, 2u);
  EXPECT_EQ((*rt)->GetStats().rebuilds, 1u);
  Result<engine::SubmitResult> dup =
      (*rt)->Call([](Engine& e) { return e.Submit(Spec("a")); }).get();
  EXPECT_TRUE(dup->existed);
  EXPECT_EQ(dup->job_id, 1u);
}

TEST(RuntimeTest, AFailureWithASecondBatchQueuedLosesNeitherOrderNorEvents) {
  GatedStore store;
  ManualClock clock(kStart);
  auto rt = Runtime::Start(&store, &clock, {});  // two batches in flight by default
  ASSERT_TRUE(rt.ok());
  store.inner.FailApplies(1, Unavailable("disk full"));
  auto first = (*rt)->Call([](Engine& e) { return e.Submit(Spec("a")); });
  store.WaitEntered(1);  // batch 1 is held at the gate and will fail
  auto second = (*rt)->Call([](Engine& e) { return e.Submit(Spec("b")); });
  // Batch 2 is handed over behind it; wait until the engine thread has done so.
  while ((*rt)->GetStats().committer.batches < 2) std::this_thread::yield();
  store.Open();
  EXPECT_EQ(first.get().status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(second.get().status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.inner.job_count(), 0u);
  EXPECT_TRUE(store.inner.ListEvents({.limit = 10}).value().empty());
  // Rebuilt from the store: the next job is job 1 with event 1, no gap.
  Result<engine::SubmitResult> again =
      (*rt)->Call([](Engine& e) { return e.Submit(Spec("b")); }).get();
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->job_id, 1u);
  auto events = store.inner.ListEvents({.limit = 10}).value();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].seq, 1u);
}

TEST(RuntimeTest, BadOptionsAreRefused) {
  store::MemoryStore store;
  ManualClock clock(kStart);
  RuntimeOptions options;
  options.commits_in_flight_max = 0;
  auto rt = Runtime::Start(&store, &clock, options);
  EXPECT_EQ(rt.status().message(), "commits_in_flight_max: must be at least 1, got 0");
}

TEST(RuntimeTest, StartRecoversFromTheStore) {
  std::string dir = store::testing::TempDir("runtime");
  ManualClock clock(kStart);
  engine::JobId queued = 0, running = 0;
  engine::AttemptId attempt = 0;
  {
    auto db = store::OpenDatabase("sqlite:" + dir);
    ASSERT_TRUE(db.ok());
    auto store = (*db)->Connect();
    ASSERT_TRUE(store.ok());
    auto rt = Runtime::Start(store->get(), &clock, {});
    ASSERT_TRUE(rt.ok());
    running = (*rt)->Call([](Engine& e) { return e.Submit(Spec()); }).get()->job_id;
    auto as = (*rt)->Call([](Engine& e) { return e.Dispatch({"w", {"t"}, 1}); }).get();
    ASSERT_EQ(as->size(), 1u);
    attempt = as->at(0).attempt_id;
    queued = (*rt)->Call([](Engine& e) { return e.Submit(Spec("k")); }).get()->job_id;
  }
  auto db = store::OpenDatabase("sqlite:" + dir);
  ASSERT_TRUE(db.ok());
  auto store = (*db)->Connect();
  ASSERT_TRUE(store.ok());
  auto rt = Runtime::Start(store->get(), &clock, {});
  ASSERT_TRUE(rt.ok());
  auto states =
      (*rt)
          ->Call([&](Engine& e) {
            return std::make_pair(e.Find(queued)->status.state, e.Find(running)->status.state);
          })
          .get();
  ASSERT_TRUE(states.ok());
  EXPECT_EQ(states->first, JobState::kQueued);
  EXPECT_EQ(states->second, JobState::kRunning);
  // The worker's attempt carries on across the restart.
  Status hb = (*rt)->Call([&](Engine& e) { return e.Heartbeat({running, attempt, "w"}); }).get();
  EXPECT_TRUE(hb.ok()) << hb.ToString();
  std::filesystem::remove_all(dir);
}

TEST(RuntimeTest, TimersFireWithoutCommandsAndNoticesFollowTheCommit) {
  store::MemoryStore store;
  ManualClock clock(kStart);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<engine::Notice> notices;
  RuntimeOptions options;
  options.tick_interval_ms_max = 1;
  options.on_notices = [&](std::vector<engine::Notice> n) {
    std::lock_guard lock(mu);
    notices.insert(notices.end(), n.begin(), n.end());
    cv.notify_all();
  };
  auto rt = Runtime::Start(&store, &clock, options);
  ASSERT_TRUE(rt.ok());
  JobSpec spec = Spec();
  spec.heartbeat_timeout_ms = 1000;
  engine::JobId id = (*rt)->Call([&](Engine& e) { return e.Submit(spec); }).get()->job_id;
  auto as = (*rt)->Call([](Engine& e) { return e.Dispatch({"w9", {"t"}, 1}); }).get();
  ASSERT_EQ(as->size(), 1u);
  clock.Advance(1000);  // the lease runs out; the engine thread notices on its own
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return !notices.empty(); }));
  }
  EXPECT_EQ(notices[0].worker_id, "w9");
  EXPECT_EQ(notices[0].reason, Outcome::kLost);
  // The notice left after the commit: the store already has the lost attempt.
  auto attempts = store.ListAttempts(id);
  ASSERT_EQ(attempts->size(), 1u);
  EXPECT_EQ(attempts->at(0).outcome, Outcome::kLost);
}

TEST(RuntimeTest, AFullQueueAndAStoppedRuntimeRefuseClearly) {
  store::MemoryStore store;
  ManualClock clock(kStart);
  RuntimeOptions options;
  options.queue_max = 0;
  auto rt = Runtime::Start(&store, &clock, options);
  ASSERT_TRUE(rt.ok());
  Status s = (*rt)->Call([](Engine& e) { return e.Cancel(1, ""); }).get();
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), "the engine queue is full (queue_max = 0); try again");
}

}  // namespace
}  // namespace baton::server

namespace baton::server {
namespace {

// Stepped, the runtime does nothing until it is driven: a command waits for a pass, its answer
// for the commit; and what is handed over while a commit waits rides it together.
TEST(SteppedRuntimeTest, CommandsRunInPassesAndAnswersFollowTheirCommit) {
  store::MemoryStore memory;
  store::FaultyStore store(&memory);
  ManualClock clock(kStart);
  RuntimeOptions options;
  options.threaded = false;
  auto rt = Runtime::Start(&store, &clock, options);
  ASSERT_TRUE(rt.ok()) << rt.status().ToString();
  std::vector<Status> answers;
  auto submit = [&] {
    (*rt)->Execute([](Engine& e) { ASSERT_TRUE(e.Submit(Spec()).ok()); },
                   [&](const Status& s) { answers.push_back(s); });
  };
  submit();
  EXPECT_FALSE((*rt)->CommitPending());  // nothing handed over before a pass
  ASSERT_TRUE((*rt)->RunPass());
  EXPECT_TRUE(answers.empty());
  EXPECT_EQ(memory.job_count(), 0u);
  submit();
  ASSERT_TRUE((*rt)->RunPass());  // a second batch in flight (commits_in_flight_max = 2)
  submit();
  ASSERT_TRUE((*rt)->RunPass());  // the third waits in the engine: two are in flight
  ASSERT_TRUE((*rt)->CommitPending());
  EXPECT_EQ(answers.size(), 2u);  // the two batches, one transaction
  EXPECT_EQ(memory.job_count(), 2u);
  EXPECT_FALSE((*rt)->CommitPending());
  ASSERT_TRUE((*rt)->RunPass());  // takes the results in, hands the third over
  ASSERT_TRUE((*rt)->CommitPending());
  ASSERT_EQ(answers.size(), 3u);
  for (const Status& s : answers) EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(memory.job_count(), 3u);
  const Runtime::Stats stats = (*rt)->GetStats();
  EXPECT_EQ(stats.committer.transactions, 2u);
  EXPECT_EQ(stats.committer.batches, 3u);
}

// A commit the store refuses fails every command it held, the engine is rebuilt from the store,
// and the runtime goes on: nothing the callers were told was lost.
TEST(SteppedRuntimeTest, AFailedCommitFailsItsCommandsAndTheEngineIsRebuilt) {
  store::MemoryStore memory;
  store::FaultyStore store(&memory);
  ManualClock clock(kStart);
  RuntimeOptions options;
  options.threaded = false;
  auto rt = Runtime::Start(&store, &clock, options);
  ASSERT_TRUE(rt.ok());
  std::vector<Status> answers;
  std::vector<engine::JobId> ids;
  auto submit = [&](std::string key) {
    (*rt)->Execute(
        [&ids, key](Engine& e) {
          Result<engine::SubmitResult> r = e.Submit(Spec(key));
          ASSERT_TRUE(r.ok());
          ids.push_back(r->job_id);
        },
        [&](const Status& s) { answers.push_back(s); });
  };
  submit("a");
  store.FailApplies(1, Unavailable("the disk is full"));
  ASSERT_TRUE((*rt)->RunPass());
  ASSERT_TRUE((*rt)->CommitPending());
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.failed_applies(), 1u);
  ASSERT_TRUE((*rt)->RunPass());  // learns of the failure, rebuilds from the store
  EXPECT_EQ((*rt)->GetStats().rebuilds, 1u);
  submit("a");  // the client sends it again: the key is free, the job was never stored
  ASSERT_TRUE((*rt)->RunPass());
  ASSERT_TRUE((*rt)->CommitPending());
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_TRUE(answers[1].ok()) << answers[1].ToString();
  EXPECT_EQ(memory.job_count(), 1u);
  EXPECT_EQ(memory.GetJob(ids.back()).value().spec.idempotency_key.str(), "a");

  // Down: commits and reads fail until it is back; commands are refused meanwhile.
  store.SetDown(Unavailable("the database server is gone"));
  submit("b");
  ASSERT_TRUE((*rt)->RunPass());
  ASSERT_TRUE((*rt)->CommitPending());
  EXPECT_EQ(answers.back().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store.GetJob(ids.front()).status().code(), StatusCode::kUnavailable);
  ASSERT_TRUE((*rt)->RunPass());  // its rebuild fails: the store is down
  submit("c");
  ASSERT_TRUE((*rt)->RunPass());
  EXPECT_EQ(answers.back().message(),
            "the store is failing (recover: the database server is gone); the command was not "
            "applied");
  store.SetDown(Status::Ok());
  clock.Advance(1000);  // the next rebuild is due
  ASSERT_TRUE((*rt)->RunPass());
  submit("c");
  ASSERT_TRUE((*rt)->RunPass());
  ASSERT_TRUE((*rt)->CommitPending());
  EXPECT_TRUE(answers.back().ok()) << answers.back().ToString();
  EXPECT_EQ(memory.job_count(), 2u);
}

}  // namespace
}  // namespace baton::server
