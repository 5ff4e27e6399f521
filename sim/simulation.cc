#include "sim/simulation.h"

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "common/random.h"
#include "engine/engine.h"
#include "sim/invariants.h"
#include "store/memory/memory_store.h"

namespace baton::sim {

using engine::AttemptId;
using engine::Engine;
using engine::JobId;
using engine::JobState;
using engine::Outcome;

namespace {

constexpr int64_t kStartMs = 1'700'000'000'000;
constexpr int64_t kHeartbeatEveryMs = 500;

enum class Behavior { kSucceed, kError, kFatal, kDecline, kHang, kStall, kDuplicate };

struct SimAttempt {
  engine::AttemptRef ref;
  Behavior behavior = Behavior::kSucceed;
  int64_t finish_at_ms = 0;
  int64_t next_heartbeat_ms = 0;
  int64_t next_progress_ms = 0;
  uint32_t children_to_spawn = 0;
  bool spawned = false;
  bool reported = false;  // a completion was acknowledged (a duplicate may still be sent)
};

struct SimWorker {
  std::string name;
  uint32_t incarnation = 0;
  std::vector<std::string> types;
  uint32_t capacity = 4;
  bool alive = true;
  int64_t back_at_ms = 0;       // when a vanished worker returns
  int64_t paused_until_ms = 0;  // a paused worker does nothing until then
  std::map<AttemptId, SimAttempt> running;
  // Attempts this worker lost track of while it was gone; it reports them late, and the engine
  // must refuse them.
  std::vector<engine::AttemptRef> stale;
  // Stop notices from the server; read after the worker has acted on its attempts, so that a
  // worker that was paused sends its late completions first (and the engine must refuse them).
  std::vector<AttemptId> inbox;

  std::string Id() const { return name + "#" + std::to_string(incarnation); }
};

struct Verdict {
  int64_t at_ms;
  JobId job;
  bool accept;
};

class Simulation {
 public:
  explicit Simulation(const SimOptions& o) : o_(o), rng_(o.seed), config_(SimEngineConfig(o.seed)) {
    now_ = kStartMs;
    engine_ = std::make_unique<Engine>(config_);
    engine_->Tick(now_);
    workers_ = SimWorkers<SimWorker>(
        o.workers,
        {{"a", "b"}, {"b", "c"}, {"a", "c", "parent"}, {"child", "a"}, {"parent", "child", "b"}},
        rng_);
  }

  SimReport Run();

 private:
  engine::JobSpec MakeSpec(uint32_t n);
  void Step();
  void ClientStep();
  void WorkerStep(SimWorker& w);
  void StartAttempt(SimWorker& w, const engine::Assignment& a);
  void Commit();
  void Rebuild();
  void Check(SimReport& report);
  void Violation(std::string v) {
    if (violations_.size() < 50) violations_.push_back(std::move(v));
  }
  bool FaultsOn() const {
    return now_ < kStartMs + o_.submit_period_ms || acked_.size() + refused_ < o_.jobs;
  }

  SimOptions o_;
  Random rng_;
  engine::EngineConfig config_;
  std::unique_ptr<Engine> engine_;
  store::MemoryStore store_;
  int64_t now_;
  int64_t server_down_until_ = 0;
  uint32_t rebuilds_ = 0;

  std::vector<SimWorker> workers_;
  std::deque<std::pair<std::string, engine::JobSpec>> to_submit_;  // (key, spec), not yet acked
  std::vector<std::pair<std::string, engine::JobSpec>> pending_resubmit_;  // sent, not answered
  uint32_t generated_ = 0;
  std::map<std::string, JobId> acked_;        // client key -> acknowledged job
  uint32_t refused_ = 0;                      // submits refused because their deadline had passed
  std::map<JobId, AttemptId> acked_success_;  // completions a worker saw acknowledged
  std::set<JobId> acked_cancel_;
  std::set<JobId> verified_;
  std::vector<Verdict> verdicts_;

