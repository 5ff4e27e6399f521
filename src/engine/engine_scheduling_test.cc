// Scheduling policies, as tables of commands and the decisions they give: priorities, fair
// shares, quotas, concurrency keys, rate limits, resources and labels, pause and drain, and how
// they combine.
#include <set>
#include <string>
#include <vector>

#include "engine/engine_test_util.h"

namespace baton::engine {
namespace {

using testing::EngineTest;

class SchedulingTest : public EngineTest {
 protected:
  JobId SubmitAs(const std::string& owner, const std::string& type = "t", int32_t priority = 0) {
    JobSpec spec = Spec(type, owner);
    spec.priority = priority;
    return Submit(spec);
  }

  // The owners of the jobs one dispatch hands out, in order.
  std::vector<std::string> OwnersOf(const std::vector<Assignment>& assigned) {
    std::vector<std::string> out;
    for (const Assignment& a : assigned) out.push_back(Job(a.job_id).spec.owner);
    return out;
  }

  // `n` dispatches of one job each: the owners in the order they were served.
  std::vector<std::string> ServeOneByOne(const std::string& worker,
                                         const std::vector<std::string>& types, int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
      auto a = Dispatch(worker, types, 1);
      if (a.empty()) break;
      out.push_back(Job(a[0].job_id).spec.owner);
    }
    return out;
  }

  void Connect(const std::string& id, std::vector<std::string> types, Resources resources = {},
               Labels labels = {}) {
    ASSERT_TRUE(engine_
                    .ConnectWorker(WorkerInfo{id, ++connection_, std::move(types),
                                              std::move(resources), std::move(labels)})
                    .ok());
  }

  void Finish(const Assignment& a) { ASSERT_TRUE(engine_.Complete(Ref(a), Ok()).ok()); }

  uint64_t connection_ = 0;
};

using V = std::vector<std::string>;

TEST_F(SchedulingTest, HigherPriorityFirstThenFirstInFirstOut) {
  const JobId low = SubmitAs("alice", "t", 0);
  const JobId high1 = SubmitAs("alice", "t", 5);
  const JobId high2 = SubmitAs("alice", "t", 5);
  auto a = Dispatch("w", {"t"}, 3);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].job_id, high1);
  EXPECT_EQ(a[1].job_id, high2);
  EXPECT_EQ(a[2].job_id, low);
}

TEST_F(SchedulingTest, UsersTakeTurnsWithinAPriority) {
  // alice floods first; bob's three jobs come after all of hers and still get every other slot.
  std::vector<JobId> alice, bob;
  for (int i = 0; i < 6; ++i) alice.push_back(SubmitAs("alice"));
  for (int i = 0; i < 3; ++i) bob.push_back(SubmitAs("bob"));
  auto a = Dispatch("w", {"t"}, 9);
  EXPECT_EQ(OwnersOf(a),
            (V{"alice", "bob", "alice", "bob", "alice", "bob", "alice", "alice", "alice"}));
  // FIFO within a user.
  EXPECT_EQ(a[0].job_id, alice[0]);
  EXPECT_EQ(a[2].job_id, alice[1]);
  EXPECT_EQ(a[1].job_id, bob[0]);
  EXPECT_EQ(a[5].job_id, bob[2]);
}

TEST_F(SchedulingTest, TurnsSpanTheTypesOfAWorker) {
  for (int i = 0; i < 4; ++i) SubmitAs("alice", "a");
  for (int i = 0; i < 2; ++i) SubmitAs("bob", "b");
  SubmitAs("carol", "a");
  EXPECT_EQ(ServeOneByOne("w", {"a", "b"}, 7),
            (V{"alice", "bob", "carol", "alice", "bob", "alice", "alice"}));
}

TEST_F(SchedulingTest, PriorityComesBeforeTurns) {
  SubmitAs("alice");
  SubmitAs("alice");
  SubmitAs("bob", "t", 3);
  SubmitAs("bob", "t", 3);
  EXPECT_EQ(ServeOneByOne("w", {"t"}, 4), (V{"bob", "bob", "alice", "alice"}));
}

TEST_F(SchedulingTest, UserRunningMaxHoldsTheUserBackAndSaysWhy) {
  SchedulingPolicy p;
  p.users["alice"].running_max = 2;
  engine_.SetPolicy(p);
  std::vector<JobId> alice;
  for (int i = 0; i < 4; ++i) alice.push_back(SubmitAs("alice"));
  for (int i = 0; i < 3; ++i) SubmitAs("bob");
  auto a = Dispatch("w", {"t"}, 10);
  EXPECT_EQ(OwnersOf(a), (V{"alice", "bob", "alice", "bob", "bob"}));
  EXPECT_EQ(State(alice[2]), JobState::kQueued);
  EXPECT_EQ(engine_.WhyWaiting(alice[2]), "user alice runs 2 jobs, the user's running_max");
  // One of hers ends: one more of hers may run.
  Finish(a[0]);
  auto b = Dispatch("w", {"t"}, 10);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].job_id, alice[2]);
  EXPECT_TRUE(Dispatch("w", {"t"}, 10).empty());
}

