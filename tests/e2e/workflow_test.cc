// Workflows end to end: a real server, shell workers and libbaton workers in this process, the
// CLI (`baton workflow run FILE --wait`) and the REST API, and a server SIGKILL in the middle.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <set>

#include "util/worker_fixture.h"

namespace baton::testing {
namespace {

class WorkflowTest : public WorkerFixture {
 protected:
  std::string WriteDoc(const std::string& name, const std::string& doc) {
    const std::string path = dir_ + "/" + name + ".json";
    std::ofstream(path) << doc;
    return path;
  }
  uint64_t SubmitWorkflow(const std::string& doc, const std::string& token = "") {
    HttpResult r = Call(token.empty() ? admin_ : token, "POST", "/v1/workflows", doc);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? Json(r).at("id").to_number<uint64_t>() : 0;
  }
  json::object GetWorkflow(uint64_t id) {
    HttpResult r = Call(admin_, "GET", "/v1/workflows/" + std::to_string(id));
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? Json(r).as_object() : json::object{};
  }
  std::string WaitEnded(uint64_t id) {
    std::string state;
    EXPECT_TRUE(WaitUntil([&] {
      state = std::string(GetWorkflow(id).at("state").as_string());
      return state != "running" && state != "partial";
    }));
    return state;
  }
  static const json::object& StepOf(const json::object& w, const std::string& name) {
    for (const json::value& s : w.at("steps").as_array()) {
      if (s.at("name").as_string() == name) return s.as_object();
    }
    static const json::object kNone;
    ADD_FAILURE() << "no step " << name;
    return kNone;
  }
  std::unique_ptr<InProcessWorker> Sdk(const std::string& id,
                                       std::map<std::string, client::Handler> handlers,
                                       std::vector<client::PluginOptions> plugins = {}) {
    return std::make_unique<InProcessWorker>(url(), admin_, id, 4, std::move(handlers),
                                             std::move(plugins));
  }
};

// The shell executor and the CLI: a diamond whose steps pass data along through ${...}.
TEST_F(WorkflowTest, ADiamondOfShellStepsPassesDataAlong) {
  auto worker = StartWorker("w1", "shell", "4");
  const std::string doc = R"({"name": "diamond", "steps": [
    {"name": "a", "type": "shell",
     "payload": {"command": "echo '{\"word\": \"hello\", \"n\": 2}' > out/result.json"}},
    {"name": "b", "type": "shell", "depends_on": ["a"],
     "payload": {"command": "echo '{\"b\": \"${steps.a.result.word}-b\"}' > out/result.json"}},
    {"name": "c", "type": "shell", "depends_on": ["a"],
     "payload": {"command": "echo '{\"c\": ${steps.a.result.n}}' > out/result.json"}},
    {"name": "d", "type": "shell", "depends_on": ["b", "c"],
     "payload": {"command": "echo '{\"d\": \"${steps.b.result.b}/${steps.c.result.c}\"}' > out/result.json"}}]})";
  CliResult r = Cli({"workflow", "run", WriteDoc("diamond", doc), "--wait"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("step d: succeeded"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("workflow 1  diamond  succeeded"), std::string::npos) << r.out;
  json::object w = GetWorkflow(1);
  EXPECT_EQ(StepOf(w, "d").at("result"), json::parse(R"({"d":"hello-b/2"})"));
  EXPECT_EQ(StepOf(w, "b").at("depends_on"), json::parse(R"(["a"])"));
  // The steps' jobs are ordinary jobs, and the workflow's events name them.
  const uint64_t d_job = StepOf(w, "d").at("job").to_number<uint64_t>();
  EXPECT_EQ(GetJob(d_job).at("state").as_string(), "succeeded");
  client::Client c(client::Endpoint::Parse(url()).value(), admin_);
  std::vector<std::string> messages;
  ASSERT_TRUE(c.Stream("/v1/events?workflow=1", [&](std::string_view data) {
                 for (size_t at = 0;
                      (at = data.find("\"message\":\"", at)) != std::string_view::npos;) {
                   at += 11;
                   messages.emplace_back(data.substr(at, data.find('"', at) - at));
                 }
                 return std::find(messages.begin(), messages.end(), "workflow: succeeded") ==
                        messages.end();
               }).ok());
  EXPECT_EQ(messages.front(), "workflow: running");
  EXPECT_NE(std::find(messages.begin(), messages.end(), "step a: succeeded"), messages.end());
}

TEST_F(WorkflowTest, AYamlDocumentRunsLikeItsJson) {
  auto worker = StartWorker("w1", "shell", "2");
  const std::string path = dir_ + "/flow.yaml";
  std::ofstream(path) << R"(name: yaml-flow
steps:
  - name: count
    type: shell
    payload:
      command: "echo '{\"rows\": 250}' > out/result.json"
  - name: big
    type: shell
    depends_on: [count]
    when: steps.count.result.rows > 100
    payload: {command: "true"}
  - name: small
    type: shell
    depends_on: [count]
    when: steps.count.result.rows <= 100
    payload: {command: "true"}
)";
  CliResult r = Cli({"workflow", "run", path, "--wait"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  json::object w = GetWorkflow(1);
  EXPECT_EQ(w.at("name").as_string(), "yaml-flow");
  EXPECT_EQ(StepOf(w, "big").at("state").as_string(), "succeeded");
  EXPECT_EQ(StepOf(w, "small").at("state").as_string(), "skipped");
  // A YAML syntax error is named by its line.
  std::ofstream(path) << "steps:\n  - name: [oops\n";
  r = Cli({"workflow", "run", path});
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(WorkflowTest, AFailingOptionalStepWarnsAndAnOnFailureStepCleansUp) {
  auto worker = StartWorker("w1", "shell", "4");
  const std::string optional = R"({"name": "opt", "steps": [
    {"name": "flaky", "type": "shell", "optional": true, "attempts_max": 1,
     "payload": {"command": "exit 3"}},
    {"name": "after", "type": "shell", "depends_on": ["flaky"], "payload": {"command": "true"}}]})";
  CliResult r = Cli({"workflow", "run", WriteDoc("optional", optional), "--wait"});
  EXPECT_EQ(r.exit_code, 0) << r.out;  // optional_failed is a success with something to say
  EXPECT_NE(r.out.find("optional_failed"), std::string::npos) << r.out;
  json::object w = GetWorkflow(1);
  EXPECT_EQ(w.at("state").as_string(), "optional_failed");
  EXPECT_EQ(w.at("message").as_string(), "optional steps failed: flaky");
  EXPECT_EQ(StepOf(w, "after").at("state").as_string(), "succeeded");

  const std::string cleanup = R"({"name": "cleanup", "steps": [
    {"name": "main", "type": "shell", "attempts_max": 1, "payload": {"command": "exit 1"}},
    {"name": "next", "type": "shell", "depends_on": ["main"], "payload": {"command": "true"}},
    {"name": "cleanup", "type": "shell", "depends_on": ["main"], "when": "on_failure",
     "payload": {"command": "echo cleaned > out/cleaned.txt"}}]})";
  r = Cli({"workflow", "run", WriteDoc("cleanup", cleanup), "--wait"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  w = GetWorkflow(2);
  EXPECT_EQ(w.at("state").as_string(), "failed");
  EXPECT_EQ(StepOf(w, "next").at("state").as_string(), "skipped");
  EXPECT_EQ(StepOf(w, "next").at("message").as_string(), "upstream main failed");
  EXPECT_EQ(StepOf(w, "cleanup").at("state").as_string(), "succeeded");
}

TEST_F(WorkflowTest, BadDocumentsAreRefusedWithThePathOfTheError) {
  HttpResult r = Call(admin_, "POST", "/v1/workflows",
                      R"({"steps": [{"name": "a", "type": "t", "depends_on": ["b"]},
                                    {"name": "b", "type": "t", "depends_on": ["a"]}]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("steps[0].depends_on: a cycle: a -> b -> a"), std::string::npos) << r.body;
  r = Call(admin_, "POST", "/v1/workflows",
           R"({"steps": [{"name": "a", "type": "t", "when": "steps.a.result >"}]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("steps[0].when: expected a value at column 17"), std::string::npos)
      << r.body;
  CliResult cli =
      Cli({"workflow", "run", WriteDoc("missing", R"({"steps": [{"name": "a", "type": "t",
                                             "payload": {"u": "${steps.gone.result}"}}]})")});
  EXPECT_EQ(cli.exit_code, 2);
  EXPECT_EQ(Call(admin_, "GET", "/v1/workflows/1").status, 404);  // nothing was created
}

