// Workers end to end: a real server, real `baton worker` processes with the shell executor, the
// real CLI, on loopback. Jobs run, report progress and logs, are cancelled and timed out (their
// whole process tree goes), survive a killed worker, and a drained worker finishes its work.
#include "client/worker.h"

#include <signal.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "client/client.h"
#include "util/worker_fixture.h"

namespace baton {
namespace {

using namespace std::chrono_literals;
using testing::ChildProcess;
using testing::HttpResult;
namespace json = boost::json;

using WorkerTest = testing::WorkerFixture;

TEST_F(WorkerTest, AShellJobReportsProgressLogsAndOutputFiles) {
  auto worker = StartWorker("w1");
  // By the CLI, waiting: the progress line shows while it runs.
  CliResult r = Cli({"submit", "shell", "-c",
                     "echo first line; echo '::progress 0.5 halfway'; echo oops >&2; "
                     "echo 42 > out/answer.txt; mkdir out/sub; echo x > out/sub/more.txt"
                     "; echo last line",
                     "--wait"});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("running 50% halfway"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("succeeded"), std::string::npos) << r.out;
  const uint64_t id = 1;
  json::object job = GetJob(id);
  EXPECT_EQ(job.at("state").as_string(), "succeeded");
  EXPECT_EQ(job.at("worker_id").as_string(), "admin:w1");  // its token's user, its name
  const json::array& files = job.at("result").at("files").as_array();
  std::vector<std::string> names;
  for (const json::value& f : files) names.emplace_back(f.as_string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"answer.txt", "sub/more.txt"}));

  CliResult logs = Cli({"logs", std::to_string(id)});
  EXPECT_EQ(logs.exit_code, 0);
  EXPECT_NE(logs.out.find("first line"), std::string::npos) << logs.out;
  EXPECT_NE(logs.out.find("oops"), std::string::npos) << logs.out;
  EXPECT_NE(logs.out.find("last line"), std::string::npos) << logs.out;
  EXPECT_EQ(logs.out.find("::progress"), std::string::npos) << "progress lines are not logged";

  // By plain HTTP, as curl would: the events carry the progress.
  const uint64_t second = Submit(
      R"({"type":"shell","payload":{"command":"echo '::progress 0.25 a quarter'; echo done"}})");
  std::vector<json::object> events = EventsUntilEnd(second);
  // Both ends of the bar as progress events: 0 when the attempt starts, 1 before the success.
  std::vector<double> progress;
  for (const json::object& e : events) {
    if (e.at("kind").as_string() != "progress") continue;
    progress.push_back(e.at("progress").to_number<double>());
    if (progress.back() == 0.25) {
      EXPECT_EQ(e.at("message").as_string(), "a quarter");
    }
  }
  EXPECT_EQ(progress, (std::vector<double>{0.0, 0.25, 1.0}));
  // The submit's answer names the event that all of the new job's follow: from there the stream
  // holds its whole history, although it ended before the stream began.
  HttpResult third = Call(admin_, "POST", "/v1/jobs",
                          R"({"type":"shell","payload":{"command":"echo '::progress 0.5 x'"}})");
  ASSERT_EQ(third.status, 201) << third.body;
  const json::object answer = json::parse(third.body).as_object();
  const uint64_t third_id = answer.at("id").to_number<uint64_t>();
  EXPECT_EQ(EventsUntilEnd(third_id).back().at("state").as_string(), "succeeded");
  std::vector<json::object> from_answer =
      EventsUntilEnd(third_id, answer.at("event_seq").to_number<uint64_t>());
  ASSERT_FALSE(from_answer.empty());
  EXPECT_EQ(from_answer.front().at("state").as_string(), "queued");
  EXPECT_EQ(from_answer.size(), EventsUntilEnd(third_id).size());
  EXPECT_EQ(events.back().at("state").as_string(), "succeeded");
  EXPECT_EQ(GetJob(second).at("progress").to_number<double>(), 1.0);
  EXPECT_EQ(Cli({"result", std::to_string(second)}).out, "{\"exit_code\":0,\"files\":[]}\n");
}