TEST_F(SchedulingTest, TheDefaultUserQuotaAppliesToEveryUser) {
  SchedulingPolicy p;
  p.user_running_max = 1;
  p.users["root"].running_max = 3;
  engine_.SetPolicy(p);
  for (int i = 0; i < 4; ++i) {
    SubmitAs("alice");
    SubmitAs("root");
  }
  EXPECT_EQ(OwnersOf(Dispatch("w", {"t"}, 10)), (V{"alice", "root", "root", "root"}));
}

TEST_F(SchedulingTest, UserTypeRunningMaxLimitsOneTypeOnly) {
  SchedulingPolicy p;
  p.users["alice"].types["gpu"] = 1;
  engine_.SetPolicy(p);
  const JobId g1 = SubmitAs("alice", "gpu");
  const JobId g2 = SubmitAs("alice", "gpu");
  SubmitAs("alice", "cpu");
  SubmitAs("alice", "cpu");
  auto a = Dispatch("w", {"gpu", "cpu"}, 10);
  EXPECT_EQ(a.size(), 3u);
  EXPECT_NE(State(g1), JobState::kQueued);
  EXPECT_EQ(State(g2), JobState::kQueued);
  EXPECT_EQ(engine_.WhyWaiting(g2),
            "user alice runs 1 jobs of type gpu, the user's running_max for the type");
}

TEST_F(SchedulingTest, TypeRunningMaxCountsEveryUser) {
  SchedulingPolicy p;
  p.types["t"].running_max = 3;
  engine_.SetPolicy(p);
  for (int i = 0; i < 3; ++i) {
    SubmitAs("alice");
    SubmitAs("bob");
  }
  const JobId other = SubmitAs("bob", "u");
  auto a = Dispatch("w", {"t", "u"}, 10);
  EXPECT_EQ(a.size(), 4u);  // three of t, and u
  EXPECT_NE(State(other), JobState::kQueued);
  Finish(a[0]);
  EXPECT_EQ(Dispatch("w", {"t"}, 10).size(), 1u);
}

TEST_F(SchedulingTest, AConcurrencyKeyRunsAtMostItsLimit) {
  auto keyed = [&](const std::string& owner, const std::string& key, uint32_t limit) {
    JobSpec s = Spec("t", owner);
    s.concurrency_key = key;
    s.concurrency_limit = limit;
    return Submit(s);
  };
  const JobId k1 = keyed("alice", "customer-42", 1);
  const JobId k2 = keyed("alice", "customer-42", 1);
  const JobId free1 = SubmitAs("alice");
  const JobId bobs = keyed("bob", "customer-42", 1);  // keys are per user
  auto a = Dispatch("w", {"t"}, 10);
  EXPECT_EQ(a.size(), 3u);
  EXPECT_EQ(State(k1), JobState::kRunning);
  EXPECT_EQ(State(k2), JobState::kQueued);
  EXPECT_EQ(State(free1), JobState::kRunning);
  EXPECT_EQ(State(bobs), JobState::kRunning);
  EXPECT_EQ(engine_.WhyWaiting(k2), "concurrency key customer-42 runs 1 jobs, its limit");
  Finish(a[0]);
  auto b = Dispatch("w", {"t"}, 10);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].job_id, k2);
}

TEST_F(SchedulingTest, AConcurrencyKeyNeedsALimitAndALimitNeedsAKey) {
  JobSpec s = Spec();
  s.concurrency_key = "k";
  EXPECT_EQ(engine_.Submit(s).status().message(), "concurrency.limit: must be at least 1");
  s.concurrency_key.clear();
  s.concurrency_limit = 2;
  EXPECT_EQ(engine_.Submit(s).status().message(), "concurrency.limit: needs a concurrency.key");
  EXPECT_EQ(engine_.Stats().jobs_in_memory, 0u);
}

