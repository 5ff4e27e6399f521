// Scheduling policies, as tables of commands and the decisions they give: priorities, fair
// shares, quotas, concurrency keys, rate limits, resources and labels, pause and drain, and how
// they combine.
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
  engine_.PauseType("t", true);
  EXPECT_TRUE(Dispatch("w", {"t"}, 10).empty());
  EXPECT_EQ(engine_.WhyWaiting(first), "type t is paused");
  engine_.PauseType("t", false);
  auto a = Dispatch("w", {"t"}, 1);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].job_id, first);
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

}  // namespace
}  // namespace baton::engine
