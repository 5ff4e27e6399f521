// Sub-jobs end to end: a real server with declared types, shell workers (out/children.json,
// --command for the aggregator) and libbaton workers in this process (ctx.Spawn), the children
// API, verification by a verifier job, and a server SIGKILL in the middle of a fan-out.
#include <atomic>
#include <condition_variable>
#include <fstream>
#include <mutex>

#include "util/worker_fixture.h"

namespace baton::testing {
namespace {

constexpr const char* kTypes = R"({"types": [
  {"name": "fan", "aggregator": "sum", "parameters": {"command": {"type": "string"}}},
  {"name": "tree", "aggregator": "count", "parameters": {"depth": {"type": "integer", "min": 0}}},
  {"name": "work", "verifier": "check"},
  {"name": "hold", "parameters": {"children": {"type": "integer", "min": 1}}},
  {"name": "fan2", "aggregator": "sum2", "parameters": {"children": {"type": "integer"}}}
]})";

class ChildrenTest : public WorkerFixture {
 protected:
  void SetUp() override {
    dir_ = store::testing::TempDir("e2e");
    std::ofstream(dir_ + "/types.json") << kTypes;
    server_args_ = {"--types", dir_ + "/types.json"};
    StartServer();
  }

  json::object Children(uint64_t id, const std::string& query = "") {
    HttpResult r = Call(admin_, "GET", "/v1/jobs/" + std::to_string(id) + "/children" + query);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? Json(r).as_object() : json::object{};
  }

  bool StateIs(uint64_t id, const std::string& state) {
    return GetJob(id).at("state").as_string() == state;
  }

  std::unique_ptr<InProcessWorker> Worker(const std::string& id,
                                          std::map<std::string, client::Handler> handlers,
                                          uint32_t capacity = 4) {
    return std::make_unique<InProcessWorker>(url(), admin_, id, capacity, std::move(handlers));
  }
};

// The shell executor: the parent writes out/children.json, each leaf writes out/result.json, and
// the aggregator (a --command for its type) reads payload.json and writes the sum.
TEST_F(ChildrenTest, ShellChildrenAreSpawnedFromAFileAndSummedByTheAggregator) {
  std::ofstream(dir_ + "/children.json") << R"([
    {"type": "leaf", "payload": {"n": 1}}, {"type": "leaf", "payload": {"n": 2}},
    {"type": "leaf", "payload": {"n": 3}}, {"type": "leaf", "payload": {"n": 4}},
    {"type": "leaf", "payload": {"n": 5}}])";
  // A leaf's result is its payload; the sum adds every "n" of the children's results.
  std::ofstream(dir_ + "/leaf.sh") << "cp \"$BATON_PAYLOAD\" out/result.json\n";
  std::ofstream(dir_ + "/sum.sh")
      << "grep -o '\"n\":[0-9]*' \"$BATON_PAYLOAD\" | "
         "awk -F: '{s += $2} END {printf \"{\\\"sum\\\":%d}\", s}' > out/result.json\n";
  auto worker = StartWorker(
      "w1", "shell", "4", "fan,leaf,sum",
      {"--command", "leaf=sh " + dir_ + "/leaf.sh", "--command", "sum=sh " + dir_ + "/sum.sh"});
  const uint64_t parent = Submit(R"({"type": "fan", "payload": {"command": "cp )" + dir_ +
                                 R"(/children.json out/children.json"}})");
  EventsUntilEnd(parent);
  json::object job = GetJob(parent);
  ASSERT_EQ(job.at("state").as_string(), "succeeded") << json::serialize(job);
  EXPECT_EQ(job.at("result"), json::parse(R"({"sum":15})"));
  EXPECT_EQ(job.at("children").at("total").to_number<int>(), 5);
  EXPECT_EQ(job.at("children").at("done").to_number<int>(), 5);

  json::object children = Children(parent);
  EXPECT_EQ(children.at("summary"), json::parse(R"({"succeeded":5})"));
  ASSERT_EQ(children.at("children").as_array().size(), 5u);
  for (const json::value& c : children.at("children").as_array()) {
    EXPECT_EQ(c.at("parent_id").to_number<uint64_t>(), parent);
    EXPECT_EQ(c.at("type").as_string(), "leaf");
  }
  EXPECT_TRUE(children.at("parent").at("waiting_for").is_null());
  // The aggregator is a job of its own, owned by the parent's owner, and names its subject.
  const uint64_t sum = children.at("parent").at("helper_id").to_number<uint64_t>();
  EXPECT_EQ(sum, 0u);  // done: the parent no longer waits on it
  json::object list =
      Json(Call(admin_, "GET", "/v1/jobs?type=sum")).at("jobs").as_array().at(0).as_object();
  EXPECT_EQ(list.at("role").as_string(), "aggregator");
  EXPECT_EQ(list.at("subject_id").to_number<uint64_t>(), parent);
}

