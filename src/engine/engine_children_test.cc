// Sub-jobs, children policies, aggregators, verifiers and splitters: the engine's side, under a
// simulated clock. (engine_test.cc holds the basics of parents and children.)
#include <boost/json.hpp>

#include "engine/engine_test_util.h"

namespace baton::engine::testing {
namespace {

using ::testing::HasSubstr;

class ChildrenTest : public EngineTest {
 protected:
  ChildrenTest() {
    TypeDefaults parent;
    parent.aggregator = "agg";
    TypeDefaults checked;
    checked.verifier = "check";
    TypeDefaults split;
    split.splitter = "splitter";
    split.aggregator = "agg";
    TypeDefaults once;
    once.attempts_max = 1;
    engine_.SetTypes({{"fan", parent}, {"checked", checked}, {"big", split}, {"agg", once}});
  }

  // A running parent of type `type` with `n` children spawned by its attempt; the parent's
  // assignment is returned through `parent`.
  std::vector<JobId> SpawnChildren(Assignment* parent, const std::string& type, size_t n,
                                   std::optional<ChildrenPolicy> policy = std::nullopt) {
    JobSpec spec = Spec(type);
    spec.children_policy = policy;
    Submit(spec);
    *parent = DispatchOne("w", type);
    std::vector<JobSpec> children(n, Spec("c", "ignored"));
    for (size_t i = 0; i < n; ++i) {
      children[i].payload = R"({"i":)" + std::to_string(i) + "}";
      children[i].attempts_max = 1;
    }
    Result<std::vector<SubmitResult>> r = engine_.Spawn(Ref(*parent), children);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<JobId> ids;
    if (r.ok()) {
      for (const SubmitResult& s : *r) ids.push_back(s.job_id);
    }
    return ids;
  }

  // Runs each queued child of type "c" to the given outcome ('S' succeeds with {"i": n}, 'F'
  // fails for good), in order, and returns the parent's state after each.
  std::vector<JobState> RunChildren(JobId parent, const std::string& outcomes) {
    std::vector<JobState> after;
    for (char o : outcomes) {
      Assignment a = DispatchOne("wc", "c");
      if (a.job_id == 0) break;
      EXPECT_TRUE(engine_.Complete(Ref(a), o == 'S' ? Ok(a.payload) : Error("bad")).ok());
      after.push_back(State(parent));
    }
    return after;
  }

