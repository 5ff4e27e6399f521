// The WorkflowRunner on its own: a stand-in job side (StepJobs) that records the jobs the runner
// makes and cancels, and the sink it writes to. The engine's own workflow tests
// (engine_workflow_test.cc) run the same rules through real jobs.
#include "engine/workflow_runner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace baton::engine {
namespace {

using ::testing::HasSubstr;

class WorkflowRunnerTest : public ::testing::Test {
 protected:
  WorkflowRunnerTest() { sink_.now_ms = 1000; }

  WorkflowId Submit(const std::string& doc) {
    Result<WorkflowId> r = runner_.Submit("alice", doc);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : 0;
  }
  const WorkflowRecord& Wf(WorkflowId id) { return *runner_.Find(id); }
  int32_t Index(WorkflowId id, const std::string& step) {
    Result<WorkflowPlan> plan = PlanOf(Wf(id));
    EXPECT_TRUE(plan.ok());
    return plan.ok() ? plan->Find(step) : -1;
  }
  const StepStatus& Step(WorkflowId id, const std::string& step) {
    const int32_t i = Index(id, step);
    EXPECT_GE(i, 0) << step;
    return Wf(id).status.steps.at(static_cast<size_t>(i));
  }
  // "a:succeeded b:skipped ...", in plan order.
  std::string States(WorkflowId id) {
    Result<WorkflowPlan> plan = PlanOf(Wf(id));
    std::string out;
    for (size_t i = 0; i < plan->steps.size(); ++i) {
      out += (out.empty() ? "" : " ") + plan->steps[i].name + ":" +
             std::string(StepStateName(Wf(id).status.steps[i].state));
    }
    return out;
  }
  // Ends the running job of `step` as the job side would, with `state` and `result` (or error).
  void End(WorkflowId id, const std::string& step, JobState state, std::string text = "{}") {
    const JobId job = Step(id, step).job_id;
    ASSERT_NE(job, 0u) << step << " has no job";
    JobRecord& rec = made_.at(job);
    rec.status.state = state;
    if (state == JobState::kSucceeded) {
      rec.status.result = text;
    } else {
      rec.status.error = text;
    }
    runner_.JobFinished(rec);
  }
  // The job types the runner made so far, in order.
  std::vector<std::string> MadeTypes() const {
    std::vector<std::string> out;
    for (const auto& [id, rec] : made_) out.push_back(rec.spec.type);
    return out;
  }