// An activity whose parallel stage runs the plugins workers registered for it, in order; an
// optional plugin's failure leaves a warning.
TEST_F(WorkflowTest, AnActivityRunsItsRegisteredPlugins) {
  std::mutex mu;
  std::vector<std::string> ran;
  auto record = [&](std::string what) {
    std::lock_guard lock(mu);
    ran.push_back(std::move(what));
  };
  auto worker = Sdk("plugins",
                    {{"step",
                      [&](client::AttemptContext& ctx) {
                        record(std::string(ctx.payload().at("n").as_string()));
                        return client::Outcome::Succeeded();
                      }},
                     {"scan",
                      [&](client::AttemptContext& ctx) {
                        record("scan:" + std::string(ctx.payload().at("activity").as_string()));
                        return client::Outcome::Succeeded(json::object{{"clean", true}});
                      }},
                     {"lint",
                      [&](client::AttemptContext&) {
                        record("lint");
                        return client::Outcome::Error("style", false);
                      }}},
                    {client::PluginOptions{"deploy", "scan", true, 1, false},
                     client::PluginOptions{"deploy", "lint", false, 2, false}});
  ASSERT_TRUE(WaitUntil([&] {
    return Call(admin_, "GET", "/v1/workers").body.find("\"plugins\"") != std::string::npos;
  }));
  const uint64_t id = SubmitWorkflow(R"({"name": "release", "activities": [
    {"name": "deploy", "plugins": true,
     "pre": [{"name": "build", "type": "step", "payload": {"n": "build"}}],
     "parallel": [{"name": "push", "type": "step", "payload": {"n": "push"}}],
     "post": [{"name": "announce", "type": "step", "payload": {"n": "announce"}}]}]})");
  EXPECT_EQ(WaitEnded(id), "optional_failed");
  json::object w = GetWorkflow(id);
  // The optional plugin that failed, with its own error.
  EXPECT_EQ(w.at("activities"), json::parse(R"js([{"name":"deploy","state":"optional_failed",
      "message":"warning: optional steps failed: deploy:plugins:lint (style (not retryable))"}])js"))
      << json::serialize(w);
  const json::object& scan = StepOf(w, "deploy:plugins:scan");
  EXPECT_EQ(scan.at("state").as_string(), "succeeded");
  EXPECT_EQ(scan.at("plugin").as_string(), "scan");
  EXPECT_TRUE(scan.at("mandatory").as_bool());
  EXPECT_EQ(StepOf(w, "deploy:plugins:lint").at("state").as_string(), "failed");
  std::lock_guard lock(mu);
  ASSERT_EQ(ran.size(), 5u);
  EXPECT_EQ(ran.front(), "build");
  // post waits for the mandatory tasks (push and the scan plugin), not for the optional lint.
  auto at = [&](const std::string& what) { return std::find(ran.begin(), ran.end(), what); };
  EXPECT_LT(at("push"), at("announce"));
  EXPECT_LT(at("scan:deploy"), at("announce"));
  EXPECT_NE(at("lint"), ran.end());
}