  static boost::json::object Parse(const std::string& text) {
    return boost::json::parse(text).as_object();
  }
};

TEST_F(ChildrenTest, DeclaredTypesFillWhatASubmitLeavesOpen) {
  TypeDefaults d;
  d.timeout_ms = 7'000;
  d.attempts_max = 9;
  d.retry = RetryPolicy{5, 3.0, 50, 0.0, OutcomeBit(Outcome::kError)};
  d.aggregator = "agg";
  d.children_policy = ChildrenPolicy{ChildrenPolicy::kQuorum, 2};
  engine_.SetTypes({{"declared", d}});
  const JobRecord& filled = Job(Submit(Spec("declared")));
  EXPECT_EQ(filled.spec.timeout_ms, 7'000);
  EXPECT_EQ(filled.spec.attempts_max, 9u);
  EXPECT_EQ(filled.spec.retry, d.retry);
  EXPECT_EQ(filled.spec.aggregator, "agg");
  EXPECT_EQ(filled.spec.children_policy, d.children_policy);
  JobSpec own = Spec("declared");
  own.timeout_ms = 1'000;
  own.retry = RetryPolicy{};
  own.children_policy = ChildrenPolicy{};
  const JobRecord& kept = Job(Submit(own));
  EXPECT_EQ(kept.spec.timeout_ms, 1'000);
  EXPECT_EQ(kept.spec.retry, RetryPolicy{});
  EXPECT_EQ(kept.spec.children_policy, ChildrenPolicy{});
  // Other types take the engine's defaults.
  EXPECT_EQ(Job(Submit(Spec("plain"))).spec.timeout_ms, TestConfig().timeout_ms_default);
}

TEST_F(ChildrenTest, SpawnedChildrenBelongToTheParentAndItsOwner) {
  Assignment pa;
  std::vector<JobId> kids = SpawnChildren(&pa, "t", 2);
  ASSERT_EQ(kids.size(), 2u);
  for (JobId k : kids) {
    EXPECT_EQ(Job(k).spec.owner, "alice");
    EXPECT_EQ(Job(k).spec.parent_id, pa.job_id);
    EXPECT_EQ(Job(k).spec.parent_attempt, pa.attempt_id);
  }
  EXPECT_EQ(Job(pa.job_id).status.children_total, 2u);
  // Fenced: an attempt that is not the running one cannot spawn.
  AttemptRef stale{pa.job_id, pa.attempt_id + 100};
  EXPECT_EQ(engine_.Spawn(stale, {Spec("c")}).status().code(), StatusCode::kStaleAttempt);
  // All or nothing.
  JobSpec bad = Spec("c");
  bad.priority = 99999;
  Result<std::vector<SubmitResult>> r = engine_.Spawn(Ref(pa), {Spec("c"), bad});
  EXPECT_EQ(r.status().message(), "[1].priority: must be between -1000 and 1000, got 99999");
  EXPECT_EQ(Job(pa.job_id).status.children_total, 2u);
  ASSERT_TRUE(engine_.Complete(Ref(pa), Ok()).ok());
  EXPECT_EQ(engine_.Spawn(Ref(pa), {Spec("c")}).status().code(), StatusCode::kStaleAttempt);
}

// The children policies, row by row: the parent's state after each child ends, children run in
// order ('S' succeeded, 'F' failed for good). "cancelled" counts the children the parent's early
// end cancelled.
TEST_F(ChildrenTest, PoliciesDecideTheParentAsChildrenEnd) {
  using P = ChildrenPolicy;
  const JobState W = JobState::kWaitingChildren, S = JobState::kSucceeded, F = JobState::kFailed;
  struct Row {
    std::optional<P> policy;
    size_t children;
    std::string outcomes;
    std::vector<JobState> after;
    std::string error;  // the parent's, at the end
    size_t cancelled;
  };
  const Row rows[] = {
      {std::nullopt, 2, "SS", {W, S}, "", 0},
      {P{P::kAll, 0}, 3, "SF", {W, F}, "1 of 3 sub-jobs did not succeed", 1},
      {P{P::kFailuresMax, 1}, 3, "FSS", {W, W, S}, "", 0},
      {P{P::kFailuresMax, 1},
       4,
       "FSF",
       {W, W, F},
       "2 of 4 sub-jobs did not succeed; at most 1 may fail",
       1},
      {P{P::kQuorum, 2}, 3, "SFS", {W, W, S}, "", 0},
      {P{P::kQuorum, 2}, 4, "FSF", {W, W, W}, "", 0},
      {P{P::kQuorum, 2},
       3,
       "FF",
       {W, F},
       "at most 1 of 3 sub-jobs can succeed; the quorum is 2",
       1},
      {P{P::kQuorum, 3},
       4,
       "FF",
       {W, F},
       "at most 2 of 4 sub-jobs can succeed; the quorum is 3",
       2},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.outcomes + " under " +
                 (row.policy ? ChildrenPolicyText(*row.policy) : "the default"));
    Assignment pa;
    std::vector<JobId> kids = SpawnChildren(&pa, "t", row.children, row.policy);
    ASSERT_TRUE(engine_.Complete(Ref(pa), Ok()).ok());
    EXPECT_EQ(State(pa.job_id), JobState::kWaitingChildren);
    EXPECT_EQ(RunChildren(pa.job_id, row.outcomes), row.after);
    EXPECT_EQ(Job(pa.job_id).status.error, row.error);
    size_t cancelled = 0;
    for (JobId k : kids) cancelled += State(k) == JobState::kCancelled;
    EXPECT_EQ(cancelled, row.cancelled);
    if (!IsTerminal(State(pa.job_id))) {
      ASSERT_TRUE(engine_.Cancel(pa.job_id, "").ok());
    }
    Take();
    Notices();
  }
}

TEST_F(ChildrenTest, AQuorumLargerThanTheChildrenFailsWhenTheParentsAttemptEnds) {
  Assignment pa;
  SpawnChildren(&pa, "t", 2, ChildrenPolicy{ChildrenPolicy::kQuorum, 3});
  ASSERT_TRUE(engine_.Complete(Ref(pa), Ok()).ok());
  EXPECT_EQ(State(pa.job_id), JobState::kFailed);
  EXPECT_EQ(Job(pa.job_id).status.error, "at most 2 of 2 sub-jobs can succeed; the quorum is 3");
}

TEST_F(ChildrenTest, TheAggregatorGetsEveryChildAndItsResultBecomesTheParents) {
  Assignment pa;
  std::vector<JobId> kids =
      SpawnChildren(&pa, "fan", 3, ChildrenPolicy{ChildrenPolicy::kFailuresMax, 1});
  ASSERT_TRUE(engine_.Complete(Ref(pa), Ok(R"({"own":1})")).ok());
  RunChildren(pa.job_id, "SFS");
  EXPECT_EQ(State(pa.job_id), JobState::kWaitingChildren);
  const JobId agg = Job(pa.job_id).status.helper_id;
  ASSERT_NE(agg, 0u);
  EXPECT_EQ(Job(agg).spec.role, JobRole::kAggregator);
  EXPECT_EQ(Job(agg).spec.subject_id, pa.job_id);
  EXPECT_EQ(Job(agg).spec.type, "agg");
  EXPECT_EQ(Job(agg).spec.attempts_max, 1u);  // the aggregator type's defaults apply
  Assignment aa = DispatchOne("wa", "agg");
  ASSERT_EQ(aa.job_id, agg);
  boost::json::object in = Parse(aa.payload);
  EXPECT_EQ(in.at("parent").at("id").to_number<uint64_t>(), pa.job_id);
  EXPECT_EQ(in.at("parent").at("result"), Parse(R"({"own":1})"));
  const boost::json::array& children = in.at("children").as_array();
  ASSERT_EQ(children.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(children[i].at("id").to_number<uint64_t>(), kids[i]);
    EXPECT_EQ(children[i].at("type").as_string(), "c");
  }
  EXPECT_EQ(children[0].at("state").as_string(), "succeeded");
  EXPECT_EQ(children[0].at("result"), Parse(R"({"i":0})"));
  EXPECT_EQ(children[1].at("state").as_string(), "failed");
  EXPECT_TRUE(children[1].at("result").is_null());
  EXPECT_EQ(children[1].at("error").as_string(), "bad (attempts used up: 1 of 1)");
  EXPECT_EQ(children[2].at("result"), Parse(R"({"i":2})"));

  ASSERT_TRUE(engine_.Complete(Ref(aa), Ok(R"({"sum":2})")).ok());
  EXPECT_EQ(State(pa.job_id), JobState::kSucceeded);
  EXPECT_EQ(Job(pa.job_id).status.result, R"({"sum":2})");
  EXPECT_EQ(Job(pa.job_id).status.helper_id, 0u);
}

TEST_F(ChildrenTest, AFailedAggregatorFailsTheParent) {
  Assignment pa;
  SpawnChildren(&pa, "fan", 1);
  ASSERT_TRUE(engine_.Complete(Ref(pa), Ok()).ok());
  RunChildren(pa.job_id, "S");
  const JobId agg = Job(pa.job_id).status.helper_id;
  ASSERT_TRUE(engine_.Complete(Ref(DispatchOne("wa", "agg")), Error("no sum")).ok());
  EXPECT_EQ(State(agg), JobState::kFailed);
  EXPECT_EQ(State(pa.job_id), JobState::kFailed);
  EXPECT_EQ(Job(pa.job_id).status.error,
            "aggregator job " + std::to_string(agg) + " failed: no sum (attempts used up: 1 of 1)");
}

TEST_F(ChildrenTest, AParentWithoutChildrenKeepsItsOwnResultAndSkipsItsAggregator) {
  Submit(Spec("fan"));
  Assignment pa = DispatchOne("w", "fan");
  ASSERT_TRUE(engine_.Complete(Ref(pa), Ok(R"({"own":1})")).ok());
  EXPECT_EQ(State(pa.job_id), JobState::kSucceeded);
  EXPECT_EQ(Job(pa.job_id).status.result, R"({"own":1})");
}

TEST_F(ChildrenTest, CancellingAParentCancelsItsAggregatorAndTellsItsWorker) {
  Assignment pa;
  SpawnChildren(&pa, "fan", 1);
  ASSERT_TRUE(engine_.Complete(Ref(pa), Ok()).ok());
  RunChildren(pa.job_id, "S");
  const JobId agg = Job(pa.job_id).status.helper_id;
  Assignment aa = DispatchOne("wa", "agg");
  Notices();
  ASSERT_TRUE(engine_.Cancel(pa.job_id, "enough").ok());
  EXPECT_EQ(State(agg), JobState::kCancelled);
  std::vector<Notice> n = Notices();
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0].attempt_id, aa.attempt_id);
  EXPECT_EQ(engine_.Retry(agg).code(), StatusCode::kFailedPrecondition);
}

TEST_F(ChildrenTest, NestedChildrenResolveFromTheBottomUp) {
  Submit(Spec("fan"));
  Assignment top = DispatchOne("w", "fan");
  JobSpec mid = Spec("fan");
  JobId m = engine_.Spawn(Ref(top), {mid}).value()[0].job_id;
  ASSERT_TRUE(engine_.Complete(Ref(top), Ok()).ok());
  Assignment ma = DispatchOne("w", "fan");
  ASSERT_EQ(ma.job_id, m);
  JobId leaf = engine_.Spawn(Ref(ma), {Spec("c")}).value()[0].job_id;
  ASSERT_TRUE(engine_.Complete(Ref(ma), Ok()).ok());
  ASSERT_TRUE(engine_.Complete(Ref(DispatchOne("wc", "c")), Ok(R"(7)")).ok());
  EXPECT_EQ(State(leaf), JobState::kSucceeded);
  // The middle job's aggregator, then the top's.
  Assignment a1 = DispatchOne("wa", "agg");
  EXPECT_EQ(Job(a1.job_id).spec.subject_id, m);
  ASSERT_TRUE(engine_.Complete(Ref(a1), Ok("70")).ok());
  EXPECT_EQ(State(m), JobState::kSucceeded);
  EXPECT_EQ(State(top.job_id), JobState::kWaitingChildren);
  Assignment a2 = DispatchOne("wa", "agg");
  EXPECT_EQ(Parse(a2.payload).at("children").at(0).at("result").as_int64(), 70);
  ASSERT_TRUE(engine_.Complete(Ref(a2), Ok("700")).ok());
  EXPECT_EQ(State(top.job_id), JobState::kSucceeded);
  EXPECT_EQ(Job(top.job_id).status.result, "700");
}

TEST_F(ChildrenTest, AFailedParentAttemptCancelsItsChildrenAndTheNextAttemptStartsAfresh) {
  Assignment pa;
  std::vector<JobId> old = SpawnChildren(&pa, "t", 2);
  RunChildren(pa.job_id, "S");
  ASSERT_TRUE(engine_.Complete(Ref(pa), Error("crashed")).ok());
  EXPECT_EQ(State(pa.job_id), JobState::kRetryWait);
  EXPECT_EQ(State(old[0]), JobState::kSucceeded);
  EXPECT_EQ(State(old[1]), JobState::kCancelled);
  EXPECT_EQ(Job(pa.job_id).status.children_total, 0u);
  EXPECT_EQ(Job(pa.job_id).status.children_done, 0u);
  EXPECT_EQ(engine_.Retry(old[1]).code(), StatusCode::kFailedPrecondition);
  Advance(1'000);
  Assignment second = DispatchOne("w", "t");
  JobId fresh = engine_.Spawn(Ref(second), {Spec("c")}).value()[0].job_id;
  ASSERT_TRUE(engine_.Complete(Ref(second), Ok()).ok());
  EXPECT_EQ(Job(pa.job_id).status.children_total, 1u);
  ASSERT_TRUE(engine_.Complete(Ref(DispatchOne("wc", "c")), Ok()).ok());
  EXPECT_EQ(State(fresh), JobState::kSucceeded);
  EXPECT_EQ(State(pa.job_id), JobState::kSucceeded);
}

// Found by the simulation (BATON_SEED=1883602767): a declined attempt left its sub-jobs counted,
// so the next attempt's parent waited for them and a restart refused the store as data loss.
TEST_F(ChildrenTest, ADeclinedParentAttemptCancelsItsChildrenAndTheNextAttemptStartsAfresh) {
  Assignment pa;
  std::vector<JobId> old = SpawnChildren(&pa, "t", 2);
  RunChildren(pa.job_id, "S");
  ASSERT_TRUE(engine_.Complete(Ref(pa), Decline()).ok());
  EXPECT_EQ(State(pa.job_id), JobState::kQueued);
  EXPECT_EQ(State(old[0]), JobState::kSucceeded);
  EXPECT_EQ(State(old[1]), JobState::kCancelled);
  EXPECT_THAT(Job(old[1]).status.error, HasSubstr("its parent's attempt was declined by w"));
  EXPECT_EQ(Job(pa.job_id).status.children_total, 0u);
  EXPECT_EQ(Job(pa.job_id).status.children_done, 0u);
  Assignment second = DispatchOne("w2", "t");
  ASSERT_EQ(second.job_id, pa.job_id);
  ASSERT_TRUE(engine_.Complete(Ref(second), Ok()).ok());
  EXPECT_EQ(State(pa.job_id), JobState::kSucceeded);
}

TEST_F(ChildrenTest, ASplitterRunsInTheJobsPlaceAndItsChildrenAreAggregated) {
  JobId id = Submit(Spec("big"));
  EXPECT_TRUE(Dispatch("w", {"big"}, 1).empty());  // only the splitter's workers run it
  Assignment sa = DispatchOne("ws", "splitter");
  EXPECT_EQ(sa.job_id, id);
  EXPECT_EQ(sa.type, "splitter");
  ASSERT_TRUE(engine_.Spawn(Ref(sa), {Spec("c"), Spec("c")}).ok());
  ASSERT_TRUE(engine_.Complete(Ref(sa), Ok()).ok());
  RunChildren(id, "SS");
  Assignment aa = DispatchOne("wa", "agg");
  EXPECT_EQ(Parse(aa.payload).at("children").as_array().size(), 2u);
  ASSERT_TRUE(engine_.Complete(Ref(aa), Ok(R"("joined")")).ok());
  EXPECT_EQ(State(id), JobState::kSucceeded);
  EXPECT_EQ(Job(id).status.result, R"("joined")");
}

TEST_F(ChildrenTest, AVerifierRejectsTheFirstResultAndAcceptsTheSecond) {
  JobId id = Submit(Spec("checked"));
  Assignment first = DispatchOne("w", "checked");
  ASSERT_TRUE(engine_.Complete(Ref(first), Ok(R"({"v":1})")).ok());
  EXPECT_EQ(State(id), JobState::kSubmitted);
  const JobId v1 = Job(id).status.helper_id;
  ASSERT_NE(v1, 0u);
  Assignment va = DispatchOne("wv", "check");
  boost::json::object in = Parse(va.payload);
  EXPECT_EQ(in.at("job").at("id").to_number<uint64_t>(), id);
  EXPECT_EQ(in.at("job").at("attempt").to_number<uint64_t>(), first.attempt_id);
  EXPECT_EQ(in.at("result"), Parse(R"({"v":1})"));
  ASSERT_TRUE(engine_.Complete(Ref(va), Ok(R"({"accept":false,"reason":"v too small"})")).ok());
  EXPECT_EQ(State(id), JobState::kRetryWait);
  EXPECT_EQ(Job(id).status.last_outcome, Outcome::kRejected);
  EXPECT_EQ(Job(id).status.error,
            "rejected by verifier job " + std::to_string(v1) + ": v too small");

  Advance(1'000);
  Assignment second = DispatchOne("w", "checked");
  ASSERT_TRUE(engine_.Complete(Ref(second), Ok(R"({"v":2})")).ok());
  const JobId v2 = Job(id).status.helper_id;
  EXPECT_NE(v2, v1);
  ASSERT_TRUE(engine_.Complete(Ref(DispatchOne("wv", "check")), Ok("true")).ok());
  EXPECT_EQ(State(id), JobState::kSucceeded);
  EXPECT_EQ(Job(id).status.result, R"({"v":2})");
}

TEST_F(ChildrenTest, AVerifierWithoutAVerdictRejectsAndAnApiVerdictCancelsTheVerifier) {
  JobId id = Submit(Spec("checked"));
  ASSERT_TRUE(engine_.Complete(Ref(DispatchOne("w", "checked")), Ok()).ok());
  ASSERT_TRUE(engine_.Complete(Ref(DispatchOne("wv", "check")), Ok(R"({"ok":1})")).ok());
  EXPECT_EQ(State(id), JobState::kRetryWait);
  EXPECT_THAT(Job(id).status.error, HasSubstr("gave no verdict"));

  Advance(1'000);
  ASSERT_TRUE(engine_.Complete(Ref(DispatchOne("w", "checked")), Ok()).ok());
  const JobId v = Job(id).status.helper_id;
  ASSERT_TRUE(engine_.Accept(id).ok());  // the owner decides first
  EXPECT_EQ(State(id), JobState::kSucceeded);
  EXPECT_EQ(State(v), JobState::kCancelled);
}

TEST_F(ChildrenTest, FinishedChildrenSurviveARestoreAndReachTheAggregator) {
  FakeStore store;
  Assignment pa;
  std::vector<JobId> kids = SpawnChildren(&pa, "fan", 3);
  ASSERT_TRUE(engine_.Complete(Ref(pa), Ok()).ok());
  RunChildren(pa.job_id, "SS");
  RecordBatch b = Take();
  store.Apply(b);

  EngineConfig c = TestConfig();
  c.finished_jobs_max = 0;  // nothing is kept for its own sake
  Engine fresh(c);
  TypeDefaults fan;
  fan.aggregator = "agg";
  fresh.SetTypes({{"fan", fan}});
  ASSERT_TRUE(fresh.Restore(store.Recover()).ok());
  fresh.Tick(engine_.now_ms());
  std::vector<Assignment> last = fresh.Dispatch(DispatchRequest{"wc", {"c"}, 1});
  ASSERT_EQ(last.size(), 1u);
  ASSERT_TRUE(fresh.Complete(RefFrom(last[0], "wc"), Ok(R"({"i":2})")).ok());
  RecordBatch after;
  fresh.TakeRecords(&after);  // evicts what it may: the children are kept for the aggregator
  std::vector<Assignment> agg = fresh.Dispatch(DispatchRequest{"wa", {"agg"}, 1});
  ASSERT_EQ(agg.size(), 1u);
  const boost::json::object in = Parse(agg[0].payload);
  const boost::json::array& children = in.at("children").as_array();
  ASSERT_EQ(children.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(children[i].at("id").to_number<uint64_t>(), kids[i]);
    EXPECT_EQ(children[i].at("result").at("i").as_int64(), static_cast<int64_t>(i));
  }
}

TEST_F(ChildrenTest, ARestoreRefusesAParentWhoseChildrenAreMissing) {
  FakeStore store;
  Assignment pa;
  std::vector<JobId> kids = SpawnChildren(&pa, "t", 2);
  RecordBatch b = Take();
  store.Apply(b);
  store.jobs.erase(kids[1]);
  Engine fresh(TestConfig());
  Status s = fresh.Restore(store.Recover());
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("counts 2 sub-jobs, but 1 were recovered"));
}

}  // namespace
}  // namespace baton::engine::testing
