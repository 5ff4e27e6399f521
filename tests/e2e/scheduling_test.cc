// Scheduling against a real server: fair turns between users, quotas that say why a job waits,
// resources, pausing across a restart, cron schedules across a SIGKILL, and retrying dead
// letters in bulk.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>

#include "store/sqlite/sqlite_store.h"
#include "util/worker_fixture.h"

namespace baton::testing {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

class SchedulingE2eTest : public WorkerFixture {
 protected:
  // Writes a server config file and restarts the server with it.
  void RestartWithConfig(const std::string& toml) {
    const std::string path = dir_ + "/baton.toml";
    std::ofstream(path) << toml;
    StopServer();
    listen_ = "127.0.0.1:" + std::to_string(port_);
    server_args_ = {"--config", path};
    StartServer();
  }

  std::vector<json::object> Jobs(const std::string& query = "") {
    HttpResult r = Call(admin_, "GET", "/v1/jobs?limit=1000" + query);
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<json::object> out;
    const json::value page = Json(r);
    for (const json::value& j : page.at("jobs").as_array()) out.push_back(j.as_object());
    return out;
  }
};

TEST_F(SchedulingE2eTest, TwoUsersFloodingOneTypeTakeTurns) {
  const std::string alice = NewToken("alice"), bob = NewToken("bob");
  std::map<uint64_t, std::string> owner;
  std::string batch = "[";
  for (int i = 0; i < 12; ++i) batch += std::string(i ? "," : "") + R"({"type":"t"})";
  batch += "]";
  const json::value submitted = Json(Call(alice, "POST", "/v1/jobs", batch));
  for (const json::value& j : submitted.at("jobs").as_array()) {
    owner[j.at("id").to_number<uint64_t>()] = "alice";
  }
  for (int i = 0; i < 4; ++i) owner[Submit(R"({"type":"t"})", bob)] = "bob";
  // One slot, so the order the worker runs them is the order the server handed them out.
  std::mutex mu;
  std::vector<std::string> order;
  {
    InProcessWorker worker(url(), admin_, "w", 1, {{"t", [&](client::AttemptContext& ctx) {
                                                      std::lock_guard lock(mu);
                                                      order.push_back(owner.at(ctx.job()));
                                                      return client::Outcome::Succeeded();
                                                    }}});
    ASSERT_TRUE(WaitUntil([&] {
      std::lock_guard lock(mu);
      return order.size() == 16;
    }));
  }
  EXPECT_EQ(std::vector<std::string>(order.begin(), order.begin() + 9),
            (std::vector<std::string>{"alice", "bob", "alice", "bob", "alice", "bob", "alice",
                                      "bob", "alice"}));
}

TEST_F(SchedulingE2eTest, AJobOverQuotaWaitsAndStatusSaysWhy) {
  RestartWithConfig(R"(
[scheduling.users.alice]
running_max = 1
)");
  const std::string alice = NewToken("alice");
  Hold hold("first");
  std::atomic<int> runs{0};
  InProcessWorker worker(url(), admin_, "w", 4, {{"t", [&](client::AttemptContext&) {
                                                    hold.At(++runs == 1 ? "first" : "later");
                                                    return client::Outcome::Succeeded();
                                                  }}});
  const uint64_t first = Submit(R"({"type":"t"})", alice);
  hold.WaitEntered();
  const uint64_t second = Submit(R"({"type":"t"})", alice);
  const uint64_t bobs = Submit(R"({"type":"t"})", NewToken("bob"));
  // Bob is not held back by alice's quota.
  ASSERT_TRUE(WaitUntil([&] { return GetJob(bobs).at("state") == "succeeded"; }));
  json::object waiting = GetJob(second);
  EXPECT_EQ(waiting.at("state"), "queued");
  EXPECT_EQ(waiting.at("waiting_for"), "user alice runs 1 jobs, the user's running_max");
  CliResult status = Cli({"status", std::to_string(second)});
  EXPECT_NE(status.out.find("waiting: user alice runs 1 jobs, the user's running_max"),
            std::string::npos)
      << status.out;
  hold.Release();
  ASSERT_TRUE(WaitUntil([&] { return GetJob(second).at("state") == "succeeded"; }));
  EXPECT_EQ(GetJob(first).at("state"), "succeeded");
}

TEST_F(SchedulingE2eTest, ResourcesAreCheckedAtSubmitAndMatchedToWorkers) {
  RestartWithConfig(R"(
[scheduling]
resources_max = { gpu = 2 }
)");
  HttpResult refused =
      Call(admin_, "POST", "/v1/jobs",
           R"({"type":"shell","resources":{"gpu":4},"payload":{"command":"true"}})");
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(Json(refused).at("error").at("message"),
            "resources.gpu: 4 asked for, but no worker may have more than 2 (the server's "
            "scheduling.resources_max), so no worker could ever run this job");
  const uint64_t id = Submit(
      R"({"type":"shell","resources":{"gpu":1},"labels":{"zone":"eu"},"payload":{"command":"true"}})");
  auto cpu_only = StartWorker("cpu-only", "shell", "2", "shell", {"--label", "zone=eu"});
  EXPECT_EQ(GetJob(id).at("waiting_for"),
            "no connected worker of type shell has gpu 1, label zone=eu");
  auto gpu =
      StartWorker("gpu", "shell", "2", "shell", {"--resource", "gpu=1", "--label", "zone=eu"});
  ASSERT_TRUE(WaitUntil([&] { return GetJob(id).at("state") == "succeeded"; }));
  EXPECT_EQ(GetJob(id).at("worker_id"), "admin:gpu");
  // A worker may not claim more than the policy allows.
  CliResult big = Cli({"worker", "--types", "shell", "--id", "big", "--resource", "gpu=3"});
  EXPECT_NE(big.exit_code, 0);
}

TEST_F(SchedulingE2eTest, APausedTypeStaysPausedAcrossARestart) {
  CliResult paused = Cli({"pause", "t"});
  ASSERT_EQ(paused.exit_code, 0);
  EXPECT_EQ(paused.out, "paused type t\n");
  const uint64_t id = Submit(R"({"type":"t"})");
  KillAndRestartServer();
  InProcessWorker worker(
      url(), admin_, "w", 2,
      {{"t", [](client::AttemptContext&) { return client::Outcome::Succeeded(); }}});
  ASSERT_TRUE(WaitUntil(
      [&] { return Call(admin_, "GET", "/v1/workers").body.find("\"w\"") != std::string::npos; }));
  EXPECT_EQ(GetJob(id).at("waiting_for"), "type t is paused");
  EXPECT_NE(Cli({"scheduling"}).out.find("paused"), std::string::npos);
  EXPECT_EQ(Cli({"resume", "t"}).out, "resumed type t\n");
  ASSERT_TRUE(WaitUntil([&] { return GetJob(id).at("state") == "succeeded"; }));
  // A name no job could have (here a byte that is not UTF-8) is refused, not recorded.
  HttpResult bad = Call(admin_, "POST", "/v1/types/t%FF/pause");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("type: may hold only"), std::string::npos) << bad.body;
  EXPECT_EQ(Call(admin_, "POST", "/v1/workers/a%20b/drain").status, 400);
  EXPECT_TRUE(Json(Call(admin_, "GET", "/v1/scheduling")).at("paused_types").as_array().empty());
}