// timeout_ms null (`--timeout none`): no timeout, as long as the worker heartbeats; the CLI takes
// seconds or a duration too, and says what it cannot read.
TEST_F(WorkerTest, AJobMayHaveNoTimeout) {
  auto worker = StartWorker("w1");
  CliResult none = Cli({"submit", "shell", "-c", "true", "--timeout", "none", "--wait"});
  EXPECT_EQ(none.exit_code, 0) << none.out;
  EXPECT_TRUE(GetJob(1).at("timeout_ms").is_null());
  const uint64_t api = Submit(R"({"type":"shell","payload":{"command":"true"},"timeout_ms":null})");
  EXPECT_TRUE(GetJob(api).at("timeout_ms").is_null());
  EXPECT_EQ(Cli({"submit", "shell", "-c", "true", "--timeout", "2h30m"}).exit_code, 0);
  EXPECT_EQ(GetJob(3).at("timeout_ms").to_number<int64_t>(), 9'000'000);
  EXPECT_EQ(Cli({"submit", "shell", "-c", "true", "--timeout", "90"}).exit_code, 0);
  EXPECT_EQ(GetJob(4).at("timeout_ms").to_number<int64_t>(), 90'000);
  CliResult bad = Cli({"submit", "shell", "-c", "true", "--timeout", "ten"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(Json(Call(admin_, "GET", "/v1/jobs")).at("jobs").as_array().size(), 4u);
  ASSERT_TRUE(WaitUntil([&] { return GetJob(api).at("state") == "succeeded"; }));
}

// A result waiting for a verdict is work handed in: it waits for as long as it takes, is listed for
// the human who judges it, and fails with its result kept only past a verdict deadline it asked
// for; the work is never done again for want of a verdict.
TEST_F(WorkerTest, AResultAwaitingAVerdictWaitsUnlessItHasADeadline) {
  auto worker = StartWorker("w1");
  const std::string command = R"(echo '{"rows":3}' > out/result.json)";
  CliResult patient = Cli({"submit", "shell", "--verify", "--timeout", "1", "-c", command});
  ASSERT_EQ(patient.exit_code, 0) << patient.out;
  CliResult hasty = Cli({"submit", "shell", "--verify", "--verdict-timeout", "2s", "-c", command});
  ASSERT_EQ(hasty.exit_code, 0) << hasty.out;
  ASSERT_TRUE(WaitUntil([&] { return GetJob(1).at("state") == "submitted"; }))
      << json::serialize(GetJob(1));
  ASSERT_TRUE(WaitUntil([&] { return GetJob(2).at("state") == "submitted"; }));
  CliResult listed = Cli({"list", "--status", "submitted"});
  ASSERT_EQ(listed.exit_code, 0) << listed.out;
  EXPECT_EQ(std::count(listed.out.begin(), listed.out.end(), '\n'), 3) << listed.out;

  // Job 2's deadline passes: it fails, its result kept, run once.
  ASSERT_TRUE(WaitUntil([&] { return GetJob(2).at("state") == "failed"; }))
      << json::serialize(GetJob(2));
  json::object failed = GetJob(2);
  EXPECT_EQ(failed.at("error"),
            "no verdict: the result waited longer than its verdict_timeout_ms of 2000 ms");
  EXPECT_EQ(failed.at("result"), json::parse(R"({"rows":3})"));
  EXPECT_EQ(failed.at("attempts_used"), 1);
  EXPECT_EQ(Json(Call(admin_, "GET", "/v1/jobs/2/result")).at("result"),
            json::parse(R"({"rows":3})"));
  // Job 1 (a 1 s attempt timeout, no verdict deadline) waited as long, and waits on.
  EXPECT_EQ(GetJob(1).at("state"), "submitted");
  EXPECT_EQ(GetJob(1).at("attempts_used"), 1);
  ASSERT_EQ(Cli({"accept", "1"}).exit_code, 0);
  EXPECT_EQ(GetJob(1).at("state"), "succeeded");

  // Refused, and nothing is submitted.
  EXPECT_EQ(Cli({"submit", "shell", "--verdict-timeout", "1h", "-c", "true"}).exit_code, 2);
  EXPECT_EQ(
      Cli({"submit", "shell", "--verify", "--verdict-timeout", "soon", "-c", "true"}).exit_code, 2);
  HttpResult api = Call(admin_, "POST", "/v1/jobs",
                        R"({"type":"shell","payload":{"command":"true"},"verdict_timeout_ms":5})");
  EXPECT_EQ(api.status, 400);
  EXPECT_NE(api.body.find("verdict_timeout_ms: only with verify: true"), std::string::npos)
      << api.body;
  EXPECT_EQ(Json(Call(admin_, "GET", "/v1/jobs")).at("jobs").as_array().size(), 2u);
}

// `baton logs -f` and GET .../logs?follow=1: the log as it grows, ending when the job ends.
TEST_F(WorkerTest, FollowingALogStreamsItUntilTheJobEnds) {
  auto worker = StartWorker("w1");
  // The job waits for a file the test writes once a follower has seen its first line, so the
  // follower is certainly attached while the job runs.
  const std::string gate = dir_ + "/gate";
  const uint64_t id = Submit(R"({"type":"shell","payload":{"command":"echo one; while [ ! -f )" +
                             gate + R"( ]; do sleep 0.02; done; echo two; echo three >&2"}})");
  client::Client c(client::Endpoint::Parse(url()).value(), admin_);
  std::string seen;
  Status s = c.Stream("/v1/jobs/" + std::to_string(id) + "/logs?follow=1", [&](std::string_view d) {
    if (seen.empty()) std::ofstream(gate) << "go";
    seen.append(d);
    return true;
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(seen, "one\ntwo\nthree\n");
  EXPECT_EQ(GetJob(id).at("state").as_string(), "succeeded");
  // A finished job: the whole log, then the end; from an offset, the rest.
  CliResult cli = Cli({"logs", "-f", std::to_string(id)});
  EXPECT_EQ(cli.exit_code, 0);
  EXPECT_EQ(cli.out, "one\ntwo\nthree\n");
  std::string rest;
  ASSERT_TRUE(c.Stream("/v1/jobs/" + std::to_string(id) + "/logs?follow=1&offset=4",
                       [&](std::string_view d) {
                         rest.append(d);
                         return true;
                       })
                  .ok());
  EXPECT_EQ(rest, "two\nthree\n");
  EXPECT_EQ(Call(admin_, "GET", "/v1/jobs/" + std::to_string(id) + "/logs?follow=2").status, 400);
}

// A cancelled job's own process gets SIGTERM and the grace period to clean up, however it was
// started: an uploaded run.sh (with and without a #! line) as much as a payload command. The
// cleanup runs in a child of the trap, after the first process could have been reaped.
TEST_F(WorkerTest, EveryKindOfJobGetsItsGracePeriod) {
  auto worker = StartWorker("w1", "shell", "3", "shell", {"--grace-ms", "30000"});
  const std::string script =
      // The mark appears whole (a rename), so the test never reads it half written.
      "trap 'sleep 0.3; echo cleaned > \"$MARK.tmp\"; mv \"$MARK.tmp\" \"$MARK\"; exit 0' TERM\n"
      "echo started > \"$MARK.started\"\n"
      "while :; do sleep 0.05; done\n";
  struct Case {
    std::string name;
    uint64_t id = 0;
  };
  std::vector<Case> cases = {{"plain"}, {"shebang"}, {"command"}};
  for (Case& c : cases) {
    const std::string mark = dir_ + "/mark-" + c.name;
    const std::string body = "MARK=" + mark + "\n" + script;
    if (c.name == "command") {
      json::object job{{"type", "shell"}, {"payload", {{"command", body}}}};
      c.id = Submit(json::serialize(job));
    } else {
      const std::string run = (c.name == "shebang" ? "#!/bin/sh\n" : "") + body;
      HttpResult posted = PostMultipart(
          admin_, "/v1/jobs", Multipart({{"job", R"({"type":"shell"})"}}, {{"run.sh", run}}));
      ASSERT_EQ(posted.status, 201) << posted.body;
      c.id = Json(posted).at("id").to_number<uint64_t>();
    }
  }
  for (const Case& c : cases) {
    ASSERT_TRUE(WaitUntil([&] {
      return std::filesystem::exists(dir_ + "/mark-" + c.name + ".started");
    })) << c.name;
    EXPECT_EQ(Cli({"cancel", std::to_string(c.id)}).exit_code, 0);
  }
  for (const Case& c : cases) {
    const std::string mark = dir_ + "/mark-" + c.name;
    ASSERT_TRUE(WaitUntil([&] { return std::filesystem::exists(mark); }))
        << c.name << ": its cleanup never ran (killed before the grace period was over)";
    std::ifstream in(mark);
    std::string text;
    std::getline(in, text);
    EXPECT_EQ(text, "cleaned") << c.name;
    EXPECT_EQ(GetJob(c.id).at("state"), "cancelled");
  }
}

TEST_F(WorkerTest, CancelEndsTheWholeProcessTree) {
  auto worker = StartWorker("w1");
  const std::string pids = dir_ + "/pids";
  const uint64_t id = Submit(R"({"type":"shell","payload":{"command":"sleep 300 & echo $! > )" +
                             pids + R"(.tmp; sleep 301 & echo $! >> )" + pids + ".tmp; mv " + pids +
                             ".tmp " + pids + R"(; wait"}})");
  ASSERT_TRUE(WaitUntil([&] { return std::filesystem::exists(pids); }));
  std::vector<pid_t> children;
  std::ifstream in(pids);
  for (pid_t p; in >> p;) children.push_back(p);
  ASSERT_EQ(children.size(), 2u);
  for (pid_t p : children) EXPECT_FALSE(ProcessGone(p));
  CliResult r = Cli({"cancel", std::to_string(id)});
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(GetJob(id).at("state").as_string(), "cancelled");
  for (pid_t p : children) EXPECT_TRUE(WaitUntil([&] { return ProcessGone(p); })) << p;
  // The worker's slot is free again: the next job runs.
  EXPECT_EQ(Cli({"submit", "shell", "-c", "true", "--wait"}).exit_code, 0);
}

