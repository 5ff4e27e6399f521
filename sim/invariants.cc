#include "sim/invariants.h"

namespace baton::sim {

using engine::AttemptId;
using engine::JobId;
using engine::JobState;
using engine::Outcome;

engine::EngineConfig SimEngineConfig(uint64_t seed) {
  engine::EngineConfig c;
  c.seed = seed;
  c.heartbeat_timeout_ms_default = 2000;
  c.timeout_ms_default = 8000;
  c.finished_jobs_max = 2000;
  c.idempotency_ttl_ms = 24LL * 3600 * 1000;
  return c;
}

uint64_t Fnv(uint64_t h, std::string_view s) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

void CheckInvariants(store::Store& store, const ClientView& seen,
                     const std::function<const engine::JobRecord*(JobId)>& live, SimReport* out,
                     const std::function<void(std::string)>& violation) {
  SimReport& report = *out;
  auto Violation = [&](std::string v) { violation(std::move(v)); };
  // 1. Every acknowledged job is stored and terminal.
  for (const auto& [key, id] : seen.acked) {
    Result<engine::JobRecord> job = store.GetJob(id);
    if (!job.ok()) {
      Violation("acknowledged job " + std::to_string(id) + " (" + key + ") is lost");
      continue;
    }
    if (job->spec.idempotency_key != key) {
      Violation("job " + std::to_string(id) + " has key " + job->spec.idempotency_key +
                ", acknowledged for " + key);
    }
  }
  // 2. Event log: gap-free, and each job's last state event agrees with its state.
  std::map<JobId, JobState> last_event_state;
  engine::EventSeq seq = 0;
  uint64_t digest = 1469598103934665603ULL;
  for (;;) {
    auto page = store.ListEvents({.after = seq, .limit = 100000}).value();
    if (page.empty()) break;
    for (const engine::Event& e : page) {
      if (e.seq != seq + 1) Violation("event gap after " + std::to_string(seq));
      seq = e.seq;
      if (e.kind == engine::EventKind::kState) last_event_state[e.job_id] = e.state;
      digest = Fnv(digest, std::to_string(e.seq) + ":" + std::to_string(e.job_id) + ":" +
                               std::string(engine::JobStateName(e.state)) + ":" +
                               std::string(engine::OutcomeName(e.outcome)) + ":" +
                               std::to_string(e.at_ms));
    }
  }
  report.events = seq;
  report.digest = digest;
  // 3. Per job: terminal, attempts within the maximum, one committed result per success.
  for (JobId id = 1;; ++id) {
    Result<engine::JobRecord> job = store.GetJob(id);
    if (!job.ok()) {
      if (id > last_event_state.size() + 10) break;
      continue;
    }
    ++report.jobs_total;
    const engine::JobStatus& s = job->status;
    const std::string name = "job " + std::to_string(id);
    if (!engine::IsTerminal(s.state)) {
      Violation(name + " is still " + std::string(engine::JobStateName(s.state)));
    }
    report.succeeded += s.state == JobState::kSucceeded;
    report.failed += s.state == JobState::kFailed;
    report.cancelled += s.state == JobState::kCancelled;
    if (last_event_state[id] != s.state) {
      Violation(name + ": last event says " +
                std::string(engine::JobStateName(last_event_state[id])) + ", the job is " +
                std::string(engine::JobStateName(s.state)));
    }
    auto attempts = store.ListAttempts(id).value();
    uint32_t counted = 0, successes = 0;
    AttemptId success_id = 0;
    for (const engine::AttemptRecord& a : attempts) {
      ++report.attempts;
      report.declines += a.outcome == Outcome::kDeclined;
      report.timeouts += a.outcome == Outcome::kTimeout;
      report.lost += a.outcome == Outcome::kLost;
      report.rejected += a.outcome == Outcome::kRejected;
      if (a.outcome != Outcome::kDeclined) ++counted;
      if (a.outcome == Outcome::kSucceeded) {
        ++successes;
        success_id = a.id;
      }
    }
    if (s.attempts_used > job->spec.attempts_max || counted > job->spec.attempts_max) {
      Violation(name + ": " + std::to_string(counted) + " attempts counted, at most " +
                std::to_string(job->spec.attempts_max) + " allowed");
    }
    if (s.state == JobState::kSucceeded) {
      if (successes != 1) {
        Violation(name + " succeeded with " + std::to_string(successes) + " successful attempts");
      } else if (s.result != R"({"attempt":)" + std::to_string(success_id) + "}") {
        Violation(name + " holds result " + s.result + ", not that of attempt " +
                  std::to_string(success_id));
      }
    } else if (successes > 1) {
      Violation(name + " has " + std::to_string(successes) + " successful attempts");
    }
    // 4. What a worker saw acknowledged holds.
    // (A parent also waits for its children, and a verified job for its verdict.)
    if (auto it = seen.acked_success.find(id);
        it != seen.acked_success.end() && !job->spec.verify && s.children_total == 0) {
      if (s.state != JobState::kSucceeded || success_id != it->second) {
        Violation(name + " (" + job->spec.type + ", " + std::to_string(s.children_total) +
                  " children): the completion of attempt " + std::to_string(it->second) +
                  " was acknowledged, but the job is " +
                  std::string(engine::JobStateName(s.state)) + ": " + s.error);
      }
    }
    if (seen.acked_cancel.contains(id) && s.state != JobState::kCancelled) {
      Violation(name + ": the cancel was acknowledged, but the job is " +
                std::string(engine::JobStateName(s.state)));
    }
    // 5. The engine agrees with the store about what it holds.
    if (const engine::JobRecord* now = live(id); now && !(*now == *job)) {
      Violation(name + ": the engine and the store disagree");
    }
  }
  if (seen.acked.size() + seen.refused != seen.wanted) {
    Violation(std::to_string(seen.acked.size()) + " jobs acknowledged and " +
              std::to_string(seen.refused) + " refused, " + std::to_string(seen.wanted) +
              " wanted");
  }
}

}  // namespace baton::sim