// A parallel stage whose mandatory plugin is done while an optional one still runs is partial, and
// so are the activity and the workflow: post runs at once; when the optional plugin ends the
// roll-up is final. Real worker, real server, over the API.
TEST_F(WorkflowTest, APartialStageLetsPostRunWhileAnOptionalPluginRuns) {
  Hold hold("lint");
  auto worker =
      Sdk("plugins",
          {{"step", [&](client::AttemptContext&) { return client::Outcome::Succeeded(); }},
           {"scan", [&](client::AttemptContext&) { return client::Outcome::Succeeded(); }},
           {"lint",
            [&](client::AttemptContext&) {
              hold.At("lint");
              return client::Outcome::Succeeded();
            }}},
          {client::PluginOptions{"deploy", "scan", true, 1, false},
           client::PluginOptions{"deploy", "lint", false, 2, false}});
  ASSERT_TRUE(WaitUntil([&] {
    return Call(admin_, "GET", "/v1/workers").body.find("\"plugins\"") != std::string::npos;
  }));
  const uint64_t id = SubmitWorkflow(R"({"name": "release", "activities": [
    {"name": "deploy", "plugins": true,
     "parallel": [{"name": "push", "type": "step", "payload": {}}],
     "post": [{"name": "announce", "type": "step", "payload": {}}]}]})");
  ASSERT_TRUE(hold.WaitEntered());
  ASSERT_TRUE(WaitUntil([&] {
    return StepOf(GetWorkflow(id), "announce").at("state").as_string() == "succeeded";
  })) << json::serialize(GetWorkflow(id));
  ASSERT_TRUE(WaitUntil([&] { return GetWorkflow(id).at("state").as_string() == "partial"; }))
      << json::serialize(GetWorkflow(id));
  json::object w = GetWorkflow(id);
  EXPECT_EQ(StepOf(w, "deploy:plugins").at("state").as_string(), "partial");
  EXPECT_EQ(StepOf(w, "deploy:plugins:lint").at("state").as_string(), "running");
  EXPECT_EQ(w.at("activities"), json::parse(R"js([{"name":"deploy","state":"partial",
      "message":"mandatory completed; still running: deploy:plugins"}])js"))
      << json::serialize(w);
  CliResult status = Cli({"workflow", "status", std::to_string(id)});
  EXPECT_NE(status.out.find("partial"), std::string::npos) << status.out;
  hold.Release();
  EXPECT_EQ(WaitEnded(id), "succeeded");
  EXPECT_EQ(GetWorkflow(id).at("activities").at(0).at("state").as_string(), "succeeded");
}