TEST_F(SchedulingTest, ARateLimitedTypeStartsAtItsRate) {
  SchedulingPolicy p;
  p.types["t"].rate_per_s = 2;
  p.types["t"].burst = 2;
  engine_.SetPolicy(p);
  for (int i = 0; i < 6; ++i) SubmitAs("alice");
  SubmitAs("alice", "u");
  EXPECT_EQ(Dispatch("w", {"t", "u"}, 10).size(), 3u);  // the burst of t, and u
  EXPECT_EQ(engine_.NextTimerMs(), engine_.now_ms() + 500);
  Advance(499);
  EXPECT_TRUE(Dispatch("w", {"t"}, 10).empty());
  Advance(1);
  EXPECT_EQ(Dispatch("w", {"t"}, 10).size(), 1u);
  Advance(10'000);  // tokens never pile up past the burst
  EXPECT_EQ(Dispatch("w", {"t"}, 10).size(), 2u);
}

TEST_F(SchedulingTest, PausedTypesWaitAndResumeWhereTheyWere) {
  const JobId first = SubmitAs("alice");
  SubmitAs("alice");
  ASSERT_TRUE(engine_.PauseType("t", true).ok());
  EXPECT_TRUE(Dispatch("w", {"t"}, 10).empty());
  EXPECT_EQ(engine_.WhyWaiting(first), "type t is paused");
  ASSERT_TRUE(engine_.PauseType("t", false).ok());
  auto a = Dispatch("w", {"t"}, 1);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].job_id, first);
}

TEST_F(SchedulingTest, APauseOfANameNoJobCouldHaveIsRefusedAndRecordsNothing) {
  EXPECT_EQ(engine_.PauseType("", true).message(), "type: must not be empty");
  EXPECT_EQ(engine_.PauseType("a b", true).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_.PauseType("caf\xc3\xa9", true).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(engine_.PauseType(std::string(129, 't'), true).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(engine_.paused_types().empty());
  EXPECT_TRUE(Take().type_pauses.empty());
}

TEST_F(SchedulingTest, ADrainedWorkerKeepsItsJobsAndGetsNoNewOnes) {
  SubmitAs("alice");
  SubmitAs("alice");
  Connect("w", {"t"});
  auto a = Dispatch("w", {"t"}, 1);
  ASSERT_EQ(a.size(), 1u);
  engine_.DrainWorker("w", true);
  EXPECT_TRUE(Dispatch("w", {"t"}, 10).empty());
  Finish(a[0]);  // what it runs may still end
  EXPECT_EQ(State(a[0].job_id), JobState::kSucceeded);
  EXPECT_EQ(Dispatch("v", {"t"}, 10).size(), 1u);  // other workers are not drained
}

TEST_F(SchedulingTest, ResourcesGoOnlyToAWorkerThatHasThemFree) {
  Connect("small", {"t"}, {{"cpu", 2}});
  Connect("big", {"t"}, {{"cpu", 8}, {"gpu", 1}});
  JobSpec gpu = Spec();
  gpu.resources = {{"gpu", 1}};
  const JobId g = Submit(gpu);
  JobSpec cpu2 = Spec();
  cpu2.resources = {{"cpu", 2}};
  const JobId c1 = Submit(cpu2);
  const JobId c2 = Submit(cpu2);
  // small has no gpu: it takes one cpu job, and has no room for the second.
  auto a = Dispatch("small", {"t"}, 10);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].job_id, c1);
  EXPECT_EQ(State(g), JobState::kQueued);
  auto b = Dispatch("big", {"t"}, 10);
  EXPECT_EQ(b.size(), 2u);
  EXPECT_EQ(State(g), JobState::kRunning);
  EXPECT_EQ(State(c2), JobState::kRunning);
  // The gpu is held while its job runs.
  const JobId g2 = Submit(gpu);
  EXPECT_TRUE(Dispatch("big", {"t"}, 10).empty());
  Finish(b[0].job_id == g ? b[0] : b[1]);
  auto c = Dispatch("big", {"t"}, 10);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].job_id, g2);
}

TEST_F(SchedulingTest, LabelsMustMatch) {
  Connect("us", {"t"}, {}, {{"zone", "us"}});
  Connect("eu", {"t"}, {}, {{"disk", "ssd"}, {"zone", "eu"}});
  JobSpec spec = Spec();
  spec.labels = {{"zone", "eu"}};
  const JobId id = Submit(spec);
  EXPECT_TRUE(Dispatch("us", {"t"}, 10).empty());
  auto a = Dispatch("eu", {"t"}, 10);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].job_id, id);
}

