// `baton bench scale`: a server process of its own with a million queued jobs. Figures:
//   submit rate into an empty queue and into one a million deep (the last `sample` jobs of the
//   fill); dispatch rate of `sample` jobs from a queue that holds only them and from one a
//   million deep (the type is paused while the queue fills, so that the workers, connected all
//   along, take nothing until the measurement resumes it); the server's resident memory with
//   the million queued; and a restart after SIGKILL: from the new process to an answered healthz
//   with the queue recovered, and to the first job of the old queue dispatched.
#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "bench/bench.h"
#include "bench/bench_process.h"
#include "bench/calibration.h"
#include "client/client.h"

namespace baton::cli {

namespace {

namespace json = boost::json;
using Steady = std::chrono::steady_clock;
using bench::Seconds;

void Say(const std::string& text) { bench::Say("scale", text); }

// Queued and running jobs of one type, from GET /v1/types.
struct Depth {
  uint64_t queued = 0, running = 0;
};
Result<Depth> DepthOf(client::Client& c, const std::string& type) {
  Result<json::value> types = c.Json("GET", "/v1/types");
  if (!types.ok()) return types.status();
  for (const json::value& t : types->at("types").as_array()) {
    if (t.at("name").as_string() == type) {
      return Depth{t.at("queued").to_number<uint64_t>(), t.at("running").to_number<uint64_t>()};
    }
  }
  return Depth{};
}

// Submits `n` jobs of `type` in batches from `submitters` threads; Calls `progress` after every
// 100,000 (from one thread). False if a submit failed.
bool SubmitMany(const client::Endpoint& endpoint, const std::string& token, uint64_t n,
                size_t batch_size, int submitters, const std::string& type,
                const std::function<void(uint64_t)>& progress) {
  std::atomic<uint64_t> next{0}, done{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int s = 0; s < submitters; ++s) {
    threads.emplace_back([&] {
      client::Client sc(endpoint, token);
      for (;;) {
        const uint64_t first = next.fetch_add(batch_size);
        if (first >= n || failed) return;
        const uint64_t count = std::min<uint64_t>(batch_size, n - first);
        json::array batch;
        for (uint64_t i = 0; i < count; ++i) {
          batch.push_back(json::object{{"type", type}, {"payload", json::parse(bench::kPayload)}});
        }
        Result<json::value> r = sc.Submit(batch);
        if (!r.ok()) {
          Say("submit failed: " + r.status().ToString());
          failed = true;
          return;
        }
        const uint64_t before = done.fetch_add(count);
        if (progress && (before + count) / 100'000 != before / 100'000) progress(before + count);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  return !failed;
}

}  // namespace

int RunScale(const BenchOptions& o) {
  const std::filesystem::path dir =
      std::filesystem::path(o.dir) / ("baton-scale-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string data = (dir / "data").string();
  const std::string type = "bench";
  const uint64_t sample = std::min(o.sample, o.depth);
  std::string error;
  bench::ServerProcess server;
  std::vector<pid_t> workers;
  auto fail = [&](const std::string& why) {
    Say(why);
    bench::StopWorkers(&workers);
    server.Stop(SIGKILL);
    std::filesystem::remove_all(dir);
    return 4;
  };
  auto start_server = [&](const std::string& listen) {
    return server.Start({"--data", data, "--listen", listen, "--synchronous", o.synchronous}, 300,
                        &error);
  };
  if (!start_server("127.0.0.1:0")) return fail(error);
  const uint16_t port = server.port();
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  const client::Endpoint endpoint = client::Endpoint::Parse(url).value();
  std::string token;
  std::getline(std::ifstream(data + "/admin.token"), token);
  client::Client c(endpoint, token);

  auto pause = [&](bool on) {
    return c.Json("POST", "/v1/types/" + type + (on ? "/pause" : "/resume")).ok();
  };
  // Resumes the type and waits until `n` jobs have left the queue; their rate a second.
  auto dispatch_rate = [&](uint64_t n) -> std::optional<double> {
    Result<Depth> before = DepthOf(c, type);
    if (!before.ok()) return std::nullopt;
    const auto t0 = Steady::now();
    if (!pause(false)) return std::nullopt;
    for (;;) {
      Result<Depth> d = DepthOf(c, type);
      if (!d.ok()) return std::nullopt;
      if (before->queued - d->queued >= n) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    const double rate = static_cast<double>(n) / Seconds(t0, Steady::now());
    if (!pause(true)) return std::nullopt;
    // What the workers hold finishes before the next step.
    for (;;) {
      Result<Depth> d = DepthOf(c, type);
      if (!d.ok()) return std::nullopt;
      if (d->running == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return rate;
  };
  auto wait_workers = [&]() {
    for (int tries = 0; tries < 3000; ++tries) {
      auto listed = c.Json("GET", "/v1/workers");
      if (listed.ok() && listed->at("workers").as_array().size() == workers.size()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };

  if (!pause(true)) return fail("could not pause the type");
  for (int i = 0; i < o.workers; ++i) {
    workers.push_back(
        bench::SpawnWorker(url, token, "scale-" + std::to_string(i + 1), o.capacity, type));
  }
  if (!wait_workers()) return fail("the workers did not connect");
  json::object out;

  // 1. An empty queue.
  Say("empty queue: submit " + std::to_string(sample) + " jobs, then dispatch them");
  auto t0 = Steady::now();
  if (!SubmitMany(endpoint, token, sample, o.batch, o.submitters, type, nullptr)) {
    return fail("submit failed");
  }
  const double submit_empty = static_cast<double>(sample) / Seconds(t0, Steady::now());
  std::optional<double> dispatch_empty = dispatch_rate(sample);
  if (!dispatch_empty) return fail("dispatch from the empty queue failed");
  const int64_t rss_empty_kb = server.RssKb().value_or(0);

  // 2. Fill to the depth; the last sample is the submit rate at depth.
  Say("filling the queue to " + std::to_string(o.depth + sample) + " jobs");
  const uint64_t fill = o.depth;
  t0 = Steady::now();
  if (!SubmitMany(endpoint, token, fill, o.batch, o.submitters, type, [&](uint64_t done) {
        Say("  " + std::to_string(done) + " queued, " +
            std::to_string(std::llround(static_cast<double>(done) / Seconds(t0, Steady::now()))) +
            " jobs/s");
      })) {
    return fail("submit failed");
  }
  const double fill_rate = static_cast<double>(fill) / Seconds(t0, Steady::now());
  t0 = Steady::now();
  if (!SubmitMany(endpoint, token, sample, o.batch, o.submitters, type, nullptr)) {
    return fail("submit failed");
  }
  const double submit_deep = static_cast<double>(sample) / Seconds(t0, Steady::now());
  Result<Depth> deep = DepthOf(c, type);
  if (!deep.ok()) return fail("GET /v1/types failed");
  const int64_t rss_deep_kb = server.RssKb().value_or(0);

  // 3. Dispatch at depth.
  Say("dispatching " + std::to_string(sample) + " jobs from " + std::to_string(deep->queued) +
      " queued");
  std::optional<double> dispatch_deep = dispatch_rate(sample);
  if (!dispatch_deep) return fail("dispatch from the deep queue failed");
  Result<Depth> left = DepthOf(c, type);
  if (!left.ok()) return fail("GET /v1/types failed");
  const int64_t peak_kb = server.PeakRssKb().value_or(0);

  // 4. SIGKILL and restart on the same port (the workers find it again by themselves).
  Say("SIGKILL and restart with " + std::to_string(left->queued) + " queued");
  server.Stop(SIGKILL);
  t0 = Steady::now();
  if (!start_server("127.0.0.1:" + std::to_string(port))) return fail(error);
  const double listening_s = Seconds(t0, Steady::now());
  Result<Depth> recovered = DepthOf(c, type);
  if (!recovered.ok()) return fail("GET /v1/types after the restart failed");
  const double ready_s = Seconds(t0, Steady::now());
  if (recovered->queued != left->queued) {
    return fail("the restart recovered " + std::to_string(recovered->queued) + " queued jobs of " +
                std::to_string(left->queued));
  }
  const int64_t rss_restarted_kb = server.RssKb().value_or(0);
  if (!wait_workers()) return fail("the workers did not reconnect");
  const double workers_back_s = Seconds(t0, Steady::now());
  const auto t_resume = Steady::now();
  if (!pause(false)) return fail("could not resume the type");
  for (;;) {
    Result<Depth> d = DepthOf(c, type);
    if (!d.ok()) return fail("GET /v1/types failed");
    if (d->queued < recovered->queued) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  const double first_dispatch_s = Seconds(t_resume, Steady::now());
  bench::StopWorkers(&workers);
  server.Stop(SIGTERM);
  std::filesystem::remove_all(dir);

  auto mib = [](int64_t kb) { return std::round(static_cast<double>(kb) / 1024 * 10) / 10; };
  out["depth"] = deep->queued;
  out["sample"] = sample;
  out["submit_empty_jobs_per_s"] = std::llround(submit_empty);
  out["submit_deep_jobs_per_s"] = std::llround(submit_deep);
  out["fill_jobs_per_s"] = std::llround(fill_rate);
  out["dispatch_empty_jobs_per_s"] = std::llround(*dispatch_empty);
  out["dispatch_deep_jobs_per_s"] = std::llround(*dispatch_deep);
  out["dispatch_deep_vs_empty"] = std::round(*dispatch_deep / *dispatch_empty * 1000) / 1000;
  out["rss_empty_mib"] = mib(rss_empty_kb);
  out["rss_deep_mib"] = mib(rss_deep_kb);
  out["rss_peak_mib"] = mib(peak_kb);
  out["restart_queued"] = recovered->queued;
  out["restart_listening_s"] = listening_s;
  out["restart_ready_s"] = ready_s;
  out["restart_rss_mib"] = mib(rss_restarted_kb);
  out["restart_workers_back_s"] = workers_back_s;
  out["restart_first_dispatch_after_resume_s"] = first_dispatch_s;
  out["synchronous"] = o.synchronous;
  if (o.json) {
    std::printf("%s\n", json::serialize(json::object{{"scale", out}}).c_str());
    return 0;
  }
  std::printf("%-44s %12s   %s\n", "scale", "figure", "goal");
  std::printf("%-44s %10.0f /s\n", "submit into an empty queue", submit_empty);
  const std::string deep_text = std::to_string(deep->queued) + " deep";
  std::printf("%-44s %10.0f /s\n", ("submit into a queue " + deep_text).c_str(), submit_deep);
  std::printf("%-44s %10.0f /s\n", "dispatch from an empty queue", *dispatch_empty);
  std::printf("%-44s %10.0f /s   within 20%% of empty (%.0f%%)\n",
              ("dispatch from a queue " + deep_text).c_str(), *dispatch_deep,
              *dispatch_deep / *dispatch_empty * 100);
  std::printf("%-44s %10.1f MiB  <= 1024 MiB for a million\n",
              ("server RSS, " + std::to_string(deep->queued) + " queued").c_str(),
              mib(rss_deep_kb));
  std::printf(
      "%-44s %10.2f s    < 10 s for a million\n",
      ("restart (SIGKILL) to ready, " + std::to_string(recovered->queued) + " queued").c_str(),
      ready_s);
  std::printf("%-44s %10.3f s\n", "  then first dispatch after resume", first_dispatch_s);
  return 0;
}

}  // namespace baton::cli
