// Chaos: a real server, shell workers (processes) and an in-process libbaton worker, and clients
// submitting batches through the public API, while, at moments drawn from a printed seed, the
// server is SIGKILLed and restarted, workers are SIGKILLed and replaced, a worker is SIGSTOPped
// past its lease and continued, and client connections are cut mid-request. Then every promise is
// checked against what the clients were told:
//   - every acknowledged job is there and ended; the server holds no job nobody was told of (a
//     cut or failed submit sent again with its idempotency key makes no second job);
//   - a succeeded job has exactly one succeeded attempt, a failed one none, and no job ran more
//     attempts than its attempts_max;
//   - the stopped worker's late outcomes were refused;
//   - the event stream read from 0 has no gap and ends each job in its final state;
//   - the database passes PRAGMA integrity_check after a clean stop.
//
// BATON_CHAOS_ROUNDS=N sets the rounds (default 3: the short form `make test` runs; `make chaos
// ROUNDS=N` runs more). BATON_SEED=S replays a schedule of faults (real processes still race).
#include <sqlite3.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <map>
#include <random>
#include <set>

#include "util/worker_fixture.h"

namespace baton {
namespace {

using testing::ChildProcess;
using testing::HttpResult;
namespace json = boost::json;
namespace fs = std::filesystem;

constexpr int kAttemptsMax = 4;
constexpr int kLeaseMs = 1000;

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::stoull(v) : fallback;
}

class ChaosTest : public testing::WorkerFixture {
 protected:
  // A batch of jobs with their idempotency keys: some shell jobs (a few always fail), most for the
  // in-process worker (some fail their first attempts).
  json::array Batch(const std::string& prefix, std::mt19937_64& rng) {
    json::array jobs;
    for (int i = 0; i < 10; ++i) {
      json::object job{{"idempotency_key", prefix + "-" + std::to_string(i)},
                       {"heartbeat_timeout_ms", kLeaseMs},
                       {"timeout_ms", 30'000},
                       {"attempts_max", kAttemptsMax},
                       {"retry", {{"delay_initial_ms", 20}, {"delay_max_ms", 200}}}};
      const uint64_t roll = rng() % 10;
      if (roll < 3) {
        job["type"] = "chaos-sh";
        const std::string command =
            roll == 0 && rng() % 4 == 0 ? "exit 3" : "sleep 0.0" + std::to_string(1 + rng() % 9);
        job["payload"] = {{"command", command}};
      } else {
        job["type"] = "chaos-fn";
        job["payload"] = {{"fail_first", rng() % 3}};
      }
      jobs.push_back(std::move(job));
    }
    return jobs;
  }

  std::unique_ptr<ChildProcess> StartShellWorker(const std::string& id,
                                                 const std::string& types = "chaos-sh") {
    // Its stderr goes to a file, where the driver reads which outcomes the server refused.
    auto w = std::make_unique<ChildProcess>();
    w->StopWith({SIGTERM, SIGINT});
    const std::string command = "exec '" + std::string(BATON_PATH) + "' worker --server " + url() +
                                " --token " + admin_ + " --types " + types + " --capacity 4 --id " +
                                id + " --workdir " + dir_ + "/work-" + id + " --grace-ms 200 >>" +
                                dir_ + "/" + id + ".log 2>&1";
    EXPECT_TRUE(w->Start({"/bin/sh", "-c", command}));
    return w;
  }

  std::string ReadFile(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }

  // Sends a submit and closes the connection before the answer, after all of it or half of it.
  void CutSubmit(const json::array& jobs, bool whole) {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket s(ioc);
    boost::system::error_code ec;
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port_}, ec);
    if (ec) return;
    const std::string body = json::serialize(jobs);
    const std::string head =
        "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + admin_ +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n\r\n";
    const std::string sent = head + (whole ? body : body.substr(0, body.size() / 2));
    boost::asio::write(s, boost::asio::buffer(sent), ec);
    s.close(ec);
  }
};