TEST_F(SchedulingTest, WhyWaitingNamesTheMissingWorker) {
  JobSpec spec = Spec();
  spec.resources = {{"gpu", 2}};
  spec.labels = {{"zone", "eu"}};
  const JobId id = Submit(spec);
  EXPECT_EQ(engine_.WhyWaiting(id), "no connected worker runs type t");
  Connect("w", {"t"}, {{"gpu", 1}}, {{"zone", "eu"}});
  EXPECT_EQ(engine_.WhyWaiting(id), "no connected worker of type t has gpu 2, label zone=eu");
  engine_.DrainWorker("w", true);
  EXPECT_EQ(engine_.WhyWaiting(id), "every connected worker of type t is drained");
  const JobId plain = SubmitAs("alice");
  engine_.DrainWorker("w", false);
  EXPECT_EQ(engine_.WhyWaiting(plain),
            "waiting for a free slot on a worker of type t (2 jobs of the type queued)");
}

TEST_F(SchedulingTest, AJobNoWorkerCouldEverRunIsRefusedAtSubmit) {
  SchedulingPolicy p;
  p.resources_max["gpu"] = 2;
  engine_.SetPolicy(p);
  JobSpec spec = Spec();
  spec.resources = {{"gpu", 4}};
  Result<SubmitResult> r = engine_.Submit(spec);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "resources.gpu: 4 asked for, but no worker may have more than 2 (the server's "
            "scheduling.resources_max), so no worker could ever run this job");
  EXPECT_EQ(engine_.Stats().jobs_in_memory, 0u);
  EXPECT_TRUE(Take().empty());
  // Nor may a worker claim more.
  Status s = engine_.ConnectWorker(WorkerInfo{"w", 1, {"t"}, {{"gpu", 4}}, {}});
  EXPECT_EQ(s.message(),
            "resources.gpu: a worker may have at most 2 (the server's scheduling.resources_max), "
            "got 4");
}

TEST_F(SchedulingTest, ABigJobReservesAWorkerAndIsNotStarvedBySmallOnes) {
  // The rule: the best job for a worker that fits its total resources but not what is free now
  // reserves it; the worker starts nothing new until the job fits. Other workers go on.
  Connect("w1", {"t"}, {{"cpu", 4}});
  Connect("w2", {"t"}, {{"cpu", 2}});  // too small for the big job, ever
  JobSpec small = Spec("t", "alice");
  small.resources = {{"cpu", 1}};
  for (int i = 0; i < 3; ++i) Submit(small);
  auto running = Dispatch("w1", {"t"}, 10);
  ASSERT_EQ(running.size(), 3u);
  JobSpec big = Spec("t", "bob");
  big.resources = {{"cpu", 4}};
  const JobId b = Submit(big);
  for (int i = 0; i < 20; ++i) Submit(small);
  // w1 has one cpu free; bob's big job is the best next (bob's turn) and reserves w1.
  EXPECT_TRUE(Dispatch("w1", {"t"}, 10).empty());
  EXPECT_EQ(engine_.WhyWaiting(b), "worker w1 is being kept free for it (it needs cpu 4)");
  // w2 is not reserved: it passes the big job by and takes small jobs.
  EXPECT_EQ(Dispatch("w2", {"t"}, 2).size(), 2u);
  // As w1's small jobs end, it takes nothing else.
  Finish(running[0]);
  Finish(running[1]);
  EXPECT_TRUE(Dispatch("w1", {"t"}, 10).empty());
  Finish(running[2]);
  auto a = Dispatch("w1", {"t"}, 10);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a[0].job_id, b);
  EXPECT_EQ(a.size(), 1u);  // the big job holds all of w1
  EXPECT_EQ(State(b), JobState::kRunning);
}

TEST_F(SchedulingTest, AReservationEndsWithItsWorker) {
  Connect("w1", {"t"}, {{"cpu", 2}});
  JobSpec one = Spec();
  one.resources = {{"cpu", 1}};
  auto running = (Submit(one), Dispatch("w1", {"t"}, 1));
  JobSpec two = Spec();
  two.resources = {{"cpu", 2}};
  const JobId b = Submit(two);
  EXPECT_TRUE(Dispatch("w1", {"t"}, 10).empty());
  engine_.DisconnectWorker("w1", connection_);
  Connect("w2", {"t"}, {{"cpu", 2}});
  auto a = Dispatch("w2", {"t"}, 10);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].job_id, b);
}

TEST_F(SchedulingTest, AHighPriorityJobOverQuotaDoesNotHoldUpOthers) {
  SchedulingPolicy p;
  p.users["alice"].running_max = 1;
  engine_.SetPolicy(p);
  SubmitAs("alice");
  ASSERT_EQ(Dispatch("w", {"t"}, 1).size(), 1u);
  const JobId urgent = SubmitAs("alice", "t", 100);
  const JobId bobs = SubmitAs("bob");
  auto a = Dispatch("w", {"t"}, 10);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].job_id, bobs);
  EXPECT_EQ(State(urgent), JobState::kQueued);
  EXPECT_EQ(engine_.WhyWaiting(urgent), "user alice runs 1 jobs, the user's running_max");
}

