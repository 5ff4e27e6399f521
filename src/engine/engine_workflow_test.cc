// Workflows in the engine: the document's errors, conditions, data between steps, activities and
// their roll-up (a table, row by row), cancel, retry and restore.
#include <boost/json.hpp>
#include <set>

#include "engine/engine_test_util.h"

namespace baton::engine::testing {
namespace {

using ::testing::HasSubstr;
namespace json = boost::json;

class WorkflowTest : public EngineTest {
 protected:
  WorkflowId SubmitWorkflow(const std::string& doc) {
    Result<WorkflowId> r = engine_.SubmitWorkflow("alice", doc);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : 0;
  }
  std::string ErrorOf(const std::string& doc) {
    Result<WorkflowId> r = engine_.SubmitWorkflow("alice", doc);
    EXPECT_FALSE(r.ok());
    return r.ok() ? "" : r.status().message();
  }
  const WorkflowRecord& Wf(WorkflowId id) { return *engine_.FindWorkflow(id); }
  // What the workflow and a step read as in the API.
  std::string WfReads(WorkflowId id) {
    return std::string(WorkflowStateName(ReadState(PlanOf(Wf(id)).value(), Wf(id).status)));
  }
  std::string Reads(WorkflowId id, const std::string& name) {
    Result<WorkflowPlan> plan = PlanOf(Wf(id));
    const int32_t i = plan->Find(name);
    EXPECT_GE(i, 0) << name;
    return i < 0 ? "" : std::string(StepReadName(Wf(id).status.steps[static_cast<size_t>(i)]));
  }
  StepState Step(WorkflowId id, const std::string& doc_name) {
    const WorkflowRecord& w = Wf(id);
    Result<WorkflowPlan> plan = WorkflowPlan::Parse(w.document);
    int32_t i = plan->Find(doc_name);
    EXPECT_GE(i, 0) << doc_name;
    return i < 0 ? StepState::kWaiting : w.status.steps[static_cast<size_t>(i)].state;
  }

