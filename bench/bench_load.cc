// `baton bench load`: many clients at once against a server of its own and no-op workers. Each
// client is a user of its own with one event stream (GET /v1/events, its jobs only) and a loop
// that submits a job, waits until its stream shows the job succeeded, and submits the next. It
// holds when no request fails and no event is lost: every job's stream shows exactly queued,
// running, succeeded, in order. Figures: jobs, jobs a second, submit-to-success latency seen on
// the stream (p50, p99, max), and the server's memory. Exit code 0 when it holds, 1 when not.
#include <signal.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "bench/bench.h"
#include "bench/bench_process.h"
#include "bench/calibration.h"
#include "client/client.h"

namespace baton::cli {

namespace {

namespace json = boost::json;
using Steady = std::chrono::steady_clock;

void Say(const std::string& text) { bench::Say("load", text); }

// One client: its stream's view of its jobs, and its loop's wait for each.
struct ClientState {
  std::mutex mu;
  std::condition_variable cv;
  std::map<uint64_t, std::vector<std::string>> states;  // job -> state events, in order
  uint64_t last_seq = 0;
  bool out_of_order = false;
  bool stream_ended = false;
  uint64_t closing_job = 0;  // submitted once the loop is done: its events end the stream
  std::string stream_error;
};

}  // namespace

int RunLoad(const BenchOptions& o) {
  const std::filesystem::path dir =
      std::filesystem::path(o.dir) / ("baton-load-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string data = (dir / "data").string();
  bench::ServerProcess server;
  std::vector<pid_t> workers;
  auto cleanup = [&] {
    bench::StopWorkers(&workers);
    server.Stop(SIGTERM);
    std::filesystem::remove_all(dir);
  };
  std::string error;
  if (!server.Start({"--data", data, "--listen", "127.0.0.1:0", "--synchronous", o.synchronous}, 60,
                    &error)) {
    Say(error);
    cleanup();
    return 4;
  }
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  const client::Endpoint endpoint = client::Endpoint::Parse(url).value();
  std::string admin;
  std::getline(std::ifstream(data + "/admin.token"), admin);
  client::Client c(endpoint, admin);
  for (int i = 0; i < o.workers; ++i) {
    workers.push_back(bench::SpawnWorker(url, admin, "load-" + std::to_string(i + 1), o.capacity));
  }
  // A user (and token) per client.
  std::vector<std::string> tokens;
  for (int i = 0; i < o.clients; ++i) {
    Result<json::value> t = c.Json(
        "POST", "/v1/tokens", json::serialize(json::object{{"user", "load-" + std::to_string(i)}}));
    if (!t.ok()) {
      Say("token: " + t.status().ToString());
      cleanup();
      return 4;
    }
    tokens.emplace_back(t->at("token").as_string());
  }
  Say(std::to_string(o.clients) + " clients for " + std::to_string(o.seconds) + " s against " +
      std::to_string(o.workers) + " workers");

  std::vector<std::unique_ptr<ClientState>> states;
  for (int i = 0; i < o.clients; ++i) states.push_back(std::make_unique<ClientState>());
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> errors{0}, jobs_done{0};
  std::mutex latency_mu;
  std::vector<double> latencies_ms;
  std::vector<std::string> first_errors;
  auto note_error = [&](const std::string& what) {
    ++errors;
    std::lock_guard lock(latency_mu);
    if (first_errors.size() < 5) first_errors.push_back(what);
  };
  const auto t0 = Steady::now();
  const auto deadline = t0 + std::chrono::seconds(o.seconds);
  std::vector<std::thread> streams, loops;
  for (int i = 0; i < o.clients; ++i) {
    ClientState& st = *states[i];
    streams.emplace_back([&, i] {
      client::Client sc(endpoint, tokens[i]);
      sc.SetFailover(0, nullptr);  // a stream that breaks is an error here, not a reconnect
      // The stream ends (the callback returns false) once the loop is done and told it so.
      Status s = sc.Events(0, 0, [&](const json::object& e) {
        std::lock_guard lock(st.mu);
        const uint64_t seq = e.at("seq").to_number<uint64_t>();
        if (seq <= st.last_seq) st.out_of_order = true;
        st.last_seq = seq;
        if (e.at("kind").as_string() == "state") {
          st.states[e.at("job").to_number<uint64_t>()].emplace_back(e.at("state").as_string());
        }
        st.cv.notify_all();
        return !st.stream_ended;
      });
      std::lock_guard lock(st.mu);
      if (!st.stream_ended) st.stream_error = s.ok() ? "the stream ended" : s.ToString();
      st.stream_ended = true;
      st.cv.notify_all();
    });
    loops.emplace_back([&, i] {
      client::Client lc(endpoint, tokens[i]);
      const json::object job{{"type", "bench"}, {"payload", json::parse(bench::kPayload)}};
      while (Steady::now() < deadline) {
        const auto sent = Steady::now();
        Result<json::value> r = lc.Submit(job);
        if (!r.ok()) {
          note_error("submit: " + r.status().ToString());
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          continue;
        }
        const uint64_t id = r->at("id").to_number<uint64_t>();
        std::unique_lock lock(st.mu);
        const bool seen = st.cv.wait_until(lock, Steady::now() + std::chrono::seconds(60), [&] {
          auto it = st.states.find(id);
          return !st.stream_error.empty() ||
                 (it != st.states.end() && it->second.back() == "succeeded");
        });
        if (!seen || !st.stream_error.empty()) {
          lock.unlock();
          note_error("job " + std::to_string(id) + ": its success never showed on the stream" +
                     (st.stream_error.empty() ? "" : " (" + st.stream_error + ")"));
          break;
        }
        lock.unlock();
        ++jobs_done;
        const double ms = std::chrono::duration<double, std::milli>(Steady::now() - sent).count();
        std::lock_guard l(latency_mu);
        latencies_ms.push_back(ms);
      }
      // Ends this client's stream: a last job of its own, whose first event closes it.
      {
        std::lock_guard lock(st.mu);
        st.stream_ended = true;
      }
      Result<json::value> closing = lc.Submit(job);
      if (!closing.ok()) {
        note_error("submit: " + closing.status().ToString());
        return;
      }
      std::lock_guard lock(st.mu);
      st.closing_job = closing->at("id").to_number<uint64_t>();
    });
  }
  for (std::thread& t : loops) t.join();
  const double seconds = std::chrono::duration<double>(Steady::now() - t0).count();
  const int64_t rss_kb = server.RssKb().value_or(0);
  for (std::thread& t : streams) t.join();

  // No lost event: each job's stream shows queued, running, succeeded, in this order.
  uint64_t lost = 0, out_of_order = 0;
  for (const auto& st : states) {
    out_of_order += st->out_of_order;
    for (const auto& [id, seen] : st->states) {
      if (id == st->closing_job) continue;
      if (seen != std::vector<std::string>{"queued", "running", "succeeded"}) {
        ++lost;
        std::lock_guard lock(latency_mu);
        if (first_errors.size() < 5) {
          first_errors.push_back("job " + std::to_string(id) + ": its events showed " +
                                 json::serialize(json::value_from(seen)));
        }
      }
    }
  }
  cleanup();

  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto pct = [&](double p) {
    if (latencies_ms.empty()) return 0.0;
    return latencies_ms[std::min(
        latencies_ms.size() - 1,
        static_cast<size_t>(p * static_cast<double>(latencies_ms.size())))];
  };
  const bool held = errors == 0 && lost == 0 && out_of_order == 0 && jobs_done > 0;
  json::object out{
      {"clients", o.clients},
      {"workers", o.workers},
      {"seconds", std::round(seconds * 10) / 10},
      {"jobs", jobs_done.load()},
      {"jobs_per_s", std::llround(static_cast<double>(jobs_done) / seconds)},
      {"p50_ms", std::round(pct(0.5) * 100) / 100},
      {"p99_ms", std::round(pct(0.99) * 100) / 100},
      {"max_ms", latencies_ms.empty() ? 0.0 : std::round(latencies_ms.back() * 100) / 100},
      {"errors", errors.load()},
      {"lost_events", lost},
      {"out_of_order_streams", out_of_order},
      {"server_rss_mib", std::round(static_cast<double>(rss_kb) / 1024 * 10) / 10},
      {"held", held}};
  for (const std::string& e : first_errors) Say(e);
  if (o.json) {
    std::printf("%s\n", json::serialize(json::object{{"load", out}}).c_str());
  } else {
    std::printf(
        "%d clients, %d workers, %.1f s: %llu jobs (%lld/s), submit to success p50 %.2f ms, "
        "p99 %.2f ms; %llu errors, %llu lost events: %s\n",
        o.clients, o.workers, seconds, static_cast<unsigned long long>(jobs_done.load()),
        std::llround(static_cast<double>(jobs_done) / seconds), pct(0.5), pct(0.99),
        static_cast<unsigned long long>(errors.load()), static_cast<unsigned long long>(lost),
        held ? "held" : "DID NOT HOLD");
  }
  return held ? 0 : 1;
}

}  // namespace baton::cli