  Sink sink_;
  std::map<JobId, JobRecord> made_;  // by id, so in the order made
  std::vector<std::pair<JobId, std::string>> cancelled_;
  WorkflowRunner runner_{{64, 2},
                         &sink_,
                         {[](JobSpec& spec) -> Status {
                            if (spec.type == "refused")
                              return InvalidArgument("type: refused here");
                            return Status::Ok();
                          },
                          [this](JobSpec spec) {
                            JobRecord rec;
                            rec.id = made_.size() + 1;
                            rec.spec = std::move(spec);
                            made_[rec.id] = std::move(rec);
                            return static_cast<JobId>(made_.size());
                          },
                          [this](JobId id, const std::string& reason) {
                            cancelled_.emplace_back(id, reason);
                            JobRecord& rec = made_.at(id);
                            rec.status.state = JobState::kCancelled;
                            rec.status.error = reason;
                            runner_.JobFinished(rec);  // as the engine does: at once
                          }}};
};

std::string Doc(const std::string& steps) { return R"({"name":"w","steps":[)" + steps + "]}"; }
std::string S(const std::string& name, const std::string& extra = "") {
  return R"({"name":")" + name + R"(","type":"t)" + name + R"(","payload":{})" + extra + "}";
}

// One row: a document, the ends of its steps' jobs in order, and what that leaves.
struct Row {
  const char* what;
  std::string doc;
  std::vector<std::tuple<std::string, JobState, std::string>> ends;
  std::string states;
  WorkflowState workflow;
};

TEST_F(WorkflowRunnerTest, StepsMoveAsTheirDependenciesEnd) {
  const JobState ok = JobState::kSucceeded, bad = JobState::kFailed;
  const std::vector<Row> rows = {
      {"a chain runs in order",
       Doc(S("a") + "," + S("b", R"(,"depends_on":["a"])")),
       {{"a", ok, "{}"}, {"b", ok, "{}"}},
       "a:succeeded b:succeeded",
       WorkflowState::kSucceeded},
      {"a failure skips what depends on it",
       Doc(S("a") + "," + S("b", R"(,"depends_on":["a"])")),
       {{"a", bad, "broken"}},
       "a:failed b:skipped",
       WorkflowState::kFailed},
      {"on_failure runs only after a failure",
       Doc(S("a") + "," + S("c", R"(,"depends_on":["a"],"when":"on_failure")")),
       {{"a", ok, "{}"}},
       "a:succeeded c:skipped",
       WorkflowState::kSucceeded},
      {"on_failure cleans up",
       Doc(S("a") + "," + S("c", R"(,"depends_on":["a"],"when":"on_failure")")),
       {{"a", bad, "broken"}, {"c", ok, "{}"}},
       "a:failed c:succeeded",
       WorkflowState::kFailed},
      {"an optional failure lets the next step run",
       Doc(S("a", R"(,"optional":true)") + "," + S("b", R"(,"depends_on":["a"])")),
       {{"a", bad, "broken"}, {"b", ok, "{}"}},
       "a:failed b:succeeded",
       WorkflowState::kOptionalFailed},
      {"a true condition runs",
       Doc(S("a") + "," + S("b", R"(,"depends_on":["a"],"when":"steps.a.result.n > 1")")),
       {{"a", ok, R"({"n":2})"}, {"b", ok, "{}"}},
       "a:succeeded b:succeeded",
       WorkflowState::kSucceeded},
      {"a false condition skips",
       Doc(S("a") + "," + S("b", R"(,"depends_on":["a"],"when":"steps.a.result.n > 1")")),
       {{"a", ok, R"({"n":0})"}},
       "a:succeeded b:skipped",
       WorkflowState::kSucceeded},
      {"always runs after a failure too",
       Doc(S("a") + "," + S("z", R"(,"depends_on":["a"],"when":"always")")),
       {{"a", bad, "broken"}, {"z", ok, "{}"}},
       "a:failed z:succeeded",
       WorkflowState::kFailed},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.what);
    const WorkflowId id = Submit(row.doc);
    for (const auto& [step, state, text] : row.ends) End(id, step, state, text);
    EXPECT_EQ(States(id), row.states);
    EXPECT_EQ(Wf(id).status.state, row.workflow);
    EXPECT_EQ(Wf(id).status.finished_ms, 1000);
  }
}

