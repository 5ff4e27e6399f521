#include "bench/bench.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bench/bench_process.h"
#include "bench/calibration.h"
#include "client/client.h"
#include "client/worker.h"
#include "server/server.h"
#include "store/postgres/pg_connection.h"

namespace baton::cli {

namespace {

namespace json = boost::json;
using Steady = std::chrono::steady_clock;
using bench::Seconds;

// Rows inserted, updated and deleted so far in each of the tables of the URL's schema (the
// statistics PostgreSQL keeps); nullopt if they cannot be read.
std::optional<json::object> PgRowsWritten(const std::string& url) {
  Result<std::unique_ptr<store::PgConnection>> c = store::PgConnection::Open(url, "the bench's");
  if (!c.ok()) return std::nullopt;
  Result<store::PgRows> rows = (*c)->Query(
      "SELECT relname, n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables "
      "WHERE schemaname = current_schema()",
      {}, "table statistics");
  if (!rows.ok()) return std::nullopt;
  json::object out;
  for (int i = 0; i < rows->size(); ++i) out[rows->At(i).Text(0)] = rows->At(i).Int(1);
  return out;
}

// Follows the event stream and tells who waits when jobs have succeeded.
class Follower {
 public:
  Follower(client::Endpoint endpoint, std::string token)
      : client_(std::move(endpoint), std::move(token)) {
    client_.SetFailover(0, nullptr);  // the stream ends with the server: no reconnecting
    thread_ = std::thread([this] {
      Status s = client_.Events(0, 0, [this](const json::object& e) {
        if (e.at("kind").as_string() != "state" || e.at("state").as_string() != "succeeded") {
          return !stop_.load();
        }
        std::lock_guard lock(mu_);
        done_at_[e.at("job").to_number<uint64_t>()] = Steady::now();
        ++succeeded_;
        cv_.notify_all();
        return !stop_.load();
      });
      std::lock_guard lock(mu_);
      ended_ = true;
      cv_.notify_all();
    });
  }
  // Call after the server stopped (which ends the stream), or after the last event it will see.
  ~Follower() {
    stop_ = true;
    thread_.join();
  }
  // Waits until `count` successes in all were seen; false if the stream ended first.
  bool WaitCount(uint64_t count) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return succeeded_ >= count || ended_; });
    return succeeded_ >= count;
  }
  // When `job` succeeded (waiting for it); nullopt if the stream ended first.
  std::optional<Steady::time_point> WaitJob(uint64_t job) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return done_at_.count(job) || ended_; });
    auto it = done_at_.find(job);
    if (it == done_at_.end()) return std::nullopt;
    return it->second;
  }
  uint64_t succeeded() {
    std::lock_guard lock(mu_);
    return succeeded_;
  }

 private:
  client::Client client_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<uint64_t, Steady::time_point> done_at_;
  uint64_t succeeded_ = 0;
  bool ended_ = false;
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

// How many jobs GET /v1/jobs?QUERY lists, read from the store page by page.
Result<uint64_t> CountInStore(client::Client& c, const std::string& query) {
  uint64_t n = 0;
  std::string cursor;
  for (;;) {
    Result<json::value> page = c.Json(
        "GET", "/v1/jobs?" + query + "&limit=1000" + (cursor.empty() ? "" : "&cursor=" + cursor));
    if (!page.ok()) return page.status();
    n += page->at("jobs").as_array().size();
    const json::value& next = page->at("next_cursor");
    if (next.is_null()) return n;
    cursor = std::to_string(next.to_number<uint64_t>());
  }
}

}  // namespace