// libbaton's ctx.Spawn, two levels deep: every tree job spawns two smaller ones; the count
// aggregator adds one for the job itself to its children's counts.
TEST_F(ChildrenTest, NestedSubJobsAggregateFromTheLeavesUp) {
  auto worker =
      Worker("sdk", {{"tree",
                      [](client::AttemptContext& ctx) {
                        const int64_t depth = ctx.payload().at("depth").to_number<int64_t>();
                        if (depth == 0)
                          return client::Outcome::Succeeded(json::object{{"count", 1}});
                        json::array kids;
                        for (int i = 0; i < 2; ++i) {
                          kids.push_back(json::object{
                              {"type", "tree"}, {"payload", json::object{{"depth", depth - 1}}}});
                        }
                        Result<std::vector<uint64_t>> ids = ctx.Spawn(kids);
                        if (!ids.ok()) return client::Outcome::Error(ids.status().ToString());
                        return client::Outcome::Succeeded(json::object{{"spawned", ids->size()}});
                      }},
                     {"count", [](client::AttemptContext& ctx) {
                        int64_t n = 1;
                        for (const json::value& c : ctx.payload().at("children").as_array()) {
                          n += c.at("result").at("count").to_number<int64_t>();
                        }
                        return client::Outcome::Succeeded(json::object{{"count", n}});
                      }}});
  const uint64_t top = Submit(R"({"type": "tree", "payload": {"depth": 2}})");
  EventsUntilEnd(top);
  json::object job = GetJob(top);
  ASSERT_EQ(job.at("state").as_string(), "succeeded") << json::serialize(job);
  EXPECT_EQ(job.at("result"), json::parse(R"({"count":7})"));
  json::object children = Children(top);
  ASSERT_EQ(children.at("children").as_array().size(), 2u);
  for (const json::value& c : children.at("children").as_array()) {
    EXPECT_EQ(c.at("result"), json::parse(R"({"count":3})"));
    EXPECT_EQ(Children(c.at("id").to_number<uint64_t>()).at("summary"),
              json::parse(R"({"succeeded":2})"));
  }
}

TEST_F(ChildrenTest, AVerifierRejectsTheFirstResultAndAcceptsTheSecond) {
  auto worker = Worker(
      "sdk", {{"work",
               [](client::AttemptContext& ctx) {
                 return client::Outcome::Succeeded(json::object{{"number", ctx.number()}});
               }},
              {"check", [](client::AttemptContext& ctx) {
                 const int64_t n = ctx.payload().at("result").at("number").to_number<int64_t>();
                 if (n < 2) {
                   return client::Outcome::Succeeded(
                       json::object{{"accept", false}, {"reason", "too early"}});
                 }
                 return client::Outcome::Succeeded(json::object{{"accept", true}});
               }}});
  const uint64_t id =
      Submit(R"({"type": "work", "payload": {}, "retry": {"delay_initial_ms": 10, "jitter": 0}})");
  std::vector<json::object> events = EventsUntilEnd(id);
  json::object job = GetJob(id);
  ASSERT_EQ(job.at("state").as_string(), "succeeded") << json::serialize(job);
  EXPECT_EQ(job.at("result"), json::parse(R"({"number":2})"));
  EXPECT_EQ(job.at("attempts_used").to_number<int>(), 2);
  std::vector<std::string> states;
  bool rejected = false;
  for (const json::object& e : events) {
    if (e.at("kind") != "state") continue;  // progress events carry the state too
    states.emplace_back(e.at("state").as_string());
    if (e.at("outcome").as_string() == "rejected") {
      rejected = true;
      EXPECT_NE(std::string(e.at("message").as_string()).find("too early"), std::string::npos)
          << json::serialize(e);
    }
  }
  EXPECT_TRUE(rejected);
  EXPECT_EQ(std::count(states.begin(), states.end(), "submitted"), 2)
      << json::serialize(json::value_from(states)) << "\n"
      << Call(admin_, "GET", "/v1/jobs/" + std::to_string(id) + "/attempts").body;
}

