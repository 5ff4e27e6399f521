// The simulation one layer up: the runtime (stepped: its engine pass and its group commit driven
// by the simulation) and the worker hub, over a memory store behind a FaultyStore. Simulated
// workers speak the worker protocol through protocol/frames.h to the hub, as real ones do over
// their WebSocket; clients submit and cancel through Runtime::Execute and count a job only once
// its answer came, after the commit. Faults: commits that fail, commits held back for a while
// (the disk is slow: commands pile up and group), server crashes (before or after a commit,
// replies lost either way), workers that drop their connection (and lose their attempts), and
// attempts that fail, decline, hang or stop heartbeating. One seed, one run.
#include <deque>
#include <map>
#include <memory>
#include <set>

#include "common/clock.h"
#include "common/random.h"
#include "protocol/frames.h"
#include "server/runtime.h"
#include "server/worker_hub.h"
#include "sim/invariants.h"
#include "sim/simulation.h"
#include "store/faulty_store.h"
#include "store/memory/memory_store.h"

namespace baton::sim {

namespace {

using engine::AttemptId;
using engine::JobId;

constexpr int64_t kStartMs = 1'700'000'000'000;
constexpr int64_t kHeartbeatEveryMs = 500;

// A worker's end of its connection: what the hub sends waits here until the worker reads it.
class SimSocket : public server::WebSocket {
 public:
  void Send(std::string text) override {
    if (!closed) inbox.push_back(std::move(text));
  }
  void Close(std::string) override { closed = true; }
  std::deque<std::string> inbox;
  bool closed = false;
};

enum class Behavior { kSucceed, kError, kDecline, kHang, kStall };

struct RtAttempt {
  protocol::AttemptKey key;
  Behavior behavior = Behavior::kSucceed;
  int64_t finish_at_ms = 0;
  bool sent = false;     // its completion is on its way; the ack or refusal ends it
  bool stopped = false;  // the server said stop (or that it is no longer ours): complete it so
                         // that its slot frees (docs/protocol.md), and expect a refusal
};

struct RtWorker {
  std::string name;
  std::vector<std::string> types;
  uint32_t capacity = 1;
  std::shared_ptr<SimSocket> socket;
  server::WebSocketHandlers handlers;
  bool connected = false;
  int64_t back_at_ms = 0;
  int64_t next_heartbeat_ms = 0;
  std::map<AttemptId, RtAttempt> running;
};

class RuntimeSimulation {
 public:
  explicit RuntimeSimulation(const SimOptions& o)
      : o_(o), rng_(o.seed), clock_(kStartMs), config_(SimEngineConfig(o.seed)) {
    workers_ = SimWorkers<RtWorker>(o.workers, {{"a", "b"}, {"b", "c"}, {"a", "c"}}, rng_);
  }

  SimReport Run();

 private:
  int64_t now() { return clock_.NowMs(); }
  bool FaultsOn() {
    return clock_.NowMs() < kStartMs + o_.submit_period_ms || acked_.size() + refused_ < o_.jobs;
  }
  void Violation(std::string v) {
    if (violations_.size() < 50) violations_.push_back(std::move(v));
  }
  bool StartServer();
  void CrashServer();
  void ClientStep();
  void WorkerStep(RtWorker& w);
  void Disconnect(RtWorker& w, bool lose_attempts);
  void ServerStep();
  bool AllDone();
  void Check(SimReport& report);
  // Adds the runtime's commit counts to the run's, before the runtime goes.
  void CountCommits() {
    const store::GroupCommitter::Stats c = runtime_->GetStats().committer;
    stats_.transactions += c.transactions;
    stats_.batches += c.batches;
  }

  SimOptions o_;
  Random rng_;
  ManualClock clock_;
  engine::EngineConfig config_;
  store::MemoryStore memory_;
  store::FaultyStore store_{&memory_};
  std::unique_ptr<server::WorkerHub> hub_;
  std::unique_ptr<server::Runtime> runtime_;
  uint64_t epoch_ = 0;  // the server's life: answers from an earlier one never arrive
  int64_t down_until_ms_ = 0;
  int64_t commits_held_until_ms_ = 0;