TEST_F(SchedulingE2eTest, ADrainedWorkerGetsNothingNew) {
  auto w = StartWorker("w1", "shell", "2", "shell");
  EXPECT_EQ(Cli({"drain", "w1"}).exit_code, 2);  // a worker id is its token's user and its name
  EXPECT_EQ(Cli({"drain", "admin:w1"}).out, "draining worker admin:w1\n");
  const uint64_t id = Submit(R"({"type":"shell","payload":{"command":"true"}})");
  EXPECT_EQ(GetJob(id).at("waiting_for"), "every connected worker of type shell is drained");
  EXPECT_NE(Call(admin_, "GET", "/v1/workers").body.find("\"drained\":true"), std::string::npos);
  EXPECT_EQ(Cli({"drain", "admin:w1", "--undo"}).out, "undrained worker admin:w1\n");
  ASSERT_TRUE(WaitUntil([&] { return GetJob(id).at("state") == "succeeded"; }));
}

TEST_F(SchedulingE2eTest, ACronScheduleAcrossASigkillMakesNoDuplicateAndNoGap) {
  CliResult added = Cli({"schedule", "add", "every-second", "* * * * * *", "t", "-p", "k=v"});
  ASSERT_EQ(added.exit_code, 0) << added.out;
  EXPECT_NE(added.out.find("next tick 20"), std::string::npos) << added.out;
  // The tick of each job the schedule made, from its key.
  auto ticks = [&] {
    std::vector<int64_t> out;
    for (const json::object& j : Jobs()) {
      const std::string key(j.at("idempotency_key").as_string());
      if (key.starts_with("schedule:every-second:")) out.push_back(std::stoll(key.substr(22)));
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  ASSERT_TRUE(WaitUntil([&] { return ticks().size() >= 3; }));
  KillAndRestartServer();
  const size_t before = ticks().size();
  ASSERT_TRUE(WaitUntil([&] { return ticks().size() >= before + 3; }));
  CliResult removed = Cli({"schedule", "remove", "every-second"});
  ASSERT_EQ(removed.exit_code, 0) << removed.out;
  const std::vector<int64_t> all = ticks();
  // The restart was within the misfire grace: every second has its one job.
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_EQ(all[i] - all[i - 1], 1000) << "ticks " << all[i - 1] << " and " << all[i];
  }
  EXPECT_EQ(Call(admin_, "GET", "/v1/schedules/every-second").status, 404);
  // Each job carries the template's payload.
  EXPECT_EQ(json::serialize(Jobs().front().at("payload")), R"({"k":"v"})");
}

TEST_F(SchedulingE2eTest, BadSchedulesAreRefused) {
  HttpResult r =
      Call(admin_, "POST", "/v1/schedules", R"({"name":"x","cron":"* * *","job":{"type":"t"}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Json(r).at("error").at("message"),
            "cron: \"* * *\" must have 5 fields (minute hour day month weekday), 6 with seconds "
            "first, or be @hourly, @daily, @weekly, @monthly, @yearly");
  EXPECT_EQ(Json(Call(admin_, "GET", "/v1/schedules")).at("schedules").as_array().size(), 0u);
}

TEST_F(SchedulingE2eTest, DeadLettersAreListedAndRetriedInBulk) {
  std::atomic<bool> fail{true};
  InProcessWorker worker(
      url(), admin_, "w", 4,
      {{"t",
        [&](client::AttemptContext&) {
          return fail ? client::Outcome::Error("boom", false) : client::Outcome::Succeeded();
        }},
       {"u", [&](client::AttemptContext&) { return client::Outcome::Error("boom", false); }}});
  std::vector<uint64_t> ts;
  for (int i = 0; i < 3; ++i) ts.push_back(Submit(R"({"type":"t"})"));
  const uint64_t u = Submit(R"({"type":"u"})");
  ASSERT_TRUE(WaitUntil([&] { return Jobs("&status=failed").size() == 4; }));
  CliResult listed = Cli({"list", "--status", "failed"});
  EXPECT_EQ(std::count(listed.out.begin(), listed.out.end(), '\n'), 5) << listed.out;
  fail = false;
  CliResult retried = Cli({"retry", "--failed", "--type", "t"});
  ASSERT_EQ(retried.exit_code, 0) << retried.out;
  EXPECT_EQ(retried.out, "retried 3 jobs\n");
  for (uint64_t id : ts) {
    ASSERT_TRUE(WaitUntil([&] { return GetJob(id).at("state") == "succeeded"; })) << id;
  }
  EXPECT_EQ(GetJob(u).at("state"), "failed");  // another type: not retried
  EXPECT_EQ(Cli({"retry"}).exit_code, 2);      // bad input: the usage exit code
}

TEST_F(SchedulingE2eTest, TheCleanerRemovesWhatItMustAndNothingElse) {
  // What it reads is the data directory's layout; on PostgreSQL the files are in the database
  // (their deletion: PostgresFilesTest, store/postgres/postgres_store_test.cc).
  if (OnPostgres()) GTEST_SKIP() << "checks files on disk; on PostgreSQL they are in the database";
  // Finished jobs are kept forever by default here; "scratch" jobs for 1 ms; events for 1 ms.
  RestartWithConfig(R"(
[retention]
finished = "0"
events = "1ms"
interval = "1h"
types = { scratch = "1ms" }
)");
  const json::value policy = Json(Call(admin_, "GET", "/v1/scheduling")).at("retention");
  EXPECT_EQ(policy.at("types").at("scratch"), 1);
  EXPECT_EQ(policy.at("finished_ms"), 0);
  EXPECT_EQ(Call(NewToken("bob"), "POST", "/v1/retention/run").status, 403);
  const std::string data = dir_ + "/data";
  auto shell = StartWorker("w1");
  InProcessWorker worker(
      url(), admin_, "w2", 4,
      {{"scratch", [](client::AttemptContext&) { return client::Outcome::Succeeded(); }}});
  // Shell jobs with an input file, an output file and a log.
  const std::string run_sh = "#!/bin/sh\necho logged\ncp a.txt out/b.txt\n";
  auto submit_files = [&](const std::string& job) {
    HttpResult r = PostMultipart(admin_, "/v1/jobs",
                                 Multipart({{"job", job}}, {{"run.sh", run_sh}, {"a.txt", "a"}}));
    EXPECT_EQ(r.status, 201) << r.body;
    return Json(r).at("id").to_number<uint64_t>();
  };
  const uint64_t expired = submit_files(R"({"type":"shell","retention_ms":1})");
  const uint64_t kept_a_day = submit_files(R"({"type":"shell","retention_ms":86400000})");
  const uint64_t kept_by_default = Submit(R"({"type":"shell","payload":{"command":"true"}})");
  const uint64_t scratch = Submit(R"({"type":"scratch","idempotency_key":"k"})");
  const uint64_t queued = Submit(R"({"type":"nobody-runs-this","retention_ms":1})");
  for (uint64_t id : {expired, kept_a_day, kept_by_default, scratch}) {
    ASSERT_TRUE(WaitUntil([&] { return GetJob(id).at("state") == "succeeded"; })) << id;
  }
  auto input_dirs = [&] {
    return std::distance(fs::directory_iterator(data + "/inputs"), fs::directory_iterator());
  };
  ASSERT_EQ(input_dirs(), 2);
  ASSERT_TRUE(fs::exists(data + "/outputs/" + std::to_string(expired)));
  ASSERT_TRUE(fs::exists(data + "/logs/" + std::to_string(expired) + ".log"));

  // Passes until the cleaner has seen both expired jobs committed as finished.
  auto run = [&] {
    HttpResult r = Call(admin_, "POST", "/v1/retention/run");
    EXPECT_EQ(r.status, 200) << r.body;
    return Json(r).as_object();
  };
  ASSERT_TRUE(WaitUntil([&] {
    run();
    return Call(admin_, "GET", "/v1/jobs/" + std::to_string(expired)).status == 404 &&
           Call(admin_, "GET", "/v1/jobs/" + std::to_string(scratch)).status == 404;
  }));
  EXPECT_EQ(input_dirs(), 1);  // the kept job's
  EXPECT_FALSE(fs::exists(data + "/outputs/" + std::to_string(expired)));
  EXPECT_FALSE(fs::exists(data + "/logs/" + std::to_string(expired) + ".log"));
  EXPECT_EQ(Call(admin_, "GET", "/v1/jobs/" + std::to_string(expired) + "/attempts").status, 404);

  // One more pass, after everything above was written: the others are all kept.
  const json::object last = run();
  EXPECT_GE(last.at("jobs_seen").to_number<int64_t>(), 2);
  EXPECT_EQ(GetJob(kept_a_day).at("state"), "succeeded");
  EXPECT_EQ(GetJob(kept_by_default).at("state"), "succeeded");
  EXPECT_EQ(GetJob(queued).at("state"), "queued");
  EXPECT_TRUE(fs::exists(data + "/outputs/" + std::to_string(kept_a_day)));
  EXPECT_TRUE(fs::exists(data + "/logs/" + std::to_string(kept_a_day) + ".log"));
  HttpResult file = Call(admin_, "GET", "/v1/jobs/" + std::to_string(kept_a_day) + "/files/b.txt");
  EXPECT_EQ(file.status, 200);
  EXPECT_EQ(file.body, "a");

  // The deleted job's idempotency key is free: the same submit makes a new job.
  HttpResult again =
      Call(admin_, "POST", "/v1/jobs", R"({"type":"scratch","idempotency_key":"k"})");
  EXPECT_EQ(again.status, 201) << again.body;
  EXPECT_NE(Json(again).at("id").to_number<uint64_t>(), scratch);

  // In the database: the expired job's rows are gone, and the events before the cut.
  const uint64_t events_before = last.at("events_before").to_number<uint64_t>();
  EXPECT_GT(events_before, 1u);
  StopServer();
  {
    auto db = store::SqliteStore::Open(data + "/baton.db");
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    EXPECT_EQ((*db)->GetJob(expired).status().code(), StatusCode::kNotFound);
    EXPECT_TRUE((*db)->ListAttempts(expired).value().empty());
    EXPECT_FALSE((*db)->ListAttempts(kept_a_day).value().empty());
    const std::vector<engine::Event> events = (*db)->ListEvents({.after = 0, .limit = 1}).value();
    ASSERT_FALSE(events.empty());
    EXPECT_GE(events[0].seq, events_before);
  }
  // Nothing deleted comes back after a restart.
  StartServer();
  EXPECT_EQ(Call(admin_, "GET", "/v1/jobs/" + std::to_string(expired)).status, 404);
  EXPECT_EQ(GetJob(kept_a_day).at("state"), "succeeded");
  // The CLI: --keep sets a job's own retention.
  CliResult kept = Cli({"submit", "nobody-runs-this", "--keep", "2d"});
  ASSERT_EQ(kept.exit_code, 0) << kept.out;
  EXPECT_EQ(Jobs("&type=nobody-runs-this").front().at("retention_ms"), 2 * 86'400'000);
  EXPECT_NE(Cli({"submit", "t", "--keep", "soon"}).exit_code, 0);
}

}  // namespace
}  // namespace baton::testing