TEST_F(ChildrenTest, TheChildrenApiSaysWhyAParentWaitsAndCancellingItCancelsThemAll) {
  std::atomic<int> stopped{0};
  auto worker = Worker("sdk",
                       {{"hold",
                         [](client::AttemptContext& ctx) {
                           json::array kids;
                           const int64_t n = ctx.payload().at("children").to_number<int64_t>();
                           for (int64_t i = 0; i < n; ++i) {
                             kids.push_back(json::object{{"type", "slow"}, {"payload", i}});
                           }
                           Result<std::vector<uint64_t>> ids = ctx.Spawn(kids);
                           if (!ids.ok()) return client::Outcome::Error(ids.status().ToString());
                           return client::Outcome::Succeeded();
                         }},
                        {"slow",
                         [&stopped](client::AttemptContext& ctx) {
                           ctx.WaitStopped(60'000);
                           ++stopped;
                           return client::Outcome::Error("stopped");
                         }}},
                       4);
  const uint64_t parent = Submit(R"({"type": "hold", "payload": {"children": 3}})");
  ASSERT_TRUE(WaitUntil([&] {
    json::object c = Children(parent);
    return c.at("summary") == json::parse(R"({"running":3})") &&
           c.at("parent").at("state").as_string() == "waiting_children";
  }));
  json::object page = Children(parent, "?limit=2");
  EXPECT_EQ(page.at("parent").at("waiting_for").as_string(),
            "3 of 3 sub-jobs have not finished (policy all)");
  ASSERT_EQ(page.at("children").as_array().size(), 2u);
  ASSERT_FALSE(page.at("next_cursor").is_null());
  json::object rest = Children(
      parent, "?limit=2&cursor=" + std::to_string(page.at("next_cursor").to_number<uint64_t>()));
  ASSERT_EQ(rest.at("children").as_array().size(), 1u);
  EXPECT_TRUE(rest.at("next_cursor").is_null());
  EXPECT_EQ(Children(parent, "?status=queued").at("children").as_array().size(), 0u);
  EXPECT_EQ(Call(admin_, "GET", "/v1/jobs/" + std::to_string(parent) + "/children?type=x").status,
            400);
  EXPECT_EQ(Call(admin_, "GET", "/v1/jobs/999999/children").status, 404);
  const std::string other = NewToken("mallory");
  EXPECT_EQ(Call(other, "GET", "/v1/jobs/" + std::to_string(parent) + "/children").status, 404);

  ASSERT_EQ(Call(admin_, "POST", "/v1/jobs/" + std::to_string(parent) + "/cancel").status, 200);
  EXPECT_EQ(GetJob(parent).at("state").as_string(), "cancelled");
  EXPECT_EQ(Children(parent).at("summary"), json::parse(R"({"cancelled":3})"));
  EXPECT_TRUE(WaitUntil([&] { return stopped.load() == 3; }));  // each worker was told to stop
}

TEST_F(ChildrenTest, ASpawnWithABadJobIsRefusedAndTheWorkerStaysConnected) {
  auto worker = Worker(
      "sdk", {{"hold", [](client::AttemptContext& ctx) {
                 json::array kids{json::object{{"type", "fan"}, {"payload", json::object{}}}};
                 Result<std::vector<uint64_t>> ids = ctx.Spawn(kids);
                 if (ids.ok()) return client::Outcome::Succeeded();
                 return client::Outcome::Error(ids.status().ToString(), false);
               }}});
  const uint64_t id = Submit(R"({"type": "hold", "payload": {"children": 1}})");
  EventsUntilEnd(id);
  json::object job = GetJob(id);
  EXPECT_EQ(job.at("state").as_string(), "failed");
  EXPECT_NE(std::string(job.at("error").as_string())
                .find("invalid_argument: spawn.jobs[0].payload.command: required (string)"),
            std::string::npos)
      << json::serialize(job);
  // The same connection goes on working.
  const uint64_t again = Submit(R"({"type": "hold", "payload": {"children": 1}})");
  EventsUntilEnd(again);
  EXPECT_EQ(GetJob(again).at("state").as_string(), "failed");
  EXPECT_NE(Call(admin_, "GET", "/v1/workers").body.find("\"sdk\""), std::string::npos);
}

// A server SIGKILL in the middle of a fan-out of 300: after the restart the parent finishes, and
// its aggregator sees every child once.
TEST_F(ChildrenTest, AFanOutSurvivesAServerKill) {
  std::atomic<int> units{0};
  auto worker = Worker(
      "sdk",
      {{"fan2",
        [](client::AttemptContext& ctx) {
          json::array kids;
          const int64_t n = ctx.payload().at("children").to_number<int64_t>();
          for (int64_t i = 0; i < n; ++i) {
            kids.push_back(json::object{{"type", "unit"}, {"payload", json::object{{"i", i}}}});
          }
          Result<std::vector<uint64_t>> ids = ctx.Spawn(kids);
          if (!ids.ok()) return client::Outcome::Error(ids.status().ToString());
          return client::Outcome::Succeeded();
        }},
       {"unit",
        [&units](client::AttemptContext& ctx) {
          ++units;
          std::this_thread::sleep_for(std::chrono::milliseconds(3));
          return client::Outcome::Succeeded(json::object{{"i", ctx.payload().at("i")}, {"one", 1}});
        }},
       {"sum2",
        [](client::AttemptContext& ctx) {
          int64_t ones = 0, indexes = 0;
          for (const json::value& c : ctx.payload().at("children").as_array()) {
            ones += c.at("result").at("one").to_number<int64_t>();
            indexes += c.at("result").at("i").to_number<int64_t>();
          }
          return client::Outcome::Succeeded(json::object{{"ones", ones}, {"indexes", indexes}});
        }}},
      4);
  const uint64_t parent = Submit(R"({"type": "fan2", "payload": {"children": 300}})");
  ASSERT_TRUE(WaitUntil([&] { return units.load() >= 100; }));
  KillAndRestartServer();
  ASSERT_TRUE(WaitUntil([&] { return StateIs(parent, "succeeded") || StateIs(parent, "failed"); }));
  json::object job = GetJob(parent);
  ASSERT_EQ(job.at("state").as_string(), "succeeded") << json::serialize(job);
  EXPECT_EQ(job.at("result"), json::parse(R"({"ones":300,"indexes":44850})"));
  EXPECT_EQ(Children(parent).at("summary"), json::parse(R"({"succeeded":300})"));
}

}  // namespace
}  // namespace baton::testing

