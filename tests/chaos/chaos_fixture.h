// What every chaos test shares: the jobs it submits, the workers it starts, the clients that
// submit while faults happen, and the check of every promise afterwards against what the clients
// were told:
//   - every acknowledged job is there and ended; the server holds no job nobody was told of (a
//     cut or failed submit sent again with its idempotency key makes no second job);
//   - a succeeded job has exactly one succeeded attempt, a failed one none, and no job ran more
//     attempts than its attempts_max;
//   - the late outcomes of a worker stopped past its lease were refused;
//   - the event stream read from 0 has no gap and ends each job in its final state.
// chaos_test.cc runs it over SQLite, pg_chaos_test.cc over PostgreSQL with two servers and with
// Patroni.
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <set>

#include "util/worker_fixture.h"

namespace baton::testing {

namespace json = boost::json;

inline uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::stoull(v) : fallback;
}

class ChaosFixture : public WorkerFixture {
 protected:
  static constexpr int kAttemptsMax = 4;
  static constexpr int kLeaseMs = 1000;

  // The servers clients and workers are given: url() unless a test sets more ("URL1,URL2").
  std::string servers() const { return servers_.empty() ? url() : servers_; }

  // A batch of jobs with their idempotency keys: some shell jobs (a few always fail), most for the
  // in-process worker (some fail their first attempts).
  static json::array Batch(const std::string& prefix, std::mt19937_64& rng) {
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
    const std::string command = "exec '" + std::string(BATON_PATH) + "' worker --server " +
                                servers() + " --token " + admin_ + " --types " + types +
                                " --capacity 4 --id " + id + " --workdir " + dir_ + "/work-" + id +
                                " --grace-ms 200 >>" + dir_ + "/" + id + ".log 2>&1";
    EXPECT_TRUE(w->Start({"/bin/sh", "-c", command}));
    return w;
  }

  // The in-process worker: fails the first `fail_first` attempts of a job, then succeeds.
  std::unique_ptr<InProcessWorker> StartFunctionWorker() {
    return std::make_unique<InProcessWorker>(
        servers(), admin_, "fn", 16,
        std::map<std::string, client::Handler>{
            {"chaos-fn", [](client::AttemptContext& ctx) {
               const uint64_t fail_first = ctx.payload().at("fail_first").to_number<uint64_t>();
               if (ctx.number() <= fail_first) return client::Outcome::Error("planned failure");
               return client::Outcome::Succeeded(json::object{{"job", ctx.job()}});
             }}});
  }

  client::Client NewClient() const {
    return client::Client(client::Endpoint::ParseList(servers()).value(), admin_);
  }

  static std::string ReadFile(const std::string& path) {
    std::ifstream in(path);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }

  // Sends a submit to `port` and closes the connection before the answer, after all of it or
  // half of it.
  void CutSubmit(uint16_t port, const json::array& jobs, bool whole) {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket s(ioc);
    boost::system::error_code ec;
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port}, ec);
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

  // The shell workers that faults may SIGKILL: one of them, drawn from `rng`, goes and a new one
  // (the next `*next` id) takes its place.
  void ReplaceAWorker(std::vector<std::unique_ptr<ChildProcess>>& killable, std::mt19937_64& rng,
                      int* next) {
    const size_t victim = rng() % killable.size();
    killable[victim]->Kill(SIGKILL);
    killable[victim]->Wait();
    killable[victim] = StartShellWorker("sh" + std::to_string(++*next));
  }

  // Acknowledged jobs, and batches sent without an answer (to send again at the end).
  struct Ledger {
    std::mutex mu;
    std::map<uint64_t, std::string> acked;  // id -> idempotency key
    std::vector<json::array> unanswered;
    void Record(const json::array& batch, const json::value& answer) {
      const json::array& ids = answer.at("jobs").as_array();
      std::lock_guard lock(mu);
      for (size_t i = 0; i < ids.size(); ++i) {
        acked[ids[i].at("id").to_number<uint64_t>()] =
            std::string(batch[i].at("idempotency_key").as_string());
      }
    }
    void Unanswered(json::array batch) {
      std::lock_guard lock(mu);
      unanswered.push_back(std::move(batch));
    }
  };

  // Two clients submitting a batch every 100-200 ms until Stop().
  class Submitters {
   public:
    Submitters(ChaosFixture* f, Ledger* ledger, std::mt19937_64& rng) {
      const std::string servers = f->servers(), admin = f->admin_;
      for (int t = 0; t < 2; ++t) {
        threads_.emplace_back([this, ledger, servers, admin, t, seed = rng()] {
          std::mt19937_64 local(seed);
          for (int b = 0; !stop_; ++b) {
            json::array batch = Batch("s" + std::to_string(t) + "-" + std::to_string(b), local);
            client::Client c(client::Endpoint::ParseList(servers).value(), admin);
            Result<json::value> answer = c.Submit(batch);
            if (answer.ok()) {
              ledger->Record(batch, *answer);
            } else {
              ledger->Unanswered(std::move(batch));
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100 + local() % 100));
          }
        });
      }
    }
    ~Submitters() { Stop(); }
    void Stop() {
      stop_ = true;
      for (std::thread& t : threads_) t.join();
      threads_.clear();
    }

   private:
    std::atomic<bool> stop_{false};
    std::vector<std::thread> threads_;
  };

  // Three submits to `port`, each cut before its answer (after all of it or half of it), noted as
  // unanswered; `*cuts` counts them.
  void CutSubmits(uint16_t port, Ledger& ledger, std::mt19937_64& rng, int* cuts) {
    for (int i = 0; i < 3; ++i) {
      json::array batch = Batch("cut-" + std::to_string(*cuts), rng);
      CutSubmit(port, batch, i % 2 == 0);
      ledger.Unanswered(std::move(batch));
      ++*cuts;
    }
  }

  // A job of its own for the sleeper worker (types chaos-slow), stopped for twice its lease once
  // it runs, then continued: its attempt ends as lost meanwhile, so its outcome, sent late, must
  // be refused. The job's command (2 s) ends within the stop (2.5 s), so the outcome is ready
  // when the worker wakes. Returns the job and attempt.
  struct Stopped {
    uint64_t job, attempt;
  };
  Stopped StopTheSleeper(ChildProcess& sleeper, Ledger& ledger, int n) {
    client::Client sc = NewClient();
    // A failover can hide a whole run of the job from the polls below; then it ended unseen (it
    // is in the ledger and checked like any other) and another one is tried.
    for (int tries = 0; tries < 5; ++tries) {
      json::object slow{
          {"type", "chaos-slow"},
          {"idempotency_key", "slow-" + std::to_string(n) + "-" + std::to_string(tries)},
          {"heartbeat_timeout_ms", kLeaseMs},
          {"attempts_max", kAttemptsMax},
          {"retry", {{"delay_initial_ms", 20}, {"delay_max_ms", 200}}},
          {"payload", {{"command", "sleep 2"}}}};
      const json::array batch{slow};
      Result<json::value> answer = sc.Submit(batch);
      for (int retries = 0; !answer.ok() && retries < 100; ++retries) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        answer = sc.Submit(batch);
      }
      EXPECT_TRUE(answer.ok()) << answer.status().ToString();
      if (!answer.ok()) return {0, 0};
      ledger.Record(batch, *answer);
      const uint64_t id = answer->at("jobs").as_array()[0].at("id").to_number<uint64_t>();
      uint64_t attempt = 0;
      json::object last;
      const bool seen = WaitUntil([&] {
        Result<json::value> job = sc.Json("GET", "/v1/jobs/" + std::to_string(id));
        if (!job.ok()) return false;
        last = job->as_object();
        if (client::IsTerminalState(last.at("state").as_string())) return true;
        if (last.at("state") != "running" || !last.at("worker_id").is_string() ||
            last.at("worker_id") != "admin:sleeper") {
          return false;
        }
        attempt = last.at("attempt_id").to_number<uint64_t>();
        return true;
      });
      if (!seen) {
        Result<json::value> workers = sc.Json("GET", "/v1/workers");
        ADD_FAILURE() << "the sleeper never ran job " << id << ": " << json::serialize(last)
                      << "\nworkers: "
                      << (workers.ok() ? json::serialize(*workers) : workers.status().ToString());
      }
      if (!seen) return {0, 0};
      if (attempt == 0) {
        std::printf("chaos: job %llu ended before it was seen running: %s\n",
                    static_cast<unsigned long long>(id), json::serialize(last).c_str());
        continue;
      }
      ::kill(sleeper.pid(), SIGSTOP);
      std::this_thread::sleep_for(std::chrono::milliseconds(2 * kLeaseMs + 500));
      ::kill(sleeper.pid(), SIGCONT);
      return {id, attempt};
    }
    ADD_FAILURE() << "five slow jobs ended before the sleeper was seen running one";
    return {0, 0};
  }

  struct Tally {
    int succeeded = 0, failed = 0, late_refused = 0;
    uint64_t events = 0;
  };

  // Sends what no client heard the answer to again, then checks every promise (the header's
  // list). `last_seq` reads the last committed event's number from the store.
  Tally CheckPromises(Ledger& ledger, const std::vector<Stopped>& stopped,
                      const std::function<uint64_t()>& last_seq) {
    Tally tally;
    client::Client c = NewClient();
    // Existing jobs answer with their ids.
    for (const json::array& batch : ledger.unanswered) {
      Result<json::value> answer = c.Submit(batch);
      for (int tries = 0; !answer.ok() && tries < 100; ++tries) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        answer = c.Submit(batch);
      }
      EXPECT_TRUE(answer.ok()) << answer.status().ToString();
      if (!answer.ok()) return tally;
      ledger.Record(batch, *answer);
    }
    std::printf("chaos: %zu jobs acknowledged; waiting for them to end\n", ledger.acked.size());
    std::fflush(stdout);

    // Every acknowledged job ends.
    std::map<uint64_t, json::object> final_jobs;
    for (const auto& [id, key] : ledger.acked) {
      json::object job;
      const bool ended = WaitUntil([&] {
        Result<json::value> got = c.Json("GET", "/v1/jobs/" + std::to_string(id));
        if (!got.ok()) return false;
        job = got->as_object();
        return client::IsTerminalState(job.at("state").as_string());
      });
      EXPECT_TRUE(ended) << "job " << id << " (" << key
                         << ") did not end: " << json::serialize(job);
      if (!ended) return tally;
      EXPECT_EQ(job.at("idempotency_key").as_string(), key) << id;
      final_jobs[id] = std::move(job);
    }

    // The server holds exactly the acknowledged jobs: no duplicate from a submit sent twice.
    std::set<uint64_t> stored;
    std::string cursor;
    for (;;) {
      Result<json::value> page = c.Json("GET", "/v1/jobs?limit=1000" + cursor);
      EXPECT_TRUE(page.ok()) << page.status().ToString();
      if (!page.ok()) return tally;
      for (const json::value& j : page->at("jobs").as_array())
        stored.insert(j.at("id").to_number<uint64_t>());
      if (page->at("next_cursor").is_null()) break;
      cursor = "&cursor=" + std::to_string(page->at("next_cursor").to_number<uint64_t>());
    }
    std::set<uint64_t> acked_ids;
    for (const auto& [id, key] : ledger.acked) acked_ids.insert(id);
    EXPECT_EQ(stored, acked_ids);

    // Attempts: one success per succeeded job, none for a failed one, never past attempts_max.
    std::map<uint64_t, std::map<uint64_t, std::string>> outcomes;  // job -> attempt -> outcome
    for (const auto& [id, job] : final_jobs) {
      Result<json::value> r = c.Json("GET", "/v1/jobs/" + std::to_string(id) + "/attempts");
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok()) return tally;
      int succeeded = 0, counted = 0;
      for (const json::value& a : r->at("attempts").as_array()) {
        const std::string outcome(a.at("outcome").as_string());
        outcomes[id][a.at("attempt").to_number<uint64_t>()] = outcome;
        succeeded += outcome == "succeeded";
        counted += outcome != "declined";
      }
      const std::string state(job.at("state").as_string());
      tally.succeeded += state == "succeeded";
      tally.failed += state == "failed";
      EXPECT_EQ(succeeded, state == "succeeded" ? 1 : 0) << json::serialize(job) << "\n"
                                                         << json::serialize(*r);
      EXPECT_LE(counted, kAttemptsMax) << json::serialize(*r);
      EXPECT_LE(job.at("attempts_used").to_number<int>(), kAttemptsMax) << json::serialize(job);
    }

    // The stopped worker's attempts whose lease ran out: their late outcomes were refused.
    for (const Stopped& s : stopped) {
      auto it = outcomes[s.job].find(s.attempt);
      EXPECT_NE(it, outcomes[s.job].end()) << "job " << s.job << " attempt " << s.attempt;
      if (it == outcomes[s.job].end()) continue;
      EXPECT_EQ(it->second, "lost") << "job " << s.job << " attempt " << s.attempt;
      const std::string line = "refused the outcome of job " + std::to_string(s.job) + " attempt " +
                               std::to_string(s.attempt) + ":";
      EXPECT_TRUE(WaitUntil([&] {
        return ReadFile(dir_ + "/sleeper.log").find(line) != std::string::npos;
      })) << line;
      ++tally.late_refused;
    }

    // The event stream from 0: no gap, and each job's last state event is its final state.
    tally.events = last_seq();
    EXPECT_GT(tally.events, 0u);
    uint64_t expected = 1;
    std::map<uint64_t, std::string> last_state;
    Status streamed = c.Events(0, 0, [&](const json::object& e) {
      const uint64_t seq = e.at("seq").to_number<uint64_t>();
      EXPECT_EQ(seq, expected) << "a gap in the event stream";
      expected = seq + 1;
      if (e.at("kind") == "state") {
        last_state[e.at("job").to_number<uint64_t>()] = std::string(e.at("state").as_string());
      }
      return seq < tally.events;
    });
    EXPECT_TRUE(streamed.ok()) << streamed.ToString();
    EXPECT_EQ(expected, tally.events + 1);
    for (const auto& [id, job] : final_jobs) {
      EXPECT_EQ(last_state[id], job.at("state").as_string()) << "job " << id;
    }
    return tally;
  }

  std::string servers_;
};

}  // namespace baton::testing