TEST_F(WorkflowRunnerTest, AStepJobGetsItsOwnerWorkflowAndUpstreamData) {
  const WorkflowId id =
      Submit(Doc(S("a") + R"(,{"name":"b","type":"tb","depends_on":["a"],)" +
                 R"("payload":{"url":"${steps.a.result.url}","job":"${steps.a.job}"}})"));
  ASSERT_EQ(MadeTypes(), std::vector<std::string>{"ta"});  // b waits for a
  End(id, "a", JobState::kSucceeded, R"({"url":"s3://x"})");
  ASSERT_EQ(MadeTypes(), (std::vector<std::string>{"ta", "tb"}));
  const JobSpec& b = made_.at(2).spec;
  EXPECT_EQ(b.owner, "alice");
  EXPECT_EQ(b.workflow_id, id);
  EXPECT_EQ(b.workflow_step, static_cast<uint32_t>(Index(id, "b")));
  EXPECT_EQ(b.payload, R"({"url":"s3://x","job":1})");
  EXPECT_EQ(Step(id, "b").runs, 1u);
}

TEST_F(WorkflowRunnerTest, RefusalsChangeNothingAndARefusedStepJobFailsItsStep) {
  // At submit, every step's job is checked: nothing is made, no event, no record.
  Result<WorkflowId> r = runner_.Submit("alice", Doc(R"({"name":"a","type":"refused"})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "steps.a.type: refused here");
  EXPECT_FALSE(runner_.Submit("", Doc(S("a"))).ok());
  EXPECT_THAT(runner_.Submit("alice", "{").status().message(), HasSubstr("not JSON"));
  EXPECT_TRUE(made_.empty());
  EXPECT_TRUE(sink_.records.events.empty());
  EXPECT_FALSE(runner_.HasRecords());
  EXPECT_EQ(runner_.Cancel(7, "").code(), StatusCode::kNotFound);
  EXPECT_EQ(runner_.Retry(7).code(), StatusCode::kNotFound);
  EXPECT_EQ(runner_.Cancel(7, std::string(65, 'x')).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(sink_.records.events.empty());
}

TEST_F(WorkflowRunnerTest, AJobOfAnEarlierRunChangesNothing) {
  const WorkflowId id = Submit(Doc(S("a") + "," + S("b", R"(,"depends_on":["a"])")));
  End(id, "a", JobState::kFailed, "broken");
  ASSERT_EQ(Wf(id).status.state, WorkflowState::kFailed);
  JobRecord first = made_.at(1);  // a's first job
  ASSERT_TRUE(runner_.Retry(id).ok());
  EXPECT_EQ(Step(id, "a").job_id, 2u);
  EXPECT_EQ(Step(id, "a").runs, 2u);
  const size_t events = sink_.records.events.size();
  first.status.state = JobState::kSucceeded;
  runner_.JobFinished(first);
  EXPECT_EQ(sink_.records.events.size(), events);
  EXPECT_EQ(Step(id, "a").state, StepState::kRunning);
  End(id, "a", JobState::kSucceeded);
  End(id, "b", JobState::kSucceeded);
  EXPECT_EQ(Wf(id).status.state, WorkflowState::kSucceeded);
  EXPECT_FALSE(runner_.Cancel(id, "late").ok());  // only a running workflow
}

TEST_F(WorkflowRunnerTest, CancelEndsTheRunningJobsThroughTheJobSide) {
  const WorkflowId id =
      Submit(Doc(S("a") + "," + S("b") + "," + S("c", R"(,"depends_on":["a","b"])")));
  ASSERT_EQ(MadeTypes(), (std::vector<std::string>{"ta", "tb"}));
  End(id, "b", JobState::kSucceeded);
  ASSERT_TRUE(runner_.Cancel(id, "enough").ok());
  ASSERT_EQ(cancelled_.size(), 1u);
  EXPECT_EQ(cancelled_[0], std::make_pair(JobId{1}, std::string("enough")));
  EXPECT_EQ(States(id), "a:cancelled b:succeeded c:cancelled");
  EXPECT_EQ(Wf(id).status.state, WorkflowState::kCancelled);
  EXPECT_EQ(Wf(id).status.message, "enough");
  EXPECT_FALSE(runner_.Running(id));
}

TEST_F(WorkflowRunnerTest, EventsShareTheSinksSequenceAndRowsGoOutOnceAtTake) {
  sink_.event_seq_last = 41;  // the job side's events came first
  const WorkflowId id = Submit(Doc(S("a")));
  ASSERT_GE(sink_.records.events.size(), 2u);
  EXPECT_EQ(sink_.records.events[0].seq, 42u);
  EXPECT_EQ(sink_.records.events[0].message, "workflow: running");
  EXPECT_EQ(sink_.records.events[0].workflow_id, id);
  EXPECT_EQ(sink_.records.events[1].message, "step a: running");
  EXPECT_EQ(sink_.records.events[1].job_id, 1u);
  RecordBatch out;
  runner_.TakeRecords(&out);
  ASSERT_EQ(out.workflow_inserts.size(), 1u);
  EXPECT_TRUE(out.workflow_updates.empty());
  EXPECT_FALSE(runner_.HasRecords());
  sink_.now_ms = 2000;
  End(id, "a", JobState::kSucceeded);
  RecordBatch next;
  runner_.TakeRecords(&next);
  EXPECT_TRUE(next.workflow_inserts.empty());
  ASSERT_EQ(next.workflow_updates.size(), 1u);  // one row however often it changed
  EXPECT_EQ(next.workflow_updates[0].status.state, WorkflowState::kSucceeded);
  EXPECT_EQ(next.workflow_updates[0].status.updated_ms, 2000);
}

TEST_F(WorkflowRunnerTest, FinishedWorkflowsPastTheBoundLeaveMemoryAndLoadBack) {
  std::vector<WorkflowId> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(Submit(Doc(S("a"))));
    End(ids.back(), "a", JobState::kSucceeded);
  }
  RecordBatch out;
  runner_.TakeRecords(&out);  // finished_max is 2
  EXPECT_EQ(runner_.Find(ids[0]), nullptr);
  ASSERT_NE(runner_.Find(ids[2]), nullptr);
  ASSERT_EQ(out.workflow_inserts.size(), 3u);
  ASSERT_TRUE(runner_.Load(out.workflow_inserts[0]).ok());
  EXPECT_EQ(runner_.Find(ids[0])->status.state, WorkflowState::kSucceeded);
  WorkflowRecord unknown = out.workflow_inserts[0];
  unknown.id = 99;
  EXPECT_EQ(runner_.Load(unknown).code(), StatusCode::kInvalidArgument);
}

TEST_F(WorkflowRunnerTest, PluginsRegisteredForAnActivityRunInItsParallelStage) {
  runner_.RegisterPlugins("w1", {{"deploy", "p.check", true, 2, false},
                                 {"deploy", "p.lint", false, 1, false},
                                 {"other", "p.x", true, 0, false}});
  const WorkflowId id =
      Submit(R"({"name":"w","steps":[],"activities":[{"name":"deploy","plugins":true,)"
             R"("pre":[{"name":"pre","type":"tpre","payload":{}}]}]})");
  End(id, "pre", JobState::kSucceeded);
  // Lower order first; only the activity's plugins.
  ASSERT_EQ(MadeTypes(), (std::vector<std::string>{"tpre", "p.lint", "p.check"}));
  made_.at(2).status.state = JobState::kFailed;  // the optional one fails: a warning
  made_.at(2).status.error = "style";
  runner_.JobFinished(made_.at(2));
  made_.at(3).status.state = JobState::kSucceeded;
  runner_.JobFinished(made_.at(3));
  EXPECT_EQ(Wf(id).status.state, WorkflowState::kOptionalFailed);
  EXPECT_THAT(Wf(id).status.message, HasSubstr("optional steps failed"));
  // A worker that registers nothing takes its plugins away.
  runner_.RegisterPlugins("w1", {});
  const WorkflowId next =
      Submit(R"({"name":"w","steps":[],"activities":[{"name":"deploy","plugins":true,)"
             R"("pre":[{"name":"pre","type":"tpre","payload":{}}]}]})");
  End(next, "pre", JobState::kSucceeded);
  EXPECT_EQ(Wf(next).status.state, WorkflowState::kSucceeded);
  EXPECT_EQ(made_.size(), 4u);
}

TEST_F(WorkflowRunnerTest, RestoreTakesTheStoredWorkflowsAndRefusesInconsistentOnes) {
  const WorkflowId id = Submit(Doc(S("a") + "," + S("b", R"(,"depends_on":["a"])")));
  RecordBatch out;
  runner_.TakeRecords(&out);
  ASSERT_EQ(out.workflow_inserts.size(), 1u);

  Sink sink;
  StepJobs none{[](JobSpec&) { return Status::Ok(); }, [](JobSpec) { return JobId{0}; },
                [](JobId, const std::string&) {}};
  WorkflowRunner restored({64, 2}, &sink, none);
  EXPECT_TRUE(restored.empty());
  ASSERT_TRUE(restored.Restore(id, out.workflow_inserts).ok());
  EXPECT_FALSE(restored.empty());
  EXPECT_TRUE(restored.Running(id));
  EXPECT_FALSE(restored.HasRecords());  // restoring writes nothing

  WorkflowRunner refused({64, 2}, &sink, none);
  EXPECT_EQ(refused.Restore(id - 1, out.workflow_inserts).code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace baton::engine