  // Runs every job of type "s" or a plugin type until none is left: a job whose payload names
  // a step in `fail` (or a plugin in it) fails for good; the others succeed with `results` or
  // {"ok":true}. Returns the names run, in order.
  // Those named in `hold` are left running, in `held`.
  std::vector<std::string> RunAll(const std::set<std::string>& fail,
                                  const std::map<std::string, std::string>& results = {},
                                  std::vector<std::string> types = {"s"},
                                  const std::set<std::string>& hold = {},
                                  std::vector<Assignment>* held = nullptr) {
    std::vector<std::string> ran;
    for (;;) {
      std::vector<Assignment> as = Dispatch("w", types, 100);
      if (as.empty()) return ran;
      for (const Assignment& a : as) {
        json::object p = json::parse(a.payload).as_object();
        const std::string name(p.contains("plugin") ? p.at("plugin").as_string()
                                                    : p.at("n").as_string());
        ran.push_back(name);
        if (hold.contains(name)) {
          held->push_back(a);
          continue;
        }
        auto r = results.find(name);
        EXPECT_TRUE(
            engine_
                .Complete(Ref(a), fail.contains(name)
                                      ? Error("broken", false)
                                      : Ok(r == results.end() ? R"({"ok":true})" : r->second))
                .ok());
      }
    }
  }
};

std::string StepJson(const std::string& name, const std::string& extra = "") {
  return R"({"name":")" + name + R"(","type":"s","payload":{"n":")" + name + R"("})" +
         (extra.empty() ? "" : "," + extra) + "}";
}

TEST_F(WorkflowTest, BadDocumentsAreRefusedWithThePathOfTheError) {
  EXPECT_EQ(ErrorOf(R"({"steps":[)" + StepJson("a", R"("depends_on":["b"])") + "," +
                    StepJson("b", R"("depends_on":["a"])") + "]}"),
            "steps[0].depends_on: a cycle: a -> b -> a");
  EXPECT_EQ(ErrorOf(R"({"steps":[)" + StepJson("a", R"("depends_on":["zz"])") + "]}"),
            R"(steps[0].depends_on[0]: no step named "zz")");
  EXPECT_EQ(ErrorOf(R"({"steps":[)" + StepJson("a") + "," +
                    StepJson("b", R"("depends_on":["a"],"when":"steps.a.result.n >")") + "]}"),
            R"(steps[1].when: expected a value at column 19 of "steps.a.result.n >")");
  EXPECT_EQ(ErrorOf(R"({"steps":[)" + StepJson("a") + "," +
                    StepJson("b", R"("when":"steps.a.status == \"succeeded\"")") + "]}"),
            R"(steps[1].when: step "a" is not upstream of "b" (add it to depends_on))");
  EXPECT_EQ(
      ErrorOf(
          R"({"steps":[)" + StepJson("a") +
          R"(,{"name":"b","type":"s","depends_on":["a"],"payload":{"x":["${steps.a.oops}"]}}]})"),
      "steps[1].payload.x[0]: ${steps.a.oops}: must be steps.NAME.result[.KEY...], "
      "steps.NAME.status, steps.NAME.job or steps.NAME.files.FILE");
  EXPECT_EQ(ErrorOf(R"({"steps":[)" + StepJson("a", R"("when":"on_failure")") + "]}"),
            "steps[0].when: on_failure needs depends_on");
  EXPECT_EQ(ErrorOf(R"({"steps":[)" + StepJson("a") + "," + StepJson("a") + "]}"),
            R"(steps[1].name: "a" is used twice; step and activity names must be unique)");
  EXPECT_EQ(ErrorOf(R"({"steps":[{"name":"a","type":"s","priority":5000}]})"),
            "steps.a.priority: must be between -1000 and 1000, got 5000");
  EXPECT_EQ(ErrorOf(R"({"activities":[{"name":"x","pre":[)" +
                    StepJson("p", R"("depends_on":["q"])") + "]}]}"),
            "activities[0].pre[0].depends_on: a step of an activity follows its stages; set "
            "depends_on on the activity");
  EXPECT_EQ(ErrorOf(R"({"steps":[]})"), "steps: a workflow needs at least one step");
  EXPECT_FALSE(engine_.HasRecords());  // nothing was created
}

TEST_F(WorkflowTest, ADiamondPassesDataAlong) {
  WorkflowId id = SubmitWorkflow(
      R"({"name":"diamond","steps":[
        {"name":"a","type":"s","payload":{"n":"a"}},
        {"name":"b","type":"s","depends_on":["a"],"payload":{"n":"b","url":"${steps.a.result.url}"}},
        {"name":"c","type":"s","depends_on":["a"],"payload":{"n":"c","whole":"${steps.a.result}"}},
        {"name":"d","type":"s","depends_on":["b","c"],
         "payload":{"n":"d","joined":"${steps.b.result.v}+${steps.c.result.v} from job ${steps.a.job}",
                    "file":"${steps.a.files.out.csv}"}}]})");
  Assignment a = DispatchOne("w", "s");
  EXPECT_EQ(json::parse(a.payload), json::parse(R"({"n":"a"})"));
  ASSERT_TRUE(engine_.Complete(Ref(a), Ok(R"({"url":"http://x/1"})")).ok());
  std::vector<Assignment> bc = Dispatch("w", {"s"}, 10);
  ASSERT_EQ(bc.size(), 2u);
  EXPECT_EQ(json::parse(bc[0].payload), json::parse(R"({"n":"b","url":"http://x/1"})"));
  EXPECT_EQ(json::parse(bc[1].payload), json::parse(R"({"n":"c","whole":{"url":"http://x/1"}})"));
  ASSERT_TRUE(engine_.Complete(Ref(bc[0]), Ok(R"({"v":2})")).ok());
  EXPECT_TRUE(Dispatch("w", {"s"}, 10).empty());  // d waits for c
  ASSERT_TRUE(engine_.Complete(Ref(bc[1]), Ok(R"({"v":"three"})")).ok());
  Assignment d = DispatchOne("w", "s");
  EXPECT_EQ(
      json::parse(d.payload),
      json::parse(R"({"n":"d","joined":"2+three from job )" + std::to_string(a.job_id) +
                  R"(","file":"/v1/jobs/)" + std::to_string(a.job_id) + R"(/files/out.csv"})"));
  ASSERT_TRUE(engine_.Complete(Ref(d), Ok()).ok());
  EXPECT_EQ(Wf(id).status.state, WorkflowState::kSucceeded);
  EXPECT_EQ(Job(d.job_id).spec.workflow_id, id);
}

TEST_F(WorkflowTest, AFailingOptionalStepWarnsAndWhatDependsOnItRuns) {
  WorkflowId id =
      SubmitWorkflow(R"({"steps":[)" + StepJson("a", R"("optional":true,"attempts_max":1)") + "," +
                     StepJson("b", R"("depends_on":["a"])") + "]}");
  EXPECT_EQ(RunAll({"a"}), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Step(id, "a"), StepState::kFailed);
  EXPECT_EQ(Step(id, "b"), StepState::kSucceeded);
  EXPECT_EQ(Wf(id).status.state, WorkflowState::kOptionalFailed);
  EXPECT_EQ(Wf(id).status.message, "optional steps failed: a");
}

TEST_F(WorkflowTest, AnOnFailureStepCleansUpAndTheWorkflowStillFails) {
  WorkflowId id = SubmitWorkflow(
      R"({"steps":[)" + StepJson("a") + "," + StepJson("next", R"("depends_on":["a"])") + "," +
      StepJson("cleanup", R"("depends_on":["a"],"when":"on_failure")") + "," +
      StepJson("report", R"("depends_on":["next","cleanup"],"when":"always")") + "]}");
  EXPECT_EQ(RunAll({"a"}), (std::vector<std::string>{"a", "cleanup", "report"}));
  EXPECT_EQ(Step(id, "next"), StepState::kSkipped);
  EXPECT_EQ(Wf(id).status.steps[1].message, "upstream a failed");
  EXPECT_EQ(Wf(id).status.state, WorkflowState::kFailed);
  EXPECT_EQ(Wf(id).status.message, "steps failed: a");

  WorkflowId ok =
      SubmitWorkflow(R"({"steps":[)" + StepJson("a") + "," +
                     StepJson("cleanup", R"("depends_on":["a"],"when":"on_failure")") + "]}");
  EXPECT_EQ(RunAll({}), (std::vector<std::string>{"a"}));
  EXPECT_EQ(Step(ok, "cleanup"), StepState::kSkipped);
  EXPECT_EQ(Wf(ok).status.state, WorkflowState::kSucceeded);
}

TEST_F(WorkflowTest, ExpressionsReadUpstreamResultsAndStatuses) {
  const std::string doc =
      R"({"steps":[)" + StepJson("count") + "," +
      StepJson(
          "big",
          R"("depends_on":["count"],"when":"steps.count.result.rows > 100 && steps.count.status == \"succeeded\"")") +
      "," +
      StepJson(
          "small",
          R"("depends_on":["count"],"when":"!(steps.count.result.rows > 100) || steps.count.result.forced")") +
      "]}";
  WorkflowId id = SubmitWorkflow(doc);
  EXPECT_EQ(RunAll({}, {{"count", R"({"rows":250})"}}), (std::vector<std::string>{"count", "big"}));
  EXPECT_EQ(Step(id, "small"), StepState::kSkipped);
  WorkflowId other = SubmitWorkflow(doc);
  EXPECT_EQ(RunAll({}, {{"count", R"({"rows":7})"}}), (std::vector<std::string>{"count", "small"}));
  EXPECT_EQ(Step(other, "big"), StepState::kSkipped);
  EXPECT_EQ(Wf(other).status.state, WorkflowState::kSucceeded);
}

// The roll-up rules of docs/api.md, one row each: how an activity's steps and plugins decide the
// activity, and the workflow.
TEST_F(WorkflowTest, ActivitiesRollUpAsTheTableSays) {
  struct Row {
    std::string what;
    std::string activity;  // the activity's fields after "name"
    std::set<std::string> fail;
    std::vector<PluginRegistration> plugins;
    std::vector<std::string> ran;
    StepState activity_state;
    WorkflowState workflow_state;
  };
  auto reg = [](std::string type, bool mandatory, int order, bool always = false) {
    return PluginRegistration{"deploy", std::move(type), mandatory, order, always};
  };
  const std::string stages = R"("pre":[)" + StepJson("p1") + "," + StepJson("p2") +
                             R"(],"parallel":[)" + StepJson("a") + "," + StepJson("b") +
                             R"(],"post":[)" + StepJson("z") + "]";
  const Row rows[] = {
      {"every step succeeds",
       stages,
       {},
       {},
       {"first", "p1", "p2", "a", "b", "z"},
       StepState::kSucceeded,
       WorkflowState::kSucceeded},
      {"a pre step fails: the later stages are skipped",
       stages,
       {"p1"},
       {},
       {"first", "p1"},
       StepState::kFailed,
       WorkflowState::kFailed},
      {"a mandatory parallel step fails: post is skipped",
       stages,
       {"a"},
       {},
       {"first", "p1", "p2", "a", "b"},
       StepState::kFailed,
       WorkflowState::kFailed},
      {"an optional parallel step fails: post runs, a warning",
       R"("pre":[)" + StepJson("p1") + R"(],"parallel":[)" + StepJson("a", R"("optional":true)") +
           "," + StepJson("b") + R"(],"post":[)" + StepJson("z") + "]",
       {"a"},
       {},
       {"first", "p1", "a", "b", "z"},
       StepState::kSucceeded,
       WorkflowState::kOptionalFailed},
      {"an optional post step fails: a warning",
       R"("parallel":[)" + StepJson("a") + R"(],"post":[)" + StepJson("z", R"("optional":true)") +
           "]",
       {"z"},
       {},
       {"first", "a", "z"},
       StepState::kSucceeded,
       WorkflowState::kOptionalFailed},
      {"plugins run in the parallel stage, lower order first, and post waits for the mandatory "
       "ones",
       R"("plugins":true,)" + stages,
       {},
       {reg("scan", true, 2), reg("lint", false, 1)},
       {"first", "p1", "p2", "a", "b", "lint", "scan", "z"},
       StepState::kSucceeded,
       WorkflowState::kSucceeded},
      {"a mandatory plugin fails: the activity fails",
       R"("plugins":true,)" + stages,
       {"scan"},
       {reg("scan", true, 1)},
       {"first", "p1", "p2", "a", "b", "scan"},
       StepState::kFailed,
       WorkflowState::kFailed},
      {"an optional plugin fails: a warning",
       R"("plugins":true,)" + stages,
       {"lint"},
       {reg("lint", false, 1)},
       {"first", "p1", "p2", "a", "b", "lint", "z"},
       StepState::kSucceeded,
       WorkflowState::kOptionalFailed},
      {"a pre step fails: only the always_run plugins run",
       R"("plugins":true,)" + stages,
       {"p1"},
       {reg("scan", true, 1), reg("audit", false, 2, true)},
       {"first", "p1", "audit"},
       StepState::kFailed,
       WorkflowState::kFailed},
      {"the activity's condition is false: everything is skipped",
       R"("depends_on":["first"],"when":"steps.first.status == \"failed\"",)" + stages,
       {},
       {},
       {"first"},
       StepState::kSkipped,
       WorkflowState::kSucceeded},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.what);
    engine_.RegisterPlugins("w", row.plugins);
    std::vector<std::string> types = {"s"};
    for (const PluginRegistration& p : row.plugins) types.push_back(p.type);
    WorkflowId id = SubmitWorkflow(R"({"steps":[)" + StepJson("first") +
                                   R"(],"activities":[{"name":"deploy",)" + row.activity + "}]}");
    EXPECT_EQ(RunAll(row.fail, {}, types), row.ran);
    EXPECT_EQ(Step(id, "deploy"), row.activity_state) << Wf(id).status.message;
    EXPECT_EQ(Wf(id).status.state, row.workflow_state) << Wf(id).status.message;
    // An activity that succeeded while optional steps of it failed reads optional_failed, as the
    // workflow does.
    EXPECT_EQ(Reads(id, "deploy"), row.workflow_state == WorkflowState::kOptionalFailed &&
                                           row.activity_state == StepState::kSucceeded
                                       ? "optional_failed"
                                       : StepStateName(row.activity_state));
    EXPECT_EQ(WfReads(id), WorkflowStateName(row.workflow_state));
    if (row.activity_state == StepState::kFailed ||
        row.workflow_state == WorkflowState::kOptionalFailed) {
      // The roll-up names the failing task and quotes its own error, not only its name.
      const int32_t gate = WorkflowPlan::Parse(Wf(id).document)->Find("deploy");
      const std::string& message = Wf(id).status.steps[static_cast<size_t>(gate)].message;
      EXPECT_NE(message.find("(broken (not retryable))"), std::string::npos) << message;
    }
    Take();
  }
}

// The partial rows of the roll-up table in docs/api.md, one each: a stage whose mandatory tasks are
// done while optional ones run reads partial, as do the activity and the workflow rolled up from
// it; the next stage starts at once; once the optional tasks end the roll-up is final.
TEST_F(WorkflowTest, APartialStageLetsTheNextStageStartAndRollsUpWhenItsOptionalTasksEnd) {
  struct Row {
    std::string what;
    std::string activity;  // the activity's fields after "name"
    std::vector<PluginRegistration> plugins;
    std::set<std::string> hold;    // left running
    std::set<std::string> fail;    // fail while the others run
    std::vector<std::string> ran;  // what ran (or runs) while the held ones run
    std::string plugins_reads;     // the plugins step ("" for an activity without plugins)
    std::string activity_reads;    // while the held ones run
    std::string workflow_reads;
    std::set<std::string> fail_later;  // of the held ones
    std::string activity_final;
    std::string workflow_final;
  };
  auto reg = [](std::string type, bool mandatory, int order) {
    return PluginRegistration{"deploy", std::move(type), mandatory, order, false};
  };
  const std::string plugins =
      R"("plugins":true,"parallel":[)" + StepJson("a") + R"(],"post":[)" + StepJson("z") + "]";
  const std::string optional_step = R"("parallel":[)" + StepJson("a") + "," +
                                    StepJson("o", R"("optional":true)") + R"(],"post":[)" +
                                    StepJson("z") + "]";
  const Row rows[] = {
      {"mandatory plugins done, an optional one runs: partial, and post starts at once",
       plugins,
       {reg("scan", true, 1), reg("lint", false, 2)},
       {"lint"},
       {},
       {"first", "a", "scan", "lint", "z"},
       "partial",
       "partial",
       "partial",
       {},
       "succeeded",
       "succeeded"},
      {"... and the optional one then fails: optional_failed",
       plugins,
       {reg("scan", true, 1), reg("lint", false, 2)},
       {"lint"},
       {},
       {"first", "a", "scan", "lint", "z"},
       "partial",
       "partial",
       "partial",
       {"lint"},
       "optional_failed",
       "optional_failed"},
      {"a mandatory plugin still runs: running, post waits",
       plugins,
       {reg("scan", true, 1), reg("lint", false, 2)},
       {"scan"},
       {},
       {"first", "a", "scan", "lint"},
       "running",
       "running",
       "running",
       {},
       "succeeded",
       "succeeded"},
      {"a mandatory plugin fails while an optional one runs: the stage fails at once",
       plugins,
       {reg("scan", true, 1), reg("lint", false, 2)},
       {"lint"},
       {"scan"},
       {"first", "a", "scan", "lint"},
       "failed",
       "failed",
       "running",
       {},
       "failed",
       "failed"},
      {"only optional plugins, running: the stage is partial at once",
       plugins,
       {reg("lint", false, 1)},
       {"lint"},
       {},
       {"first", "a", "lint", "z"},
       "partial",
       "partial",
       "partial",
       {},
       "succeeded",
       "succeeded"},
      {"an optional parallel step runs: post starts, the activity reads partial",
       optional_step,
       {},
       {"o"},
       {},
       {"first", "a", "o", "z"},
       "",
       "partial",
       "partial",
       {"o"},
       "optional_failed",
       "optional_failed"},
      {"an optional parallel step runs and a mandatory one fails: failed",
       optional_step,
       {},
       {"o"},
       {"a"},
       {"first", "a", "o"},
       "",
       "failed",
       "running",
       {},
       "failed",
       "failed"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.what);
    engine_.RegisterPlugins("w", row.plugins);
    std::vector<std::string> types = {"s"};
    for (const PluginRegistration& p : row.plugins) types.push_back(p.type);
    WorkflowId id = SubmitWorkflow(R"({"steps":[)" + StepJson("first") +
                                   R"(],"activities":[{"name":"deploy",)" + row.activity + "}]}");
    std::vector<Assignment> held;
    EXPECT_EQ(RunAll(row.fail, {}, types, row.hold, &held), row.ran);
    ASSERT_EQ(held.size(), row.hold.size());
    if (!row.plugins_reads.empty()) EXPECT_EQ(Reads(id, "deploy:plugins"), row.plugins_reads);
    EXPECT_EQ(Reads(id, "deploy"), row.activity_reads) << Wf(id).status.message;
    EXPECT_EQ(WfReads(id), row.workflow_reads);
    EXPECT_FALSE(IsTerminal(Wf(id).status.state));  // the held tasks still run
    for (const Assignment& a : held) {
      json::object p = json::parse(a.payload).as_object();
      const std::string name(p.contains("plugin") ? p.at("plugin").as_string()
                                                  : p.at("n").as_string());
      ASSERT_TRUE(
          engine_.Complete(Ref(a), row.fail_later.contains(name) ? Error("broken", false) : Ok())
              .ok());
    }
    RunAll({}, {}, types);  // a post stage held back by a mandatory plugin runs now
    EXPECT_EQ(Reads(id, "deploy"), row.activity_final) << Wf(id).status.message;
    EXPECT_EQ(WfReads(id), row.workflow_final) << Wf(id).status.message;
    EXPECT_TRUE(IsTerminal(Wf(id).status.state));
    Take();
  }
}

// A partial group says so in its message and in an event, naming what still runs.
TEST_F(WorkflowTest, APartialActivitySaysWhatStillRuns) {
  engine_.RegisterPlugins("w", {PluginRegistration{"deploy", "scan", true, 1, false},
                                PluginRegistration{"deploy", "lint", false, 2, false}});
  WorkflowId id = SubmitWorkflow(R"({"steps":[)" + StepJson("first") +
                                 R"(],"activities":[{"name":"deploy","plugins":true,"post":[)" +
                                 StepJson("z") + "]}]}");
  std::vector<Assignment> held;
  RunAll({}, {}, {"s", "scan", "lint"}, {"lint"}, &held);
  const int32_t gate = PlanOf(Wf(id))->Find("deploy");
  EXPECT_EQ(Wf(id).status.steps[static_cast<size_t>(gate)].message,
            "mandatory completed; still running: deploy:plugins");
  std::set<std::string> said;
  for (const Event& e : Take().events) {
    if (e.kind == EventKind::kWorkflow) said.insert(e.message);
  }
  EXPECT_TRUE(said.contains(
      "step deploy:plugins: partial (mandatory completed; still running: deploy:plugins:lint)"));
  EXPECT_TRUE(said.contains(
      "activity deploy: partial (mandatory completed; still running: deploy:plugins)"));
  EXPECT_TRUE(said.contains("workflow: partial"));
  ASSERT_TRUE(engine_.Complete(Ref(held.at(0)), Ok()).ok());
  EXPECT_EQ(Wf(id).status.state, WorkflowState::kSucceeded);
}

// While any step of an activity runs, the activity reads running (not waiting), and it rolls up
// as before once its steps are done.
TEST_F(WorkflowTest, AnActivityReadsRunningWhileItsStepsRun) {
  WorkflowId id = SubmitWorkflow(R"({"steps":[)" + StepJson("first") +
                                 R"(],"activities":[{"name":"deploy","depends_on":["first"],)" +
                                 R"("pre":[)" + StepJson("p") + R"(],"parallel":[)" +
                                 StepJson("a") + "," + StepJson("b") + "]}]}");
  EXPECT_EQ(Step(id, "deploy"), StepState::kWaiting);  // nothing of it has started
  ASSERT_TRUE(engine_.Complete(Ref(DispatchOne("w", "s")), Ok()).ok());  // first
  EXPECT_EQ(Step(id, "deploy"), StepState::kRunning);                    // p runs
  ASSERT_TRUE(engine_.Complete(Ref(DispatchOne("w", "s")), Ok()).ok());  // p
  std::vector<Assignment> both = Dispatch("w", {"s"}, 10);
  ASSERT_EQ(both.size(), 2u);
  ASSERT_TRUE(engine_.Complete(Ref(both[0]), Ok()).ok());
  EXPECT_EQ(Step(id, "deploy"), StepState::kRunning);  // one parallel step still runs
  ASSERT_TRUE(engine_.Complete(Ref(both[1]), Ok()).ok());
  EXPECT_EQ(Step(id, "deploy"), StepState::kSucceeded);
  EXPECT_EQ(Wf(id).status.state, WorkflowState::kSucceeded);
  bool said = false;
  for (const Event& e : Take().events) {
    said = said || (e.kind == EventKind::kWorkflow && e.message == "activity deploy: running");
  }
  EXPECT_TRUE(said);
}

TEST_F(WorkflowTest, CancellingAWorkflowCancelsItsRunningJobsAndEverythingAfter) {
  WorkflowId id = SubmitWorkflow(R"({"steps":[)" + StepJson("a") + "," +
                                 StepJson("b", R"("depends_on":["a"])") + "]}");
  Assignment a = DispatchOne("w", "s");
  Notices();
  ASSERT_TRUE(engine_.CancelWorkflow(id, "not today").ok());
  EXPECT_EQ(State(a.job_id), JobState::kCancelled);
  EXPECT_EQ(Notices().size(), 1u);
  EXPECT_EQ(Step(id, "a"), StepState::kCancelled);
  EXPECT_EQ(Step(id, "b"), StepState::kCancelled);
  EXPECT_EQ(Wf(id).status.state, WorkflowState::kCancelled);
  EXPECT_EQ(engine_.CancelWorkflow(id, "").code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(engine_.CancelWorkflow(999, "").code(), StatusCode::kNotFound);
}

TEST_F(WorkflowTest, RetryRunsTheFailedStepsAndWhatFollowsThemKeepingTheRest) {
  WorkflowId id = SubmitWorkflow(
      R"({"steps":[)" + StepJson("a") + "," + StepJson("x") + "," +
      StepJson("b", R"("depends_on":["a","x"],"payload":{"n":"b","v":"${steps.a.result.v}"})") +
      "," + StepJson("c", R"("depends_on":["b"])") + "]}");
  EXPECT_EQ(RunAll({"x"}, {{"a", R"({"v":1})"}}), (std::vector<std::string>{"a", "x"}));
  EXPECT_EQ(Wf(id).status.state, WorkflowState::kFailed);
  const JobId a_job = Wf(id).status.steps[0].job_id;
  EXPECT_EQ(engine_.RetryWorkflow(id).code(), StatusCode::kOk);
  EXPECT_EQ(Wf(id).status.state, WorkflowState::kRunning);
  std::vector<Assignment> again = Dispatch("w", {"s"}, 10);
  ASSERT_EQ(again.size(), 1u);  // x only: a keeps its result
  EXPECT_EQ(json::parse(again[0].payload).at("n").as_string(), "x");
  ASSERT_TRUE(engine_.Complete(Ref(again[0]), Ok()).ok());
  Assignment b = DispatchOne("w", "s");
  EXPECT_EQ(json::parse(b.payload).at("v").as_int64(), 1);
  ASSERT_TRUE(engine_.Complete(Ref(b), Ok()).ok());
  ASSERT_TRUE(engine_.Complete(Ref(DispatchOne("w", "s")), Ok()).ok());
  EXPECT_EQ(Wf(id).status.state, WorkflowState::kSucceeded);
  EXPECT_EQ(Wf(id).status.steps[0].job_id, a_job);
  EXPECT_EQ(Wf(id).status.steps[0].runs, 1u);
  EXPECT_EQ(engine_.RetryWorkflow(id).code(), StatusCode::kFailedPrecondition);
}

TEST_F(WorkflowTest, AWorkflowContinuesAfterARestore) {
  FakeStore store;
  engine_.RegisterPlugins("w", {PluginRegistration{"deploy", "scan", true, 1, false}});
  WorkflowId id = SubmitWorkflow(
      R"({"steps":[)" + StepJson("a") +
      R"(],"activities":[{"name":"deploy","depends_on":["a"],"plugins":true,"parallel":[)" +
      StepJson("b", R"("payload":{"n":"b","v":"${steps.a.result.v}"})") + R"(],"post":[)" +
      StepJson("z") + "]}]}");
  ASSERT_TRUE(engine_.Complete(Ref(DispatchOne("w", "s")), Ok(R"({"v":9})")).ok());
  RecordBatch batch = Take();
  store.Apply(batch);

  Engine fresh(TestConfig());
  ASSERT_TRUE(fresh.Restore(store.Recover()).ok());
  fresh.Tick(engine_.now_ms());
  std::vector<Assignment> as = fresh.Dispatch(DispatchRequest{"w", {"s", "scan"}, 10});
  ASSERT_EQ(as.size(), 2u);  // b and the plugin, which was added before the restore
  for (const Assignment& a : as) ASSERT_TRUE(fresh.Complete(RefFrom(a, "w"), Ok()).ok());
  std::vector<Assignment> post = fresh.Dispatch(DispatchRequest{"w", {"s"}, 10});
  ASSERT_EQ(post.size(), 1u);
  ASSERT_TRUE(fresh.Complete(RefFrom(post[0], "w"), Ok()).ok());
  EXPECT_EQ(fresh.FindWorkflow(id)->status.state, WorkflowState::kSucceeded);
}

}  // namespace
}  // namespace baton::engine::testing
