// bench_store: how fast jobs move through the engine and the SQLite store. One JSON line per
// benchmark on stdout; progress on stderr. Not a test: it asserts nothing, it measures.
//
//   engine_lifecycle     submit + dispatch + complete in the engine alone (records taken, no I/O)
//   sqlite_calibration   raw batched INSERTs of a job-sized row, same file settings (the yardstick)
//   store_lifecycle      the same lifecycles through the runtime and SQLite, synchronous=FULL:
//                        submitters and workers on their own threads, every step acknowledged
//                        only after its commit
//
// Usage: bench_store [--jobs N] [--runs N] [--dir DIR] [--synchronous FULL|NORMAL|OFF]
//                    [--only engine|sqlite|store] [--submitters N] [--workers N]
// Figures are medians over the runs; the calibration is measured in the same runs.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "bench/calibration.h"
#include "common/clock.h"
#include "server/runtime.h"
#include "store/sqlite/sqlite_store.h"

using namespace baton;
using Steady = std::chrono::steady_clock;
using bench::Seconds;

namespace {

struct Options {
  uint64_t jobs = 200000;
  int runs = 3;
  std::string dir = "/tmp";
  std::string synchronous = "FULL";
  std::string only;    // run just this benchmark: engine, sqlite or store
  int submitters = 2;  // client threads submitting batches of 1,000
  int workers = 4;     // worker threads dispatching and completing up to 1,000 at a time
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

engine::JobSpec BenchSpec() {
  engine::JobSpec s;
  s.type = "noop";
  s.owner = "bench";
  s.payload = bench::kPayload;
  return s;
}

std::string FreshDb(const Options& o, const std::string& name) {
  std::filesystem::path dir =
      std::filesystem::path(o.dir) / ("baton-bench-" + std::to_string(::getpid()) + "-" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return (dir / "baton.db").string();
}

void RemoveDb(const std::string& path) {
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}

// Engine alone: batches of 1000 through submit, dispatch, complete, and TakeRecords.
double EngineLifecycles(uint64_t jobs) {
  engine::EngineConfig c;
  c.finished_jobs_max = 10000;
  engine::Engine e(c);
  e.Tick(1'700'000'000'000);
  engine::RecordBatch records;
  const uint64_t batch = 1000;
  const auto t0 = Steady::now();
  for (uint64_t done = 0; done < jobs; done += batch) {
    for (uint64_t i = 0; i < batch; ++i) {
      if (!e.Submit(BenchSpec()).ok()) std::abort();
    }
    for (const engine::Assignment& a : e.Dispatch({"w", {"noop"}, 1000})) {
      if (!e.Complete({a.job_id, a.attempt_id, "w"}, {engine::Outcome::kSucceeded, "{}", "", true})
               .ok()) {
        std::abort();
      }
    }
    records.clear();
    e.TakeRecords(&records);
  }
  return static_cast<double>(jobs) / Seconds(t0, Steady::now());
}

double SqliteRowsPerSecond(const Options& o, uint64_t rows) {
  const std::string path = FreshDb(o, "calibration");
  const double rate = bench::SqliteInsertRowsPerSecond(path, o.synchronous, rows);
  RemoveDb(path);
  return rate;
}

struct LifecycleResult {
  double jobs_per_s = 0;
  double transactions = 0;
  double records_per_transaction = 0;
  double commit_busy = 0;  // share of the wall time the commit thread spent in SQLite
};

// Durable lifecycles: submitters submit batches, workers dispatch and complete batches; every
// call returns only after the commit that holds it.
LifecycleResult StoreLifecycles(const Options& o, uint64_t jobs) {
  const std::string path = FreshDb(o, "lifecycle");
  store::DatabaseOptions so;
  so.synchronous = o.synchronous;
  auto store = store::SqliteStore::Open(path, so);
  if (!store.ok()) std::abort();
  SystemClock clock;
  server::RuntimeOptions ro;
  ro.engine.finished_jobs_max = 10000;
  auto rt = server::Runtime::Start(store->get(), &clock, ro);
  if (!rt.ok()) std::abort();
  server::Runtime& runtime = **rt;

  constexpr uint64_t kBatch = 1000;
  std::atomic<uint64_t> to_submit{jobs}, completed{0};
  const auto t0 = Steady::now();
  std::vector<std::thread> threads;
  for (int s = 0; s < o.submitters; ++s) {
    threads.emplace_back([&] {
      for (;;) {
        uint64_t left = to_submit.load();
        uint64_t n = 0;
        do {
          n = std::min(left, kBatch);
        } while (n > 0 && !to_submit.compare_exchange_weak(left, left - n));
        if (n == 0) return;
        auto r = runtime
                     .Call([n](engine::Engine& e) {
                       for (uint64_t i = 0; i < n; ++i) {
                         if (!e.Submit(BenchSpec()).ok()) std::abort();
                       }
                       return 0;
                     })
                     .get();
        if (!r.ok()) std::abort();
      }
    });
  }
  for (int w = 0; w < o.workers; ++w) {
    threads.emplace_back([&, w] {
      // (Built in two steps: GCC 12 warns falsely about "w" + std::to_string(w) at -O3.)
      std::string name = "w";
      name += std::to_string(w);
      while (completed.load() < jobs) {
        auto assigned =
            runtime.Call([&](engine::Engine& e) {
                     return e.Dispatch({name, {"noop"}, 1000});
                   })
                .get();
        if (!assigned.ok()) std::abort();
        if (assigned->empty()) {
          std::this_thread::yield();
          continue;
        }
        auto done = runtime
                        .Call([&](engine::Engine& e) {
                          for (const engine::Assignment& a : *assigned) {
                            if (!e.Complete({a.job_id, a.attempt_id, name},
                                            {engine::Outcome::kSucceeded, "{}", "", true})
                                     .ok()) {
                              std::abort();
                            }
                          }
                          return assigned->size();
                        })
                        .get();
        if (!done.ok()) std::abort();
        completed += *done;
      }
    });
  }
  for (auto& t : threads) t.join();
  LifecycleResult r;
  const double wall = Seconds(t0, Steady::now());
  r.jobs_per_s = static_cast<double>(jobs) / wall;
  const auto stats = runtime.GetStats().committer;
  r.transactions = static_cast<double>(stats.transactions);
  r.records_per_transaction =
      static_cast<double>(stats.records) / std::max<double>(1, r.transactions);
  r.commit_busy = static_cast<double>(stats.apply_us) / 1e6 / wall;
  rt->reset();
  store->reset();
  RemoveDb(path);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", argv[i]);
        std::exit(2);
      }
      return argv[++i];
    };
    if (!std::strcmp(argv[i], "--jobs")) {
      o.jobs = std::stoull(next());
    } else if (!std::strcmp(argv[i], "--runs")) {
      o.runs = std::stoi(next());
    } else if (!std::strcmp(argv[i], "--dir")) {
      o.dir = next();
    } else if (!std::strcmp(argv[i], "--synchronous")) {
      o.synchronous = next();
    } else if (!std::strcmp(argv[i], "--submitters")) {
      o.submitters = std::max(1, std::stoi(next()));
    } else if (!std::strcmp(argv[i], "--workers")) {
      o.workers = std::max(1, std::stoi(next()));
    } else if (!std::strcmp(argv[i], "--only")) {
      o.only = next();
      if (o.only != "engine" && o.only != "sqlite" && o.only != "store") {
        std::fprintf(stderr, "--only: must be engine, sqlite or store, got \"%s\"\n",
                     o.only.c_str());
        return 2;
      }
    } else {
      const bool help = !std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h");
      std::fprintf(help ? stdout : stderr,
                   "usage: bench_store [--jobs N] [--runs N] [--dir DIR] "
                   "[--synchronous FULL|NORMAL|OFF] [--only engine|sqlite|store] "
                   "[--submitters N] [--workers N]\n");
      return help ? 0 : 2;
    }
  }
  std::vector<double> engine_rates, sqlite_rates, store_rates, tx, per_tx;
  for (int run = 0; run < o.runs; ++run) {
    std::fprintf(stderr, "run %d of %d:", run + 1, o.runs);
    if (o.only.empty() || o.only == "engine") {
      engine_rates.push_back(EngineLifecycles(o.jobs * 5));
      std::fprintf(stderr, " engine %.0f/s", engine_rates.back());
    }
    if (o.only.empty() || o.only == "sqlite") {
      sqlite_rates.push_back(SqliteRowsPerSecond(o, o.jobs));
      std::fprintf(stderr, " sqlite %.0f rows/s", sqlite_rates.back());
    }
    if (o.only.empty() || o.only == "store") {
      LifecycleResult r = StoreLifecycles(o, o.jobs);
      store_rates.push_back(r.jobs_per_s);
      tx.push_back(r.transactions);
      per_tx.push_back(r.records_per_transaction);
      std::fprintf(stderr, " store %.0f jobs/s (commit thread busy %.0f%%)", r.jobs_per_s,
                   100 * r.commit_busy);
    }
    std::fprintf(stderr, "\n");
  }
  if (!o.only.empty()) {
    // One figure alone: no calibration pairing.
    if (o.only == "engine")
      std::printf("{\"bench\":\"engine_lifecycle\",\"lifecycles_per_s\":%.0f}\n",
                  Median(engine_rates));
    if (o.only == "sqlite")
      std::printf("{\"bench\":\"sqlite_calibration\",\"rows_per_s\":%.0f}\n", Median(sqlite_rates));
    if (o.only == "store") {
      std::printf(
          "{\"bench\":\"store_lifecycle\",\"jobs_per_s\":%.0f,\"records_per_transaction\":%.0f,"
          "\"submitters\":%d,\"workers\":%d}\n",
          Median(store_rates), Median(per_tx), o.submitters, o.workers);
    }
    return 0;
  }
  const double engine_rate = Median(engine_rates), sqlite_rate = Median(sqlite_rates),
               store_rate = Median(store_rates);
  std::printf(
      "{\"bench\":\"engine_lifecycle\",\"lifecycles_per_s\":%.0f,\"jobs\":%llu,\"runs\":%d}\n",
      engine_rate, static_cast<unsigned long long>(o.jobs) * 5, o.runs);
  std::printf(
      "{\"bench\":\"sqlite_calibration\",\"rows_per_s\":%.0f,\"rows\":%llu,\"synchronous\":\"%s\","
      "\"runs\":%d}\n",
      sqlite_rate, static_cast<unsigned long long>(o.jobs), o.synchronous.c_str(), o.runs);
  std::printf(
      "{\"bench\":\"store_lifecycle\",\"jobs_per_s\":%.0f,\"calibration_sqlite_rows_per_s\":%.0f,"
      "\"ratio\":%.3f,\"jobs\":%llu,\"transactions\":%.0f,\"records_per_transaction\":%.0f,"
      "\"synchronous\":\"%s\",\"submitters\":%d,\"workers\":%d,\"runs\":%d}\n",
      store_rate, sqlite_rate, store_rate / sqlite_rate, static_cast<unsigned long long>(o.jobs),
      Median(tx), Median(per_tx), o.synchronous.c_str(), o.submitters, o.workers, o.runs);
  return 0;
}