namespace baton::testing {
namespace {

// Nested sub-jobs with their aggregators, and a verifier that rejects the first result, with a
// server SIGKILL while a chosen kind of job runs: a leaf, an aggregator, or a verifier.
class ChildrenKillTest : public ChildrenTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(ChildrenKillTest, EverythingEndsAsWithoutTheKill) {
  const std::string kill_at = GetParam();
  Hold hold(kill_at);
  auto worker = Worker(
      "sdk",
      {{"tree",
        [&](client::AttemptContext& ctx) {
          const int64_t depth = ctx.payload().at("depth").to_number<int64_t>();
          if (depth == 0) {
            hold.At("leaf");
            return client::Outcome::Succeeded(json::object{{"count", 1}});
          }
          json::array kids;
          for (int i = 0; i < 2; ++i) {
            kids.push_back(
                json::object{{"type", "tree"}, {"payload", json::object{{"depth", depth - 1}}}});
          }
          Result<std::vector<uint64_t>> ids = ctx.Spawn(kids);
          if (!ids.ok()) return client::Outcome::Error(ids.status().ToString());
          return client::Outcome::Succeeded();
        }},
       {"count",
        [&](client::AttemptContext& ctx) {
          hold.At("count");
          int64_t n = 1;
          for (const json::value& c : ctx.payload().at("children").as_array()) {
            n += c.at("result").at("count").to_number<int64_t>();
          }
          return client::Outcome::Succeeded(json::object{{"count", n}});
        }},
       {"work",
        [](client::AttemptContext& ctx) {
          return client::Outcome::Succeeded(json::object{{"number", ctx.number()}});
        }},
       {"check",
        [&](client::AttemptContext& ctx) {
          hold.At("check");
          const bool accept = ctx.payload().at("result").at("number").to_number<int64_t>() >= 2;
          return client::Outcome::Succeeded(json::object{{"accept", accept}});
        }}},
      4);
  const uint64_t tree = Submit(R"({"type": "tree", "payload": {"depth": 2}})");
  const uint64_t work =
      Submit(R"({"type": "work", "payload": {}, "retry": {"delay_initial_ms": 10, "jitter": 0}})");
  EXPECT_TRUE(hold.WaitEntered());  // not ASSERT: the release below must run
  KillAndRestartServer();
  hold.Release();
  ASSERT_TRUE(WaitUntil([&] {
    return engine::IsTerminal(
               engine::ParseJobState(GetJob(tree).at("state").as_string()).value()) &&
           engine::IsTerminal(engine::ParseJobState(GetJob(work).at("state").as_string()).value());
  }));
  json::object t = GetJob(tree);
  EXPECT_EQ(t.at("state").as_string(), "succeeded") << json::serialize(t);
  EXPECT_EQ(t.at("result"), json::parse(R"({"count":7})"));
  EXPECT_EQ(Children(tree).at("summary"), json::parse(R"({"succeeded":2})"));
  json::object w = GetJob(work);
  EXPECT_EQ(w.at("state").as_string(), "succeeded") << json::serialize(w);
  // The verifier accepts from the second attempt on; the kill may cost the job one more (an
  // assignment committed but never delivered ends as lost).
  EXPECT_GE(w.at("result").at("number").to_number<int64_t>(), 2) << json::serialize(w);
}

INSTANTIATE_TEST_SUITE_P(WhileEachKindRuns, ChildrenKillTest,
                         ::testing::Values("leaf", "count", "check"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace baton::testing