// A step reads its job's state: queued while its job waits on a paused type, not running.
TEST_F(WorkflowTest, AStepReadsItsJobsState) {
  auto worker = StartWorker("w1", "shell", "2");
  ASSERT_EQ(Cli({"pause", "shell"}).exit_code, 0);
  const uint64_t id = SubmitWorkflow(R"({"steps": [
    {"name": "a", "type": "shell", "payload": {"command": "true"}}]})");
  json::object w = GetWorkflow(id);
  EXPECT_EQ(StepOf(w, "a").at("state").as_string(), "queued") << json::serialize(w);
  EXPECT_EQ(w.at("state").as_string(), "running");
  ASSERT_EQ(Cli({"resume", "shell"}).exit_code, 0);
  EXPECT_EQ(WaitEnded(id), "succeeded");
  EXPECT_EQ(StepOf(GetWorkflow(id), "a").at("state").as_string(), "succeeded");
}

TEST_F(WorkflowTest, AShellWorkerRegistersPluginsFromItsCommandLine) {
  auto worker = StartWorker("w1", "shell", "2", "shell,lint",
                            {"--command", "lint=echo '{\"linted\": true}' > out/result.json",
                             "--plugin", "deploy=lint,mandatory,order=3"});
  HttpResult workers = Call(admin_, "GET", "/v1/workers");
  EXPECT_NE(
      workers.body.find(
          R"("plugins":[{"activity":"deploy","type":"lint","mandatory":true,"order":3,"always_run":false}])"),
      std::string::npos)
      << workers.body;
  const uint64_t id = SubmitWorkflow(R"({"activities": [{"name": "deploy", "plugins": true,
    "parallel": [{"name": "push", "type": "shell", "payload": {"command": "true"}}]}]})");
  EXPECT_EQ(WaitEnded(id), "succeeded");
  EXPECT_EQ(StepOf(GetWorkflow(id), "deploy:plugins:lint").at("result"),
            json::parse(R"({"linted":true})"));
  CliResult bad = Cli({"worker", "--types", "lint", "--plugin", "deploy=lint,sometimes"});
  EXPECT_EQ(bad.exit_code, 2);
}