TEST_F(WorkerTest, ATimedOutAttemptIsStoppedAndTheJobRunsAgain) {
  auto worker = StartWorker("w1");
  const std::string pids = dir_ + "/pids";
  const uint64_t id = Submit(R"({"type":"shell","payload":{"command":"echo $$ >> )" + pids +
                             R"(; exec sleep 300"},"timeout_ms":300,"attempts_max":2,
          "retry":{"delay_initial_ms":100,"jitter":0}})");
  std::vector<json::object> events = EventsUntilEnd(id);
  std::vector<std::string> trail;
  for (const json::object& e : events) {
    if (e.at("kind").as_string() != "state") continue;
    std::string step(e.at("state").as_string());
    if (e.at("outcome").as_string() != "none")
      step += "/" + std::string(e.at("outcome").as_string());
    trail.push_back(step);
  }
  EXPECT_EQ(trail, (std::vector<std::string>{"queued", "running", "retry_wait/timeout", "queued",
                                             "running", "failed/timeout"}));
  EXPECT_EQ(GetJob(id).at("attempts_used").to_number<int>(), 2);
  // Both attempts' processes were stopped.
  std::vector<pid_t> started;
  std::ifstream in(pids);
  for (pid_t p; in >> p;) started.push_back(p);
  EXPECT_EQ(started.size(), 2u);
  for (pid_t p : started) EXPECT_TRUE(WaitUntil([&] { return ProcessGone(p); })) << p;
}