TEST_F(ChaosTest, NothingAcknowledgedIsLostAndNothingRunsTwiceAsSuccess) {
  const uint64_t seed = EnvOr("BATON_SEED", std::random_device{}());
  const uint64_t rounds = EnvOr("BATON_CHAOS_ROUNDS", 3);
  std::printf("chaos: seed %llu, %llu rounds (replay: BATON_SEED=%llu)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(rounds),
              static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  std::mt19937_64 rng(seed);
  const auto t_start = std::chrono::steady_clock::now();
  // Later restarts keep the port, so workers and clients find the server again.
  listen_ = "127.0.0.1:" + std::to_string(port_);
  // For the submitters: a restart rewrites port_ and admin_ (with the same values).
  const std::string server_url = url(), admin = admin_;

  // The in-process worker: fails the first `fail_first` attempts of a job, then succeeds.
  auto fn = std::make_unique<InProcessWorker>(
      url(), admin_, "fn", 16,
      std::map<std::string, client::Handler>{
          {"chaos-fn", [](client::AttemptContext& ctx) {
             const uint64_t fail_first = ctx.payload().at("fail_first").to_number<uint64_t>();
             if (ctx.number() <= fail_first) return client::Outcome::Error("planned failure");
             return client::Outcome::Succeeded(json::object{{"job", ctx.job()}});
           }}});
  std::vector<std::unique_ptr<ChildProcess>> killable;
  int next_worker = 0;
  for (int i = 0; i < 2; ++i)
    killable.push_back(StartShellWorker("sh" + std::to_string(++next_worker)));
  // The sleeper is stopped past its lease, never killed: its log must show each late outcome
  // refused.
  auto sleeper = StartShellWorker("sleeper", "chaos-sh,chaos-slow");

  // Acknowledged jobs, and batches sent without an answer (to send again at the end).
  std::mutex mu;
  std::map<uint64_t, std::string> acked;  // id -> idempotency key
  std::vector<json::array> unanswered;
  auto record = [&](const json::array& batch, const json::value& answer) {
    const json::array& ids = answer.at("jobs").as_array();
    std::lock_guard lock(mu);
    for (size_t i = 0; i < ids.size(); ++i) {
      acked[ids[i].at("id").to_number<uint64_t>()] =
          std::string(batch[i].at("idempotency_key").as_string());
    }
  };

  std::atomic<bool> stop_submitting{false};
  std::vector<std::thread> submitters;
  std::vector<uint64_t> submitter_seeds = {rng(), rng()};
  for (int t = 0; t < 2; ++t) {
    submitters.emplace_back([&, t] {
      std::mt19937_64 local(submitter_seeds[t]);
      for (int b = 0; !stop_submitting; ++b) {
        json::array batch = Batch("s" + std::to_string(t) + "-" + std::to_string(b), local);
        client::Client c(client::Endpoint::Parse(server_url).value(), admin);
        Result<json::value> answer = c.Submit(batch);
        if (answer.ok()) {
          record(batch, *answer);
        } else {
          std::lock_guard lock(mu);
          unanswered.push_back(std::move(batch));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100 + local() % 100));
      }
    });
  }

  struct Stopped {
    uint64_t job, attempt;
  };
  std::vector<Stopped> stopped_attempts;
  int server_kills = 0, worker_kills = 0, stops = 0, cuts = 0;
  auto pause = [&] { std::this_thread::sleep_for(std::chrono::milliseconds(200 + rng() % 600)); };
  for (uint64_t round = 0; round < rounds; ++round) {
    std::vector<int> actions = {0, 1, 2, 3};
    std::shuffle(actions.begin(), actions.end(), rng);
    for (int action : actions) {
      pause();
      if (action == 0) {  // the server: SIGKILL, and a new one on the same data and port
        KillAndRestartServer();
        ++server_kills;
      } else if (action == 1) {  // a shell worker: SIGKILL, and a new one
        const size_t victim = rng() % killable.size();
        killable[victim]->Kill(SIGKILL);
        killable[victim]->Wait();
        killable[victim] = StartShellWorker("sh" + std::to_string(++next_worker));
        ++worker_kills;
      } else if (action == 2) {
        // The sleeper, running a job only it runs: stopped for twice its lease, then continued.
        // Its attempt ends as lost meanwhile, so its outcome, sent late, must be refused.
        json::object slow{{"type", "chaos-slow"},
                          {"idempotency_key", "slow-" + std::to_string(stops)},
                          {"heartbeat_timeout_ms", kLeaseMs},
                          {"attempts_max", kAttemptsMax},
                          {"retry", {{"delay_initial_ms", 20}, {"delay_max_ms", 200}}},
                          {"payload", {{"command", "sleep 1"}}}};
        const json::array batch{slow};
        client::Client sc(client::Endpoint::Parse(url()).value(), admin_);
        Result<json::value> answer = sc.Submit(batch);
        for (int tries = 0; !answer.ok() && tries < 100; ++tries) {
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          answer = sc.Submit(batch);
        }
        ASSERT_TRUE(answer.ok()) << answer.status().ToString();
        record(batch, *answer);
        const uint64_t id = answer->at("jobs").as_array()[0].at("id").to_number<uint64_t>();
        uint64_t attempt = 0;
        ASSERT_TRUE(WaitUntil([&] {
          HttpResult r = Call(admin_, "GET", "/v1/jobs/" + std::to_string(id));
          if (r.status != 200) return false;
          const json::value job = Json(r);
          if (job.at("state").as_string() != "running" || !job.at("worker_id").is_string() ||
              job.at("worker_id").as_string() != "admin:sleeper") {
            return false;
          }
          attempt = job.at("attempt_id").to_number<uint64_t>();
          return true;
        })) << "the sleeper never ran job "
            << id;
        ::kill(sleeper->pid(), SIGSTOP);
        std::this_thread::sleep_for(std::chrono::milliseconds(2 * kLeaseMs + 500));
        ::kill(sleeper->pid(), SIGCONT);
        stopped_attempts.push_back({id, attempt});
        ++stops;
      } else {  // clients: requests cut before their answer
        for (int i = 0; i < 3; ++i) {
          json::array batch = Batch("cut-" + std::to_string(cuts), rng);
          CutSubmit(batch, i % 2 == 0);
          std::lock_guard lock(mu);
          unanswered.push_back(std::move(batch));
          ++cuts;
        }
      }
    }
  }
  stop_submitting = true;
  for (std::thread& t : submitters) t.join();

  // What no client heard the answer to is sent again: existing jobs answer with their ids.
  client::Client c(client::Endpoint::Parse(url()).value(), admin_);
  for (const json::array& batch : unanswered) {
    Result<json::value> answer = c.Submit(batch);
    for (int tries = 0; !answer.ok() && tries < 100; ++tries) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      answer = c.Submit(batch);
    }
    ASSERT_TRUE(answer.ok()) << answer.status().ToString();
    record(batch, *answer);
  }
  std::printf("chaos: %zu jobs acknowledged; waiting for them to end\n", acked.size());
  std::fflush(stdout);

  // Every acknowledged job ends.
  std::map<uint64_t, json::object> final_jobs;
  for (const auto& [id, key] : acked) {
    json::object job;
    const bool ended = WaitUntil([&] {
      HttpResult r = Call(admin_, "GET", "/v1/jobs/" + std::to_string(id));
      if (r.status != 200) return false;
      job = Json(r).as_object();
      return client::IsTerminalState(job.at("state").as_string());
    });
    ASSERT_TRUE(ended) << "job " << id << " (" << key << ") did not end: " << json::serialize(job);
    EXPECT_EQ(job.at("idempotency_key").as_string(), key) << id;
    final_jobs[id] = std::move(job);
  }

  // The server holds exactly the acknowledged jobs: no duplicate from a submit sent twice.
  std::set<uint64_t> stored;
  std::string cursor;
  for (;;) {
    HttpResult page = Call(admin_, "GET", "/v1/jobs?limit=1000" + cursor);
    ASSERT_EQ(page.status, 200) << page.body;
    json::value v = Json(page);
    for (const json::value& j : v.at("jobs").as_array())
      stored.insert(j.at("id").to_number<uint64_t>());
    if (v.at("next_cursor").is_null()) break;
    cursor = "&cursor=" + std::to_string(v.at("next_cursor").to_number<uint64_t>());
  }
  std::set<uint64_t> acked_ids;
  for (const auto& [id, key] : acked) acked_ids.insert(id);
  EXPECT_EQ(stored, acked_ids);

  // Attempts: one success per succeeded job, none for a failed one, never past attempts_max.
  std::map<std::string, int> ends;
  std::map<uint64_t, std::map<uint64_t, std::string>> outcomes;  // job -> attempt -> outcome
  for (const auto& [id, job] : final_jobs) {
    HttpResult r = Call(admin_, "GET", "/v1/jobs/" + std::to_string(id) + "/attempts");
    ASSERT_EQ(r.status, 200) << r.body;
    int succeeded = 0, counted = 0;
    const json::value r_body = Json(r);
    for (const json::value& a : r_body.at("attempts").as_array()) {
      const std::string outcome(a.at("outcome").as_string());
      outcomes[id][a.at("attempt").to_number<uint64_t>()] = outcome;
      succeeded += outcome == "succeeded";
      counted += outcome != "declined";
    }
    const std::string state(job.at("state").as_string());
    ++ends[state];
    EXPECT_EQ(succeeded, state == "succeeded" ? 1 : 0) << json::serialize(job) << "\n" << r.body;
    EXPECT_LE(counted, kAttemptsMax) << r.body;
    EXPECT_LE(job.at("attempts_used").to_number<int>(), kAttemptsMax) << json::serialize(job);
  }

  // The stopped worker's attempts whose lease ran out: their late outcomes were refused.
  int late_refused = 0;
  for (const Stopped& s : stopped_attempts) {
    auto it = outcomes[s.job].find(s.attempt);
    ASSERT_NE(it, outcomes[s.job].end()) << "job " << s.job << " attempt " << s.attempt;
    EXPECT_EQ(it->second, "lost") << "job " << s.job << " attempt " << s.attempt;
    const std::string line = "refused the outcome of job " + std::to_string(s.job) + " attempt " +
                             std::to_string(s.attempt) + ":";
    EXPECT_TRUE(WaitUntil([&] {
      return ReadFile(dir_ + "/sleeper.log").find(line) != std::string::npos;
    })) << line;
    ++late_refused;
  }

  // The event stream from 0: no gap, and each job's last state event is its final state.
  uint64_t last_seq = 0;
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(
        sqlite3_open_v2((dir_ + "/data/baton.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr),
        SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT MAX(seq) FROM events", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    last_seq = static_cast<uint64_t>(sqlite3_column_int64(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  ASSERT_GT(last_seq, 0u);
  uint64_t expected = 1;
  std::map<uint64_t, std::string> last_state;
  Status streamed = c.Events(0, 0, [&](const json::object& e) {
    const uint64_t seq = e.at("seq").to_number<uint64_t>();
    EXPECT_EQ(seq, expected) << "a gap in the event stream";
    expected = seq + 1;
    if (e.at("kind") == "state") {
      last_state[e.at("job").to_number<uint64_t>()] = std::string(e.at("state").as_string());
    }
    return seq < last_seq;
  });
  EXPECT_TRUE(streamed.ok()) << streamed.ToString();
  EXPECT_EQ(expected, last_seq + 1);
  for (const auto& [id, job] : final_jobs) {
    EXPECT_EQ(last_state[id], job.at("state").as_string()) << "job " << id;
  }

  // A clean stop, and a sound file.
  fn.reset();
  killable.clear();
  sleeper.reset();
  StopServer();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ + "/data/baton.db").c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "ok");
    sqlite3_finalize(st);
    sqlite3_close(db);
  }

  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  std::printf(
      "chaos: {\"seed\":%llu,\"rounds\":%llu,\"jobs\":%zu,\"succeeded\":%d,\"failed\":%d,"
      "\"server_kills\":%d,\"worker_kills\":%d,\"worker_stops\":%d,\"late_outcomes_refused\":%d,"
      "\"cut_requests\":%d,\"events\":%llu,\"seconds\":%.1f}\n",
      static_cast<unsigned long long>(seed), static_cast<unsigned long long>(rounds), acked.size(),
      ends["succeeded"], ends["failed"], server_kills, worker_kills, stops, late_refused, cuts,
      static_cast<unsigned long long>(last_seq), seconds);
}

}  // namespace
}  // namespace baton
