// The server is SIGKILLed with thousands of jobs in flight (queued, assigned, running, completing)
// and restarted on the same port. Workers and an event follower reconnect by themselves. Then:
// every acknowledged job completes, each job's result is committed once, the event stream resumed
// with since= has no gap, and the database passes its integrity check.
#include <sqlite3.h>

#include <atomic>
#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "util/worker_fixture.h"

namespace baton {
namespace {

namespace json = boost::json;
using testing::HttpResult;
using namespace std::chrono_literals;

using RecoveryTest = testing::WorkerFixture;

TEST_F(RecoveryTest, ServerSigkillWithThousandsOfJobsInFlight) {
  constexpr size_t kBeforeKill = 3000, kAfterRestart = 1000, kBatch = 100;
  auto w1 = StartWorker("w1", "noop", "16");
  auto w2 = StartWorker("w2", "noop", "16");
  const client::Endpoint endpoint = client::Endpoint::Parse(url()).value();

  std::mutex mu;
  std::set<uint64_t> acked;                  // ids answered with 201
  std::map<uint64_t, int> succeeded_events;  // job -> how many times it was seen to succeed
  std::vector<uint64_t> seqs;                // every event sequence seen, in order
  std::atomic<bool> follow{true};

  // The follower reads events from 0 and resumes with since=LAST after every lost connection.
  std::thread follower([&] {
    client::Client c(endpoint, admin_);
    uint64_t last = 0;
    while (follow.load()) {
      Status s = c.Events(last, 0, [&](const json::object& e) {
        std::lock_guard lock(mu);
        last = e.at("seq").to_number<uint64_t>();
        seqs.push_back(last);
        if (e.at("state").as_string() == "succeeded") {
          ++succeeded_events[e.at("job").to_number<uint64_t>()];
        }
        return follow.load();
      });
      if (follow.load()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });

  auto submit = [&](size_t count, std::atomic<bool>* stop) {
    client::Client c(endpoint, admin_);
    json::array batch;
    // The default lease (30 s): assignments the kill cut off before they reached a worker end
    // when the worker says hello to the new server, not when their lease runs out.
    for (size_t i = 0; i < kBatch; ++i) batch.push_back(json::object{{"type", "shell"}});
    for (size_t done = 0; done < count && !(stop && stop->load());) {
      Result<json::value> r = c.Submit(batch);
      if (!r.ok()) return;  // the server died under this batch: it is not acknowledged
      std::lock_guard lock(mu);
      for (const json::value& j : r->at("jobs").as_array()) acked.insert(j.at("id").as_int64());
      done += kBatch;
    }
  };

  // Phase 1: submitting without pause; the server dies under it once 3,000 are acknowledged.
  std::atomic<bool> stop{false};
  std::thread submitter(submit, kBeforeKill * 10, &stop);
  ASSERT_TRUE(WaitUntil([&] {
    std::lock_guard lock(mu);
    return acked.size() >= kBeforeKill;
  }));
  server_->Kill(SIGKILL);
  stop = true;
  submitter.join();
  size_t finished_at_kill;
  {
    std::lock_guard lock(mu);
    finished_at_kill = succeeded_events.size();
    std::printf("killed with %zu acknowledged, %zu seen finished\n", acked.size(),
                finished_at_kill);
  }

  // Phase 2: the same port; workers and the follower find it again.
  listen_ = "127.0.0.1:" + std::to_string(port_);
  StartServer();
  std::printf("restarted\n");
  submit(kAfterRestart, nullptr);
  std::printf("submitted after the restart\n");
  const bool all_done = WaitUntil([&] {
    std::lock_guard lock(mu);
    for (uint64_t id : acked) {
      if (!succeeded_events.count(id)) return false;
    }
    return true;
  });
  follow = false;
  // The follower leaves at its next event; one more job gives it one (and must finish too).
  HttpResult last = Call(admin_, "POST", "/v1/jobs", R"({"type":"shell"})");
  ASSERT_EQ(last.status, 201) << last.body;
  follower.join();
  EventsUntilEnd(Json(last).at("id").to_number<uint64_t>());
  ASSERT_TRUE(all_done) << "not every acknowledged job finished";

  std::lock_guard lock(mu);
  EXPECT_LT(finished_at_kill, kBeforeKill) << "the kill found no job in flight";
  EXPECT_GE(acked.size(), kBeforeKill + kAfterRestart);
  // No gap, no repeat: the stream is 1, 2, 3, ... across the restart.
  for (size_t i = 0; i < seqs.size(); ++i) {
    ASSERT_EQ(seqs[i], i + 1) << "event " << i << " of the resumed stream";
  }
  for (const auto& [job, times] : succeeded_events) {
    EXPECT_EQ(times, 1) << "job " << job << " succeeded " << times << " times";
  }
  // Each job's result names the attempt that succeeded: the one the job's row holds.
  for (uint64_t id : {*acked.begin(), *acked.rbegin()}) {
    json::object job = GetJob(id);
    EXPECT_EQ(job.at("state").as_string(), "succeeded");
    EXPECT_EQ(job.at("result").at("attempt"), job.at("attempt_id")) << json::serialize(job);
  }
  StopServer();

  // The database: intact, every job (acknowledged or not) succeeded, one succeeded attempt each.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/data/baton.db").c_str(), &db), SQLITE_OK);
  auto scalar = [&](const char* sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, nullptr), SQLITE_OK) << sql;
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    return out;
  };
  EXPECT_EQ(scalar("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(scalar("SELECT count(*) FROM job_status WHERE state != 'succeeded'"), "0");
  EXPECT_EQ(scalar("SELECT count(*) FROM (SELECT job_id FROM attempts WHERE outcome = "
                   "'succeeded' GROUP BY job_id HAVING count(*) > 1)"),
            "0");
  EXPECT_EQ(scalar("SELECT count(*) FROM job_status WHERE id NOT IN (SELECT job_id FROM attempts "
                   "WHERE outcome = 'succeeded')"),
            "0");
  sqlite3_close(db);
}

// SIGTERM while clients submit: every request the server took is answered before it exits, so a
// request without an answer was never applied; a worker's running job carries on across it.
TEST_F(RecoveryTest, SigtermAnswersWhatItTookAndLosesNothing) {
  std::atomic<bool> release{false};
  std::atomic<int> runs{0};
  uint64_t long_job = 0;
  {
    InProcessWorker worker(url(), admin_, "w", 2, {{"slow", [&](client::AttemptContext&) {
                                                      ++runs;
                                                      while (!release) {
                                                        std::this_thread::sleep_for(5ms);
                                                      }
                                                      return client::Outcome::Succeeded();
                                                    }}});
    long_job = Submit(R"({"type":"slow"})");
    ASSERT_TRUE(WaitUntil([&] { return runs.load() == 1; }));

    constexpr int kClients = 4;
    std::mutex mu;
    std::map<std::string, uint64_t> answered;  // key -> id, answered 201
    std::set<std::string> refused;             // answered 503: not applied
    std::set<std::string> unanswered;          // no answer at all
    std::atomic<int> submitted{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&, c] {
        for (int n = 0;; ++n) {
          const std::string key = std::to_string(c) + "-" + std::to_string(n);
          HttpResult r = Call(admin_, "POST", "/v1/jobs",
                              R"({"type":"t","idempotency_key":")" + key + R"("})");
          std::lock_guard lock(mu);
          if (r.status == 201) {
            answered[key] = json::parse(r.body).at("id").to_number<uint64_t>();
            ++submitted;
            continue;
          }
          EXPECT_TRUE(r.status == 0 || r.status == 503) << r.status << " " << r.body;
          (r.status == 503 ? refused : unanswered).insert(key);
          if (r.status == 0) return;  // the server is gone
        }
      });
    }
    ASSERT_TRUE(WaitUntil([&] { return submitted.load() >= 200; }));
    server_->Kill(SIGTERM);
    const int status = server_->Wait();
    for (std::thread& t : clients) t.join();
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    EXPECT_FALSE(answered.empty());

    listen_ = "127.0.0.1:" + std::to_string(port_);
    StartServer();
    // Everything answered is there; nothing refused or unanswered was applied: the same submit
    // makes a new job now.
    for (const auto& [key, id] : answered) {
      ASSERT_EQ(GetJob(id).at("idempotency_key").as_string(), key);
    }
    for (const std::set<std::string>* keys : {&refused, &unanswered}) {
      for (const std::string& key : *keys) {
        HttpResult r =
            Call(admin_, "POST", "/v1/jobs", R"({"type":"t","idempotency_key":")" + key + R"("})");
        EXPECT_EQ(r.status, 201) << key << " was applied but not answered: " << r.body;
      }
    }
    // The worker reconnects on its own and its job, which ran through the stop, ends once.
    release = true;
    ASSERT_TRUE(WaitUntil([&] { return GetJob(long_job).at("state") == "succeeded"; }));
  }
  EXPECT_EQ(runs.load(), 1);
  EXPECT_EQ(GetJob(long_job).at("attempts_used"), 1);
}

}  // namespace
}  // namespace baton