TEST_F(WorkerTest, AJobOfAKilledWorkerRunsAgainOnAnother) {
  auto first = StartWorker("first");
  const std::string started = dir_ + "/started";
  const uint64_t id =
      Submit(R"({"type":"shell","heartbeat_timeout_ms":1000,"payload":{"command":"echo $$ > )" +
             started + ".tmp; mv " + started + ".tmp " + started +
             R"(; [ \"$BATON_ATTEMPT\" = 2 ] || exec sleep 300; echo second"}})");
  ASSERT_TRUE(WaitUntil([&] { return std::filesystem::exists(started); }));
  pid_t orphan = 0;
  std::ifstream(started) >> orphan;
  ASSERT_GT(orphan, 0);
  // The first attempt's process outlives its SIGKILLed worker; it goes when the test ends, by its
  // PID alone (tests run in parallel, and others have their own sleeps).
  std::unique_ptr<pid_t, void (*)(pid_t*)> reap(&orphan, [](pid_t* p) { ::kill(*p, SIGKILL); });
  EXPECT_EQ(GetJob(id).at("worker_id").as_string(), "admin:first");
  first->Kill(SIGKILL);
  first->Wait();
  auto second = StartWorker("second");
  ASSERT_TRUE(WaitUntil([&] { return GetJob(id).at("state").as_string() == "succeeded"; }));
  json::object job = GetJob(id);
  EXPECT_EQ(job.at("worker_id").as_string(), "admin:second");
  EXPECT_EQ(job.at("attempts_used").to_number<int>(), 2);
  EXPECT_EQ(job.at("last_outcome").as_string(), "succeeded");
  // Its history: the lost attempt on the killed worker, then the success on the other.
  HttpResult attempts = Call(admin_, "GET", "/v1/jobs/" + std::to_string(id) + "/attempts");
  ASSERT_EQ(attempts.status, 200) << attempts.body;
  const json::value history = Json(attempts);
  const json::array& list = history.at("attempts").as_array();
  ASSERT_EQ(list.size(), 2u) << attempts.body;
  EXPECT_EQ(list[0].at("worker"), "admin:first");
  EXPECT_EQ(list[0].at("outcome"), "lost");
  EXPECT_EQ(list[0].at("number"), 1);
  EXPECT_EQ(list[1].at("worker"), "admin:second");
  EXPECT_EQ(list[1].at("outcome"), "succeeded");
  EXPECT_EQ(Call(NewToken("eve"), "GET", "/v1/jobs/" + std::to_string(id) + "/attempts").status,
            404);
}