TEST_F(WorkflowTest, CancelStopsAWorkflowAndRetryRunsOnlyWhatFailed) {
  std::atomic<int> first_runs{0}, flaky_runs{0};
  auto worker = Sdk("sdk", {{"first",
                             [&](client::AttemptContext&) {
                               ++first_runs;
                               return client::Outcome::Succeeded(json::object{{"v", 41}});
                             }},
                            {"flaky",
                             [&](client::AttemptContext& ctx) {
                               if (++flaky_runs == 1)
                                 return client::Outcome::Error("not yet", false);
                               return client::Outcome::Succeeded(
                                   json::object{{"v", ctx.payload().at("v").to_number<int>() + 1}});
                             }},
                            {"hang", [](client::AttemptContext& ctx) {
                               ctx.WaitStopped(60'000);
                               return client::Outcome::Error("stopped");
                             }}});
  const uint64_t id = SubmitWorkflow(R"({"steps": [
    {"name": "first", "type": "first"},
    {"name": "flaky", "type": "flaky", "depends_on": ["first"],
     "payload": {"v": "${steps.first.result.v}"}}]})");
  EXPECT_EQ(WaitEnded(id), "failed");
  const json::value first_job = StepOf(GetWorkflow(id), "first").at("job");
  HttpResult r = Call(admin_, "POST", "/v1/workflows/" + std::to_string(id) + "/retry");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(WaitEnded(id), "succeeded");
  json::object w = GetWorkflow(id);
  EXPECT_EQ(StepOf(w, "flaky").at("result"), json::parse(R"({"v":42})"));
  EXPECT_EQ(StepOf(w, "flaky").at("runs").to_number<int>(), 2);
  // The step that succeeded kept its job and result (its handler ran once unless an attempt was
  // lost: execution is at least once).
  EXPECT_EQ(StepOf(w, "first").at("runs").to_number<int>(), 1);
  EXPECT_EQ(StepOf(w, "first").at("job"), first_job);
  EXPECT_EQ(first_runs.load(),
            GetJob(first_job.to_number<uint64_t>()).at("attempts_used").to_number<int>())
      << json::serialize(GetJob(first_job.to_number<uint64_t>()));
  EXPECT_EQ(Call(admin_, "POST", "/v1/workflows/" + std::to_string(id) + "/retry").status, 409);

  const uint64_t hung = SubmitWorkflow(R"({"steps": [{"name": "h", "type": "hang"},
    {"name": "then", "type": "first", "depends_on": ["h"]}]})");
  ASSERT_TRUE(WaitUntil([&] { return StepOf(GetWorkflow(hung), "h").at("state") == "running"; }));
  const std::string bob = NewToken("bob");
  EXPECT_EQ(Call(bob, "POST", "/v1/workflows/" + std::to_string(hung) + "/cancel").status, 404);
  EXPECT_EQ(Call(bob, "GET", "/v1/events?workflow=" + std::to_string(hung)).status, 404);
  r = Call(admin_, "POST", "/v1/workflows/" + std::to_string(hung) + "/cancel",
           R"({"reason": "enough"})");
  ASSERT_EQ(r.status, 200) << r.body;
  w = Json(r).as_object();
  EXPECT_EQ(w.at("state").as_string(), "cancelled");
  EXPECT_EQ(StepOf(w, "h").at("state").as_string(), "cancelled");
  EXPECT_EQ(StepOf(w, "then").at("state").as_string(), "cancelled");
}

// A server SIGKILL while the middle step of a chain runs: after the restart the chain goes on
// from where it was, with the first step's result still passed along.
TEST_F(WorkflowTest, AWorkflowSurvivesAServerKill) {
  Hold hold("middle");
  std::atomic<int> tails{0};
  auto worker =
      Sdk("sdk",
          {{"head",
            [](client::AttemptContext&) {
              return client::Outcome::Succeeded(json::object{{"token", "t-1"}});
            }},
           {"middle",
            [&](client::AttemptContext& ctx) {
              hold.At("middle");  // until the server was killed and is back
              return client::Outcome::Succeeded(json::object{{"seen", ctx.payload().at("token")}});
            }},
           {"tail", [&](client::AttemptContext& ctx) {
              ++tails;
              return client::Outcome::Succeeded(ctx.payload());
            }}});
  const uint64_t id = SubmitWorkflow(R"({"steps": [
    {"name": "head", "type": "head"},
    {"name": "middle", "type": "middle", "depends_on": ["head"],
     "payload": {"token": "${steps.head.result.token}"}},
    {"name": "tail", "type": "tail", "depends_on": ["middle"],
     "payload": {"got": "${steps.middle.result.seen}"}}]})");
  EXPECT_TRUE(hold.WaitEntered());  // not ASSERT: the release below must run
  KillAndRestartServer();
  hold.Release();
  EXPECT_EQ(WaitEnded(id), "succeeded");
  json::object w = GetWorkflow(id);
  EXPECT_EQ(StepOf(w, "tail").at("result"), json::parse(R"({"got":"t-1"})"));
  EXPECT_EQ(tails.load(), 1);
}

}  // namespace
}  // namespace baton::testing