  std::vector<std::function<void()>> after_commit_;  // replies, delivered only after the commit
  std::vector<std::string> violations_;
  SimReport stats_;
};

engine::JobSpec Simulation::MakeSpec(uint32_t n) {
  engine::JobSpec s;
  static const char* kTypes[] = {"a", "b", "c", "parent"};
  s.type = kTypes[rng_.Below(4)];
  s.owner = "client" + std::to_string(n % 3);
  s.payload = R"({"n":)" + std::to_string(n) + "}";
  s.priority = static_cast<int32_t>(rng_.Below(5)) - 2;
  s.attempts_max = 1 + static_cast<uint32_t>(rng_.Below(5));
  s.retry = engine::RetryPolicy{static_cast<int64_t>(50 + rng_.Below(500)), 2.0, 5000, 0.5,
                                engine::kRetryableOutcomes};
  s.timeout_ms = 3000 + static_cast<int64_t>(rng_.Below(7000));
  if (rng_.Chance(0.1)) s.run_after_ms = now_ + static_cast<int64_t>(rng_.Below(5000));
  if (rng_.Chance(0.1)) s.run_by_ms = std::max(now_, s.run_after_ms) + 500 + rng_.Below(60000);
  s.verify = rng_.Chance(0.1);
  // A verdict may be lost with a crash: past its deadline the job fails rather than waiting on.
  if (s.verify) s.verdict_timeout_ms = 3000 + static_cast<int64_t>(rng_.Below(7000));
  s.idempotency_key = "job-" + std::to_string(n);
  return s;
}

void Simulation::ClientStep() {
  while (generated_ < o_.jobs && to_submit_.size() < 200) {
    engine::JobSpec spec = MakeSpec(generated_);
    to_submit_.emplace_back(spec.idempotency_key, spec);
    ++generated_;
  }
  // On average jobs / (period / step) a step, in bursts.
  const uint64_t mean =
      std::max<uint64_t>(1, static_cast<uint64_t>(o_.jobs) * static_cast<uint64_t>(o_.step_ms) /
                                static_cast<uint64_t>(o_.submit_period_ms));
  const size_t batch = std::min<size_t>(to_submit_.size(), rng_.Below(2 * mean + 1));
  for (size_t i = 0; i < batch; ++i) {
    auto [key, spec] = to_submit_.front();
    to_submit_.pop_front();
    Result<engine::SubmitResult> r = engine_->Submit(spec);
    if (!r.ok()) {
      // A deadline that passed while the client waited (say, for a crashed server) is a clear
      // refusal the client accepts; anything else is a bug.
      if (r.status().message().rfind("run_by: is in the past", 0) != 0) {
        Violation("submit of " + key + " refused: " + r.status().ToString());
      }
      ++refused_;
      continue;
    }
    after_commit_.push_back([this, key, id = r->job_id, verify = spec.verify] {
      auto [it, inserted] = acked_.emplace(key, id);
      if (!inserted && it->second != id) {
        Violation("key " + key + " named job " + std::to_string(it->second) + ", then " +
                  std::to_string(id));
      }
      if (verify) verified_.insert(id);
    });
    // Until the answer comes, the client keeps the submit; it re-sends if the commit fails.
    pending_resubmit_.emplace_back(key, std::move(spec));
  }
  // Cancel some acknowledged jobs.
  if (!acked_.empty() && rng_.Chance(0.02)) {
    auto it = acked_.begin();
    std::advance(it, rng_.Below(acked_.size()));
    const JobId id = it->second;
    Status s = engine_->Cancel(id, "client changed its mind");
    if (s.ok()) after_commit_.push_back([this, id] { acked_cancel_.insert(id); });
  }
}

void Simulation::StartAttempt(SimWorker& w, const engine::Assignment& a) {
  SimAttempt at;
  at.ref = {a.job_id, a.attempt_id, w.Id()};
  const double r = rng_.Uniform();
  if (r < 0.72) {
    at.behavior = Behavior::kSucceed;
  } else if (r < 0.80) {
    at.behavior = Behavior::kError;
  } else if (r < 0.82) {
    at.behavior = Behavior::kFatal;
  } else if (r < 0.87) {
    at.behavior = Behavior::kDecline;
  } else if (r < 0.91) {
    at.behavior = Behavior::kHang;
  } else if (r < 0.94) {
    at.behavior = Behavior::kStall;
  } else {
    at.behavior = Behavior::kDuplicate;
  }
  at.finish_at_ms = now_ + (at.behavior == Behavior::kDecline ? 0 : 20 + rng_.Below(2000));
  at.next_heartbeat_ms = now_ + kHeartbeatEveryMs;
  at.next_progress_ms = now_ + 200;
  if (a.type == "parent") at.children_to_spawn = 1 + static_cast<uint32_t>(rng_.Below(5));
  w.running[a.attempt_id] = at;
}

void Simulation::WorkerStep(SimWorker& w) {
  if (!w.alive) {
    if (now_ < w.back_at_ms) return;
    // It comes back as a new incarnation and reports what it lost track of: all stale.
    w.alive = true;
    ++w.incarnation;
    for (const engine::AttemptRef& ref : w.stale) {
      Status s = engine_->Complete(ref, {Outcome::kSucceeded, R"({"late":true})", "", true});
      if (s.ok())
        Violation("a vanished worker's completion of job " + std::to_string(ref.job_id) +
                  " was accepted");
      ++stats_.stale_refused;
    }
    w.stale.clear();
  }
  if (now_ < w.paused_until_ms) return;
  if (FaultsOn() && rng_.Chance(o_.worker_vanish_per_step)) {
    ++stats_.worker_vanishes;
    w.alive = false;
    // It returns after its leases have surely run out, so its late reports must be refused.
    w.back_at_ms =
        now_ + config_.heartbeat_timeout_ms_default + 500 + static_cast<int64_t>(rng_.Below(10000));
    for (const auto& [id, at] : w.running) w.stale.push_back(at.ref);
    w.running.clear();
    w.inbox.clear();
    return;
  }
  if (FaultsOn() && rng_.Chance(o_.worker_pause_per_step)) {
    ++stats_.worker_pauses;
    w.paused_until_ms = now_ + 500 + static_cast<int64_t>(rng_.Below(5000));
    return;
  }
  std::vector<AttemptId> finished;
  for (auto& [attempt_id, at] : w.running) {
    const JobId job = at.ref.job_id;
    if (at.children_to_spawn > 0 && !at.spawned && now_ >= at.next_progress_ms) {
      at.spawned = true;
      const engine::JobRecord* parent = engine_->Find(job);
      for (uint32_t k = 0; parent && k < at.children_to_spawn; ++k) {
        engine::JobSpec child;
        child.type = "child";
        child.owner = parent->spec.owner;
        child.parent_id = job;
        child.attempts_max = 3;
        child.retry = engine::RetryPolicy{100, 2.0, 2000, 0.5, engine::kRetryableOutcomes};
        child.idempotency_key = "child-" + std::to_string(job) + "-" + std::to_string(k);
        // A refusal (the parent has ended meanwhile) is fine: the child is simply not needed.
        (void)engine_->Submit(child);
      }
    }
    if (at.behavior != Behavior::kStall && now_ >= at.next_heartbeat_ms) {
      at.next_heartbeat_ms = now_ + kHeartbeatEveryMs;
      Status s = engine_->Heartbeat(at.ref);
      if (!s.ok()) {
        ++stats_.stale_refused;
        finished.push_back(attempt_id);  // the engine says it is over: stop working on it
        continue;
      }
    }
    if (now_ >= at.next_progress_ms && !at.reported) {
      at.next_progress_ms = now_ + 300;
      Status s = engine_->Progress(at.ref, rng_.Uniform(), "working");
      if (!s.ok()) ++stats_.stale_refused;
    }
    const bool completes = at.behavior != Behavior::kHang && at.behavior != Behavior::kStall;
    if ((completes || (at.behavior == Behavior::kStall && now_ >= at.finish_at_ms + 5000)) &&
        now_ >= at.finish_at_ms) {
      engine::Completion c;
      switch (at.behavior) {
        case Behavior::kError:
          c = {Outcome::kError, "", "simulated error", true};
          break;
        case Behavior::kFatal:
          c = {Outcome::kError, "", "simulated fatal error", false};
          break;
        case Behavior::kDecline:
          c = {Outcome::kDeclined, "", "", true};
          break;
        default:
          c = {Outcome::kSucceeded, R"({"attempt":)" + std::to_string(attempt_id) + "}", "", true};
      }
      const bool success = c.outcome == Outcome::kSucceeded;
      Status s = engine_->Complete(at.ref, std::move(c));
      if (!s.ok()) {
        if (s.code() != StatusCode::kStaleAttempt && s.code() != StatusCode::kNotFound) {
          Violation("completion of job " + std::to_string(job) + ": " + s.ToString());
        }
        ++stats_.stale_refused;
        finished.push_back(attempt_id);
        continue;
      }
      if (at.reported) {
        Violation("a duplicate completion of job " + std::to_string(job) + " was accepted");
      }
      const bool duplicate = at.behavior == Behavior::kDuplicate && !at.reported;
      after_commit_.push_back([this, &w, attempt_id, job, success, duplicate] {
        if (success) acked_success_[job] = attempt_id;
        auto it = w.running.find(attempt_id);
        if (it == w.running.end()) return;
        if (duplicate) {
          it->second.reported = true;  // it will send the same completion once more
        } else {
          w.running.erase(it);
        }
      });
      if (success && verified_.contains(job)) {
        after_commit_.push_back([this, job] {
          verdicts_.push_back(
              {now_ + 50 + static_cast<int64_t>(rng_.Below(500)), job, rng_.Chance(0.6)});
        });
      }
    }
  }
  for (AttemptId id : finished) w.running.erase(id);
  for (AttemptId id : w.inbox) w.running.erase(id);
  w.inbox.clear();
  const uint32_t busy = static_cast<uint32_t>(w.running.size());
  if (busy < w.capacity) {
    std::vector<engine::Assignment> as = engine_->Dispatch({w.Id(), w.types, w.capacity - busy});
    if (!as.empty()) {
      after_commit_.push_back([this, &w, as = std::move(as), incarnation = w.incarnation] {
        if (!w.alive || w.incarnation != incarnation) return;  // it vanished meanwhile
        for (const engine::Assignment& a : as) StartAttempt(w, a);
      });
    }
  }
}

void Simulation::Rebuild() {
  ++rebuilds_;
  engine::EngineConfig c = config_;
  c.seed = o_.seed * 7919 + rebuilds_;
  auto fresh = std::make_unique<Engine>(c);
  Result<engine::RecoveredState> state = store_.Recover(now_ - c.idempotency_ttl_ms);
  if (!state.ok()) {
    Violation("recover: " + state.status().ToString());
    return;
  }
  Status s = fresh->Restore(std::move(*state));
  if (!s.ok()) Violation("restore: " + s.ToString());
  fresh->Tick(now_);
  engine_ = std::move(fresh);
}

void Simulation::Commit() {
  engine::RecordBatch batch;
  engine_->TakeRecords(&batch);
  std::vector<engine::Notice> notices;
  engine_->TakeNotices(&notices);
  if (FaultsOn() && rng_.Chance(o_.commit_failure_per_step)) {
    ++stats_.commit_failures;
    store_.FailApplies(1, Unavailable("simulated disk error"));
  }
  if (FaultsOn() && rng_.Chance(o_.server_crash_per_step)) {
    // The server dies before its commit (nothing of this batch is durable) or after it, before
    // any reply leaves (clients re-send; idempotency keys must find the committed jobs). It is
    // down for a while, then recovers from the store.
    ++stats_.server_crashes;
    if (rng_.Chance(0.5)) (void)store_.Apply(batch);
    after_commit_.clear();
    server_down_until_ = now_ + 200 + static_cast<int64_t>(rng_.Below(8000));
    return;
  }
  Status s = store_.Apply(batch);
  if (!s.ok()) {
    after_commit_.clear();
    Rebuild();
    return;
  }
  for (auto& reply : after_commit_) reply();
  after_commit_.clear();
  for (const engine::Notice& n : notices) {
    for (SimWorker& w : workers_) {
      if (w.Id() == n.worker_id) w.inbox.push_back(n.attempt_id);
    }
  }
}

void Simulation::Step() {
  now_ += o_.step_ms;
  if (server_down_until_ != 0) {
    if (now_ < server_down_until_) return;
    server_down_until_ = 0;
    Rebuild();
  }
  engine_->Tick(now_);
  // Submits whose commit did not return are sent again; the key makes it safe.
  for (auto& p : pending_resubmit_) {
    if (!acked_.contains(p.first)) to_submit_.push_front(std::move(p));
  }
  pending_resubmit_.clear();
  ClientStep();
  for (SimWorker& w : workers_) WorkerStep(w);
  std::vector<Verdict> due;
  std::erase_if(verdicts_, [&](const Verdict& v) {
    if (v.at_ms > now_) return false;
    due.push_back(v);
    return true;
  });
  for (const Verdict& v : due) {
    // Refusals are fine here: the job may have been cancelled or passed its deadline.
    if (v.accept) {
      (void)engine_->Accept(v.job);
    } else {
      (void)engine_->Reject(v.job, "simulated verifier says no");
    }
  }
  Commit();
}

SimReport Simulation::Run() {
  int64_t last_submit_ms = 0;
  for (;;) {
    Step();
    if (FaultsOn()) {
      last_submit_ms = now_;
      if (now_ - kStartMs > o_.submit_period_ms + o_.drain_ms_max) {
        Violation("the clients never got all their submits acknowledged");
        break;
      }
      continue;
    }
    if (now_ - last_submit_ms > o_.drain_ms_max) break;
    // Done when every job has finished (the engine holds all active jobs) and no verdict is
    // pending; the checks below then look at the store.
    if (verdicts_.empty() && server_down_until_ == 0 && after_commit_.empty()) {
      const engine::EngineStats st = engine_->Stats();
      uint64_t active = 0;
      for (engine::JobState s : engine::kAllJobStates) {
        if (!engine::IsTerminal(s)) active += st.jobs_by_state[static_cast<size_t>(s)];
      }
      if (active == 0) break;
    }
  }
  SimReport report;
  Check(report);
  return report;
}

void Simulation::Check(SimReport& report) {
  report = stats_;
  report.seed = o_.seed;
  report.simulated_ms = now_ - kStartMs;
  const ClientView seen{acked_, acked_success_, acked_cancel_, refused_, o_.jobs};
  CheckInvariants(
      store_, seen, [this](JobId id) { return engine_->Find(id); }, &report,
      [this](std::string v) { Violation(std::move(v)); });
  report.violations = violations_;
}

}  // namespace

std::string SimReport::Summary() const {
  std::string s =
      "seed " + std::to_string(seed) + ": " + std::to_string(jobs_total) + " jobs (" +
      std::to_string(succeeded) + " succeeded, " + std::to_string(failed) + " failed, " +
      std::to_string(cancelled) + " cancelled), " + std::to_string(attempts) + " attempts (" +
      std::to_string(declines) + " declined, " + std::to_string(timeouts) + " timed out, " +
      std::to_string(lost) + " lost, " + std::to_string(rejected) + " rejected), " +
      std::to_string(events) + " events; faults: " + std::to_string(server_crashes) +
      " server crashes, " + std::to_string(commit_failures) + " failed commits, " +
      std::to_string(worker_vanishes) + " workers vanished, " + std::to_string(worker_pauses) +
      " paused, " + std::to_string(stale_refused) + " stale messages refused; " +
      std::to_string(simulated_ms / 1000) + " s simulated; digest " + std::to_string(digest);
  if (transactions > 0) {
    s += "; " + std::to_string(batches) + " batches in " + std::to_string(transactions) +
         " transactions";
  }
  s += violations.empty() ? "; all invariants hold"
                          : "; " + std::to_string(violations.size()) + " violations";
  return s;
}

SimReport RunSimulation(const SimOptions& options) {
  Simulation sim(options);
  return sim.Run();
}

}  // namespace baton::sim