TEST_F(WorkerTest, SigtermDrainsAWorker) {
  auto worker = StartWorker("w1");
  const std::string started = dir_ + "/started";
  const uint64_t id = Submit(R"({"type":"shell","payload":{"command":"touch )" + started +
                             R"(; sleep 0.5; echo finished"}})");
  ASSERT_TRUE(WaitUntil([&] { return std::filesystem::exists(started); }));
  worker->Kill(SIGTERM);
  const int status = worker->Wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  // It finished the job before it left, and the server no longer lists it.
  EXPECT_EQ(GetJob(id).at("state").as_string(), "succeeded");
  EXPECT_TRUE(
      WaitUntil([&] { return Call(admin_, "GET", "/v1/workers").body == R"({"workers":[]})"; }));
}

TEST_F(WorkerTest, UsersSeeOnlyTheirOwnEventsAndLogs) {
  auto worker = StartWorker("w1");
  const std::string alice = NewToken("alice"), bob = NewToken("bob");
  const uint64_t id = Submit(R"({"type":"shell","payload":{"command":"echo secret"}})", alice);
  EventsUntilEnd(id);
  EXPECT_EQ(Call(alice, "GET", "/v1/jobs/" + std::to_string(id) + "/logs").body, "secret\n");
  EXPECT_EQ(Call(bob, "GET", "/v1/jobs/" + std::to_string(id) + "/logs").status, 404);
  EXPECT_EQ(Call(bob, "GET", "/v1/events?job=" + std::to_string(id)).status, 404);
  CliResult r = Cli({"logs", std::to_string(id)}, bob);
  EXPECT_EQ(r.exit_code, 3);
  // Bob's unfiltered stream holds none of Alice's events: his own job's come first.
  const uint64_t mine = Submit(R"({"type":"shell","payload":{"command":"true"}})", bob);
  client::Client c(client::Endpoint::Parse(url()).value(), bob);
  Status s = c.Events(0, 0, [&](const json::object& e) {
    EXPECT_EQ(e.at("job").to_number<uint64_t>(), mine);
    return false;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  // And a user's token cannot connect as a worker.
  client::WorkerOptions options;
  options.servers = {client::Endpoint::Parse(url()).value()};
  options.token = bob;
  options.id = "bobs";
  client::Worker w(options);
  w.Register("shell", [](client::AttemptContext&) { return client::Outcome::Succeeded(); });
  EXPECT_EQ(w.Run().code(), StatusCode::kPermissionDenied);
}

TEST_F(WorkerTest, AnEventStreamResumesAfterARestartWithoutAGap) {
  auto worker = StartWorker("w1");
  const uint64_t first = Submit(R"({"type":"shell","payload":{"command":"true"}})");
  EventsUntilEnd(first);
  client::Client before(client::Endpoint::Parse(url()).value(), admin_);
  uint64_t last = 0;
  ASSERT_TRUE(before
                  .Events(0, 0,
                          [&](const json::object& e) {
                            EXPECT_EQ(e.at("seq").to_number<uint64_t>(), last + 1);
                            last = e.at("seq").to_number<uint64_t>();
                            return e.at("state").as_string() != "succeeded";
                          })
                  .ok());
  worker->Kill(SIGKILL);
  worker->Wait();
  StopServer();
  StartServer();
  worker = StartWorker("w2");
  const uint64_t second = Submit(R"({"type":"shell","payload":{"command":"true"}})");
  EventsUntilEnd(second);
  client::Client after(client::Endpoint::Parse(url()).value(), admin_);
  uint64_t next = last;
  ASSERT_TRUE(after
                  .Events(last, 0,
                          [&](const json::object& e) {
                            EXPECT_EQ(e.at("seq").to_number<uint64_t>(), next + 1) << "a gap";
                            next = e.at("seq").to_number<uint64_t>();
                            return !(e.at("job").to_number<uint64_t>() == second &&
                                     e.at("state").as_string() == "succeeded");
                          })
                  .ok());
  EXPECT_GT(next, last);
}

// `baton bench` runs its own server and workers and reports every figure (their values are
// measurements, not asserted).
TEST_F(WorkerTest, BenchReportsThroughputLatencyFanoutAndCalibrations) {
  CliResult r =
      Run({BATON_PATH, "bench", "--jobs", "300", "--batch", "100", "--latency-jobs", "20",
           "--children", "50", "--workers", "1", "--capacity", "8", "--dir", dir_, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  json::value v = json::parse(r.out);
  EXPECT_EQ(v.at("throughput").at("jobs").as_int64(), 300);
  EXPECT_GT(v.at("throughput").at("jobs_per_s").as_int64(), 0);
  // Every job was checked in the committed store.
  EXPECT_EQ(v.at("throughput").at("succeeded").to_number<uint64_t>(), 300u);
  EXPECT_EQ(v.at("latency").at("jobs").to_number<uint64_t>(), 20u);
  EXPECT_LE(v.at("latency").at("p50_ms").as_double(), v.at("latency").at("max_ms").as_double());
  // The fan-out reports only when the aggregator saw every child succeed.
  EXPECT_EQ(v.at("fanout").at("children").to_number<uint64_t>(), 50u);
  EXPECT_GT(v.at("fanout").at("seconds").as_double(), 0);
  EXPECT_GT(v.at("calibration").at("sqlite_rows_per_s").as_int64(), 0);
  EXPECT_GT(v.at("calibration").at("loopback_rtt_us").as_double(), 0);
  // It cleans up after itself: its data directory is gone.
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().filename().string().rfind("baton-bench-", 0), std::string::npos)
        << entry.path();
  }
}

// `baton bench scale` fills a queue of its own server, measures, kills the server and restarts
// it, and reports every figure; the restart recovers exactly the queue it left.
TEST_F(WorkerTest, BenchScaleReportsRatesMemoryAndARestart) {
  CliResult r = Run({BATON_PATH, "bench", "scale", "--depth", "2000", "--sample", "200", "--batch",
                     "100", "--workers", "1", "--capacity", "8", "--dir", dir_, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  json::value v = json::parse(r.out);
  const json::value& s = v.at("scale");
  // The queue at depth: the fill and the sample submitted at depth, none taken while paused.
  EXPECT_EQ(s.at("depth").to_number<uint64_t>(), 2200u);
  // The deep dispatch took at least its sample; the restart found what was left.
  const uint64_t left = s.at("restart_queued").to_number<uint64_t>();
  EXPECT_LE(left, 2000u);
  EXPECT_GT(left, 0u);
  for (const char* key :
       {"submit_empty_jobs_per_s", "submit_deep_jobs_per_s", "dispatch_empty_jobs_per_s",
        "dispatch_deep_jobs_per_s", "rss_deep_mib", "restart_rss_mib", "restart_ready_s"}) {
    EXPECT_GT(s.at(key).to_number<double>(), 0) << key;
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().filename().string().rfind("baton-scale-", 0), std::string::npos)
        << entry.path();
  }
}

// `baton bench load` holds in small: every client's jobs succeed and each one's stream shows
// exactly queued, running, succeeded; it exits 0 only then.
TEST_F(WorkerTest, BenchLoadHoldsWithManyClientsSubmittingAndWatching) {
  CliResult r = Run({BATON_PATH, "bench", "load", "--clients", "12", "--seconds", "2", "--workers",
                     "2", "--dir", dir_, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const json::value v = json::parse(r.out);
  const json::value& load = v.at("load");
  EXPECT_TRUE(load.at("held").as_bool());
  EXPECT_EQ(load.at("errors").to_number<uint64_t>(), 0u);
  EXPECT_EQ(load.at("lost_events").to_number<uint64_t>(), 0u);
  EXPECT_GE(load.at("jobs").to_number<uint64_t>(), 12u);
}

}  // namespace
}  // namespace baton