namespace baton::testing {
namespace {

// Every kind of step, with a server SIGKILL while a chosen step's job runs: the first step, a
// middle step of a diamond, an optional step that fails, or an activity's plugin. After the
// restart the workflow ends as it would have without the kill.
class WorkflowKillTest : public WorkflowTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(WorkflowKillTest, TheWorkflowEndsAsWithoutTheKill) {
  const std::string kill_at = GetParam();
  Hold hold(kill_at);
  auto worker =
      Sdk("sdk",
          {{"unit",
            [&](client::AttemptContext& ctx) {
              const std::string name(ctx.payload().at("n").as_string());
              hold.At(name);
              if (name == "d") {
                return client::Outcome::Succeeded(
                    json::object{{"v", ctx.payload().at("x").to_number<int>() + 1}});
              }
              if (name == "f" || name == "g") return client::Outcome::Succeeded(ctx.payload());
              return client::Outcome::Succeeded(json::object{{"v", name == "e" ? 10 : 1}});
            }},
           {"fail",
            [&](client::AttemptContext&) {
              hold.At("b");
              return client::Outcome::Error("b breaks", false);
            }},
           {"scan",
            [&](client::AttemptContext&) {
              hold.At("scan");
              return client::Outcome::Succeeded(json::object{{"clean", true}});
            }}},
          {client::PluginOptions{"deploy", "scan", true, 1, false}});
  ASSERT_TRUE(WaitUntil([&] {
    return Call(admin_, "GET", "/v1/workers").body.find("\"plugins\"") != std::string::npos;
  }));
  const uint64_t id = SubmitWorkflow(R"({"name": "everything", "steps": [
    {"name": "a", "type": "unit", "payload": {"n": "a"}},
    {"name": "b", "type": "fail", "depends_on": ["a"], "optional": true},
    {"name": "c", "type": "unit", "depends_on": ["b"], "when": "on_failure", "payload": {"n": "c"}},
    {"name": "d", "type": "unit", "depends_on": ["a"], "payload": {"n": "d", "x": "${steps.a.result.v}"}},
    {"name": "e", "type": "unit", "depends_on": ["a"], "payload": {"n": "e"}},
    {"name": "f", "type": "unit", "depends_on": ["d", "e"],
     "payload": {"n": "f", "d": "${steps.d.result.v}", "e": "${steps.e.result.v}"}}],
   "activities": [{"name": "deploy", "depends_on": ["f"], "plugins": true,
     "parallel": [{"name": "g", "type": "unit", "payload": {"n": "g"}}]}]})");
  EXPECT_TRUE(hold.WaitEntered());  // not ASSERT: the release below must run
  KillAndRestartServer();
  hold.Release();
  EXPECT_EQ(WaitEnded(id), "optional_failed");
  json::object w = GetWorkflow(id);
  EXPECT_EQ(w.at("message").as_string(), "optional steps failed: b") << json::serialize(w);
  EXPECT_EQ(StepOf(w, "c").at("state").as_string(), "succeeded");
  EXPECT_EQ(StepOf(w, "f").at("result"), json::parse(R"({"n":"f","d":2,"e":10})"));
  EXPECT_EQ(StepOf(w, "deploy").at("state").as_string(), "succeeded");
  EXPECT_EQ(StepOf(w, "deploy:plugins:scan").at("state").as_string(), "succeeded");
  for (const json::value& s : w.at("steps").as_array()) {
    EXPECT_LE(s.at("runs").to_number<int>(), 1) << json::serialize(s);  // no step ran twice
  }
}

INSTANTIATE_TEST_SUITE_P(AtEveryKindOfStep, WorkflowKillTest,
                         ::testing::Values("a", "d", "b", "scan"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace baton::testing