int RunBench(const BenchOptions& o) {
  const std::filesystem::path dir =
      std::filesystem::path(o.dir) / ("baton-bench-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto say = [&](const char* text) {
    std::fprintf(stderr, "baton bench: %s\n", text);
    std::fflush(stderr);
  };

  // Calibrations first, while nothing else runs.
  say("calibrating: loopback round trip, raw SQLite batched inserts");
  const double rtt_us = bench::LoopbackRoundTripUs(20000);
  const double sqlite_rows =
      bench::SqliteInsertRowsPerSecond((dir / "calibration.db").string(), o.synchronous, 200000);
  std::filesystem::remove(dir / "calibration.db");
  std::filesystem::remove(dir / "calibration.db-wal");
  std::filesystem::remove(dir / "calibration.db-shm");
  const bool on_pg = o.store.starts_with("postgres");
  double pg_rows = 0;
  if (on_pg) {
    say("calibrating: raw PostgreSQL batched inserts (1,000 rows a transaction)");
    Result<double> rate = bench::PgInsertRowsPerSecond(o.store, 200000, 1000);
    if (!rate.ok()) {
      say(rate.status().ToString().c_str());
      return 4;
    }
    pg_rows = *rate;
  }

  server::ServerOptions so;
  so.data_dir = (dir / "data").string();
  so.port = 0;
  so.batch_max = std::max<size_t>(so.batch_max, o.batch);
  so.database.synchronous = o.synchronous;
  so.store = o.store;
  // fanout: a parent type whose aggregator counts its children.
  so.types_file = (dir / "types.json").string();
  std::ofstream(so.types_file)
      << R"({"types": [{"name": "bench.fan", "aggregator": "bench.join",)"
      << R"( "parameters": {"children": {"type": "integer", "min": 1}}}]})";
  auto started = server::Server::Start(so);
  if (!started.ok()) {
    std::fprintf(stderr, "baton bench: %s\n", started.status().ToString().c_str());
    return 4;
  }
  std::unique_ptr<server::Server> srv = std::move(*started);
  std::string token;
  std::getline(std::ifstream(srv->admin_token_path()), token);
  const std::string url = "http://127.0.0.1:" + std::to_string(srv->port());
  const client::Endpoint endpoint = client::Endpoint::Parse(url).value();

  std::vector<pid_t> workers;
  for (int i = 0; i < o.workers; ++i) {
    workers.push_back(bench::SpawnWorker(url, token, "bench-" + std::to_string(i + 1), o.capacity));
  }
  std::unique_ptr<Follower> follower;  // for latency
  // Workers, then the server (which ends the follower's stream), then the follower.
  auto stop_all = [&] {
    bench::StopWorkers(&workers);
    srv->Stop();
    follower.reset();
    std::filesystem::remove_all(dir);
  };
  client::Client c(endpoint, token);
  for (int tries = 0;; ++tries) {
    auto listed = c.Json("GET", "/v1/workers");
    if (listed.ok() && listed->at("workers").as_array().size() == static_cast<size_t>(o.workers)) {
      break;
    }
    if (tries > 500) {
      say("the workers did not connect");
      stop_all();
      return 4;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  json::object out;
  bool ok = true;

  if (o.what == "all" || o.what == "throughput") {
    say(("throughput: " + std::to_string(o.jobs) + " jobs in batches of " +
         std::to_string(o.batch) + " by " + std::to_string(o.submitters) + " submitters, " +
         std::to_string(o.workers) + " worker processes x " + std::to_string(o.capacity) + " slots")
            .c_str());
    std::atomic<uint64_t> next{0};
    std::atomic<bool> failed{false};
    const uint64_t round_trips_before = store::PgConnection::RoundTrips();
    const std::optional<server::Runtime::Stats> stats_before = srv->stats();
    const std::optional<json::object> rows_before =
        on_pg ? PgRowsWritten(o.store) : std::optional<json::object>();
    const auto t0 = Steady::now();
    std::vector<std::thread> submitters;
    for (int s = 0; s < o.submitters; ++s) {
      submitters.emplace_back([&] {
        client::Client sc(endpoint, token);
        json::array batch;
        for (size_t i = 0; i < o.batch; ++i) {
          batch.push_back(
              json::object{{"type", "bench"}, {"payload", json::parse(bench::kPayload)}});
        }
        while (next.fetch_add(o.batch) < o.jobs) {
          if (!sc.Submit(batch).ok()) failed = true;
        }
      });
    }
    for (std::thread& t : submitters) t.join();
    const auto t_submitted = Steady::now();
    const uint64_t submitted = (o.jobs + o.batch - 1) / o.batch * o.batch;
    // Done when the type has nothing queued or running: asked every 2 ms (cheaper for the
    // server than streaming every event to this client).
    for (ok = !failed; ok;) {
      auto types = c.Json("GET", "/v1/types");
      if (!types.ok()) {
        ok = false;
        break;
      }
      uint64_t left = 0;
      for (const json::value& t : types->at("types").as_array()) {
        if (t.at("name") == "bench") {
          left = t.at("queued").to_number<uint64_t>() + t.at("running").to_number<uint64_t>();
        }
      }
      if (left == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    // The counts above are the engine's and the hub's, which can run one commit ahead of the
    // store: the figure ends when the committed store has nothing of the type left to run.
    while (ok) {
      Result<uint64_t> queued = CountInStore(c, "type=bench&status=queued");
      Result<uint64_t> running =
          queued.ok() ? CountInStore(c, "type=bench&status=running") : queued.status();
      if (!running.ok()) {
        say(("reading the store: " + running.status().ToString()).c_str());
        ok = false;
      }
      if (!ok || (*queued == 0 && *running == 0)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    const auto t1 = Steady::now();
    json::object r;
    r["jobs"] = submitted;
    r["jobs_per_s"] = std::llround(static_cast<double>(submitted) / Seconds(t0, t1));
    r["submit_jobs_per_s"] =
        std::llround(static_cast<double>(submitted) / Seconds(t0, t_submitted));
    r["seconds"] = Seconds(t0, t1);
    // Every job, checked: as many succeeded in the store as were submitted.
    Result<uint64_t> succeeded = ok ? CountInStore(c, "type=bench&status=succeeded") : 0;
    if (ok && (!succeeded.ok() || *succeeded != submitted)) {
      say(("not every job succeeded: " +
           (succeeded.ok() ? std::to_string(*succeeded) + " of " + std::to_string(submitted)
                           : succeeded.status().ToString()))
              .c_str());
      ok = false;
    }
    r["succeeded"] = succeeded.ok() ? *succeeded : 0;
    // Where the time went: the group commits (transactions, what each held, time inside the
    // store), and on PostgreSQL the round trips and the rows each table took, per job.
    const std::optional<server::Runtime::Stats> stats_after = srv->stats();
    if (stats_before && stats_after) {
      const auto& b = stats_before->committer;
      const auto& a = stats_after->committer;
      const double commits = static_cast<double>(a.transactions - b.transactions);
      r["commits"] = a.transactions - b.transactions;
      r["jobs_per_commit"] = commits > 0 ? static_cast<double>(submitted) / commits : 0.0;
      r["records_per_commit"] =
          commits > 0 ? static_cast<double>(a.records - b.records) / commits : 0.0;
      r["store_ms_per_commit"] =
          commits > 0 ? static_cast<double>(a.apply_us - b.apply_us) / commits / 1000 : 0.0;
      r["store_busy_share"] = static_cast<double>(a.apply_us - b.apply_us) / 1e6 / Seconds(t0, t1);
    }
    if (on_pg) {
      r["pg_round_trips_per_job"] =
          static_cast<double>(store::PgConnection::RoundTrips() - round_trips_before) /
          static_cast<double>(submitted);
      // PostgreSQL's counters reach its statistics within 10 s of a backend going idle.
      say("waiting 11 s for PostgreSQL's table statistics");
      std::this_thread::sleep_for(std::chrono::seconds(11));
      const std::optional<json::object> rows_after = PgRowsWritten(o.store);
      if (rows_before && rows_after) {
        json::object per_job;
        double total = 0;
        for (const auto& [table, n] : *rows_after) {
          const double before =
              rows_before->contains(table) ? rows_before->at(table).to_number<double>() : 0;
          const double each = (n.to_number<double>() - before) / static_cast<double>(submitted);
          if (each > 0) per_job[table] = std::round(each * 100) / 100;
          total += each;
        }
        r["pg_rows_per_job"] = std::round(total * 100) / 100;
        r["pg_rows_per_job_by_table"] = per_job;
      }
    }
    out["throughput"] = r;
  }
  if (ok && (o.what == "all" || o.what == "fanout")) {
    say(("fanout: a parent with " + std::to_string(o.children) +
         " no-op children and an aggregator, from submit to the parent's result")
            .c_str());
    // The parent and its aggregator run in this process (libbaton); the children, in the no-op
    // worker processes.
    client::WorkerOptions wo;
    wo.servers = {endpoint};
    wo.token = token;
    wo.id = "bench-fan";
    wo.capacity = 2;
    client::Worker fan_worker(wo);
    fan_worker.Register("bench.fan", [](client::AttemptContext& ctx) {
      const uint64_t n = ctx.payload().at("children").to_number<uint64_t>();
      constexpr uint64_t kPerSpawn = 10000;  // the server's spawn_jobs_max
      for (uint64_t first = 0; first < n; first += kPerSpawn) {
        json::array kids;
        for (uint64_t i = first; i < std::min(n, first + kPerSpawn); ++i) {
          kids.push_back(json::object{{"type", "bench"}});
        }
        Result<std::vector<uint64_t>> ids = ctx.Spawn(kids);
        if (!ids.ok()) return client::Outcome::Error(ids.status().ToString());
      }
      return client::Outcome::Succeeded();
    });
    fan_worker.Register("bench.join", [](client::AttemptContext& ctx) {
      uint64_t succeeded = 0;
      for (const json::value& child : ctx.payload().at("children").as_array()) {
        succeeded += child.at("state") == "succeeded";
      }
      return client::Outcome::Succeeded(json::object{{"succeeded", succeeded}});
    });
    std::thread fan_thread([&] { (void)fan_worker.Run(); });
    const json::object parent{{"type", "bench.fan"},
                              {"payload", json::object{{"children", o.children}}}};
    const auto t0 = Steady::now();
    auto submitted = c.Submit(parent);
    json::value result;
    ok = submitted.ok();
    const std::string target =
        ok ? "/v1/jobs/" + std::to_string(submitted->at("id").to_number<uint64_t>()) : "";
    // A parent that never finishes (no worker for a type, say) ends the bench, not hangs it.
    const auto deadline = t0 + std::chrono::seconds(300);
    while (ok) {
      if (Steady::now() > deadline) {
        say("the fan-out parent did not finish within 300 s");
        ok = false;
        break;
      }
      auto job = c.Json("GET", target);
      if (!job.ok()) {
        ok = false;
        break;
      }
      const json::string& state = job->at("state").as_string();
      if (state == "succeeded") {
        result = job->at("result");
        break;
      }
      if (state == "failed" || state == "cancelled") {
        say(("the fan-out parent " + std::string(state) + ": " +
             std::string(job->at("error").as_string()))
                .c_str());
        ok = false;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    const auto t1 = Steady::now();
    fan_worker.Stop();
    fan_thread.join();
    if (ok && result.at("succeeded").to_number<uint64_t>() != o.children) {
      say("the aggregator did not see every child succeed");
      ok = false;
    }
    json::object r;
    r["children"] = o.children;
    r["seconds"] = Seconds(t0, t1);
    r["children_per_s"] = std::llround(static_cast<double>(o.children) / Seconds(t0, t1));
    out["fanout"] = r;
  }
  if (ok && (o.what == "all" || o.what == "latency")) {
    say(("latency: " + std::to_string(o.latency_jobs) + " jobs one at a time").c_str());
    std::vector<double> ms, ack_ms;
    const json::object job{{"type", "bench"}};
    // The follower reads the stream from its start; one job seen through it means it caught up.
    follower = std::make_unique<Follower>(endpoint, token);
    auto warm = c.Submit(job);
    ok = warm.ok() && follower->WaitJob(warm->at("id").to_number<uint64_t>()).has_value();
    for (uint64_t i = 0; i < o.latency_jobs && ok; ++i) {
      const auto t0 = Steady::now();
      auto r = c.Submit(job);
      if (!r.ok()) {
        ok = false;
        break;
      }
      ack_ms.push_back(std::chrono::duration<double, std::milli>(Steady::now() - t0).count());
      auto done = follower->WaitJob(r->at("id").to_number<uint64_t>());
      if (!done) {
        ok = false;
        break;
      }
      ms.push_back(std::chrono::duration<double, std::milli>(*done - t0).count());
    }
    json::object r;
    r["jobs"] = ms.size();
    r["p50_ms"] = Percentile(ms, 0.50);
    r["p99_ms"] = Percentile(ms, 0.99);
    r["max_ms"] = Percentile(ms, 1.0);
    r["submit_ack_p50_ms"] = Percentile(ack_ms, 0.50);
    out["latency"] = r;
  }
  json::object cal;
  cal["loopback_rtt_us"] = std::round(rtt_us * 10) / 10;
  cal["sqlite_rows_per_s"] = std::llround(sqlite_rows);
  cal["synchronous"] = o.synchronous;
  if (on_pg) cal["pg_rows_per_s"] = std::llround(pg_rows);
  out["calibration"] = cal;

  stop_all();
  if (!ok) {
    say("a submit failed or the event stream ended early");
    return 4;
  }

  if (o.json) {
    std::printf("%s\n", json::serialize(out).c_str());
    return 0;
  }
  std::printf("%-34s %14s   %s\n", "benchmark", "figure", "goal / calibration");
  if (out.contains("throughput")) {
    const json::object& t = out["throughput"].as_object();
    std::printf("%-34s %10.0f /s   goal >= 50000 /s\n", "throughput, end to end (jobs)",
                t.at("jobs_per_s").to_number<double>());
    std::printf("%-34s %10.0f /s\n", "  of which submit (jobs)",
                t.at("submit_jobs_per_s").to_number<double>());
    if (t.contains("commits")) {
      std::printf("%-34s %10.1f      %.1f records, %.2f ms in the store each; store busy %.0f%%\n",
                  "  jobs per group commit", t.at("jobs_per_commit").to_number<double>(),
                  t.at("records_per_commit").to_number<double>(),
                  t.at("store_ms_per_commit").to_number<double>(),
                  100 * t.at("store_busy_share").to_number<double>());
    }
    if (t.contains("pg_round_trips_per_job")) {
      std::printf("%-34s %10.3f\n", "  PostgreSQL round trips per job",
                  t.at("pg_round_trips_per_job").to_number<double>());
    }
    if (t.contains("pg_rows_per_job")) {
      std::printf("%-34s %10.2f      %s\n", "  PostgreSQL rows written per job",
                  t.at("pg_rows_per_job").to_number<double>(),
                  json::serialize(t.at("pg_rows_per_job_by_table")).c_str());
    }
  }
  if (out.contains("latency")) {
    const json::object& l = out["latency"].as_object();
    std::printf("%-34s %10.3f ms   goal < 0.5 ms\n", "latency p50, submit -> done",
                l.at("p50_ms").to_number<double>());
    std::printf("%-34s %10.3f ms   goal < 2 ms\n", "latency p99",
                l.at("p99_ms").to_number<double>());
    std::printf("%-34s %10.3f ms\n", "latency max", l.at("max_ms").to_number<double>());
    std::printf("%-34s %10.3f ms\n", "  of which submit acknowledged p50",
                l.at("submit_ack_p50_ms").to_number<double>());
  }
  if (out.contains("fanout")) {
    const json::object& f = out["fanout"].as_object();
    std::printf("%-34s %10.3f s    goal < 1 s for 10000\n",
                ("fan-out of " + std::to_string(o.children) + ", submit -> result").c_str(),
                f.at("seconds").to_number<double>());
  }
  std::printf("%-34s %10.1f us\n", "calibration: loopback round trip", rtt_us);
  std::printf("%-34s %10.0f /s   synchronous=%s\n", "calibration: raw SQLite inserts", sqlite_rows,
              o.synchronous.c_str());
  if (on_pg) {
    std::printf("%-34s %10.0f /s   1,000 rows a transaction\n",
                "calibration: raw PostgreSQL inserts", pg_rows);
  }
  return 0;
}

}  // namespace baton::cli