TEST_F(SchedulingTest, LanesAreFreedWhenTheirJobsEnd) {
  for (int i = 0; i < 50; ++i) {
    JobSpec s = Spec();
    s.concurrency_key = "customer-" + std::to_string(i);
    s.concurrency_limit = 1;
    Submit(s);
  }
  auto a = Dispatch("w", {"t"}, 100);
  ASSERT_EQ(a.size(), 50u);
  EXPECT_EQ(engine_.scheduler().lanes(), 50u);
  for (const Assignment& x : a) Finish(x);
  EXPECT_EQ(engine_.scheduler().lanes(), 0u);
}

TEST_F(SchedulingTest, RestoredRunningJobsHoldTheirResourcesAndQuotas) {
  testing::FakeStore store;
  SchedulingPolicy p;
  p.users["alice"].running_max = 1;
  engine_.SetPolicy(p);
  Connect("w", {"t"}, {{"cpu", 2}});
  JobSpec spec = Spec();
  spec.resources = {{"cpu", 2}};
  Submit(spec);
  Submit(spec);
  ASSERT_EQ(Dispatch("w", {"t"}, 10).size(), 1u);
  RecordBatch b = Take();
  store.Apply(b);

  Engine restored(testing::TestConfig());
  ASSERT_TRUE(restored.Restore(store.Recover()).ok());
  restored.Tick(engine_.now_ms());
  restored.SetPolicy(p);
  ASSERT_TRUE(restored.ConnectWorker(WorkerInfo{"w", 9, {"t"}, {{"cpu", 4}}, {}}).ok());
  EXPECT_TRUE(restored.Dispatch(DispatchRequest{"w", {"t"}, 10}).empty());
  EXPECT_EQ(restored.scheduler().RunningOfUser("alice"), 1u);
}

// ---------------------------------------------------------------------------------------------
// Cron schedules (the clock starts at testing::kStartMs, 2023-11-14T22:13:20Z).

class ScheduleTest : public SchedulingTest {
 protected:
  ScheduleRecord Every(const std::string& name, const std::string& cron,
                       CatchUp catch_up = CatchUp::kSkip) {
    ScheduleRecord r;
    r.name = name;
    r.owner = "alice";
    r.cron = cron;
    r.catch_up = catch_up;
    r.job = R"({"type":"report","payload":{"n":1},"priority":3})";
    return r;
  }
  // The ticks of the jobs made so far, from their keys, in order.
  std::vector<int64_t> Ticks(const RecordBatch& b) {
    std::vector<int64_t> out;
    for (const JobRecord& r : b.inserts) {
      const std::string& key = r.spec.idempotency_key;
      out.push_back(std::stoll(key.substr(key.rfind(':') + 1)));
    }
    return out;
  }
};

