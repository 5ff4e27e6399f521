// The rules of sub-jobs and helpers on their own (children.h), a table each. The engine's
// children tests (engine_children_test.cc) run them through real jobs.
#include "engine/children.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace baton::engine::children {
namespace {

using ::testing::HasSubstr;

TEST(ChildrenRulesTest, JudgeFollowsThePolicy) {
  const ChildrenPolicy all{ChildrenPolicy::kAll, 0};
  const ChildrenPolicy failures1{ChildrenPolicy::kFailuresMax, 1};
  const ChildrenPolicy quorum2{ChildrenPolicy::kQuorum, 2};
  struct Row {
    const char* what;
    ChildrenPolicy policy;
    Counts counts;  // total, done, failed
    bool aggregator;
    Verdict verdict;
    std::string why;
  };
  const std::vector<Row> rows = {
      {"all: one still runs", all, {3, 2, 0}, false, Verdict::kWait, ""},
      {"all: every one succeeded", all, {3, 3, 0}, false, Verdict::kSucceed, ""},
      {"all: one failure fails at once",
       all,
       {3, 1, 1},
       false,
       Verdict::kFail,
       "1 of 3 sub-jobs did not succeed"},
      {"all: with an aggregator", all, {3, 3, 0}, true, Verdict::kAggregate, ""},
      {"no sub-jobs: nothing to aggregate", all, {0, 0, 0}, true, Verdict::kSucceed, ""},
      {"failures_max: one failure is allowed", failures1, {3, 3, 1}, false, Verdict::kSucceed, ""},
      {"failures_max: the second one fails",
       failures1,
       {3, 2, 2},
       false,
       Verdict::kFail,
       "2 of 3 sub-jobs did not succeed; at most 1 may fail"},
      {"quorum: reachable, waiting", quorum2, {3, 1, 1}, false, Verdict::kWait, ""},
      {"quorum: met, the rest failed", quorum2, {3, 3, 1}, true, Verdict::kAggregate, ""},
      {"quorum: out of reach before all end",
       quorum2,
       {3, 2, 2},
       false,
       Verdict::kFail,
       "at most 1 of 3 sub-jobs can succeed; the quorum is 2"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.what);
    std::string why;
    EXPECT_EQ(Judge(row.policy, row.counts, row.aggregator, &why), row.verdict);
    EXPECT_EQ(why, row.why);
  }
}

JobRecord Job(JobId id, const std::string& type, JobState state, std::string result = "",
              std::string error = "") {
  JobRecord r;
  r.id = id;
  r.spec.type = type;
  r.spec.payload = R"({"n":1})";
  r.status.state = state;
  r.status.result = result;
  r.status.error = std::move(error);
  return r;
}

TEST(ChildrenRulesTest, TheAggregatorGetsTheParentAndEverySubJob) {
  const JobRecord parent = Job(1, "split", JobState::kWaitingChildren, R"({"parts":2})");
  const JobRecord a = Job(2, "part", JobState::kSucceeded, R"({"sum":3})");
  const JobRecord b = Job(3, "part", JobState::kFailed, "", "broke \"here\"");
  Result<std::string> in = AggregatorInput(parent, {&a, &b}, 1 << 20);
  ASSERT_TRUE(in.ok()) << in.status().ToString();
  EXPECT_EQ(boost::json::parse(*in), boost::json::parse(R"({
      "parent": {"id": 1, "type": "split", "payload": {"n": 1}, "result": {"parts": 2}},
      "children": [
        {"id": 2, "type": "part", "state": "succeeded", "result": {"sum": 3}},
        {"id": 3, "type": "part", "state": "failed", "result": null, "error": "broke \"here\""}
      ]})"));
  // A parent without a result of its own reads null.
  const JobRecord bare = Job(1, "split", JobState::kWaitingChildren);
  Result<std::string> none = AggregatorInput(bare, {}, 1 << 20);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(boost::json::parse(*none).at("parent").at("result"), nullptr);
}

TEST(ChildrenRulesTest, TheAggregatorsInputIsBounded) {
  const JobRecord parent = Job(1, "split", JobState::kWaitingChildren);
  const JobRecord big = Job(2, "part", JobState::kSucceeded, "\"" + std::string(1000, 'x') + "\"");
  Result<std::string> in = AggregatorInput(parent, {&big, &big, &big}, 1500);
  ASSERT_FALSE(in.ok());
  EXPECT_EQ(in.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(in.status().message(), HasSubstr("larger than 1500 bytes"));
  EXPECT_TRUE(AggregatorInput(parent, {&big}, 1500).ok());
}

TEST(ChildrenRulesTest, TheVerifierGetsTheJobAndItsResult) {
  JobRecord job = Job(7, "render", JobState::kRunning, R"({"frames":24})");
  job.status.attempt_id = 12;
  job.status.attempts_started = 2;
  EXPECT_EQ(boost::json::parse(VerifierInput(job)), boost::json::parse(R"({
      "job": {"id": 7, "type": "render", "payload": {"n": 1}, "attempt": 12, "number": 2},
      "result": {"frames": 24}})"));
}

TEST(ChildrenRulesTest, AVerdictIsABooleanOrAnObjectWithOne) {
  struct Row {
    std::string result;
    std::optional<bool> accept;  // none: no verdict
    std::string reason;
  };
  const std::vector<Row> rows = {
      {"true", true, ""},
      {"false", false, ""},
      {R"({"accept":false,"reason":"blurry"})", false, "blurry"},
      {R"({"accept":true})", true, ""},
      {R"({"accept":true,"reason":7})", true, ""},  // a reason that is not text is left out
      {R"({"accept":"yes"})", std::nullopt, ""},
      {R"({"reason":"no accept"})", std::nullopt, ""},
      {"1", std::nullopt, ""},
      {"[true]", std::nullopt, ""},
      {"not json", std::nullopt, ""},
      {"", std::nullopt, ""},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.result);
    const std::optional<VerifierVerdict> v = ParseVerdict(row.result);
    ASSERT_EQ(v.has_value(), row.accept.has_value());
    if (!v) continue;
    EXPECT_EQ(v->accept, *row.accept);
    EXPECT_EQ(v->reason, row.reason);
  }
}

}  // namespace
}  // namespace baton::engine::children
