// `baton bench failover --store postgresql://...`: two `baton server` processes on one database
// and a no-op worker given both; the leader is SIGKILLed, and the bench measures how long until
// the other leads (takeover) and until a job submitted then has run (first job: the lease's lapse,
// the new leader's recovery, the worker's reconnection, a dispatch). Each round waits a random
// part of a renewal period first, and starts the killed server again (a standby now) on its port
// after. Goal: within the lease TTL plus 2 s.
#include <signal.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "bench/bench.h"
#include "bench/bench_process.h"
#include "bench/calibration.h"
#include "client/client.h"

namespace baton::cli {

namespace {

namespace json = boost::json;
using Steady = std::chrono::steady_clock;

bool Leads(uint16_t port) {
  client::Client c(client::Endpoint::Parse("http://127.0.0.1:" + std::to_string(port)).value(), "");
  c.SetFailover(0, nullptr);
  Result<client::HttpAnswer> r = c.Call("GET", "/healthz");
  return r.ok() && r->status == 200 && r->body.find(R"("role":"leader")") != std::string::npos;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int RunFailover(const BenchOptions& o) {
  auto say = [](const std::string& text) { bench::Say("failover", text); };
  if (!o.store.starts_with("postgres")) {
    say("needs --store postgresql://... (several servers share a PostgreSQL database)");
    return 2;
  }
  const std::filesystem::path dir =
      std::filesystem::path(o.dir) / ("baton-bench-failover-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  bench::ServerProcess servers[2];
  uint16_t ports[2] = {0, 0};
  std::vector<pid_t> workers;
  auto start = [&](int i, const std::string& listen, std::string* error) {
    const bool ok =
        servers[i].Start({"--data", (dir / ("s" + std::to_string(i))).string(), "--listen", listen,
                          "--store", o.store, "--lease-ms", std::to_string(o.lease_ms)},
                         60, error);
    if (ok) ports[i] = servers[i].port();
    return ok;
  };
  auto fail = [&](const std::string& why) {
    say(why);
    bench::StopWorkers(&workers);
    for (bench::ServerProcess& s : servers) s.Stop(SIGKILL);
    std::filesystem::remove_all(dir);
    return 4;
  };
  std::string error;
  if (!start(0, "127.0.0.1:0", &error)) return fail(error);
  for (int i = 0; i < 2000 && !Leads(ports[0]); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!start(1, "127.0.0.1:0", &error)) return fail(error);
  std::string token;
  std::getline(std::ifstream(dir / "s0" / "admin.token"), token);
  const std::string urls = "http://127.0.0.1:" + std::to_string(ports[0]) +
                           ",http://127.0.0.1:" + std::to_string(ports[1]);
  workers.push_back(bench::SpawnWorker(urls, token, "bench-failover", o.capacity));

  // Submits one job to the server on `port` and waits until it succeeded; false after 120 s.
  auto run_one = [&](uint16_t port) {
    client::Client c(client::Endpoint::Parse("http://127.0.0.1:" + std::to_string(port)).value(),
                     token);
    const auto deadline = Steady::now() + std::chrono::seconds(120);
    Result<json::value> job = c.Submit(json::object{{"type", "bench"}});
    while (!job.ok() && Steady::now() < deadline) job = c.Submit(json::object{{"type", "bench"}});
    if (!job.ok()) return false;
    const std::string target = "/v1/jobs/" + std::to_string(job->at("id").to_number<uint64_t>());
    while (Steady::now() < deadline) {
      Result<json::value> got = c.Json("GET", target);
      if (got.ok() && got->at("state") == "succeeded") return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return false;
  };
  if (!run_one(ports[0])) return fail("the first job did not run");

  json::array rounds;
  std::vector<double> takeovers, first_jobs;
  // The moment of each kill is drawn within a renewal period, since how long the lease still
  // runs depends on when it was renewed last.
  std::mt19937_64 rng(std::random_device{}());
  for (int round = 0; round < o.rounds; ++round) {
    std::this_thread::sleep_for(
        std::chrono::milliseconds(rng() % static_cast<uint64_t>(o.lease_ms / 3)));
    const int leader = Leads(ports[0]) ? 0 : 1, other = 1 - leader;
    say("round " + std::to_string(round + 1) + " of " + std::to_string(o.rounds) +
        ": SIGKILL the leader (port " + std::to_string(ports[leader]) + ")");
    const auto t0 = Steady::now();
    servers[leader].Stop(SIGKILL);
    while (!Leads(ports[other])) {
      if (Steady::now() - t0 > std::chrono::seconds(120)) return fail("no server took over");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    const double takeover = bench::Seconds(t0, Steady::now());
    if (!run_one(ports[other])) return fail("no job ran on the new leader");
    const double first_job = bench::Seconds(t0, Steady::now());
    takeovers.push_back(takeover);
    first_jobs.push_back(first_job);
    rounds.push_back(json::object{{"takeover_s", takeover}, {"first_job_s", first_job}});
    // Back as a standby on its port, so that the worker's list of servers stays true.
    if (!start(leader, "127.0.0.1:" + std::to_string(ports[leader]), &error)) return fail(error);
  }
  bench::StopWorkers(&workers);
  for (bench::ServerProcess& s : servers) s.Stop(SIGTERM);
  std::filesystem::remove_all(dir);

  json::object out{{"lease_ms", o.lease_ms},
                   {"rounds", rounds},
                   {"takeover_s_median", Median(takeovers)},
                   {"first_job_s_median", Median(first_jobs)},
                   {"first_job_s_max", *std::max_element(first_jobs.begin(), first_jobs.end())},
                   {"goal_s", static_cast<double>(o.lease_ms) / 1000 + 2}};
  if (o.json) {
    std::printf("%s\n", json::serialize(json::object{{"failover", out}}).c_str());
    return 0;
  }
  std::printf("%-34s %14s   %s\n", "benchmark", "figure", "goal / calibration");
  std::printf("%-34s %10.3f s    lease %.1f s\n", "failover: SIGKILL -> new leader",
              Median(takeovers), static_cast<double>(o.lease_ms) / 1000);
  std::printf("%-34s %10.3f s    goal <= %.1f s; the slowest %.3f s\n",
              "failover: SIGKILL -> a job done", Median(first_jobs),
              static_cast<double>(o.lease_ms) / 1000 + 2,
              *std::max_element(first_jobs.begin(), first_jobs.end()));
  return 0;
}

}  // namespace baton::cli