TEST_F(ScheduleTest, EachTickMakesOneJobInTheSameCommitAsTheSchedule) {
  ASSERT_TRUE(engine_.PutSchedule(Every("s", "*/10 * * * * *")).ok());
  const int64_t first = engine_.ScheduleNextMs("s");
  EXPECT_EQ(first % 10'000, 0);
  // The engine's next wake-up is the tick (the runtime sleeps until then, not a poll later).
  EXPECT_EQ(engine_.NextTimerMs(), first);
  Take();
  engine_.Tick(first - 1);
  EXPECT_TRUE(Take().inserts.empty());
  engine_.Tick(first);
  RecordBatch b = Take();
  ASSERT_EQ(b.inserts.size(), 1u);
  const JobRecord& job = b.inserts[0];
  EXPECT_EQ(job.spec.type, "report");
  EXPECT_EQ(job.spec.owner, "alice");
  EXPECT_EQ(job.spec.priority, 3);
  EXPECT_EQ(job.spec.idempotency_key, "schedule:s:" + std::to_string(first));
  ASSERT_EQ(b.schedules.size(), 1u);  // the tick is recorded with its job
  EXPECT_EQ(b.schedules[0].last_tick_ms, first);
  EXPECT_EQ(b.schedules[0].last_job_id, job.id);
  EXPECT_EQ(engine_.ScheduleNextMs("s"), first + 10'000);
  engine_.Tick(first + 35'000);  // three more ticks, each late but within the grace
  EXPECT_EQ(Ticks(Take()), (std::vector<int64_t>{first + 10'000, first + 20'000, first + 30'000}));
}

TEST_F(ScheduleTest, ARestartMakesNoDuplicateAndNoGap) {
  testing::FakeStore store;
  ASSERT_TRUE(engine_.PutSchedule(Every("s", "* * * * * *")).ok());
  const int64_t first = engine_.ScheduleNextMs("s");
  engine_.Tick(first + 2'000);
  RecordBatch b = Take();
  store.Apply(b);
  EXPECT_EQ(Ticks(b), (std::vector<int64_t>{first, first + 1'000, first + 2'000}));
  // Down for 5 s (within the grace): every tick comes, once.
  Engine restored(testing::TestConfig());
  ASSERT_TRUE(restored.Restore(store.Recover()).ok());
  restored.Tick(first + 7'000);
  RecordBatch after;
  restored.TakeRecords(&after);
  EXPECT_EQ(Ticks(after), (std::vector<int64_t>{first + 3'000, first + 4'000, first + 5'000,
                                                first + 6'000, first + 7'000}));
}

TEST_F(ScheduleTest, MissedTicksAreSkippedOrRunOnce) {
  for (CatchUp policy : {CatchUp::kSkip, CatchUp::kOnce}) {
    testing::FakeStore store;
    Engine before(testing::TestConfig());
    before.Tick(testing::kStartMs);
    ASSERT_TRUE(before.PutSchedule(Every("s", "0 * * * *", policy)).ok());  // hourly
    RecordBatch b;
    before.TakeRecords(&b);
    store.Apply(b);
    const int64_t first = before.ScheduleNextMs("s");
    // Down for three ticks and a half; back 30 min after the third.
    Engine after(testing::TestConfig());
    ASSERT_TRUE(after.Restore(store.Recover()).ok());
    after.Tick(first + 2 * 3'600'000 + 1'800'000);
    RecordBatch made;
    after.TakeRecords(&made);
    const ScheduleRecord* s = after.FindSchedule("s");
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->last_tick_ms, first + 2 * 3'600'000);
    if (policy == CatchUp::kSkip) {
      EXPECT_TRUE(made.inserts.empty());
      EXPECT_EQ(s->last_error, "skipped 3 ticks missed while the server was down");
    } else {
      ASSERT_EQ(made.inserts.size(), 1u);
      EXPECT_EQ(Ticks(made), std::vector<int64_t>{first + 2 * 3'600'000});
      EXPECT_EQ(made.inserts[0].spec.tags, std::vector<std::string>{"catch-up:3"});
    }
    EXPECT_EQ(after.ScheduleNextMs("s"), first + 3 * 3'600'000);
  }
}

TEST_F(ScheduleTest, BadSchedulesAreRefusedAndChangeNothing) {
  struct Row {
    std::string cron, tz, job, error;
  } rows[] = {
      {"61 * * * *", "UTC", R"({"type":"t"})", "cron: the minute field: 61 is out of 0-59"},
      {"* * * * *", "Nowhere", R"({"type":"t"})",
       "time_zone: \"Nowhere\" is not a time zone (an IANA name such as Europe/Paris, or UTC)"},
      {"* * * * *", "UTC", R"({"payload":{}})", "job.type: is required"},
      {"* * * * *", "UTC", R"({"type":"t","priority":5000})",
       "job.priority: must be between -1000 and 1000, got 5000"},
      {"* * * * *", "UTC", R"({"type":"t","run_after_ms":5})",
       "job.run_after_ms: not for a schedule's jobs, which start at their tick"},
  };
  for (const Row& r : rows) {
    ScheduleRecord s = Every("s", r.cron);
    s.time_zone = r.tz;
    s.job = r.job;
    Status st = engine_.PutSchedule(s);
    EXPECT_EQ(st.message(), r.error);
  }
  EXPECT_TRUE(engine_.Schedules().empty());
  EXPECT_TRUE(Take().empty());
  ASSERT_TRUE(engine_.PutSchedule(Every("s", "* * * * *")).ok());
  ScheduleRecord theirs = Every("s", "* * * * *");
  theirs.owner = "bob";
  EXPECT_EQ(engine_.PutSchedule(theirs).message(),
            "schedule s: another user's schedule has this name");
}

TEST_F(ScheduleTest, APausedScheduleMakesNothingAndDoesNotMakeUpItsTicks) {
  ScheduleRecord s = Every("s", "* * * * * *");
  ASSERT_TRUE(engine_.PutSchedule(s).ok());
  s.paused = true;
  ASSERT_TRUE(engine_.PutSchedule(s).ok());
  EXPECT_EQ(engine_.ScheduleNextMs("s"), INT64_MAX);
  Take();
  Advance(10'000);
  EXPECT_TRUE(Take().inserts.empty());
  s.paused = false;
  ASSERT_TRUE(engine_.PutSchedule(s).ok());
  EXPECT_EQ(engine_.ScheduleNextMs("s"), engine_.now_ms() + 1'000);
  ASSERT_TRUE(engine_.DeleteSchedule("s").ok());
  Advance(10'000);
  RecordBatch b = Take();
  EXPECT_TRUE(b.inserts.empty());
  ASSERT_FALSE(b.schedules.empty());
  EXPECT_TRUE(b.schedules.back().deleted);  // after the resume, in order
}

TEST_F(SchedulingTest, APauseIsRecordedAndRestored) {
  testing::FakeStore store;
  ASSERT_TRUE(engine_.PauseType("t", true).ok());
  RecordBatch b = Take();
  EXPECT_EQ(b.type_pauses, (std::vector<std::pair<std::string, bool>>{{"t", true}}));
  store.Apply(b);
  Engine restored(testing::TestConfig());
  ASSERT_TRUE(restored.Restore(store.Recover()).ok());
  EXPECT_TRUE(restored.scheduler().Paused("t"));
}

// Retention: the cleaner names finished jobs; the engine forgets those that are still finished
// and not kept for a parent, with their idempotency keys, and records their deletion.
TEST_F(SchedulingTest, ForgetDeletesFinishedJobsAndFreesTheirKeys) {
  JobSpec keyed = Spec();
  keyed.idempotency_key = "k";
  const JobId done = Submit(keyed);
  Finish(DispatchOne());
  Take();
  const std::vector<JobId> forgotten = engine_.Forget({IdempotencyKey{"alice", "k", done, 0}}, 0);
  EXPECT_EQ(forgotten, std::vector<JobId>{done});
  EXPECT_EQ(engine_.Find(done), nullptr);
  RecordBatch b = Take();
  EXPECT_EQ(b.job_deletes, std::vector<JobId>{done});
  EXPECT_EQ(b.events_before, 0u);
  // The key names a new job now.
  Result<SubmitResult> again = engine_.Submit(keyed);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->existed);
  EXPECT_NE(again->job_id, done);
}

TEST_F(SchedulingTest, ForgetKeepsWhatIsNotFinishedOrNotYetWrittenOrHeldForAParent) {
  for (JobState state : {JobState::kPending, JobState::kQueued, JobState::kRunning,
                         JobState::kSubmitted, JobState::kWaitingChildren, JobState::kRetryWait}) {
    const JobId id = MakeJobIn(state);
    EXPECT_TRUE(engine_.Forget({IdempotencyKey{"alice", "", id, 0}}, 0).empty())
        << JobStateName(state);
    EXPECT_EQ(State(id), state);
    EXPECT_TRUE(Take().job_deletes.empty());
    ASSERT_TRUE(engine_.Cancel(id, "").ok());  // out of the way of the next row
    Take();
  }
  // Finished, but its record is still waiting for its commit.
  const JobId unwritten = Submit();
  Finish(DispatchOne());
  EXPECT_TRUE(engine_.Forget({IdempotencyKey{"alice", "", unwritten, 0}}, 0).empty());
  EXPECT_EQ(State(unwritten), JobState::kSucceeded);
  // A finished child of a parent that still waits for its other children.
  const JobId parent = Submit();
  Assignment pa = DispatchOne();
  JobSpec child = Spec("child");
  child.parent_id = parent;
  const JobId first = Submit(child);
  Submit(child);
  Finish(pa);
  Finish(DispatchOne("w2", "child"));
  Take();
  ASSERT_EQ(State(first), JobState::kSucceeded);
  ASSERT_EQ(State(parent), JobState::kWaitingChildren);
  EXPECT_TRUE(engine_.Forget({IdempotencyKey{"alice", "", first, 0}}, 0).empty());
  EXPECT_EQ(State(first), JobState::kSucceeded);
  EXPECT_TRUE(Take().job_deletes.empty());
}

TEST_F(SchedulingTest, ForgetDeletesJobsNoLongerInMemoryAndOldEvents) {
  // A job evicted from memory is deleted in the store alone.
  const std::vector<JobId> forgotten = engine_.Forget({IdempotencyKey{"bob", "", 4242, 0}}, 17);
  EXPECT_EQ(forgotten, std::vector<JobId>{4242});
  RecordBatch b = Take();
  EXPECT_EQ(b.job_deletes, std::vector<JobId>{4242});
  EXPECT_EQ(b.events_before, 17u);
  EXPECT_EQ(Take().events_before, 0u);  // once
}

// Private pools: a user's own worker is offered only the user's jobs (and those of the account's
// end users, "alice/2"), never another's, whatever their priority; a shared worker serves all.
TEST_F(SchedulingTest, APrivateWorkerIsOfferedOnlyItsAccountsJobs) {
  WorkerInfo own{"alice:own", ++connection_, {"t", "u"}, {}, {}, "alice"};
  ASSERT_TRUE(engine_.ConnectWorker(own).ok());
  Connect("pool:shared", {"t", "u"});
  const JobId bob_high = SubmitAs("bob", "t", 100);
  const JobId alice = SubmitAs("alice", "t");
  const JobId end_user = SubmitAs("alice/2", "u");
  const JobId alicia = SubmitAs("alicia", "t", 50);  // a name that only starts like the account
  const auto mine = Dispatch("alice:own", {"t", "u"}, 10);
  std::set<JobId> got;
  for (const Assignment& a : mine) got.insert(a.job_id);
  EXPECT_EQ(got, (std::set<JobId>{alice, end_user}));
  EXPECT_TRUE(Dispatch("alice:own", {"t", "u"}, 10).empty()) << "nothing else is its to take";
  const auto shared = Dispatch("pool:shared", {"t", "u"}, 10);
  std::set<JobId> rest;
  for (const Assignment& a : shared) rest.insert(a.job_id);
  EXPECT_EQ(rest, (std::set<JobId>{bob_high, alicia}));
}

TEST_F(SchedulingTest, APrivateWorkerWithNoJobsOfItsAccountGetsNothing) {
  ASSERT_TRUE(
      engine_.ConnectWorker(WorkerInfo{"carol:own", ++connection_, {"t"}, {}, {}, "carol"}).ok());
  SubmitAs("bob");
  EXPECT_TRUE(Dispatch("carol:own", {"t"}, 10).empty());
  EXPECT_EQ(Dispatch("any", {"t"}, 10).size(), 1u);
}

// A private connection that takes over an id that once served a shared pool cannot keep, or act
// on, other users' attempts held under that id: they are released as lost at its hello.
TEST_F(SchedulingTest, APrivateConnectionCannotHoldAnotherAccountsAttempt) {
  Connect("alice:w", {"t"});
  SubmitAs("bob");
  SubmitAs("alice");
  const auto a = Dispatch("alice:w", {"t"}, 2);
  ASSERT_EQ(a.size(), 2u);
  const Assignment& bobs = Job(a[0].job_id).spec.owner == "bob" ? a[0] : a[1];
  const Assignment& alices = &bobs == &a[0] ? a[1] : a[0];
  ASSERT_TRUE(
      engine_.ConnectWorker(WorkerInfo{"alice:w", ++connection_, {"t"}, {}, {}, "alice"}).ok());
  EXPECT_EQ(engine_.Heartbeat(RefFrom(bobs, "alice:w")).code(), StatusCode::kPermissionDenied);
  const Engine::Release r = engine_.ReleaseWorker("alice:w", {bobs.attempt_id, alices.attempt_id});
  ASSERT_EQ(r.held.size(), 1u);
  EXPECT_EQ(r.held[0].first, alices.attempt_id);
  EXPECT_EQ(r.lost, 1u);
  EXPECT_EQ(State(bobs.job_id), JobState::kRetryWait);
  EXPECT_TRUE(engine_.Heartbeat(RefFrom(alices, "alice:w")).ok());
}

// A worker's hello that names another worker's attempt holds nothing of it: the attempt keeps
// running on its own worker, which alone may complete it.
TEST_F(SchedulingTest, AHelloCannotClaimAnotherWorkersAttempt) {
  SubmitAs("alice");
  const Assignment a = DispatchOne("w1");
  const Engine::Release r = engine_.ReleaseWorker("w2", {a.attempt_id});
  EXPECT_TRUE(r.held.empty());
  EXPECT_EQ(r.lost, 0u);
  EXPECT_EQ(State(a.job_id), JobState::kRunning);
  EXPECT_EQ(engine_.Complete(RefFrom(a, "w2"), Ok()).code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(engine_.Complete(RefFrom(a, "w1"), Ok()).ok());
}

TEST(InAccountTest, AnAccountHoldsItselfAndItsEndUsers) {
  EXPECT_TRUE(InAccount("webapp", "webapp"));
  EXPECT_TRUE(InAccount("webapp/2", "webapp"));
  EXPECT_FALSE(InAccount("webapps", "webapp"));
  EXPECT_FALSE(InAccount("web", "webapp"));
  EXPECT_FALSE(InAccount("webapp", "webapp/2"));
  EXPECT_FALSE(InAccount("other/webapp", "webapp"));
}

}  // namespace
}  // namespace baton::engine