  std::vector<RtWorker> workers_;
  uint32_t generated_ = 0;
  std::deque<engine::JobSpec> to_submit_;
  std::map<std::string, engine::JobSpec> in_flight_;  // sent, not answered, by key
  std::map<std::string, JobId> acked_;
  uint32_t refused_ = 0;
  std::map<JobId, AttemptId> acked_success_;
  std::set<JobId> acked_cancel_;
  std::vector<std::string> violations_;
  SimReport stats_;
};

bool RuntimeSimulation::StartServer() {
  ++epoch_;
  hub_ = std::make_unique<server::WorkerHub>(&clock_, server::WorkerHubOptions{});
  server::RuntimeOptions options;
  options.engine = config_;
  options.engine.seed = o_.seed * 7919 + epoch_;
  options.threaded = false;
  hub_->HookInto(options);
  Result<std::unique_ptr<server::Runtime>> rt = server::Runtime::Start(&store_, &clock_, options);
  if (!rt.ok()) {
    Violation("the runtime did not start: " + rt.status().ToString());
    return false;
  }
  runtime_ = std::move(*rt);
  hub_->Attach(runtime_.get(), [](JobId, AttemptId, const std::string&, const std::string&) {});
  return true;
}

void RuntimeSimulation::CrashServer() {
  ++stats_.server_crashes;
  // It dies before its next commit or just after it (durable, but no reply leaves): either way
  // nobody hears from this server again.
  const bool commit_first = rng_.Chance(0.5);
  for (RtWorker& w : workers_) {
    if (w.socket) w.socket->closed = true;
  }
  ++epoch_;
  if (commit_first) runtime_->CommitPending();
  store_.SetDown(Unavailable("the server crashed"));
  CountCommits();
  runtime_.reset();  // what it still held fails against the dead store, and is lost
  hub_.reset();
  store_.SetDown(Status::Ok());
  down_until_ms_ = now() + 200 + static_cast<int64_t>(rng_.Below(5000));
  for (RtWorker& w : workers_) {
    // Its connection went with the server (no close reaches a hub that is gone); it keeps
    // running its attempts and names them when it reconnects.
    w.connected = false;
    w.socket.reset();
    w.handlers = {};
    w.back_at_ms = down_until_ms_ + static_cast<int64_t>(rng_.Below(1000));
  }
  // The clients send again what was not answered; the keys make it safe.
  for (auto& [key, spec] : in_flight_) to_submit_.push_front(std::move(spec));
  in_flight_.clear();
}

void RuntimeSimulation::ClientStep() {
  while (generated_ < o_.jobs && to_submit_.size() < 200) {
    engine::JobSpec s;
    static const char* kTypes[] = {"a", "b", "c"};
    s.type = kTypes[rng_.Below(3)];
    s.owner = "client" + std::to_string(generated_ % 3);
    s.payload = R"({"n":)" + std::to_string(generated_) + "}";
    s.priority = static_cast<int32_t>(rng_.Below(5)) - 2;
    s.attempts_max = 1 + static_cast<uint32_t>(rng_.Below(5));
    s.retry = engine::RetryPolicy{static_cast<int64_t>(50 + rng_.Below(500)), 2.0, 5000, 0.5,
                                  engine::kRetryableOutcomes};
    s.timeout_ms = 3000 + static_cast<int64_t>(rng_.Below(7000));
    s.idempotency_key = "job-" + std::to_string(generated_);
    to_submit_.push_back(std::move(s));
    ++generated_;
  }
  const uint64_t mean =
      std::max<uint64_t>(1, static_cast<uint64_t>(o_.jobs) * static_cast<uint64_t>(o_.step_ms) /
                                static_cast<uint64_t>(o_.submit_period_ms));
  const size_t batch = std::min<size_t>(to_submit_.size(), rng_.Below(2 * mean + 1));
  for (size_t i = 0; i < batch; ++i) {
    engine::JobSpec spec = std::move(to_submit_.front());
    to_submit_.pop_front();
    const std::string key = spec.idempotency_key.str();
    auto result = std::make_shared<Result<engine::SubmitResult>>(Internal("not run"));
    runtime_->Execute(
        [result, spec](engine::Engine& e) { *result = e.Submit(spec); },
        [this, result, key, epoch = epoch_](const Status& committed) {
          if (epoch != epoch_) return;  // that server is gone; no answer came
          auto it = in_flight_.find(key);
          if (it == in_flight_.end()) return;
          if (!committed.ok()) {  // not stored: the client sends it again
            to_submit_.push_back(std::move(it->second));
          } else if (!result->ok()) {
            Violation("submit of " + key + " refused: " + result->status().ToString());
            ++refused_;
          } else {
            auto [at, inserted] = acked_.emplace(key, result->value().job_id);
            if (!inserted && at->second != result->value().job_id) {
              Violation("key " + key + " named two jobs");
            }
          }
          in_flight_.erase(it);
        });
    in_flight_.emplace(key, std::move(spec));
  }
  if (!acked_.empty() && rng_.Chance(0.02)) {
    auto it = acked_.begin();
    std::advance(it, rng_.Below(acked_.size()));
    const JobId id = it->second;
    auto s = std::make_shared<Status>(Internal("not run"));
    runtime_->Execute([s, id](engine::Engine& e) { *s = e.Cancel(id, "client changed its mind"); },
                      [this, s, id, epoch = epoch_](const Status& committed) {
                        if (epoch == epoch_ && committed.ok() && s->ok()) acked_cancel_.insert(id);
                      });
  }
}

void RuntimeSimulation::Disconnect(RtWorker& w, bool lose_attempts) {
  if (w.connected && w.handlers.on_close) w.handlers.on_close();
  w.connected = false;
  w.socket.reset();
  w.handlers = {};
  if (lose_attempts) w.running.clear();
}

void RuntimeSimulation::WorkerStep(RtWorker& w) {
  if (!w.connected) {
    if (now() < w.back_at_ms) return;
    // (Re)connects and says which attempts it still runs; the hub releases the rest.
    w.socket = std::make_shared<SimSocket>();
    Result<server::WebSocketHandlers> h =
        hub_->Connect(server::Identity{.user = "sim", .worker = true}, w.socket);
    if (!h.ok()) return Violation("connect refused: " + h.status().ToString());
    w.handlers = std::move(*h);
    w.connected = true;
    protocol::Hello hello{.worker = w.name, .types = w.types, .capacity = w.capacity};
    for (const auto& [id, at] : w.running) hello.running.push_back(at.key);
    w.handlers.on_message(protocol::SerializeFrame(
        std::vector<protocol::WorkerMessage>{protocol::WorkerMessage(std::move(hello))}));
    w.next_heartbeat_ms = now() + kHeartbeatEveryMs;
  }
  // What the server said.
  while (!w.socket->inbox.empty()) {
    const std::string text = std::move(w.socket->inbox.front());
    w.socket->inbox.pop_front();
    Result<std::vector<protocol::ServerMessage>> frame = protocol::ParseServerFrame(text);
    if (!frame.ok()) return Violation("the hub sent a broken frame: " + frame.status().ToString());
    for (protocol::ServerMessage& m : *frame) {
      if (auto* assign = std::get_if<protocol::Assign>(&m)) {
        for (const protocol::AssignedJob& j : assign->jobs) {
          RtAttempt at;
          at.key = j.key;
          const double r = rng_.Uniform();
          at.behavior = r < 0.75   ? Behavior::kSucceed
                        : r < 0.85 ? Behavior::kError
                        : r < 0.90 ? Behavior::kDecline
                        : r < 0.95 ? Behavior::kHang
                                   : Behavior::kStall;
          at.finish_at_ms = now() + (at.behavior == Behavior::kDecline ? 0 : 20 + rng_.Below(2000));
          w.running[j.key.attempt] = at;
        }
      } else if (auto* stop = std::get_if<protocol::Stop>(&m)) {
        if (auto it = w.running.find(stop->key.attempt); it != w.running.end()) {
          it->second.stopped = true;
        }
      } else if (auto* ack = std::get_if<protocol::Ack>(&m)) {
        auto it = w.running.find(ack->key.attempt);
        if (it == w.running.end() || !it->second.sent) continue;
        if (it->second.behavior == Behavior::kSucceed && !it->second.stopped) {
          acked_success_[ack->key.job] = ack->key.attempt;
        }
        w.running.erase(it);
      } else if (auto* refused = std::get_if<protocol::Refused>(&m)) {
        ++stats_.stale_refused;
        auto it = w.running.find(refused->key.attempt);
        if (it == w.running.end()) continue;
        if (refused->command == "complete") {
          w.running.erase(it);  // final
        } else {
          it->second.stopped = true;  // a heartbeat refused: the attempt is not ours any more
        }
      } else if (std::holds_alternative<protocol::Error>(m)) {
        Violation("the hub refused a frame: " + std::get<protocol::Error>(m).message);
      }
    }
  }
  if (w.socket->closed) return Disconnect(w, false);
  if (FaultsOn() && rng_.Chance(o_.worker_vanish_per_step)) {
    // The process dies: its attempts are gone; it comes back after its leases ran out.
    ++stats_.worker_vanishes;
    Disconnect(w, true);
    w.back_at_ms =
        now() + config_.heartbeat_timeout_ms_default + static_cast<int64_t>(rng_.Below(5000));
    return;
  }
  std::vector<protocol::WorkerMessage> out;
  if (now() >= w.next_heartbeat_ms) {
    w.next_heartbeat_ms = now() + kHeartbeatEveryMs;
    protocol::Heartbeat hb;
    for (const auto& [id, at] : w.running) {
      if (at.behavior != Behavior::kStall && !at.sent && !at.stopped) {
        hb.attempts.push_back(at.key);
      }
    }
    if (!hb.attempts.empty()) out.emplace_back(std::move(hb));
  }
  for (auto& [id, at] : w.running) {
    if (at.sent || (!at.stopped && (at.behavior == Behavior::kHang ||
                                    at.behavior == Behavior::kStall || now() < at.finish_at_ms))) {
      continue;
    }
    protocol::Complete c{.key = at.key};
    if (at.stopped) {
      c.outcome = protocol::Complete::kError;
      c.error = "stopped";
    } else if (at.behavior == Behavior::kSucceed) {
      c.result = R"({"attempt":)" + std::to_string(id) + "}";
    } else if (at.behavior == Behavior::kError) {
      c.outcome = protocol::Complete::kError;
      c.error = "simulated error";
    } else {
      c.outcome = protocol::Complete::kDeclined;
    }
    at.sent = true;
    out.emplace_back(std::move(c));
  }
  if (!out.empty()) w.handlers.on_message(protocol::SerializeFrame(out));
}

void RuntimeSimulation::ServerStep() {
  runtime_->RunPass();
  if (FaultsOn() && rng_.Chance(o_.commit_failure_per_step)) {
    ++stats_.commit_failures;
    store_.FailApplies(1, Unavailable("simulated disk error"));
  }
  if (FaultsOn() && commits_held_until_ms_ <= now() && rng_.Chance(o_.commit_delay_per_step)) {
    // A slow disk: nothing commits for a while; the engine goes on and its batches group.
    commits_held_until_ms_ = now() + 50 + static_cast<int64_t>(rng_.Below(500));
  }
  if (now() >= commits_held_until_ms_) runtime_->CommitPending();
}

bool RuntimeSimulation::AllDone() {
  if (!to_submit_.empty() || !in_flight_.empty() || generated_ < o_.jobs) return false;
  for (const auto& [key, id] : acked_) {
    Result<engine::JobRecord> job = memory_.GetJob(id);
    if (!job.ok() || !engine::IsTerminal(job->status.state)) return false;
  }
  return true;
}

SimReport RuntimeSimulation::Run() {
  SimReport report;
  if (!StartServer()) {
    report.violations = violations_;
    return report;
  }
  int64_t last_fault_ms = now();
  for (uint64_t step = 0;; ++step) {
    clock_.Advance(o_.step_ms);
    if (down_until_ms_ != 0) {
      if (now() < down_until_ms_) continue;
      down_until_ms_ = 0;
      if (!StartServer()) break;
    }
    ClientStep();
    for (RtWorker& w : workers_) WorkerStep(w);
    ServerStep();
    if (FaultsOn()) {
      last_fault_ms = now();
      if (rng_.Chance(o_.server_crash_per_step)) CrashServer();
      if (now() - kStartMs > o_.submit_period_ms + o_.drain_ms_max) {
        Violation("the clients never got all their submits acknowledged");
        break;
      }
      continue;
    }
    if (now() - last_fault_ms > o_.drain_ms_max) {
      Violation("jobs were still not finished after drain_ms_max");
      break;
    }
    if (step % 100 == 0 && AllDone()) break;
  }
  Check(report);
  return report;
}

void RuntimeSimulation::Check(SimReport& report) {
  // The engine's copy of every job it holds, read on its pass.
  std::map<JobId, engine::JobRecord> live;
  JobId last = 0;
  for (const auto& [key, id] : acked_) last = std::max(last, id);
  if (runtime_) {
    runtime_->Execute(
        [&live, last](engine::Engine& e) {
          for (JobId id = 1; id <= last; ++id) {
            if (const engine::JobRecord* j = e.Find(id)) live.emplace(id, *j);
          }
        },
        [](const Status&) {});
    runtime_->RunPass();
    runtime_->CommitPending();
  }
  if (runtime_) CountCommits();
  report = stats_;
  report.seed = o_.seed;
  report.simulated_ms = now() - kStartMs;
  const ClientView seen{acked_, acked_success_, acked_cancel_, refused_, o_.jobs};
  CheckInvariants(
      memory_, seen,
      [&live](JobId id) -> const engine::JobRecord* {
        auto it = live.find(id);
        return it == live.end() ? nullptr : &it->second;
      },
      &report, [this](std::string v) { Violation(std::move(v)); });
  report.violations = violations_;
}

}  // namespace

SimReport RunRuntimeSimulation(const SimOptions& options) {
  RuntimeSimulation sim(options);
  return sim.Run();
}

}  // namespace baton::sim
